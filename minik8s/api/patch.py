"""PATCH bodies: JSON merge patch, JSON patch, strategic merge patch, apply.

In Kubernetes a PATCH request says how to read its body with its Content-Type:
  application/merge-patch+json            RFC 7386 (kubectl label/annotate/scale)
  application/json-patch+json             RFC 6902 operations (kubectl rollout undo)
  application/strategic-merge-patch+json  Kubernetes' own format (apply, set, edit,
                                          rollout restart/pause/resume); strategic.py
  application/apply-patch+yaml            server-side apply (apply --server-side)
The apiserver reads the live object, applies the body, then validates and stores the
result like an update. This module is that middle step, as pure functions: each takes
the live object and the decoded body and returns a new object; inputs are never
changed (they may be shared with a watch cache).

Errors are the ones kube-apiserver answers:
  * a body that cannot be decoded as the patch type (merge patch not an object,
    JSON patch not a list of objects) -> 400 BadRequest;
  * a JSON patch that does not apply (missing path, failed `test`, unknown op)
    -> 422 Invalid with the fixed message "the server rejected our request due to an
    error in our request" and the library's explanation as its one cause (reason
    UnexpectedServerResponse), as NewGenericServerResponse builds it;
  * an unknown Content-Type -> 415 UnsupportedMediaType listing the accepted ones.

Server-side apply here is an approximation: the applied manifest is merged into the
live object as a strategic merge patch. Field ownership (managedFields), conflicts
between managers and `force` are not tracked, so fields dropped from a manifest are
not removed from the live object as real server-side apply would do.
"""
from __future__ import annotations

import copy

from minik8s.api.errors import BadRequest, Cause, Invalid, UnsupportedMediaType
from minik8s.api.strategic import go_json_type, merge_document, strategic_merge_patch

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
# The order kube-apiserver lists them in its 415 message for built-in kinds.
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)
_SHORT_NAMES = {"json": JSON_PATCH, "merge": MERGE_PATCH,
                "strategic": STRATEGIC_MERGE_PATCH, "apply": APPLY_PATCH}

REJECTED = "the server rejected our request due to an error in our request"

__all__ = ["apply_patch", "merge_patch", "json_patch", "strategic_merge_patch",
           "server_side_apply", "patch_media_type", "json_equal", "JSONPatchError",
           "PATCH_TYPES", "JSON_PATCH", "MERGE_PATCH", "STRATEGIC_MERGE_PATCH", "APPLY_PATCH"]


def apply_patch(target: dict, patch, patch_type: str, kind: str) -> dict:
    """Apply `patch` (already decoded from JSON/YAML) to `target`, an object of `kind`.

    `patch_type` is a Content-Type (parameters like `; charset=utf-8` are ignored) or
    one of the short names "merge", "json", "strategic", "apply".
    """
    media_type = patch_media_type(patch_type)
    if media_type == JSON_PATCH:
        return json_patch(target, patch)
    if media_type == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise BadRequest("Invalid JSON Patch")   # evanphx/json-patch's ErrBadJSONPatch
        return merge_patch(target, patch)
    if media_type == STRATEGIC_MERGE_PATCH:
        return strategic_merge_patch(target, patch, kind)
    return server_side_apply(target, patch, kind)


def patch_media_type(patch_type: str) -> str:
    """Normalise a Content-Type or short name; 415 for anything else."""
    media_type = (patch_type or "").split(";")[0].strip().lower()
    media_type = _SHORT_NAMES.get(media_type, media_type)
    if media_type not in PATCH_TYPES:
        raise UnsupportedMediaType("the body of the request was in an unknown format - "
                                   "accepted media types include: " + ", ".join(PATCH_TYPES))
    return media_type


def server_side_apply(target: dict | None, manifest: dict, kind: str) -> dict:
    """Approximate server-side apply: merge the manifest into the live object (or into
    nothing, when apply creates it). Not tracked: field ownership, see module doc."""
    # Custom resources have no struct tags: merge_document merges their maps and
    # replaces every list, which is also what server-side apply does for a list
    # without x-kubernetes-list-type.
    return merge_document(target or {}, manifest, kind)


