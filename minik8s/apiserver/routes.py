"""REST routing: from an HTTP method and URL to a pipeline `Request`.

Kubernetes' REST paths are regular (kube-apiserver's "request info" resolver):

    /api/v1/<plural>                                  cluster-scoped list, or every namespace
    /api/v1/<plural>/<name>[/<sub>]                   cluster-scoped object
    /api/v1/namespaces/<ns>/<plural>[/<name>[/<sub>]] namespaced
    /apis/<group>/<version>/...                       the same shapes for named groups

The verb follows from the method and the shape: GET on a collection is `list` (or
`watch` with `?watch=true`), GET on an object `get`, POST `create`, PUT `update`,
PATCH `patch`, DELETE `delete` (or `deletecollection` on a collection).
This module is pure (no I/O), so every URL kubectl sends can be tested as a table.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from minik8s.api import errors

from .request import Request

PATCH_CONTENT_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}
_TRUE = ("true", "1")
NOT_ALLOWED = "the server does not allow this method on the requested resource"


def split_url(url: str):
    """-> (path segments, query dict of first values, query dict of all values)."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    multi = parse_qs(parts.query, keep_blank_values=True)
    return segments, {k: v[0] for k, v in multi.items()}, multi


def resolve(method: str, segments: list, query: dict, registry) -> Request | None:
    """A resource request, or None when the path is not a resource path
    (discovery, /version, openapi...). Raises NotFound for an unknown resource."""
    if segments[:1] == ["api"] and len(segments) >= 3 and segments[1] == "v1":
        group, version, rest = "", "v1", segments[2:]
    elif segments[:1] == ["apis"] and len(segments) >= 4:
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not _is_namespace_sub(rest[2]):
        namespace, rest = rest[1], rest[2:]
    plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else ""), "/".join(rest[2:])
    try:
        rt = registry.by_resource(plural, group)
    except errors.NotFound:
        raise errors.NotFound("the server could not find the requested resource") from None
    if rt.version != version:
        raise errors.NotFound("the server could not find the requested resource")
    if rt.namespaced and namespace is None and name:
        raise errors.NotFound("the server could not find the requested resource")
    if not rt.namespaced and namespace is not None:
        raise errors.NotFound("the server could not find the requested resource")
    verb = _verb(method, bool(name), query)
    if (verb == "create" and name and not sub) or (verb in ("update", "patch") and not name):
        raise errors.MethodNotAllowed(NOT_ALLOWED)
    req = Request(verb, rt.plural, group=rt.group, namespace=namespace, name=name,
                  subresource=sub)
    _apply_query(req, query)
    return req


def _is_namespace_sub(segment: str) -> bool:
    # /api/v1/namespaces/<name>/status|finalize are subresources of a Namespace
    return segment in ("status", "finalize")


def _verb(method: str, has_name: bool, query: dict) -> str:
    if method == "GET":
        if has_name:
            return "get"
        return "watch" if query.get("watch", "").lower() in _TRUE else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if has_name else "deletecollection"
    raise errors.MethodNotAllowed(NOT_ALLOWED)


def _apply_query(req: Request, q: dict) -> None:
    req.label_selector = q.get("labelSelector", "")
    req.field_selector = q.get("fieldSelector", "")
    req.resource_version = q.get("resourceVersion", "")
    req.continue_token = q.get("continue", "")
    req.allow_bookmarks = q.get("allowWatchBookmarks", "").lower() in _TRUE
    req.dry_run = q.get("dryRun", "") == "All"
    req.field_manager = q.get("fieldManager", "")
    req.propagation_policy = q.get("propagationPolicy", "")
    try:
        if q.get("limit"):
            req.limit = int(q["limit"])
        if q.get("timeoutSeconds"):
            req.timeout_seconds = int(q["timeoutSeconds"])
        if q.get("gracePeriodSeconds"):
            req.grace_period_seconds = int(q["gracePeriodSeconds"])
    except ValueError as e:
        raise errors.BadRequest(f"invalid query parameter: {e}") from None
    req.params = dict(q)


def apply_delete_options(req: Request, body) -> None:
    """DELETE carries DeleteOptions in the body (kubectl) or the query (Python client)."""
    if not isinstance(body, dict):
        return
    if body.get("propagationPolicy"):
        req.propagation_policy = body["propagationPolicy"]
    if body.get("gracePeriodSeconds") is not None:
        req.grace_period_seconds = int(body["gracePeriodSeconds"])
    if body.get("preconditions"):
        req.preconditions = body["preconditions"]
    if body.get("orphanDependents") is True and not req.propagation_policy:
        req.propagation_policy = "Orphan"
    if "All" in (body.get("dryRun") or []):
        req.dry_run = True
