"""NodeAffinity: spec.nodeSelector and node affinity, as kube-scheduler applies them.

In Kubernetes (`framework/plugins/nodeaffinity`, matching in
`component-helpers/scheduling/corev1/nodeaffinity`) a pod may only run on a node whose
labels carry every `spec.nodeSelector` pair AND that matches at least one of the
`requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms` (terms are ORed,
the expressions and fields inside a term ANDed). `preferredDuringScheduling...` terms
add their weight to a node's score, normalised to 0..100 over the nodes. PreFilter
says Skip when the pod has neither a nodeSelector nor required terms.

A mismatch is UnschedulableAndUnresolvable: evicting pods never changes labels.
Left out: PreFilterResult (narrowing the node list by `metadata.name` up front — the
filter reaches the same verdict node by node).
"""
from __future__ import annotations

import re

from minik8s.api.errors import BadRequest
from minik8s.api.selectors import new_requirement
from minik8s.scheduler.framework import OK, SKIPPED, Status, UNRESOLVABLE
from minik8s.scheduler.plugins.basic import default_normalize_score


def _spec(obj: dict) -> dict:
    return obj.get("spec") or {}


_INT64 = re.compile(r"[+-]?[0-9]+")


def parse_int64(s) -> int | None:
    """strconv.ParseInt(s, 10, 64): None if not a base-10 int64. Stricter than int():
    no spaces, no underscores ("1_0" is a valid label value, and not a number)."""
    if not isinstance(s, str) or not _INT64.fullmatch(s):
        return None
    n = int(s)
    return n if -2**63 <= n < 2**63 else None


def node_matches_term(term: dict, labels: dict, node_name: str) -> bool:
    """One nodeSelectorTerm: matchExpressions on labels and matchFields on
    metadata.name, all ANDed. The term is assumed valid (see _valid_term)."""
    # BEGIN LAB 03: NodeAffinity — does the node match one nodeSelectorTerm?
    # Outline: every matchExpression must hold: In (label present, value listed),
    # NotIn (label absent, or value not listed), Exists, DoesNotExist, Gt/Lt (label
    # present, both sides integers, strictly greater/less); then every matchField
    # (key metadata.name, In/NotIn with exactly one value) against the node's name.
    # Pitfall: an empty term (no expressions, no fields) matches *no* node; NotIn and
    # DoesNotExist match nodes without the label; a non-integer label never satisfies
    # Gt/Lt (`"1_0"`, `"5 "` are not integers to Kubernetes).
    expressions = term.get("matchExpressions") or ()
    fields = term.get("matchFields") or ()
    if not expressions and not fields:
        return False
    for e in expressions:
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or ()
        has = key in labels
        if op == "In":
            ok = has and labels[key] in values
        elif op == "NotIn":
            ok = not has or labels[key] not in values
        elif op == "Exists":
            ok = has
        elif op == "DoesNotExist":
            ok = not has
        elif op in ("Gt", "Lt"):
            have, want = parse_int64(labels.get(key)), parse_int64(values[0])
            ok = have is not None and want is not None and \
                (have > want if op == "Gt" else have < want)
        else:
            ok = False
        if not ok:
            return False
    for f in fields:
        value = node_name if f.get("key") == "metadata.name" else ""
        equal = value == f["values"][0]
        if equal != (f.get("operator") == "In"):
            return False
    return True
    # END LAB 03


_SELECTION_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!",
                  "Gt": "gt", "Lt": "lt"}


def _valid_term(term: dict) -> bool:
    """Would Kubernetes parse this term? (labels.NewRequirement for each expression:
    key, arity, integer for Gt/Lt, label values; matchFields: In/NotIn, one value.)
    The API server does not validate affinity, so a bad term can reach the scheduler;
    Kubernetes then treats it as matching nothing."""
    for e in term.get("matchExpressions") or ():
        try:
            new_requirement(e.get("key") or "", _SELECTION_OPS.get(e.get("operator"), "?"),
                            e.get("values") or ())
        except BadRequest:
            return False
    return all(f.get("operator") in ("In", "NotIn") and len(f.get("values") or ()) == 1
               for f in term.get("matchFields") or ())


def _terms(selector: dict | None):
    """Parsed required terms: None when there is no selector; invalid terms dropped (in
    an OR they matched nothing anyway). Pitfall: [] then matches nothing, not all."""
    if selector is None:
        return None
    return [t for t in selector.get("nodeSelectorTerms") or () if _valid_term(t)]


