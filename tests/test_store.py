"""The store keeps etcd's promises: revisions, MVCC reads, txns, watches, compaction.

Every test runs against both backends (memory, sqlite), since the API server may be
given either. A hypothesis state machine compares each backend with a dict model that
also knows what every revision looked like.
"""
import os
import shutil
import sqlite3
import tempfile
import threading

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from minik8s.store import (DELETE, PUT, Compacted, Compare, Event, FutureRevision,
                           KeyValue, MemoryStore, SqliteStore, delete, get, open_store,
                           put)


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    s = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s.db")
    yield s
    s.close()


# --- revisions -----------------------------------------------------------------------

def test_a_fresh_store_is_at_revision_1_like_an_empty_etcd(store):
    assert store.revision == 1
    assert store.compact_revision == 0
    assert store.range("/", prefix=True).kvs == []


def test_put_sets_create_revision_mod_revision_and_version(store):
    assert store.put("/a", b"1") == (2, None)
    rev, prev = store.put("/a", b"2")
    assert rev == 3 and prev == KeyValue("/a", b"1", 2, 2, 1)
    assert store.range("/a").kvs == [KeyValue("/a", b"2", 2, 3, 2)]
    assert store.revision == 3


def test_a_key_put_again_after_delete_starts_a_new_life(store):
    store.put("/a", b"1")
    store.put("/a", b"2")
    store.delete("/a")
    rev, prev = store.put("/a", b"3")
    assert prev is None
    assert store.range("/a").kvs == [KeyValue("/a", b"3", rev, rev, 1)]


def test_deleting_nothing_does_not_bump_the_revision(store):
    store.put("/a", b"1")
    assert store.delete("/missing") == (2, [])
    assert store.delete("/b", prefix=True) == (2, [])
    assert store.revision == 2


def test_delete_prefix_deletes_every_key_under_it_in_one_revision(store):
    for k in ("/p/a", "/p/b", "/pq", "/q"):
        store.put(k, b"v")
    rev, deleted = store.delete("/p/", prefix=True)
    assert rev == 6 and [kv.key for kv in deleted] == ["/p/a", "/p/b"]
    assert [kv.key for kv in store.range("/", prefix=True).kvs] == ["/pq", "/q"]


def test_put_rejects_empty_keys_and_non_bytes_values(store):
    with pytest.raises(ValueError):
        store.put("", b"v")
    with pytest.raises(TypeError):
        store.put("/a", "text")
    assert store.revision == 1


# --- range ---------------------------------------------------------------------------

def test_range_prefix_is_sorted_and_limit_reports_count_and_more(store):
    for k in ("/r/c", "/r/a", "/r/b", "/rx"):
        store.put(k, k.encode())
    res = store.range("/r/", prefix=True, limit=2)
    assert [kv.key for kv in res.kvs] == ["/r/a", "/r/b"]
    assert (res.count, res.more, res.revision) == (3, True, 5)
    res = store.range("/r/", prefix=True, limit=3)
    assert (len(res.kvs), res.count, res.more) == (3, 3, False)


def test_range_at_an_old_revision_reads_the_past(store):
    store.put("/a", b"1")                        # 2
    store.put("/b", b"1")                        # 3
    store.put("/a", b"2")                        # 4
    store.delete("/b")                           # 5
    assert store.range("/a", revision=2).kvs == [KeyValue("/a", b"1", 2, 2, 1)]
    assert store.range("/a", revision=3).kvs[0].value == b"1"
    assert [kv.value for kv in store.range("/", prefix=True, revision=4).kvs] == [b"2", b"1"]
    assert store.range("/b", revision=5).kvs == []
    assert store.range("/b", revision=1).kvs == []
    assert store.range("/", prefix=True, revision=4).revision == 4
    with pytest.raises(FutureRevision):
        store.range("/a", revision=6)


# --- txn -----------------------------------------------------------------------------

def test_txn_create_if_absent_succeeds_once(store):
    absent = Compare("/a", "create_revision", "=", 0)
    first = store.txn([absent], [put("/a", b"1")], [get("/a")])
    assert first.succeeded and first.revision == 2 and first.responses == [None]
    second = store.txn([absent], [put("/a", b"2")], [get("/a")])
    assert not second.succeeded and second.revision == 2
    assert second.responses[0].kvs == [KeyValue("/a", b"1", 2, 2, 1)]
    assert store.revision == 2


