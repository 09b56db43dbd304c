"""Node lifecycle controller: notices nodes that went silent, taints them, evicts pods.

In Kubernetes the kubelet proves it is alive by renewing its Lease
`kube-node-lease/<node>` every 10 s. The node lifecycle controller (kube-controller-
manager) looks at every node every `--node-monitor-period` (5 s); a node it has not
heard from for `--node-monitor-grace-period` (50 s in 1.32) gets every kubelet-owned
condition set to Unknown (reason NodeStatusUnknown, "Kubelet stopped posting node
status."), which `kubectl get nodes` shows as NotReady. Taints follow the conditions:
Ready=Unknown -> `node.kubernetes.io/unreachable` NoSchedule (nothing new lands there)
and NoExecute (pods leave when their tolerations run out: taintmanager.py); Ready=False
-> the same with `node.kubernetes.io/not-ready`; `spec.unschedulable` (kubectl cordon)
-> `node.kubernetes.io/unschedulable` NoSchedule. A node that comes back (Lease renewed,
the kubelet posts Ready=True) loses the taints again. Separately, the cloud node
lifecycle controller deletes a Node whose VM no longer exists.

minik8s does all of that in one controller keyed by node name. "Have we heard from it"
combines the Lease (and the Ready heartbeat) with the node's NodeHandle
(minik8s.api.nodehandle, handed in by bring-up as `node_lookup`): a handle that says
DEAD marks the node lost at once, and after `dead_node_grace` seconds the Node is
deleted, like a vanished cloud VM (pod GC then removes its pods). A HUNG handle (a
partition) changes nothing by itself: the Lease decides, and the pods stay Terminating.
As in Kubernetes, the age of a heartbeat is measured on this controller's own clock
(when it *saw* renewTime change), so clock skew between hosts does not matter, and a
restarted controller gives every node a fresh grace period. As in Kubernetes, when
every node is down at once ("full disruption") nothing is evicted: that looks like a
control-plane problem, not a node problem. Left out: zones and the eviction rate limits.

Invariant: this controller changes only the conditions and taints it owns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..api.errors import APIError, NotFound
from ..api.meta import deepcopy, get_path, key_of, name_of, parse_time, rfc3339
from ..api.nodehandle import DEAD
from ..client.events import EventRecorder
from .base import Controller, Retry
from .taintmanager import (COMPONENT, NO_EXECUTE, NO_SCHEDULE, NOT_READY, UNREACHABLE,
                           bound_at, eviction_time, evict_pod, no_execute_taints)

LEASE_NAMESPACE = "kube-node-lease"
KUBELET_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
# nodeConditionToTaintKeyStatusMap: (condition, status) -> NoSchedule taint key.
CONDITION_TAINTS = {
    ("Ready", "False"): NOT_READY, ("Ready", "Unknown"): UNREACHABLE,
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
}
MANAGED = {(k, NO_SCHEDULE) for k in CONDITION_TAINTS.values()} | {
    (UNSCHEDULABLE, NO_SCHEDULE), (NOT_READY, NO_EXECUTE), (UNREACHABLE, NO_EXECUTE)}


@dataclass(frozen=True)
class Heartbeat:
    """What we last heard from a node's kubelet, and when we heard it (our clock)."""
    lease_renew: str = ""        # the Lease's spec.renewTime as last seen
    status_beat: str = ""        # the Ready condition's lastHeartbeatTime as last seen
    heard_at: float = 0.0        # monotonic time when either last changed


def node_health(prev: Optional[Heartbeat], lease_renew: str, status_beat: str,
                handle_state: Optional[str], now: float, grace: float) -> tuple:
    """(the new Heartbeat, is the node lost?) from what the API and the handle say now."""
    # BEGIN LAB 08: Lease age + NodeHandle ping -> is the node lost?
    # Outline: the kubelet is heard when the Lease's renewTime or the Ready heartbeat
    # differs from what we saw last time (or we never saw the node): then it was heard
    # *now*, on our own clock. The node is lost when its handle answers DEAD, or when
    # it has not been heard for `grace` seconds or more.
    # Pitfall: do not compare renewTime with our clock — the kubelet's clock may be
    # skewed; only a *change* of renewTime is news.
    if prev is None or (lease_renew, status_beat) != (prev.lease_renew, prev.status_beat):
        beat = Heartbeat(lease_renew, status_beat, now)
    else:
        beat = prev
    if handle_state == DEAD:
        return beat, True
    return beat, now - beat.heard_at >= grace
    # END LAB 08


