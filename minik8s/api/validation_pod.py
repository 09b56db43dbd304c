"""Validation of Pods, pod specs and pod templates.

In Kubernetes `ValidatePodSpec` checks a pod spec wherever it appears — in a Pod and
in the template of every workload — and `ValidatePodUpdate` makes a running pod's
spec almost immutable: only container images, `activeDeadlineSeconds` (set or
lowered), new tolerations and a negative grace period fixed to 1 may change.
Anything else is refused with one `spec: Forbidden: pod updates may not change
fields other than ...` error followed by a diff, because a pod is a record of what
was started on a node; a new spec means a new pod (which is what Deployments do).

Volumes are checked first, so that a mount naming a broken volume is reported as
`Not found` too, exactly as Kubernetes does.
"""
from __future__ import annotations

import copy

from . import quantity
from .validation_container import dict_items, validate_containers
from .validation_field import (
    check, duplicate, forbidden, int_field, invalid, is_dns1123_label, is_dns1123_subdomain,
    is_int, is_qualified_name, is_valid_label_value, not_supported, required, type_invalid,
)
from .validation_meta import validate_annotations, validate_labels

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
HOST_PATH_TYPES = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                   "FileOrCreate", "Socket")
# Every VolumeSource member of core/v1 (a volume must have exactly one).
VOLUME_SOURCES = ("emptyDir", "hostPath", "gitRepo", "secret", "nfs", "iscsi", "glusterfs",
                  "persistentVolumeClaim", "rbd", "quobyte", "flexVolume", "cinder", "cephfs",
                  "flocker", "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume",
                  "azureDisk", "photonPersistentDisk", "projected", "portworxVolume",
                  "scaleIO", "storageos", "csi", "ephemeral", "gcePersistentDisk",
                  "awsElasticBlockStore", "image")
FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"
UPDATABLE_POD_FIELDS = (
    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
    "negative)")
MAX_INT32 = 2147483647


def validate_pod_spec(spec, path: str) -> list:
    if not isinstance(spec, dict):
        if spec is None:
            return [required(path, "")]
        return [type_invalid(path, spec, "must be an object")]
    volumes, causes = validate_volumes(spec.get("volumes"), path + ".volumes")
    names: set = set()
    causes += validate_containers(spec.get("containers"), volumes, path + ".containers",
                                  names=names)
    causes += validate_containers(spec.get("initContainers"), volumes, path + ".initContainers",
                                  init=True, names=names)
    causes += _enum(spec.get("restartPolicy"), RESTART_POLICIES, path + ".restartPolicy")
    causes += _enum(spec.get("dnsPolicy"), DNS_POLICIES, path + ".dnsPolicy")
    if spec.get("dnsPolicy") == "None" and not (spec.get("dnsConfig") or {}).get("nameservers"):
        causes.append(required(path + ".dnsConfig", "must provide `dnsConfig` when `dnsPolicy` "
                                                    "is None"))
    causes += validate_labels(spec.get("nodeSelector"), path + ".nodeSelector")
    for field in ("serviceAccountName", "nodeName", "priorityClassName"):
        if spec.get(field):
            causes += check(f"{path}.{field}", spec[field], is_dns1123_subdomain(str(spec[field])))
    ads = spec.get("activeDeadlineSeconds")
    if ads is not None and int_field(ads, path + ".activeDeadlineSeconds", causes) \
            and not 1 <= ads <= MAX_INT32:
        causes.append(invalid(path + ".activeDeadlineSeconds", ads,
                              f"must be between 1 and {MAX_INT32}, inclusive"))
    for field in ("hostname", "subdomain"):
        if spec.get(field):
            causes += check(f"{path}.{field}", spec[field], is_dns1123_label(str(spec[field])))
    causes += validate_tolerations(spec.get("tolerations"), path + ".tolerations")
    return causes


def _enum(value, allowed, path: str) -> list:
    if not value:
        return [required(path, "")]
    return [] if value in allowed else [not_supported(path, value, allowed)]


