"""The store: etcd's revisioned key-value model, behind one interface.

In Kubernetes only the API server talks to etcd, and only through a few calls: range
(get/list, possibly at an old revision), txn (create-if-absent, update-if-unchanged,
delete-if-unchanged), watch from a revision, and compact. minik8s keeps that contract
(`types.Store`) and offers two backends:

- `MemoryStore` (memory.py): MVCC in memory. Tests and the simulator use it.
- `SqliteStore` (sqlite.py): the same, written ahead to a SQLite file in WAL mode, so a
  restarted control plane loses nothing. The default for `minik8s up`.

`open_store(spec)` picks one from a string, as `minik8s up --store` gives it.
"""
from __future__ import annotations

import os

from .memory import MemoryStore, MemoryWatcher
from .sqlite import SqliteStore
from .types import (DELETE, PUT, Compacted, Compare, Event, FutureRevision, KeyValue, Op,
                    RangeResult, Store, TxnResult, Watcher, delete, get, put)

__all__ = ["open_store", "MemoryStore", "MemoryWatcher", "SqliteStore", "Store",
           "Watcher", "KeyValue", "Event", "RangeResult", "Compare", "Op", "TxnResult",
           "Compacted", "FutureRevision", "PUT", "DELETE", "put", "delete", "get"]


def open_store(spec: str) -> Store:
    """"memory" -> MemoryStore; "sqlite:///abs/path.db", "sqlite://rel/path.db" or a
    plain path ending in ".db" -> SqliteStore (the file is created if missing)."""
    if spec == "memory":
        return MemoryStore()
    if spec.startswith("sqlite://"):
        path = spec[len("sqlite://"):]
    elif spec.endswith(".db"):
        path = spec
    else:
        raise ValueError(f"unknown store {spec!r}: use \"memory\", "
                         f"\"sqlite:///path/to/file.db\" or a path ending in .db")
    if not path:
        raise ValueError(f"store {spec!r} names no file")
    return SqliteStore(os.path.expanduser(path))
