"""Node lifecycle: a silent node gets Ready=Unknown and taints; its pods leave in time.

Nodes here are Node objects and Leases written by the test (a kubelet's two writes),
and fake NodeHandles whose ping answers what the test says; the controller is stepped
under the fake clock. The pure decisions (the LAB 08 regions) are tested as tables;
the last test runs the whole story on the in-process cluster with real kubelets.
"""
from __future__ import annotations

import inspect

import pytest

from minik8s.api.errors import NotFound
from minik8s.api.meta import micro_time, rfc3339
from minik8s.api.nodehandle import ALIVE, DEAD, HUNG
from minik8s.client.wrappers import RecordingClient
from minik8s.cluster.local import LocalCluster
from minik8s.controllers.garbagecollector import GarbageCollector
from minik8s.controllers.nodelifecycle import (NOT_READY, UNREACHABLE, UNSCHEDULABLE,
                                               Heartbeat, NodeLifecycleController,
                                               lost_conditions, node_health, node_taints)
from minik8s.controllers.podgc import PodGCController
from minik8s.controllers.taintmanager import eviction_time
from minik8s.node.nodestatus import node_conditions

from builders import pod

GRACE = 40.0


class FakeHandle:
    def __init__(self, name, state=ALIVE):
        self.name, self.state = name, state

    def ping(self, timeout):
        return self.state


def add_node(client, clock, name):
    client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    node = client.get("nodes", name)
    node["status"] = {"conditions": node_conditions([], clock.now(), clock.now())}
    client.update_status(node)
    client.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                   "metadata": {"name": name, "namespace": "kube-node-lease"},
                   "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                            "renewTime": micro_time(clock.now())}})


def renew(client, clock, name):
    client.patch("leases", name, {"spec": {"renewTime": micro_time(clock.now())}},
                 "kube-node-lease")


def run_for(nlc, client, clock, seconds, alive=("node-a",)):
    """Let `seconds` pass in 5 s ticks; the kubelets of `alive` keep renewing."""
    while seconds > 0:
        tick = min(5, seconds)
        clock.advance(tick)
        seconds -= tick
        for name in alive:
            renew(client, clock, name)
        nlc.step()


def kubelet_posts_ready(client, clock, name):
    node = client.get("nodes", name)
    node["status"]["conditions"] = node_conditions(node["status"]["conditions"], clock.now(),
                                                   clock.now())
    client.update_status(node)


def bound_pod(client, name, node, tolerations=None):
    p = pod(name)
    p["metadata"]["namespace"] = "default"
    if tolerations is not None:
        p["spec"]["tolerations"] = tolerations
    client.create(p)
    client.bind("default", name, node)
    running = client.get("pods", name, "default")     # what its kubelet would report
    running["status"]["phase"] = "Running"
    running["status"]["conditions"].append({"type": "Ready", "status": "True",
                                            "lastProbeTime": None,
                                            "lastTransitionTime": running["metadata"][
                                                "creationTimestamp"]})
    return client.update_status(running)


def cond(node, ctype="Ready"):
    return next(c for c in node["status"]["conditions"] if c["type"] == ctype)


def taints(node):
    return {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}


@pytest.fixture
def handles():
    return {"node-a": FakeHandle("node-a"), "node-b": FakeHandle("node-b")}


@pytest.fixture
def nodes(client, clock, handles):
    for name in sorted(handles):
        add_node(client, clock, name)
    return client


def controller(client, clock, handles, **kw):
    return NodeLifecycleController(client, clock, node_lookup=handles.get,
                                   node_monitor_grace_period=GRACE, **kw)


# --- the decisions, as tables ---------------------------------------------------------

def test_node_health_counts_the_grace_from_when_the_heartbeat_last_changed():
    beat, lost = node_health(None, "t1", "", ALIVE, now=100.0, grace=GRACE)
    assert beat == Heartbeat("t1", "", 100.0) and not lost
    beat, lost = node_health(beat, "t1", "", HUNG, now=139.0, grace=GRACE)
    assert beat.heard_at == 100.0 and not lost
    assert node_health(beat, "t1", "", HUNG, now=140.0, grace=GRACE)[1]
    beat, lost = node_health(beat, "t2", "", ALIVE, now=150.0, grace=GRACE)   # renewed
    assert beat.heard_at == 150.0 and not lost
    assert node_health(beat, "t2", "", DEAD, now=151.0, grace=GRACE)[1]       # gone for good


