"""The image catalogue: what an image name means to the process runtime.

In Kubernetes an image is a filesystem plus a config (Entrypoint, Cmd, Env, WorkingDir)
that the runtime pulls from a registry. minik8s has no registry and no filesystems: an
image name resolves, through the table `CATALOGUE`, to a program already on this
machine:

- Python images (`minik8s/hello:<tag>`, `nginx[:tag]`, `minik8s/stress`,
  `dockercoins/rng|hasher|worker|webui`, `redis`) run a module of this package
  with `sys.executable -m <module>`; the tag reaches the program through the image's
  environment (as a real image bakes its version in at build time).
- Shell images (`busybox[:tag]`, `alpine[:tag]`) have no entrypoint and Cmd `sh`: the
  container's `command`/`args` run as they are, with the host's `/bin/sh`, `sleep`,
  `echo`, ... found on the image's PATH.

Adding an image is adding one entry to `CATALOGUE`. A name not in it fails exactly like
a registry miss (`ImagePullError`, which the kubelet reports as ErrImagePull and then
ImagePullBackOff).

Names are normalised as containerd does ("busybox" -> "docker.io/library/busybox:latest")
so every spelling of one image has one id: "sha256:" + the SHA-256 of that reference.
"""
from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass

from minik8s.node.runtime import ImagePullError

# A container's PATH when the image sets none (the value Docker images usually carry).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The directory holding the `minik8s` package: python images import it from there,
# whether minik8s is installed or run from a checkout.
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True)
class CatalogueEntry:
    """An image's config, as its Dockerfile would set it. `{tag}` in an env value is
    replaced by the tag asked for (one entry serves every version)."""
    entrypoint: tuple = ()
    cmd: tuple = ()
    env: tuple = ()                 # ((name, value), ...)


def python_image(module: str, *env: tuple) -> CatalogueEntry:
    """An image whose program is `python -m module` (unbuffered: logs appear at once)."""
    return CatalogueEntry(
        entrypoint=(sys.executable, "-m", module),
        env=(("PATH", DEFAULT_PATH), ("PYTHONPATH", PACKAGE_ROOT),
             ("PYTHONUNBUFFERED", "1"), ("PYTHONDONTWRITEBYTECODE", "1")) + env)


SHELL_IMAGE = CatalogueEntry(cmd=("sh",), env=(("PATH", DEFAULT_PATH),))

# Repository (as normalised by `reference`) -> entry. DESIGN.md §7 lists the contract.
CATALOGUE: dict[str, CatalogueEntry] = {
    "docker.io/minik8s/hello": python_image("minik8s.images.hello",
                                            ("HELLO_VERSION", "{tag}"), ("HELLO_FLAVOR", "hello")),
    "docker.io/library/nginx": python_image("minik8s.images.hello",
                                            ("HELLO_VERSION", "{tag}"), ("HELLO_FLAVOR", "nginx"),
                                            ("HELLO_DEFAULT_PORT", "80")),
    "docker.io/library/busybox": SHELL_IMAGE,
    "docker.io/library/alpine": SHELL_IMAGE,
    "docker.io/minik8s/stress": python_image("minik8s.images.stress"),
    # DockerCoins, as in container.training (ports 80 and 6379 unless told otherwise).
    "docker.io/dockercoins/rng": python_image("minik8s.images.dockercoins_rng"),
    "docker.io/dockercoins/hasher": python_image("minik8s.images.dockercoins_hasher"),
    "docker.io/dockercoins/worker": python_image("minik8s.images.dockercoins_worker"),
    "docker.io/dockercoins/webui": python_image("minik8s.images.dockercoins_webui"),
    "docker.io/library/redis": python_image("minik8s.images.redis"),
}


@dataclass(frozen=True)
class ImageSpec:
    """A resolved image: its reference, id, and how to run it."""
    image: str                      # the name as the pod spec wrote it
    reference: str                  # normalised: docker.io/library/busybox:latest
    repository: str                 # docker.io/library/busybox
    tag: str                        # "latest", "v2", or a digest "sha256:..."
    id: str                         # "sha256:<hex>"
    entrypoint: tuple
    cmd: tuple
    env: tuple

    @property
    def repo_digest(self) -> str:
        """What a pod's status.containerStatuses[].imageID shows: repository@sha256:..."""
        return f"{self.repository}@{self.id}"

    def argv(self, command=(), args=()) -> list:
        """The process to run, by Kubernetes' rule for command/args vs the image:
        command replaces the Entrypoint (and drops the image's Cmd); args replace Cmd."""
        if command:
            return [*command, *args]
        return [*self.entrypoint, *(args if args else self.cmd)]


def reference(image: str) -> str:
    """Normalise as containerd does: "busybox" -> "docker.io/library/busybox:latest",
    "minik8s/hello:v1" -> "docker.io/minik8s/hello:v1"; digests are kept."""
    first, _, rest = image.partition("/")
    if not rest:
        image = "docker.io/library/" + image
    elif "." not in first and ":" not in first and first != "localhost":
        image = "docker.io/" + image
    if "@" not in image and ":" not in image.rsplit("/", 1)[-1]:
        image += ":latest"
    return image


def split_reference(ref: str) -> tuple:
    """(repository, tag) of a normalised reference; a digest counts as the tag."""
    if "@" in ref:
        repo, digest = ref.split("@", 1)
        return repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo, digest
    repo, tag = ref.rsplit(":", 1)
    return repo, tag


def resolve(image: str) -> ImageSpec:
    """The ImageSpec for `image`; ImagePullError, worded like containerd's registry
    miss, when the catalogue has no such repository."""
    ref = reference(image.strip())
    repo, tag = split_reference(ref)
    entry = CATALOGUE.get(repo)
    if not image.strip() or entry is None:
        raise ImagePullError(f'failed to pull and unpack image "{ref}": failed to resolve '
                             f'reference "{ref}": {ref}: not found')
    env = tuple((k, v.replace("{tag}", tag)) for k, v in entry.env)
    return ImageSpec(image=image, reference=ref, repository=repo, tag=tag,
                     id="sha256:" + hashlib.sha256(ref.encode()).hexdigest(),
                     entrypoint=entry.entrypoint, cmd=entry.cmd, env=env)
