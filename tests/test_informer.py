"""Informers list, then watch, keep a cache, and relist after 410 as client-go's do."""
import threading

import pytest

from minik8s.api.errors import Gone, InternalError
from minik8s.client.informer import Informer
from minik8s.client.wrappers import FaultClient, RecordingClient


def cm(name, ns="default", labels=None, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "data": data or {"v": "1"}}


class Log:
    """Handlers that write down what they were told, by name."""

    def __init__(self, informer):
        self.calls = []
        informer.add_handler(
            on_add=lambda o: self.calls.append(("add", o["metadata"]["name"])),
            on_update=lambda old, new: self.calls.append(
                ("update", new["metadata"]["name"], old["data"]["v"], new["data"]["v"])),
            on_delete=lambda o: self.calls.append(("delete", o["metadata"]["name"])))

    def take(self):
        out, self.calls = self.calls, []
        return out


def test_first_step_lists_fills_the_cache_and_calls_on_add(client, clock):
    client.create(cm("a"))
    client.create(cm("b", ns="kube-system"))
    inf = Informer(client, "configmaps", clock=clock)
    log = Log(inf)
    assert not inf.has_synced()
    assert inf.step() is None                    # no resync, nothing scheduled
    assert inf.has_synced()
    assert sorted(log.take()) == [("add", "a"), ("add", "b")]
    assert inf.get("default/a")["data"] == {"v": "1"}
    assert inf.get_by_name("kube-system", "b")["metadata"]["namespace"] == "kube-system"
    assert inf.get("default/b") is None
    assert inf.last_sync_resource_version == client.list("configmaps").resource_version


def test_watch_events_update_cache_and_handlers_in_order(client, clock):
    client.create(cm("a"))
    client.create(cm("b"))
    inf = Informer(client, "configmaps", "default", clock=clock)
    log = Log(inf)
    inf.step()
    log.take()
    client.create(cm("c"))
    client.patch("configmaps", "a", {"data": {"v": "2"}}, "default")
    client.delete("configmaps", "b", "default")
    client.create(cm("elsewhere", ns="kube-system"))     # other namespace: not ours
    assert log.take() == []                               # nothing happens until step()
    inf.step()
    assert log.take() == [("add", "c"), ("update", "a", "1", "2"), ("delete", "b")]
    assert sorted(inf.keys()) == ["default/a", "default/c"]
    assert inf.get("default/a")["data"]["v"] == "2"
    latest = client.get("configmaps", "a", "default")["metadata"]["resourceVersion"]
    assert int(inf.last_sync_resource_version) >= int(latest)
    inf.step()
    assert log.take() == []


def test_relist_after_gone_reports_what_changed_in_the_gap(client, clock):
    fault = FaultClient(client)
    for n in ("keep", "change", "vanish"):
        client.create(cm(n))
    inf = Informer(fault, "configmaps", "default", clock=clock)
    log = Log(inf)
    inf.step()
    log.take()
    vanished = inf.get("default/vanish")

    fault.break_watches(gone=True)              # the watch will say 410 Expired
    client.create(cm("new"))
    client.patch("configmaps", "change", {"data": {"v": "2"}}, "default")
    client.delete("configmaps", "vanish", "default")
    inf.step()
    assert sorted(log.take()) == [("add", "new"), ("delete", "vanish"),
                                  ("update", "change", "1", "2")]
    assert inf.relists == 2
    assert sorted(inf.keys()) == ["default/change", "default/keep", "default/new"]
    # the relist opened a fresh watch: later changes arrive as events again
    client.patch("configmaps", "keep", {"data": {"v": "3"}}, "default")
    inf.step()
    assert log.take() == [("update", "keep", "1", "3")]
    assert vanished["metadata"]["name"] == "vanish"


def test_on_delete_after_relist_gets_the_last_state_seen(client, clock):
    fault = FaultClient(client)
    client.create(cm("x"))
    inf = Informer(fault, "configmaps", "default", clock=clock)
    deleted = []
    inf.add_handler(on_delete=deleted.append)
    inf.step()
    seen = inf.get("default/x")
    fault.break_watches(gone=True)
    client.delete("configmaps", "x", "default")
    inf.step()
    assert deleted == [seen]


def test_resume_after_compaction_relists(client, clock, store):
    fault = FaultClient(client)
    client.create(cm("a"))
    client.create(cm("b"))
    inf = Informer(fault, "configmaps", "default", clock=clock)
    log = Log(inf)
    inf.step()
    log.take()
    fault.break_watches()                        # plain break: resume from our RV ...
    client.delete("configmaps", "b", "default")
    client.create(cm("c"))
    store.compact(store.revision)                # ... which is now compacted: 410
    inf.step()
    assert sorted(log.take()) == [("add", "c"), ("delete", "b")]
    assert inf.relists == 2


def test_watch_call_raising_gone_relists_in_the_same_step(client, clock):
    fault = FaultClient(client)
    client.create(cm("a"))
    inf = Informer(fault, "configmaps", "default", clock=clock)
    log = Log(inf)
    inf.step()
    log.take()
    fault.break_watches()
    fault.fail_next(1, Gone, verbs="watch")      # an HTTP client raises 410 on connect
    client.delete("configmaps", "a", "default")
    assert inf.step() is None
    assert log.take() == [("delete", "a")]
    assert inf.relists == 2 and inf.last_error is None


