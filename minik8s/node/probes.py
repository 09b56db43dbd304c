"""The prober: startup, liveness and readiness probes, on the clock.

In Kubernetes the kubelet's prober manager (pkg/kubelet/prober) runs one *worker* per
container and probe type. A worker ticks every `periodSeconds` from the moment the
pod is added and on each tick runs `doProbe`, whose rules this module keeps exactly:

- a new container id resets the worker: result back to its initial value (liveness
  Success, readiness Failure, startup Unknown) and "on hold" cleared;
- while on hold (after a liveness/startup failure, until the container is replaced)
  nothing is probed;
- a container that is not running makes the result Failure (the worker stops if it
  exited and `restartPolicy` is Never); a pod that finished stops every worker;
- a pod being deleted sets liveness/startup to Success and stops them (quiet shutdown);
- nothing runs until `int(seconds since the container started) >= initialDelaySeconds`;
- the startup probe runs until the container has *started*; liveness and readiness
  run only after it has;
- a result is recorded only after `successThreshold` equal successes or
  `failureThreshold` equal failures in a row; a probe that errors changes nothing;
- a recorded liveness or startup Failure puts the worker on hold: the kubelet
  restarts the container, and the new container id resumes probing.

A container with no startup probe is started as soon as it runs; with no readiness
probe it is ready as soon as it has started. Kubernetes also probes readiness *at
once* (not on the next tick) whenever it syncs a pod that is started but not ready; a
sync happens when a container changes state or a probe result changes. `update()` is
that sync here: it triggers those readiness workers in the same way, so a pod with a
readiness probe and no initial delay is Ready right after it starts.

Every failed probe is an `Unhealthy` event (`Liveness probe failed: <output>`); the
manager queues them for the kubelet to record (`pop_events`).

Determinism: under a FakeClock probes run synchronously inside `update()` (the
simulated runtime answers at once); under a real clock each probe runs on a thread,
because a real probe may block up to `timeoutSeconds`, and its result is applied at
the next `update()`. Kubernetes also waits a random fraction of a period before the
first tick after a kubelet restart; we do not (ticks start when the pod is added).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

from minik8s.api.clock import FakeClock
from .runtime import EXITED, RUNNING

STARTUP, LIVENESS, READINESS = "startupProbe", "livenessProbe", "readinessProbe"
SUCCESS, FAILURE, UNKNOWN = "Success", "Failure", "Unknown"
_INITIAL = {STARTUP: UNKNOWN, LIVENESS: SUCCESS, READINESS: FAILURE}
_TITLE = {STARTUP: "Startup", LIVENESS: "Liveness", READINESS: "Readiness"}
_LAST = object()         # results(): use the status the last update() saw
_DEFAULTS = {"initialDelaySeconds": 0, "timeoutSeconds": 1, "periodSeconds": 10,
             "successThreshold": 1, "failureThreshold": 3}


@dataclass(frozen=True)
class ProbeState:
    """What the kubelet needs for a container's status and restarts."""
    started: bool
    ready: bool
    liveness_failed: bool        # restart it (stays True until a new container id)
    message: str = ""            # the last failed probe's output
    failed_probe: str = ""       # "liveness" or "startup": which one wants the restart


@dataclass(frozen=True)
class ProbeEvent:
    """An `Unhealthy` Warning event to record on the pod."""
    namespace: str
    pod_name: str
    pod_uid: str
    container: str
    reason: str
    message: str


class _Worker:
    def __init__(self, kind: str, spec: dict, now: float):
        self.kind = kind
        self.spec = {**_DEFAULTS, **{k: v for k, v in spec.items() if v}}
        self.period = max(int(self.spec["periodSeconds"]), 1)
        self.next_tick = now               # the first tick is right away
        self.container_id = ""
        self.result: Optional[str] = None  # None: no result for this container yet
        self.last_result: Optional[str] = None
        self.result_run = 0
        self.on_hold = False
        self.stopped = False
        self.triggered = False             # run at once (a readiness manual trigger)
        self.pending = None                # a running probe (threaded mode)
        self.message = ""


