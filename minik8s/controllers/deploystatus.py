"""Deployment status: counts, conditions, and whether a rollout is progressing.

In Kubernetes (`sync.go` calculateStatus, `progress.go` syncRolloutStatus) a
Deployment's status is summed from its ReplicaSets' statuses — replicas,
updatedReplicas (the new ReplicaSet's), readyReplicas, availableReplicas,
unavailableReplicas — plus two conditions that `kubectl rollout status` and
`kubectl describe` read:

- **Available**: True (MinimumReplicasAvailable) when at least
  replicas - maxUnavailable pods are available, else False (MinimumReplicasUnavailable);
- **Progressing**: True with NewReplicaSetCreated / FoundNewReplicaSet /
  ReplicaSetUpdated while a rollout moves, NewReplicaSetAvailable once it completed,
  Unknown with DeploymentPaused / DeploymentResumed, and False with
  ProgressDeadlineExceeded when nothing moved for progressDeadlineSeconds.

A condition is only rewritten when its status or reason changes (lastTransitionTime
moves only when the status does), except that Progressing's lastUpdateTime moves on
every sign of progress — that is the clock the deadline is measured against.

Pure functions of dicts and `now` (epoch seconds).
"""
from __future__ import annotations

from typing import Optional

from ..api.meta import get_path, parse_time, rfc3339
from . import deployutil as du

AVAILABLE, PROGRESSING, REPLICA_FAILURE = "Available", "Progressing", "ReplicaFailure"
# Reasons (deployment_util.go)
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
FAILED_RS_CREATE = "ReplicaSetCreateError"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
MAX_INT32 = 2**31 - 1


def new_condition(type: str, status: str, reason: str, message: str, now: float) -> dict:
    t = rfc3339(now)
    return {"type": type, "status": status, "lastUpdateTime": t, "lastTransitionTime": t,
            "reason": reason, "message": message}


def get_condition(status: Optional[dict], type: str) -> Optional[dict]:
    for c in (status or {}).get("conditions") or []:
        if c.get("type") == type:
            return c
    return None


def set_condition(status: dict, cond: dict) -> None:
    """SetDeploymentCondition: no-op if status and reason are unchanged; keeps the old
    lastTransitionTime if only the reason changed; the condition moves to the end."""
    current = get_condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] \
            and current.get("reason") == cond["reason"]:
        return
    cond = dict(cond)
    if current is not None and current.get("status") == cond["status"]:
        cond["lastTransitionTime"] = current.get("lastTransitionTime")
    status["conditions"] = [c for c in status.get("conditions") or []
                            if c.get("type") != cond["type"]] + [cond]


def remove_condition(status: dict, type: str) -> None:
    kept = [c for c in status.get("conditions") or [] if c.get("type") != type]
    if kept:
        status["conditions"] = kept
    else:
        status.pop("conditions", None)


def has_progress_deadline(d: dict) -> bool:
    deadline = get_path(d, "spec", "progressDeadlineSeconds")
    return deadline is not None and deadline != MAX_INT32


def has_revision_history_limit(d: dict) -> bool:
    limit = get_path(d, "spec", "revisionHistoryLimit")
    return limit is not None and limit != MAX_INT32


# --- counts and Available -------------------------------------------------------------------

def calculate_status(all_rss: list, new_rs: Optional[dict], d: dict, now: float) -> dict:
    """The status the Deployment should show for its ReplicaSets (zero counts are left
    out, as the API's omitempty does)."""
    available = du.status_count(all_rss, "availableReplicas")
    unavailable = max(du.spec_count(all_rss) - available, 0)
    counts = {"observedGeneration": get_path(d, "metadata", "generation") or 0,
              "replicas": du.status_count(all_rss, "replicas"),
              "updatedReplicas": du.status_count([new_rs], "replicas"),
              "readyReplicas": du.status_count(all_rss, "readyReplicas"),
              "availableReplicas": available,
              "unavailableReplicas": unavailable,
              "collisionCount": get_path(d, "status", "collisionCount")}
    status = {k: v for k, v in counts.items() if v}
    conditions = [dict(c) for c in get_path(d, "status", "conditions") or []]
    if conditions:
        status["conditions"] = conditions
    if available >= du.replicas_of(d) - du.max_unavailable(d):
        set_condition(status, new_condition(AVAILABLE, "True", MIN_AVAILABLE,
                                             "Deployment has minimum availability.", now))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", MIN_UNAVAILABLE,
                                             "Deployment does not have minimum availability.", now))
    return status


