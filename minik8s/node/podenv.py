"""What a container sees of its pod: environment variables and volumes as files.

In Kubernetes the kubelet builds each container's environment just before creating it
(`makeEnvironmentVariables` in pkg/kubelet/kubelet_pods.go) and sets up the pod's
volumes before any container starts (the volume manager's `MountVolume.SetUp`):

- `envFrom` first (every key of a ConfigMap/Secret, with an optional `prefix`), then
  `env` in order, each overriding what came before. A literal `value` has its
  `$(VAR)` references expanded against the variables defined *before* it;
  `$$` escapes a `$`; an undefined `$(VAR)` stays as written. `valueFrom` values
  (configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef) are never expanded.
- a missing ConfigMap/Secret (not `optional`) makes the container fail with
  `CreateContainerConfigError` and the message `configmap "x" not found`; a missing
  key `couldn't find key k in ConfigMap ns/x`.
- volumes: `emptyDir` is a fresh directory, `configMap`/`secret` a directory with one
  file per key (or per `items` entry) with `defaultMode`/`mode`, Secret data
  base64-decoded; `hostPath` is the node's path itself. A missing ConfigMap/Secret
  is a `FailedMount` event `MountVolume.SetUp failed for volume "v" : configmap "x"
  not found`, and the pod stays `ContainerCreating` until it appears.

This module is pure apart from writing the volume files: `lookup(kind, namespace,
name)` is how it reads ConfigMaps and Secrets (the kubelet passes a function over its
client or cache; it raises `NotFound` for a missing object). Left out: projected and
downwardAPI volumes, service-link variables (services come later), the atomic-writer
`..data` symlink dance that lets a mounted ConfigMap update atomically (here a re-run
of `prepare_volumes` rewrites the files in place).
"""
from __future__ import annotations

import base64
import json
import math
import os
import re
import shutil
from typing import Callable

from minik8s.api import errors
from minik8s.api.quantity import parse_quantity
from .runtime import Mount

Lookup = Callable[[str, str, str], dict]   # (kind, namespace, name) -> object, or NotFound

EMPTY_DIR = "kubernetes.io~empty-dir"
CONFIG_MAP = "kubernetes.io~configmap"
SECRET = "kubernetes.io~secret"
DEFAULT_MODE = 0o644


class CreateContainerConfigError(Exception):
    """The container cannot be created as specified (env source missing): the kubelet
    reports `waiting: {reason: CreateContainerConfigError, message: str(err)}`."""
    reason = "CreateContainerConfigError"


class VolumeError(Exception):
    """A volume cannot be set up: the kubelet records a FailedMount event with
    str(err) and keeps the pod ContainerCreating, retrying later."""
    reason = "FailedMount"

    def __init__(self, volume: str, why: str):
        super().__init__(f'MountVolume.SetUp failed for volume "{volume}" : {why}')
        self.volume = volume
        self.why = why


# --- $(VAR) expansion (third_party/forked/golang/expansion) -------------------

def expand(text: str, mapping: Callable[[str], str]) -> str:
    """Kubernetes' `$(VAR)` expansion. `$$` is an escaped `$`; `$(` without `)` and
    `$x` are kept as written; mapping(name) decides what a reference becomes."""
    out, checkpoint, cursor = [], 0, 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            nxt = text[cursor + 1]
            advance = 1
            if nxt == "$":
                out.append("$")
            elif nxt == "(":
                close = text.find(")", cursor + 2)
                if close < 0:
                    out.append("$(")
                else:
                    out.append(mapping(text[cursor + 2:close]))
                    advance = close - cursor
            else:
                out.append("$" + nxt)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def mapping_for(*contexts: dict) -> Callable[[str], str]:
    """The first context that defines the name wins; an undefined name stays `$(name)`."""
    def mapping(name: str) -> str:
        for ctx in contexts:
            if name in ctx:
                return ctx[name]
        return f"$({name})"
    return mapping


# --- env -----------------------------------------------------------------------

