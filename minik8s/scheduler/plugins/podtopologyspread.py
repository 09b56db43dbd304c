"""PodTopologySpread: spread a group of pods evenly over zones, nodes, racks...

In Kubernetes a pod lists `spec.topologySpreadConstraints`; each names a group of pods
(`labelSelector`, in the pod's own namespace, plus the pod's values for the label keys in
`matchLabelKeys`), a kind of domain (`topologyKey`, a node label) and how uneven the
group may get: the *skew* of a domain is its number of group pods minus the smallest
number in any eligible domain, and placing this pod must keep it <= `maxSkew`.
`whenUnsatisfiable: DoNotSchedule` makes that a filter, `ScheduleAnyway` a preference.

This plugin follows kube-scheduler's (pkg/scheduler/framework/plugins/podtopologyspread):

- PreFilter counts, once, the matching pods per domain of each DoNotSchedule
  constraint. Eligible nodes are those carrying ALL the constraints' topology keys and
  passing the node inclusion policies: `nodeAffinityPolicy` (default Honor: only nodes
  the pod's nodeSelector / required node affinity accept) and `nodeTaintsPolicy`
  (default Ignore; Honor leaves out nodes with a NoSchedule/NoExecute taint the pod does
  not tolerate). No hard constraint -> Skip.
- Filter: a node without the topology key fails with "node(s) didn't match pod topology
  spread constraints (missing required label)" (UnschedulableAndUnresolvable); a node
  where `count(domain) + (1 if the pod matches its own selector) - global minimum >
  maxSkew` fails with "node(s) didn't match pod topology spread constraints". With
  `minDomains` set and fewer eligible domains than that, the global minimum is 0 (so a
  new pod cannot pile onto the existing domains while others are still missing).
- Scoring (ScheduleAnyway): a node's raw score is, summed over constraints,
  `matching pods in its domain * log(number of domains + 2) + (maxSkew - 1)`;
  NormalizeScore turns "fewer is better" into 0..100: `100 * (max + min - s) / max`;
  nodes lacking a topology key score 0.

Pitfalls, all Kubernetes': terminating pods (deletionTimestamp set) do NOT count (they
are about to go, kubernetes#87621) — InterPodAffinity does count them; a constraint with
an empty selector counts no pods; a domain with no matching pod still counts (as 0) for
the minimum, as long as an eligible node carries it.

Left out: the cluster-level default constraints (`defaultingType: System`: ScheduleAnyway
over hostname with maxSkew 3 and zone with maxSkew 5, applied to pods that have none and
belong to a Service/ReplicaSet/StatefulSet) — they need listers of those kinds; a pod
without constraints is simply skipped here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from minik8s.api.errors import BadRequest
from minik8s.api.taints import tolerates
from minik8s.api.selectors import (EXISTS, DOES_NOT_EXIST, GT, IN, LT, NOT_IN, Requirement,
                                   Selector, selector_from_dict)
from minik8s.scheduler.framework import (MAX_NODE_SCORE, OK, SKIPPED, UNRESOLVABLE,
                                         UNSCHEDULABLE, CycleState, NodeInfo, Status)

NAME = "PodTopologySpread"
ERR_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_NODE_LABEL_NOT_MATCH = ERR_CONSTRAINTS_NOT_MATCH + " (missing required label)"
DO_NOT_SCHEDULE, SCHEDULE_ANYWAY = "DoNotSchedule", "ScheduleAnyway"
HONOR, IGNORE = "Honor", "Ignore"
LABEL_HOSTNAME = "kubernetes.io/hostname"

_FILTER_KEY = "PreFilter" + NAME
_SCORE_KEY = "PreScore" + NAME
_ALL_NODES_KEY = NAME + "/nodes"


@dataclass(frozen=True)
class SpreadConstraint:
    """A parsed TopologySpreadConstraint, its defaults applied."""
    max_skew: int
    topology_key: str
    selector: Selector
    min_domains: int = 1
    node_affinity_policy: str = HONOR
    node_taints_policy: str = IGNORE


def spread_constraints(pod: dict, action: str) -> list:
    """The pod's constraints with `whenUnsatisfiable == action`. Raises BadRequest."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    out = []
    for c in (pod.get("spec") or {}).get("topologySpreadConstraints") or []:
        if c.get("whenUnsatisfiable", DO_NOT_SCHEDULE) != action:
            continue
        selector = selector_from_dict(c.get("labelSelector"))
        extra = [Requirement(k, IN, (labels[k],)) for k in c.get("matchLabelKeys") or []
                 if k in labels]
        if extra and not selector.nothing:   # a nil selector stays nil, as in Kubernetes
            selector = Selector(tuple(sorted(extra + list(selector.requirements),
                                             key=lambda r: r.key)))
        out.append(SpreadConstraint(
            int(c.get("maxSkew", 1)), c.get("topologyKey", ""), selector,
            int(c["minDomains"]) if c.get("minDomains") is not None else 1,
            c.get("nodeAffinityPolicy") or HONOR, c.get("nodeTaintsPolicy") or IGNORE))
    return out


