"""The invariant library (minik8s.testing) on hand-built states.

Every invariant must be able to fail: each test builds, from plain dicts, a state
(or a change, or a history) that breaks one promise of Kubernetes and checks it is
reported — and a state that keeps the promise, and checks it is not.
"""
import random

import pytest

from minik8s.api.clock import FAKE_EPOCH, FakeClock
from minik8s.api.meta import rfc3339
from minik8s.api.nodehandle import RunningPod
from minik8s.apiserver.server import APIServer
from minik8s.client.inprocess import InProcessClient
from minik8s.store.memory import MemoryStore
from minik8s.testing import (
    Change, ClusterState, Observer, ReplicaSetCeiling, RolloutGuard, WatchOrder, WriteRecord,
    check_at_most_one_controller_owner, check_bound_once_and_tolerated, check_converged,
    check_deployments_complete, check_endpoints_match, check_no_dangling_dependents,
    check_no_lost_update, check_no_overcommit, check_nodes_run_what_api_says, check_removal,
    check_replicasets_stable, check_rollout_bounds, check_running_pods_known, check_spec_kept,
    check_statefulset_ordinals_unique, check_watch_order, check_writes_stop, fenceposts)
from minik8s.testing.state import is_available, pod_requests, tolerates

NOW = FAKE_EPOCH + 1000


# --- builders -----------------------------------------------------------------------

def node(name="n1", cpu="1", memory="1Gi", pods="110", taints=(), ready=True):
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "1"},
            "spec": {"taints": list(taints)} if taints else {},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastHeartbeatTime": rfc3339(NOW)}]}}


def ref(kind, name, uid, controller=True, api="apps/v1"):
    return {"apiVersion": api, "kind": kind, "name": name, "uid": uid,
            "controller": controller}


def pod(name, node_name=None, cpu=None, owner=None, ready=True, phase="Running",
        labels=None, ready_since=NOW - 100, deleting=False, ip=None, tolerations=None):
    meta = {"name": name, "namespace": "default", "uid": f"uid-{name}",
            "labels": dict(labels or {"app": "web"}), "resourceVersion": "1"}
    if owner:
        meta["ownerReferences"] = [owner] if isinstance(owner, dict) else list(owner)
    if deleting:
        meta["deletionTimestamp"] = rfc3339(NOW)
    container = {"name": "c", "image": "nginx"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    spec = {"containers": [container]}
    if node_name:
        spec["nodeName"] = node_name
    if tolerations:
        spec["tolerations"] = tolerations
    status = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False",
         "lastTransitionTime": rfc3339(ready_since)}]}
    if ip:
        status["podIP"] = ip
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def deployment(replicas=4, surge="25%", unavailable="25%", uid="d1", generation=1, status=None):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": uid,
                         "generation": generation},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "maxSurge": surge, "maxUnavailable": unavailable}},
                     "template": TEMPLATE},
            "status": status or {"observedGeneration": generation}}


def replicaset(name="web-1", replicas=2, uid="rs1", owner_uid="d1", status=None, image="nginx",
               generation=1):
    template = {"metadata": {"labels": {"app": "web", "pod-template-hash": name[-1]}},
                "spec": {"containers": [{"name": "c", "image": image}]}}
    meta = {"name": name, "namespace": "default", "uid": uid, "generation": generation}
    if owner_uid:
        meta["ownerReferences"] = [ref("Deployment", "web", owner_uid)]
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": template},
            "status": status if status is not None else {"observedGeneration": generation}}


def state(*objs, **kw):
    kw.setdefault("time", NOW)
    return ClusterState.of(objs, **kw)


def names(violations):
    return [v.invariant for v in violations]


# --- pod facts ------------------------------------------------------------------------

def test_requests_sum_containers_and_take_the_largest_init_container():
    p = pod("p", cpu="200m")
    p["spec"]["containers"].append({"name": "d", "image": "x", "resources": {
        "requests": {"cpu": "300m", "memory": "64Mi"}}})
    p["spec"]["initContainers"] = [{"name": "i", "image": "x",
                                    "resources": {"requests": {"cpu": "1"}}}]
    assert pod_requests(p) == {"cpu": 1000, "memory": 64 * 2 ** 20, "pods": 1}


