"""Object storage: API objects over the etcd-model store.

In kube-apiserver this is the generic registry over `storage.Interface` (etcd3): an
object is JSON under `/registry/<resource>/<namespace>/<name>`, and its
`metadata.resourceVersion` is not stored at all — it *is* the key's etcd
mod_revision, filled in on every read. That one choice gives Kubernetes optimistic
concurrency for free:

- create  = txn(if create_revision(key) == 0 then put)          -> else AlreadyExists
- update  = txn(if mod_revision(key) == resourceVersion then put) -> else Conflict
- delete  = txn(if mod_revision(key) == what we read then delete)
- a list's resourceVersion is the store revision it was read at, so a watch from it
  misses nothing and repeats nothing.

This layer knows objects but not policy: defaulting, validation, generation and
graceful deletion live in the strategy and pipeline above it.
"""
from __future__ import annotations

import base64
import json

from minik8s.api import errors
from minik8s.api.errors import STALE
from minik8s.api.registry import ResourceType
from minik8s.api.wire import ListResult
from minik8s.store.types import Compacted, Compare, FutureRevision, Op


def encode(obj: dict) -> bytes:
    """The stored form: the object without its resourceVersion (the store knows it)."""
    meta = obj.get("metadata") or {}
    if "resourceVersion" in meta:
        obj = dict(obj, metadata={k: v for k, v in meta.items() if k != "resourceVersion"})
    return json.dumps(obj, separators=(",", ":")).encode()


def decode(kv) -> dict:
    """Every read decodes afresh, so no two callers ever share one dict."""
    obj = json.loads(kv.value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(kv.mod_revision)
    return obj


def parse_rv(rv, what: str = "resourceVersion") -> int:
    try:
        n = int(rv)
        if n < 0:
            raise ValueError
        return n
    except (TypeError, ValueError):
        raise errors.BadRequest(f'invalid {what}: "{rv}"') from None


class ObjectStorage:
    """CRUD of API objects for every ResourceType, over one Store."""

    def __init__(self, store):
        self.store = store

    # --- reads -------------------------------------------------------------

    def get(self, rt: ResourceType, namespace, name: str) -> dict:
        res = self.store.range(rt.key(namespace, name))
        if not res.kvs:
            raise errors.not_found(rt.plural, name, rt.group)
        return decode(res.kvs[0])

    def list(self, rt: ResourceType, namespace, *, match=None, limit: int = 0,
             continue_token: str = "") -> ListResult:
        """Objects of one namespace (or all), filtered by `match(obj)`, sorted by
        (namespace, name) because kubectl prints rows in server order. With `limit`,
        pages are read at one fixed revision so page two sees the same world."""
        revision, start = 0, ""
        if continue_token:
            revision, start = _decode_continue(continue_token)
        try:
            res = self.store.range(rt.prefix(namespace), prefix=True, revision=revision)
        except Compacted:
            raise errors.Gone("The provided continue parameter is too old to display a "
                              "consistent list result. You can start a new list without "
                              "the continue parameter.") from None
        items, keys, token = [], [], ""
        for kv in res.kvs:
            if start and kv.key <= start:
                continue
            obj = decode(kv)
            if match is not None and not match(obj):
                continue
            if limit and len(items) == limit:
                # One more match exists: the next page starts after the last key sent.
                token = _encode_continue(res.revision, keys[-1])
                break
            items.append(obj)
            keys.append(kv.key)
        return ListResult(items=items, resource_version=str(res.revision), kind=rt.list_kind,
                          api_version=rt.api_version, continue_token=token)

    def current_revision(self) -> int:
        return self.store.revision

    # --- writes ------------------------------------------------------------

    def create(self, rt: ResourceType, obj: dict) -> dict:
        meta = obj["metadata"]
        key = rt.key(meta.get("namespace"), meta["name"])
        res = self.store.txn([Compare(key, "create_revision", "=", 0)],
                             [Op("put", key, encode(obj))])
        if not res.succeeded:
            raise errors.already_exists(rt.plural, meta["name"], rt.group)
        return _with_rv(obj, res.revision)

    def update(self, rt: ResourceType, obj: dict, expected_rv: int) -> dict:
        """Write `obj` if the stored object is still at `expected_rv`."""
        meta = obj["metadata"]
        key = rt.key(meta.get("namespace"), meta["name"])
        # BEGIN LAB 02: optimistic concurrency — write only if nobody wrote since we read
        # The guard and the write must be ONE txn: a get-then-put leaves a window in
        # which another writer's change is silently overwritten (the "lost update").
        res = self.store.txn([Compare(key, "mod_revision", "=", expected_rv)],
                             [Op("put", key, encode(obj))],
                             [Op("range", key)])
        if not res.succeeded:
            if not res.responses[0].kvs:        # deleted meanwhile
                raise errors.not_found(rt.plural, meta["name"], rt.group)
            raise errors.conflict(rt.plural, meta["name"], STALE, rt.group)
        return _with_rv(obj, res.revision)
        # END LAB 02

    def delete(self, rt: ResourceType, namespace, name: str, expected_rv: int) -> dict:
        """Remove the object if it is still at `expected_rv`; returns its last state
        carrying the deletion's revision (what a DELETED watch event shows)."""
        key = rt.key(namespace, name)
        res = self.store.txn([Compare(key, "mod_revision", "=", expected_rv)],
                             [Op("delete", key)], [Op("range", key)])
        if not res.succeeded:
            if not res.responses[0].kvs:
                raise errors.not_found(rt.plural, name, rt.group)
            raise errors.conflict(rt.plural, name, STALE, rt.group)
        deleted = res.responses[0]
        obj = json.loads(deleted[0].value)
        return _with_rv(obj, res.revision)

    # --- watch -------------------------------------------------------------

    def watch_from(self, rt: ResourceType, namespace, resource_version: str):
        """(initial objects, store watcher). With no resourceVersion (or "0") the
        watch starts with every current object as a synthetic ADDED, then live changes;
        with "N" it replays every change after N.
        Raises Gone when N is older than the compaction point."""
        prefix = rt.prefix(namespace)
        # BEGIN LAB 02: list + watch resume — a watch from N sees every change after N
        if resource_version in ("", "0"):
            # Read the current state and open the watch at the *same* revision:
            # anything written between the two would otherwise be lost or doubled.
            res = self.store.range(prefix, prefix=True)
            initial = [decode(kv) for kv in res.kvs]
            start = res.revision + 1
        else:
            initial = []
            start = parse_rv(resource_version) + 1
        try:
            watcher = self.store.watch(prefix, prefix=True, start_revision=start)
        except Compacted as e:
            raise errors.Gone(f"too old resource version: {start - 1} "
                              f"({e.compact_revision})") from None
        except FutureRevision:
            raise errors.Timeout(f"Too large resource version: {start - 1}, current: "
                                 f"{self.store.revision}") from None
        return initial, watcher
        # END LAB 02


def _with_rv(obj: dict, revision: int) -> dict:
    obj = dict(obj)
    obj["metadata"] = dict(obj["metadata"], resourceVersion=str(revision))
    return obj


def _encode_continue(revision: int, key: str) -> str:
    raw = json.dumps({"rv": revision, "start": key}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str):
    try:
        d = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(d["rv"]), str(d["start"])
    except Exception:
        raise errors.BadRequest(f'invalid continue token "{token}"') from None
