"""The rolling-update promise, with the conditions under which Kubernetes makes it.

"Deployments" (concepts/workloads/controllers/deployment, *Rolling Update
Deployment*): "Deployment ensures that only a certain number of Pods are down while
they are being updated. By default, it ensures that at least 75% of the desired
number of Pods are up (25% max unavailable). Deployment also ensures that only a
certain number of Pods are created above the desired number of Pods (25% max
surge)." The fields' API docs add the fenceposts: maxSurge as a percentage is
rounded *up*, maxUnavailable *down*; they may not both be 0 (if both come out 0,
the controller uses maxUnavailable 1 — deploymentutil.ResolveFenceposts).

So, while a Deployment's pods move from one ReplicaSet to another:
    non-terminating pods  <= replicas + maxSurge
    available pods        >= replicas - maxUnavailable

That promise is conditional, and checking it outside its conditions reports
"violations" no Kubernetes ever avoided:
- replicas and strategy stay unchanged (a scale-down mid-rollout drops availability
  on purpose; a new maxSurge changes the bound);
- the rollout starts from a *fully available* state that the controllers have
  *observed*: every pod available, judged on what really runs (the API lags behind
  a node that just died or was removed; availability the cluster never had cannot be
  kept), and the observedGeneration of the Deployment and its ReplicaSets current
  (until then they may still act on the replicas the user just changed);
- no disruptive fault (a pod monkey, node death, crashing containers: pods vanish or
  turn unready without the controller's consent — that is what PodDisruptionBudgets
  are for, not Deployments);
- no stale-read or restart fault (a controller acting on a state older than what it
  already wrote may scale twice; Kubernetes relies on resourceVersion preconditions
  and on caches that never go back in time);
- no failing requests (the controller bounds the ReplicaSets' sizes; a pod whose
  deletion failed keeps running beside its replacement until the retry succeeds).

`RolloutGuard` tracks those conditions per Deployment: it *arms* a Deployment when it
has been fully available with no blocking fault for STABLE_FOR seconds (a cluster
that just recovered can look available before its kubelets have reported what their
restarted pods really do), checks the bounds while armed, and
*disarms* it when its replicas or strategy change, when it is being deleted, or when
a blocking fault (or a disruption the test reports) happens. A disarmed Deployment is
armed again once it has been fully available for STABLE_FOR seconds again.
"""
from __future__ import annotations

import json
import math
import re
from typing import Iterable, Optional

from minik8s.api.meta import get_path

from .invariants import Violation
from .state import ClusterState, controller_uid, is_active, is_available, is_terminating, ref_of

# How long a Deployment must have been fully available, without a blocking fault,
# before the bounds are armed: more than a kubelet's status period (10 s), so a node
# that just came back has reported what its restarted pods really do.
STABLE_FOR = 30.0

# Faults (names as sim.faults.active() reports them; anything after the name, like
# ":controller-manager", is ignored) under which the rolling-update promise is void.
DISRUPTIVE_FAULTS = ("pod_monkey", "kill_node", "pause_node", "container_crashes")
# A component whose watch events come late acts on an old state just as one served
# old reads does (a node lifecycle controller seeing Lease renewals late marks live
# nodes NotReady), so delayed delivery counts as a stale read.
STALE_READ_FAULTS = ("stale_reads", "delay_watch")
RESTART_FAULTS = ("crash_controller", "restart_apiserver", "second_controller_manager")
# The Deployment controller bounds the *sizes* of the ReplicaSets (it sums their
# spec.replicas: deploymentutil.GetReplicaCountForReplicaSets); pods follow only when
# the ReplicaSet controller's requests succeed. While requests fail, a pod whose
# deletion failed still runs next to its replacement.
FAILING_REQUEST_FAULTS = ("request_failures",)
BLOCKING_FAULTS = DISRUPTIVE_FAULTS + STALE_READ_FAULTS + RESTART_FAULTS + FAILING_REQUEST_FAULTS


def blocking_faults(faults: Iterable[str], blocking: tuple = BLOCKING_FAULTS) -> list:
    """The active faults under which the rollout bounds are not promised."""
    return sorted(f for f in faults if re.match(r"[A-Za-z_]+", f)
                  and re.match(r"[A-Za-z_]+", f).group(0) in blocking)


