"""Server-side printing: the `Table` that `kubectl get` prints.

In Kubernetes the API server, not kubectl, decides the columns of `kubectl get`. kubectl
asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, and the server answers
with a `meta.k8s.io/v1` Table: column definitions, then one row of already formatted
cells per object (pkg/printers/internalversion). kubectl only lays the cells out: it
shows `priority: 0` columns always and `priority: 1` ones with `-o wide` (so the server
always sends every cell), adds NAMESPACE for `-A` and LABELS for `--show-labels` from
each row's `object` (a PartialObjectMetadata), and starts `get -w` from the Table's
`metadata.resourceVersion`. A kind without a printer gets what kube-apiserver gives any
object: `Name` and `Created At`.

This module is the framework: columns, the registry of printers, the Table, the
durations in the AGE column. The per-kind columns and row functions are in
`printers_kinds.py` (pods and their controllers) and `printers_cluster.py` (services,
nodes, events, config, storage, RBAC). Everything is a pure function of the objects and
`now` (epoch seconds, passed in: printers never read a clock).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from . import meta
from .errors import BadRequest, NotFound
from .quantity import canonicalize
from .registry import REGISTRY


@dataclass(frozen=True)
class Column:
    """metav1.TableColumnDefinition."""
    name: str
    type: str = "string"      # string, integer, number, boolean, date
    format: str = ""          # "name" marks the column holding the object's name
    description: str = ""
    priority: int = 0         # 0: always shown; 1: only with `kubectl get -o wide`

    def to_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description, "priority": self.priority}


# ObjectMeta's own documentation, which Kubernetes puts in every Name and Age column.
NAME_DOC = ("Name must be unique within a namespace. Is required when creating resources, "
            "although some resources may allow a client to request the generation of an "
            "appropriate name automatically. Name is primarily intended for creation "
            "idempotence and configuration definition. Cannot be updated. More info: "
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
CREATED_DOC = ("CreationTimestamp is a timestamp representing the server time when this "
               "object was created. It is not guaranteed to be set in happens-before order "
               "across separate operations. Clients may not set this value. It is represented "
               "in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for "
               "lists. More info: https://git.k8s.io/community/contributors/devel/"
               "sig-architecture/api-conventions.md#metadata")
NAME = Column("Name", format="name", description=NAME_DOC)
AGE = Column("Age", description=CREATED_DOC)


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration: ~2-3 significant figures.

    `10s`, `119s`, `2m`, `3m20s`, `10m`, `179m`, `3h`, `7h59m`, `8h`, `47h`, `2d`,
    `2d3h`, `8d`, `729d`, `2y`, `2y3d`, `8y`. A clock skew of up to a second in the
    future reads as `0s`; further in the future is `<invalid>`."""
    s = int(seconds)            # Go's int(d.Seconds()) truncates toward zero
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 2 * 60:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, hours // 24 % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def col(name: str, description: str = "", type: str = "string", wide: bool = False) -> Column:
    return Column(name, type=type, description=description, priority=1 if wide else 0)


PRINTERS: dict = {}   # Kind -> (columns, row function(obj, now) -> cells)


def printer(*kinds: str, columns: list):
    """Register a row function, with its columns, for one or more kinds."""
    def register(fn):
        for kind in kinds:
            PRINTERS[kind] = (tuple(columns), fn)
        return fn
    return register


def get(obj, *path, default=None):
    """meta.get_path, where an explicit JSON null also reads as `default`."""
    value = meta.get_path(obj, *path)
    return default if value is None else value


def quantity_cell(value) -> str:
    """Quantity.String(): a quantity in canonical form, `0` when unset."""
    try:
        return canonicalize(value) if value is not None else "0"
    except ValueError:        # not a quantity: print it as it is rather than fail the list
        return str(value)


def since(timestamp: str | None, now: float) -> str:
    """translateTimestampSince: how long ago a wire timestamp was; `<unknown>` if unset."""
    t = meta.parse_time(timestamp)
    return "<unknown>" if t is None else human_duration(now - t)


def age(obj: dict, now: float) -> str:
    """The AGE cell."""
    return since((obj.get("metadata") or {}).get("creationTimestamp"), now)


# Imported here, not at the top, for their side effect: they register their printers
# with the helpers defined above.
from . import printers_cluster, printers_kinds  # noqa: E402,F401


# --- the fallback every other kind gets (apiserver's DefaultTableConvertor) ----------
FALLBACK_COLUMNS = [NAME, Column("Created At", type="date", description=CREATED_DOC)]


def _fallback_row(obj: dict, now: float) -> list:
    created = meta.parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    # A date column prints its raw value; Go's zero time when the object has none.
    stamp = meta.rfc3339(created) if created is not None else "0001-01-01T00:00:00Z"
    return [meta.name_of(obj), stamp]


def resolve_kind(kind: str) -> str:
    """`Pod`, `pods`, `po` or `deployments.apps` -> the Kind the printers are keyed by."""
    if kind in PRINTERS:
        return kind
    try:
        return REGISTRY.lookup(kind).kind
    except NotFound:
        return kind               # an unregistered kind: the fallback prints it


def columns_for(kind: str) -> list:
    """The column definitions `kubectl get <kind>` shows (wide ones have priority 1)."""
    entry = PRINTERS.get(resolve_kind(kind))
    return list(entry[0]) if entry else list(FALLBACK_COLUMNS)


def row_for(obj: dict, now: float, kind: str | None = None) -> list:
    """The cells of one object's row, every column including the wide ones."""
    entry = PRINTERS.get(resolve_kind(kind or obj.get("kind", "")))
    return entry[1](obj, now) if entry else _fallback_row(obj, now)


def _row_conditions(kind: str, obj: dict) -> list:
    """Pods that ran to completion carry a `Completed` row condition, as in Kubernetes."""
    if kind != "Pod":
        return []
    phase = (obj.get("status") or {}).get("phase")
    why = {"Succeeded": "The pod has completed successfully.", "Failed": "The pod failed."}
    if phase not in why:
        return []
    return [{"type": "Completed", "status": "True", "reason": phase, "message": why[phase]}]


def table(objs: list, kind: str, now: float, resource_version: str,
          include_object: str = "Metadata") -> dict:
    """A `meta.k8s.io/v1` Table of `objs`, all of one kind.

    `include_object` is the request's `includeObject`: `Metadata` (default; each row's
    `object` is a PartialObjectMetadata, which kubectl needs for NAMESPACE, LABELS and
    `-o name`), `Object` (the whole object, what `--sort-by` asks for) or `None`."""
    include_object = include_object or "Metadata"
    if include_object not in ("None", "Metadata", "Object"):
        raise BadRequest(f'unrecognized includeObject value: "{include_object}"')
    kind = resolve_kind(kind)
    rows = []
    for obj in objs:
        row = {"cells": row_for(obj, now, kind)}
        conditions = _row_conditions(kind, obj)
        if conditions:
            row["conditions"] = conditions
        if include_object == "Metadata":
            # A copy: the caller's objects may be a shared cache, and the Table outlives us.
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": copy.deepcopy(obj.get("metadata") or {})}
        elif include_object == "Object":
            row["object"] = copy.deepcopy(obj)
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": [c.to_dict() for c in columns_for(kind)],
            "rows": rows}
