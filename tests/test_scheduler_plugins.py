"""The resource plugins (NodeResourcesFit, NodeResourcesBalancedAllocation), the
pod-request arithmetic behind them, and the plugin registry — against Kubernetes' rules.

Every expected score is computed by hand from kube-scheduler's formulas (integer
arithmetic as Go does it) and every reason string is Kubernetes' own. The builders
below are shared with test_scheduler_plugins_node.py.
"""
import pytest

from minik8s.scheduler.framework import OK, SKIP, UNRESOLVABLE, UNSCHEDULABLE, CycleState, Resources
from minik8s.scheduler.plugins import DEFAULT_PROFILE, PLUGINS
from minik8s.scheduler.plugins.noderesources import (BalancedAllocation, NodeResourcesFit,
                                                     broken_linear, insufficient_resources,
                                                     new_node_info, pod_requests, remove_pod)

MI = 1024 * 1024


# ---------------------------------------------------------------- builders
def node(name="n1", cpu="4", memory="10000", pods="110", labels=None, taints=None,
         unschedulable=False, extra=None, images=None, allocatable=True):
    resources = {"cpu": cpu, "memory": memory, "pods": pods, **(extra or {})}
    status = {"allocatable" if allocatable else "capacity": resources}
    if images:
        status["images"] = images
    spec = {"taints": taints} if taints else {}
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec, "status": status}


def container(requests=None, ports=None, restart=None, image="busybox"):
    c = {"name": "c", "image": image, "resources": {"requests": requests} if requests else {}}
    if ports:
        c["ports"] = ports
    if restart:
        c["restartPolicy"] = restart
    return c


def pod(requests=None, containers=None, init=None, overhead=None, tolerations=None,
        node_selector=None, affinity=None, node_name=None, uid="u1"):
    spec = {"containers": containers if containers is not None else [container(requests)]}
    for key, value in (("initContainers", init), ("overhead", overhead),
                       ("tolerations", tolerations), ("nodeSelector", node_selector),
                       ("affinity", affinity), ("nodeName", node_name)):
        if value is not None:
            spec[key] = value
    return {"metadata": {"name": "p", "namespace": "default", "uid": uid}, "spec": spec}


def run_filter(plugin, p, info):
    """PreFilter then Filter, as the framework runs them (Skip = filter not run)."""
    state = CycleState()
    if hasattr(plugin, "pre_filter"):
        status = plugin.pre_filter(state, p, [info])
        if status.code == SKIP:
            return OK
        if not status.ok:
            return status
    return plugin.filter(state, p, info)


def run_score(plugin, p, infos):
    """PreScore, Score on every node, NormalizeScore: {node name: score}."""
    state = CycleState()
    if hasattr(plugin, "pre_score") and plugin.pre_score(state, p, infos).code == SKIP:
        return None
    scores = {i.name: plugin.score(state, p, i) for i in infos}
    if hasattr(plugin, "normalize_score"):
        plugin.normalize_score(state, p, scores)
    return scores


# ---------------------------------------------------------------- pod_requests
@pytest.mark.parametrize("p, cpu, memory", [
    (pod({"cpu": "100m", "memory": "1Ki"}), 100, 1024),
    (pod(containers=[container({"cpu": "100m"}), container({"cpu": "200m", "memory": "1"})]), 300, 1),
    # Kubernetes' own example: init containers run one at a time -> max, not sum.
    (pod(containers=[container({"cpu": "2", "memory": "1G"}), container({"cpu": "1", "memory": "1G"})],
         init=[container({"cpu": "2", "memory": "1G"}), container({"cpu": "2", "memory": "3G"})]),
     3000, 3 * 10**9),
    # a sidecar runs beside the containers: 1 + 1; the init step after it needs 3 + 1.
    (pod(containers=[container({"cpu": "1"})],
         init=[container({"cpu": "1"}, restart="Always"), container({"cpu": "3"})]), 4000, 0),
    # a sidecar alone is still running with the containers: 2 + 1
    (pod(containers=[container({"cpu": "2"})], init=[container({"cpu": "1"}, restart="Always")]),
     3000, 0),
    # an init step *before* the sidecar does not carry it: max(1 + 1, 3) = 3.
    (pod(containers=[container({"cpu": "1"})],
         init=[container({"cpu": "3"}), container({"cpu": "1"}, restart="Always")]), 3000, 0),
    (pod({"cpu": "1"}, overhead={"cpu": "250m", "memory": "120Mi"}), 1250, 120 * MI),
    # exact sums, rounded up once: 0.5m + 0.5m = 1m (not 2m)
    (pod(containers=[container({"cpu": "0.5m"}), container({"cpu": "0.5m"})]), 1, 0),
    (pod(), 0, 0),
], ids=["one", "sum", "init-max", "sidecar-after", "sidecar-alone", "sidecar-before", "overhead", "exact", "none"])
def test_pod_requests_counts_like_kubernetes(p, cpu, memory):
    r = pod_requests(p)
    assert (r.milli_cpu, r.memory, r.pods) == (cpu, memory, 1)


