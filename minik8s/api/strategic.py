"""Strategic merge patch: Kubernetes' own patch format for built-in kinds.

In Kubernetes, `kubectl apply` (second time), `set image`, `rollout restart`, `edit`
and `patch` send `application/strategic-merge-patch+json`: a JSON merge patch (RFC
7386: null deletes a key, maps merge recursively) that also knows *which lists are
keyed*. The Go struct tags in k8s.io/api say `containers` merge by `name`, a
container's `ports` by `containerPort`, a Service's `ports` by `port`, status
`conditions` by `type`: a patched element updates the live element with the same key.
Lists without a merge key (`args`, `command`, `tolerations`) are replaced whole.

The apiserver finds the tags by walking the Go types from the kind's struct
(apimachinery's LookupPatchMeta). Here `_SCHEMA` is that walk in miniature: struct ->
{field: Field(struct of the value, merge key)}. Deployment `spec.template.spec`,
CronJob `spec.jobTemplate.spec.template.spec` and Pod `spec` all reach "PodSpec", and
the two `ports` fields are told apart by the struct they sit in.

Directives a patch may carry (never left in the result):
  {"$patch": "replace"} in a map or list    the patch replaces the map / whole list
  {"$patch": "delete"} in a map             the map becomes {} (Kubernetes keeps the key)
  {"$patch": "delete", <key>: v} in a list  removes the element(s) with that key
  "$retainKeys": [...]                      drops live keys not listed, before merging
  "$setElementOrder/<list>": [...]          the final order of a merged list
  "$deleteFromPrimitiveList/<list>": [...]  removes scalars (finalizers)

Ordering follows apimachinery, including a surprise: without `$setElementOrder`,
elements new to a list land *before* the live-only ones (live [a, b] + patch [c] ->
[c, a, b]). kubectl always sends `$setElementOrder`, so `apply` keeps manifest order.

Custom resources have no Go structs, so the apiserver answers 415 to a strategic
patch; `merge_document` (server-side apply) merges them with every list atomic.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from minik8s.api.errors import BadRequest, Invalid, UnsupportedMediaType
from minik8s.api.registry import BUILTIN

PATCH = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder/"
DELETE_FROM = "$deleteFromPrimitiveList/"
_MISSING = object()


@dataclass(frozen=True)
class Field:
    """The patch metadata of one struct field (apimachinery's PatchMeta)."""
    struct: str | None = None      # struct of the value; for a list, of its elements
    merge_key: str | None = None   # patchStrategy "merge": "" = set of scalars, else the key


def _keyed(key: str, struct: str | None = None) -> Field:
    return Field(struct, key)


_CONDITIONS = {"conditions": _keyed("type")}

# Only fields that lead to a merge list (or are one) need an entry; anything not
# listed merges maps recursively and replaces lists.
_SCHEMA: dict[str, dict[str, Field]] = {
    "ObjectMeta": {"finalizers": _keyed(""), "ownerReferences": _keyed("uid")},
    "PodTemplateSpec": {"metadata": Field("ObjectMeta"), "spec": Field("PodSpec")},
    "PodSpec": {
        "containers": _keyed("name", "Container"), "initContainers": _keyed("name", "Container"),
        "ephemeralContainers": _keyed("name", "Container"), "volumes": _keyed("name"),
        "imagePullSecrets": _keyed("name"), "hostAliases": _keyed("ip"),
        "topologySpreadConstraints": _keyed("topologyKey"), "schedulingGates": _keyed("name"),
        "resourceClaims": _keyed("name")},
    "Container": {"ports": _keyed("containerPort"), "env": _keyed("name"),
                  "volumeMounts": _keyed("mountPath"), "volumeDevices": _keyed("devicePath")},
    "PodStatus": {**_CONDITIONS, "podIPs": _keyed("ip"), "hostIPs": _keyed("ip"),
                  "resourceClaimStatuses": _keyed("name")},
    "StatusWithConditions": _CONDITIONS,
    # DeploymentSpec, ReplicaSetSpec, StatefulSetSpec, DaemonSetSpec, JobSpec and
    # ReplicationControllerSpec agree on the only field that matters here.
    "WorkloadSpec": {"template": Field("PodTemplateSpec")},
    "CronJobSpec": {"jobTemplate": Field("JobTemplateSpec")},
    "JobTemplateSpec": {"metadata": Field("ObjectMeta"), "spec": Field("WorkloadSpec")},
    "ServiceSpec": {"ports": _keyed("port")},
    "NodeSpec": {"podCIDRs": _keyed("")},
    "NodeStatus": {**_CONDITIONS, "addresses": _keyed("type")},
}

_WORKLOAD = {"spec": Field("WorkloadSpec"), "status": Field("StatusWithConditions")}
_WITH_CONDITIONS = {"status": Field("StatusWithConditions")}
_KINDS: dict[str, dict[str, Field]] = {
    "Pod": {"spec": Field("PodSpec"), "status": Field("PodStatus")},
    "PodTemplate": {"template": Field("PodTemplateSpec")},
    "Deployment": _WORKLOAD, "ReplicaSet": _WORKLOAD, "StatefulSet": _WORKLOAD,
    "DaemonSet": _WORKLOAD, "Job": _WORKLOAD, "ReplicationController": _WORKLOAD,
    "CronJob": {"spec": Field("CronJobSpec")},
    "Service": {"spec": Field("ServiceSpec"), **_WITH_CONDITIONS},
    "Node": {"spec": Field("NodeSpec"), "status": Field("NodeStatus")},
    "Namespace": _WITH_CONDITIONS, "PersistentVolumeClaim": _WITH_CONDITIONS,
    "HorizontalPodAutoscaler": _WITH_CONDITIONS,
    "ServiceAccount": {"secrets": _keyed("name")},
    "Object": {},   # every other kind: only its metadata has merge lists
}
for _kind, _fields in _KINDS.items():
    _SCHEMA[_kind] = {"metadata": Field("ObjectMeta"), **_fields}

# Kinds served by the apiserver itself (the ones with Go structs). "Scale" is the
# /scale subresource's body, which the Python client patches strategically.
_BUILTIN_KINDS = frozenset({rt.kind for rt in BUILTIN} | set(_KINDS) - {"Object"} | {"Scale"})
CUSTOM_RESOURCE_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                               "application/apply-patch+yaml")