def _n(status: Optional[dict], field: str) -> int:
    return (status or {}).get(field) or 0


def deployment_complete(d: dict, status: dict) -> bool:
    """All replicas updated and available, no old pods left, this generation seen."""
    replicas = du.replicas_of(d)
    return (_n(status, "updatedReplicas") == replicas and _n(status, "replicas") == replicas
            and _n(status, "availableReplicas") == replicas
            and _n(status, "observedGeneration") >= (get_path(d, "metadata", "generation") or 0))


def deployment_progressing(d: dict, new: dict) -> bool:
    """Progress since the last status: more updated, fewer old, more ready/available."""
    old = d.get("status") or {}
    old_olds = _n(old, "replicas") - _n(old, "updatedReplicas")
    new_olds = _n(new, "replicas") - _n(new, "updatedReplicas")
    return (_n(new, "updatedReplicas") > _n(old, "updatedReplicas") or new_olds < old_olds
            or _n(new, "readyReplicas") > _n(old, "readyReplicas")
            or _n(new, "availableReplicas") > _n(old, "availableReplicas"))


def deployment_timed_out(d: dict, status: dict, now: float) -> bool:
    """No progress for progressDeadlineSeconds since Progressing was last updated."""
    if not has_progress_deadline(d):
        return False
    cond = get_condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    return since is not None and since + get_path(d, "spec", "progressDeadlineSeconds") < now


# --- Progressing ------------------------------------------------------------------------------

def rollout_status(all_rss: list, new_rs: Optional[dict], d: dict, now: float) -> dict:
    """syncRolloutStatus's decision: the full new status, Progressing included."""
    status = calculate_status(all_rss, new_rs, d, now)
    if not has_progress_deadline(d):
        remove_condition(status, PROGRESSING)
    current = get_condition(d.get("status"), PROGRESSING)
    name = d["metadata"]["name"]
    # One active ReplicaSet and an earlier success: a resync, nothing to estimate.
    complete_before = (_n(status, "replicas") == _n(status, "updatedReplicas")
                       and current is not None and current.get("reason") == NEW_RS_AVAILABLE)
    if has_progress_deadline(d) and not complete_before:
        what = f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs else f'Deployment "{name}"'
        if deployment_complete(d, status):
            set_condition(status, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE,
                                                f"{what} has successfully progressed.", now))
        elif deployment_progressing(d, status):
            cond = new_condition(PROGRESSING, "True", RS_UPDATED, f"{what} is progressing.", now)
            # Unlike other conditions, progress refreshes lastUpdateTime even when the
            # reason stays the same; the transition time stays if it was True already.
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, PROGRESSING)
            set_condition(status, cond)
        elif deployment_timed_out(d, status, now):
            set_condition(status, new_condition(PROGRESSING, "False", TIMED_OUT,
                                                f"{what} has timed out progressing.", now))
    failure = replica_failure(all_rss, new_rs)
    if failure is not None:
        set_condition(status, failure)
    else:
        remove_condition(status, REPLICA_FAILURE)
    return status


def replica_failure(all_rss: list, new_rs: Optional[dict]) -> Optional[dict]:
    """A ReplicaSet's ReplicaFailure condition (the new one's first), as the Deployment's."""
    for rs in ([new_rs] if new_rs else []) + [r for r in all_rss if r is not None]:
        for c in get_path(rs, "status", "conditions") or []:
            if c.get("type") == REPLICA_FAILURE:
                t = c.get("lastTransitionTime")
                return {"type": REPLICA_FAILURE, "status": c.get("status"),
                        "lastUpdateTime": t, "lastTransitionTime": t,
                        "reason": c.get("reason"), "message": c.get("message")}
    return None


def stuck_requeue_after(d: dict, status: dict, now: float) -> Optional[float]:
    """requeueStuckDeployment: seconds until the progress deadline must be checked
    again (there may be no event by then), or None if there is nothing to watch."""
    current = get_condition(d.get("status"), PROGRESSING)
    if not has_progress_deadline(d) or current is None:
        return None
    if deployment_complete(d, status) or current.get("reason") == TIMED_OUT:
        return None
    since = parse_time(current.get("lastUpdateTime")) or now
    after = since + get_path(d, "spec", "progressDeadlineSeconds") - now
    # Kubernetes adds a second against millisecond skew (the check is strict).
    return max(after, 0.0) + 1.0
