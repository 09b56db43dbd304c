"""The in-memory store: etcd's MVCC key-value model, in one small class.

In Kubernetes, etcd holds every object. etcd never overwrites a value: each write
adds a new *version* of its keys at a new global `revision`, so the past stays
readable ("range at revision R") and watchable ("every change since R") until
`compact` forgets it. The API server builds optimistic concurrency (resourceVersion =
mod_revision), consistent lists and resumable watches on exactly these promises.

This version keeps:
- `_history[key]`: every version of the key still remembered, oldest first. A
  *tombstone* (a delete) is a version too, with `version == 0` and value b"" — the
  same shape as the `kv` of etcd's DELETE event. Reading at revision R means: the
  newest version with mod_revision <= R, unless that is a tombstone.
- `_keys`: the sorted list of keys that have history, for prefix ranges.
- `_log`: every event since the compaction point, in revision order, for watch replay.
- `_watchers`: open watches. A write delivers its events *before it returns*: after
  `put`, `poll()` in the same thread has them (the deterministic simulator needs it).

Invariants: the revision starts at 1 (an empty etcd) and grows by exactly one per
write — a put, a delete that deleted something, or a txn with any write; all writes of
one txn share that revision. Everything happens under one lock, so a watch that
replays history and then goes live sees no gap and no duplicate.

Durable backends (sqlite.py) override `_save` / `_save_compaction`: a write reaches
`_save` before anyone can see it, and is undone in memory if saving fails. Left out
from etcd: leases, arbitrary range_end (only prefixes), progress notifications.
"""
from __future__ import annotations

import operator
import threading
from bisect import bisect_left, bisect_right, insort
from collections import deque
from contextlib import contextmanager

from .types import (DELETE, PUT, Compacted, Compare, Event, FutureRevision, KeyValue,
                    Op, RangeResult, TxnResult)

COMPARE_TARGETS = ("mod_revision", "create_revision", "version", "value")
COMPARE_OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt}


