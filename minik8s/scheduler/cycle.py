"""One scheduling cycle: which node should this pod run on?

In Kubernetes, `pkg/scheduler/schedule_one.go` and `framework/runtime` run a pod
through the plugins of its profile: PreFilter (once per pod: compute what Filter needs;
a plugin that has nothing to check for this pod answers Skip and its Filter is not
run; a plugin that rejects the pod rejects every node), Filter (per node, stopping at
the first plugin that says no — that plugin's reasons are the node's reasons), then
for the feasible nodes PreScore, Score, NormalizeScore, the weighted sum, and the
highest total wins, ties broken at random. This module is that cycle, sequential and
without extenders, preemption (PostFilter) or nominated nodes.

The scale trick is Kubernetes' too (`percentageOfNodesToScore`): in a big cluster the
cycle stops filtering once it has found "enough" feasible nodes, and the next cycle
starts where this one stopped (a round-robin start index kept in the Framework), so
every node gets its turn. `Profile(percentage_of_nodes_to_score=100)` turns it off.

When no node fits, `ScheduleResult.message` is Kubernetes' FitError text, e.g.
`0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint
{node-role.kubernetes.io/control-plane: }.` — kube-scheduler appends a
`preemption: ...` sentence from its DefaultPreemption plugin; minik8s has no
preemption, so the text is what kube-scheduler prints with that plugin disabled.

Plugin exceptions are not caught here: a buggy plugin fails loudly in a test.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Optional

from minik8s.scheduler.framework import (
    ERROR, MAX_NODE_SCORE, SKIP, SUCCESS, UNRESOLVABLE, UNSCHEDULABLE, CycleState, Status)

# schedule_one.go: below 100 nodes every node is checked; above, at least 100
# feasible nodes and at least 5 % of the cluster.
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5

NO_NODES_AVAILABLE = "no nodes available to schedule pods"   # ErrNoNodesAvailable
NO_NODE_AVAILABLE_MSG = "0/{} nodes are available"           # NoNodeAvailableMsg

# Per-plugin scores cost a dict per node; they are kept when the profile (or the
# caller) asks for an explanation, or when so few nodes were scored that it is free.
EXPLAIN_SCORES_UP_TO = 10


@dataclass
class Profile:
    """A scheduler profile: the plugins (each with its score weight) and the knobs.

    A plugin implements any subset of pre_filter/filter/pre_score/score/
    normalize_score; it takes part in each extension point it implements. Weight 0
    means "does not score" (config.py turns a configured 0 into 1, as Kubernetes does).
    """
    plugins: list                                 # [(plugin, weight)]
    percentage_of_nodes_to_score: int = 0         # 0 = adaptive (Kubernetes' default)
    scheduler_name: str = "default-scheduler"
    explain: bool = False


@dataclass
class ScheduleResult:
    node: Optional[str]                           # the chosen node, None if none
    feasible: int = 0                             # feasible nodes found
    evaluated: int = 0                            # nodes filtered (feasible + failed)
    statuses: dict = field(default_factory=dict)  # node name -> Status of its failed filter
    scores: dict = field(default_factory=dict)    # node -> {plugin: weighted score}
    message: str = ""                             # FitError text / error text
    code: str = SUCCESS                           # SUCCESS, UNSCHEDULABLE, UNRESOLVABLE, ERROR
    unschedulable_plugins: frozenset = frozenset()  # plugins that rejected the pod


def plugin_name(plugin) -> str:
    return getattr(plugin, "name", None) or type(plugin).__name__


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    """How many feasible nodes are "enough" (numFeasibleNodesToFind)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage <= 0:
        # Adaptive: 50 % at 100 nodes, falling by 1 % every 125 nodes, floor 5 %.
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    num = num_all_nodes * min(percentage, 100) // 100
    return max(num, MIN_FEASIBLE_NODES_TO_FIND)