def is_builtin(kind: str) -> bool:
    return kind in _BUILTIN_KINDS


def strategic_merge_patch(target: dict, patch: dict, kind: str) -> dict:
    """Apply a strategic merge patch to an object of a built-in `kind`.

    Returns a new object; neither input is changed. Raises UnsupportedMediaType for
    kinds without Go structs (custom resources), BadRequest for a malformed patch.
    """
    if not is_builtin(kind):
        raise UnsupportedMediaType(
            "the body of the request was in an unknown format - accepted media types "
            "include: " + ", ".join(CUSTOM_RESOURCE_PATCH_TYPES))
    return merge_document(target, patch, kind)


def merge_document(target: dict, patch: dict, kind: str) -> dict:
    """Strategic merge without the built-in check: unknown kinds use no merge keys."""
    if not isinstance(patch, dict):
        raise BadRequest(f"json: cannot unmarshal {go_json_type(patch)} into Go value "
                         "of type map[string]interface {}")
    struct = kind if kind in _KINDS else "Object"
    # Work on private copies: the merge below edits maps in place (as apimachinery
    # does), and the caller's objects may be shared with an informer cache.
    return _merge_map(copy.deepcopy(target or {}), copy.deepcopy(patch), struct)


def _field(struct: str | None, name: str) -> Field:
    return _SCHEMA.get(struct, {}).get(name, Field())


# --- maps --------------------------------------------------------------------------

def _merge_map(original: dict, patch: dict, struct: str | None) -> dict:
    """apimachinery's mergeMap: directive, then $retainKeys, then ordered lists, then keys."""
    if PATCH in patch:
        directive = patch.pop(PATCH)
        if directive == "replace":
            return _merge_map({}, patch, struct)
        if directive == "delete":
            return {}
        raise BadRequest(f"unknown patch type: {directive} in map: "
                         f"{_go_fmt({PATCH: directive, **patch})}")
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, struct)
    for key, value in patch.items():
        if key.startswith(DELETE_FROM):
            name = key[len(DELETE_FROM):]
            if not isinstance(value, list):
                raise BadRequest("invalid patch format of primitive list")
            # Works whatever the list's strategy; a missing list stays missing.
            if isinstance(original.get(name), list):
                original[name] = [v for v in original[name] if _index(value, v) < 0]
            continue
        if value is None:
            original.pop(key, None)     # null deletes; a null for a missing key is a no-op
            continue
        field = _field(struct, key)
        live = original.get(key, _MISSING)
        if isinstance(live, dict) and isinstance(value, dict):
            original[key] = _merge_map(live, value, field.struct)
        elif isinstance(live, list) and isinstance(value, list) and field.merge_key is not None:
            original[key] = _merge_list(live, value, field)
        else:
            # New key, a type change, or a list without a merge key: the patch wins.
            original[key] = _clean(value, field)
    return original


