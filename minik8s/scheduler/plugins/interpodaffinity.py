"""InterPodAffinity: place a pod near (affinity) or away from (anti-affinity) other pods.

In Kubernetes a pod says, in `spec.affinity.podAffinity` / `podAntiAffinity`, which
other pods it wants to share (or must not share) a *topology domain* with: a
`podAffinityTerm` names pods by `labelSelector` (+ `namespaces` / `namespaceSelector`)
and the domain by `topologyKey`, a node label (`kubernetes.io/hostname` = same node,
`topology.kubernetes.io/zone` = same zone). `requiredDuringScheduling...` terms filter,
`preferredDuringScheduling...` terms (with a weight 1..100) score.

This plugin does what kube-scheduler's does (pkg/scheduler/framework/plugins/
interpodaffinity), in three steps:

- PreFilter walks every pod on every node ONCE and counts, per topology pair
  (key, value): the pods matching the incoming pod's affinity terms, those matching its
  anti-affinity terms, and the existing pods whose own required anti-affinity matches
  the incoming pod ("symmetry": a pod that refuses neighbours is respected by every
  pod scheduled after it). Nothing to check for this pod -> Skip.
- Filter is then a few dictionary lookups per node, in Kubernetes' order and words:
  "node(s) didn't match pod affinity rules" (UnschedulableAndUnresolvable),
  "node(s) didn't match pod anti-affinity rules",
  "node(s) didn't satisfy existing pods anti-affinity rules".
- PreScore sums weights per topology pair (the incoming pod's preferred terms, plus the
  existing pods' preferred terms and required affinity — weighted by the
  `hardPodAffinityWeight` arg, default 1 — matching the incoming pod); Score adds up the
  pairs of a node; NormalizeScore maps min..max onto 0..100.

Pitfalls, all Kubernetes': an affinity term is satisfied only by a domain where ONE pod
matches ALL the terms; a node without the topology label never satisfies affinity but
never violates anti-affinity; the first pod of a group whose affinity selects itself
may go anywhere (with the topology labels) while no pod in the cluster matches yet —
otherwise it would stay Pending forever. Pods being deleted still count here (unlike
PodTopologySpread): kube-scheduler's snapshot keeps them until they are gone.

Simplification: a `namespaceSelector` is matched against the labels of the pod's
namespace as returned by `namespace_labels(name)`; by default that is only the label
Kubernetes puts on every namespace, `kubernetes.io/metadata.name: <name>`. The scheduler
component may set `plugin.namespace_labels` to a lookup in its Namespace informer.
Left out: a term's `matchLabelKeys` / `mismatchLabelKeys` (KEP-3633), and preemption's
AddPod/RemovePod updates of the PreFilter counts (minik8s does not preempt).

Speed: the PreFilter/PreScore walk is O(pods in the cluster). A framework that knows
which nodes hold pods with pod (anti-)affinity (Kubernetes' snapshot keeps that list)
may put them in CycleState under NODES_WITH_AFFINITY_PODS; only those are walked then
for the existing pods' terms.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from minik8s.api.errors import BadRequest
from minik8s.api.selectors import NOTHING, Selector, selector_from_dict
from minik8s.scheduler.framework import (MAX_NODE_SCORE, OK, SKIPPED, UNRESOLVABLE,
                                         UNSCHEDULABLE, CycleState, NodeInfo, Status)

NAME = "InterPodAffinity"
ERR_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"

NODES_WITH_AFFINITY_PODS = "NodesWithAffinityPods"   # optional hint from the framework
_FILTER_KEY = "PreFilter" + NAME
_SCORE_KEY = "PreScore" + NAME
_ALL_NODES_KEY = NAME + "/nodes"
METADATA_NAME_LABEL = "kubernetes.io/metadata.name"
_EMPTY: dict = {}


def default_namespace_labels(namespace: str) -> dict:
    """The one label Kubernetes sets on every Namespace (immutable, since 1.21)."""
    return {METADATA_NAME_LABEL: namespace}


# ---------------------------------------------------------------- affinity terms

@dataclass(frozen=True)
class AffinityTerm:
    """A parsed PodAffinityTerm (framework.AffinityTerm in Kubernetes)."""
    namespaces: frozenset
    selector: Selector
    namespace_selector: Selector      # NOTHING when the term has none
    topology_key: str
    weight: int = 1                   # preferred terms only

    def matches(self, pod: dict, namespace_labels: Callable[[str], dict]) -> bool:
        meta = pod.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        if ns in self.namespaces or (not self.namespace_selector.nothing
                                     and self.namespace_selector.matches(namespace_labels(ns))):
            return self.selector.matches(meta.get("labels"))
        return False


def new_affinity_term(pod: dict, term: dict, weight: int = 1) -> AffinityTerm:
    """Without `namespaces` and `namespaceSelector` a term means the pod's own
    namespace; `namespaceSelector: {}` means every namespace. Raises BadRequest."""
    names = term.get("namespaces") or []
    ns_selector = term.get("namespaceSelector")
    if not names and ns_selector is None:
        names = [(pod.get("metadata") or {}).get("namespace") or "default"]
    return AffinityTerm(frozenset(names), selector_from_dict(term.get("labelSelector")),
                        NOTHING if ns_selector is None else selector_from_dict(ns_selector),
                        term.get("topologyKey", ""), weight)


@dataclass(frozen=True)
class PodTerms:
    """The four lists of a pod's affinity (framework.PodInfo keeps the same)."""
    required_affinity: tuple = ()
    required_anti_affinity: tuple = ()
    preferred_affinity: tuple = ()
    preferred_anti_affinity: tuple = ()


