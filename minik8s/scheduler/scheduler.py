"""The scheduler component: kube-scheduler's event handlers and scheduleOne loop.

In Kubernetes, kube-scheduler keeps two informers (pods in every namespace, nodes).
Their handlers only feed two structures: the *SchedulerCache* (nodes and the pods
bound or assumed on them) and the *SchedulingQueue* (pods still to place). One loop,
`scheduleOne`, pops a pod, runs the scheduling cycle of the profile's plugins over a
snapshot of the cache, *assumes* the pod on the chosen node (so the next decision
already counts its requests, long before the informer shows the binding), and binds
it through the `pods/binding` subresource. A pod that fits nowhere gets the condition
`PodScheduled=False, reason Unschedulable` with the FitError message and a
`FailedScheduling` Event, and waits in the queue's unschedulable set until the cluster
changes (node added/updated, assigned pod deleted) or the 5-minute flush.

This version keeps that shape, on the seam of docs/architecture.md:
- `step()` steps the informers (and, with `leader_elect`, the Lease
  `kube-system/kube-scheduler`: only its holder schedules), then schedules every pod
  the queue hands out.
- Binding is **synchronous** inside step(). kube-scheduler binds in a goroutine
  (the binding cycle) while the next scheduling cycle already runs; the assume step
  is what makes both correct, and it is kept here, so a lab can swap in an
  asynchronous binder without changing the reasoning. Bind failure: the assumption
  is forgotten and the pod backs off; NotFound, or a Conflict after which the pod
  is bound, deleting or replaced, drops it (a Conflict on a pod still ours is
  transient: it backs off).
- Explanations: with `explain=True`, or on a pod annotated
  `scheduler.minik8s.io/explain: "true"`, the per-node filter results and per-plugin
  scores are written on the pod as kube-scheduler-simulator does
  (`scheduler-simulator/filter-result`, `score-result`, `finalscore-result`: JSON
  maps node -> plugin -> string; `selected-node`: the node's name).

Invariants: a pod is bound at most once (we never schedule a pod that is bound or
assumed, and the API server refuses a second binding); handlers never call the API;
a write that would change nothing is skipped (no loop with our own informer).
"""
from __future__ import annotations

import logging
import socket
import threading
from typing import Optional

from minik8s.api.errors import APIError, Conflict, NotFound
from minik8s.api.meta import get_path, key_of, new_uid, rfc3339
from minik8s.client.events import NORMAL, WARNING, EventRecorder
from minik8s.client.informer import Informer
from minik8s.client.leaderelection import LeaderElector

from . import config
from .cache import SchedulerCache
from .cycle import ERROR, Framework
from .plugins.interpodaffinity import NODES_WITH_AFFINITY_PODS
from .explain import (EXPLAIN_ANNOTATION, FILTER_RESULT, FINALSCORE_RESULT,  # noqa: F401
                      SCORE_RESULT, SELECTED_NODE, explanation, to_json)
from .queue import ASSIGNED_POD_ADD, ASSIGNED_POD_DELETE, NODE_ADD, NODE_UPDATE, SchedulingQueue

log = logging.getLogger(__name__)

DEFAULT_SCHEDULER = "default-scheduler"
LEASE_NAME, LEASE_NAMESPACE = "kube-scheduler", "kube-system"
# kube-scheduler's pod informer leaves finished pods out: they hold no resources.
POD_FIELD_SELECTOR = "status.phase!=Succeeded,status.phase!=Failed"