def test_plain_break_resumes_from_last_rv_without_relisting(client, clock):
    fault = FaultClient(client)
    rec = RecordingClient(fault)
    client.create(cm("a"))
    inf = Informer(rec, "configmaps", "default", clock=clock)
    log = Log(inf)
    inf.step()
    log.take()
    rv = inf.last_sync_resource_version
    fault.break_watches()
    client.create(cm("b"))
    inf.step()
    assert log.take() == [("add", "b")]
    assert inf.relists == 1
    watches = rec.actions_of("watch")
    assert [w.options["resource_version"] for w in watches] == [rv, rv]


def test_bookmarks_move_the_resource_version_without_events(client, clock, store):
    client.create(cm("a"))
    inf = Informer(client, "configmaps", "default", clock=clock)
    log = Log(inf)
    inf.step()
    log.take()
    client.create(cm("other", ns="kube-system"))      # not in our view
    clock.advance(61)                                 # a quiet minute: the server bookmarks
    inf.step()
    assert log.take() == []
    assert inf.keys() == ["default/a"]
    assert inf.last_sync_resource_version == str(store.revision)


def test_resync_redelivers_every_object_as_an_update(client, clock):
    client.create(cm("a"))
    client.create(cm("b"))
    inf = Informer(client, "configmaps", "default", resync_period=30, clock=clock)
    same = []
    inf.add_handler(on_update=lambda old, new: same.append((new["metadata"]["name"], old is new)))
    assert inf.step() == pytest.approx(30)
    clock.advance(29)
    assert inf.step() == pytest.approx(1)
    assert same == []
    clock.advance(1)
    assert inf.step() == pytest.approx(30)
    assert sorted(same) == [("a", True), ("b", True)]


def test_list_failure_backs_off_then_retries(client, clock):
    fault = FaultClient(client)
    client.create(cm("a"))
    fault.fail_next(2, InternalError, verbs="list")
    inf = Informer(fault, "configmaps", clock=clock)
    assert inf.step() == pytest.approx(0.8)
    assert not inf.has_synced() and isinstance(inf.last_error, InternalError)
    assert inf.step() == pytest.approx(0.8)      # not due yet: no new list
    clock.advance(0.8)
    assert inf.step() == pytest.approx(1.6)      # second failure: doubled
    clock.advance(1.6)
    assert inf.step() is None
    assert inf.has_synced() and inf.get("a") is None and inf.get("default/a")


def test_list_filters_by_namespace_and_selector(client, clock):
    client.create(cm("web", labels={"app": "web", "tier": "fe"}))
    client.create(cm("db", labels={"app": "db"}))
    client.create(cm("web2", ns="kube-system", labels={"app": "web"}))
    inf = Informer(client, "configmaps", clock=clock)
    inf.step()
    names = lambda objs: sorted(o["metadata"]["name"] for o in objs)  # noqa: E731
    assert names(inf.list()) == ["db", "web", "web2"]
    assert names(inf.list("default")) == ["db", "web"]
    assert names(inf.list(selector="app=web")) == ["web", "web2"]
    assert names(inf.list("default", "app in (web,db),tier!=fe")) == ["db"]
    assert names(inf.list(selector={"matchLabels": {"app": "web"},
                                    "matchExpressions": [{"key": "tier", "operator": "Exists"}]})) \
        == ["web"]
    assert names(inf.list(selector={"app": "db"})) == ["db"]


def test_label_selector_informer_sees_objects_leave_its_view(client, clock):
    client.create(cm("a", labels={"app": "web"}))
    inf = Informer(client, "configmaps", "default", label_selector="app=web", clock=clock)
    log = Log(inf)
    inf.step()
    assert log.take() == [("add", "a")]
    client.patch("configmaps", "a", {"metadata": {"labels": {"app": "other"}}}, "default")
    inf.step()
    assert log.take() == [("delete", "a")]
    assert inf.list() == []


def test_late_handler_is_told_about_existing_objects(client, clock):
    client.create(cm("a"))
    inf = Informer(client, "configmaps", "default", clock=clock)
    inf.step()
    added = []
    inf.add_handler(on_add=added.append)
    assert added == [inf.get("default/a")]


def test_cache_hands_out_shared_objects(client, clock):
    client.create(cm("a"))
    inf = Informer(client, "configmaps", "default", clock=clock)
    got = []
    inf.add_handler(on_add=got.append)
    inf.step()
    assert inf.get("default/a") is got[0] is inf.list()[0]


def test_run_loop_delivers_events_until_stopped(client, clock):
    inf = Informer(client, "configmaps", "default", clock=clock)
    inf.poll_interval = 0.02
    seen, stop = threading.Event(), threading.Event()
    inf.add_handler(on_add=lambda o: seen.set() if o["metadata"]["name"] == "late" else None)
    t = threading.Thread(target=inf.run, args=(stop,))
    t.start()
    try:
        client.create(cm("late"))
        assert seen.wait(5)
    finally:
        stop.set()
        t.join(5)
    assert not t.is_alive()
    assert inf.get("default/late") is not None