# --- RFC 7386 JSON merge patch -----------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386: null deletes a member, objects merge recursively, anything else
    (strings, numbers, lists) replaces. A non-object patch replaces the whole target."""
    return _merge(copy.deepcopy(target), copy.deepcopy(patch))


def _merge(target, patch):
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _merge(target.get(key), value)
    return target


# --- RFC 6902 JSON patch -----------------------------------------------------------

class JSONPatchError(Exception):
    """Why a JSON patch did not apply (evanphx/json-patch's wording)."""


def json_patch(target, ops) -> dict:
    """RFC 6902: apply add/remove/replace/move/copy/test in order, all or nothing."""
    if not isinstance(ops, list):
        raise BadRequest(f"json: cannot unmarshal {go_json_type(ops)} into Go value of type "
                         "jsonpatch.Patch")
    for op in ops:
        if not isinstance(op, dict):
            raise BadRequest(f"json: cannot unmarshal {go_json_type(op)} into Go value of type "
                             "jsonpatch.Operation")
    doc = copy.deepcopy(target)
    try:
        for op in copy.deepcopy(ops):
            doc = _apply_op(doc, op)
    except JSONPatchError as err:
        # kube-apiserver's NewGenericServerResponse: the fixed message, and the
        # library's explanation as the one cause (kubectl prints it).
        raise Invalid(REJECTED, causes=[Cause("", "UnexpectedServerResponse", str(err))]) from err
    return doc


def _apply_op(doc, op: dict):
    kind = op.get("op")
    if not isinstance(kind, str):
        kind = "unknown"
    if kind not in ("add", "remove", "replace", "move", "copy", "test"):
        raise JSONPatchError(f"Unexpected kind: {kind}")
    path = _string_member(op, "path", kind)
    if kind in ("add", "replace", "test") and "value" not in op:
        raise JSONPatchError(f"{kind} operation, missing value field: missing value")
    if kind == "add":
        return _add(doc, path, op["value"])
    if kind == "remove":
        return _remove(doc, path)
    if kind == "replace":
        if path == "":
            return op["value"]
        if not _exists(doc, path):
            raise JSONPatchError(f"replace operation does not apply: doc is missing key: "
                                 f"{path}: missing value")
        return _add(_remove(doc, path), path, op["value"])
    if kind == "test":
        if not _exists(doc, path):
            raise JSONPatchError(f"test operation does not apply: is missing path: {path}: "
                                 "missing value")
        if not json_equal(_get(doc, path), op["value"]):
            raise JSONPatchError(f"testing value {path} failed: test failed")
        return doc
    source = _string_member(op, "from", kind)
    if not _exists(doc, source):
        raise JSONPatchError(f"{kind} operation does not apply: doc is missing from path: "
                             f"{source}: missing value")
    value = copy.deepcopy(_get(doc, source))
    if kind == "move":
        if path == source:
            return doc
        if path.startswith(source + "/"):
            raise JSONPatchError(f"move operation does not apply: \"{source}\" is a prefix "
                                 f"of \"{path}\"")
        doc = _remove(doc, source)
    return _add(doc, path, value)


def _string_member(op: dict, name: str, kind: str) -> str:
    value = op.get(name)
    if not isinstance(value, str):
        raise JSONPatchError(f"{kind} operation failed to decode {name}: missing value")
    return value


def _tokens(path: str) -> list:
    """RFC 6901 JSON pointer: "/a~1b/~0c" -> ["a/b", "~c"] (~1 before ~0)."""
    if path == "":
        return []
    if not path.startswith("/"):
        raise JSONPatchError(f"JSON pointer must start with '/': \"{path}\": missing value")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _array_index(token: str, size: int, path: str, allow_end: bool) -> int:
    # RFC 6901: digits without leading zeros; "-" (past the end) only where adding.
    if token == "-" and allow_end:
        return size
    if not token.isdigit() or (len(token) > 1 and token[0] == "0") or not token.isascii():
        raise JSONPatchError(f"value was not a proper array index: '{token}' in '{path}'")
    index = int(token)
    if index > size or (index == size and not allow_end):
        raise JSONPatchError(f"error in operation for path: '{path}': Unable to access "
                             f"invalid index: {index}: invalid index referenced")
    return index


def _parent(doc, path: str):
    """The container holding the pointed-to member, and the last token."""
    tokens = _tokens(path)
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_array_index(token, len(node), path, allow_end=False)]
        else:
            raise JSONPatchError(f"doc is missing path: \"{path}\": missing value")
    if not isinstance(node, (dict, list)):
        raise JSONPatchError(f"doc is missing path: \"{path}\": missing value")
    return node, tokens[-1]


def _exists(doc, path: str) -> bool:
    try:
        _get(doc, path)
    except JSONPatchError:
        return False
    return True


def _get(doc, path: str):
    if path == "":
        return doc
    node, last = _parent(doc, path)
    if isinstance(node, dict):
        if last not in node:
            raise JSONPatchError(f"doc is missing key: {path}: missing value")
        return node[last]
    return node[_array_index(last, len(node), path, allow_end=False)]


def _add(doc, path: str, value):
    if path == "":
        return value               # the whole document is replaced
    try:
        node, last = _parent(doc, path)
    except JSONPatchError as err:
        raise JSONPatchError(f"add operation does not apply: {err}") from None
    if isinstance(node, dict):
        node[last] = value         # adding an existing member replaces it
    else:
        node.insert(_array_index(last, len(node), path, allow_end=True), value)
    return doc


def _remove(doc, path: str):
    if path == "":
        raise JSONPatchError("remove operation does not apply: cannot remove the whole "
                             "document: missing value")
    try:
        node, last = _parent(doc, path)
    except JSONPatchError as err:
        raise JSONPatchError(f"remove operation does not apply: {err}") from None
    if isinstance(node, dict):
        if last not in node:
            raise JSONPatchError(f"error in remove for path: '{path}': Unable to remove "
                                 f"nonexistent key: {last}: missing value")
        del node[last]
    else:
        del node[_array_index(last, len(node), path, allow_end=False)]
    return doc


def json_equal(a, b) -> bool:
    """JSON equality (RFC 6902 `test`): 1 == 1.0, but true != 1 and "1" != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b