class Scheduler:
    """kube-scheduler. See the module docstring."""

    name = "scheduler"
    poll_interval = 0.2     # run(): longest block on a watch (node events wait at most this)

    def __init__(self, client, clock, rng, *, profile=None,
                 scheduler_name: str = DEFAULT_SCHEDULER, leader_elect: bool = False,
                 identity: str = "", explain: bool = False,
                 recorder: Optional[EventRecorder] = None):
        self.client, self.clock, self.rng = client, clock, rng
        self.profile = profile if profile is not None else config.load_profile(None, rng=rng)
        # A profile loaded from a config file names its scheduler; an explicit
        # scheduler_name wins over it.
        profile_name = getattr(self.profile, "scheduler_name", DEFAULT_SCHEDULER)
        self.scheduler_name = (profile_name if scheduler_name == DEFAULT_SCHEDULER
                               else scheduler_name)
        self.explain = explain
        self.framework = Framework(self.profile, rng)
        self.cache = SchedulerCache()
        self.queue = SchedulingQueue(clock)
        self.recorder = recorder or EventRecorder(client, clock, self.scheduler_name)
        self._tap = _WatchTap(client)
        self.nodes = Informer(self._tap, "nodes", clock=clock)
        self.pods = Informer(self._tap, "pods", field_selector=POD_FIELD_SELECTOR, clock=clock)
        self.nodes.add_handler(self._node_added, self._node_updated, self._node_deleted)
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.elector: Optional[LeaderElector] = None
        if leader_elect:
            self.elector = LeaderElector(
                client, clock, name=LEASE_NAME, namespace=LEASE_NAMESPACE,
                identity=identity or f"{socket.gethostname()}_{new_uid(rng)}")
        self.scheduled = 0          # bindings made by this instance
        self.attempts = 0           # scheduling cycles run

    # --- event handlers: only the cache and the queue, never the API ----------------------
    def _responsible_for(self, pod: dict) -> bool:
        """An unbound, live pod that names us (kube-scheduler's responsibleForPod)."""
        spec = pod.get("spec") or {}
        return (not spec.get("nodeName")
                and (spec.get("schedulerName") or DEFAULT_SCHEDULER) == self.scheduler_name
                and not get_path(pod, "metadata", "deletionTimestamp"))

    def _pod_added(self, pod: dict) -> None:
        if _assigned(pod):
            self.cache.add_pod(pod)
            self._assigned_pod_added()
        elif self._responsible_for(pod):
            self.queue.add(pod)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if _assigned(new):
            if _assigned(old):
                self.cache.update_pod(old, new)
            else:                              # just bound (by us: confirms the assumption)
                self.queue.delete(old)
                self.cache.add_pod(new)
                self._assigned_pod_added()
        elif self._responsible_for(new):
            if self.cache.is_assumed(new):
                return                         # decided, bind in flight: nothing to redo
            if self._responsible_for(old):
                self.queue.update(old, new)
            else:
                self.queue.add(new)
        elif self._responsible_for(old):       # being deleted, or handed to another scheduler
            self.queue.delete(old)

    def _pod_deleted(self, pod: dict) -> None:
        if _assigned(pod):
            self.cache.remove_pod(pod)
            self.queue.move_all(ASSIGNED_POD_DELETE)   # freed room, ports, anti-affinity
            return
        self.queue.delete(pod)
        if self.cache.is_assumed(pod):         # deleted between our bind and its event
            self.cache.remove_pod(pod)

    def _assigned_pod_added(self) -> None:
        # A pod placed somewhere only helps pods that want company: required pod
        # affinity, or a spread constraint (Kubernetes' AssignedPodAdd moves only pods
        # with matching affinity terms). Moving every waiting pod on every binding
        # would retry all of them once per bind.
        self.queue.move_all(ASSIGNED_POD_ADD, _wants_company)

    def _node_added(self, node: dict) -> None:
        self.cache.add_node(node)
        self.queue.move_all(NODE_ADD)

    def _node_updated(self, old: dict, new: dict) -> None:
        self.cache.update_node(new)
        if _scheduling_properties(old) != _scheduling_properties(new):
            self.queue.move_all(NODE_UPDATE)   # heartbeats alone wake nobody

    def _node_deleted(self, node: dict) -> None:
        self.cache.remove_node(node)

    # --- the loop -----------------------------------------------------------------------
    def step(self) -> Optional[float]:
        """Catch up with the API, then schedule every pod that is ready. Seconds until
        the next timer (backoff, flush, lease renewal, informer retry) or None."""
        waits = [self.nodes.step(), self.pods.step()]
        if self.elector is not None:
            waits.append(self.elector.step())
            if not self.elector.is_leader:
                return _soonest(waits)
        if self.nodes.has_synced() and self.pods.has_synced():
            # Bounded by what is queued now, so a pod that keeps coming back from a
            # short backoff under a real clock cannot keep one step going forever.
            for _ in range(max(len(self.queue), 1)):
                qp = self.queue.pop()
                if qp is None:
                    break
                self.schedule_one(qp)
            waits.append(self.queue.next_due())
        return _soonest(waits)

    def run(self, stop_event: threading.Event) -> None:
        """Step until `stop_event` is set, waiting on the watches (or the clock) in
        between; releases the Lease on the way out so a standby takes over at once."""
        try:
            while not stop_event.is_set():
                delay = self.step()
                timeout = self.poll_interval if delay is None else min(delay, self.poll_interval)
                if timeout > 0 and not stop_event.is_set():
                    self._tap.wait(stop_event, timeout, self.clock)
        finally:
            if self.elector is not None:
                self.elector.release()

    # --- one pod: kube-scheduler's scheduleOne --------------------------------------------
    def schedule_one(self, qp) -> Optional[str]:
        """Schedule the queued pod; returns the node it was bound to, or None."""
        pod = self.pods.get(key_of(qp.pod))
        if (pod is None or get_path(pod, "metadata", "uid") != get_path(qp.pod, "metadata", "uid")
                or not self._responsible_for(pod) or self.cache.is_assumed(pod)):
            self.queue.done(qp.key)            # gone, bound, or already decided: skip
            return None
        self.attempts += 1
        explain = self.explain or get_path(pod, "metadata", "annotations",
                                           EXPLAIN_ANNOTATION) == "true"
        try:
            hints = {NODES_WITH_AFFINITY_PODS: self.cache.nodes_with_affinity_pods()}
            result = self.framework.schedule(pod, self.cache.node_infos(), explain=explain,
                                             hints=hints)
        except Exception as e:  # noqa: BLE001 - a broken plugin (a lab) must not stop us
            log.exception("scheduling %s failed", key_of(pod))
            result = None
            error = f"{type(e).__name__}: {e}"
        else:
            error = result.message if result.code == ERROR else None
        if error is not None:                  # a plugin failed: not the pod's fault
            self._failed(pod, "SchedulerError", error)
            self.queue.add_backoff(qp)
            return None
        if result.node is None:
            if explain:
                self._annotate(pod, explanation(self.profile, result, None))
            self._failed(pod, "Unschedulable", result.message)
            # With no rejecting plugin named (no nodes at all) the queue backs off
            # instead of waiting for an event, as Kubernetes does.
            self.queue.add_unschedulable(qp, result.unschedulable_plugins)
            return None
        return self._assume_and_bind(qp, pod, result, explain)

    def _assume_and_bind(self, qp, pod: dict, result, explain: bool) -> Optional[str]:
        node = result.node
        self.cache.assume(pod, node)           # the next cycle sees these resources used
        if explain:
            self._annotate(pod, explanation(self.profile, result, node))
        meta = pod["metadata"]
        try:
            self.client.bind(meta["namespace"], meta["name"], node, pod_uid=meta["uid"])
        except (Conflict, NotFound) as e:
            if isinstance(e, NotFound) or self._settled_elsewhere(pod):
                # Bound elsewhere, being deleted, or replaced: nothing to retry. The
                # informer delivers what it became.
                log.info("binding %s to %s: %s; dropping it", key_of(pod), node, e)
                self.cache.forget(pod)
                self.queue.done(qp.key)
                return None
            # Still ours and unbound: a transient conflict. Back off and try again.
            log.warning("binding %s to %s: %s; will retry", key_of(pod), node, e)
            self.cache.forget(pod)
            self.queue.add_backoff(qp)
            return None
        except APIError as e:
            log.warning("binding %s to %s failed: %s; will retry", key_of(pod), node, e)
            self.cache.forget(pod)
            # kube-scheduler's words for a failed DefaultBinder, condition and event.
            self._failed(pod, "SchedulerError", f'running Bind plugin "DefaultBinder": {e}')
            self.queue.add_backoff(qp)
            return None
        self.cache.finish_binding(pod)
        self.queue.done(qp.key)
        self.scheduled += 1
        self.recorder.event(pod, NORMAL, "Scheduled",
                            f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}")
        return node

    def _settled_elsewhere(self, pod: dict) -> bool:
        """After a failed bind: is the pod gone, replaced, deleting or bound already?
        (kube-scheduler's failure handler asks its informer; we ask the server.)"""
        try:
            live = self.client.get("pods", pod["metadata"]["name"], pod["metadata"]["namespace"])
        except NotFound:
            return True
        except APIError:
            return False
        return (live["metadata"].get("uid") != pod["metadata"]["uid"]
                or bool(live["metadata"].get("deletionTimestamp"))
                or bool((live.get("spec") or {}).get("nodeName")))

    # --- writes ---------------------------------------------------------------------------
    def _failed(self, pod: dict, reason: str, message: str) -> None:
        """PodScheduled=False with `reason: message` (only if that changes the pod), and
        a FailedScheduling event (the recorder counts repeats)."""
        old = _condition(pod, "PodScheduled")
        if not (old and old.get("status") == "False" and old.get("reason") == reason
                and old.get("message") == message):
            changed_status = not old or old.get("status") != "False"
            cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                    "lastTransitionTime": (rfc3339(self.clock.now()) if changed_status
                                           else old.get("lastTransitionTime")),
                    "reason": reason, "message": message}
            meta = pod["metadata"]
            try:
                self.client.patch("pods", meta["name"], {"status": {"conditions": [cond]}},
                                  meta["namespace"], patch_type="strategic",
                                  subresource="status")
            except APIError as e:              # gone meanwhile: the informer will say so
                log.info("could not update the status of %s: %s", key_of(pod), e)
        self.recorder.event(pod, WARNING, "FailedScheduling", message)

    def _annotate(self, pod: dict, annotations: dict) -> None:
        current = get_path(pod, "metadata", "annotations") or {}
        changed = {k: v for k, v in annotations.items() if current.get(k) != v}
        if not changed:
            return                             # same verdict as last time: no write, no loop
        meta = pod["metadata"]
        try:
            self.client.patch("pods", meta["name"], {"metadata": {"annotations": changed}},
                              meta["namespace"], patch_type="merge")
        except APIError as e:
            log.info("could not annotate %s: %s", key_of(pod), e)


