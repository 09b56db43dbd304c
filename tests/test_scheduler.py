"""The scheduler component through the in-process API server, under a FakeClock.

Every test builds a small cluster of Node objects (no kubelets), creates pods, and
steps the scheduler by hand: what it bound, the events and conditions it wrote, and
the API calls one step emits (sample-controller style, with a RecordingClient). No
sleeps: time moves only when a test advances the FakeClock.
"""
import json
import random

import pytest

from minik8s.api.errors import Conflict, ServerTimeout
from minik8s.client.inprocess import InProcessClient
from minik8s.client.wrappers import FaultClient, RecordingClient
from minik8s.scheduler.scheduler import (FILTER_RESULT, FINALSCORE_RESULT, SCORE_RESULT,
                                         SELECTED_NODE, Scheduler)

CONTROL_PLANE = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


# --- building a cluster -----------------------------------------------------------------

def make_node(name, cpu="4", memory="8Gi", pods="110", labels=None, taints=None,
              unschedulable=False, ready=True):
    alloc = {"cpu": cpu, "memory": memory, "pods": pods}
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  **(labels or {})}},
            "spec": {},
            "status": {"capacity": dict(alloc), "allocatable": alloc,
                       "conditions": [{"type": "Ready",
                                       "status": "True" if ready else "Unknown"}]}}
    if taints:
        node["spec"]["taints"] = taints
    if unschedulable:
        node["spec"]["unschedulable"] = True
    return node


def make_pod(name, cpu="100m", memory="64Mi", namespace="default", **spec):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {
                "requests": {"cpu": cpu, "memory": memory}}}], **spec}}


@pytest.fixture
def make(client, clock):
    """make(inner_client=None, **kw) -> a Scheduler over the shared API server."""
    def build(over=None, **kw):
        return Scheduler(over or client, clock, random.Random(7), **kw)
    return build


def node_of(client, name, namespace="default"):
    return client.get("pods", name, namespace)["spec"].get("nodeName")


def events_of(client, name, reason=None):
    return [e for e in client.list("events", "default").items
            if e["involvedObject"]["name"] == name and (reason is None or e["reason"] == reason)]


def condition(client, name, ctype="PodScheduled"):
    for c in client.get("pods", name, "default").get("status", {}).get("conditions") or []:
        if c["type"] == ctype:
            return c
    return None


def binds(rec):
    return [(a.name, a.body["target"]["name"]) for a in rec.actions_of("create", "pods", "binding")]


# --- placing pods -----------------------------------------------------------------------

def test_a_pod_lands_on_the_only_node_that_fits_and_gets_a_scheduled_event(client, make):
    for name, cpu in (("small-1", "1"), ("big", "4"), ("small-2", "1")):
        client.create(make_node(name, cpu=cpu))
    client.create(make_pod("web", cpu="2"))
    s = make()
    s.step()
    assert node_of(client, "web") == "big"
    [ev] = events_of(client, "web", "Scheduled")
    assert ev["type"] == "Normal"
    assert ev["message"] == "Successfully assigned default/web to big"
    assert ev["source"]["component"] == "default-scheduler"
    assert condition(client, "web")["status"] == "True"     # set by the binding


def test_one_step_binds_and_records_an_event_and_nothing_else(client, make):
    client.create(make_node("n1"))
    client.create(make_pod("web"))
    rec = RecordingClient(client)
    s = make(rec)
    s.step()
    writes = [(a.verb, a.resource, a.subresource, a.name) for a in rec.writes()]
    assert writes[0] == ("create", "pods", "binding", "web")
    assert writes[1][:2] == ("create", "events") and len(writes) == 2
    assert rec.actions_of("create", "pods", "binding")[0].body["metadata"]["uid"] == \
        client.get("pods", "web", "default")["metadata"]["uid"]
    rec.clear()
    s.step()                                  # sees its own binding: nothing more to do
    assert rec.writes() == []


def test_a_pod_is_bound_exactly_once(client, clock, make):
    client.create(make_node("n1"))
    client.create(make_pod("web"))
    rec = RecordingClient(client)
    s = make(rec)
    for _ in range(5):
        s.step()
        clock.advance(301)                    # backoff, flush, resync: nothing re-binds it
    assert binds(rec) == [("web", "n1")]
    assert not s.cache.is_assumed(client.get("pods", "web", "default"))


def test_pods_of_another_scheduler_are_left_alone(client, make):
    client.create(make_node("n1"))
    client.create(make_pod("mine", schedulerName="my-scheduler"))
    rec = RecordingClient(client)
    make(rec).step()
    assert rec.writes() == [] and node_of(client, "mine") is None
    other = make(scheduler_name="my-scheduler")
    other.step()
    assert node_of(client, "mine") == "n1"
    assert events_of(client, "mine", "Scheduled")[0]["source"]["component"] == "my-scheduler"