def build_env(pod: dict, container: dict, lookup: Lookup, *, pod_ip: str = "",
              host_ip: str = "", node_allocatable: dict | None = None,
              service_env: dict | None = None) -> list[tuple[str, str]]:
    """The container's environment, as (name, value) pairs in definition order.
    Raises CreateContainerConfigError with the kubelet's message. `pod_ip`/`host_ip`
    default to the pod's status; `node_allocatable` answers resourceFieldRef limits
    that the container does not set (the kubelet uses the node's allocatable)."""
    ns = pod["metadata"].get("namespace") or "default"
    status = pod.get("status") or {}
    pod_ip = pod_ip or status.get("podIP") or ""
    host_ip = host_ip or status.get("hostIP") or ""
    sources = _Sources(lookup, ns)
    env: dict[str, str] = {}

    # Env overrides EnvFrom: process envFrom first, then let env replace values.
    for ef in container.get("envFrom") or []:
        prefix = ef.get("prefix") or ""
        for kind, ref in (("ConfigMap", ef.get("configMapRef")), ("Secret", ef.get("secretRef"))):
            if ref is None:
                continue
            obj = sources.get(kind, ref.get("name", ""), bool(ref.get("optional")))
            if obj is None:
                continue
            for key, value in sorted(_data(kind, obj).items()):
                # Keys that are not valid variable names are skipped (the kubelet
                # records an InvalidEnvironmentVariableNames event).
                if is_env_var_name(prefix + key):
                    env[prefix + key] = value

    mapping = mapping_for(env, service_env or {})
    for var in container.get("env") or []:
        name, value, source = var["name"], var.get("value") or "", var.get("valueFrom")
        if value:
            value = expand(value, mapping)
        elif source:
            value = _value_from(source, pod, container, sources, pod_ip, host_ip,
                                node_allocatable or {})
            if value is None:         # an optional source that is missing: no variable
                continue
        env[name] = value
    result = list(env.items())
    result += [(k, v) for k, v in (service_env or {}).items() if k not in env]
    return result


def is_env_var_name(name: str) -> bool:
    """RelaxedEnvironmentVariableValidation (on by default in 1.32): printable ASCII
    except '='."""
    return bool(name) and all(" " <= ch <= "~" and ch != "=" for ch in name)


class _Sources:
    """ConfigMaps and Secrets read once per container, as the kubelet caches them."""

    def __init__(self, lookup: Lookup, namespace: str):
        self.lookup, self.namespace, self.seen = lookup, namespace, {}

    def get(self, kind: str, name: str, optional: bool):
        if (kind, name) not in self.seen:
            try:
                self.seen[(kind, name)] = self.lookup(kind, self.namespace, name)
            except errors.NotFound:
                if optional:
                    return None
                # The kubelet's object cache names the resource in the singular.
                raise CreateContainerConfigError(f'{kind.lower()} "{name}" not found') from None
        return self.seen[(kind, name)]


def _data(kind: str, obj: dict) -> dict:
    """ConfigMap data (binaryData too, as text), or Secret data base64-decoded."""
    if kind == "Secret":
        return {k: base64.b64decode(v).decode("utf-8", "replace")
                for k, v in (obj.get("data") or {}).items()}
    return dict(obj.get("data") or {})


def _value_from(source: dict, pod, container, sources: _Sources, pod_ip, host_ip,
                allocatable) -> str | None:
    if source.get("fieldRef"):
        return field_ref_value(pod, source["fieldRef"]["fieldPath"], pod_ip, host_ip)
    if source.get("resourceFieldRef"):
        return resource_field_value(pod, container, source["resourceFieldRef"], allocatable)
    for kind, ref in (("ConfigMap", source.get("configMapKeyRef")),
                      ("Secret", source.get("secretKeyRef"))):
        if ref is None:
            continue
        optional = bool(ref.get("optional"))
        obj = sources.get(kind, ref.get("name", ""), optional)
        if obj is None:
            return None
        data = obj.get("data") or {}
        key = ref.get("key", "")
        if key not in data:
            if optional:
                return None
            raise CreateContainerConfigError(
                f"couldn't find key {key} in {kind} {sources.namespace}/{ref.get('name', '')}")
        return _data(kind, {"data": {key: data[key]}})[key]
    return ""


