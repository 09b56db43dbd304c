"""Taint-based eviction: pods leave a node whose NoExecute taints they stop tolerating.

In Kubernetes a `NoExecute` taint on a node (`node.kubernetes.io/unreachable`, put there
by the node lifecycle controller when the kubelet goes silent, or any taint a user adds
with `kubectl taint ... :NoExecute`) evicts every pod on the node that does not tolerate
it, at once; a pod whose toleration has `tolerationSeconds` stays that long, then goes;
a toleration without `tolerationSeconds` keeps the pod forever. (The API server gives
every pod `not-ready`/`unreachable` tolerations of 300 s: DefaultTolerationSeconds.)
The evicting component was the NoExecuteTaintManager inside the node lifecycle
controller, and since 1.29 is the `taint-eviction-controller`. An eviction is a status
patch adding the condition `DisruptionTarget` (reason `DeletionByTaintManager`), a
plain (graceful) DELETE, and an Event `TaintManagerEviction` "Marking for deletion Pod
<ns>/<name>". A pod deleted from an unreachable node stays Terminating (no kubelet
confirms it), but it no longer counts for its ReplicaSet, which replaces it elsewhere.

Here the decision is a pure function (`eviction_time`) and `evict_pod` does the API
calls; the node lifecycle controller calls both from its per-node reconcile, as the
taint manager ran inside it up to 1.28.

One difference, on purpose: Kubernetes starts a pod's toleration clock when its taint
manager first *sees* the pod on the tainted node, in memory (a restarted controller
starts every clock again). Here the clock starts at the taint's `timeAdded` (the node
lifecycle controller stamps it; for a taint without one, when this controller first saw
it) or when the pod was bound to the node, whichever is later: the same moment in the
usual case, and a restart changes nothing (level-triggered).
"""
from __future__ import annotations

import logging
from typing import Callable, Optional

from ..api.errors import NotFound
from ..api.meta import get_path, parse_time, rfc3339
from ..api.taints import tolerates  # noqa: F401  (re-exported: part of this module's API)

log = logging.getLogger(__name__)

NO_EXECUTE, NO_SCHEDULE = "NoExecute", "NoSchedule"
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
DISRUPTION_TARGET = "DisruptionTarget"
COMPONENT = "taint-eviction-controller"     # the Events' source, as in Kubernetes 1.29+


def no_execute_taints(node: dict) -> list:
    return [t for t in get_path(node, "spec", "taints") or [] if t.get("effect") == NO_EXECUTE]


def eviction_time(taints: list, tolerations: list, bound_at: float,
                  taint_added: Callable[[dict], float]) -> Optional[float]:
    """When (epoch seconds) a pod with `tolerations`, bound to its node at `bound_at`,
    must be evicted because of the node's `taints`; None if it may stay forever.
    `taint_added(taint)` says when a taint appeared."""
    # BEGIN LAB 08: taint-based eviction — when must this pod leave the node?
    # Outline: only NoExecute taints count. For each one, find the *first* toleration
    # that tolerates it (GetMatchingTolerations): none -> evict now (return 0.0, a time
    # long past); no tolerationSeconds -> tolerated forever (this taint sets no limit);
    # otherwise the limit is start + tolerationSeconds, where start is when the taint
    # was added or the pod was bound, whichever is later. The answer is the earliest
    # limit over all taints, or None when there is none.
    # Pitfall: tolerationSeconds <= 0 means "evict now", not "never".
    deadline: Optional[float] = None
    for taint in taints:
        if taint.get("effect") != NO_EXECUTE:
            continue
        toleration = next((t for t in tolerations if tolerates(t, taint)), None)
        if toleration is None:
            return 0.0
        seconds = toleration.get("tolerationSeconds")
        if seconds is None:
            continue
        at = max(taint_added(taint), bound_at) + max(int(seconds), 0)
        deadline = at if deadline is None else min(deadline, at)
    return deadline
    # END LAB 08


def bound_at(pod: dict) -> float:
    """When the pod was bound to its node: its PodScheduled condition's transition
    (set by the binding), else its creation (a pod created with spec.nodeName)."""
    for c in get_path(pod, "status", "conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("status") == "True":
            t = parse_time(c.get("lastTransitionTime"))
            if t is not None:
                return t
    return parse_time(get_path(pod, "metadata", "creationTimestamp")) or 0.0


def with_pod_condition(status: dict, condition: dict, now: float) -> Optional[list]:
    """status.conditions with `condition` set (apipod.UpdatePodCondition): replaced in
    place, lastTransitionTime kept unless its status changes. None if nothing changes."""
    conditions = list(status.get("conditions") or [])
    for i, old in enumerate(conditions):
        if old.get("type") != condition["type"]:
            continue
        if all(old.get(k) == condition.get(k) for k in ("status", "reason", "message")):
            return None
        since = old.get("lastTransitionTime") if old.get("status") == condition["status"] \
            else None
        conditions[i] = dict(condition, lastProbeTime=None,
                             lastTransitionTime=since or rfc3339(now))
        return conditions
    conditions.append(dict(condition, lastProbeTime=None, lastTransitionTime=rfc3339(now)))
    return conditions


def disruption_condition(reason: str, message: str) -> dict:
    return {"type": DISRUPTION_TARGET, "status": "True", "reason": reason, "message": message}


def patch_pod_status(client, pod: dict, now: float, *, condition: Optional[dict] = None,
                     phase: Optional[str] = None) -> None:
    """PATCH pods/<name>/status with a condition and/or a new phase, guarded by the
    resourceVersion the decision was made on (a Conflict means: look again)."""
    meta, status = pod["metadata"], pod.get("status") or {}
    body: dict = {}
    if condition is not None:
        conditions = with_pod_condition(status, condition, now)
        if conditions is not None:
            body["conditions"] = conditions
    if phase is not None and status.get("phase") != phase:
        body["phase"] = phase
    if body:
        client.patch("pods", meta["name"],
                     {"metadata": {"resourceVersion": meta["resourceVersion"]}, "status": body},
                     meta.get("namespace"), subresource="status")


def evict_pod(client, pod: dict, now: float, recorder=None) -> None:
    """What the taint manager does to a pod whose time is up: an Event, the
    DisruptionTarget condition, then a graceful DELETE of exactly this pod (by UID)."""
    meta = pod["metadata"]
    ref = f"{meta.get('namespace')}/{meta['name']}"
    log.info("taint eviction: deleting pod %s from node %s", ref,
             get_path(pod, "spec", "nodeName"))
    if recorder is not None:
        recorder.event(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {ref}")
    try:
        patch_pod_status(client, pod, now, condition=disruption_condition(
            "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint"))
        client.delete("pods", meta["name"], meta.get("namespace"),
                      preconditions={"uid": meta["uid"]})
    except NotFound:
        pass                                 # already gone: nothing left to evict