def test_pod_requests_extended_and_ephemeral():
    p = pod(containers=[container({"nvidia.com/gpu": "1", "ephemeral-storage": "1Gi"}),
                        container({"nvidia.com/gpu": "2", "hugepages-2Mi": "4Mi"})])
    r = pod_requests(p)
    assert r.scalar == {"nvidia.com/gpu": 3, "hugepages-2Mi": 4 * MI}
    assert r.ephemeral_storage == 1024 * MI


def test_non_zero_requests_default_only_what_is_missing():
    assert (pod_requests(pod(), non_zero=True).milli_cpu,
            pod_requests(pod(), non_zero=True).memory) == (100, 200 * MI)
    explicit_zero = pod_requests(pod({"cpu": "0"}), non_zero=True)
    assert (explicit_zero.milli_cpu, explicit_zero.memory) == (0, 200 * MI)


# ---------------------------------------------------------------- NodeInfo
def test_new_node_info_fills_requested_allocatable_and_ports():
    web = pod({"cpu": "500m"}, containers=[container({"cpu": "500m"}, ports=[
        {"containerPort": 80, "hostPort": 8080}, {"containerPort": 53, "hostPort": 53,
                                                  "protocol": "UDP", "hostIP": "10.0.0.1"},
        {"containerPort": 9090}])],
        init=[container(ports=[{"containerPort": 1, "hostPort": 7000}]),          # ends: free
              container(ports=[{"containerPort": 2, "hostPort": 7001}], restart="Always")])
    info = new_node_info(node(cpu="2"), [web])
    assert info.requested.milli_cpu == 500 and info.requested.pods == 1
    assert info.allocatable.milli_cpu == 2000 and info.allocatable.pods == 110
    assert info.used_ports == {("TCP", "0.0.0.0", 8080), ("UDP", "10.0.0.1", 53),
                               ("TCP", "0.0.0.0", 7001)}
    assert remove_pod(info, web) and info.requested == Resources() and not info.used_ports
    assert not remove_pod(info, web)


def test_allocatable_falls_back_to_capacity():
    assert new_node_info(node(cpu="3", allocatable=False)).allocatable.milli_cpu == 3000


# ---------------------------------------------------------------- NodeResourcesFit filter
def _full(cpu="4", memory="10000", pods="110", extra=None, on_node=()):
    return new_node_info(node(cpu=cpu, memory=memory, pods=pods, extra=extra),
                         [pod(r, uid=f"old{i}") for i, r in enumerate(on_node)])


