"""Each fault injector of the simulator (minik8s.sim.faults), on its own: it does what
its failure does in a real cluster, it shows in `faults.active()` while on, and the
cluster recovers once it is off."""

import pytest

from builders import deployment
from minik8s.api.nodehandle import ALIVE, DEAD, HUNG
from minik8s.api.errors import NotFound
from minik8s.sim import SimCluster

FAST_NODES = {"node_monitor_grace_period": 20.0, "node_monitor_period": 2.0,
              "dead_node_grace": 30.0}


pytestmark = pytest.mark.usefixtures("quiet_logs")   # tests/conftest.py


@pytest.fixture
def sim():
    s = SimCluster(seed=11, nodes=3, controller_options=FAST_NODES,
                   default_toleration_seconds=5)
    yield s
    s.close()


def deploy(sim, replicas=3, name="web"):
    sim.client.create(deployment(name=name, replicas=replicas))


def available(sim, name="web"):
    for d in sim.state(["deployments"]).deployments:
        if d["metadata"]["name"] == name:
            return (d.get("status") or {}).get("availableReplicas") or 0
    return 0


def converge(sim, replicas=3, max_steps=1500, name="web"):
    sim.run_until(lambda: available(sim, name) == replicas
                  and len(live_pods(sim, name)) == replicas, max_steps=max_steps)


def live_pods(sim, app="web"):
    return [p for p in sim.state(["pods"]).pods if not p["metadata"].get("deletionTimestamp")
            and p["metadata"].get("labels", {}).get("app") == app]


def replicasets(sim):
    return sim.state(["replicasets"]).replicasets


# --- crashes ---------------------------------------------------------------------------------

def test_a_controller_crashes_between_two_writes_and_restarts_with_no_memory(sim):
    old = sim.components["controller-manager"].obj
    sim.faults.crash_controller.on(after_writes=2)
    start = len(sim.trace)
    deploy(sim)
    sim.run_until(lambda: sim.components["controller-manager"].state == "crashed",
                  max_steps=200)
    events = sim.trace.events[start:]
    crash = next(i for i, e in enumerate(events) if e.kind == "crash")
    writes = [e for e in events[:crash] if e.kind == "write" and e.component == "controller-manager"]
    assert len(writes) == 2                      # the 2nd write happened, the 3rd never did
    assert events[crash].component == "controller-manager"
    assert "crash_controller" in sim.faults.active()
    converge(sim)
    comp = sim.components["controller-manager"]
    assert comp.incarnation == 2 and comp.obj is not old
    assert [e.component for e in sim.trace.select(kind="restart")] == ["controller-manager"]


def test_repeated_crashes_stop_when_the_fault_is_off(sim):
    sim.faults.crash_controller.on(after_writes=1, repeat=True)
    deploy(sim)
    sim.run(150)
    crashes = len(sim.trace.select(kind="crash"))
    assert crashes >= 3
    sim.faults.crash_controller.off()
    assert sim.faults.active() == set()
    converge(sim)


def test_a_crashed_scheduler_is_rebuilt_and_schedules_again(sim):
    sim.faults.crash_scheduler(after_writes=1)          # calling a fault is on()
    deploy(sim)
    converge(sim)
    assert [e.component for e in sim.trace.select(kind="crash")] == ["scheduler"]
    assert sim.components["scheduler"].incarnation == 2
    binds = [e for e in sim.trace.writes("scheduler") if e.resource == "pods/binding"]
    assert len(binds) >= 3


def test_the_api_server_restarts_over_its_durable_store():
    with SimCluster(seed=12, nodes=2, durable=True) as sim:
        deploy(sim, replicas=2)
        converge(sim, 2)
        before = sim.api
        relists = sum(inf.relists for inf in sim.components["controller-manager"].obj.informers)
        sim.faults.restart_apiserver.on()
        assert sim.api is not before and sim.store.revision > 1
        assert len(live_pods(sim)) == 2          # nothing was lost
        sim.client.scale("deployments", "web", "default", 4)
        converge(sim, 4)
        cm = sim.components["controller-manager"].obj
        assert sum(inf.relists for inf in cm.informers) == relists   # resumed, no relist
        assert [e.component for e in sim.trace.select(kind="restart")] == ["apiserver"]