def _preferred(terms) -> list:
    """[(weight, term)] that can score: weight 0 and empty or invalid terms dropped."""
    return [(t.get("weight") or 0, t.get("preference") or {}) for t in terms or ()
            if t.get("weight") and _valid_term(t.get("preference") or {})]


def _pinned_names(term: dict) -> set | None:
    """The node names a term's `metadata.name In` fields allow (intersected), or None."""
    names = None
    for f in term.get("matchFields") or ():
        if f.get("key") == "metadata.name" and f.get("operator") == "In":
            values = set(f.get("values") or ())
            names = values if names is None else names & values
    return names


def matches_required(node: dict, node_selector: dict | None, terms) -> bool:
    """spec.nodeSelector (every label equal) AND any of the required terms."""
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    for key, value in (node_selector or {}).items():
        if key not in labels or labels[key] != value:
            return False
    if terms is None:
        return True
    return any(node_matches_term(t, labels, meta.get("name", "")) for t in terms)


class NodeAffinity:
    """Filter: nodeSelector + requiredDuringScheduling terms. Score: sum of the weights
    of the matching preferredDuringScheduling terms, normalised to 0..100.
    args `addedAffinity` is a node affinity the scheduler enforces on every pod."""
    name = "NodeAffinity"
    REASON = "node(s) didn't match Pod's node affinity/selector"
    REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"
    REASON_CONFLICT = "pod affinity terms conflict"
    _PRE_FILTER, _PRE_SCORE = "PreFilterNodeAffinity", "PreScoreNodeAffinity"

    def __init__(self, args: dict | None = None):
        added = (args or {}).get("addedAffinity") or {}
        self.added_terms = _terms(added.get("requiredDuringSchedulingIgnoredDuringExecution"))
        self.added_preferred = _preferred(added.get("preferredDuringSchedulingIgnoredDuringExecution"))

    @staticmethod
    def _node_affinity(pod: dict) -> dict:
        return (_spec(pod).get("affinity") or {}).get("nodeAffinity") or {}

    def _required(self, pod: dict) -> tuple:
        required = self._node_affinity(pod).get("requiredDuringSchedulingIgnoredDuringExecution")
        return _spec(pod).get("nodeSelector") or None, _terms(required)

    def pre_filter(self, state, pod, nodes) -> Status:
        selector, terms = self._required(pod)
        if selector is None and terms is None and self.added_terms is None:
            return SKIPPED
        state[self._PRE_FILTER] = (selector, terms)
        # Every required term pins metadata.name and none can hold (In two different
        # names): Kubernetes gives up at PreFilter. Checked on the raw terms, as it does.
        required = self._node_affinity(pod).get("requiredDuringSchedulingIgnoredDuringExecution")
        pinned = [_pinned_names(t) for t in (required or {}).get("nodeSelectorTerms") or ()]
        if pinned and all(p is not None for p in pinned) and not set().union(*pinned):
            return Status(UNRESOLVABLE, (self.REASON_CONFLICT,), self.name)
        return OK

    def filter(self, state, pod, node) -> Status:
        if self.added_terms is not None and not matches_required(node.node, None, self.added_terms):
            return Status(UNRESOLVABLE, (self.REASON_ENFORCED,), self.name)
        selector, terms = state.get(self._PRE_FILTER) or self._required(pod)
        if matches_required(node.node, selector, terms):
            return OK
        return Status(UNRESOLVABLE, (self.REASON,), self.name)

    def _preferred_terms(self, pod: dict) -> list:
        preferred = self._node_affinity(pod).get("preferredDuringSchedulingIgnoredDuringExecution")
        return self.added_preferred + _preferred(preferred)

    def pre_score(self, state, pod, nodes) -> Status:
        terms = self._preferred_terms(pod)
        if not terms:
            return SKIPPED
        state[self._PRE_SCORE] = terms
        return OK

    def score(self, state, pod, node) -> int:
        terms = state.get(self._PRE_SCORE)
        if terms is None:
            terms = self._preferred_terms(pod)
        meta = node.node.get("metadata") or {}
        labels, name = meta.get("labels") or {}, meta.get("name", "")
        return sum(w for w, t in terms if node_matches_term(t, labels, name))

    def normalize_score(self, state, pod, scores: dict) -> None:
        default_normalize_score(scores)
