"""SqliteStore loses nothing it acknowledged, even when its process is killed -9.

As with etcd, an acknowledged write is one the store promises to keep: after a crash
and a restart it is there with the same mod_revision, and the revision counter goes on
from where it was (it never hands out a revision twice).
"""
import os
import signal
import subprocess
import sys

import pytest

from minik8s.store import Compacted, Compare, SqliteStore, put

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Writes forever: a put, and every 10th write a two-key txn; prints each write's
# revision only after the store has acknowledged it.
WRITER = r"""
import sys
from minik8s.store import SqliteStore, put
store = SqliteStore(sys.argv[1])
i = 0
while True:
    if i % 10 == 9:
        rev = store.txn([], [put(f"/a/{i}", b"a"), put(f"/b/{i}", b"b")]).revision
    else:
        rev, _ = store.put(f"/k/{i}", str(i).encode())
    sys.stdout.write(f"{i} {rev}\n")      # one write: the line is atomic in the pipe
    sys.stdout.flush()
    i += 1
"""


def test_every_acknowledged_write_survives_kill_9(tmp_path):
    path = str(tmp_path / "store.db")
    child = subprocess.Popen([sys.executable, "-c", WRITER, path], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": ROOT},
                             stdout=subprocess.PIPE, text=True)
    acked = []
    for line in child.stdout:
        acked.append(tuple(map(int, line.split())))
        if len(acked) == 300:
            os.kill(child.pid, signal.SIGKILL)          # mid-stream, no clean close
            break
    child.wait()
    # Lines already in the pipe were acknowledged too; a line cut short by the kill
    # (no newline) was not.
    acked += [tuple(map(int, line.split())) for line in child.stdout if line.endswith("\n")]
    assert child.returncode == -signal.SIGKILL and len(acked) >= 300

    store = SqliteStore(path)
    try:
        for i, rev in acked:
            keys = [f"/a/{i}", f"/b/{i}"] if i % 10 == 9 else [f"/k/{i}"]
            for key in keys:                   # a txn is all there, at one revision
                kv = store.range(key).kvs
                assert kv and kv[0].mod_revision == rev, (key, rev)
        last = acked[-1][1]
        # At most the one write in flight when the kill came was saved unacknowledged.
        assert store.revision in (last, last + 1)
        assert store.put("/after", b"x")[0] == store.revision
        assert store.range("/after").kvs[0].mod_revision > last
        if store.revision == last + 2:         # the in-flight write was saved whole
            n = len(acked)
            inflight = [f"/a/{n}", f"/b/{n}"] if n % 10 == 9 else [f"/k/{n}"]
            assert all(store.range(k).kvs for k in inflight)
    finally:
        store.close()


def test_reopen_keeps_history_compaction_point_and_the_event_log(tmp_path):
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    store.put("/a", b"1")                                      # 2
    store.put("/b", b"1")                                      # 3
    store.txn([Compare("/a", "version", "=", 1)], [put("/a", b"2"), put("/c", b"1")])  # 4
    store.delete("/b")                                         # 5
    store.put("/a", b"3")                                      # 6
    store.delete("/c")                                         # 7
    store.compact(4)
    before = store.watch("/", prefix=True, start_revision=4).poll()
    past = {rev: store.range("/", prefix=True, revision=rev).kvs for rev in range(4, 8)}
    store.close()

    store = SqliteStore(path)
    try:
        assert (store.revision, store.compact_revision) == (7, 4)
        with pytest.raises(Compacted):
            store.range("/a", revision=3)
        assert {rev: store.range("/", prefix=True, revision=rev).kvs
                for rev in range(4, 8)} == past
        assert store.watch("/", prefix=True, start_revision=4).poll() == before
        assert [e.revision for e in before] == [4, 4, 5, 6, 7]
        assert store.put("/d", b"1")[0] == 8
    finally:
        store.close()


def test_compaction_shrinks_the_database(tmp_path):
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    for i in range(200):
        store.put(f"/k/{i % 5}", b"v" * 100)
    store.delete("/k/0")
    store.put("/x", b"v")
    store.compact(store.revision)
    rows = store._db.execute("SELECT key FROM kv ORDER BY key").fetchall()
    store.close()
    # One row per live key; the key deleted before the compaction point is gone.
    assert [key for key, in rows] == ["/k/1", "/k/2", "/k/3", "/k/4", "/x"]
    store = SqliteStore(path)
    assert [kv.key for kv in store.range("/", prefix=True).kvs] == \
        ["/k/1", "/k/2", "/k/3", "/k/4", "/x"]
    store.close()
