"""Property: whatever the nodes and pods, the scheduler's bindings are sound and its
refusals are honest.

For random nodes (cpu/memory/pod-count capacities, labels and taints from small sets)
and random pods (requests, nodeSelector, tolerations), run the real scheduler through
the in-process API server until it is quiet, then check the final state against a
brute-force oracle written here, independently of the plugins:

- no node is over capacity: the requests of the pods bound to it fit its allocatable
  cpu, memory and pod count;
- every bound pod's nodeSelector matches its node and it tolerates the node's
  NoSchedule/NoExecute taints;
- every pod left pending fits on no node at all, given what is bound there now;
- and the plugins agree: re-running every filter on the final state passes for every
  binding.

Greedy is enough for the last point: pods are only ever added to nodes, so a pod that
fit nowhere when it was tried fits nowhere later.
"""
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minik8s.api.clock import FakeClock
from minik8s.api.quantity import parse_quantity, to_int, to_millis
from minik8s.apiserver.server import APIServer
from minik8s.client.inprocess import InProcessClient
from minik8s.scheduler.cache import SchedulerCache
from minik8s.scheduler.framework import SKIP, CycleState
from minik8s.scheduler.scheduler import Scheduler
from minik8s.store.memory import MemoryStore

LABELS = [("zone", "a"), ("zone", "b"), ("disk", "ssd")]
TAINTS = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
          {"key": "spot", "effect": "NoExecute"},
          {"key": "noisy", "effect": "PreferNoSchedule"},
          {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
TOLERATIONS = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
               {"key": "dedicated", "operator": "Exists"},
               {"key": "spot", "operator": "Exists", "effect": "NoExecute"},
               {"operator": "Exists"}]

nodes_st = st.lists(st.fixed_dictionaries({
    "cpu": st.sampled_from(["500m", "1", "2", "4"]),
    "memory": st.sampled_from(["512Mi", "1Gi", "4Gi"]),
    "pods": st.sampled_from(["1", "3", "110"]),
    "labels": st.lists(st.sampled_from(LABELS), max_size=2, unique_by=lambda kv: kv[0]),
    "taints": st.lists(st.sampled_from(range(len(TAINTS))), max_size=2, unique=True),
    "cordoned": st.sampled_from([False, False, False, True]),
}), min_size=1, max_size=5)

pods_st = st.lists(st.fixed_dictionaries({
    "cpu": st.sampled_from([None, "100m", "250m", "600m", "1", "3"]),
    "memory": st.sampled_from([None, "64Mi", "300Mi", "1Gi"]),
    "selector": st.sampled_from([None, ("zone", "a"), ("zone", "b"), ("disk", "ssd")]),
    "tolerations": st.lists(st.sampled_from(range(len(TOLERATIONS))), max_size=2, unique=True),
}), min_size=1, max_size=12)


def build(client, nodes, pods):
    for i, n in enumerate(nodes):
        alloc = {"cpu": n["cpu"], "memory": n["memory"], "pods": n["pods"]}
        client.create({"apiVersion": "v1", "kind": "Node",
                       "metadata": {"name": f"n{i}", "labels": dict(n["labels"])},
                       "spec": {"taints": [TAINTS[t] for t in n["taints"]],
                                "unschedulable": n["cordoned"]},
                       "status": {"capacity": dict(alloc), "allocatable": alloc,
                                  "conditions": [{"type": "Ready", "status": "True"}]}})
    for i, p in enumerate(pods):
        requests = {k: p[k] for k in ("cpu", "memory") if p[k]}
        spec = {"containers": [{"name": "c", "image": "nginx",
                                "resources": {"requests": requests} if requests else {}}],
                "tolerations": [TOLERATIONS[t] for t in p["tolerations"]]}
        if p["selector"]:
            spec["nodeSelector"] = dict([p["selector"]])
        client.create({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": f"p{i}", "namespace": "default"}, "spec": spec})


# --- the oracle: Kubernetes' rules, written out plainly --------------------------------------

def requests_of(pod) -> tuple:
    cpu = mem = 0
    for c in pod["spec"]["containers"]:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu += to_millis(parse_quantity(req.get("cpu", "0")))
        mem += to_int(parse_quantity(req.get("memory", "0")))
    return cpu, mem, 1


def allocatable_of(node) -> tuple:
    a = node["status"]["allocatable"]
    return (to_millis(parse_quantity(a["cpu"])), to_int(parse_quantity(a["memory"])),
            int(a["pods"]))


def tolerates(tolerations, taint) -> bool:
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t["key"] == taint["key"]:
                return True
        elif t.get("key") == taint["key"] and t.get("value", "") == taint.get("value", ""):
            return True
    return False


CORDON = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def placeable(pod, node) -> bool:
    """Ignoring resources: selector, taints, cordon (which a pod tolerating the
    node.kubernetes.io/unschedulable taint ignores, as DaemonSet pods do)."""
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod["spec"].get("nodeSelector") or {}).items()):
        return False
    tolerations = pod["spec"].get("tolerations") or []
    if node["spec"].get("unschedulable") and not tolerates(tolerations, CORDON):
        return False
    return all(tolerates(tolerations, t) for t in node["spec"].get("taints") or []
               if t["effect"] in ("NoSchedule", "NoExecute"))