class ProbeManager:
    def __init__(self, runtime, clock, *, threaded: Optional[bool] = None):
        self.runtime, self.clock = runtime, clock
        self.threaded = (not isinstance(clock, FakeClock)) if threaded is None else threaded
        self._pool = ThreadPoolExecutor(8, "prober") if self.threaded else None
        self._workers: dict = {}     # pod uid -> {(container, kind): _Worker}
        self._seen: dict = {}        # pod uid -> {container: ContainerStatus}
        self._sig: dict = {}         # pod uid -> container (id, state) signature
        self._resync: set = set()    # pods whose readiness result changed: sync again
        self._changes: set = set()   # kinds whose result changed in the current pass
        self._events: list = []

    # --- the kubelet's side ------------------------------------------------------

    def update(self, pod: dict, statuses: dict, pod_ip: Optional[str] = None) -> None:
        """Sync one pod: start workers for containers with probes, then run every
        worker that is due (or triggered). `statuses` maps each container name to the
        runtime's status of its current container (missing: not created yet)."""
        uid = pod["metadata"]["uid"]
        now = self.clock.monotonic()
        self._seen[uid] = dict(statuses)
        workers = self._workers.setdefault(uid, {})
        for c in (pod.get("spec") or {}).get("containers") or []:
            for kind in (STARTUP, LIVENESS, READINESS):
                if c.get(kind) and (c["name"], kind) not in workers:
                    workers[(c["name"], kind)] = _Worker(kind, c[kind], now)
        # A container that changed state, or a result that changed, is a pod sync in
        # Kubernetes; a sync triggers the readiness workers of started, unready
        # containers.
        sig = {n: (s.id, s.state) for n, s in statuses.items()}
        synced = sig != self._sig.get(uid) or uid in self._resync
        self._sig[uid] = sig
        self._resync.discard(uid)
        self._changes = set()
        ip = pod_ip or (pod.get("status") or {}).get("podIP") or ""
        # Startup and liveness first: a result they change is a sync, which triggers
        # readiness in this same pass.
        for kind in (STARTUP, LIVENESS, READINESS):
            for (name, wkind), w in workers.items():
                if wkind != kind or w.stopped:
                    continue
                self._collect(pod, name, w)
                if kind == READINESS and (synced or self._changes):
                    state = self.results(uid, name)
                    if state.started and not state.ready:
                        w.triggered = True
                if w.pending is None and (w.triggered or now >= w.next_tick):
                    self._tick(w, now)
                    self._do_probe(pod, name, w, statuses.get(name), ip)
        if READINESS in self._changes:
            self._resync.add(uid)

    def results(self, pod_uid: str, container_name: str, status=_LAST) -> ProbeState:
        """The container's started/ready/liveness state, as of the last update(); pass
        the container's fresh `status` (or None) if it changed since (a container the
        kubelet just started is started at once if it has no startup probe)."""
        if status is _LAST:
            status = self._seen.get(pod_uid, {}).get(container_name)
        running = status is not None and status.state == RUNNING
        startup = self._active(pod_uid, container_name, STARTUP)
        readiness = self._active(pod_uid, container_name, READINESS)
        liveness = self._active(pod_uid, container_name, LIVENESS)
        started = running and (startup is None or self._current(startup, status) == SUCCESS)
        ready = started and (readiness is None or self._current(readiness, status) == SUCCESS)
        failed = ""
        if startup is not None and self._current(startup, status) == FAILURE:
            failed = "startup"       # a failed startup probe restarts the container too
        if liveness is not None and self._current(liveness, status) == FAILURE:
            failed = "liveness"
        message = next((w.message for w in (liveness, startup, readiness)
                        if w is not None and w.message), "")
        return ProbeState(started, ready, bool(failed), message, failed)

    def next_due(self) -> Optional[float]:
        """Seconds until some worker next needs an update(), or None."""
        now = self.clock.monotonic()
        dues = [0.0] if self._resync else []
        for workers in self._workers.values():
            for w in workers.values():
                if w.stopped:
                    continue
                if w.pending is not None:
                    dues.append(0.05)        # poll for the threaded probe's outcome
                else:
                    dues.append(0.0 if w.triggered else max(w.next_tick - now, 0.0))
        return min(dues) if dues else None

    def forget(self, pod_uid: str) -> None:
        """The pod is gone: stop its workers and drop its results."""
        for table in (self._workers, self._seen, self._sig):
            table.pop(pod_uid, None)
        self._resync.discard(pod_uid)

    def pop_events(self) -> list:
        """Unhealthy events since the last call (oldest first)."""
        events, self._events = self._events, []
        return events

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # --- one worker -----------------------------------------------------------------

    def _active(self, uid, name, kind) -> Optional[_Worker]:
        """A stopped worker counts as absent, as a removed worker does in Kubernetes."""
        w = self._workers.get(uid, {}).get((name, kind))
        return None if w is None or w.stopped else w

    @staticmethod
    def _current(w: _Worker, status) -> Optional[str]:
        """The worker's result for this very container (None: not probed yet)."""
        if status is None or w.container_id != status.id:
            return None
        return w.result

    @staticmethod
    def _tick(w: _Worker, now: float) -> None:
        """Consume the trigger and move to the next tick; ticks missed while nobody
        called update() are dropped, as a Go ticker drops them."""
        w.triggered = False
        if now >= w.next_tick:
            w.next_tick += w.period * (int((now - w.next_tick) // w.period) + 1)

    def _do_probe(self, pod: dict, name: str, w: _Worker, status, ip: str) -> None:
        """Kubernetes' worker.doProbe; a False return there is `stopped` here."""
        uid = pod["metadata"]["uid"]
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Failed", "Succeeded"):
            w.stopped = True
            return
        if status is None:
            return                              # not created yet: try again next tick
        if w.container_id != status.id:
            w.container_id = status.id
            self._set(w, _INITIAL[w.kind])
            w.on_hold = False
        if w.on_hold:
            return
        if status.state != RUNNING:
            self._set(w, FAILURE)
            if status.state == EXITED and (pod.get("spec") or {}).get("restartPolicy") == "Never":
                w.stopped = True
            return
        if pod["metadata"].get("deletionTimestamp") and w.kind in (LIVENESS, STARTUP):
            self._set(w, SUCCESS)          # quiet shutdown
            w.stopped = True
            return
        started_at = status.started_at if status.started_at is not None else self.clock.now()
        if int(self.clock.now() - started_at) < int(w.spec["initialDelaySeconds"]):
            return
        started = self.results(uid, name).started
        if started != (w.kind != STARTUP):
            return       # startup probes run until started; the others only after
        if self.threaded:
            w.pending = self._pool.submit(self.runtime.probe, status.id, w.spec, ip)
            return
        try:
            outcome = self.runtime.probe(status.id, w.spec, ip)
        except Exception as e:                   # a probe that errors changes nothing
            self._event(pod, name, f"{_TITLE[w.kind]} probe errored: {e}")
            return
        self._record(pod, name, w, outcome)

    def _collect(self, pod: dict, name: str, w: _Worker) -> None:
        """Threaded mode: apply a finished probe's outcome."""
        if w.pending is None or not w.pending.done():
            return
        future, w.pending = w.pending, None
        try:
            outcome = future.result()
        except Exception as e:
            self._event(pod, name, f"{_TITLE[w.kind]} probe errored: {e}")
            return
        self._record(pod, name, w, outcome)

    def _record(self, pod: dict, name: str, w: _Worker, outcome) -> None:
        result = SUCCESS if outcome.success else FAILURE
        if result == FAILURE:
            w.message = outcome.message
            self._event(pod, name, f"{_TITLE[w.kind]} probe failed: {outcome.message}")
        if w.last_result == result:
            w.result_run += 1
        else:
            w.last_result, w.result_run = result, 1
        threshold = w.spec["failureThreshold"] if result == FAILURE else w.spec["successThreshold"]
        if w.result_run < int(threshold):
            return
        self._set(w, result)
        if result == FAILURE and w.kind in (LIVENESS, STARTUP):
            # The container will be restarted: stop probing until a new container id.
            w.on_hold, w.result_run = True, 0

    def _set(self, w: _Worker, result: str) -> None:
        if w.result != result:
            self._changes.add(w.kind)
        w.result = result
        if result == SUCCESS:
            w.message = ""

    def _event(self, pod: dict, container: str, message: str) -> None:
        meta = pod["metadata"]
        self._events.append(ProbeEvent(meta.get("namespace", ""), meta.get("name", ""),
                                       meta["uid"], container, "Unhealthy", message))