_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


def field_ref_value(pod: dict, path: str, pod_ip: str = "", host_ip: str = "") -> str:
    """The downward API for env (ExtractFieldPathAsString + the kubelet's own paths)."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": pod_ip or status.get("podIP", ""),
        "status.podIPs": pod_ip or status.get("podIP", ""),
        "status.hostIP": host_ip or status.get("hostIP", ""),
        "status.hostIPs": host_ip or status.get("hostIP", ""),
    }
    if path in simple:
        return simple[path]
    if path in ("metadata.labels", "metadata.annotations"):
        return format_map(meta.get(path.split(".")[1]) or {})
    m = _SUBSCRIPT.match(path)
    if m:
        return (meta.get(m.group(1)) or {}).get(m.group(2), "")
    raise CreateContainerConfigError(f"unsupported fieldPath: {path}")


def format_map(m: dict) -> str:
    """`k="v"` lines in key order (fieldpath.FormatMap; Go's %q ≈ a JSON string)."""
    return "\n".join(f"{k}={json.dumps(m[k], ensure_ascii=False)}" for k in sorted(m))


def resource_field_value(pod: dict, container: dict, ref: dict, allocatable: dict) -> str:
    """requests/limits of cpu, memory or ephemeral-storage divided by `divisor`,
    rounded up; an unset limit is the node's allocatable (as the kubelet does)."""
    target = container
    if ref.get("containerName"):
        target = next((c for c in (pod.get("spec") or {}).get("containers") or []
                       if c.get("name") == ref["containerName"]), container)
    resource = ref.get("resource", "")
    section, _, name = resource.partition(".")
    if section not in ("limits", "requests") or name not in ("cpu", "memory",
                                                             "ephemeral-storage"):
        raise CreateContainerConfigError(f"unsupported container resource : {resource}")
    value = ((target.get("resources") or {}).get(section) or {}).get(name)
    if value is None and section == "limits":
        value = allocatable.get(name)
    amount = parse_quantity(value) if value is not None else 0
    divisor = parse_quantity(ref.get("divisor") or "1")
    if divisor == 0:
        divisor = parse_quantity("1")
    # In millicores for cpu (convertResourceCPUToString), bytes otherwise; both
    # rounded up first, as Quantity.MilliValue()/Value() do.
    scale = 1000 if name == "cpu" else 1
    amount, divisor = math.ceil(amount * scale), math.ceil(divisor * scale)
    return str(math.ceil(amount / divisor))


# --- volumes ---------------------------------------------------------------------

def prepare_volumes(pod: dict, pod_dir: str, lookup: Lookup) -> dict[str, str]:
    """Set up every volume of the pod under `pod_dir/volumes/<plugin>/<name>` and
    return {volume name: host path}. Idempotent: running it again refreshes ConfigMap
    and Secret files (keys that went away are removed) and keeps emptyDir contents.
    Raises VolumeError (FailedMount) on the first volume that cannot be set up."""
    ns = pod["metadata"].get("namespace") or "default"
    paths = {}
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        name = vol["name"]
        if vol.get("hostPath") is not None:
            paths[name] = _host_path(name, vol["hostPath"])
        elif vol.get("configMap") is not None:
            paths[name] = _projected(pod_dir, CONFIG_MAP, name, "ConfigMap", ns,
                                     vol["configMap"], vol["configMap"].get("name", ""), lookup)
        elif vol.get("secret") is not None:
            paths[name] = _projected(pod_dir, SECRET, name, "Secret", ns, vol["secret"],
                                     vol["secret"].get("secretName", ""), lookup)
        else:      # emptyDir (and, for now, any source we do not implement)
            path = os.path.join(pod_dir, "volumes", EMPTY_DIR, name)
            os.makedirs(path, exist_ok=True)
            paths[name] = path
    return paths


def _host_path(volume: str, spec: dict) -> str:
    path, kind = spec.get("path", ""), spec.get("type") or ""
    if kind == "DirectoryOrCreate":
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif kind == "FileOrCreate" and not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        open(path, "a").close()
    checks = {"Directory": (os.path.isdir, "is not a directory"),
              "DirectoryOrCreate": (os.path.isdir, "is not a directory"),
              "File": (os.path.isfile, "is not a file"),
              "FileOrCreate": (os.path.isfile, "is not a file")}
    if kind in checks and not os.path.exists(path):
        raise VolumeError(volume, f"hostPath type check failed: {path} is not a "
                                  f"{'directory' if 'Directory' in kind else 'file'}")
    if kind in checks and not checks[kind][0](path):
        raise VolumeError(volume, f"hostPath type check failed: {path} {checks[kind][1]}")
    return path


def _projected(pod_dir, plugin, volume, kind, ns, spec, obj_name, lookup) -> str:
    """A ConfigMap or Secret volume: one file per key (or per `items` entry)."""
    optional = bool(spec.get("optional"))
    try:
        data = _data(kind, lookup(kind, ns, obj_name))
    except errors.NotFound:
        if not optional:
            raise VolumeError(volume, f'{kind.lower()} "{obj_name}" not found') from None
        data = {}
    default_mode = spec.get("defaultMode")
    default_mode = DEFAULT_MODE if default_mode is None else default_mode
    files = {}
    if spec.get("items"):
        for item in spec["items"]:
            if item["key"] not in data:
                if optional:
                    continue
                raise VolumeError(volume, (
                    "configmap references non-existent config key: " if kind == "ConfigMap"
                    else "references non-existent secret key: ") + item["key"])
            mode = item.get("mode")
            files[item.get("path") or item["key"]] = (data[item["key"]],
                                                     default_mode if mode is None else mode)
    else:
        files = {k: (v, default_mode) for k, v in data.items()}
    root = os.path.join(pod_dir, "volumes", plugin, volume)
    _write_files(root, files)
    return root


def _write_files(root: str, files: dict) -> None:
    """Make `root` hold exactly `files` ({relative path: (text, mode)})."""
    os.makedirs(root, exist_ok=True)
    wanted = {os.path.normpath(p) for p in files}
    for dirpath, _dirs, names in os.walk(root, topdown=False):
        for n in names:
            rel = os.path.relpath(os.path.join(dirpath, n), root)
            if rel not in wanted:
                os.remove(os.path.join(dirpath, n))
        if dirpath != root and not os.listdir(dirpath):
            os.rmdir(dirpath)
    for rel, (text, mode) in files.items():
        path = os.path.join(root, os.path.normpath(rel))
        if not os.path.realpath(path).startswith(os.path.realpath(root) + os.sep):
            continue      # validation forbids '..' in item paths; never write outside
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)


def cleanup_volumes(pod_dir: str) -> None:
    """Remove the kubelet-managed volumes of a pod (never a hostPath)."""
    shutil.rmtree(os.path.join(pod_dir, "volumes"), ignore_errors=True)


def mounts_for(container: dict, volume_paths: dict, env: dict | None = None) -> tuple:
    """The container's volumeMounts as runtime Mounts. `subPath` mounts one entry of
    the volume (created as a directory if missing, as the kubelet does);
    `subPathExpr` is first expanded against the container's env."""
    mounts = []
    for vm in container.get("volumeMounts") or []:
        name = vm["name"]
        if name not in volume_paths:
            raise VolumeError(name, f"volume {name} not found")
        host = volume_paths[name]
        sub = vm.get("subPath") or ""
        if vm.get("subPathExpr"):
            sub = expand(vm["subPathExpr"], mapping_for(env or {}))
        if sub:
            host = os.path.join(host, sub)
            if not os.path.exists(host):
                os.makedirs(host, exist_ok=True)
        mounts.append(Mount(host_path=host, container_path=vm.get("mountPath", ""),
                            read_only=bool(vm.get("readOnly"))))
    return tuple(mounts)