def test_lost_conditions_are_unknown_and_keep_the_last_heartbeat():
    old = node_conditions([], 0.0, 0.0)
    new = {c["type"]: c for c in lost_conditions(old, "2026-01-01T00:01:00Z")}
    assert set(new) == {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}
    assert all(c["status"] == "Unknown" and c["reason"] == "NodeStatusUnknown"
               and c["message"] == "Kubelet stopped posting node status."
               and c["lastTransitionTime"] == "2026-01-01T00:01:00Z"
               and c["lastHeartbeatTime"] == rfc3339(0.0) for c in new.values())
    assert lost_conditions(list(new.values()), "later") == list(new.values())   # no churn
    never = {c["type"]: c for c in lost_conditions([], "2026-01-01T00:01:00Z")}
    assert never["Ready"]["reason"] == "NodeStatusNeverUpdated"
    assert never["Ready"]["message"] == "Kubelet never posted node status."


@pytest.mark.parametrize("ready, unschedulable, evict, expected", [
    ("True", False, True, set()),
    ("True", True, True, {(UNSCHEDULABLE, "NoSchedule")}),
    ("Unknown", False, True, {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}),
    ("False", False, True, {(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")}),
    ("Unknown", False, False, {(UNREACHABLE, "NoSchedule")}),      # full disruption
])
def test_taints_follow_the_conditions(ready, unschedulable, evict, expected):
    node = {"spec": {"unschedulable": unschedulable,
                     "taints": [{"key": "team", "value": "a", "effect": "NoSchedule"},
                                {"key": NOT_READY, "effect": "NoExecute", "timeAdded": "old"}]},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}
    out = node_taints(node, "now", evict)
    assert {(t["key"], t["effect"]) for t in out} == expected | {("team", "NoSchedule")}
    assert out[0] == {"key": "team", "value": "a", "effect": "NoSchedule"}   # not ours: kept
    if (NOT_READY, "NoExecute") in expected:
        assert {"key": NOT_READY, "effect": "NoExecute", "timeAdded": "old"} in out


@pytest.mark.parametrize("tolerations, expected", [
    ([], 0.0),                                                           # not tolerated: now
    ([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}], None),   # forever
    ([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
       "tolerationSeconds": 30}], 1030.0),
    ([{"operator": "Exists", "tolerationSeconds": 5}], 1005.0),          # wildcard
    ([{"key": UNREACHABLE, "operator": "Exists", "tolerationSeconds": 0}], 1000.0),
    ([{"key": NOT_READY, "operator": "Exists", "tolerationSeconds": 5}], 0.0),  # other key
])
def test_eviction_time_follows_the_first_matching_toleration(tolerations, expected):
    taint = {"key": UNREACHABLE, "effect": "NoExecute"}
    assert eviction_time([taint], tolerations, bound_at=900.0,
                         taint_added=lambda t: 1000.0) == expected


def test_a_pod_bound_after_the_taint_gets_its_full_toleration():
    tol = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 30}]
    assert eviction_time([{"key": UNREACHABLE, "effect": "NoExecute"}], tol, bound_at=1100.0,
                         taint_added=lambda t: 1000.0) == 1130.0


# --- the controller ---------------------------------------------------------------------