@pytest.mark.parametrize("toleration,taint,expected", [
    ({"operator": "Exists"}, {"key": "k", "effect": "NoSchedule"}, True),
    ({"key": "k", "operator": "Exists"}, {"key": "k", "value": "v", "effect": "NoExecute"}, True),
    ({"key": "k", "value": "v"}, {"key": "k", "value": "v", "effect": "NoSchedule"}, True),
    ({"key": "k", "value": "w"}, {"key": "k", "value": "v", "effect": "NoSchedule"}, False),
    ({"key": "k", "operator": "Exists", "effect": "NoExecute"},
     {"key": "k", "effect": "NoSchedule"}, False),
    ({"key": "other", "operator": "Exists"}, {"key": "k", "effect": "NoSchedule"}, False),
])
def test_tolerations_match_taints_as_documented(toleration, taint, expected):
    assert tolerates(toleration, taint) is expected


def test_available_means_ready_for_longer_than_min_ready_seconds():
    p = pod("p", ready_since=NOW - 10)
    assert is_available(p, 0, NOW) and is_available(p, 9, NOW)
    assert not is_available(p, 10, NOW)          # strict, as IsPodAvailable
    assert not is_available(pod("q", ready=False), 0, NOW)


# --- safety on one state -------------------------------------------------------------------

def test_two_controller_owners_are_reported():
    p = pod("p", owner=[ref("ReplicaSet", "a", "u1"), ref("ReplicaSet", "b", "u2")])
    (v,) = check_at_most_one_controller_owner(state(p))
    assert v.invariant == "at_most_one_controller_owner" and "pods/default/p" in v.objects


def test_one_controller_and_other_owners_are_fine():
    p = pod("p", owner=[ref("ReplicaSet", "a", "u1"), ref("ReplicaSet", "b", "u2", False)])
    assert check_at_most_one_controller_owner(state(p)) == []


def test_overcommitted_node_is_reported():
    s = state(node("n1", cpu="1"), pod("a", "n1", cpu="600m"), pod("b", "n1", cpu="600m"))
    (v,) = check_no_overcommit(s)
    assert "1200 millicores of cpu, allocatable is 1000" in v.message
    assert v.objects[0] == "nodes/n1"


def test_finished_and_unbound_pods_hold_no_resources():
    s = state(node("n1", cpu="1"), pod("a", "n1", cpu="600m"),
              pod("b", "n1", cpu="600m", phase="Succeeded"), pod("c", None, cpu="900m"))
    assert check_no_overcommit(s) == []


def test_terminating_pods_still_hold_their_resources():
    s = state(node("n1", cpu="1"), pod("a", "n1", cpu="600m"),
              pod("b", "n1", cpu="600m", deleting=True))
    assert names(check_no_overcommit(s)) == ["no_overcommit"]


def test_pod_count_is_a_resource_too():
    s = state(node("n1", pods="1"), pod("a", "n1"), pod("b", "n1"))
    assert "pods request 2 of pods, allocatable is 1" in check_no_overcommit(s)[0].message


def test_statefulset_ordinal_held_twice_is_reported():
    ss = {"apiVersion": "apps/v1", "kind": "StatefulSet",
          "metadata": {"name": "db", "namespace": "default", "uid": "ss1"}}
    p = pod("db-0", "n1", owner=ref("StatefulSet", "db", "ss1"))
    ghost = RunningPod("default", "db-0", "uid-of-an-older-db-0")
    assert names(check_statefulset_ordinals_unique(state(ss, p, running={"n2": (ghost,)}))) \
        == ["statefulset_ordinals_unique"]
    assert check_statefulset_ordinals_unique(state(ss, p, running={"n1": (
        RunningPod("default", "db-0", "uid-db-0"),)})) == []
    assert check_statefulset_ordinals_unique(state(p, running={"n2": (ghost,)})) == []


def test_a_node_running_a_pod_bound_elsewhere_is_reported():
    p = pod("p", "n2")
    running = {"n1": (RunningPod("default", "p", "uid-p"),)}
    assert names(check_running_pods_known(state(p, running=running))) == ["running_pods_known"]
    assert check_running_pods_known(state(p, running={"n2": running["n1"]})) == []


def test_a_spec_the_user_wrote_must_stay_as_written():
    d = deployment(replicas=3)
    expected = {("deployments", "default", "web"): {("spec", "replicas"): 3}}
    assert check_spec_kept(state(d), expected) == []
    (v,) = check_spec_kept(state(deployment(replicas=2)), expected)
    assert v.invariant == "spec_kept"
    assert "spec.replicas is 2, but the user last wrote 3" in v.message
    assert check_spec_kept(state(), expected) == []              # gone: not judged


