"""RecordingClient records what a component asked for; FaultClient misbehaves on cue."""
import pytest

from minik8s.api.errors import Conflict, InternalError, NotFound, ServerTimeout
from minik8s.client.interface import ERROR, Client
from minik8s.client.wrappers import Action, FaultClient, RecordingClient


def cm(name, ns="default", v="1", labels=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "data": {"v": v}}


def names(result):
    return sorted(o["metadata"]["name"] for o in result.items)


# --- RecordingClient --------------------------------------------------------------------

def test_recording_client_is_a_client_and_records_every_verb(client):
    rec = RecordingClient(client)
    assert isinstance(rec, Client)
    created = rec.create(cm("a"))
    rec.get("cm", "a", "default")
    rec.list("configmaps", label_selector="x=y")
    rec.watch("ConfigMap", "default", resource_version="5").close()
    created["data"]["v"] = "2"
    rec.update(created)
    rec.patch("configmaps", "a", {"data": {"v": "3"}}, "default")
    rec.delete("configmaps", "a", "default", grace_period_seconds=0)
    assert [(a.verb, a.resource, a.namespace, a.name) for a in rec.actions] == [
        ("create", "configmaps", "default", "a"),
        ("get", "configmaps", "default", "a"),
        ("list", "configmaps", "", ""),
        ("watch", "configmaps", "default", ""),
        ("update", "configmaps", "default", "a"),
        ("patch", "configmaps", "default", "a"),
        ("delete", "configmaps", "default", "a"),
    ]
    assert rec.actions[0].body == cm("a")
    assert rec.actions[2].options == {"label_selector": "x=y"}
    assert rec.actions[3].options == {"resource_version": "5"}
    assert rec.actions[5].body == {"data": {"v": "3"}}
    assert rec.actions[5].options == {"patch_type": "merge"}
    assert rec.actions[6].options == {"grace_period_seconds": 0}


def test_recorded_bodies_are_copies(client):
    rec = RecordingClient(client)
    obj = cm("a")
    rec.create(obj)
    obj["data"]["v"] = "changed later"
    assert rec.actions[0].body["data"]["v"] == "1"


def test_subresources_are_recorded_with_their_names(client):
    rec = RecordingClient(client)
    ns = client.get("namespaces", "default")
    rec.update_status(ns)
    with pytest.raises(NotFound):
        rec.bind("default", "no-such-pod", "node-1")
    with pytest.raises(NotFound):
        rec.evict("default", "no-such-pod", grace_period_seconds=3)
    status, bind, evict = rec.actions
    assert status == Action("update", "namespaces", "", "default", "status", ns)
    assert (bind.verb, bind.resource, bind.namespace, bind.name, bind.subresource) == \
        ("create", "pods", "default", "no-such-pod", "binding")
    assert bind.body["target"] == {"apiVersion": "v1", "kind": "Node", "name": "node-1"}
    assert (evict.verb, evict.subresource, evict.options) == \
        ("create", "eviction", {"grace_period_seconds": 3})
    assert rec.actions_of(subresource="binding") == [bind]


def test_failed_calls_are_recorded_and_filters_work(client):
    rec = RecordingClient(client)
    with pytest.raises(NotFound):
        rec.get("configmaps", "missing", "default")
    rec.create(cm("a"))
    rec.create(cm("b"))
    assert [a.name for a in rec.actions_of("create")] == ["a", "b"]
    assert [a.verb for a in rec.actions_of(resource="cm")] == ["get", "create", "create"]
    assert rec.actions_of("delete") == []
    assert [a.verb for a in rec.writes()] == ["create", "create"]
    rec.clear()
    assert rec.actions == []


# --- FaultClient: failing requests -----------------------------------------------------------

def test_fail_next_fails_exactly_n_matching_calls(client):
    fault = FaultClient(client)
    obj = fault.create(cm("a"))
    fault.fail_next(2, Conflict, verbs="update", resource="cm")
    fault.get("configmaps", "a", "default")             # reads do not match
    for _ in range(2):
        with pytest.raises(Conflict):
            fault.update(obj)
    assert fault.update(obj)["metadata"]["name"] == "a"
    assert fault.injected == 2


def test_fail_next_raises_a_given_instance_and_stacks_rules(client):
    fault = FaultClient(client)
    fault.fail_next(1, ServerTimeout("slow down", retry_after=1))
    fault.fail_next(1, InternalError, verbs=["get", "list"])
    with pytest.raises(ServerTimeout, match="slow down"):
        fault.create(cm("a"))
    with pytest.raises(InternalError):
        fault.list("configmaps")
    assert names(fault.list("configmaps", "default")) == []
    assert client.list("configmaps", "default").items == []    # the failed create did nothing


def test_fail_randomly_is_reproducible_with_a_seed(client):
    import random

    def run(seed):
        fault = FaultClient(client, random.Random(seed))
        fault.fail_randomly(0.5, InternalError, verbs="get")
        out = []
        for _ in range(30):
            try:
                fault.get("namespaces", "default")
                out.append(True)
            except InternalError:
                out.append(False)
        fault.clear_faults()
        fault.get("namespaces", "default")
        return out

    first = run(7)
    assert first == run(7)
    assert 0 < first.count(False) < 30


