"""Kubeconfig files: where a client finds the API server, and who it is there.

In Kubernetes, kubectl and every client-go program read a *kubeconfig* (client-go's
`clientcmd`): named `clusters` (a server URL), named `users` (credentials), named
`contexts` (a cluster + a user + a default namespace) and a `current-context`. This
module does the same, small:

- `load()` resolves files as kubectl does: an explicit path, else `$KUBECONFIG` (a
  colon-separated list, *merged*: the first file to set a name or the current-context
  wins, later files never override it; missing files in the list are skipped), else
  `~/.kube/config`. It returns a `ClientConfig` for the current (or the given) context.
- `merge_context()` / `remove_context()` edit one file the way `kind create/delete
  cluster` does: entries named after the cluster are created, replaced or removed,
  everything else in the file is kept.

Left out: client certificates, `exec` and `auth-provider` plugins, `certificate-authority-data`
and proxies (minik8s serves plain HTTP on loopback, bearer tokens at most).

Pitfalls: relative paths in a file (`tokenFile`, `certificate-authority`) are relative
to *that file*, not to the working directory. A kubeconfig holds credentials: it is
written with mode 0600, through a temporary file and a rename, so a crash or a
concurrent reader never sees half a file.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from dataclasses import dataclass
from typing import Optional

import yaml


class KubeconfigError(ValueError):
    """A kubeconfig that cannot be used: missing file, context, cluster or user."""


@dataclass(frozen=True)
class ClientConfig:
    server: str                         # "http://127.0.0.1:6443"
    token: str = ""                     # bearer token ("" = anonymous)
    namespace: str = "default"          # the context's namespace
    context: str = ""
    cluster: str = ""
    user: str = ""
    insecure_skip_tls_verify: bool = False
    certificate_authority: str = ""     # a CA bundle path, resolved ("" = system CAs)


def default_paths(path: Optional[str] = None) -> list:
    """The files kubectl would read, in precedence order."""
    if path:
        return [os.path.expanduser(path)]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        out = []
        for p in env.split(os.pathsep):
            if p and os.path.expanduser(p) not in out:   # clientcmd de-duplicates too
                out.append(os.path.expanduser(p))
        if out:
            return out
    return [os.path.join(os.path.expanduser("~"), ".kube", "config")]


def load(path: Optional[str] = None, context: Optional[str] = None) -> ClientConfig:
    """The ClientConfig of `context` (default: the current-context)."""
    paths = default_paths(path)
    merged = _Merged()
    found = False
    for p in paths:
        if not os.path.exists(p):
            if path:                    # an explicit --kubeconfig must exist
                raise KubeconfigError(f"kubeconfig {p}: no such file")
            continue                    # $KUBECONFIG entries may be missing (clientcmd)
        merged.add(_read(p), os.path.dirname(os.path.abspath(p)))
        found = True
    if not found:
        raise KubeconfigError(f"no kubeconfig found (looked at {', '.join(paths)}); "
                              "set $KUBECONFIG or run `minik8s up`")
    name = context or merged.current_context
    if not name:
        raise KubeconfigError(f"current-context is not set in {', '.join(paths)}; "
                              "choose a context")
    if name not in merged.contexts:
        raise KubeconfigError(f'context "{name}" does not exist')
    ctx, _ = merged.contexts[name]
    cluster_name = ctx.get("cluster") or ""
    if cluster_name not in merged.clusters:
        raise KubeconfigError(f'cluster "{cluster_name}" was not found for context "{name}"')
    cluster, cluster_dir = merged.clusters[cluster_name]
    if not cluster.get("server"):
        raise KubeconfigError(f'cluster "{cluster_name}" has no server defined')
    user_name = ctx.get("user") or ""
    user, user_dir = {}, ""
    if user_name:
        if user_name not in merged.users:
            raise KubeconfigError(f'user "{user_name}" was not found for context "{name}"')
        user, user_dir = merged.users[user_name]
    ca = cluster.get("certificate-authority") or ""
    return ClientConfig(
        server=str(cluster["server"]).rstrip("/"), token=_token(user, user_dir, user_name),
        namespace=ctx.get("namespace") or "default", context=name, cluster=cluster_name,
        user=user_name, insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")),
        certificate_authority=os.path.join(cluster_dir, ca) if ca else "")


class _Merged:
    """clientcmd's merge: the first file to set a key wins; later ones fill gaps."""

    def __init__(self):
        self.current_context = ""
        self.clusters, self.users, self.contexts = {}, {}, {}   # name -> (entry, file dir)

    def add(self, doc: dict, base_dir: str) -> None:
        if not self.current_context:
            self.current_context = doc.get("current-context") or ""
        for section, field, into in (("clusters", "cluster", self.clusters),
                                     ("users", "user", self.users),
                                     ("contexts", "context", self.contexts)):
            for entry in doc.get(section) or []:
                if isinstance(entry, dict) and entry.get("name") and entry["name"] not in into:
                    into[entry["name"]] = (entry.get(field) or {}, base_dir)


