"""Pod helpers the workload controllers share: active, ready, available, and which
pod to delete first.

In Kubernetes these live in `pkg/api/v1/pod/util.go` (IsPodReady, IsPodAvailable)
and `pkg/controller/controller_utils.go` (IsPodActive, ActivePodsWithRanks). The
ReplicaSet controller counts only *active* pods (not finished, not being deleted),
reports how many are *ready* and how many are *available* (ready for at least
`minReadySeconds`), and when it has too many it deletes the ones whose loss hurts
least — a pod that never got a node before a running one, a not-ready one before a
ready one, the youngest before the oldest.

Everything here is a pure function of pod dicts and a time (`now`, epoch seconds from
the caller's Clock), so the ranking can be tested as a table.
"""
from __future__ import annotations

import functools
import math
from typing import Optional

from ..api.meta import get_path, parse_time

# An annotation users put on pods to say "delete me first" (lower cost goes first).
POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"

# ActivePodsWithRanks rule 2: Pending < Unknown < Running (anything else counts as Pending).
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def is_pod_active(pod: dict) -> bool:
    """Not Succeeded, not Failed, and not being deleted: a pod that still counts."""
    phase = get_path(pod, "status", "phase")
    return phase not in ("Succeeded", "Failed") and not get_path(pod, "metadata",
                                                                 "deletionTimestamp")


def is_terminating(pod: dict) -> bool:
    return bool(get_path(pod, "metadata", "deletionTimestamp"))


def ready_condition(pod: dict) -> Optional[dict]:
    for c in get_path(pod, "status", "conditions") or []:
        if c.get("type") == "Ready":
            return c
    return None


def is_pod_ready(pod: dict) -> bool:
    c = ready_condition(pod)
    return c is not None and c.get("status") == "True"


def ready_since(pod: dict) -> Optional[float]:
    """When the Ready condition last turned True (None: not ready, or no time)."""
    c = ready_condition(pod)
    if c is None or c.get("status") != "True":
        return None
    return parse_time(c.get("lastTransitionTime"))


def is_pod_available(pod: dict, min_ready_seconds: int, now: float) -> bool:
    """IsPodAvailable: ready, and ready for longer than minReadySeconds. As in
    Kubernetes the comparison is strict (`lastTransitionTime + minReady < now`)."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds < now


def available_at(pod: dict, min_ready_seconds: int) -> Optional[float]:
    """The instant a ready pod turns available (so a controller can look again then)."""
    since = ready_since(pod)
    return None if since is None else since + (min_ready_seconds or 0)


def max_container_restarts(pod: dict) -> int:
    return max([cs.get("restartCount") or 0
                for cs in get_path(pod, "status", "containerStatuses") or []] or [0])


def deletion_cost(pod: dict) -> int:
    """The pod-deletion-cost annotation as an int32 (0 when absent or malformed)."""
    raw = (get_path(pod, "metadata", "annotations") or {}).get(POD_DELETION_COST)
    try:
        value = int(raw) if isinstance(raw, str) and raw.strip() == raw else 0
    except ValueError:
        return 0
    return value if -2**31 <= value < 2**31 else 0


# --- which pods to delete first --------------------------------------------------------

def pods_to_delete(pods: list, related_pods: list, diff: int, now: float) -> list:
    """getPodsToDelete: the `diff` pods of `pods` whose deletion hurts least.
    `related_pods` are all active pods of the same owner family (a Deployment's other
    ReplicaSets too): a pod on a node crowded with its siblings goes first."""
    if diff >= len(pods):
        return list(pods)
    on_node: dict = {}
    for p in related_pods:
        if is_pod_active(p):
            node = get_path(p, "spec", "nodeName") or ""
            on_node[node] = on_node.get(node, 0) + 1
    ranked = [(p, on_node.get(get_path(p, "spec", "nodeName") or "", 0)) for p in pods]
    ranked.sort(key=functools.cmp_to_key(lambda a, b: compare_for_deletion(a, b, now)))
    return [p for p, _ in ranked[:diff]]


def compare_for_deletion(a: tuple, b: tuple, now: float) -> int:
    """ActivePodsWithRanks.Less as a cmp: negative when pod `a` should be deleted
    before pod `b`. `a` and `b` are (pod, rank) with rank = active sibling pods on the
    same node. Each rule decides only when the two pods differ on it."""
    (p, rank_p), (q, rank_q) = a, b
    # BEGIN LAB 04: deletion order — which of two pods should a ReplicaSet delete first?
    # 1. Unassigned < assigned: a pod that never got a node costs nothing to lose.
    node_p, node_q = get_path(p, "spec", "nodeName") or "", get_path(q, "spec", "nodeName") or ""
    if node_p != node_q and (not node_p or not node_q):
        return -1 if not node_p else 1
    # 2. Pending < Unknown < Running.
    ph_p = _PHASE_ORDINAL.get(get_path(p, "status", "phase"), 0)
    ph_q = _PHASE_ORDINAL.get(get_path(q, "status", "phase"), 0)
    if ph_p != ph_q:
        return -1 if ph_p < ph_q else 1
    # 3. Not ready < ready.
    if is_pod_ready(p) != is_pod_ready(q):
        return -1 if not is_pod_ready(p) else 1
    # 4. Lower pod-deletion-cost < higher.
    if deletion_cost(p) != deletion_cost(q):
        return -1 if deletion_cost(p) < deletion_cost(q) else 1
    # 5. Doubled up < not doubled up: more siblings on the same node goes first.
    if rank_p != rank_q:
        return -1 if rank_p > rank_q else 1
    # 6. Ready for a shorter time < longer (log2 buckets: LogarithmicScaleDown).
    if is_pod_ready(p) and is_pod_ready(q):
        c = _newer_first(ready_since(p), ready_since(q), now, p, q)
        if c:
            return c
    # 7. More container restarts < fewer.
    if max_container_restarts(p) != max_container_restarts(q):
        return -1 if max_container_restarts(p) > max_container_restarts(q) else 1
    # 8. Newer < older (log2 buckets again, ties broken by uid).
    created_p = parse_time(get_path(p, "metadata", "creationTimestamp"))
    created_q = parse_time(get_path(q, "metadata", "creationTimestamp"))
    return _newer_first(created_p, created_q, now, p, q)
    # END LAB 04


def _newer_first(t1: Optional[float], t2: Optional[float], now: float, p: dict, q: dict) -> int:
    """Rules 6 and 8: the more recent time goes first; a missing time counts as the
    most recent. Times in the same power-of-two age bucket are equal, and then the
    smaller uid goes first (so a scale-down does not always pick the very youngest)."""
    if t1 == t2:
        return 0
    if t1 is None or t2 is None or not now:
        return -1 if _after_or_zero(t1, t2) else 1
    diff = _log_rank(now - t1) - _log_rank(now - t2)
    if diff == 0:
        u1, u2 = get_path(p, "metadata", "uid") or "", get_path(q, "metadata", "uid") or ""
        return -1 if u1 < u2 else (1 if u1 > u2 else 0)
    return -1 if diff < 0 else 1


def _after_or_zero(t1: Optional[float], t2: Optional[float]) -> bool:
    if t1 is None or t2 is None:
        return t1 is None
    return t1 > t2


def _log_rank(age_seconds: float) -> int:
    # Kubernetes takes log2 of the age in nanoseconds.
    ns = age_seconds * 1e9
    return int(math.log2(ns)) if ns > 0 else -1