def test_restarting_an_in_memory_api_server_is_refused(sim):
    with pytest.raises(ValueError, match="durable"):
        sim.faults.restart_apiserver.on()


# --- what components see ---------------------------------------------------------------------

def test_stale_reads_serve_the_past_and_hold_the_watches(sim):
    sim.faults.stale_reads.on("controller-manager")
    cm_client = sim.components["controller-manager"].client
    assert cm_client.list("deployments").items == []       # the snapshot is taken now
    deploy(sim)
    with pytest.raises(NotFound):
        cm_client.get("deployments", "web", "default")
    sim.run(100)
    assert replicasets(sim) == []                # the controller never saw it
    sim.faults.stale_reads.off()
    assert cm_client.get("deployments", "web", "default")["metadata"]["name"] == "web"
    converge(sim)


def test_delayed_watch_events_reach_one_component_late(sim):
    sim.faults.delay_watch.on("controller-manager", k=2)
    deploy(sim)
    sim.run(100)
    assert replicasets(sim) == []                # its one event waits for two more
    seen = [e for e in sim.trace.select(kind="event", resource="deployments")
            if e.name == "web"]
    assert seen == []
    deploy(sim, name="b")
    deploy(sim, name="c")
    sim.run_until(lambda: any(r["metadata"]["name"].startswith("web-")
                              for r in replicasets(sim)), max_steps=200)
    sim.faults.delay_watch.off()
    converge(sim)


@pytest.mark.parametrize("gone", [False, True])
def test_broken_watches_resume_or_relist(sim, gone):
    deploy(sim)
    converge(sim)
    cm = sim.components["controller-manager"].obj
    relists = sum(inf.relists for inf in cm.informers)
    sim.faults.break_watches.on("controller-manager", gone=gone)
    sim.client.scale("deployments", "web", "default", 4)
    converge(sim, 4)
    after = sum(inf.relists for inf in cm.informers)
    assert (after > relists) is gone


def test_request_failures_fail_requests_until_off(sim):
    sim.faults.request_failures.on("scheduler", p=1.0)
    deploy(sim)
    sim.run(100)
    assert all(not p["spec"].get("nodeName") for p in live_pods(sim))
    failed = [e for e in sim.trace.writes("scheduler") if e.failed]
    assert failed and {e.result for e in failed} == {"ServiceUnavailable"}
    sim.faults.request_failures.off()
    converge(sim)


def test_injected_conflicts_hit_writes_only():
    with SimCluster(seed=13, nodes=2, trace_reads=True) as sim:
        sim.faults.request_failures.on("controller-manager", p=1.0, error="Conflict")
        deploy(sim, 2)
        sim.run(80)
        mine = sim.trace.select(component="controller-manager")
        assert {e.result for e in mine if e.kind == "write"} == {"Conflict"}
        assert {e.result for e in mine if e.kind == "read"} <= {"ok"}
        sim.faults.off()
        converge(sim, 2)


# --- nodes, containers, pods -------------------------------------------------------------------

def test_a_dead_node_is_tainted_its_pods_replaced_and_it_can_return(sim):
    deploy(sim)
    converge(sim)
    victim = live_pods(sim)[0]["spec"]["nodeName"]
    sim.faults.kill_node.on(victim)
    assert sim.handles[victim].ping(0) == DEAD
    sim.run_until(lambda: all(p["spec"].get("nodeName") != victim for p in live_pods(sim))
                  and available(sim) == 3, max_steps=3000)
    node = next(n for n in sim.state(["nodes"]).nodes if n["metadata"]["name"] == victim)
    assert any(t["key"] == "node.kubernetes.io/unreachable" for t in node["spec"]["taints"])
    sim.faults.revive_node(victim)
    assert sim.handles[victim].ping(0) == ALIVE and "kill_node" not in sim.faults.active()
    sim.run_until(sim.nodes_ready, max_steps=500)


