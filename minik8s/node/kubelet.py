"""The kubelet: the node agent that makes the pods bound to its node run.

In Kubernetes the kubelet registers its Node, heartbeats through a Lease, watches the
pods whose `spec.nodeName` is its node, and for each one runs a *sync*: set up the
pod's network address and volumes, pull images, run the init containers one by one to
completion, then start the containers; restart them by `restartPolicy` with
CrashLoopBackOff; run probes (a failed liveness probe kills the container); report
`pod.status`; and when the pod is deleted, stop its containers within the grace
period and delete the object for good ("removal of the pod object once terminated").

This kubelet keeps that as one component on the seam (client, clock, rng), without
threads: `step()` syncs every pod of its informer level-triggered — it re-reads the
runtime each time (the PLEG's relist) and decides with the pure functions of
`podsync.py` (Lab 06). `kuberuntime.py` pulls and starts containers, `podstatus.py`
builds the status (written only when it changed), `nodestatus.py` owns the Node and
its Lease, `podenv.py` env and volumes, `probes.py` the probes.

Left out: sandboxes (a pod is its IP), static pods, sidecar init containers, lifecycle
hooks, eviction, image GC, readiness gates, cgroups. After a kubelet restart the
runtime's containers are adopted by pod uid; containers of pods the kubelet never saw
cannot be found (the runtime's ContainerStatus carries no pod uid).

Invariants: at most one live container per (pod, container name); a pod in a terminal
phase never has a container restarted; no status write when nothing changed.
"""
from __future__ import annotations

import logging
import os
import random
import shutil
import tempfile
import threading
from typing import Iterator, Optional

from ..api.errors import APIError, Conflict, NotFound
from ..api.meta import get_path, rfc3339
from ..client.events import NORMAL, WARNING, EventRecorder
from ..client.informer import Informer
from . import kuberuntime, podenv, podstatus, podsync
from .kuberuntime import PodRecord, start_container
from .nodestatus import NodeStatusManager, PodCIDR, capacity
from .probes import ProbeManager
from .runtime import CREATED, EXITED, RUNNING

log = logging.getLogger(__name__)

RELIST_PERIOD = 1.0      # the PLEG relists the runtime every second
TERMINAL = (podsync.SUCCEEDED, podsync.FAILED)