def _read(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise KubeconfigError(f"kubeconfig {path}: not valid YAML: {e}") from None
    except OSError as e:
        raise KubeconfigError(f"kubeconfig {path}: {e.strerror}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise KubeconfigError(f"kubeconfig {path}: expected a mapping (kind: Config)")
    return doc


def _token(user: dict, base_dir: str, name: str) -> str:
    if user.get("token"):
        return str(user["token"])
    token_file = user.get("tokenFile")
    if not token_file:
        return ""
    try:
        with open(os.path.join(base_dir, token_file), encoding="utf-8") as f:
            return f.read().strip()
    except OSError as e:
        raise KubeconfigError(f'user "{name}": cannot read tokenFile {token_file}: '
                              f"{e.strerror}") from None


# --- editing one file (`minik8s up` / `down`, like `kind create/delete cluster`) ------

def merge_context(path: str, *, name: str, server: str, namespace: str = "default",
                  token: str = "", set_current: bool = True) -> None:
    """Create or replace the cluster, user and context called `name` in the file at
    `path` (created with its directory if missing), keeping every other entry."""
    with _locked(path) as real:
        doc = _read(real) if os.path.exists(real) else {}
        doc.setdefault("apiVersion", "v1")
        doc.setdefault("kind", "Config")
        doc.setdefault("preferences", {})
        _upsert(doc, "clusters", name, "cluster", {"server": server})
        _upsert(doc, "users", name, "user", {"token": token} if token else {})
        _upsert(doc, "contexts", name, "context",
                {"cluster": name, "user": name, "namespace": namespace})
        if set_current:
            doc["current-context"] = name
        _write(real, doc)


def remove_context(path: str, name: str) -> bool:
    """Remove the cluster, user and context called `name`; unset current-context if it
    was that one. Returns whether anything was removed (a missing file: False)."""
    with _locked(path) as real:
        if not os.path.exists(real):
            return False
        doc = _read(real)
        removed = False
        for section in ("clusters", "users", "contexts"):
            entries = doc.get(section) or []
            kept = [e for e in entries if not (isinstance(e, dict) and e.get("name") == name)]
            if len(kept) != len(entries):
                doc[section] = kept
                removed = True
        if doc.get("current-context") == name:
            doc["current-context"] = ""
            removed = True
        if removed:
            _write(real, doc)
        return removed


def _upsert(doc: dict, section: str, name: str, field: str, value: dict) -> None:
    entries = doc.get(section)
    if not isinstance(entries, list):
        entries = doc[section] = []
    entry = {"name": name, field: value}
    for i, e in enumerate(entries):
        if isinstance(e, dict) and e.get("name") == name:
            entries[i] = entry              # replaced in place: the file keeps its order
            return
    entries.append(entry)


@contextlib.contextmanager
def _locked(path: str):
    """Serialise read-modify-write of kubeconfigs (two `minik8s up` at once must not
    lose an entry; clientcmd uses a `<file>.lock` for this). We lock the directory
    itself: a lock file we removed afterwards could be locked twice. Yields the real
    path: a symlinked kubeconfig is edited where it points, not replaced by a file."""
    real = os.path.realpath(os.path.expanduser(path))
    directory = os.path.dirname(real) or "."
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield real
    finally:
        os.close(fd)                    # closing releases the lock


def _write(path: str, doc: dict) -> None:
    """Atomically: a 0600 temporary file in the same directory, fsync, rename."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".kubeconfig-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:     # mkstemp makes it 0600
            yaml.safe_dump(doc, f, sort_keys=False, default_flow_style=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