@pytest.mark.parametrize("bad", [
    make_node("bad", unschedulable=True),
    make_node("bad", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]),
    make_node("bad", ready=False,
              taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]),
], ids=["cordoned", "unreachable", "not-ready"])
def test_cordoned_and_unhealthy_nodes_are_not_chosen(client, make, bad):
    client.create(bad)
    client.create(make_node("good", cpu="1"))   # less room: scoring alone would pick "bad"
    for i in range(4):
        client.create(make_pod(f"p{i}", cpu="100m"))
    make().step()
    assert {node_of(client, f"p{i}") for i in range(4)} == {"good"}


# --- pods that fit nowhere ----------------------------------------------------------------

MESSAGE = ("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint "
           "{node-role.kubernetes.io/control-plane: }.")


def unschedulable_cluster(client):
    client.create(make_node("worker", cpu="1"))
    for name in ("cp-1", "cp-2"):
        client.create(make_node(name, taints=[CONTROL_PLANE]))
    client.create(make_pod("big", cpu="2"))


def test_an_unschedulable_pod_gets_the_condition_and_a_failed_scheduling_event(client, make):
    unschedulable_cluster(client)
    rec = RecordingClient(client)
    make(rec).step()
    cond = condition(client, "big")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", MESSAGE)
    assert cond["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    [ev] = events_of(client, "big", "FailedScheduling")
    assert (ev["type"], ev["message"], ev["count"]) == ("Warning", MESSAGE, 1)
    [patch] = rec.actions_of("patch", "pods")
    assert patch.subresource == "status" and patch.options == {"patch_type": "strategic"}
    assert binds(rec) == []


def test_an_unchanged_verdict_writes_no_status_again(client, clock, make):
    unschedulable_cluster(client)
    rec = RecordingClient(client)
    s = make(rec)
    s.step()
    rec.clear()
    for _ in range(3):
        s.step()                                  # its own status patch comes back: no loop
    assert rec.writes() == []
    clock.advance(300)                            # the periodic flush retries it ...
    s.step()
    assert s.attempts == 2
    assert rec.actions_of("patch", "pods") == []  # ... same verdict: no status write
    assert events_of(client, "big", "FailedScheduling")[0]["count"] == 2


def no_room_then(client, make):
    """One full node, one pending pod; returns the stepped scheduler."""
    client.create(make_node("n1", cpu="1"))
    client.create(make_pod("filler", cpu="800m"))
    s = make()
    s.step()
    client.create(make_pod("late", cpu="500m"))
    s.step()
    assert node_of(client, "late") is None and condition(client, "late")["status"] == "False"
    return s


def test_it_is_retried_when_a_node_is_added(client, clock, make):
    s = no_room_then(client, make)
    client.create(make_node("n2", cpu="1"))
    s.step()
    clock.advance(1)                              # the move waits out the pod's backoff
    s.step()
    assert node_of(client, "late") == "n2"


def test_it_is_retried_when_a_node_is_uncordoned(client, clock, make):
    client.create(make_node("n2", cpu="2", unschedulable=True))
    s = no_room_then(client, make)
    node = client.get("nodes", "n2")
    node["spec"]["unschedulable"] = False
    client.update(node)
    s.step()
    clock.advance(1)
    s.step()
    assert node_of(client, "late") == "n2"


def test_it_is_retried_when_an_assigned_pod_is_deleted(client, clock, make):
    s = no_room_then(client, make)
    client.delete("pods", "filler", "default", grace_period_seconds=0)
    s.step()
    clock.advance(1)
    s.step()
    assert node_of(client, "late") == "n1"


def test_a_heartbeat_alone_does_not_retry_it(client, clock, make):
    s = no_room_then(client, make)
    node = client.get("nodes", "n1")
    node["status"]["conditions"][0]["lastHeartbeatTime"] = "2026-01-01T00:00:10Z"
    client.update_status(node)
    clock.advance(1)
    s.step()
    assert s.attempts == 2                        # filler, late, and no retry of late


def test_the_periodic_flush_retries_it_even_when_the_change_was_missed(client, clock, make,
                                                                         monkeypatch):
    s = no_room_then(client, make)
    monkeypatch.setattr(s.queue, "move_all", lambda event: None)   # as if the event were lost
    client.create(make_node("n2", cpu="1"))
    s.step()
    clock.advance(299)
    s.step()
    assert node_of(client, "late") is None
    clock.advance(1)
    s.step()
    assert node_of(client, "late") == "n2"


def test_attempts_are_spaced_by_a_growing_backoff(client, clock, make):
    s = no_room_then(client, make)                # attempt 1 of "late" at t=0
    client.create(make_node("n2", cpu="100m"))     # a change, but still no room: attempt 2
    s.step()
    clock.advance(1)
    s.step()
    assert s.attempts == 3
    client.create(make_node("n3", cpu="1"))        # room now, but attempt 3 waits 2 s
    s.step()
    clock.advance(1.5)
    s.step()
    assert node_of(client, "late") is None
    clock.advance(0.5)
    s.step()
    assert node_of(client, "late") == "n3"


def test_no_nodes_at_all(client, make):
    client.create(make_pod("web"))
    make().step()
    cond = condition(client, "web")
    assert (cond["reason"], cond["message"]) == ("Unschedulable",
                                                 "no nodes available to schedule pods")


# --- assume, bind failures ----------------------------------------------------------------

def test_the_next_decision_sees_the_assumed_pod_before_the_informer_does(client, make):
    # Both pods prefer node "a" (more room, better balance); together they overflow it.
    client.create(make_node("a", cpu="1000m"))
    client.create(make_node("b", cpu="700m"))
    client.create(make_pod("p1", cpu="600m", memory="1Mi"))
    client.create(make_pod("p2", cpu="600m", memory="1Mi"))
    rec = RecordingClient(client)
    make(rec).step()                              # one step: no informer event in between
    assert sorted(target for _, target in binds(rec)) == ["a", "b"]


def test_a_failed_bind_forgets_the_assumption_and_retries_later(client, clock, make):
    client.create(make_node("n1", cpu="1"))
    client.create(make_pod("web", cpu="800m"))
    faulty = FaultClient(client)
    faulty.fail_next(1, ServerTimeout, verbs="create", resource="pods")
    s = make(faulty)
    s.step()
    pod = client.get("pods", "web", "default")
    assert pod["spec"].get("nodeName") is None and faulty.injected == 1
    assert not s.cache.is_assumed(pod)
    assert s.cache.node_info("n1").requested.milli_cpu == 0   # the 800m are free again
    cond = condition(client, "web")
    assert (cond["status"], cond["reason"]) == ("False", "SchedulerError")
    assert cond["message"].startswith('running Bind plugin "DefaultBinder": injected fault')
    assert events_of(client, "web", "FailedScheduling")[0]["message"] == cond["message"]
    s.step()
    assert node_of(client, "web") is None         # backing off
    clock.advance(1)
    s.step()
    assert node_of(client, "web") == "n1"


def test_a_pod_bound_by_someone_else_meanwhile_is_dropped(client, make):
    client.create(make_node("n1"))
    client.create(make_node("n2"))
    client.create(make_pod("web"))
    faulty = FaultClient(client)
    rec = RecordingClient(faulty)
    s = make(rec)
    s.nodes.step()
    s.pods.step()                                 # queued, not yet scheduled
    faulty.hold_watches()                         # ... and it will not hear of this:
    client.bind("default", "web", "n2")           # another scheduler was quicker
    s.step()
    assert len(binds(rec)) == 1                   # tried, got Conflict, dropped it
    assert node_of(client, "web") == "n2" and events_of(client, "web", "Scheduled") == []
    assert not s.cache.is_assumed(client.get("pods", "web", "default"))
    faulty.release_watches()
    s.step()
    assert len(binds(rec)) == 1                   # never again
    assert [ni.requested.pods for ni in s.cache.node_infos()] == [0, 1]


# --- leader election ----------------------------------------------------------------------

def test_only_the_leader_binds_and_a_standby_takes_over_after_the_lease(client, clock, make):
    client.create(make_node("n1"))
    client.create(make_pod("p1"))
    rec1, rec2 = RecordingClient(client), RecordingClient(client)
    s1 = make(rec1, leader_elect=True, identity="s1")
    s2 = make(rec2, leader_elect=True, identity="s2")
    s1.step()
    s2.step()
    assert binds(rec1) == [("p1", "n1")] and binds(rec2) == []
    assert client.get("leases", "kube-scheduler", "kube-system")["spec"]["holderIdentity"] == "s1"
    # s1 stops (crashed: no release); a new pod waits for s2 to take the lease over.
    client.create(make_pod("p2"))
    s2.step()
    clock.advance(10)
    s2.step()
    assert binds(rec2) == [] and node_of(client, "p2") is None
    clock.advance(6)                              # 16 s > leaseDurationSeconds (15)
    s2.step()
    assert binds(rec2) == [("p2", "n1")]
    assert client.get("leases", "kube-scheduler", "kube-system")["spec"]["holderIdentity"] == "s2"


# --- explanations ---------------------------------------------------------------------------

def test_explanations_are_written_as_scheduler_simulator_annotations(client, make):
    client.create(make_node("small", cpu="1"))
    client.create(make_node("big", cpu="4"))
    client.create(make_node("medium", cpu="3"))
    client.create(make_node("cp", taints=[CONTROL_PLANE]))
    client.create(make_pod("web", cpu="2"))
    make(explain=True).step()
    ann = client.get("pods", "web", "default")["metadata"]["annotations"]
    assert ann[SELECTED_NODE] == "big"          # most room left (LeastAllocated)
    filters = json.loads(ann[FILTER_RESULT])
    assert set(filters) == {"small", "big", "medium", "cp"}
    assert set(filters["big"].values()) == set(filters["medium"].values()) == {"passed"}
    assert filters["small"]["NodeResourcesFit"] == "Insufficient cpu"
    assert filters["cp"]["TaintToleration"] == \
        "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
    final, raw = json.loads(ann[FINALSCORE_RESULT]), json.loads(ann[SCORE_RESULT])
    assert set(final) == {"big", "medium"}
    total = {n: sum(int(v) for v in final[n].values()) for n in final}
    assert total["big"] > total["medium"]
    assert final["big"]["TaintToleration"] == "300"       # no PreferNoSchedule taint: 100 x 3
    assert final["big"]["NodeResourcesFit"] == raw["big"]["NodeResourcesFit"]   # weight 1
    assert all(0 <= int(v) <= 100 for v in raw["big"].values())


def test_a_pod_can_ask_for_an_explanation(client, make):
    client.create(make_node("n1"))
    pod = make_pod("web")
    pod["metadata"]["annotations"] = {"scheduler.minik8s.io/explain": "true"}
    client.create(pod)
    client.create(make_pod("quiet"))
    make().step()
    assert client.get("pods", "web", "default")["metadata"]["annotations"][SELECTED_NODE] == "n1"
    assert SELECTED_NODE not in (client.get("pods", "quiet", "default")["metadata"]
                                 .get("annotations") or {})


def test_an_explained_unschedulable_pod_settles_without_a_write_loop(client, clock, make):
    unschedulable_cluster(client)
    rec = RecordingClient(client)
    s = make(rec, explain=True)
    s.step()
    ann = client.get("pods", "big", "default")["metadata"]["annotations"]
    assert json.loads(ann[FILTER_RESULT])["worker"]["NodeResourcesFit"] == "Insufficient cpu"
    assert SELECTED_NODE not in ann
    # The annotations are a change to the pod (Kubernetes' isPodUpdated), so it is
    # tried once more after its backoff; the verdict is the same: no pod write then.
    clock.advance(1)
    s.step()
    assert s.attempts == 2
    rec.clear()
    for _ in range(3):
        clock.advance(11)
        s.step()
    assert rec.writes() == [] and s.attempts == 2


# --- the control-plane host runs it -------------------------------------------------------

def test_the_control_plane_host_schedules_pods(tmp_path):
    from minik8s.api.clock import RealClock
    from minik8s.cluster.controlplane import ControlPlaneHost
    host = ControlPlaneHost(str(tmp_path), port=0, store="memory")
    host.start()
    try:
        assert "scheduler" in [c.name for c in host.components]
        api = InProcessClient(host.api)
        api.create(make_node("hand-made"))
        created = api.create(make_pod("web"))
        stream = api.watch("pods", "default",
                           resource_version=created["metadata"]["resourceVersion"])
        clock = RealClock()
        deadline, bound = clock.monotonic() + 10, None
        while bound is None and clock.monotonic() < deadline:   # wait for the event, not a sleep
            for ev in stream.wait(0.5):
                bound = ev.object["spec"].get("nodeName") or bound
        stream.close()
        assert bound == "hand-made"
    finally:
        host.stop()


def test_a_transient_conflict_on_binding_is_retried(client, make, clock):
    # A 409 while the pod is still ours and unbound (found by the property tests:
    # the pod used to be dropped and stayed Pending forever).
    client.create(make_node("n1"))
    client.create(make_pod("web"))
    faulty = FaultClient(client)
    rec = RecordingClient(faulty)
    s = make(rec)
    faulty.fail_next(1, Conflict("transient"), verbs="create", resource="pods")
    s.step()
    assert len(binds(rec)) == 1 and node_of(client, "web") is None
    clock.advance(1)
    s.step()
    assert len(binds(rec)) == 2 and node_of(client, "web") == "n1"