def _apply_retain_keys(original: dict, patch: dict) -> None:
    if RETAIN_KEYS not in patch:
        return
    keep = patch.pop(RETAIN_KEYS)
    if not isinstance(keep, list):
        raise BadRequest("invalid patch format of retainKeys")
    for key, value in patch.items():   # the patch may only set keys it retains
        if value is not None and not key.startswith((DELETE_FROM, SET_ORDER)) and key not in keep:
            raise BadRequest("invalid patch format of retainKeys")
    for key in [k for k in original if k not in keep]:
        del original[key]


def _clean(value, field: Field):
    """A patch value taken as it is, minus directives and nulls. (apimachinery copies
    it raw and lets decoding into Go structs drop them; plain dicts must be cleaned.)"""
    if isinstance(value, dict):
        return _merge_map({}, value, field.struct)
    if isinstance(value, list):
        return [_clean(v, Field(field.struct)) for v in value
                if not (isinstance(v, dict) and PATCH in v)]
    return value


# --- lists -------------------------------------------------------------------------

def _merge_list(original: list, patch: list, field: Field) -> list:
    """apimachinery's mergeSlice for a list with patchStrategy "merge"."""
    if not original and not patch:
        return original
    key = field.merge_key
    if _element_kind(original, patch) != "map":
        merged, key = [], ""
        for value in original + patch:      # a set union that keeps first positions
            if _index(merged, value) < 0:
                merged.append(value)
    else:
        if not key:
            raise BadRequest("cannot merge lists without merge key for type map")
        original, patch = _special_elements(original, patch, key, field.struct)
        merged = list(original)
        for item in patch:
            index = _index([m.get(key, _MISSING) for m in merged], _merge_key_of(item, key))
            if index < 0:
                merged.append(_merge_map({}, item, field.struct))
            else:
                merged[index] = _merge_map(merged[index], item, field.struct)
    items, server_only = _partition(merged, patch, key)
    return _normalize_order(items, server_only, patch, original, key)


def _special_elements(original: list, patch: list, key: str, struct) -> tuple:
    """Apply `$patch` elements; returns (live list after deletions, plain patch items)."""
    plain, replace = [], False
    for item in patch:
        if PATCH not in item:
            plain.append(item)
        elif item[PATCH] == "delete":
            value = _merge_key_of(item, key)
            original = [o for o in original if not (key in o and _same(o[key], value))]
        elif item[PATCH] == "replace":
            replace = True
        elif item[PATCH] == "merge":
            raise BadRequest("merging lists cannot yet be specified in the patch")
        else:
            raise BadRequest(f"unknown patch type: {item[PATCH]} in map: {_go_fmt(item)}")
    if replace:   # the plain items are the whole new list
        return [_merge_map({}, item, struct) for item in plain], []
    return original, plain


def _merge_ordered_lists(original: dict, patch: dict, struct) -> None:
    """apimachinery's mergePatchIntoOriginal: merge each list named by a
    `$setElementOrder/<list>` directive, then put it in the requested order."""
    for directive in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(directive)
        name = directive[len(SET_ORDER):]
        field = _field(struct, name)
        live, patched = original.get(name, _MISSING), patch.get(name, _MISSING)
        if not isinstance(order, list) or any(
                v is not _MISSING and not isinstance(v, list) for v in (live, patched)):
            raise BadRequest("invalid patch format of setElementOrder list")
        key = field.merge_key or ""
        if patched is not _MISSING:
            _check_order(patched, order, key)
        if live is _MISSING and patched is _MISSING:
            continue
        if patched is _MISSING:
            merged = live
        elif live is _MISSING or field.merge_key is None:
            merged = _clean(patched, field)
        else:
            merged = _merge_list(live, patched, field)
        patch.pop(name, None)
        if field.merge_key is None:   # not a merge list: order is not ours to change
            original[name] = merged
            continue
        if merged and _element_kind(merged, []) != "map":
            key = ""
        items, server_only = _partition(merged, order, key)
        original[name] = _normalize_order(items, server_only, order,
                                          [] if live is _MISSING else live, key)