def fit_error_message(num_all_nodes: int, statuses: dict, prefilter_msg: str = "") -> str:
    """FitError.Error(): each reason counted over the nodes, as "<count> <reason>",
    sorted as strings (so "10 X" sorts before "2 Y", exactly as Go's sort.Strings)."""
    msg = NO_NODE_AVAILABLE_MSG.format(num_all_nodes) + ":"
    if prefilter_msg:
        # A PreFilter rejection applies to every node: say it once, not once per node.
        return f"{msg} {prefilter_msg}."
    counts = Counter(reason for st in statuses.values() for reason in st.reasons)
    histogram = sorted(f"{n} {reason}" for reason, n in counts.items())
    if histogram:
        msg += f" {', '.join(histogram)}."
    return msg


def select_host(scores: dict, rng: random.Random) -> str:
    """The node with the highest total score; ties broken uniformly at random."""
    if not scores:
        raise ValueError("empty priorityList")
    # BEGIN LAB 03: pick the best node — highest total, ties uniformly at random
    # Pitfall: max(scores, key=scores.get) always picks the first of the tied nodes,
    # so equal nodes fill up in name order instead of spreading. Reservoir sampling
    # keeps the k-th tied node with probability 1/k: one pass, every tie equally likely.
    selected, best, ties = None, None, 0
    for name, score in scores.items():
        if best is None or score > best:
            selected, best, ties = name, score, 1
        elif score == best:
            ties += 1
            if rng.randrange(ties) == 0:
                selected = name
    return selected
    # END LAB 03


