"""The durable store: the in-memory MVCC store, written ahead to SQLite.

In Kubernetes, etcd writes every change to its write-ahead log before acknowledging
it, so a restarted control plane loses nothing that was acknowledged. minik8s gets the
same promise from the standard library: `SqliteStore` is a `MemoryStore` (every read
and every watch is served from memory) whose writes are first committed to a SQLite
database in WAL mode, and only then applied in memory and delivered to watchers. On
open, the database is loaded back: history, event log, revision and compaction point
are exactly what they were.

Tables:
- `kv`: one row per remembered key version, tombstones included (a tombstone is a row
  with version 0, like the `kv` of etcd's DELETE event). `sub` is the position of the
  change inside its revision, so the events of one txn replay in their original order.
- `meta`: `revision` (it cannot be derived from `kv`: compaction removes tombstones)
  and `compact_revision`.

Durability: `synchronous="NORMAL"` (the default) in WAL mode survives the process
being killed (kill -9) at any instant: a committed transaction is in the OS page
cache and lands in the file. It does not claim to survive power loss or an OS crash;
`synchronous="FULL"` does (an fsync per write, much slower).

One store per file: the database is opened in EXCLUSIVE locking mode, so a second
process (or a second store in this one) cannot open it and diverge from the first's
in-memory copy. The connection is shared by all threads under the store's lock.
"""
from __future__ import annotations

import os
import sqlite3

from .memory import MemoryStore
from .types import DELETE, PUT, Event, KeyValue

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    key             TEXT    NOT NULL,
    mod_revision    INTEGER NOT NULL,
    sub             INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    value           BLOB    NOT NULL,
    PRIMARY KEY (key, mod_revision)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta VALUES ('revision', 1), ('compact_revision', 0);
"""


class SqliteStore(MemoryStore):
    """A MemoryStore that survives restarts: writes go to SQLite before memory."""

    def __init__(self, path: str, *, synchronous: str = "NORMAL"):
        super().__init__()
        synchronous = synchronous.upper()
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, "
                             f"got {synchronous!r}")
        self.path = os.fspath(path)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per write.
        # check_same_thread=False: every use is under the store's lock.
        self._db = sqlite3.connect(self.path, timeout=0.1, isolation_level=None,
                                   check_same_thread=False)
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            # BEGIN EXCLUSIVE takes the file lock now; EXCLUSIVE mode keeps it.
            self._db.execute("BEGIN EXCLUSIVE")
            self._db.executescript(SCHEMA)   # executescript commits the BEGIN
            self._load()
        except sqlite3.OperationalError as e:
            self._db.close()
            if "locked" in str(e):
                raise RuntimeError(f"store {self.path} is in use by another store "
                                   f"(another process or an unclosed SqliteStore)") from e
            raise

    def _load(self) -> None:
        """Rebuild history, keys and the event log from the database."""
        meta = dict(self._db.execute("SELECT name, value FROM meta"))
        self._rev, self._compact_rev = meta["revision"], meta["compact_revision"]
        rows = self._db.execute("SELECT key, value, create_revision, mod_revision, version"
                                " FROM kv ORDER BY mod_revision, sub")
        for key, value, create_rev, mod_rev, version in rows:
            kv = KeyValue(key, bytes(value), create_rev, mod_rev, version)
            versions = self._history.setdefault(key, [])
            if mod_rev >= self._compact_rev:
                # The event this version came from: its prev_kv is the version before
                # it, if that one was live (compaction keeps exactly that one).
                prev = versions[-1] if versions and versions[-1].version > 0 else None
                self._log.append(Event(PUT if version > 0 else DELETE, kv, prev))
            versions.append(kv)
        self._keys = sorted(self._history)

    def _save(self, rev: int, events: list) -> None:
        rows = [(e.kv.key, e.kv.mod_revision, sub, e.kv.create_revision, e.kv.version,
                 e.kv.value) for sub, e in enumerate(events)]
        self._transaction(
            ("INSERT INTO kv (key, mod_revision, sub, create_revision, version, value)"
             " VALUES (?, ?, ?, ?, ?, ?)", rows),
            ("UPDATE meta SET value = ? WHERE name = 'revision'", [(rev,)]))

    def _save_compaction(self, revision: int) -> None:
        # The same rule as MemoryStore._compact: drop every version older than
        # `revision` except each key's newest one before it, and that one too if it
        # is a tombstone.
        self._transaction(
            ("DELETE FROM kv WHERE mod_revision < (SELECT MAX(old.mod_revision)"
             " FROM kv AS old WHERE old.key = kv.key AND old.mod_revision < ?)",
             [(revision,)]),
            ("DELETE FROM kv WHERE version = 0 AND mod_revision < ?", [(revision,)]),
            ("UPDATE meta SET value = ? WHERE name = 'compact_revision'", [(revision,)]))

    def _transaction(self, *statements) -> None:
        """Run (sql, parameter rows) pairs as one SQLite transaction: all or nothing."""
        db = self._db
        db.execute("BEGIN")
        try:
            for sql, params in statements:
                db.executemany(sql, params)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            super().close()
            self._db.close()