class Kubelet:
    def __init__(self, client, clock, runtime, *, node_name: str, cpu="4", memory="8Gi",
                 pods=110, extended=None, labels=None, address: str = "",
                 kubelet_port: int = 0, lease_duration: int = 40, heartbeat_period=10,
                 status_update_period=10, rng=None, pod_root: Optional[str] = None,
                 relist_period: float = RELIST_PERIOD, informer=None):
        self.client, self.clock, self.runtime = client, clock, runtime
        self.node_name = node_name
        self.rng = rng or random.Random(0)
        self.relist_period = relist_period
        self.node = NodeStatusManager(
            client, clock, self.rng, node_name=node_name,
            runtime_name=getattr(runtime, "name", "unknown"),
            capacity=capacity(cpu, memory, pods, extended), labels=labels, address=address,
            kubelet_port=kubelet_port, lease_duration=lease_duration,
            heartbeat_period=heartbeat_period, status_update_period=status_update_period)
        self.recorder = EventRecorder(client, clock, "kubelet", host=node_name)
        self.probes = ProbeManager(runtime, clock)
        # `informer`: a shared cache's view of this node's pods (many kubelets in one host).
        self.informer = informer or Informer(
            client, "pods", field_selector=f"spec.nodeName={node_name}", clock=clock)
        self.images: set = set()              # images pulled on this node
        self._pods: dict = {}                 # pod uid -> PodRecord
        self._cidr: Optional[PodCIDR] = None
        self._pod_root = pod_root
        self._own_root = False
        self._lock = threading.RLock()        # step() vs the HTTP server's log reads
        self._stopped = threading.Event()

    # --- the node ------------------------------------------------------------------
    @property
    def kubelet_port(self) -> int:
        return self.node.kubelet_port

    @kubelet_port.setter
    def kubelet_port(self, port: int) -> None:
        """Set once the kubelet's HTTP server listens; reported on the next status post."""
        self.node.kubelet_port = int(port)
        self.node.request_update()

    @property
    def node_ip(self) -> str:
        """The node's InternalIP (its podCIDR's .1), known once registered."""
        return self.node.node_ip

    def register(self) -> bool:
        """Create or adopt the Node now (idempotent); True once registered."""
        with self._lock:
            return self.node.register()

    # --- the loop ------------------------------------------------------------------
    def step(self) -> Optional[float]:
        """Register, heartbeat, and sync every pod of this node once. Returns seconds
        until the next thing is due (back-off expiry, probe, relist, heartbeat)."""
        with self._lock:
            if self._stopped.is_set():
                return None
            dues = [self.node.step()]
            if self.node.node is None:
                return dues[0]
            if self._cidr is None and self.node.pod_cidr:
                self._cidr = PodCIDR(self.node.pod_cidr)
            dues.append(self.informer.step())
            live = set()
            for pod in sorted(self.informer.list(), key=_key):
                uid = pod["metadata"]["uid"]
                live.add(uid)
                rec = self._pods.get(uid) or self._pods.setdefault(
                    uid, kuberuntime.adopt(self.runtime, self._cidr, pod))
                rec.pod = pod
                dues.append(self._sync(rec))
            for uid in [u for u in self._pods if u not in live]:
                dues.append(self._cleanup_orphan(self._pods[uid]))
            for ev in self.probes.pop_events():             # Unhealthy
                if ev.pod_uid in self._pods:
                    pod = self._pods[ev.pod_uid].pod
                    self.recorder.event(pod, WARNING, ev.reason, ev.message)
            dues.append(self.probes.next_due())
            dues = [d for d in dues if d is not None]
            return max(0.0, min(dues)) if dues else None

    def run(self, stop_event: threading.Event) -> None:
        while not stop_event.is_set() and not self._stopped.is_set():
            delay = self.step()
            self.clock.wait(stop_event, min(delay, 0.2) if delay is not None else 0.2)

    def stop(self) -> None:
        """Stop syncing (containers keep running, as when a real kubelet stops)."""
        self._stopped.set()
        self.probes.close()
        if self._own_root and self._pod_root:
            shutil.rmtree(self._pod_root, ignore_errors=True)

    # --- one pod -------------------------------------------------------------------
    def _sync(self, rec: PodRecord) -> Optional[float]:
        pod = rec.pod
        if pod["metadata"].get("deletionTimestamp"):
            return self._terminate(rec)
        if (pod.get("status") or {}).get("phase") in TERMINAL:
            # Finished for good: nothing restarts, and whatever still runs is stopped.
            if self._kill_all(rec, events=True):
                return self.relist_period
            self._write_status(rec, self._observe(rec))      # their final states
            return None
        dues = [self._prepare(rec)]
        statuses = before = self._observe(rec)
        if rec.volumes is not None:
            self._probe(rec, statuses)
            policy = (pod.get("spec") or {}).get("restartPolicy") or podsync.ALWAYS
            init = podsync.next_init_container(_init_containers(pod), statuses)
            if init is not None:
                dues.append(self._act(rec, init, statuses.get(init["name"]),
                                      podsync.init_restart_policy(policy), probed=False))
            else:
                for c in _containers(pod):
                    dues.append(self._act(rec, c, statuses.get(c["name"]), policy, probed=True))
            statuses = self._observe(rec)
            if statuses != before:       # a container changed: the prober sees it now
                self._probe(rec, statuses)
        self._write_status(rec, statuses)
        if any(s is not None and s.state in (CREATED, RUNNING) for s in statuses.values()):
            dues.append(self.relist_period)
        return min((d for d in dues if d is not None), default=None)

    def _prepare(self, rec: PodRecord) -> Optional[float]:
        """The pod's address, start time and volumes (once). A volume that cannot be
        set up (FailedMount) keeps the pod ContainerCreating and is retried."""
        if not rec.ip and self._cidr is not None:
            try:
                rec.ip = self._cidr.allocate(rec.uid)
            except RuntimeError as e:          # the node's pod CIDR is full
                self.recorder.event(rec.pod, WARNING, "FailedCreatePodSandBox",
                                    f"Failed to create pod sandbox: {e}")
                return 10.0                    # volumes stay unset: nothing starts
        if rec.start_time is None:
            rec.start_time = rfc3339(self.clock.now())
        if rec.volumes is None:
            try:
                rec.volumes = podenv.prepare_volumes(rec.pod, self._pod_dir(rec), self._lookup)
            except podenv.VolumeError as e:
                self.recorder.event(rec.pod, WARNING, "FailedMount", str(e))
                return 2.0
        return None

    def _act(self, rec: PodRecord, c: dict, st, policy: str, probed: bool) -> Optional[float]:
        """Carry out podsync.container_action for one container."""
        name = c["name"]
        cr = rec.container(name)
        now = self.clock.monotonic()
        probe = self.probes.results(rec.uid, name) if probed and st is not None else None
        exited_at = self._monotonic_of(st.finished_at) if st is not None and \
            st.finished_at is not None else None
        action = podsync.container_action(c, st, policy, cr.backoff, now,
                                          bool(probe and probe.liveness_failed), exited_at)
        if action.kind == podsync.KILL:
            if cr.killing != st.id:
                cr.killing = st.id
                which = probe.failed_probe or "liveness"
                self.recorder.event(rec.pod, NORMAL, "Killing",
                                    f"Container {name} failed {which} probe, will be restarted")
                self.runtime.stop(st.id, kuberuntime.kill_grace(rec.pod, c))
            return self.relist_period
        if action.kind == podsync.WAIT:
            cr.waiting = ("CrashLoopBackOff",
                          podsync.crashloop_message(name, rec.pod, action.delay))
            if cr.backoff_event_for != st.id:
                cr.backoff_event_for = st.id
                self.recorder.event(rec.pod, WARNING, "BackOff",
                                    f"Back-off restarting failed container {name} in pod "
                                    f"{podsync.format_pod(rec.pod)}")
            return action.until - now
        if action.kind == podsync.START:
            restart = st is not None
            due = start_container(self, rec, c, cr, restart=restart, last=st)
            if restart and cr.current != st.id:          # it really restarted
                cr.backoff = podsync.record_restart(cr.backoff, exited_at or now, now)
            # Relist soon even if it exited at once: nothing else would wake us.
            return self.relist_period if due is None else due
        if st is not None and st.state in (RUNNING, EXITED) and cr.waiting[0]:
            cr.waiting = ("", "")
        return None

    def _terminate(self, rec: PodRecord) -> Optional[float]:
        """Graceful deletion: stop every container within deletionGracePeriodSeconds,
        report the final status, then delete the pod object with grace 0."""
        if self._kill_all(rec, events=True):
            return self.relist_period         # the runtime SIGKILLs after the grace
        self._write_status(rec, self._observe(rec), terminal=True)
        meta = rec.pod["metadata"]
        try:
            self.client.delete("pods", meta["name"], meta.get("namespace"),
                               grace_period_seconds=0, preconditions={"uid": rec.uid})
        except (NotFound, Conflict):
            pass                              # already gone, or a new pod by that name
        except APIError as e:
            log.warning("kubelet %s: deleting pod %s failed: %s", self.node_name, meta["name"], e)
            return self.relist_period
        self._forget(rec)
        return None

    def _cleanup_orphan(self, rec: PodRecord) -> Optional[float]:
        """The pod is gone from the API: stop its containers, then remove them."""
        if self._kill_all(rec, events=False):
            return self.relist_period
        self._forget(rec)
        return None

    def _kill_all(self, rec: PodRecord, events: bool) -> bool:
        """SIGTERM every live container once (grace: deletionGracePeriodSeconds, else
        terminationGracePeriodSeconds); True while any of them still runs."""
        if not rec.stopping:
            rec.stopping = True
            self.probes.forget(rec.uid)
            grace = get_path(rec.pod, "metadata", "deletionGracePeriodSeconds")
            if grace is None:
                grace = get_path(rec.pod, "spec", "terminationGracePeriodSeconds", default=30)
            for name, st in self._observe(rec).items():
                if st is not None and st.state in (CREATED, RUNNING):
                    if events:
                        self.recorder.event(rec.pod, NORMAL, "Killing",
                                            f"Stopping container {name}")
                    self.runtime.stop(st.id, grace)
        return any(s is not None and s.state in (CREATED, RUNNING)
                   for s in self._observe(rec).values())

    def _forget(self, rec: PodRecord) -> None:
        kuberuntime.remove_all(self.runtime, rec)
        self.probes.forget(rec.uid)
        if self._cidr is not None:
            self._cidr.release(rec.uid)
        if rec.dir:
            podenv.cleanup_volumes(rec.dir)
            shutil.rmtree(rec.dir, ignore_errors=True)
        self._pods.pop(rec.uid, None)

    # --- runtime and status ----------------------------------------------------------
    def _observe(self, rec: PodRecord) -> dict:
        return kuberuntime.observe(self.runtime, rec,
                                   _init_containers(rec.pod) + _containers(rec.pod))

    def _probe(self, rec: PodRecord, statuses: dict) -> None:
        self.probes.update(rec.pod, {c["name"]: statuses[c["name"]] for c in _containers(rec.pod)
                                     if statuses.get(c["name"])}, pod_ip=rec.ip)

    def build_status(self, rec: PodRecord, statuses: dict, terminal: bool = False) -> dict:
        return podstatus.build_pod_status(
            rec.pod, kuberuntime.views(rec, statuses, _init_containers(rec.pod), None),
            kuberuntime.views(rec, statuses, _containers(rec.pod), self.probes),
            runtime_name=getattr(self.runtime, "name", "unknown"), pod_ip=rec.ip,
            host_ip=self.node_ip, start_time=rec.start_time, now=self.clock.now(),
            terminal=terminal)

    def _write_status(self, rec: PodRecord, statuses: dict, terminal: bool = False) -> None:
        """PUT pod.status if it changed (and we did not already write exactly this)."""
        new = self.build_status(rec, statuses, terminal)
        if not podstatus.needs_update(rec.pod.get("status"), new):
            return
        rv = int(rec.pod["metadata"].get("resourceVersion") or 0)
        if rec.written == new and rv <= rec.written_rv:
            return                            # our cache lags behind our own write
        for _ in range(2):
            try:
                rec.pod = self.client.update_status(dict(rec.pod, status=new))
                rec.written, rec.written_rv = new, int(rec.pod["metadata"]["resourceVersion"])
                return
            except Conflict:
                try:
                    rec.pod = self.client.get("pods", rec.pod["metadata"]["name"],
                                              rec.pod["metadata"].get("namespace"))
                except APIError:
                    return
                if rec.pod["metadata"].get("uid") != rec.uid:
                    return
                new = self.build_status(rec, statuses, terminal)
            except APIError as e:
                log.info("kubelet %s: status of %s not written: %s", self.node_name,
                         rec.pod["metadata"].get("name"), e)
                return

    def _monotonic_of(self, wall: float) -> float:
        """A runtime's wall timestamp (finishedAt) on our monotonic scale."""
        return self.clock.monotonic() - max(0.0, self.clock.now() - wall)

    def _lookup(self, kind: str, namespace: str, name: str) -> dict:
        return self.client.get(kind, name, namespace)      # podenv's ConfigMap/Secret reads

    def _pod_dir(self, rec: PodRecord) -> str:
        if not rec.dir:
            if self._pod_root is None:
                self._pod_root = tempfile.mkdtemp(prefix=f"minik8s-{self.node_name}-")
                self._own_root = True
            rec.dir = os.path.join(self._pod_root, "pods", rec.uid)
        return rec.dir

    # --- for the kubelet's HTTP server --------------------------------------------------
    def pods(self) -> list:
        """The pods bound to this node, as the informer has them (do not mutate)."""
        return self.informer.list()

    def container_logs(self, namespace: str, pod_name: str, container: str = "", *,
                       previous: bool = False, tail_lines: Optional[int] = None,
                       since_seconds: Optional[int] = None, timestamps: bool = False,
                       limit_bytes: Optional[int] = None) -> bytes:
        """The container's log. Raises NotFound / BadRequest with the kubelet's text."""
        cid = self._log_container(namespace, pod_name, container, previous)
        since = self.clock.now() - since_seconds if since_seconds else None
        return self.runtime.logs(cid, tail_lines=tail_lines, since=since,
                                 timestamps=timestamps, limit_bytes=limit_bytes)

    def follow_logs(self, namespace: str, pod_name: str, container: str = "", *,
                    previous: bool = False, tail_lines: Optional[int] = None,
                    since_seconds: Optional[int] = None, timestamps: bool = False,
                    limit_bytes: Optional[int] = None, poll: float = 0.2) -> Iterator[bytes]:
        """`logs -f`: chunks of output until the container is no longer running."""
        cid = self._log_container(namespace, pod_name, container, previous)
        since = self.clock.now() - since_seconds if since_seconds else None
        return kuberuntime.follow(self.runtime, self.clock, self._stopped, cid, since=since,
                                  tail_lines=tail_lines, timestamps=timestamps,
                                  limit_bytes=limit_bytes, poll=poll)

    def _log_container(self, namespace: str, pod_name: str, container: str,
                       previous: bool) -> str:
        with self._lock:
            rec = next((r for r in self._pods.values()
                        if get_path(r.pod, "metadata", "namespace") == namespace
                        and get_path(r.pod, "metadata", "name") == pod_name), None)
            if rec is None:
                raise NotFound(f'pod "{pod_name}" cannot be found - no logs available')
            return kuberuntime.log_container_id(self, rec, pod_name, container, previous)


def _key(pod: dict) -> tuple:
    meta = pod["metadata"]
    return meta.get("namespace", ""), meta.get("name", "")


def _containers(pod: dict) -> list:
    return list((pod.get("spec") or {}).get("containers") or [])


def _init_containers(pod: dict) -> list:
    return list((pod.get("spec") or {}).get("initContainers") or [])