# --- histories -------------------------------------------------------------------------------

TAINTED = node("n1", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}])


def binding(before, after, rv=5, relisted=False):
    return Change("MODIFIED", "pods", pod("p", before), pod("p", after), rv, relisted)


def test_a_pod_bound_twice_is_reported():
    (v,) = check_bound_once_and_tolerated(binding("n1", "n2"), lambda n: None)
    assert v.invariant == "bound_once" and "bound to n1, then to n2" in v.message


def test_binding_to_a_node_whose_taint_the_pod_does_not_tolerate_is_reported():
    (v,) = check_bound_once_and_tolerated(binding(None, "n1"), {"n1": TAINTED}.get)
    assert v.invariant == "tolerated_binding" and "unreachable:NoSchedule" in v.message


def test_tolerated_or_soft_taints_and_unknown_views_are_fine():
    ch = binding(None, "n1")
    ch.new["spec"]["tolerations"] = [{"key": "node.kubernetes.io/unreachable",
                                      "operator": "Exists"}]
    assert check_bound_once_and_tolerated(ch, {"n1": TAINTED}.get) == []
    soft = node("n1", taints=[{"key": "k", "effect": "PreferNoSchedule"}])
    assert check_bound_once_and_tolerated(binding(None, "n1"), {"n1": soft}.get) == []
    assert check_bound_once_and_tolerated(binding(None, "n1"), lambda n: None) == []
    assert check_bound_once_and_tolerated(binding("n1", "n2", relisted=True), lambda n: None) == []


def test_removing_an_object_with_finalizers_is_reported():
    obj = pod("p")
    obj["metadata"]["finalizers"] = ["example.com/keep"]
    (v,) = check_removal(Change("DELETED", "pods", obj, obj, 9))
    assert v.invariant == "finalizers_respected" and "without being marked" in v.message
    marked = pod("p", deleting=True)
    marked["metadata"]["finalizers"] = ["example.com/keep"]
    assert names(check_removal(Change("DELETED", "pods", marked, marked, 9), "delete")) \
        == ["finalizers_respected"]
    # The update that removes the last finalizer is what removes a marked object.
    assert check_removal(Change("DELETED", "pods", marked, marked, 9), "update") == []
    assert check_removal(Change("DELETED", "pods", pod("q"), pod("q"), 9), "delete") == []


def test_watch_events_out_of_order_are_reported():
    assert names(check_watch_order([("s", "ADDED", "5"), ("s", "MODIFIED", "4")])) \
        == ["watch_order"]
    assert names(check_watch_order([("s", "ADDED", "5"), ("s", "MODIFIED", "5")])) \
        == ["watch_order"]
    assert check_watch_order([("s", "ADDED", "5"), ("t", "ADDED", "3"), ("s", "BOOKMARK", "5"),
                              ("s", "ERROR", ""), ("s", "DELETED", "6")]) == []
    order = WatchOrder()
    order.feed("kubelet/x", "ADDED", 7)
    order.reset("kubelet/")
    assert order.feed("kubelet/x", "ADDED", 3) == []


def test_a_successful_write_based_on_a_stale_version_is_a_lost_update():
    versions = {("pods", "default/p"): [5, 6, 7]}
    stale = WriteRecord("pods", "default/p", "update", "5", "7", True)
    (v,) = check_no_lost_update([stale], versions)
    assert "the write at 6 was lost" in v.message
    fine = [WriteRecord("pods", "default/p", "update", "6", "7", True),
            WriteRecord("pods", "default/p", "update", "5", "", False),      # rejected
            WriteRecord("pods", "default/p", "update", "", "6", True)]       # no precondition
    assert check_no_lost_update(fine, versions) == []


def test_a_replicaset_creating_pods_it_was_never_asked_for_is_reported():
    ceiling = ReplicaSetCeiling()
    rs = replicaset("batch", replicas=2, uid="rs1", owner_uid=None)
    assert ceiling.observe(Change("ADDED", "replicasets", None, rs, 1), []) == []
    owned = pods_of("rs1", 3, "p")
    assert ceiling.observe(Change("ADDED", "pods", None, owned[1], 3), owned[:2]) == []
    (v,) = ceiling.observe(Change("ADDED", "pods", None, owned[2], 4), owned)
    assert "has 3 live pods but was never asked for more than 2" in v.message
    # Terminating pods do not count, and a scale-up raises the ceiling.
    owned[0] = pods_of("rs1", 1, "p", deleting=True)[0]
    assert ceiling.observe(Change("ADDED", "pods", None, owned[2], 4), owned) == []
    bigger = replicaset("batch", replicas=5, uid="rs1", owner_uid=None)
    ceiling.observe(Change("MODIFIED", "replicasets", rs, bigger, 5), [])
    assert ceiling.observe(Change("ADDED", "pods", None, owned[2], 6),
                           owned + pods_of("rs1", 2, "q")) == []