def used_on(pods, node_name) -> tuple:
    used = [0, 0, 0]
    for p in pods:
        if p["spec"].get("nodeName") == node_name:
            used = [u + r for u, r in zip(used, requests_of(p))]
    return tuple(used)


def fits(pod, node, used) -> bool:
    req, alloc = requests_of(pod), allocatable_of(node)
    return all(u + r <= a for u, r, a in zip(used, req, alloc))


# --- the property ------------------------------------------------------------------------------

def schedule_until_quiet(client, clock) -> Scheduler:
    s = Scheduler(client, clock, random.Random(0))
    for _ in range(4):            # past every backoff (max 10 s); the flush is not needed
        s.step()
        clock.advance(11)
    return s


@settings(derandomize=True, max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(nodes=nodes_st, pods=pods_st)
def test_bindings_are_sound_and_pending_pods_fit_nowhere(nodes, pods):
    clock = FakeClock()
    client = InProcessClient(APIServer(MemoryStore(), clock, random.Random(1)))
    build(client, nodes, pods)
    s = schedule_until_quiet(client, clock)

    all_nodes = {n["metadata"]["name"]: n for n in client.list("nodes").items}
    all_pods = client.list("pods", "default").items
    bound = [p for p in all_pods if p["spec"].get("nodeName")]
    pending = [p for p in all_pods if not p["spec"].get("nodeName")]

    for name, node in all_nodes.items():
        used = used_on(all_pods, name)
        assert all(u <= a for u, a in zip(used, allocatable_of(node))), (name, used)
    for p in bound:
        assert placeable(p, all_nodes[p["spec"]["nodeName"]]), p["metadata"]["name"]
    for p in pending:
        for name, node in all_nodes.items():
            assert not (placeable(p, node) and fits(p, node, used_on(all_pods, name))), \
                (p["metadata"]["name"], "fits on", name)
        cond = [c for c in p["status"]["conditions"] if c["type"] == "PodScheduled"]
        assert cond and cond[0]["reason"] == "Unschedulable"

    # The plugins agree with the oracle on every binding, in the final state.
    cache = SchedulerCache()
    for node in all_nodes.values():
        cache.add_node(node)
    for p in bound:
        cache.add_pod(p)
    plugins = [pl for pl, _w in s.profile.plugins]
    for p in bound:
        cache.remove_pod(p)                   # the node as it was without this pod
        infos = cache.node_infos()
        info = cache.node_info(p["spec"]["nodeName"])
        state = CycleState()
        for pl in plugins:
            if hasattr(pl, "pre_filter"):
                pre = pl.pre_filter(state, p, infos)
                if pre.code == SKIP:
                    continue
                assert pre.ok, (p["metadata"]["name"], pl.name, pre)
            if hasattr(pl, "filter"):
                status = pl.filter(state, p, info)
                assert status.ok, (p["metadata"]["name"], pl.name, status)
        cache.add_pod(p)