class Framework:
    """Runs scheduling cycles for one profile. Keeps the round-robin start index
    between cycles, so it is one object per scheduler, not one per pod."""

    def __init__(self, profile: Profile, rng: Optional[random.Random] = None):
        self.profile = profile
        self.rng = rng if rng is not None else random.Random(0)
        self.next_start_node_index = 0
        # Bound methods per extension point, in profile order, looked up once.
        self.pre_filters, self.filters, self.pre_scores = [], [], []
        self.scorers = []                         # (name, score, normalize_score|None, weight)
        for plugin, weight in profile.plugins:
            name = plugin_name(plugin)
            if hasattr(plugin, "pre_filter"):
                self.pre_filters.append((name, plugin.pre_filter))
            if hasattr(plugin, "filter"):
                self.filters.append((name, plugin.filter))
            scores = hasattr(plugin, "score")
            if hasattr(plugin, "pre_score") and (weight or not scores):
                self.pre_scores.append((name, plugin.pre_score))
            if scores and weight:
                self.scorers.append((name, plugin.score,
                                     getattr(plugin, "normalize_score", None), weight))

    # -- the cycle ------------------------------------------------------------------

    def schedule(self, pod: dict, nodes: list, explain: Optional[bool] = None,
                 hints: Optional[dict] = None) -> ScheduleResult:
        """Choose a node for `pod` among `nodes` (NodeInfos, in a stable order).
        `hints` seed the CycleState with facts the caller's cache already knows (e.g.
        the nodes holding pods with affinity), so plugins need not recompute them."""
        explain = self.profile.explain if explain is None else explain
        if not nodes:
            return ScheduleResult(None, message=NO_NODES_AVAILABLE, code=UNRESOLVABLE)
        state = CycleState(hints or {})

        # 1. PreFilter: once per pod.
        skip, rejected = set(), None
        for name, pre_filter in self.pre_filters:
            st = pre_filter(state, pod, nodes)
            if st.code == SUCCESS:
                continue
            if st.code == SKIP:
                skip.add(name)
                continue
            st = replace(st, plugin=name)
            if st.code not in (UNSCHEDULABLE, UNRESOLVABLE):
                return _error(f'running PreFilter plugin "{name}": {_text(st)}')
            rejected = st
            if st.code == UNRESOLVABLE:
                break           # Kubernetes runs the others only for preemption's sake
        if rejected is not None:
            msg = _text(rejected)
            statuses = {ni.name: rejected for ni in nodes} if explain else {}
            return ScheduleResult(None, statuses=statuses, code=UNSCHEDULABLE,
                                  message=fit_error_message(len(nodes), {}, msg),
                                  unschedulable_plugins=frozenset([rejected.plugin]))

        # 2. Filter, until enough feasible nodes are found.
        filters = [(n, f) for n, f in self.filters if n not in skip]
        feasible, statuses, error = self.find_nodes_that_pass_filters(state, pod, nodes, filters)
        if error is not None:
            return _error(error)
        evaluated = len(feasible) + len(statuses)
        if not feasible:
            return ScheduleResult(
                None, evaluated=evaluated, statuses=statuses, code=UNSCHEDULABLE,
                message=fit_error_message(len(nodes), statuses),
                unschedulable_plugins=frozenset(st.plugin for st in statuses.values()))
        if len(feasible) == 1:
            # Only one candidate: scoring cannot change the answer (as Kubernetes).
            return ScheduleResult(feasible[0].name, 1, evaluated, statuses)

        # 3. Score the feasible nodes and pick the best.
        names = [ni.name for ni in feasible]
        keep = explain or len(feasible) <= EXPLAIN_SCORES_UP_TO
        totals, per_plugin, error = self.prioritize(state, pod, feasible, names, keep)
        if error is not None:
            return _error(error)
        node = select_host(dict(zip(names, totals)), self.rng)
        scores = ({n: {p: s[i] for p, s in per_plugin.items()} for i, n in enumerate(names)}
                  if keep else {})
        return ScheduleResult(node, len(feasible), evaluated, statuses, scores)

    def find_nodes_that_pass_filters(self, state, pod, nodes, filters):
        """(feasible NodeInfos, {node name: failed Status}, error text or None)."""
        n = len(nodes)
        to_find = num_feasible_nodes_to_find(self.profile.percentage_of_nodes_to_score, n)
        if not self.scorers:
            to_find = 1         # nothing to compare nodes with: the first fit will do
        start = self.next_start_node_index % n
        # Check from where the last cycle stopped, so that every node gets its turn.
        ordered = nodes[start:] + nodes[:start] if start else nodes
        feasible, statuses, error = [], {}, None
        for ni in ordered:
            for name, filter_ in filters:
                st = filter_(state, pod, ni)
                if st.code != SUCCESS:
                    break       # first failing plugin decides the node's reasons
            else:
                feasible.append(ni)
                if len(feasible) >= to_find:
                    break
                continue
            if st.code not in (UNSCHEDULABLE, UNRESOLVABLE):
                # Filters may only say Success or Unschedulable; anything else is a bug.
                error = f'running "{name}" filter plugin: {_text(st)}'
                break
            statuses[ni.name] = st if st.plugin else replace(st, plugin=name)
        # Kubernetes moves the start index even when a filter failed with an error.
        self.next_start_node_index = (start + len(feasible) + len(statuses)) % n
        return feasible, statuses, error

    def prioritize(self, state, pod, feasible, names, keep):
        """(total per feasible node, {plugin: weighted scores} if keep, error or None)."""
        skip = set()
        for name, pre_score in self.pre_scores:
            st = pre_score(state, pod, feasible)
            if st.code == SKIP:
                skip.add(name)              # nothing to score for this pod
            elif st.code != SUCCESS:
                return None, None, f'running PreScore plugin "{name}": {_text(st)}'
        totals = [0] * len(feasible)
        per_plugin = {}
        for name, score, normalize_score, weight in self.scorers:
            if name in skip:
                continue
            raw = [score(state, pod, ni) for ni in feasible]
            if normalize_score is not None:
                by_node = dict(zip(names, raw))
                normalize_score(state, pod, by_node)
                raw = [by_node[n] for n in names]
            # Checked after normalising: a plugin without normalize_score must already
            # score within 0..100, or one plugin would outweigh all the others.
            if min(raw) < 0 or max(raw) > MAX_NODE_SCORE:
                bad = next(s for s in raw if s < 0 or s > MAX_NODE_SCORE)
                return None, None, (
                    'applying score defaultWeights on Score plugins: plugin '
                    f'"{name}" returns an invalid score {bad}, it should in the range '
                    f'of [0, {MAX_NODE_SCORE}] after normalizing')
            weighted = [s * weight for s in raw]
            totals = [t + s for t, s in zip(totals, weighted)]
            if keep:
                per_plugin[name] = weighted
        return totals, per_plugin, None


def _text(st: Status) -> str:
    """Status.Message(): its reasons joined with ", "."""
    return ", ".join(st.reasons)


def _error(message: str) -> ScheduleResult:
    return ScheduleResult(None, message=message, code=ERROR)