def count_matching(pods: list, selector: Selector, namespace: str) -> int:
    """Pods of the group on one node: same namespace, not terminating, selected."""
    if selector.empty:
        return 0
    n = 0
    for p in pods:
        meta = p.get("metadata") or {}
        if meta.get("deletionTimestamp") or meta.get("namespace", "default") != namespace:
            continue
        if selector.matches(meta.get("labels")):
            n += 1
    return n


# ------------------------------------------------ node inclusion (component-helpers)
# Kubernetes uses the shared helpers of k8s.io/component-helpers here, not the
# NodeAffinity/TaintToleration plugins; so do we (those plugins are a lab to rewrite).

_NODE_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST,
             "Gt": GT, "Lt": LT}


def _term_matches(term: dict, node: dict) -> bool:
    exprs, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not exprs and not fields:
        return False                          # an empty term matches no node
    labels = (node.get("metadata") or {}).get("labels") or {}
    for e in exprs:
        op = _NODE_OPS.get(e.get("operator"))
        if op is None or not Requirement(e.get("key", ""), op,
                                         tuple(e.get("values") or ())).matches(labels):
            return False
    for f in fields:                          # only metadata.name is a valid field
        op = _NODE_OPS.get(f.get("operator"))
        if f.get("key") != "metadata.name" or op not in (IN, NOT_IN) or not Requirement(
                "metadata.name", op, tuple(f.get("values") or ())).matches(
                {"metadata.name": (node.get("metadata") or {}).get("name", "")}):
            return False
    return True


def matches_required_node_affinity(pod: dict, node: dict) -> bool:
    """nodeaffinity.GetRequiredNodeAffinity(pod).Match(node): nodeSelector AND any term."""
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    return any(_term_matches(t, node) for t in required.get("nodeSelectorTerms") or [])


def has_untolerated_taint(pod: dict, node: dict) -> bool:
    """A NoSchedule/NoExecute taint of the node that no toleration of the pod tolerates."""
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and \
                not any(tolerates(t, taint) for t in tolerations):
            return True
    return False


def node_included(c: SpreadConstraint, pod: dict, node: dict) -> bool:
    if c.node_affinity_policy == HONOR and not matches_required_node_affinity(pod, node):
        return False
    if c.node_taints_policy == HONOR and has_untolerated_taint(pod, node):
        return False
    return True


def _labels(node: dict) -> dict:
    return (node.get("metadata") or {}).get("labels") or {}


def _has_all_keys(labels: dict, constraints: list) -> bool:
    return all(c.topology_key in labels for c in constraints)


# ---------------------------------------------------------------- the plugin

@dataclass
class _FilterState:
    constraints: list
    counts: list                 # per constraint: {topology value: matching pods}


@dataclass
class _ScoreState:
    constraints: list
    ignored: set                 # filtered nodes lacking a topology key: score 0
    counts: list                 # per constraint: {value: pods}; hostname counted in Score
    weights: list                # per constraint: log(number of domains + 2)