def test_txn_cas_on_mod_revision_rejects_a_stale_update(store):
    rv, _ = store.put("/a", b"1")
    store.put("/a", b"2")                        # someone else updated it
    stale = store.txn([Compare("/a", "mod_revision", "=", rv)], [put("/a", b"mine")])
    assert not stale.succeeded and stale.responses == []
    assert store.range("/a").kvs[0].value == b"2" and store.revision == 3
    fresh = store.txn([Compare("/a", "mod_revision", "=", 3)], [put("/a", b"mine")])
    assert fresh.succeeded and fresh.responses[0].value == b"2"


def test_all_writes_of_one_txn_share_one_revision_and_ranges_see_earlier_ops(store):
    store.put("/d/x", b"old")
    res = store.txn([], [get("/n"), put("/n/1", b"a"), put("/n/2", b"b"),
                         delete("/d/", prefix=True), get("/n/", prefix=True)])
    assert res.revision == 3 == store.revision
    assert res.responses[0].revision == 2        # nothing written yet by the txn
    assert [kv.key for kv in res.responses[3]] == ["/d/x"]
    listed = res.responses[4]
    assert [kv.mod_revision for kv in listed.kvs] == [3, 3] and listed.revision == 3


def test_overlapping_deletes_in_one_txn_delete_each_key_once(store):
    store.put("/d/x", b"1")
    store.put("/d/y", b"1")
    w = store.watch("/d/", prefix=True)
    res = store.txn([], [delete("/d/x"), delete("/d/", prefix=True)])
    assert [[kv.key for kv in r] for r in res.responses] == [["/d/x"], ["/d/y"]]
    assert [(e.type, e.kv.key) for e in w.poll()] == [(DELETE, "/d/x"), (DELETE, "/d/y")]


def test_a_txn_that_writes_nothing_keeps_the_revision(store):
    store.put("/a", b"1")
    res = store.txn([Compare("/a", "version", ">", 0)], [get("/a"), delete("/none")])
    assert res.succeeded and res.revision == 2 == store.revision


def test_txn_compares_on_value_version_and_missing_keys_as_etcd(store):
    store.put("/a", b"x")
    assert store.txn([Compare("/a", "value", "=", b"x")], []).succeeded
    assert store.txn([Compare("/a", "version", "<", 2)], []).succeeded
    assert not store.txn([Compare("/a", "create_revision", ">", 2)], []).succeeded
    assert store.txn([Compare("/m", "mod_revision", "=", 0)], []).succeeded
    # A value compare on a missing key always fails, even "!=".
    assert not store.txn([Compare("/m", "value", "!=", b"x")], []).succeeded


def test_txn_writing_one_key_twice_is_rejected_and_changes_nothing(store):
    with pytest.raises(ValueError, match="duplicate key"):
        store.txn([], [put("/a", b"1"), put("/a", b"2")])
    with pytest.raises(ValueError, match="duplicate key"):
        store.txn([], [put("/a/b", b"1"), delete("/a/", prefix=True)])
    with pytest.raises(ValueError):
        store.txn([Compare("/a", "lease", "=", 0)], [])
    assert store.revision == 1 and store.range("/", prefix=True).kvs == []


# --- watch ---------------------------------------------------------------------------

def test_a_write_is_delivered_before_it_returns(store):
    w = store.watch("/a")
    assert w.poll() == []
    store.put("/a", b"1")
    assert w.poll() == [Event(PUT, KeyValue("/a", b"1", 2, 2, 1), None)]
    assert w.poll() == []


def test_every_event_carries_prev_kv_and_deletes_look_like_etcd(store):
    store.put("/a", b"1")
    w = store.watch("/a")
    store.put("/a", b"2")
    store.delete("/a")
    put_ev, del_ev = w.poll()
    assert put_ev.prev_kv == KeyValue("/a", b"1", 2, 2, 1)
    assert del_ev == Event(DELETE, KeyValue("/a", b"", 0, 4, 0), KeyValue("/a", b"2", 2, 3, 2))
    assert del_ev.revision == 4


