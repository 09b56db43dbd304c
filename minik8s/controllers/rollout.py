"""The rollout decisions: how big each of a Deployment's ReplicaSets should be now.

In Kubernetes (`rolling.go`, `sync.go` scale) one sync of a RollingUpdate Deployment
makes one move and then waits for the world to catch up:

1. **scale up** the new ReplicaSet as far as the surge allows: all ReplicaSets
   together may be asked for at most replicas + maxSurge pods (surge rounds up);
2. otherwise **scale down** old ReplicaSets as far as availability allows: first
   their unhealthy (not available) pods, which cost no availability, then available
   ones while more than replicas - maxUnavailable pods stay available (unavailable
   rounds down), never counting the new ReplicaSet's not-yet-available pods.

Each move is a change of some ReplicaSets' `spec.replicas`; the ReplicaSet controller
then creates or deletes pods. Pods being deleted (terminating) are not counted: the
ReplicaSets' spec and status count only active pods.

A **scaling event** (someone changed spec.replicas mid-rollout, or of a paused
Deployment) is spread over the active ReplicaSets in proportion to their sizes
(`proportional_scale`), so a scale-up does not hasten the rollout of a template that
may turn out bad.

These are pure functions: they return the planned `Scale`s (in the order Kubernetes
issues them) and the Deployment controller (deploysync.py) applies them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..api.meta import get_path
from . import deployutil as du


@dataclass(frozen=True)
class Scale:
    """Set ReplicaSet `name` from `old` to `new` replicas."""
    name: str
    old: int
    new: int

    @property
    def direction(self) -> str:
        return "up" if self.new > self.old else "down"


def rolling_update_step(d: dict, new_rs: dict, old_rss: list) -> list:
    """One RollingUpdate move for Deployment `d`: a list of Scales (maybe empty, when
    the rollout has to wait for pods to become available)."""
    replicas = du.replicas_of(d)
    all_rss = old_rss + [new_rs]
    # BEGIN LAB 05: rolling update — scale the new ReplicaSet up within maxSurge ...
    if du.replicas_of(new_rs) > replicas:
        return [Scale(new_rs["metadata"]["name"], du.replicas_of(new_rs), replicas)]
    if du.replicas_of(new_rs) < replicas:
        wanted = du.new_rs_new_replicas(d, all_rss, new_rs)
        if wanted != du.replicas_of(new_rs):
            return [Scale(new_rs["metadata"]["name"], du.replicas_of(new_rs), wanted)]
    # END LAB 05
    return scale_down_old(d, new_rs, du.active(old_rss))


def scale_down_old(d: dict, new_rs: dict, old_rss: list) -> list:
    """reconcileOldReplicaSets: shrink old ReplicaSets without going under
    replicas - maxUnavailable available pods."""
    if du.spec_count(old_rss) == 0:
        return []
    sizes = {rs["metadata"]["name"]: du.replicas_of(rs) for rs in old_rss}
    olds = du.by_creation(old_rss)
    # BEGIN LAB 05: ... and scale old ReplicaSets down within maxUnavailable
    min_available = du.replicas_of(d) - du.max_unavailable(d)
    new_unavailable = du.replicas_of(new_rs) - (get_path(new_rs, "status", "availableReplicas") or 0)
    # Pods that may go: everything asked for, minus what must stay available, minus the
    # new pods that are not available yet (they would otherwise count as room).
    max_scaled_down = du.spec_count(old_rss + [new_rs]) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return []
    plan = []
    # 1. Unhealthy replicas first: removing a pod that is not available costs nothing.
    cleaned = 0
    for rs in olds:
        name, size = rs["metadata"]["name"], sizes[rs["metadata"]["name"]]
        available = get_path(rs, "status", "availableReplicas") or 0
        if cleaned >= max_scaled_down:
            break
        if size == 0 or size == available:
            continue
        n = min(max_scaled_down - cleaned, size - available)
        sizes[name] = size - n
        cleaned += n
        plan.append(Scale(name, size, size - n))
    # 2. Then available ones, while more than min_available stay available.
    available_now = du.status_count(old_rss + [new_rs], "availableReplicas")
    to_scale_down = available_now - min_available
    scaled = 0
    for rs in olds:
        name, size = rs["metadata"]["name"], sizes[rs["metadata"]["name"]]
        if to_scale_down <= 0 or scaled >= to_scale_down:
            break
        if size == 0:
            continue
        n = min(size, to_scale_down - scaled)
        sizes[name] = size - n
        scaled += n
        plan.append(Scale(name, size, size - n))
    # END LAB 05
    return plan


def proportional_scale(d: dict, new_rs: Optional[dict], old_rss: list) -> list:
    """The `scale` of sync.go for a scaling event: the only active ReplicaSet takes
    the new size; a saturated new one empties the old ones; otherwise (RollingUpdate)
    the difference to replicas + maxSurge is shared in proportion, larger ones first,
    leftovers to the first."""
    replicas = du.replicas_of(d)
    only = du.find_active_or_latest(new_rs, old_rss)
    if only is not None:
        if du.replicas_of(only) == replicas:
            return []
        return [Scale(only["metadata"]["name"], du.replicas_of(only), replicas)]
    if du.is_saturated(d, new_rs):
        return [Scale(rs["metadata"]["name"], du.replicas_of(rs), 0) for rs in du.active(old_rss)]
    if not du.is_rolling_update(d):
        return []
    all_rss = du.active(old_rss + [new_rs])
    allowed = replicas + du.max_surge(d) if replicas > 0 else 0
    to_add = allowed - du.spec_count(all_rss)
    if to_add > 0:
        all_rss = du.by_size(all_rss, newer_first=True)
    elif to_add < 0:
        all_rss = du.by_size(all_rss, newer_first=False)
    sizes, added = {}, 0
    for rs in all_rss:
        share = du.get_proportion(rs, d, to_add, added) if to_add else 0
        sizes[rs["metadata"]["name"]] = du.replicas_of(rs) + share
        added += share
    plan = []
    for i, rs in enumerate(all_rss):
        name = rs["metadata"]["name"]
        if i == 0 and to_add:
            sizes[name] = max(sizes[name] + to_add - added, 0)
        plan.append(Scale(name, du.replicas_of(rs), sizes[name]))
    return plan