def _scaled(value, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


def fenceposts(deployment: dict) -> tuple:
    """(maxSurge, maxUnavailable) as numbers of pods, from the documented defaults
    (25% each) and rounding (surge up, unavailable down; both 0 -> unavailable 1)."""
    replicas = replicas_of(deployment)
    ru = get_path(deployment, "spec", "strategy", "rollingUpdate") or {}
    surge = _scaled(ru.get("maxSurge", "25%"), replicas, True)
    unavailable = _scaled(ru.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def replicas_of(deployment: dict) -> int:
    r = get_path(deployment, "spec", "replicas")
    return 1 if r is None else int(r)


def is_rolling_update(deployment: dict) -> bool:
    return (get_path(deployment, "spec", "strategy", "type") or "RollingUpdate") == "RollingUpdate"


def deployment_pods(state: ClusterState, deployment: dict) -> list:
    """The pods a Deployment runs: controlled by a ReplicaSet it controls (by uid)."""
    uid = deployment["metadata"].get("uid")
    rs_uids = {rs["metadata"].get("uid") for rs in state.get("replicasets")
               if controller_uid(rs) == uid}
    return [p for p in state.pods if controller_uid(p) in rs_uids]


def rollout_counts(state: ClusterState, deployment: dict, really_running: bool = False) -> tuple:
    """(non-terminating pods, available pods) of the Deployment at state.time. With
    `really_running`, a pod counts as available only if its node's runtime runs it
    (when the state knows what runs): the API lags behind a node that just died or
    was removed, and a start that only looks fully available is no start."""
    min_ready = get_path(deployment, "spec", "minReadySeconds") or 0
    live = [p for p in deployment_pods(state, deployment) if is_active(p)]
    available = [p for p in live if is_available(p, min_ready, state.time)]
    if really_running and state.running is not None:
        runs = {(node, rp.uid) for node, pods in state.running.items() for rp in pods}
        available = [p for p in available
                     if (get_path(p, "spec", "nodeName"), get_path(p, "metadata", "uid")) in runs]
    return len(live), len(available)


def check_rollout_bounds(state: ClusterState, deployment: dict) -> list:
    """The two bounds for one RollingUpdate Deployment, *without* the conditions:
    callers (RolloutGuard) decide whether the promise applies now."""
    replicas = replicas_of(deployment)
    surge, unavailable = fenceposts(deployment)
    live, available = rollout_counts(state, deployment)
    name = f"{deployment['metadata'].get('namespace')}/{deployment['metadata']['name']}"
    out = []
    if live > replicas + surge:
        out.append(Violation("rollout_bounds",
                             f"deployment {name}: {live} non-terminating pods > replicas "
                             f"{replicas} + maxSurge {surge}", [ref_of(deployment)]))
    if available < replicas - unavailable:
        out.append(Violation("rollout_bounds",
                             f"deployment {name}: {available} available pods < replicas "
                             f"{replicas} - maxUnavailable {unavailable}", [ref_of(deployment)]))
    return out


def observed(state: ClusterState, deployment: dict) -> bool:
    """The controllers have seen the current spec: the Deployment's and each of its
    ReplicaSets' status.observedGeneration reached their metadata.generation. Before
    that, a controller may still be acting on the replicas the user just changed."""
    uid = deployment["metadata"].get("uid")
    objs = [deployment] + [rs for rs in state.get("replicasets") if controller_uid(rs) == uid]
    return all((get_path(o, "status", "observedGeneration") or 0)
               >= (get_path(o, "metadata", "generation") or 0) for o in objs)


def _signature(deployment: dict) -> str:
    """What must stay unchanged while the promise holds: replicas, strategy and the
    minReadySeconds that defines "available"."""
    spec = deployment.get("spec") or {}
    return json.dumps([replicas_of(deployment), spec.get("strategy") or {},
                       spec.get("minReadySeconds") or 0, bool(spec.get("paused"))],
                      sort_keys=True)


class RolloutGuard:
    """Arms, checks and disarms the rollout bounds of every Deployment (see above)."""

    def __init__(self, blocking: tuple = BLOCKING_FAULTS, stable_for: float = STABLE_FOR):
        self.blocking = blocking
        self.stable_for = stable_for
        self.armed: dict = {}            # deployment uid -> signature when armed
        self.since: dict = {}            # deployment uid -> fully available since (wall)
        self.disarmed_because: dict = {}  # deployment uid -> why (for messages)

    def disrupt(self, why: str) -> None:
        """The test disrupted the cluster itself (deleted pods or nodes): no promise
        until every Deployment is fully available again."""
        for uid in list(self.armed):
            self._disarm(uid, why)

    def _disarm(self, uid: str, why: str) -> None:
        self.armed.pop(uid, None)
        self.since.pop(uid, None)
        self.disarmed_because[uid] = why

    def observe(self, state: ClusterState, only: Optional[set] = None) -> list:
        """Update the arming of each Deployment (or of the uids in `only`) from `state`
        and return the bound violations of the armed ones."""
        blocked = blocking_faults(state.faults, self.blocking)
        out = []
        seen = set()
        for d in state.get("deployments"):
            uid = d["metadata"].get("uid")
            seen.add(uid)
            if only is not None and uid not in only:
                continue
            out.extend(self._observe_one(state, d, uid, blocked))
        for uid in list(self.armed):
            if uid not in seen and only is None:
                self._disarm(uid, "deleted")
        return out

    def _observe_one(self, state, d, uid, blocked) -> list:
        if blocked:
            self._disarm(uid, "fault " + ", ".join(blocked))
            return []
        if is_terminating(d) or not is_rolling_update(d):
            self._disarm(uid, "deleted" if is_terminating(d) else "not RollingUpdate")
            return []
        sig = _signature(d)
        if uid in self.armed and self.armed[uid] != sig:
            self._disarm(uid, "replicas, strategy or minReadySeconds changed")
        if uid not in self.armed:
            live, available = rollout_counts(state, d, really_running=True)
            replicas = replicas_of(d)
            if (available >= replicas and live <= replicas + fenceposts(d)[0]
                    and observed(state, d)):
                since = self.since.setdefault(uid, state.time)
                if state.time - since >= self.stable_for:
                    self.armed[uid] = sig     # a fully available start
                    self.disarmed_because.pop(uid, None)
            else:
                self.since.pop(uid, None)
            return []
        return check_rollout_bounds(state, d)