# --- small pure helpers -------------------------------------------------------------------

def _assigned(pod: dict) -> bool:
    return bool(get_path(pod, "spec", "nodeName"))


def _wants_company(pod: dict) -> bool:
    spec = pod.get("spec") or {}
    return bool(get_path(spec, "affinity", "podAffinity") or spec.get("topologySpreadConstraints"))


def _condition(pod: dict, ctype: str) -> Optional[dict]:
    return next((c for c in get_path(pod, "status", "conditions") or []
                 if c.get("type") == ctype), None)


def _scheduling_properties(node: dict) -> tuple:
    """What a filter or score can look at (kube-scheduler's nodeSchedulingPropertiesChange):
    a change here may let a waiting pod fit; a heartbeat does not."""
    spec, status = node.get("spec") or {}, node.get("status") or {}
    meta = node.get("metadata") or {}
    conditions = tuple(sorted((c.get("type"), c.get("status"))
                              for c in status.get("conditions") or []))
    return (bool(spec.get("unschedulable")), to_json(spec.get("taints") or []),
            to_json(meta.get("labels") or {}), to_json(meta.get("annotations") or {}),
            to_json(status.get("allocatable") or {}), conditions)


def _soonest(waits) -> Optional[float]:
    due = [w for w in waits if w is not None]
    return max(min(due), 0.0) if due else None