# --- FaultClient: watches ---------------------------------------------------------------------

def test_hold_watches_keeps_events_back_until_release(client):
    fault = FaultClient(client)
    w = fault.watch("configmaps", "default", resource_version=client.list("configmaps").resource_version)
    fault.hold_watches()
    client.create(cm("a"))
    client.create(cm("b"))
    assert w.poll() == []
    assert not w.closed
    fault.release_watches()
    assert [e.object["metadata"]["name"] for e in w.poll()] == ["a", "b"]


def test_delay_watch_events_lags_k_events_behind(client):
    fault = FaultClient(client)
    w = fault.watch("configmaps", "default", resource_version=client.list("configmaps").resource_version)
    fault.delay_watch_events(1)
    for n in "abc":
        client.create(cm(n))
    assert [e.object["metadata"]["name"] for e in w.poll()] == ["a", "b"]
    client.create(cm("d"))
    assert [e.object["metadata"]["name"] for e in w.poll()] == ["c"]
    fault.release_watches()
    assert [e.object["metadata"]["name"] for e in w.poll()] == ["d"]


def test_break_watches_closes_streams(client):
    fault = FaultClient(client)
    w = fault.watch("configmaps", "default", resource_version=client.list("configmaps").resource_version)
    client.create(cm("a"))
    fault.break_watches()
    assert w.poll() == [] and w.closed


def test_break_watches_gone_delivers_410_then_closes(client):
    fault = FaultClient(client)
    w = fault.watch("configmaps", "default", resource_version=client.list("configmaps").resource_version)
    fault.break_watches(gone=True)
    assert not w.closed
    [ev] = w.poll()
    assert ev.type == ERROR and ev.object["code"] == 410 and ev.object["reason"] == "Expired"
    assert w.closed and w.poll() == []
    w2 = fault.watch("configmaps", "default")           # new streams are unaffected
    client.create(cm("x"))
    assert [e.type for e in w2.poll()] == ["ADDED"]


# --- FaultClient: stale reads -----------------------------------------------------------------

def test_frozen_reads_serve_an_old_snapshot_while_writes_go_through(client):
    fault = FaultClient(client)
    old = client.create(cm("a", labels={"app": "web"}))
    fault.freeze_reads()
    fault.get("configmaps", "a", "default")             # the snapshot is taken here
    client.patch("configmaps", "a", {"data": {"v": "2"}}, "default")
    client.create(cm("b"))
    assert fault.get("configmaps", "a", "default")["data"]["v"] == "1"
    assert names(fault.list("configmaps", "default")) == ["a"]
    assert names(fault.list("configmaps", label_selector="app=web")) == ["a"]
    assert names(fault.list("configmaps", label_selector="app=db")) == []
    assert names(fault.list("configmaps", field_selector="metadata.name=b")) == []
    with pytest.raises(NotFound):
        fault.get("configmaps", "b", "default")
    stale = fault.get("configmaps", "a", "default")
    assert stale == old
    stale["data"]["v"] = "3"
    with pytest.raises(Conflict):                       # a write from a stale read loses
        fault.update(stale)
    assert fault.get("configmaps", "a", "default")["data"]["v"] == "1"   # copies
    fault.unfreeze_reads()
    assert fault.get("configmaps", "a", "default")["data"]["v"] == "2"
    assert names(fault.list("configmaps", "default")) == ["a", "b"]


def test_wrappers_stack(client):
    fault = FaultClient(client)
    rec = RecordingClient(fault)
    fault.fail_next(1, InternalError, verbs="create")
    with pytest.raises(InternalError):
        rec.create(cm("a"))
    rec.create(cm("a"))
    assert [a.verb for a in rec.actions] == ["create", "create"]
    assert names(client.list("configmaps", "default")) == ["a"]


def test_scale_is_recorded_as_a_patch_of_the_scale_subresource(client):
    client.create({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "namespace": "default"},
                   "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": {"containers": [{"name": "c",
                                                                  "image": "nginx"}]}}}})
    rec = RecordingClient(client)
    rec.scale("deploy", "web", "default", 3)
    assert rec.get_scale("deployments.apps", "web", "default")["spec"]["replicas"] == 3
    assert rec.actions == [
        Action("patch", "deployments", "default", "web", "scale", {"spec": {"replicas": 3}}),
        Action("get", "deployments", "default", "web", "scale")]


def test_namespace_finalize_is_recorded_and_can_fail(client):
    rec = RecordingClient(FaultClient(client))
    ns = rec.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fin"}})
    rec.delete("namespaces", "fin")
    ns = rec.get("namespaces", "fin")
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    rec.inner.fail_next(1, Conflict("busy"), verbs="update", resource="namespaces")
    with pytest.raises(Conflict):
        rec.finalize(dict(ns, spec={"finalizers": []}))
    rec.finalize(dict(ns, spec={"finalizers": []}))
    with pytest.raises(NotFound):                  # finalized: the namespace is gone
        rec.get("namespaces", "fin")
    fin = [a for a in rec.actions if a.subresource == "finalize"]
    assert [(a.verb, a.resource, a.name) for a in fin] == [("update", "namespaces", "fin")] * 2