def lost_conditions(conditions: list, now: str, created: str = "") -> list:
    """The node's conditions once its kubelet is lost: every kubelet-owned one Unknown."""
    # BEGIN LAB 08: Ready=Unknown — what the controller writes for a lost node
    # Outline: for Ready, MemoryPressure, DiskPressure and PIDPressure: a condition not
    # yet Unknown becomes status Unknown, reason NodeStatusUnknown, message "Kubelet
    # stopped posting node status.", lastTransitionTime now (lastHeartbeatTime stays:
    # it is the last time we heard from the kubelet); a missing one is added as Unknown,
    # reason NodeStatusNeverUpdated, "Kubelet never posted node status.". Every other
    # condition (NetworkUnavailable, ...) is left alone, and the order is kept.
    out, seen = [], set()
    for c in conditions:
        if c.get("type") in KUBELET_CONDITIONS:
            seen.add(c["type"])
            if c.get("status") != "Unknown":
                c = dict(c, status="Unknown", reason="NodeStatusUnknown",
                         message="Kubelet stopped posting node status.", lastTransitionTime=now)
        out.append(c)
    for ctype in KUBELET_CONDITIONS:
        if ctype not in seen:
            out.append({"type": ctype, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                        "message": "Kubelet never posted node status.",
                        "lastHeartbeatTime": created or now, "lastTransitionTime": now})
    return out
    # END LAB 08


def node_taints(node: dict, now: str, evict: bool = True) -> list:
    """The node's taints as they should be: the ones this controller owns follow the
    conditions and spec.unschedulable; every other taint is kept as it is."""
    # BEGIN LAB 08: taints follow conditions
    # Outline: wanted = the NoSchedule taint of each (condition, status) pair in
    # CONDITION_TAINTS that the node shows, UNSCHEDULABLE NoSchedule if
    # spec.unschedulable, and (only if `evict`) NOT_READY NoExecute for Ready=False or
    # UNREACHABLE NoExecute for Ready=Unknown. Keep every current taint that is not
    # ours (not in MANAGED) or is wanted — unchanged, so its timeAdded survives — then
    # append each wanted one that is missing, with timeAdded = now.
    # Pitfall: a node with no Ready condition yet (never posted) gets no taint from it.
    status = {c.get("type"): c.get("status") for c in get_path(node, "status", "conditions") or []}
    wanted = [(key, NO_SCHEDULE) for (ctype, st), key in CONDITION_TAINTS.items()
              if status.get(ctype) == st]
    if get_path(node, "spec", "unschedulable"):
        wanted.append((UNSCHEDULABLE, NO_SCHEDULE))
    if evict and status.get("Ready") in ("False", "Unknown"):
        wanted.append((NOT_READY if status["Ready"] == "False" else UNREACHABLE, NO_EXECUTE))
    current = get_path(node, "spec", "taints") or []
    kept = [t for t in current if (t.get("key"), t.get("effect")) not in MANAGED
            or (t.get("key"), t.get("effect")) in wanted]
    have = {(t.get("key"), t.get("effect")) for t in kept}
    return kept + [{"key": k, "effect": e, "timeAdded": now} for k, e in wanted
                   if (k, e) not in have]
    # END LAB 08


def ready_status(node: dict) -> Optional[str]:
    for c in get_path(node, "status", "conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status")
    return None