def test_a_silent_node_gets_ready_unknown_and_the_unreachable_taints(nodes, clock, handles):
    handles["node-b"].state = HUNG                    # a partition: only the Lease tells
    rec = RecordingClient(nodes)
    nlc = controller(rec, clock, handles)
    nlc.step()
    clock.advance(GRACE - 10)
    renew(nodes, clock, "node-a")
    nlc.step()
    clock.advance(10)
    rec.clear()
    nlc.step()
    assert [(a.verb, a.resource, a.name, a.subresource) for a in rec.writes()] == [
        ("update", "nodes", "node-b", "status"), ("patch", "nodes", "node-b", "")]
    b = nodes.get("nodes", "node-b")
    ready = cond(b)
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    assert cond(b, "MemoryPressure")["status"] == "Unknown"
    assert taints(b) == {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    assert all(t["timeAdded"] == rfc3339(clock.now()) for t in b["spec"]["taints"])
    a = nodes.get("nodes", "node-a")
    assert cond(a)["status"] == "True" and not a["spec"].get("taints")
    rec.clear()
    nlc.step()
    clock.advance(5)
    nlc.step()
    assert rec.writes() == []                         # converged: no more writes


def test_pods_leave_when_their_toleration_runs_out(nodes, clock, handles):
    nlc = controller(nodes, clock, handles, dead_node_grace=1000)
    short = bound_pod(nodes, "short", "node-b", [
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}])
    bound_pod(nodes, "forever", "node-b", [
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}])
    bound_pod(nodes, "default", "node-b")             # the API server's 300 s tolerations
    nlc.step()
    assert cond(nodes.get("pods", "short", "default"))["status"] == "True"
    handles["node-b"].state = DEAD                    # lost at the next look, no grace
    run_for(nlc, nodes, clock, 5)                     # --node-monitor-period
    assert cond(nodes.get("nodes", "node-b"))["status"] == "Unknown"
    # MarkPodsNotReady: Services stop sending them traffic.
    assert cond(nodes.get("pods", "short", "default"), "Ready")["status"] == "False"
    assert not nodes.get("pods", "short", "default")["metadata"].get("deletionTimestamp")
    run_for(nlc, nodes, clock, 10)
    evicted = nodes.get("pods", "short", "default")
    assert evicted["metadata"]["deletionTimestamp"]   # Terminating: no kubelet confirms it
    assert evicted["metadata"]["uid"] == short["metadata"]["uid"]
    disruption = cond(evicted, "DisruptionTarget")
    assert (disruption["status"], disruption["reason"], disruption["message"]) == (
        "True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")
    assert not nodes.get("pods", "forever", "default")["metadata"].get("deletionTimestamp")
    assert not nodes.get("pods", "default", "default")["metadata"].get("deletionTimestamp")
    run_for(nlc, nodes, clock, 285)
    assert not nodes.get("pods", "default", "default")["metadata"].get("deletionTimestamp")
    run_for(nlc, nodes, clock, 5)
    assert nodes.get("pods", "default", "default")["metadata"]["deletionTimestamp"]


def test_a_user_noexecute_taint_evicts_untolerating_pods_at_once(nodes, clock, handles):
    nlc = controller(nodes, clock, handles)
    bound_pod(nodes, "p", "node-a")
    bound_pod(nodes, "tolerant", "node-a", [{"key": "maintenance", "operator": "Exists"}])
    nlc.step()
    nodes.patch("nodes", "node-a", {"spec": {"taints": [
        {"key": "maintenance", "effect": "NoExecute"}]}})
    nlc.step()
    assert nodes.get("pods", "p", "default")["metadata"]["deletionTimestamp"]
    assert not nodes.get("pods", "tolerant", "default")["metadata"].get("deletionTimestamp")
    assert taints(nodes.get("nodes", "node-a")) == {("maintenance", "NoExecute")}   # kept


def test_a_node_that_comes_back_loses_its_taints(nodes, clock, handles):
    handles["node-b"].state = HUNG
    nlc = controller(nodes, clock, handles)
    nlc.step()
    clock.advance(GRACE)
    renew(nodes, clock, "node-a")
    nlc.step()
    assert taints(nodes.get("nodes", "node-b"))
    handles["node-b"].state = ALIVE                   # the partition heals
    renew(nodes, clock, "node-b")
    nlc.step()
    assert taints(nodes.get("nodes", "node-b"))       # Lease is back, Ready not yet
    kubelet_posts_ready(nodes, clock, "node-b")
    nlc.step()
    b = nodes.get("nodes", "node-b")
    assert cond(b)["status"] == "True" and not b["spec"].get("taints")


def test_when_every_node_is_down_nothing_is_evicted(nodes, clock, handles):
    nlc = controller(nodes, clock, handles)
    bound_pod(nodes, "p", "node-a", [{"key": UNREACHABLE, "operator": "Exists",
                                      "effect": "NoExecute", "tolerationSeconds": 1}])
    nlc.step()
    clock.advance(GRACE + 10)
    nlc.step()
    for name in ("node-a", "node-b"):
        assert taints(nodes.get("nodes", name)) == {(UNREACHABLE, "NoSchedule")}
    assert not nodes.get("pods", "p", "default")["metadata"].get("deletionTimestamp")


def test_a_dead_node_is_deleted_after_the_grace(nodes, clock, handles):
    nlc = controller(nodes, clock, handles, dead_node_grace=30)
    nlc.step()
    handles["node-b"].state = DEAD
    clock.advance(5)                                  # seen DEAD at the next look
    nlc.step()
    assert cond(nodes.get("nodes", "node-b"))["status"] == "Unknown"
    clock.advance(29)
    nlc.step()
    assert nodes.get("nodes", "node-b")
    clock.advance(1)
    nlc.step()
    with pytest.raises(NotFound):
        nodes.get("nodes", "node-b")
    assert nodes.get("nodes", "node-a")


