"""NodeResourcesFit and NodeResourcesBalancedAllocation: does the pod fit, and where best.

In kube-scheduler (`framework/plugins/noderesources`) NodeResourcesFit filters out the
nodes whose allocatable cpu, memory, ephemeral-storage, pod slots or extended resources
(`nvidia.com/gpu`) cannot take the pod's requests on top of what the pods already there
request, and scores the rest with a strategy: LeastAllocated (spread, the default),
MostAllocated (bin-pack) or RequestedToCapacityRatio (a piecewise-linear shape).
NodeResourcesBalancedAllocation prefers nodes whose cpu and memory end up used in the
same proportion. This module does the same, with Kubernetes' integer arithmetic, so the
scores match kube-scheduler's to the unit.

What a pod requests (`pod_requests`) is Kubernetes' `resourcehelper.PodRequests`: the
regular containers run together (sum), init containers one at a time (max), a sidecar
(an init container with `restartPolicy: Always`) keeps running beside everything started
after it (added to both), plus `spec.overhead`. Scoring counts a container that states
no cpu/memory request as 100m / 200Mi (the "non-zero" requests) so that best-effort pods
still spread; filtering never does.

Left out: pod-level `spec.resources`, in-place resize, DRA-backed extended resources.
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction

from minik8s.api.quantity import parse_quantity
from minik8s.scheduler.framework import (MAX_NODE_SCORE, OK, SKIPPED, NodeInfo, Resources,
                                         Status, UNRESOLVABLE, UNSCHEDULABLE)
from minik8s.scheduler.plugins.basic import host_ports

# schedutil.DefaultMilliCPURequest / DefaultMemoryRequest: what scoring assumes for a
# container that does not say.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

LEAST_ALLOCATED, MOST_ALLOCATED, RATIO = "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"
DEFAULT_RESOURCES = [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]

_quantity = functools.lru_cache(maxsize=4096)(parse_quantity)   # "500m" -> Fraction(1, 2)


# ---------------------------------------------------------------- what a pod requests
def _is_scalar(name: str) -> bool:
    """IsScalarResourceName: extended (`vendor/x`), hugepages-*, attachable-volumes-*."""
    return "/" in name or name.startswith(("hugepages-", "attachable-volumes-"))


def _container_requests(c: dict, non_zero: bool) -> dict:
    requests = (c.get("resources") or {}).get("requests") or {}
    out = {name: _quantity(q) for name, q in requests.items()}
    if non_zero:
        # Pitfall: only a *missing* request gets the default; an explicit 0 stays 0.
        out.setdefault("cpu", Fraction(DEFAULT_MILLI_CPU_REQUEST, 1000))
        out.setdefault("memory", Fraction(DEFAULT_MEMORY_REQUEST))
    return out


def _add(total: dict, more: dict) -> None:
    for name, q in more.items():
        total[name] = total.get(name, 0) + q


def _max(total: dict, other: dict) -> None:
    for name, q in other.items():
        if q > total.get(name, 0):
            total[name] = q


def pod_requests(pod: dict, non_zero: bool = False) -> Resources:
    """What the pod asks of a node, as kube-scheduler counts it (`pods` is always 1).

    Exact sums of quantities, rounded up once at the end as Kubernetes does, so two
    containers of 0.5m cpu request 1m, not 2m. `non_zero=True` gives the scoring view.
    """
    spec = pod.get("spec") or {}
    total: dict = {}
    for c in spec.get("containers") or ():
        _add(total, _container_requests(c, non_zero))
    sidecars: dict = {}       # sidecars started so far keep running
    init_peak: dict = {}      # the most any single init step needs
    for c in spec.get("initContainers") or ():
        req = _container_requests(c, non_zero)
        if c.get("restartPolicy") == "Always":
            _add(total, req)              # runs beside the regular containers too
            _add(sidecars, req)
            step = dict(sidecars)
        else:
            step = dict(req)
            _add(step, sidecars)
        _max(init_peak, step)
    _max(total, init_peak)
    _add(total, {name: _quantity(q) for name, q in (spec.get("overhead") or {}).items()})
    r = Resources(pods=1)
    for name, q in total.items():
        if name == "cpu":
            r.milli_cpu = math.ceil(q * 1000)
        elif name == "memory":
            r.memory = math.ceil(q)
        elif name == "ephemeral-storage":
            r.ephemeral_storage = math.ceil(q)
        elif _is_scalar(name):
            r.scalar[name] = math.ceil(q)
    return r


# ---------------------------------------------------------------- NodeInfo helpers
def node_allocatable(node: dict) -> Resources:
    """status.allocatable (what pods may use), or status.capacity if it is not set."""
    status = node.get("status") or {}
    return Resources.from_list(status.get("allocatable") or status.get("capacity"))


def add_pod(info: NodeInfo, pod: dict) -> None:
    """Account a pod (bound or assumed) on its node: pods, requests, host ports."""
    info.pods.append(pod)
    info.requested.add(pod_requests(pod))
    info.used_ports.update(host_ports(pod))
    info.generation += 1


def remove_pod(info: NodeInfo, pod: dict) -> bool:
    """Undo add_pod for the pod with the same uid (or the same object). False if absent."""
    uid = (pod.get("metadata") or {}).get("uid")
    for i, p in enumerate(info.pods):
        if p is pod or (uid and (p.get("metadata") or {}).get("uid") == uid):
            del info.pods[i]
            info.requested.subtract(pod_requests(p))
            info.used_ports.difference_update(host_ports(p))
            info.generation += 1
            return True
    return False


def new_node_info(node: dict, pods=()) -> NodeInfo:
    """A NodeInfo for `node` holding `pods`, with requested/allocatable/used_ports filled."""
    info = NodeInfo(node=node, allocatable=node_allocatable(node))
    for pod in pods:
        add_pod(info, pod)
    return info


def non_zero_requested(info: NodeInfo) -> Resources:
    """The node's pods' cpu/memory with the scoring defaults (NodeInfo.NonZeroRequested).

    Memoised on the NodeInfo per (generation, pod count): the cache bumps `generation`
    on every change, so this is recomputed once per change, not once per score.
    """
    key = (info.generation, len(info.pods))
    memo = info.__dict__.get("_non_zero")
    if memo is None or memo[0] != key:
        total = Resources()
        for pod in info.pods:
            r = pod_requests(pod, non_zero=True)
            total.milli_cpu += r.milli_cpu
            total.memory += r.memory
        memo = info.__dict__["_non_zero"] = (key, total)
    return memo[1]


# ---------------------------------------------------------------- the fit check
def insufficient_resources(requests: Resources, node: NodeInfo) -> list:
    """The reasons `requests` do not fit on `node` ([] = it fits), in Kubernetes' words:
    "Too many pods", "Insufficient cpu", "Insufficient memory",
    "Insufficient ephemeral-storage", "Insufficient <extended resource>"."""
    # BEGIN LAB 03: NodeResourcesFit — does the pod fit in what the node has left?
    # Outline: 1. one more pod must fit in allocatable.pods (even a pod requesting
    # nothing takes a slot); 2. for cpu, memory, ephemeral-storage and each extended
    # resource the pod requests (> 0): free = allocatable - requested by the pods
    # already there; request > free -> one "Insufficient <name>" reason each.
    # Pitfall: compare with what is *left*, not with allocatable; and never fail a
    # resource the pod does not request, even on a node that is already overcommitted.
    reasons = []
    alloc, used = node.allocatable, node.requested
    if len(node.pods) + 1 > alloc.pods:
        reasons.append("Too many pods")
    if 0 < requests.milli_cpu and requests.milli_cpu > alloc.milli_cpu - used.milli_cpu:
        reasons.append("Insufficient cpu")
    if 0 < requests.memory and requests.memory > alloc.memory - used.memory:
        reasons.append("Insufficient memory")
    if 0 < requests.ephemeral_storage and \
            requests.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage:
        reasons.append("Insufficient ephemeral-storage")
    for name in sorted(requests.scalar):
        want = requests.scalar[name]
        if 0 < want and want > alloc.scalar.get(name, 0) - used.scalar.get(name, 0):
            reasons.append(f"Insufficient {name}")
    # END LAB 03
    return reasons


def _bigger_than_node(requests: Resources, alloc: Resources) -> bool:
    """A request above the node's whole allocatable: no preemption can make room, so
    Kubernetes (1.30+) reports the node UnschedulableAndUnresolvable."""
    return (requests.milli_cpu > alloc.milli_cpu or requests.memory > alloc.memory
            or requests.ephemeral_storage > alloc.ephemeral_storage
            or any(q > alloc.scalar.get(n, 0) for n, q in requests.scalar.items()))


# ---------------------------------------------------------------- scoring strategies
# Each scorer takes parallel lists: requested (node's pods + this pod) and allocatable,
# one entry per configured resource; an entry with allocatable 0 is not scored.
def least_allocated(requested: list, allocatable: list, weights: list) -> int:
    """LeastAllocated: the weighted mean of (allocatable - requested) / allocatable."""
    # BEGIN LAB 03: LeastAllocated — prefer the node that has the most left
    # Outline: per resource with allocatable > 0: score = (cap - req) * 100 // cap
    # (0 if req > cap), weighted; return sum(score * weight) // sum(weight), 0 if none.
    # Pitfall: stay in integers, as Go does: (1 - req/cap) * 100 in floats gives
    # 19.999... -> 19 for req=4, cap=5 where Kubernetes gets 20, and changes ties.
    total = weight_sum = 0
    for req, cap, weight in zip(requested, allocatable, weights):
        if cap == 0:
            continue
        score = 0 if req > cap else (cap - req) * MAX_NODE_SCORE // cap
        total += score * weight
        weight_sum += weight
    return total // weight_sum if weight_sum else 0
    # END LAB 03


def most_allocated(requested: list, allocatable: list, weights: list) -> int:
    """MostAllocated (bin packing): the weighted mean of requested / allocatable."""
    total = weight_sum = 0
    for req, cap, weight in zip(requested, allocatable, weights):
        if cap == 0:
            continue
        # requested may exceed capacity: the non-zero defaults are not real requests.
        total += min(req, cap) * MAX_NODE_SCORE // cap * weight
        weight_sum += weight
    return total // weight_sum if weight_sum else 0


def _go_div(a: int, b: int) -> int:
    """Go's integer division truncates toward zero; Python's // floors."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def broken_linear(shape: list, utilization: int) -> int:
    """helper.BuildBrokenLinearFunction over [(utilization, score)] sorted by utilization."""
    for i, (u, s) in enumerate(shape):
        if utilization <= u:
            if i == 0:
                return s
            u0, s0 = shape[i - 1]
            return s0 + _go_div((s - s0) * (utilization - u0), u - u0)
    return shape[-1][1]