# --- rolling update ------------------------------------------------------------------------------

@pytest.mark.parametrize("replicas,surge,unavailable,expected", [
    (10, "25%", "25%", (3, 2)), (4, 0, 0, (0, 1)), (3, "50%", "50%", (2, 1)),
    (1, "25%", "25%", (1, 0)), (2, 1, 5, (1, 2)),
])
def test_fenceposts_round_surge_up_and_unavailable_down(replicas, surge, unavailable, expected):
    assert fenceposts(deployment(replicas, surge, unavailable)) == expected


def rollout_state(pods, *, replicas=4, faults=frozenset()):
    d = deployment(replicas, 1, 1)
    old, new = replicaset("web-a", uid="rsa"), replicaset("web-b", uid="rsb")
    return state(d, old, new, *pods, faults=faults), d


def pods_of(rs_uid, n, prefix, **kw):
    return [pod(f"{prefix}{i}", "n1", owner=ref("ReplicaSet", "x", rs_uid), **kw)
            for i in range(n)]


def test_too_many_pods_or_too_few_available_break_the_rollout_bounds():
    s, d = rollout_state(pods_of("rsa", 4, "a") + pods_of("rsb", 2, "b", ready=False))
    (v,) = check_rollout_bounds(s, d)
    assert "6 non-terminating pods > replicas 4 + maxSurge 1" in v.message
    s, d = rollout_state(pods_of("rsa", 2, "a") + pods_of("rsb", 2, "b", ready=False))
    (v,) = check_rollout_bounds(s, d)
    assert "2 available pods < replicas 4 - maxUnavailable 1" in v.message
    s, d = rollout_state(pods_of("rsa", 3, "a") + pods_of("rsb", 2, "b", ready=False)
                         + pods_of("rsa", 2, "t", deleting=True))
    assert check_rollout_bounds(s, d) == []


def test_the_guard_checks_only_from_a_fully_available_start_and_without_faults():
    guard = RolloutGuard(stable_for=0)
    bad = pods_of("rsa", 2, "a") + pods_of("rsb", 2, "b", ready=False)
    assert guard.observe(rollout_state(bad)[0]) == []            # never fully available
    full = pods_of("rsa", 4, "a")
    assert guard.observe(rollout_state(full)[0]) == [] and guard.armed
    assert names(guard.observe(rollout_state(bad)[0])) == ["rollout_bounds"]
    guard = RolloutGuard(stable_for=0)
    guard.observe(rollout_state(full)[0])
    assert guard.observe(rollout_state(bad, faults=frozenset({"pod_monkey"}))[0]) == []
    assert guard.observe(rollout_state(bad)[0]) == []            # disarmed until full again
    guard.observe(rollout_state(full)[0])
    assert guard.observe(rollout_state(bad, replicas=3)[0]) == []   # replicas changed
    guard.observe(rollout_state(full)[0])
    guard.disrupt("the test deleted a pod")
    assert guard.observe(rollout_state(bad)[0]) == []


def test_the_guard_arms_only_after_a_stable_fully_available_period():
    guard = RolloutGuard(stable_for=30)
    full, bad = pods_of("rsa", 4, "a"), pods_of("rsa", 2, "a") + pods_of("rsb", 2, "b", ready=False)

    def at(pods, t):
        s, _ = rollout_state(pods)
        return ClusterState(objects=s.objects, time=t)
    assert guard.observe(at(full, NOW)) == [] and not guard.armed
    assert guard.observe(at(bad, NOW + 10)) == []          # a dip: start again
    guard.observe(at(full, NOW + 20))
    guard.observe(at(full, NOW + 40))
    assert not guard.armed
    guard.observe(at(full, NOW + 50))
    assert guard.armed