@pytest.mark.parametrize("p, info, reasons, code", [
    (pod({"cpu": "1"}), _full(on_node=[{"cpu": "3"}]), [], OK.code),                 # exactly full
    (pod({"cpu": "1"}), _full(on_node=[{"cpu": "3500m"}]), ["Insufficient cpu"], UNSCHEDULABLE),
    (pod({"cpu": "5"}), _full(), ["Insufficient cpu"], UNRESOLVABLE),                # > whole node
    (pod({"cpu": "1", "memory": "6000"}), _full(on_node=[{"cpu": "3500m", "memory": "5000"}]),
     ["Insufficient cpu", "Insufficient memory"], UNSCHEDULABLE),
    (pod({"ephemeral-storage": "1Gi"}), _full(extra={"ephemeral-storage": "512Mi"}),
     ["Insufficient ephemeral-storage"], UNRESOLVABLE),
    (pod({"nvidia.com/gpu": "1"}), _full(), ["Insufficient nvidia.com/gpu"], UNRESOLVABLE),
    (pod({"nvidia.com/gpu": "1"}), _full(extra={"nvidia.com/gpu": "1"}, on_node=[{"nvidia.com/gpu": "1"}]),
     ["Insufficient nvidia.com/gpu"], UNSCHEDULABLE),
    (pod({"nvidia.com/gpu": "2"}), _full(extra={"nvidia.com/gpu": "4"}), [], OK.code),
    # a pod that requests nothing still needs a pod slot
    (pod(), _full(pods="1", on_node=[{}]), ["Too many pods"], UNSCHEDULABLE),
    (pod({"cpu": "1"}), _full(pods="1", on_node=[{"cpu": "3500m"}]),
     ["Too many pods", "Insufficient cpu"], UNSCHEDULABLE),
    # a resource the pod does not request never fails, even on an overcommitted node
    (pod({"memory": "1"}), _full(on_node=[{"cpu": "5"}]), [], OK.code),
    # the biggest init container is what must fit; overhead is added on top
    (pod({"cpu": "100m"}, init=[container({"cpu": "2"})]), _full(on_node=[{"cpu": "3"}]),
     ["Insufficient cpu"], UNSCHEDULABLE),
    (pod({"cpu": "1"}, overhead={"cpu": "1m"}), _full(on_node=[{"cpu": "3"}]),
     ["Insufficient cpu"], UNSCHEDULABLE),
], ids=["exact-fit", "cpu", "cpu-unresolvable", "cpu+memory", "ephemeral", "gpu-absent",
        "gpu-used", "gpu-fits", "pods-count", "pods+cpu", "unrequested-overcommit",
        "init-max", "overhead"])
def test_node_resources_fit_filter(p, info, reasons, code):
    assert insufficient_resources(pod_requests(p), info) == reasons
    status = run_filter(NodeResourcesFit(), p, info)
    assert (status.code, list(status.reasons)) == (code, reasons)


def test_ignored_extended_resources_are_not_checked():
    p, info = pod({"nvidia.com/gpu": "1", "example.com/foo": "1"}), _full()
    assert run_filter(NodeResourcesFit({"ignoredResources": ["nvidia.com/gpu"]}), p, info).reasons \
        == ("Insufficient example.com/foo",)
    assert run_filter(NodeResourcesFit({"ignoredResourceGroups": ["example.com", "nvidia.com"]}),
                      p, info).ok


# ---------------------------------------------------------------- resource scoring
# Node: cpu 4000m, memory 10000; a pod there requests 1 cpu / 2000; the new pod
# 500m / 1000, so the node would hold cpu 1500/4000 and memory 3000/10000.
def _scored(strategy=None, resources=None):
    args = {"scoringStrategy": {"type": strategy or "LeastAllocated",
                                "resources": resources or [{"name": "cpu", "weight": 1},
                                                           {"name": "memory", "weight": 1}]}}
    return NodeResourcesFit(args)


ONE_POD = [{"cpu": "1", "memory": "2000"}]
NEW = {"cpu": "500m", "memory": "1000"}
CPU2 = [{"name": "cpu", "weight": 2}, {"name": "memory", "weight": 1}]
SHAPE_UP = [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]
SHAPE_DOWN = [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]