def validate_volumes(volumes, path: str) -> tuple:
    """Returns (names of the valid volumes, causes). A broken volume is left out of
    the names, so mounts of it are reported as well."""
    causes: list = []
    names: set = set()
    for i, vol in dict_items(volumes, path, causes):
        p = f"{path}[{i}]"
        errs = _volume_source(vol, p)
        name = vol.get("name")
        if not name:
            errs.append(required(p + ".name", ""))
        else:
            errs += check(p + ".name", name, is_dns1123_label(str(name)))
        if name in names:
            errs.append(duplicate(p + ".name", name))
        if errs:
            causes += errs
        else:
            names.add(name)
    return names, causes


def _volume_source(vol: dict, p: str) -> list:
    causes = []
    sources = [s for s in VOLUME_SOURCES if vol.get(s) is not None]
    for extra in sources[1:]:
        causes.append(forbidden(f"{p}.{extra}", "may not specify more than 1 volume type"))
    if not sources:
        return [required(p, "must specify a volume type")]
    kind = sources[0]
    src = vol[kind] if isinstance(vol[kind], dict) else {}
    sp = f"{p}.{kind}"
    required_field = {"secret": "secretName", "configMap": "name", "hostPath": "path",
                      "persistentVolumeClaim": "claimName", "nfs": "path"}.get(kind)
    if required_field and not src.get(required_field):
        causes.append(required(f"{sp}.{required_field}", ""))
    if kind == "nfs" and not src.get("server"):
        causes.append(required(sp + ".server", ""))
    if kind == "hostPath" and src.get("type") not in HOST_PATH_TYPES:
        causes.append(not_supported(sp + ".type", src.get("type"), HOST_PATH_TYPES))
    mode = src.get("defaultMode")
    if mode is not None and int_field(mode, sp + ".defaultMode", causes) \
            and not 0 <= mode <= 0o777:
        causes.append(invalid(sp + ".defaultMode", mode, FILE_MODE_ERROR))
    for j, item in dict_items(src.get("items"), sp + ".items", causes):
        ip = f"{sp}.items[{j}]"
        if kind in ("secret", "configMap") and not item.get("key"):
            causes.append(required(ip + ".key", ""))
        item_path = item.get("path") or ""
        if not item_path:
            causes.append(required(ip + ".path", ""))
        elif item_path.startswith("/"):
            causes.append(invalid(ip + ".path", item_path, "must be a relative path"))
        elif ".." in item_path.split("/"):
            causes.append(invalid(ip + ".path", item_path, "must not contain '..'"))
    if kind == "emptyDir" and src.get("sizeLimit") is not None:
        try:
            bad = quantity.parse_quantity(src["sizeLimit"]) < 0
        except (ValueError, TypeError):
            bad = True
        if bad:
            causes.append(forbidden(sp + ".sizeLimit",
                                    "SizeLimit field must be a valid resource quantity"))
    return causes


def validate_tolerations(tolerations, path: str) -> list:
    causes: list = []
    for i, t in dict_items(tolerations, path, causes):
        p = f"{path}[{i}]"
        key, op, value, effect = t.get("key") or "", t.get("operator") or "", \
            t.get("value") or "", t.get("effect") or ""
        if key:
            causes += check(p + ".key", key, is_qualified_name(key))
        if not key and op != "Exists":
            causes.append(invalid(p + ".operator", op, "operator must be Exists when `key` is "
                                  'empty, which means "match all values and all keys"'))
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            causes.append(invalid(p + ".effect", effect, "effect must be 'NoExecute' when "
                                                         "`tolerationSeconds` is set"))
        if op in ("Equal", ""):
            msgs = is_valid_label_value(str(value))
            if msgs:
                causes.append(invalid(p + ".operator", value, ";".join(msgs)))
        elif op == "Exists":
            if value:
                causes.append(invalid(p + ".operator", value,
                                      "value must be empty when `operator` is 'Exists'"))
        else:
            causes.append(not_supported(p + ".operator", op, ["Equal", "Exists"]))
        if effect and effect not in TAINT_EFFECTS:
            causes.append(not_supported(p + ".effect", effect, TAINT_EFFECTS))
    return causes


