"""Content negotiation for `kubectl get`: answer with a server-side Table.

kubectl's human output asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`
on lists, single gets and watches (contract §3.6). The printers in
`minik8s.api.printers` make the Table; this module decides when one was asked for and
wraps a list, a single object or a watch event's object into one.
"""
from __future__ import annotations

from minik8s.api.printers import table
from minik8s.api.wire import BOOKMARK, ListResult

TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def wants_table(accept: str) -> bool:
    """True when the first acceptable type is a meta.k8s.io Table."""
    for part in accept.split(","):
        params = {p.strip() for p in part.split(";")[1:]}
        if "as=Table" in params and ("g=meta.k8s.io" in params or not any(
                p.startswith("g=") for p in params)):
            return True
    return False


def to_table(req, result, now: float, include_object: str = "Metadata") -> dict:
    """A Table for a ListResult or a single object (in a watch: one event's object)."""
    if isinstance(result, ListResult):
        items, rv = result.items, result.resource_version
        kind = result.kind[:-4] if result.kind.endswith("List") else result.kind
    else:
        items = [result]
        rv = (result.get("metadata") or {}).get("resourceVersion", "")
        kind = result.get("kind") or req.resource
    out = table(items, kind, now, rv, include_object or "Metadata")
    if isinstance(result, ListResult) and result.continue_token:
        # kubectl pages lists of more than 500 (`--chunk-size`) by this token.
        out["metadata"]["continue"] = result.continue_token
    return out


def event_table(req, event, now: float, include_object: str = "Metadata") -> dict:
    """A watch event's object as a one-row Table (what `kubectl get -w` asks for). A
    BOOKMARK carries no object worth a row: an empty Table with its resourceVersion."""
    if event.type == BOOKMARK:
        meta = event.object.get("metadata") or {}
        return table([], event.object.get("kind") or req.resource, now,
                     meta.get("resourceVersion", ""), include_object)
    return to_table(req, event.object, now, include_object)