class NodeLifecycleController(Controller):
    name = "nodelifecycle"

    def __init__(self, client, clock, *, informers=None, recorder=None, rng=None,
                 node_lookup=None, node_monitor_grace_period: float = 50.0,
                 node_startup_grace_period: float = 60.0, node_monitor_period: float = 5.0,
                 dead_node_grace: float = 60.0, ping_timeout: float = 1.0):
        self.node_lookup = node_lookup
        self.grace = node_monitor_grace_period
        self.startup_grace = node_startup_grace_period
        self.period = node_monitor_period
        self.dead_node_grace = dead_node_grace
        self.ping_timeout = ping_timeout
        self._beats: dict = {}            # node -> Heartbeat
        self._pings: dict = {}            # node -> (what its handle answered, when)
        self._dead_since: dict = {}       # node -> monotonic time its handle first said DEAD
        self._taint_seen: dict = {}       # (node, key, effect) -> first seen (no timeAdded)
        self._mark_pods: set = set()      # nodes whose pods still need Ready=False
        self._pods_by_node: dict = {}     # node -> {pod key}: the pod index by spec.nodeName
        super().__init__(client, clock, informers=informers, recorder=recorder, rng=rng)
        self.taint_recorder = (EventRecorder(client, clock, COMPONENT)
                               if recorder is not None else None)

    def setup(self) -> None:
        self.nodes = self.informer("nodes")
        self.nodes.add_handler(on_add=self._node_added, on_update=lambda _o, n: self.enqueue(n),
                               on_delete=self._node_removed)
        self.leases = self.informer("leases", LEASE_NAMESPACE,
                                    on_change=lambda lease: self.queue.add(name_of(lease)))
        self.pods = self.informer("pods")
        self.pods.add_handler(on_add=lambda p: self._pod_changed(None, p),
                              on_update=self._pod_changed,
                              on_delete=lambda p: self._pod_changed(p, None))

    # --- handlers: keep the pod index, enqueue node names ------------------------------
    def _node_added(self, node: dict) -> None:
        self.event(node, "Normal", "RegisteredNode",
                   f"Node {name_of(node)} event: Registered Node {name_of(node)} in Controller")
        self.enqueue(node)

    def _node_removed(self, node: dict) -> None:
        self.event(node, "Normal", "RemovingNode",
                   f"Node {name_of(node)} event: Removing Node {name_of(node)} from Controller")
        self.enqueue(node)

    def _pod_changed(self, old: Optional[dict], new: Optional[dict]) -> None:
        before = get_path(old, "spec", "nodeName") if old else None
        after = get_path(new, "spec", "nodeName") if new else None
        if before and before != after:
            self._pods_by_node.get(before, set()).discard(key_of(old))
        if after:
            self._pods_by_node.setdefault(after, set()).add(key_of(new))
            # Only binding or new tolerations can change an eviction decision.
            if old is None or before != after or get_path(old, "spec", "tolerations") != \
                    get_path(new, "spec", "tolerations"):
                self.queue.add(after)

    def pods_on(self, node_name: str) -> list:
        pods = (self.pods.get(k) for k in sorted(self._pods_by_node.get(node_name, ())))
        return [p for p in pods if p is not None and get_path(p, "spec", "nodeName") == node_name]

    # --- reconcile -------------------------------------------------------------------
    def reconcile(self, name: str) -> Optional[float]:
        node = self.nodes.get(name)
        if node is None:                      # deleted: forget what we knew about it
            for d in (self._beats, self._pings, self._dead_since):
                d.pop(name, None)
            self._mark_pods.discard(name)
            self._taint_seen = {k: v for k, v in self._taint_seen.items() if k[0] != name}
            return None
        now = self.clock.monotonic()
        state = self._ping(name, now)
        # 1. the "cloud provider": a node whose handle is gone for good is deleted.
        if state == DEAD:
            since = self._dead_since.setdefault(name, now)
            if now - since >= self.dead_node_grace:
                self._delete_node(node)
                return None
        else:
            self._dead_since.pop(name, None)
        # 2. heartbeat -> conditions; 3. conditions -> taints; 4. taints -> evictions.
        node, expires_in = self._update_health(node, state, now)
        node = self._update_taints(node)
        dues = [self.period, expires_in, self._evict_pods(node)]
        if state == DEAD:
            dues.append(self._dead_since[name] + self.dead_node_grace - now)
        return max(0.0, min(d for d in dues if d is not None))

    def _ping(self, name: str, now: float) -> Optional[str]:
        """Ask the node's handle, at most once per monitor period (a ping of a hung Ray
        actor takes its whole timeout)."""
        last = self._pings.get(name)
        if last is not None and now - last[1] < self.period:
            return last[0]
        handle = self.node_lookup(name) if self.node_lookup is not None else None
        state = None                          # no handle: nothing known beyond the Lease
        if handle is not None:
            try:
                state = handle.ping(self.ping_timeout)
            except Exception:                 # noqa: BLE001 - a failed ping says nothing
                state = None
        self._pings[name] = (state, now)
        return state

    def _update_health(self, node: dict, state: Optional[str], now: float) -> tuple:
        name = name_of(node)
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{name}")
        ready = next((c for c in get_path(node, "status", "conditions") or []
                      if c.get("type") == "Ready"), None)
        grace = self.grace if ready is not None else self.startup_grace
        beat, lost = node_health(self._beats.get(name), get_path(lease, "spec", "renewTime") or "",
                                 (ready or {}).get("lastHeartbeatTime") or "", state, now, grace)
        self._beats[name] = beat
        if not lost:
            return node, beat.heard_at + grace - now
        stamp = rfc3339(self.clock.now())
        conditions = get_path(node, "status", "conditions") or []
        new = lost_conditions(conditions, stamp, get_path(node, "metadata", "creationTimestamp"))
        if new != conditions:
            changed = deepcopy(node)
            changed.setdefault("status", {})["conditions"] = new
            node = self.client.update_status(changed)
            if (ready or {}).get("status") == "True":
                self.event(node, "Normal", "NodeNotReady",
                           f"Node {name} status is now: NodeNotReady")
                self._mark_pods.add(name)
        if name in self._mark_pods:
            self._mark_pods_not_ready(node)
        return node, None

    def _mark_pods_not_ready(self, node: dict) -> None:
        """MarkPodsNotReady: the pods of a node we lost are no longer Ready (Services stop
        sending them traffic). The kubelet sets Ready again once it is back. What could
        not be written is tried again at the next look (needsRetry)."""
        failed = False
        for pod in self.pods_on(name_of(node)):
            conditions = get_path(pod, "status", "conditions") or []
            if not any(c.get("type") == "Ready" and c.get("status") != "False"
                       for c in conditions):
                continue
            changed = deepcopy(pod)
            changed["status"]["conditions"] = [
                dict(c, status="False", lastTransitionTime=rfc3339(self.clock.now()))
                if c.get("type") == "Ready" else c for c in conditions]
            try:
                self.client.update_status(changed)
            except NotFound:
                continue
            except APIError:
                failed = True
                continue
            self.event(pod, "Warning", "NodeNotReady", "Node is not ready")
        if not failed:
            self._mark_pods.discard(name_of(node))

    def _full_disruption(self) -> bool:
        """Every node is down: evict nothing (Kubernetes' zone FullDisruption state).
        Kubernetes judges every node's health before it taints any; here each node is
        judged on what we last heard from it, so the order of the keys does not matter."""
        nodes, now = self.nodes.list(), self.clock.monotonic()
        return bool(nodes) and all(self._seems_down(n, now) for n in nodes)

    def _seems_down(self, node: dict, now: float) -> bool:
        name = name_of(node)
        if ready_status(node) != "True":
            return True
        prev = self._beats.get(name)
        if prev is None:
            return False
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{name}")
        ready = next(c for c in node["status"]["conditions"] if c.get("type") == "Ready")
        return node_health(prev, get_path(lease, "spec", "renewTime") or "",
                           ready.get("lastHeartbeatTime") or "",
                           (self._pings.get(name) or (None, 0))[0], now, self.grace)[1]

    def _update_taints(self, node: dict) -> dict:
        wanted = node_taints(node, rfc3339(self.clock.now()), evict=not self._full_disruption())
        if wanted == (get_path(node, "spec", "taints") or []):
            return node
        patch = {"metadata": {"resourceVersion": node["metadata"]["resourceVersion"]},
                 "spec": {"taints": wanted or None}}
        return self.client.patch("nodes", name_of(node), patch)

    def _taint_added(self, node_name: str, taint: dict) -> float:
        added = parse_time(taint.get("timeAdded"))
        if added is not None:
            return added
        return self._taint_seen.setdefault((node_name, taint.get("key"), taint.get("effect")),
                                           self.clock.now())

    def _evict_pods(self, node: dict) -> Optional[float]:
        """Evict the pods whose tolerations ran out; seconds until the next one must go."""
        taints = no_execute_taints(node)
        if not taints:
            return None
        name, now, soonest, failed = name_of(node), self.clock.now(), None, False
        for pod in self.pods_on(name):
            if get_path(pod, "metadata", "deletionTimestamp"):
                continue                      # already on its way out
            at = eviction_time(taints, get_path(pod, "spec", "tolerations") or [], bound_at(pod),
                               lambda t: self._taint_added(name, t))
            if at is None:
                continue
            if at > now:
                soonest = at - now if soonest is None else min(soonest, at - now)
                continue
            try:
                evict_pod(self.client, pod, now, self.taint_recorder)
            except APIError:
                failed = True
        if failed:
            raise Retry(f"could not evict every pod from node {name}")
        return soonest

    def _delete_node(self, node: dict) -> None:
        name = name_of(node)
        self.event(node, "Normal", "DeletingNode",
                   f"Deleting node {name} because it does not exist in the cloud provider")
        try:
            self.client.delete("nodes", name, preconditions={"uid": node["metadata"]["uid"]})
        except NotFound:
            pass