NO_TERMS = PodTerms()


def pod_terms(pod: dict) -> PodTerms:
    affinity = (pod.get("spec") or {}).get("affinity") or {}
    aff = affinity.get("podAffinity") or {}
    anti = affinity.get("podAntiAffinity") or {}
    if not aff and not anti:
        return NO_TERMS

    def required(block):
        return tuple(new_affinity_term(pod, t)
                     for t in block.get("requiredDuringSchedulingIgnoredDuringExecution") or [])

    def preferred(block):
        return tuple(new_affinity_term(pod, w.get("podAffinityTerm") or {}, int(w.get("weight", 0)))
                     for w in block.get("preferredDuringSchedulingIgnoredDuringExecution") or [])
    return PodTerms(required(aff), required(anti), preferred(aff), preferred(anti))


def existing_pod_terms(pod: dict) -> PodTerms:
    """An already-placed pod's terms; a broken one is ignored, as kube-scheduler logs
    and skips it (the API server validated it, so this does not happen in practice)."""
    try:
        return pod_terms(pod)
    except BadRequest:
        return NO_TERMS


def matches_all(pod: dict, terms, namespace_labels) -> bool:
    """True iff `pod` matches every term (and there is at least one)."""
    return bool(terms) and all(t.matches(pod, namespace_labels) for t in terms)


def has_pod_affinity(pod: dict) -> bool:
    affinity = (pod.get("spec") or {}).get("affinity")
    return bool(affinity) and bool(affinity.get("podAffinity") or affinity.get("podAntiAffinity"))


def nodes_with_affinity_pods(state: CycleState, nodes: list) -> list:
    """The nodes holding a pod with pod (anti-)affinity: only their pods can have terms
    about the incoming pod. Computed once per cycle (PreFilter and PreScore share it)
    unless the framework already put it in the CycleState."""
    found = state.get(NODES_WITH_AFFINITY_PODS)
    if found is None:
        found = [ni for ni in nodes if _has_affinity_pods(ni)]
        state[NODES_WITH_AFFINITY_PODS] = found
    return found