def _check_order(patch: list, order: list, key: str) -> None:
    """The non-delete patch items must appear in `order`, in the same relative order."""
    items = [p for p in patch if not (key and isinstance(p, dict) and p.get(PATCH) == "delete")]
    i = j = 0
    while i < len(items) and j < len(order):
        if isinstance(items[i], dict) and PATCH in items[i]:
            i += 1
            continue
        if _same(_order_value(items[i], key), _order_value(order[j], key)):
            i += 1
        j += 1
    if i < len(items):
        raise BadRequest(f"The order in patch list:\n{_go_fmt(patch)}\n doesn't match "
                         f"{SET_ORDER[:-1]} list:\n{_go_fmt(order)}\n")


def _partition(merged: list, by: list, key: str) -> tuple:
    """Split into (items present in `by`, server-only items), keeping order."""
    wanted = [_order_value(b, key) for b in by if not key or (isinstance(b, dict) and key in b)]
    items, server_only = [], []
    for item in merged:
        (items if _index(wanted, _order_value(item, key)) >= 0 else server_only).append(item)
    return items, server_only


def _normalize_order(items: list, server_only: list, patch_order: list,
                     server_order: list, key: str) -> list:
    """Patch items in patch order, server-only items in live order, then interleave
    them by their live positions (apimachinery's normalizeElementOrder)."""
    if key:
        for item in items + server_only + patch_order + server_order:
            _merge_key_of(item, key)
    items = _sort_by(items, patch_order, key)
    server_only = _sort_by(server_only, server_order, key)
    live = [_order_value(v, key) for v in server_order]

    def position(item) -> int:
        return _index(live, _order_value(item, key))

    # mergeSortedSlice: a server-only item goes first only when both items are live
    # and it comes earlier there; a patch item new to the list wins every tie.
    result, i, j = [], 0, 0
    while i < len(server_only) or j < len(items):
        if j == len(items) or (i < len(server_only)
                               and 0 <= position(server_only[i]) < position(items[j])):
            result.append(server_only[i])
            i += 1
        else:
            result.append(items[j])
            j += 1
    return result


def _sort_by(items: list, order: list, key: str) -> list:
    values = [_order_value(v, key) for v in order]

    def rank(item) -> int:
        found = _index(values, _order_value(item, key))
        return found if found >= 0 else len(values)   # unknown items last, stable
    return sorted(items, key=rank)


# --- small helpers -----------------------------------------------------------------

def _merge_key_of(item, key: str):
    if not isinstance(item, dict) or key not in item:
        raise BadRequest(f"map: {_go_fmt(item)} does not contain declared merge key: {key}")
    return item[key]


def _order_value(item, key: str):
    return item.get(key) if key and isinstance(item, dict) else item


def _element_kind(*lists) -> str:
    kinds = {go_json_type(v) for lst in lists for v in lst}
    if "array" in kinds:
        # apimachinery's ErrNoListOfLists is answered with a bare 422.
        raise Invalid("the server rejected our request due to an error in our request")
    if len(kinds) > 1:
        raise BadRequest(f"list element types are not identical: {_go_fmt(list(lists))}")
    return "map" if kinds == {"object"} else "scalar"


def _index(values: list, value) -> int:
    return next((i for i, v in enumerate(values) if _same(v, value)), -1)


def _same(a, b) -> bool:
    """Go's `==` on decoded JSON scalars: 80 == 80.0, but True != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def go_json_type(v) -> str:
    """The JSON type name Go's decoder uses in its error messages."""
    for python_type, name in ((dict, "object"), (list, "array"), (bool, "bool"),
                              ((int, float), "number"), (str, "string")):
        if isinstance(v, python_type):
            return name
    return "null"


def _go_fmt(v) -> str:
    """Render a value the way Go's %v prints decoded JSON (for error messages)."""
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go_fmt(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_go_fmt(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "<nil>" if v is None else str(v)