def test_the_guard_waits_until_the_controllers_observed_the_spec():
    guard = RolloutGuard(stable_for=0)
    s, d = rollout_state(pods_of("rsa", 4, "a"))
    d["metadata"]["generation"] = 2                # a change the controller has not seen
    guard.observe(s)
    assert not guard.armed


def test_the_guard_arms_only_on_pods_that_really_run():
    """The API still shows a removed node's pods Ready: that is no fully available start."""
    guard = RolloutGuard(stable_for=0)
    full = pods_of("rsa", 4, "a")
    s, _ = rollout_state(full)
    runs = tuple(RunningPod("default", p["metadata"]["name"], p["metadata"]["uid"])
                 for p in full[:3])
    guard.observe(ClusterState(objects=s.objects, time=NOW, running={"n1": runs}))
    assert not guard.armed
    guard.observe(ClusterState(objects=s.objects, time=NOW, running={"n1": runs + (
        RunningPod("default", "a3", "uid-a3"),)}))
    assert guard.armed


# --- liveness ----------------------------------------------------------------------------

def rs_status(n, ready=None, available=None):
    return {"replicas": n, "readyReplicas": n if ready is None else ready,
            "availableReplicas": n if available is None else available, "observedGeneration": 1}


def test_a_replicaset_short_of_pods_or_with_a_wrong_status_is_not_stable():
    rs = replicaset(replicas=2, status=rs_status(2))
    good = pods_of("rs1", 2, "p")
    assert check_replicasets_stable(state(rs, *good)) == []
    failed = pod("x", phase="Failed", owner=ref("ReplicaSet", "w", "rs1"))
    assert "1 live pods, spec.replicas is 2" in \
        check_replicasets_stable(state(rs, good[0], failed))[0].message
    stale = replicaset(replicas=2, status=rs_status(2, ready=1))
    assert "readyReplicas 1 (should be 2)" in \
        check_replicasets_stable(state(stale, *good))[0].message
    orphan = pod("o")
    assert "did not adopt" in check_replicasets_stable(state(rs, *good, orphan))[0].message


def test_a_deployment_with_old_pods_left_is_not_complete():
    status = {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
              "availableReplicas": 2, "conditions": [
                  {"type": "Available", "status": "True"},
                  {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}
    d = deployment(2, status=status)
    new = replicaset("web-b", uid="rsb")
    assert check_deployments_complete(state(d, new, replicaset("web-a", 0, uid="rsa",
                                                               image="old"))) == []
    (v,) = check_deployments_complete(state(d, new, replicaset("web-a", 1, uid="rsa",
                                                               image="old")))
    assert "old ReplicaSet web-a still has 1 replicas" in v.message
    behind = deployment(2, generation=2, status=status)
    assert "observedGeneration < generation" in \
        check_deployments_complete(state(behind, new))[0].message


def test_a_dependent_whose_owner_is_gone_is_dangling():
    p = pod("p", owner=ref("ReplicaSet", "web-1", "rs-gone"))
    s = ClusterState(objects={"pods": (p,), "replicasets": ()})
    assert names(check_no_dangling_dependents(s)) == ["no_dangling_dependents"]
    assert check_no_dangling_dependents(state(p, replicaset(uid="rs-gone"))) == []
    assert check_no_dangling_dependents(ClusterState(objects={"pods": (p,)})) == []


def test_endpoints_must_list_the_ready_matching_pods():
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "web", "namespace": "default", "uid": "svc"},
           "spec": {"selector": {"app": "web"}}}
    a, b = pod("a", "n1", ip="10.0.0.1"), pod("b", "n1", ip="10.0.0.2", ready=False)

    def endpoints(ready, not_ready):
        return {"apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": "web", "namespace": "default"},
                "subsets": [{"addresses": [{"ip": "x", "targetRef": {"uid": u}} for u in ready],
                             "notReadyAddresses": [{"ip": "y", "targetRef": {"uid": u}}
                                                   for u in not_ready]}]}
    assert check_endpoints_match(state(svc, a, b, endpoints(["uid-a"], ["uid-b"]))) == []
    assert names(check_endpoints_match(state(svc, a, b, endpoints(["uid-a", "uid-b"], [])))) \
        == ["endpoints_match"]
    assert names(check_endpoints_match(state(svc, a, b))) == ["endpoints_match"]