def _has_affinity_pods(ni: NodeInfo) -> bool:
    """Memoised on the NodeInfo per (generation, pod count), as non_zero_requested is:
    a cycle then costs one lookup per node instead of a look at every pod in the
    cluster (Kubernetes keeps NodeInfo.PodsWithAffinity for the same reason)."""
    key = (ni.generation, len(ni.pods))
    memo = ni.__dict__.get("_has_affinity_pods")
    if memo is None or memo[0] != key:
        found = False
        for p in ni.pods:           # the hot loop of a large cluster: kept plain
            affinity = (p.get("spec") or _EMPTY).get("affinity")
            if affinity and (affinity.get("podAffinity") or affinity.get("podAntiAffinity")):
                found = True
                break
        memo = ni.__dict__["_has_affinity_pods"] = (key, found)
    return memo[1]


# ---------------------------------------------------------------- filter state

@dataclass
class _FilterState:
    terms: PodTerms
    affinity_counts: dict          # (key, value) -> pods matching ALL required affinity terms
    anti_affinity_counts: dict     # (key, value) -> pods matching one of the anti terms
    existing_anti_counts: dict     # (key, value) -> existing pods' terms matching the pod


def _add(counts: dict, node: dict, key: str, n: int = 1) -> None:
    value = ((node.get("metadata") or {}).get("labels") or {}).get(key)
    if value is not None:
        counts[(key, value)] = counts.get((key, value), 0) + n