# --- waiting for watch events without taking them away from the informers ----------------

class _WatchTap:
    """A client for the informers whose watch streams can be *waited on* by run()
    without consuming events: a wait parks what arrives in a buffer that the
    informer's next poll() receives first. (An Informer's own run() applies what
    its wait returns; here one loop must wait for two informers.)"""

    def __init__(self, client, block_on: str = "pods"):
        self.client = client
        self.block_on = block_on
        self.streams: dict = {}                # resource -> its current stream

    def list(self, *args, **kw):
        return self.client.list(*args, **kw)

    def watch(self, resource, *args, **kw):
        stream = self.streams[resource] = _BufferedStream(self.client.watch(resource, *args, **kw))
        return stream

    def wait(self, stop_event: threading.Event, timeout: float, clock) -> None:
        """Block until some stream has events, `timeout` passes, or stop is set. Only
        one stream can be blocked on (the pods', the busiest); the others are looked at
        first, and run() bounds the timeout, so their events wait at most that long."""
        live = {r: s for r, s in self.streams.items() if not s.closed}
        if any(s.fill() for s in live.values()):
            return
        if self.block_on in live:
            live[self.block_on].fill(timeout)
        else:
            clock.wait(stop_event, timeout)


class _BufferedStream:
    def __init__(self, inner):
        self.inner = inner
        self._buffer: list = []

    def fill(self, timeout: Optional[float] = None) -> bool:
        """Move available events (waiting up to `timeout`) into the buffer."""
        self._buffer.extend(self.inner.poll() if timeout is None else self.inner.wait(timeout))
        return bool(self._buffer)

    def poll(self) -> list:
        out, self._buffer = self._buffer, []
        return out + self.inner.poll() if out else self.inner.poll()

    def wait(self, timeout) -> list:
        return self.poll() or self.inner.wait(timeout)

    def close(self) -> None:
        self._buffer = []
        self.inner.close()

    @property
    def closed(self) -> bool:
        return self.inner.closed and not self._buffer