class MemoryStore:
    """etcd's KV + Watch API over one in-memory keyspace. Thread-safe (one lock)."""

    def __init__(self):
        self._lock = threading.RLock()
        self._rev = 1                      # an empty etcd is at revision 1
        self._compact_rev = 0              # nothing compacted yet
        self._history: dict[str, list[KeyValue]] = {}
        self._keys: list[str] = []         # sorted keys of _history
        self._log: list[Event] = []        # events with revision >= _compact_rev
        self._pending: list[Event] = []    # events of the write in progress
        self._watchers: dict[MemoryWatcher, None] = {}   # insertion-ordered set

    @property
    def revision(self) -> int:
        return self._rev

    @property
    def compact_revision(self) -> int:
        return self._compact_rev

    # --- reads ----------------------------------------------------------------

    def range(self, key: str, *, prefix: bool = False, limit: int = 0,
              revision: int = 0) -> RangeResult:
        with self._lock:
            if revision < 0:
                raise ValueError(f"revision must not be negative, got {revision}")
            if revision > self._rev:
                raise FutureRevision(f"required revision {revision} is a future revision "
                                     f"(current revision {self._rev})")
            if 0 < revision < self._compact_rev:
                raise Compacted(revision, self._compact_rev)
            at = revision or self._rev
            kvs = self._range_at(key, prefix, at)
            more = 0 < limit < len(kvs)
            return RangeResult(kvs[:limit] if more else kvs, len(kvs), at, more)

    def _range_at(self, key: str, prefix: bool, revision: int) -> list:
        keys = self._keys_with_prefix(key) if prefix else [key]
        found = (self._version_at(k, revision) for k in keys)
        return [kv for kv in found if kv is not None]

    def _version_at(self, key: str, revision: int) -> KeyValue | None:
        """The key as it was at `revision`, or None if it did not exist then."""
        # BEGIN LAB 01: range at a revision — find the version visible at `revision`
        # Pitfall: the visible version is the newest one with mod_revision <= revision,
        # not one with mod_revision == revision (most keys did not change at exactly R).
        # Pitfall: if that newest version is a tombstone (version 0), the key was
        # deleted by then: it does not exist, even though older versions do.
        versions = self._history.get(key, [])
        i = bisect_right(versions, revision, key=lambda kv: kv.mod_revision)
        if i == 0:
            return None                    # created after `revision` (or never)
        kv = versions[i - 1]
        return kv if kv.version > 0 else None
        # END LAB 01

    def _latest(self, key: str) -> KeyValue | None:
        """The key now, including writes of the txn in progress."""
        versions = self._history.get(key)
        return versions[-1] if versions and versions[-1].version > 0 else None

    def _keys_with_prefix(self, prefix: str) -> list:
        i = bisect_left(self._keys, prefix)
        out = []
        while i < len(self._keys) and self._keys[i].startswith(prefix):
            out.append(self._keys[i])
            i += 1
        return out

    # --- writes ---------------------------------------------------------------

    def put(self, key: str, value: bytes) -> tuple:
        _check_put(key, value)
        with self._write() as rev:
            prev = self._put(key, bytes(value), rev)
        return rev, prev

    def delete(self, key: str, *, prefix: bool = False) -> tuple:
        with self._write() as rev:
            deleted = self._delete(key, prefix, rev)
        return (rev if deleted else rev - 1), deleted

    def _put(self, key: str, value: bytes, rev: int) -> KeyValue | None:
        """Write a new version of `key` at revision `rev`; return the previous one."""
        # BEGIN LAB 01: put — a new version with the right create_revision and version
        # Pitfall: a key put again after a delete is a *new* key: create_revision = rev
        # and version = 1 again (the tombstone ended its previous life).
        prev = self._latest(key)
        if prev is None:
            kv = KeyValue(key, value, create_revision=rev, mod_revision=rev, version=1)
        else:
            kv = KeyValue(key, value, create_revision=prev.create_revision,
                          mod_revision=rev, version=prev.version + 1)
        self._append(Event(PUT, kv, prev))
        return prev
        # END LAB 01

    def _delete(self, key: str, prefix: bool, rev: int) -> list:
        """Delete `key` (or every key under a prefix) at `rev`; return what was deleted."""
        # BEGIN LAB 01: delete — write a tombstone for every live matching key
        # Pitfall: deleting a key that does not exist writes nothing; if no key at all
        # was deleted, the revision must not move (`_commit` sees no events).
        # Pitfall: read at `rev`, not at the current revision: inside a txn, an earlier
        # delete of the same txn may already have deleted some of these keys.
        deleted = self._range_at(key, prefix, rev)
        for prev in deleted:
            tombstone = KeyValue(prev.key, b"", create_revision=0, mod_revision=rev,
                                 version=0)
            self._append(Event(DELETE, tombstone, prev))
        return deleted
        # END LAB 01

    def txn(self, compares: list, success: list, failure: list = ()) -> TxnResult:
        _check_txn(compares, success, failure)
        with self._write() as rev:
            succeeded = all(self._holds(c) for c in compares)
            responses = [self._apply(op, rev) for op in (success if succeeded else failure)]
            wrote = bool(self._pending)
        return TxnResult(succeeded, rev if wrote else rev - 1, responses)

    def _holds(self, cmp: Compare) -> bool:
        """Does `cmp` hold for the key as it is now?"""
        # BEGIN LAB 01: txn compare — etcd's compare on one key
        # Pitfall: a missing key compares as mod_revision = create_revision =
        # version = 0, so Compare(k, "create_revision", "=", 0) means "k is absent".
        # Pitfall: comparing the *value* of a missing key always fails, even with
        # "!=" (etcd has no way to say "no value").
        kv = self._latest(cmp.key)
        if cmp.target == "value":
            if kv is None:
                return False
            actual = kv.value
        else:
            actual = getattr(kv, cmp.target) if kv is not None else 0
        return COMPARE_OPS[cmp.op](actual, cmp.value)
        # END LAB 01

    def _apply(self, op: Op, rev: int):
        if op.kind == "put":
            return self._put(op.key, bytes(op.value), rev)
        if op.kind == "delete":
            return self._delete(op.key, op.prefix, rev)
        kvs = self._range_at(op.key, op.prefix, rev)
        # As etcd: a range inside a txn reports the new revision once the txn wrote.
        return RangeResult(kvs, len(kvs), rev if self._pending else rev - 1)

    def _append(self, event: Event) -> None:
        """Record one change of the write in progress (visible to later ops of a txn)."""
        key = event.kv.key
        if key not in self._history:
            self._history[key] = []
            insort(self._keys, key)
        self._history[key].append(event.kv)
        self._pending.append(event)

    @contextmanager
    def _write(self):
        """Hold the lock around one write; yield the revision it will get if it
        writes anything; then commit it (or undo it if anything raised)."""
        with self._lock:
            try:
                yield self._rev + 1
            except BaseException:
                self._discard_pending()
                raise
            self._commit(self._rev + 1)

    def _commit(self, rev: int) -> None:
        if not self._pending:
            return                         # wrote nothing: the revision stays
        try:
            self._save(rev, self._pending)
        except BaseException:
            self._discard_pending()
            raise
        events, self._pending = self._pending, []
        self._rev = rev
        self._log.extend(events)
        for watcher in list(self._watchers):
            watcher._deliver(events)

    def _discard_pending(self) -> None:
        for event in reversed(self._pending):
            versions = self._history[event.kv.key]
            versions.pop()
            if not versions:
                self._forget_key(event.kv.key)
        self._pending = []

    def _forget_key(self, key: str) -> None:
        del self._history[key]
        del self._keys[bisect_left(self._keys, key)]

    def _save(self, rev: int, events: list) -> None:
        """Make one write durable before anyone sees it. Nothing to do in memory."""

    # --- watch ----------------------------------------------------------------

    def watch(self, key: str, *, prefix: bool = False,
              start_revision: int = 0) -> MemoryWatcher:
        with self._lock:
            if start_revision < 0:
                raise ValueError(f"start_revision must not be negative, got {start_revision}")
            if 0 < start_revision < self._compact_rev:
                raise Compacted(start_revision, self._compact_rev)
            watcher = MemoryWatcher(self, key, prefix, start_revision or self._rev + 1)
            # Replay and registration happen under one lock hold: no write can slip
            # in between, so the live events continue exactly where the replay ended.
            watcher._deliver(self._replay(key, prefix, watcher.start_revision))
            self._watchers[watcher] = None
            return watcher

    def _replay(self, key: str, prefix: bool, start_revision: int) -> list:
        """The logged events for key/prefix with revision >= start_revision, in order."""
        # BEGIN LAB 01: watch replay — history from a revision, filtered by key
        # Pitfall: start at the *first* event of start_revision: a txn logs several
        # events with the same revision, and a watch must get all of them.
        # Pitfall: a prefix watch on "/registry/pods/" must not see "/registry/podsx";
        # exact-key watches match only the key itself.
        first = bisect_left(self._log, start_revision, key=lambda e: e.revision)
        return [e for e in self._log[first:] if _matches(e.kv.key, key, prefix)]
        # END LAB 01

    def _forget_watcher(self, watcher: MemoryWatcher) -> None:
        with self._lock:
            self._watchers.pop(watcher, None)

    # --- compaction -------------------------------------------------------------

    def compact(self, revision: int) -> None:
        with self._lock:
            if revision > self._rev:
                raise ValueError(f"cannot compact at {revision}: beyond the current "
                                 f"revision {self._rev}")
            if revision < self._compact_rev:
                raise ValueError(f"cannot compact at {revision}: already compacted "
                                 f"up to {self._compact_rev}")
            if revision > self._compact_rev:   # the same point again: nothing to do
                self._save_compaction(revision)
                self._compact(revision)

    def _compact(self, revision: int) -> None:
        # BEGIN LAB 01: compaction — forget what no read at >= revision can need
        # Pitfall: keep each key's newest version *before* `revision`: it is what a
        # read at `revision` sees when the key did not change at exactly `revision`,
        # and the prev_kv of the event that changes it next. Drop it only if it is a
        # tombstone (a deleted key needs no memory), and drop keys left empty.
        for key in list(self._history):
            versions = self._history[key]
            i = bisect_left(versions, revision, key=lambda kv: kv.mod_revision)
            if i > 0 and versions[i - 1].version > 0:
                i -= 1
            if i == len(versions):
                self._forget_key(key)
            else:
                self._history[key] = versions[i:]
        first = bisect_left(self._log, revision, key=lambda e: e.revision)
        self._log = self._log[first:]
        self._compact_rev = revision
        # END LAB 01

    def _save_compaction(self, revision: int) -> None:
        """Make a compaction durable before memory forgets. Nothing to do in memory."""

    def close(self) -> None:
        with self._lock:
            for watcher in list(self._watchers):
                watcher.close()