class InterPodAffinity:
    name = NAME

    def __init__(self, args: Optional[dict] = None, *,
                 namespace_labels: Callable[[str], dict] = default_namespace_labels):
        args = args or {}
        self.hard_pod_affinity_weight = int(args.get("hardPodAffinityWeight", 1))
        if not 0 <= self.hard_pod_affinity_weight <= 100:
            raise ValueError("hardPodAffinityWeight: Invalid value: "
                             f"{self.hard_pod_affinity_weight}: not in valid range [0, 100]")
        self.ignore_preferred_terms_of_existing_pods = bool(
            args.get("ignorePreferredTermsOfExistingPods", False))
        self.namespace_labels = namespace_labels

    # ------------------------------------------------------------ filtering
    def pre_filter(self, state: CycleState, pod: dict, nodes: list) -> Status:
        state[_ALL_NODES_KEY] = nodes        # PreScore scores against the whole cluster
        try:
            terms = pod_terms(pod)
        except BadRequest as e:
            return Status(UNRESOLVABLE, (f"parsing pod: {e}",), NAME)
        existing = {}
        for ni in nodes_with_affinity_pods(state, nodes):
            for other in ni.pods:
                for t in existing_pod_terms(other).required_anti_affinity:
                    if t.matches(pod, self.namespace_labels):
                        _add(existing, ni.node, t.topology_key)
        if not existing and not terms.required_affinity and not terms.required_anti_affinity:
            return SKIPPED
        affinity, anti = {}, {}
        if terms.required_affinity or terms.required_anti_affinity:
            for ni in nodes:
                for other in ni.pods:
                    if matches_all(other, terms.required_affinity, self.namespace_labels):
                        for t in terms.required_affinity:
                            _add(affinity, ni.node, t.topology_key)
                    for t in terms.required_anti_affinity:
                        if t.matches(other, self.namespace_labels):
                            _add(anti, ni.node, t.topology_key)
        state[_FILTER_KEY] = _FilterState(terms, affinity, anti, existing)
        return OK

    def filter(self, state: CycleState, pod: dict, node_info: NodeInfo) -> Status:
        s: _FilterState = state.get(_FILTER_KEY)
        if s is None:                        # PreFilter said Skip
            return OK
        labels = (node_info.node.get("metadata") or {}).get("labels") or {}
        if not self._satisfies_affinity(s, pod, labels):
            return Status(UNRESOLVABLE, (ERR_AFFINITY,), NAME)
        for t in s.terms.required_anti_affinity:
            if t.topology_key in labels and \
                    s.anti_affinity_counts.get((t.topology_key, labels[t.topology_key]), 0) > 0:
                return Status(UNSCHEDULABLE, (ERR_ANTI_AFFINITY,), NAME)
        if s.existing_anti_counts and any(
                s.existing_anti_counts.get(pair, 0) > 0 for pair in labels.items()):
            return Status(UNSCHEDULABLE, (ERR_EXISTING_ANTI_AFFINITY,), NAME)
        return OK

    def _satisfies_affinity(self, s: _FilterState, pod: dict, labels: dict) -> bool:
        pods_exist = True
        for t in s.terms.required_affinity:
            if t.topology_key not in labels:
                return False                 # every topology label must be on the node
            if s.affinity_counts.get((t.topology_key, labels[t.topology_key]), 0) <= 0:
                pods_exist = False
        if pods_exist:
            return True
        # The first pod of a group with affinity to itself: no pod anywhere matches yet,
        # so let it start the group (else it, and every later one, stays Pending).
        return not s.affinity_counts and matches_all(pod, s.terms.required_affinity,
                                                     self.namespace_labels)

    # ------------------------------------------------------------ scoring
    def pre_score(self, state: CycleState, pod: dict, nodes: list) -> Status:
        if not nodes:
            return SKIPPED
        try:
            terms = pod_terms(pod)
        except BadRequest as e:
            return Status(UNRESOLVABLE, (f"parsing pod: {e}",), NAME)
        has_constraints = bool(terms.preferred_affinity or terms.preferred_anti_affinity)
        # The ignorePreferredTermsOfExistingPods arg: a pod without preferences of its own
        # is not scored by the other pods' preferences either.
        if self.ignore_preferred_terms_of_existing_pods and not has_constraints:
            return SKIPPED
        all_nodes = state.get(_ALL_NODES_KEY, nodes)
        # Unless the pod has preferred terms, only pods with affinity can add anything.
        walk = all_nodes if has_constraints else nodes_with_affinity_pods(state, all_nodes)
        scores: dict = {}                    # (key, value) -> summed weight
        for ni in walk:
            for other in ni.pods:
                self._score_existing_pod(scores, terms, pod, other, ni.node)
        if not scores:
            return SKIPPED
        state[_SCORE_KEY] = scores
        return OK

    def _score_existing_pod(self, scores: dict, terms: PodTerms, pod: dict,
                            other: dict, node: dict) -> None:
        ns_labels = self.namespace_labels
        # The incoming pod's preferences, met (or offended) by the existing pod...
        for t in terms.preferred_affinity:
            if t.matches(other, ns_labels):
                _add(scores, node, t.topology_key, t.weight)
        for t in terms.preferred_anti_affinity:
            if t.matches(other, ns_labels):
                _add(scores, node, t.topology_key, -t.weight)
        if not has_pod_affinity(other):
            return
        # ...and symmetrically the existing pod's own wishes about the incoming pod.
        theirs = existing_pod_terms(other)
        if self.hard_pod_affinity_weight > 0:
            for t in theirs.required_affinity:
                if t.matches(pod, ns_labels):
                    _add(scores, node, t.topology_key, self.hard_pod_affinity_weight)
        for t in theirs.preferred_affinity:
            if t.matches(pod, ns_labels):
                _add(scores, node, t.topology_key, t.weight)
        for t in theirs.preferred_anti_affinity:
            if t.matches(pod, ns_labels):
                _add(scores, node, t.topology_key, -t.weight)

    def score(self, state: CycleState, pod: dict, node_info: NodeInfo) -> int:
        scores = state.get(_SCORE_KEY)
        if not scores:
            return 0
        labels = (node_info.node.get("metadata") or {}).get("labels") or {}
        return sum(scores.get(pair, 0) for pair in labels.items())

    def normalize_score(self, state: CycleState, pod: dict, scores: dict) -> None:
        """Min-max onto 0..100, truncating as Go's int64() does; all equal -> all 0."""
        if not state.get(_SCORE_KEY) or not scores:
            return
        lo, hi = min(scores.values()), max(scores.values())
        for name, s in scores.items():
            scores[name] = int(MAX_NODE_SCORE * (s - lo) / (hi - lo)) if hi > lo else 0
