"""What a process-runtime container sees as its filesystem: the one illusion.

In Kubernetes every container has its own root filesystem (the image) and its volumes
mounted at their `mountPath`s, in a mount namespace of its own. A plain process here
has neither: it sees the host's files. `ContainerView` fakes the part that matters to
pod specs:

- Absolute paths under a volume's mountPath, or under /tmp, written in the container's
  `command`, `args`, `workingDir`, env values and exec probes are rewritten (`map`) to
  the real files. So `cat /etc/config/key` reads the ConfigMap's file, and /tmp is
  private to the container, as in a real one: two pods of the liveness tutorial
  (`touch /tmp/healthy` ... `cat /tmp/healthy`) do not see each other's file.
- `root/` (exported as `$MINIK8S_ROOT`) shows the same view as symlinks, for programs
  that build paths themselves (`$MINIK8S_ROOT/etc/config/key`); it is also the default
  working directory, like an image's WORKDIR "/".

Pitfalls: only whole paths are mapped ("/tmpfile" and "/a/tmp" are left alone), and
only in the strings above; a path computed at run time (`cd /etc; cat config/key`)
reaches the host's file. `readOnly` is not enforced. Every other path (/bin/sh,
/etc/hosts) is the host's.
"""
from __future__ import annotations

import os
import re


class ContainerView:
    def __init__(self, root: str, mounts: tuple):
        """Create `root` with a symlink per mount (Mount records) and a private tmp/."""
        self.root = root
        self.paths: dict = {}                  # container path -> real path
        os.makedirs(root)
        for m in sorted(mounts, key=lambda m: len(m.container_path)):
            path = "/" + m.container_path.strip("/")
            if path == "/":
                continue
            link = os.path.join(root, path.lstrip("/"))
            # A mount nested in another gets no link: it would land inside that volume.
            if not any(path.startswith(p + "/") for p in self.paths):
                os.makedirs(os.path.dirname(link), exist_ok=True)
                os.symlink(os.path.abspath(m.host_path), link)
            self.paths[path] = os.path.abspath(m.host_path)
        if "/tmp" not in self.paths:
            self.paths["/tmp"] = os.path.join(root, "tmp")
            os.makedirs(self.paths["/tmp"], exist_ok=True)
        # Longest first, so /data/sub wins over /data; a whole path, not inside a
        # longer word or path.
        alternatives = "|".join(re.escape(p) for p in sorted(self.paths, key=len, reverse=True))
        self._pattern = re.compile(rf"(?<![\w./-])({alternatives})(?![\w.-])")

    @property
    def tmp(self) -> str:
        return self.paths["/tmp"]

    def map(self, text: str) -> str:
        """`text` with every container path in it replaced by the real one."""
        return self._pattern.sub(lambda m: self.paths[m.group(1)], str(text))

    def workdir(self, working_dir: str) -> str:
        """The real directory for a container's workingDir (created if missing, as
        runtimes do); the root when none is set."""
        if not working_dir:
            return self.root
        real = self.map(working_dir)
        if real == working_dir:
            real = os.path.join(self.root, working_dir.lstrip("/"))
        os.makedirs(real, exist_ok=True)
        return real