def test_cordon_adds_the_unschedulable_taint_and_uncordon_removes_it(nodes, clock, handles):
    nlc = controller(nodes, clock, handles)
    nlc.step()
    nodes.patch("nodes", "node-a", {"spec": {"unschedulable": True}})
    nlc.step()
    assert taints(nodes.get("nodes", "node-a")) == {(UNSCHEDULABLE, "NoSchedule")}
    nodes.patch("nodes", "node-a", {"spec": {"unschedulable": None}})
    nlc.step()
    assert not nodes.get("nodes", "node-a")["spec"].get("taints")


# --- the whole story on the in-process cluster (real kubelets, simulated runtime) -------

def in_process_cluster(**kw):
    """A LocalCluster without its own controller-manager (if it has one): these tests
    step exactly the controllers they are about."""
    if "controllers" in inspect.signature(LocalCluster).parameters:
        kw["controllers"] = False
    return LocalCluster(nodes=3, seed=3, default_toleration_seconds=5, **kw)


def run(cluster, controllers, predicate, max_steps=400):
    for _ in range(max_steps):
        dues = [cluster.step()] + [c.step() for c in controllers]
        if predicate():
            return
        dues = [d for d in dues if d is not None]
        cluster.clock.sleep(min(min(dues, default=1.0), 1.0) or 0.0)
    raise AssertionError(f"not reached; {cluster.describe()}")


def hello_pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "minik8s/hello:v1"}]}}


def pods_of(cluster):
    return {p["metadata"]["name"]: p for p in cluster.client.list("pods", "default").items}


def test_a_killed_node_is_tainted_emptied_and_deleted():
    with in_process_cluster() as c:
        for i in range(6):
            c.client.create(hello_pod(f"web-{i}"))
        ctrls = [NodeLifecycleController(c.client, c.clock, node_lookup=c.node_lookup,
                                         node_monitor_grace_period=20, dead_node_grace=30),
                 PodGCController(c.client, c.clock, quarantine_time=5, gc_check_period=5),
                 GarbageCollector(c.client, c.clock)]
        run(c, ctrls, lambda: all(p.get("status", {}).get("phase") == "Running"
                                  for p in pods_of(c).values()))
        victim = pods_of(c)["web-0"]["spec"]["nodeName"]
        on_victim = {n for n, p in pods_of(c).items() if p["spec"]["nodeName"] == victim}
        c.handles[victim].kill()
        # Ready=Unknown and the unreachable taints at the next look...
        run(c, ctrls, lambda: taints(c.client.get("nodes", victim)) ==
            {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}, max_steps=20)
        # ...its pods evicted after their 5 s tolerations: Terminating, nothing confirms it...
        run(c, ctrls, lambda: all(pods_of(c)[n]["metadata"].get("deletionTimestamp")
                                  for n in on_victim), max_steps=40)
        # ...then the Node is deleted like a vanished VM, its Lease collected, and pod GC
        # force-deletes the pods bound to it.
        run(c, ctrls, lambda: not on_victim & set(pods_of(c)), max_steps=200)
        assert victim not in {n["metadata"]["name"] for n in c.client.list("nodes").items}
        assert victim not in {lease["metadata"]["name"] for lease in
                              c.client.list("leases", "kube-node-lease").items}
        survivors = pods_of(c)
        assert set(survivors) == {f"web-{i}" for i in range(6)} - on_victim
        assert all(not p["metadata"].get("deletionTimestamp") for p in survivors.values())


def test_a_partitioned_node_keeps_its_pods_terminating_until_it_comes_back():
    with in_process_cluster() as c:
        c.client.create(hello_pod("web"))
        ctrls = [NodeLifecycleController(c.client, c.clock, node_lookup=c.node_lookup,
                                         node_monitor_grace_period=20, dead_node_grace=30),
                 PodGCController(c.client, c.clock, quarantine_time=5, gc_check_period=5)]
        run(c, ctrls, lambda: pods_of(c)["web"].get("status", {}).get("phase") == "Running")
        node = pods_of(c)["web"]["spec"]["nodeName"]
        c.handles[node].pause()
        run(c, ctrls, lambda: pods_of(c)["web"]["metadata"].get("deletionTimestamp"),
            max_steps=100)
        for _ in range(60):                    # a minute on: still there, still Terminating
            c.step()
            for ctrl in ctrls:
                ctrl.step()
            c.clock.sleep(1.0)
        assert "web" in pods_of(c) and c.client.get("nodes", node)
        c.handles[node].resume()               # the partition heals: the kubelet finishes it
        run(c, ctrls, lambda: "web" not in pods_of(c) and
            not c.client.get("nodes", node)["spec"].get("taints"), max_steps=100)
        assert cond(c.client.get("nodes", node))["status"] == "True"