def test_prefix_watch_sees_only_its_prefix(store):
    w = store.watch("/registry/pods/", prefix=True)
    exact = store.watch("/registry/pods")
    for k in ("/registry/pods/a", "/registry/podsx", "/registry/pods", "/registry/pods/b"):
        store.put(k, b"v")
    assert [e.kv.key for e in w.poll()] == ["/registry/pods/a", "/registry/pods/b"]
    assert [e.kv.key for e in exact.poll()] == ["/registry/pods"]


def test_watch_from_a_revision_replays_then_goes_live_without_gap_or_duplicate(store):
    for i in range(5):
        store.put(f"/k/{i % 2}", str(i).encode())          # revisions 2..6
    w = store.watch("/k/", prefix=True, start_revision=4)
    store.txn([], [put("/k/0", b"t"), put("/k/1", b"t")])  # revision 7, two events
    store.delete("/k/", prefix=True)                       # revision 8, two events
    events = w.poll()
    assert [e.revision for e in events] == [4, 5, 6, 7, 7, 8, 8]
    assert [e.kv.key for e in events[3:5]] == ["/k/0", "/k/1"]   # txn op order
    assert events[0].kv.value == b"2" and events[0].prev_kv.value == b"0"


def test_watch_from_a_future_revision_waits_for_it(store):
    w = store.watch("/a", start_revision=4)
    store.put("/a", b"2")
    store.put("/a", b"3")
    store.put("/a", b"4")
    assert [e.revision for e in w.poll()] == [4]


def test_closed_watch_gets_nothing_more(store):
    w = store.watch("/", prefix=True)
    store.put("/a", b"1")
    w.close()
    store.put("/a", b"2")
    assert w.closed and w.poll() == []


def test_wait_blocks_until_a_write_or_a_close(store):
    w = store.watch("/a")
    got = []
    t = threading.Thread(target=lambda: got.append(w.wait(10)))
    t.start()
    store.put("/a", b"1")
    t.join(10)
    assert [e.kv.value for e in got[0]] == [b"1"]
    t = threading.Thread(target=lambda: got.append(w.wait(None)))
    t.start()
    w.close()
    t.join(10)
    assert got[1] == [] and not t.is_alive()
    assert store.watch("/b").wait(0) == []


# --- compaction ----------------------------------------------------------------------

def test_compaction_forgets_the_past_but_keeps_the_present(store):
    store.put("/a", b"1")                        # 2
    store.put("/b", b"1")                        # 3
    store.put("/a", b"2")                        # 4
    store.delete("/b")                           # 5
    store.put("/c", b"1")                        # 6
    store.compact(5)
    assert store.compact_revision == 5
    with pytest.raises(Compacted) as err:
        store.range("/a", revision=4)
    assert (err.value.revision, err.value.compact_revision) == (4, 5)
    assert [(kv.key, kv.value) for kv in store.range("/", prefix=True, revision=5).kvs] \
        == [("/a", b"2")]
    assert [kv.key for kv in store.range("/", prefix=True).kvs] == ["/a", "/c"]
    assert store.range("/a").kvs == [KeyValue("/a", b"2", 2, 4, 2)]


def test_compaction_frees_the_memory_of_deleted_keys(store):
    store.put("/gone", b"1")
    store.delete("/gone")
    store.put("/kept", b"1")
    store.put("/kept", b"2")
    store.put("/x", b"1")
    store.compact(6)
    # Left: for each live key, the version visible at 6 (the event at 6 needs no more).
    assert store._history == {"/kept": [KeyValue("/kept", b"2", 4, 5, 2)],
                              "/x": [KeyValue("/x", b"1", 6, 6, 1)]}
    assert store._keys == ["/kept", "/x"]


def test_a_watch_from_before_the_compaction_point_fails(store):
    for i in range(4):
        store.put("/a", str(i).encode())         # revisions 2..5
    store.compact(4)
    with pytest.raises(Compacted):
        store.watch("/a", start_revision=3)
    # The events of the compaction revision itself are still known, with prev_kv.
    events = store.watch("/a", start_revision=4).poll()
    assert [(e.revision, e.kv.value, e.prev_kv.value) for e in events] == \
        [(4, b"2", b"1"), (5, b"3", b"2")]


def test_compaction_cannot_go_backwards_or_into_the_future(store):
    store.put("/a", b"1")
    store.put("/a", b"2")
    store.compact(3)
    store.compact(3)                             # same point again: nothing to do
    with pytest.raises(ValueError):
        store.compact(2)
    with pytest.raises(ValueError):
        store.compact(4)
    assert store.compact_revision == 3