@pytest.mark.parametrize("plugin, expected", [
    # (4000-1500)*100//4000 = 62, (10000-3000)*100//10000 = 70 -> (62+70)//2
    (_scored(), 66),
    (_scored(resources=CPU2), (62 * 2 + 70) // 3),                     # 64
    # 1500*100//4000 = 37, 30 -> 67//2
    (_scored("MostAllocated"), 33),
    (_scored("MostAllocated", CPU2), (37 * 2 + 30) // 3),              # 34
    # shape 0->0, 100->100: 37 and 30 -> math.Round(67 / 2 = 33.5) = 34 (half away from 0)
    (NodeResourcesFit({"scoringStrategy": {"type": "RequestedToCapacityRatio", "resources": None,
                                           "requestedToCapacityRatio": {"shape": SHAPE_UP}}}), 34),
    # shape 0->100, 100->0: 63 and 70 -> round(66.5) = 67
    (NodeResourcesFit({"scoringStrategy": {"type": "RequestedToCapacityRatio",
                                           "requestedToCapacityRatio": {"shape": SHAPE_DOWN}}}), 67),
    # fractions 0.375 and 0.3: std = 0.0375 -> int(96.25)
    (BalancedAllocation(), 96),
], ids=["least", "least-weighted", "most", "most-weighted", "ratio-up", "ratio-down", "balanced"])
def test_resource_scores_match_kubernetes_formulas(plugin, expected):
    info = _full(on_node=ONE_POD)
    assert run_score(plugin, pod(NEW), [info]) == {"n1": expected}


def test_least_allocated_stays_in_integers():
    # (5000 - 4000) * 100 // 5000 = 20 exactly; (1 - 4/5) * 100 in floats is 19.999...
    info = new_node_info(node(cpu="5", memory="5"))
    assert run_score(_scored(), pod({"cpu": "4", "memory": "4"}), [info]) == {"n1": 20}


def test_broken_linear_truncates_toward_zero_like_go():
    # 100 + (0 - 100) * 10 / 30 = 100 - 33.3: Go truncates to -33 -> 67 (floor gives 66)
    assert broken_linear([(0, 100), (30, 0)], 10) == 67
    assert broken_linear([(0, 100), (30, 0)], 50) == 0 and broken_linear([(10, 40)], 0) == 40


def test_balanced_allocation_std_over_three_resources():
    res = [{"name": n, "weight": 1} for n in ("cpu", "memory", "nvidia.com/gpu")]
    info = _full(extra={"nvidia.com/gpu": "4"}, on_node=ONE_POD)
    # fractions .375, .3, .25: std 0.05137 -> int(94.86)
    assert run_score(BalancedAllocation({"resources": res}), pod({**NEW, "nvidia.com/gpu": "1"}),
                     [info]) == {"n1": 94}


def test_best_effort_pods_spread_by_the_non_zero_defaults():
    empty = new_node_info(node("empty", memory="8Gi"))
    busy = new_node_info(node("busy", memory="8Gi"), [pod(uid="old")])
    # busy: 200m of 4000 -> 95, 400Mi of 8Gi -> 95; empty: 100m -> 97, 200Mi -> 97
    assert run_score(_scored(), pod(), [empty, busy]) == {"empty": 97, "busy": 95}
    assert run_score(BalancedAllocation(), pod(), [empty, busy]) is None    # PreScore: Skip


def test_extended_resource_scored_only_when_requested():
    res = [{"name": "cpu", "weight": 1}, {"name": "nvidia.com/gpu", "weight": 1}]
    info = _full(extra={"nvidia.com/gpu": "4"}, on_node=[{"cpu": "1", "nvidia.com/gpu": "1"}])
    # no gpu asked: only cpu counts, (4000-1500)*100//4000 = 62
    assert run_score(_scored(resources=res), pod(NEW), [info]) == {"n1": 62}
    # one gpu asked: gpu (4-2)*100//4 = 50 -> (62+50)//2 = 56
    assert run_score(_scored(resources=res), pod({**NEW, "nvidia.com/gpu": "1"}), [info]) == {"n1": 56}


def test_overcommitted_node_scores_zero_least_and_full_most():
    info = _full(on_node=[{"cpu": "5", "memory": "20000"}])
    assert run_score(_scored(), pod(NEW), [info]) == {"n1": 0}
    assert run_score(_scored("MostAllocated"), pod(NEW), [info]) == {"n1": 100}


def test_unknown_strategy_is_rejected():
    with pytest.raises(ValueError):
        NodeResourcesFit({"scoringStrategy": {"type": "Random"}})


# ---------------------------------------------------------------- the registry
def test_registry_builds_every_plugin_under_its_kubernetes_name():
    for name, factory in PLUGINS.items():
        assert factory({}).name == name
    names = [n for n, _, _ in DEFAULT_PROFILE]
    assert names[:6] == ["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity",
                         "NodePorts", "NodeResourcesFit"]
    weights = {n: w for n, w, _ in DEFAULT_PROFILE}
    assert weights["TaintToleration"] == 3 and weights["NodeAffinity"] == 2
    assert weights["NodeResourcesFit"] == weights["NodeResourcesBalancedAllocation"] == 1
    assert all(n in PLUGINS for n in names)