def test_nodes_must_run_what_the_api_says():
    p = pod("p", "n1")
    runs_p = (RunningPod("default", "p", "uid-p"),)
    assert check_nodes_run_what_api_says(state(node("n1"), p, running={"n1": runs_p})) == []
    assert "does not run it" in check_nodes_run_what_api_says(
        state(node("n1"), p, running={"n1": ()}))[0].message
    assert "still runs" in check_nodes_run_what_api_says(
        state(node("n1"), running={"n1": runs_p}))[0].message
    # A node that is not Ready is not judged (its pods' fate is the controllers' call).
    assert check_nodes_run_what_api_says(state(node("n1", ready=False), p,
                                               running={"n1": ()})) == []


def test_check_converged_combines_every_liveness_check():
    p = pod("p", owner=ref("ReplicaSet", "web-1", "gone"))
    s = ClusterState(objects={"pods": (p,), "replicasets": ()}, time=NOW)
    assert names(check_converged(s)) == ["no_dangling_dependents"]
    assert check_converged(s, skip=("no_dangling_dependents",)) == []


def test_writes_after_convergence_are_reported_except_heartbeats():
    n1, p = node("n1"), pod("p", "n1")
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "n1", "namespace": "kube-node-lease", "resourceVersion": "3"}}
    event = {"apiVersion": "v1", "kind": "Event", "count": 1,
             "metadata": {"name": "e1", "namespace": "default", "resourceVersion": "4"}}
    before = state(n1, p, lease, event)

    def bumped(obj, **changes):
        out = dict(obj, **changes)
        out["metadata"] = dict(obj["metadata"], resourceVersion="99")
        return out
    beat = bumped(n1)
    beat["status"] = dict(n1["status"], conditions=[dict(n1["status"]["conditions"][0],
                                                         lastHeartbeatTime=rfc3339(NOW + 10))])
    quiet = state(beat, p, bumped(lease), bumped(event, count=2))
    assert check_writes_stop(before, quiet) == []
    relabeled = bumped(p)
    relabeled["metadata"]["labels"] = {"app": "other"}
    new_event = dict(event, metadata=dict(event["metadata"], name="e2"))
    busy = state(beat, relabeled, lease, event, new_event)
    assert [v.message for v in check_writes_stop(before, busy)] == [
        "events/default/e2 was created after the cluster had converged",
        "pods/default/p was changed after the cluster had converged"]
    same = bumped(p)                # a write that changed nothing still is a write
    assert names(check_writes_stop(before, state(n1, same, lease, event))) == ["writes_stop"]


# --- the Observer, over a real API server ---------------------------------------------------------

@pytest.fixture
def api():
    store = MemoryStore()
    yield APIServer(store, FakeClock(), random.Random(3))
    store.close()


def test_the_observer_yields_every_write_in_resource_version_order(api):
    client = InProcessClient(api)
    client.create(node("n1"))
    observer = Observer(InProcessClient(api))
    initial = list(observer.changes())           # the initial list: ADDED, relisted
    assert [(c.type, c.resource) for c in initial if c.resource != "namespaces"] == \
        [("ADDED", "nodes")]
    assert all(c.relisted for c in initial)
    client.create(pod("p"))
    client.bind("default", "p", "n1")
    client.patch("nodes", "n1", {"metadata": {"labels": {"x": "y"}}})
    client.delete("pods", "p", "default", grace_period_seconds=0)
    changes = list(observer.changes())
    assert [(c.type, c.resource) for c in changes] == [
        ("ADDED", "pods"), ("MODIFIED", "pods"), ("MODIFIED", "nodes"), ("DELETED", "pods")]
    assert [c.rv for c in changes] == sorted(c.rv for c in changes)
    bound = changes[1]
    assert bound.old["spec"].get("nodeName") is None and bound.new["spec"]["nodeName"] == "n1"
    assert "default/p" not in observer.mirror["pods"]
    assert observer.versions[("pods", "default/p")] == \
        [c.rv for c in changes if c.resource == "pods"]
    assert observer.problems == []


def test_the_observer_follows_a_restarted_api_server_from_where_it_was(api):
    client = InProcessClient(api)
    observer = Observer(InProcessClient(api), resources=("pods",))
    client.create(pod("a"))
    assert [c.new["metadata"]["name"] for c in observer.changes()] == ["a"]
    restarted = APIServer(api.store, api.clock, random.Random(4))
    client = InProcessClient(restarted)
    client.create(pod("b"))
    observer.connect(InProcessClient(restarted))
    assert [(c.type, c.new["metadata"]["name"]) for c in observer.changes()] == [("ADDED", "b")]