def test_a_live_watch_is_not_disturbed_by_compaction(store):
    w = store.watch("/a")
    store.put("/a", b"1")
    store.compact(2)
    store.put("/a", b"2")
    assert [e.revision for e in w.poll()] == [2, 3]


# --- a write that cannot be saved ---------------------------------------------------

class DiskFull(MemoryStore):
    """A store whose next save fails, as a durable backend's would on a full disk."""
    fail = False

    def _save(self, rev, events):
        if self.fail:
            raise OSError("no space left on device")


def test_a_write_that_fails_to_save_leaves_no_trace():
    store = DiskFull()
    store.put("/a", b"1")
    w = store.watch("/", prefix=True)
    store.fail = True
    with pytest.raises(OSError):
        store.txn([], [put("/a", b"2"), put("/b", b"1")])
    assert store.revision == 2 and w.poll() == []
    assert store.range("/", prefix=True).kvs == [KeyValue("/a", b"1", 2, 2, 1)]
    store.fail = False
    assert store.put("/b", b"1") == (3, None)
    assert [e.kv.key for e in w.poll()] == ["/b"]


class FailOnMetaUpdate:
    """Wraps the SQLite connection: the write's last statement fails (an I/O error)."""

    def __init__(self, db):
        self.db = db

    def executemany(self, sql, params):
        if sql.startswith("UPDATE meta"):
            raise sqlite3.OperationalError("disk I/O error")
        return self.db.executemany(sql, params)

    def __getattr__(self, name):
        return getattr(self.db, name)


def test_a_sqlite_write_is_all_or_nothing(tmp_path):
    store = SqliteStore(tmp_path / "s.db")
    store.put("/a", b"1")
    db, store._db = store._db, FailOnMetaUpdate(store._db)
    with pytest.raises(sqlite3.OperationalError):
        store.put("/b", b"1")
    store._db = db
    assert store.range("/b").kvs == [] and store.revision == 2
    assert store.put("/b", b"2") == (3, None)     # revision 3 is free in the file too
    store.close()
    store = SqliteStore(tmp_path / "s.db")
    assert [(kv.key, kv.value, kv.mod_revision) for kv in store.range("/", prefix=True).kvs] \
        == [("/a", b"1", 2), ("/b", b"2", 3)]
    store.close()


# --- concurrency ---------------------------------------------------------------------

def test_concurrent_writers_get_unique_increasing_revisions(store):
    w = store.watch("/", prefix=True)
    per_thread = {}

    def writer(n):
        per_thread[n] = [store.put(f"/t{n}/{i}", b"v")[0] for i in range(150)]

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    revs = [r for rs in per_thread.values() for r in rs]
    assert sorted(revs) == list(range(2, 602)) and store.revision == 601
    assert all(rs == sorted(rs) for rs in per_thread.values())
    assert [e.revision for e in w.poll()] == list(range(2, 602))


# --- open_store ----------------------------------------------------------------------

def test_open_store_picks_the_backend_from_the_spec(tmp_path):
    assert isinstance(open_store("memory"), MemoryStore)
    for spec in (f"sqlite://{tmp_path}/a.db", str(tmp_path / "b.db")):
        s = open_store(spec)
        assert isinstance(s, SqliteStore) and os.path.exists(s.path)
        s.close()
    with pytest.raises(ValueError):
        open_store("etcd")


def test_one_sqlite_file_serves_one_store(tmp_path):
    s = SqliteStore(tmp_path / "s.db")
    with pytest.raises(RuntimeError, match="in use"):
        SqliteStore(tmp_path / "s.db")
    s.close()
    SqliteStore(tmp_path / "s.db").close()


# --- the store against a dict model --------------------------------------------------

KEYS = st.sampled_from(["/a", "/a/b", "/a/c", "/ab", "/b"])
PREFIXES = st.sampled_from(["/a", "/a/", "/"])