def validate_pod_template(template, path: str) -> list:
    """ValidatePodTemplateSpec: template metadata (labels, annotations) and spec."""
    if not isinstance(template, dict):
        return [required(path, "")] if template is None else \
            [type_invalid(path, template, "must be an object")]
    meta = template.get("metadata") or {}
    causes = validate_labels(meta.get("labels"), path + ".metadata.labels")
    causes += validate_annotations(meta.get("annotations"), path + ".metadata.annotations")
    causes += validate_pod_spec(template.get("spec"), path + ".spec")
    return causes


def validate_pod(pod: dict) -> list:
    return validate_pod_spec(pod.get("spec"), "spec")


def validate_pod_update(pod: dict, old: dict) -> list:
    """Which spec changes a running pod accepts (ValidatePodUpdate)."""
    spec, old_spec = pod.get("spec") or {}, old.get("spec") or {}
    causes = []
    new_ads, old_ads = spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    if is_int(new_ads):
        if not 0 <= new_ads <= MAX_INT32:
            return [invalid("spec.activeDeadlineSeconds", new_ads,
                            f"must be between 0 and {MAX_INT32}, inclusive")]
        if is_int(old_ads) and old_ads < new_ads:
            return [invalid("spec.activeDeadlineSeconds", new_ads,
                            "must be less than or equal to previous value")]
    elif old_ads is not None:
        causes.append(invalid("spec.activeDeadlineSeconds", None,
                              "must not update from a positive integer to nil value"))
    munged = copy.deepcopy(old_spec)
    for key in ("containers", "initContainers"):
        new_cs, old_cs = spec.get(key) or [], munged.get(key) or []
        if len(new_cs) == len(old_cs):
            for nc, oc in zip(new_cs, old_cs):
                if isinstance(nc, dict) and isinstance(oc, dict) and "image" in nc:
                    oc["image"] = nc["image"]
    if "activeDeadlineSeconds" in spec:
        munged["activeDeadlineSeconds"] = spec["activeDeadlineSeconds"]
    else:
        munged.pop("activeDeadlineSeconds", None)
    tol_causes = _only_added_tolerations(spec.get("tolerations") or [],
                                         old_spec.get("tolerations") or [])
    causes += tol_causes
    if not tol_causes:
        munged["tolerations"] = spec.get("tolerations")
    old_grace, new_grace = old_spec.get("terminationGracePeriodSeconds"), \
        spec.get("terminationGracePeriodSeconds")
    if is_int(old_grace) and old_grace < 0 and new_grace == 1:
        munged["terminationGracePeriodSeconds"] = 1
    # Scheduling gates may only be removed (the scheduler waits while any remain).
    old_gates = old_spec.get("schedulingGates") or []
    new_gates = spec.get("schedulingGates") or []
    if all(g in old_gates for g in new_gates):
        munged["schedulingGates"] = spec.get("schedulingGates")
    if _without_empty(munged) != _without_empty(spec):
        causes.append(forbidden("spec", "pod updates may not change fields other than "
                                + UPDATABLE_POD_FIELDS + "\n" + _diff(munged, spec)))
    return causes


def _only_added_tolerations(new: list, old: list) -> list:
    """Every old toleration must still be there (its tolerationSeconds may change)."""
    for o in old:
        if not any(isinstance(n, dict) and isinstance(o, dict) and
                   {**o, "tolerationSeconds": n.get("tolerationSeconds")} ==
                   {**n, "tolerationSeconds": n.get("tolerationSeconds")} for n in new):
            return [forbidden("spec.tolerations",
                              "existing toleration can not be modified except its "
                              "tolerationSeconds")]
    return []


def _without_empty(value):
    """Compare specs as Go would: a missing field, null and an empty list are the same."""
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


def _diff(old: dict, new: dict) -> str:
    """A short diff of the spec fields that changed (Kubernetes prints cmp.Diff)."""
    lines = ["  core.PodSpec{"]
    old, new = _without_empty(old), _without_empty(new)
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            if key in old:
                lines.append(f"-  {key}: {old[key]!r},")
            if key in new:
                lines.append(f"+  {key}: {new[key]!r},")
    lines.append("  }")
    return "\n".join(lines)