def requested_to_capacity_ratio(shape: list):
    """The RequestedToCapacityRatio scorer for a shape of {utilization 0..100, score
    0..10} points (scores scaled by 10 to 0..100, as kube-scheduler does)."""
    points = [(int(p["utilization"]), int(p["score"]) * (MAX_NODE_SCORE // 10)) for p in shape]
    if not points or any(a[0] >= b[0] for a, b in zip(points, points[1:])):
        raise ValueError("requestedToCapacityRatio.shape: utilization values must be "
                         "sorted in increasing order")

    def scorer(requested: list, allocatable: list, weights: list) -> int:
        total = weight_sum = 0
        for req, cap, weight in zip(requested, allocatable, weights):
            if cap == 0:
                continue
            score = broken_linear(points, 100 if req > cap else req * 100 // cap)
            if score > 0:         # Kubernetes leaves a zero-scoring resource out of the mean
                total += score * weight
                weight_sum += weight
        return math.floor(total / weight_sum + 0.5) if weight_sum else 0   # math.Round
    return scorer


def balanced_allocation(requested: list, allocatable: list) -> int:
    """(1 - std dev of the requested/allocatable fractions) * 100, fractions capped at 1."""
    fractions = [min(req / cap, 1.0) for req, cap in zip(requested, allocatable) if cap]
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) * (f - mean) for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


def _amount(r: Resources, name: str) -> int:
    if name == "cpu":             # branches, not a dict per call: this runs per node
        return r.milli_cpu
    if name == "memory":
        return r.memory
    return r.ephemeral_storage if name == "ephemeral-storage" else r.scalar.get(name, 0)


def score_vectors(node: NodeInfo, names: list, pod_request: list, use_requested: bool):
    """(requested, allocatable) lists for a scorer: node's pods plus this pod, per name.
    cpu/memory use the non-zero sums unless `use_requested` (BalancedAllocation)."""
    used = node.requested if use_requested else non_zero_requested(node)
    alloc = node.allocatable
    requested, allocatable = [], []
    for name, want in zip(names, pod_request):
        if name in ("cpu", "memory"):
            cap, have = _amount(alloc, name), _amount(used, name)
        elif name == "ephemeral-storage":
            cap, have = alloc.ephemeral_storage, node.requested.ephemeral_storage
        elif want and name in alloc.scalar:     # extended: scored only if the pod asks
            cap, have = alloc.scalar[name], node.requested.scalar.get(name, 0)
        else:
            cap, have, want = 0, 0, 0
        requested.append(have + want if cap else 0)
        allocatable.append(cap)
    return requested, allocatable


def _resource_specs(resources) -> tuple:
    """(names, weights) from [{"name", "weight"}]; weight 0/missing defaults to 1."""
    specs = resources or DEFAULT_RESOURCES
    return [r["name"] for r in specs], [int(r.get("weight") or 1) for r in specs]


# ---------------------------------------------------------------- the plugins
class NodeResourcesFit:
    """Filter: requests fit in what is left. Score: the configured strategy."""
    name = "NodeResourcesFit"
    _PRE_FILTER, _PRE_SCORE = "PreFilterNodeResourcesFit", "PreScoreNodeResourcesFit"

    def __init__(self, args: dict | None = None):
        args = args or {}
        strategy = args.get("scoringStrategy") or {}
        self.strategy = strategy.get("type") or LEAST_ALLOCATED
        self.names, self.weights = _resource_specs(strategy.get("resources"))
        self.ignored = set(args.get("ignoredResources") or ())
        self.ignored_groups = set(args.get("ignoredResourceGroups") or ())
        if self.strategy == LEAST_ALLOCATED:
            self._scorer = least_allocated
        elif self.strategy == MOST_ALLOCATED:
            self._scorer = most_allocated
        elif self.strategy == RATIO:
            shape = (strategy.get("requestedToCapacityRatio") or {}).get("shape")
            self._scorer = requested_to_capacity_ratio(shape or [])
        else:
            raise ValueError(f"scoring strategy {self.strategy} is not supported")

    def _requests(self, pod: dict) -> Resources:
        r = pod_requests(pod)
        for name in list(r.scalar):     # ignoredResources(Groups): extended resources only
            if name in self.ignored or name.split("/")[0] in self.ignored_groups:
                del r.scalar[name]
        return r

    def pre_filter(self, state, pod, nodes) -> Status:
        state[self._PRE_FILTER] = self._requests(pod)
        return OK

    def filter(self, state, pod, node: NodeInfo) -> Status:
        requests = state.get(self._PRE_FILTER) or self._requests(pod)
        reasons = insufficient_resources(requests, node)
        if not reasons:
            return OK
        code = UNRESOLVABLE if _bigger_than_node(requests, node.allocatable) else UNSCHEDULABLE
        return Status(code, tuple(reasons), self.name)

    def _score_requests(self, pod: dict) -> list:
        r = pod_requests(pod, non_zero=True)
        return [_amount(r, name) for name in self.names]

    def pre_score(self, state, pod, nodes) -> Status:
        state[self._PRE_SCORE] = self._score_requests(pod)
        return OK

    def score(self, state, pod, node: NodeInfo) -> int:
        pod_request = state.get(self._PRE_SCORE) or self._score_requests(pod)
        requested, allocatable = score_vectors(node, self.names, pod_request, False)
        return self._scorer(requested, allocatable, self.weights)


class BalancedAllocation:
    """NodeResourcesBalancedAllocation: favour nodes whose resources end up evenly used."""
    name = "NodeResourcesBalancedAllocation"
    _PRE_SCORE = "PreScoreNodeResourcesBalancedAllocation"

    def __init__(self, args: dict | None = None):
        self.names, _ = _resource_specs((args or {}).get("resources"))

    def _pod_request(self, pod: dict) -> list:
        r = pod_requests(pod)       # real requests: no defaults here (useRequested)
        return [_amount(r, name) for name in self.names]

    def pre_score(self, state, pod, nodes) -> Status:
        pod_request = self._pod_request(pod)
        if not any(pod_request):
            # Kubernetes 1.33+: a best-effort pod is not scored, or they would all
            # pile onto the one most balanced node (kubernetes#129138).
            return SKIPPED
        state[self._PRE_SCORE] = pod_request
        return OK

    def score(self, state, pod, node: NodeInfo) -> int:
        pod_request = state.get(self._PRE_SCORE) or self._pod_request(pod)
        if not any(pod_request):
            return 0
        requested, allocatable = score_vectors(node, self.names, pod_request, True)
        return balanced_allocation(requested, allocatable)
