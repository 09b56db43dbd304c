"""The store's vocabulary: etcd v3's data model, as small records.

etcd is a revisioned key-value store. Every write (put, delete, or a whole txn)
increases one global `revision`. Each key remembers `create_revision` (when it was
created), `mod_revision` (when it last changed) and `version` (how many times it
changed since creation). Kubernetes builds optimistic concurrency on this: an
object's `resourceVersion` *is* the mod_revision of its key, and an update is a txn
"if mod_revision(key) == rv then put". Watches replay history from a revision, and
compaction forgets history older than a revision (a watch from before it fails with
Compacted, which the API server turns into 410 Gone).

The store knows bytes and revisions, not objects. Keys are `str`, values `bytes`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol


class Compacted(Exception):
    """The requested revision is older than the compaction point."""

    def __init__(self, revision: int, compact_revision: int):
        super().__init__(f"required revision {revision} has been compacted "
                         f"(compacted up to {compact_revision})")
        self.revision = revision
        self.compact_revision = compact_revision


class FutureRevision(Exception):
    """The requested revision is newer than the store's current revision."""


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    version: int


PUT, DELETE = "PUT", "DELETE"


@dataclass(frozen=True)
class Event:
    """One change. `kv` is the key after the change (for DELETE: value b"", and
    mod_revision = the deleting revision); `prev_kv` the key before it, if any."""
    type: str                      # PUT or DELETE
    kv: KeyValue
    prev_kv: Optional[KeyValue] = None

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


@dataclass(frozen=True)
class RangeResult:
    kvs: list                      # list[KeyValue], sorted by key
    count: int                     # how many keys matched (before `limit`)
    revision: int                  # the store revision the range was served at
    more: bool = False             # True when `limit` cut the result short


# --- txn ---------------------------------------------------------------------

@dataclass(frozen=True)
class Compare:
    """Compare one key's `target` field with `value`: etcd's txn guard.

    target: "mod_revision" | "create_revision" | "version" | "value"
    op:     "=" | "!=" | "<" | ">"
    A missing key has mod_revision = create_revision = version = 0 and value None,
    so `Compare(key, "create_revision", "=", 0)` means "key does not exist".
    """
    key: str
    target: str
    op: str
    value: object


@dataclass(frozen=True)
class Op:
    """A txn operation. kind: "put" | "delete" | "range".
    For range/delete, `prefix=True` makes `key` a prefix."""
    kind: str
    key: str
    value: bytes = b""
    prefix: bool = False


def put(key: str, value: bytes) -> Op:
    return Op("put", key, value)


def delete(key: str, prefix: bool = False) -> Op:
    return Op("delete", key, prefix=prefix)


def get(key: str, prefix: bool = False) -> Op:
    return Op("range", key, prefix=prefix)


@dataclass(frozen=True)
class TxnResult:
    succeeded: bool                # did every compare hold?
    revision: int                  # store revision after the txn
    responses: list = field(default_factory=list)
    # one entry per executed op: put -> the previous KeyValue or None;
    # delete -> list of deleted KeyValues (before deletion); range -> RangeResult


# --- watch -------------------------------------------------------------------

class Watcher(Protocol):
    """A pull-based watch: events are queued as writes happen; the consumer takes them.

    Events come in revision order, each exactly once, starting at the watch's
    start revision. Nothing blocks except `wait`.
    """

    def poll(self) -> list:
        """All events queued so far (possibly none); never blocks."""

    def wait(self, timeout: float | None) -> list:
        """Block up to `timeout` seconds for at least one event; used by run() loops only."""

    def close(self) -> None:
        """Stop the watch; later poll() returns []."""

    @property
    def closed(self) -> bool: ...


class Store(Protocol):
    """etcd's KV + Watch API over one keyspace. Thread-safe."""

    @property
    def revision(self) -> int: ...

    @property
    def compact_revision(self) -> int: ...

    def range(self, key: str, *, prefix: bool = False, limit: int = 0,
              revision: int = 0) -> RangeResult:
        """Keys equal to `key` (or starting with it, with prefix=True), sorted by key,
        as they were at `revision` (0 = now). Raises Compacted / FutureRevision."""

    def put(self, key: str, value: bytes) -> tuple:
        """-> (new revision, previous KeyValue or None)."""

    def delete(self, key: str, *, prefix: bool = False) -> tuple:
        """-> (revision, list of deleted KeyValues). Deleting nothing does not bump
        the revision (as in etcd)."""

    def txn(self, compares: list, success: list, failure: list = ()) -> TxnResult:
        """Atomically: if every compare holds run `success`, else `failure`. All writes
        of one txn share one new revision; a txn that writes nothing keeps it."""

    def watch(self, key: str, *, prefix: bool = False, start_revision: int = 0) -> Watcher:
        """Events for key/prefix with revision >= start_revision (0 = from now on).
        Raises Compacted if 0 < start_revision < compact_revision (as etcd: the events
        of the compaction revision itself are still known)."""

    def compact(self, revision: int) -> None:
        """Forget history before `revision`: reads at a revision below it and watches
        starting below it raise Compacted. The latest version of every key that is live
        at `revision` stays. Compacting backwards, or beyond the current revision,
        raises ValueError."""

    def close(self) -> None: ...