def test_a_paused_node_keeps_running_its_containers(sim):
    deploy(sim)
    converge(sim)
    node = live_pods(sim)[0]["spec"]["nodeName"]
    sim.faults.pause_node.on(node)
    sim.run_until(lambda: sim.clock.monotonic() > 60, max_steps=2000)
    assert sim.handles[node].ping(0) == HUNG
    assert sim.state().running[node]             # the containers did not stop
    renewals = [e for e in sim.trace.writes(f"kubelet/{node}") if e.resource == "leases"]
    assert all(e.time < 20 for e in renewals)
    sim.faults.pause_node.off()
    sim.run_until(sim.nodes_ready, max_steps=500)


def test_container_crashes_make_kubelets_restart_containers(sim):
    deploy(sim)
    converge(sim)
    sim.faults.container_crashes.on(p=0.5)
    sim.run(150)
    fired = [e for e in sim.trace.select(kind="fault") if e.verb == "container_crashes fire"]
    assert fired
    restarts = sum(cs.get("restartCount", 0) for p in live_pods(sim)
                   for cs in p["status"].get("containerStatuses") or [])
    assert restarts >= 1
    sim.faults.off()
    converge(sim)


def test_the_pod_monkey_deletes_pods_and_the_replicaset_replaces_them(sim):
    deploy(sim)
    converge(sim)
    first = {p["metadata"]["uid"] for p in live_pods(sim)}
    sim.faults.pod_monkey.on(p=0.3)
    sim.run(200)
    deletes = [e for e in sim.trace.writes("pod-monkey") if e.verb == "delete"]
    assert deletes and all(e.resource == "pods" for e in deletes)
    sim.faults.pod_monkey.off()
    converge(sim)
    assert {p["metadata"]["uid"] for p in live_pods(sim)} != first


# --- two controller-managers ----------------------------------------------------------------

def reconcile_writes(sim, component):
    return [e for e in sim.trace.writes(component)
            if e.resource.partition("/")[0] not in ("leases", "events")]


def test_two_controller_managers_without_a_lease_both_act():
    with SimCluster(seed=14, nodes=2) as sim:
        sim.faults.second_controller_manager.on()
        deploy(sim, 2)
        sim.run(200)
        assert reconcile_writes(sim, "controller-manager")
        assert reconcile_writes(sim, "controller-manager-2")
        sim.faults.second_controller_manager.off()
        assert sim.components["controller-manager-2"].state == "dead"


def test_with_leader_election_only_the_lease_holder_acts():
    with SimCluster(seed=14, nodes=2, leader_elect=True) as sim:
        sim.faults.second_controller_manager.on(leader_elect=True)
        deploy(sim, 2)
        converge(sim, 2)
        sim.run(100)
        assert reconcile_writes(sim, "controller-manager")
        assert reconcile_writes(sim, "controller-manager-2") == []
        lease = next(x for x in sim.state(["leases"]).leases
                     if x["metadata"]["name"] == "kube-controller-manager")
        assert lease["spec"]["holderIdentity"] == "controller-manager-1"


# --- the switches themselves --------------------------------------------------------------------

def test_faults_are_listed_while_on_traced_and_scripted(sim):
    sim.faults.delay_watch.on("scheduler", k=1)
    sim.faults.request_failures.on("controller-manager", p=0.1)
    sim.faults.pod_monkey.on(0.1)
    assert sim.faults.active() == {"delay_watch", "request_failures", "pod_monkey"}
    assert sim.state().faults == {"delay_watch", "request_failures", "pod_monkey"}
    sim.faults.delay_watch.off("scheduler")
    sim.faults.off()
    assert sim.faults.active() == set()
    switches = [e.verb for e in sim.trace.select(kind="fault")]
    assert switches == ["delay_watch on", "request_failures on", "pod_monkey on",
                        "delay_watch off", "request_failures off", "pod_monkey off"]
    ops = [op for op in sim.script.ops if op[0] == "fault"]
    assert ops[0] == ["fault", "delay_watch", "on", {"component": "scheduler", "k": 1}]
    assert len(ops) == 6


def test_unknown_targets_are_refused(sim):
    with pytest.raises(ValueError, match="no component 'nope'"):
        sim.faults.stale_reads.on("nope")
    with pytest.raises(ValueError, match="error must be one of"):
        sim.faults.request_failures.on("scheduler", p=0.5, error="Teapot")
