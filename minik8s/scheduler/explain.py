"""Explanations: why the scheduler put a pod where it did, written on the pod.

kube-scheduler says little: an Event ("Successfully assigned ...") or, on failure, the
FitError counts ("0/3 nodes are available: 1 Insufficient cpu, ..."). The
kube-scheduler-simulator (sigs.k8s.io/kube-scheduler-simulator) runs a "debuggable
scheduler" that records every plugin's verdict as pod annotations, so
`kubectl get pod x -o yaml` shows the whole decision. minik8s writes the same
annotations, in the same format, when asked (the scheduler's `explain` flag, or the
pod's `scheduler.minik8s.io/explain: "true"`):

    scheduler-simulator/filter-result      {"node": {"Plugin": "passed" | reasons}}
    scheduler-simulator/score-result       {"node": {"Plugin": "<score>"}}
    scheduler-simulator/finalscore-result  {"node": {"Plugin": "<score x weight>"}}
    scheduler-simulator/selected-node      node name (plain text, not JSON)

JSON strings with string values, as the simulator writes them. Differences: a node's
filters stop at its first failure (as in kube-scheduler), so plugins after it are
absent; plugins skipped at PreFilter are shown "passed"; score-result holds the
*normalized* score (the cycle keeps only that), not the raw one before
NormalizeScore; with percentageOfNodesToScore < 100, only the nodes the cycle looked
at appear. Pure functions: the scheduler does the patch.
"""
from __future__ import annotations

import json
from typing import Optional

EXPLAIN_ANNOTATION = "scheduler.minik8s.io/explain"
FILTER_RESULT = "scheduler-simulator/filter-result"
SCORE_RESULT = "scheduler-simulator/score-result"
FINALSCORE_RESULT = "scheduler-simulator/finalscore-result"
SELECTED_NODE = "scheduler-simulator/selected-node"
PASSED = "passed"                      # the simulator's word for a filter that passed


def explanation(profile, result, node: Optional[str]) -> dict:
    """Annotation values for one cycle. filter-result: node -> plugin -> "passed" or
    the failing plugin's reasons (filters stop at a node's first failure, as in
    Kubernetes, so later plugins are absent for that node); score-result: the
    normalized score of each plugin before its weight; finalscore-result: after it."""
    filters = _plugin_names(profile, "filter")
    weights = _weights(profile)
    filter_result: dict = {}
    for name, status in sorted(result.statuses.items()):
        row = {}
        for plugin in filters:
            if plugin == status.plugin:
                row[plugin] = ", ".join(status.reasons)
                break
            row[plugin] = PASSED
        if status.plugin not in row:           # a PreFilter verdict: no filter ran
            row[status.plugin or "PreFilter"] = ", ".join(status.reasons)
        filter_result[name] = row
    for name in sorted(set(result.scores) | ({node} if node else set())):
        filter_result[name] = {plugin: PASSED for plugin in filters}
    score, final = {}, {}
    for name, per_plugin in sorted(result.scores.items()):
        final[name] = {p: str(s) for p, s in sorted(per_plugin.items())}
        score[name] = {p: str(s // weights[p] if weights.get(p) else s)
                       for p, s in sorted(per_plugin.items())}
    out = {FILTER_RESULT: to_json(filter_result), SCORE_RESULT: to_json(score),
           FINALSCORE_RESULT: to_json(final)}
    if node:
        out[SELECTED_NODE] = node
    return out


def _plugin_names(profile, method: str) -> list:
    return [getattr(p, "name", type(p).__name__) for p, _w in profile.plugins
            if hasattr(p, method)]


def _weights(profile) -> dict:
    return {getattr(p, "name", type(p).__name__): w for p, w in profile.plugins}


def to_json(value) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