class PodTopologySpread:
    name = NAME

    def __init__(self, args: Optional[dict] = None):
        args = args or {}
        # Only "List" defaulting with explicit (empty) defaults is supported: see above.
        if args.get("defaultConstraints"):
            raise ValueError("PodTopologySpread: defaultConstraints are not supported")

    def _count(self, pod: dict, nodes: list, constraints: list, domains: list,
               only_known: bool = False) -> None:
        """Add the group's pods on every eligible node to domains[i][topology value].
        domains[i] None: constraint i is not counted here; only_known: values not yet
        in domains[i] are left out (scoring counts only the candidates' domains)."""
        ns = (pod.get("metadata") or {}).get("namespace", "default")
        for ni in nodes:
            labels = _labels(ni.node)
            if not _has_all_keys(labels, constraints):
                continue
            for i, c in enumerate(constraints):
                if domains[i] is None or not node_included(c, pod, ni.node):
                    continue
                value = labels[c.topology_key]
                if only_known and value not in domains[i]:
                    continue
                domains[i][value] = domains[i].get(value, 0) + \
                    count_matching(ni.pods, c.selector, ns)

    # ------------------------------------------------------------ filtering
    def pre_filter(self, state: CycleState, pod: dict, nodes: list) -> Status:
        state[_ALL_NODES_KEY] = nodes        # PreScore counts over the whole cluster
        try:
            constraints = spread_constraints(pod, DO_NOT_SCHEDULE)
        except BadRequest as e:
            return Status(UNRESOLVABLE, (f"obtaining pod's hard topology spread "
                                         f"constraints: {e}",), NAME)
        if not constraints:
            return SKIPPED
        counts = [dict() for _ in constraints]
        self._count(pod, nodes, constraints, counts)
        state[_FILTER_KEY] = _FilterState(constraints, counts)
        return OK

    def filter(self, state: CycleState, pod: dict, node_info: NodeInfo) -> Status:
        s: _FilterState = state.get(_FILTER_KEY)
        if s is None:
            return OK
        labels = _labels(node_info.node)
        pod_labels = (pod.get("metadata") or {}).get("labels") or {}
        for c, counts in zip(s.constraints, s.counts):
            if c.topology_key not in labels:
                return Status(UNRESOLVABLE, (ERR_NODE_LABEL_NOT_MATCH,), NAME)
            # Fewer eligible domains than minDomains (or none at all): the global
            # minimum counts as 0, so the pod must go to a new or an emptier domain.
            min_match = min(counts.values()) if counts and len(counts) >= c.min_domains else 0
            self_match = 1 if c.selector.matches(pod_labels) else 0
            skew = counts.get(labels[c.topology_key], 0) + self_match - min_match
            if skew > c.max_skew:
                return Status(UNSCHEDULABLE, (ERR_CONSTRAINTS_NOT_MATCH,), NAME)
        return OK

    # ------------------------------------------------------------ scoring
    def pre_score(self, state: CycleState, pod: dict, nodes: list) -> Status:
        all_nodes = state.get(_ALL_NODES_KEY, nodes)
        if not all_nodes:
            return SKIPPED
        try:
            constraints = spread_constraints(pod, SCHEDULE_ANYWAY)
        except BadRequest as e:
            return Status(UNRESOLVABLE, (f"obtaining pod's soft topology spread "
                                         f"constraints: {e}",), NAME)
        if not constraints:
            return SKIPPED
        ignored = {ni.name for ni in nodes if not _has_all_keys(_labels(ni.node), constraints)}
        # Domains are those of the candidate nodes; hostname counts are per node (Score).
        counts = [dict() for _ in constraints]
        for ni in nodes:
            if ni.name not in ignored:
                for i, c in enumerate(constraints):
                    if c.topology_key != LABEL_HOSTNAME:
                        counts[i].setdefault(_labels(ni.node)[c.topology_key], 0)
        weights = [math.log((len(nodes) - len(ignored) if c.topology_key == LABEL_HOSTNAME
                             else len(counts[i])) + 2) for i, c in enumerate(constraints)]
        self._count(pod, all_nodes, constraints,
                    [None if c.topology_key == LABEL_HOSTNAME else counts[i]
                     for i, c in enumerate(constraints)], only_known=True)
        state[_SCORE_KEY] = _ScoreState(constraints, ignored, counts, weights)
        return OK

    def score(self, state: CycleState, pod: dict, node_info: NodeInfo) -> int:
        s: _ScoreState = state.get(_SCORE_KEY)
        if s is None or node_info.name in s.ignored:
            return 0
        labels = _labels(node_info.node)
        ns = (pod.get("metadata") or {}).get("namespace", "default")
        total = 0.0
        for c, counts, weight in zip(s.constraints, s.counts, s.weights):
            if c.topology_key not in labels:
                continue
            if c.topology_key == LABEL_HOSTNAME:
                n = count_matching(node_info.pods, c.selector, ns)
            else:
                n = counts.get(labels[c.topology_key], 0)
            # maxSkew - 1 waters down small differences: a tolerant constraint cares less.
            total += n * weight + (c.max_skew - 1)
        return int(math.floor(total + 0.5))   # Go's math.Round (half away from zero)

    def normalize_score(self, state: CycleState, pod: dict, scores: dict) -> None:
        """Fewer matching pods is better: 100 * (max + min - s) // max; ignored -> 0."""
        s: _ScoreState = state.get(_SCORE_KEY)
        if s is None:
            return
        valid = [v for name, v in scores.items() if name not in s.ignored]
        lo, hi = (min(valid), max(max(valid), 0)) if valid else (0, 0)
        for name, v in scores.items():
            if name in s.ignored:
                scores[name] = 0
            elif hi == 0:
                scores[name] = MAX_NODE_SCORE
            else:
                scores[name] = MAX_NODE_SCORE * (hi + lo - v) // hi