def _matches(event_key: str, key: str, prefix: bool) -> bool:
    return event_key.startswith(key) if prefix else event_key == key


class MemoryWatcher:
    """One watch: a thread-safe queue the store fills at write time and the consumer
    drains with `poll()` (never blocks) or `wait(timeout)` (the only blocking call)."""

    def __init__(self, store: MemoryStore, key: str, prefix: bool, start_revision: int):
        self.key = key
        self.prefix = prefix
        self.start_revision = start_revision
        self._store = store
        self._queue: deque = deque()
        self._ready = threading.Condition()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def _deliver(self, events: list) -> None:
        """Called by the store, under its lock, with the events of one write."""
        mine = [e for e in events if e.revision >= self.start_revision
                and _matches(e.kv.key, self.key, self.prefix)]
        if not mine:
            return
        with self._ready:
            if not self._closed:
                self._queue.extend(mine)
                self._ready.notify_all()

    def poll(self) -> list:
        with self._ready:
            events = list(self._queue)
            self._queue.clear()
            return events

    def wait(self, timeout: float | None) -> list:
        with self._ready:
            self._ready.wait_for(lambda: self._queue or self._closed, timeout)
            return self.poll()

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._queue.clear()
            self._ready.notify_all()
        self._store._forget_watcher(self)


# --- request checks (before any change, so a bad request changes nothing) -----------

def _check_put(key, value) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError("key is not provided")           # etcd's ErrKeyNotFound text
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"value must be bytes, not {type(value).__name__}")


def _check_txn(compares: list, *branches) -> None:
    """Also as etcd, a branch that writes one key twice is rejected ("duplicate key
    given in txn request"): both versions would share one revision."""
    for c in compares:
        if c.target not in COMPARE_TARGETS or c.op not in COMPARE_OPS:
            raise ValueError(f"unknown compare target or op in {c}")
    for ops in branches:
        _check_writes(ops)


def _check_writes(ops) -> None:
    puts, deletes = set(), []
    for op in ops:
        if op.kind == "put":
            _check_put(op.key, op.value)
            if op.key in puts:
                raise ValueError("duplicate key given in txn request")
            puts.add(op.key)
        elif op.kind == "delete":
            deletes.append(op)
        elif op.kind != "range":
            raise ValueError(f"unknown txn op {op.kind!r}")
    for d in deletes:
        if any(_matches(k, d.key, d.prefix) for k in puts):
            raise ValueError("duplicate key given in txn request")