class StoreMatchesModel(RuleBasedStateMachine):
    """Model: the live keys now, a snapshot per revision, and the full event list."""

    def __init__(self):
        super().__init__()
        self.store = self.open()
        self.rev, self.compacted = 1, 0
        self.now: dict = {}
        self.snapshots = {1: {}}
        self.events: list = []
        self.seen: list = []
        self.watch = self.store.watch("/", prefix=True)

    def open(self):
        return MemoryStore()

    def commit(self, changes):
        """Apply (key, value-or-None) changes as one revision of the model."""
        if not changes:
            return
        self.rev += 1
        for key, value in changes:
            prev = self.now.get(key)
            if value is None:
                del self.now[key]
                self.events.append(Event(DELETE, KeyValue(key, b"", 0, self.rev, 0), prev))
            else:
                kv = KeyValue(key, value, prev.create_revision if prev else self.rev,
                              self.rev, prev.version + 1 if prev else 1)
                self.now[key] = kv
                self.events.append(Event(PUT, kv, prev))
        self.snapshots[self.rev] = dict(self.now)

    def under(self, prefix):
        return sorted(k for k in self.now if k.startswith(prefix))

    @rule(key=KEYS, value=st.binary(max_size=3))
    def do_put(self, key, value):
        prev = self.now.get(key)
        self.commit([(key, value)])
        assert self.store.put(key, value) == (self.rev, prev)

    @rule(key=st.one_of(KEYS, PREFIXES), prefix=st.booleans())
    def do_delete(self, key, prefix):
        doomed = self.under(key) if prefix else [k for k in [key] if k in self.now]
        expected = [self.now[k] for k in doomed]
        self.commit([(k, None) for k in doomed])
        assert self.store.delete(key, prefix=prefix) == (self.rev, expected)

    @rule(key=KEYS, value=st.binary(max_size=3), stale=st.booleans(), other=KEYS)
    def do_cas(self, key, value, stale, other):
        current = self.now[key].mod_revision if key in self.now else 0
        guard = current + 1 if stale else current
        res = self.store.txn([Compare(key, "mod_revision", "=", guard)],
                             [put(key, value), get(other)], [get(key)])
        assert res.succeeded == (not stale)
        if not stale:
            self.commit([(key, value)])
        assert res.revision == self.rev

    @rule(data=st.data())
    def do_compact(self, data):
        target = data.draw(st.integers(self.compacted, self.rev))
        self.store.compact(target)
        self.compacted = target

    @rule(data=st.data(), prefix=PREFIXES)
    def check_range_in_the_past(self, data, prefix):
        at = data.draw(st.integers(1, self.rev))
        if 0 < at < self.compacted:
            with pytest.raises(Compacted):
                self.store.range(prefix, prefix=True, revision=at)
            return
        snap = self.snapshots[at]
        res = self.store.range(prefix, prefix=True, revision=at)
        assert res.kvs == [snap[k] for k in sorted(snap) if k.startswith(prefix)]

    @rule(data=st.data())
    def check_watch_replay(self, data):
        start = data.draw(st.integers(max(1, self.compacted), self.rev + 1))
        w = self.store.watch("/a", prefix=True, start_revision=start)
        assert w.poll() == [e for e in self.events
                            if e.revision >= start and e.kv.key.startswith("/a")]
        w.close()

    @invariant()
    def store_matches_model(self):
        assert self.store.revision == self.rev
        assert self.store.compact_revision == self.compacted
        assert self.store.range("/", prefix=True).kvs == [self.now[k] for k in self.under("/")]
        self.seen += self.watch.poll()
        assert self.seen == self.events

    def teardown(self):
        self.store.close()


class SqliteStoreMatchesModel(StoreMatchesModel):
    def open(self):
        if not hasattr(self, "dir"):
            self.dir = tempfile.mkdtemp()
        return SqliteStore(os.path.join(self.dir, "m.db"))

    @rule()
    def restart(self):
        """A restart keeps everything; a watch resumes where the last one stopped."""
        self.store.close()
        self.store = self.open()
        self.watch = self.store.watch("/", prefix=True, start_revision=self.rev + 1)

    def teardown(self):
        super().teardown()
        shutil.rmtree(self.dir)


TestMemoryStoreMatchesModel = StoreMatchesModel.TestCase
TestMemoryStoreMatchesModel.settings = settings(max_examples=60, stateful_step_count=30,
                                                deadline=None)
TestSqliteStoreMatchesModel = SqliteStoreMatchesModel.TestCase
TestSqliteStoreMatchesModel.settings = settings(max_examples=30, stateful_step_count=30,
                                                deadline=None)
