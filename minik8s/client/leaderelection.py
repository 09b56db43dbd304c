"""Leader election over a Lease: how two schedulers run and only one schedules.

In Kubernetes, HA control-plane components (scheduler, controller-manager) run several
copies; client-go's `leaderelection` picks one through a coordination.k8s.io/v1 Lease
object. The leader writes its identity into `spec.holderIdentity` and keeps bumping
`spec.renewTime`; the others keep reading the Lease, and take it over only when it has
not changed for `leaseDurationSeconds`. Every write carries the resourceVersion it read,
so when two candidates race, the API server lets exactly one win (the other gets
409 Conflict). A leader that cannot renew within `renew_deadline` gives up leadership
(`on_stopped_leading`) — before any other candidate may take over, since
renew_deadline < lease_duration.

The rule that makes it safe across machines: a candidate never compares `renewTime`
with its own wall clock (clocks drift). It remembers *when it last saw the record
change*, on its own monotonic clock, and only takes over when that was longer than
leaseDuration ago. This version does the same.

One class, no threads: `step()` does one acquire-or-renew attempt when one is due and
returns how long until the next (the simulator calls it; `run()` loops around it).
Differences from client-go: attempts are not jittered; a leader that *sees* another
holder in the Lease stops leading at once (client-go waits for its renew deadline);
`is_leader` also turns False by itself once the renew deadline has passed, even if
`step()` was not called in time, so "two leaders at once" cannot be observed.

Invariant: at any instant at most one elector's `is_leader` is True (given one clock
rate for all, which the simulator's shared FakeClock guarantees).
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Optional

from ..api.clock import Clock
from ..api.errors import AlreadyExists, APIError, Conflict, NotFound
from ..api.meta import micro_time
from .interface import Client

log = logging.getLogger(__name__)


class LeaderElector:
    def __init__(self, client: Client, clock: Clock, *, name: str,
                 namespace: str = "kube-system", identity: str,
                 lease_duration: float = 15, renew_deadline: float = 10,
                 retry_period: float = 2,
                 on_started_leading: Optional[Callable[[], None]] = None,
                 on_stopped_leading: Optional[Callable[[], None]] = None):
        # client-go's checks: a leader must give up before anyone may take over.
        if not lease_duration > renew_deadline > retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")
        if lease_duration != int(lease_duration):
            raise ValueError("lease_duration is whole seconds (leaseDurationSeconds is int32)")
        if not identity:
            raise ValueError("identity must not be empty")
        self.client = client
        self.clock = clock
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self._leading = False
        self._last_renew = 0.0          # monotonic time our last successful write was sent
        self._observed_spec: Optional[dict] = None
        self._observed_at = 0.0         # monotonic time we saw the record change
        self._next_try: Optional[float] = None
        self.last_error: Optional[BaseException] = None

    @property
    def is_leader(self) -> bool:
        return self._leading and self.clock.monotonic() < self._last_renew + self.renew_deadline

    @property
    def observed_holder(self) -> str:
        return (self._observed_spec or {}).get("holderIdentity") or ""

    def step(self) -> float:
        """Acquire or renew if an attempt is due; seconds until the next attempt."""
        now = self.clock.monotonic()
        if self._leading and now >= self._last_renew + self.renew_deadline:
            log.warning("%s: failed to renew lease %s/%s within %ss", self.identity,
                        self.namespace, self.name, self.renew_deadline)
            self._stop_leading()
        if self._next_try is None or now >= self._next_try:
            if self._try_acquire_or_renew(now):
                if not self._leading:
                    self._leading = True
                    log.info("%s: became leader of %s/%s", self.identity, self.namespace,
                             self.name)
                    if self.on_started_leading:
                        self.on_started_leading()
            elif self._leading and self.observed_holder != self.identity:
                self._stop_leading()        # someone else holds it: we lost, say so now
            self._next_try = now + self.retry_period
        wake = self._next_try - now
        if self._leading:
            wake = min(wake, self._last_renew + self.renew_deadline - now)
        return max(wake, 0.0)

    def run(self, stop_event: threading.Event) -> None:
        """Step until `stop_event` is set, then release the lease if we hold it."""
        while not stop_event.is_set():
            self.clock.wait(stop_event, self.step())
        self.release()

    def release(self) -> bool:
        """Graceful stop: empty holderIdentity so a successor need not wait out the
        lease. True if the lease was released."""
        if not self._leading:
            return False
        released = False
        try:
            lease = self.client.get("leases", self.name, self.namespace)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") == self.identity:
                t = micro_time(self.clock.now())
                lease["spec"] = {"holderIdentity": "", "leaseDurationSeconds": 1,
                                 "acquireTime": t, "renewTime": t,
                                 "leaseTransitions": spec.get("leaseTransitions", 0)}
                self.client.update(lease)
                released = True
        except APIError as e:
            self.last_error = e
            log.warning("%s: could not release lease: %s", self.identity, e)
        self._stop_leading()
        return released

    # --- one attempt ----------------------------------------------------------------
    def _try_acquire_or_renew(self, now: float) -> bool:
        """client-go's tryAcquireOrRenew. `now` is taken *before* the request, so our
        view of when we last renewed errs early (safe side)."""
        wall = micro_time(self.clock.now())
        try:
            lease = self.client.get("leases", self.name, self.namespace)
        except NotFound:
            return self._create(now, wall)
        except APIError as e:
            return self._failed(e)

        spec = lease.get("spec") or {}
        if spec != self._observed_spec:
            self._observed_spec, self._observed_at = spec, now
        holder = spec.get("holderIdentity") or ""
        duration = spec.get("leaseDurationSeconds") or self.lease_duration
        if holder and holder != self.identity and now < self._observed_at + duration:
            return False                    # held by someone else, not expired yet

        if holder == self.identity and self._leading:
            new = dict(spec, renewTime=wall, leaseDurationSeconds=int(self.lease_duration))
        else:
            # A takeover (or re-acquiring our own stale record): a new term begins.
            new = {"holderIdentity": self.identity,
                   "leaseDurationSeconds": int(self.lease_duration),
                   "acquireTime": wall, "renewTime": wall,
                   "leaseTransitions": (spec.get("leaseTransitions") or 0)
                   + (1 if holder != self.identity else 0)}
        lease["spec"] = new                 # metadata.resourceVersion stays: a precondition
        try:
            written = self.client.update(lease)
        except Conflict as e:
            return self._failed(e)          # someone else wrote first: we lost this round
        except APIError as e:
            return self._failed(e)
        self._observed(written, now)
        return True

    def _create(self, now: float, wall: str) -> bool:
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": self.name, "namespace": self.namespace},
                 "spec": {"holderIdentity": self.identity,
                          "leaseDurationSeconds": int(self.lease_duration),
                          "acquireTime": wall, "renewTime": wall, "leaseTransitions": 0}}
        try:
            written = self.client.create(lease, self.namespace)
        except AlreadyExists as e:
            return self._failed(e)          # another candidate created it first
        except APIError as e:
            return self._failed(e)
        self._observed(written, now)
        return True

    def _observed(self, written: dict, now: float) -> None:
        self._observed_spec = written.get("spec") or {}
        self._observed_at = now
        self._last_renew = now

    def _failed(self, err: APIError) -> bool:
        self.last_error = err
        log.debug("%s: lease %s/%s: %s", self.identity, self.namespace, self.name, err)
        return False

    def _stop_leading(self) -> None:
        was = self._leading
        self._leading = False
        if was:
            log.info("%s: stopped leading %s/%s", self.identity, self.namespace, self.name)
            if self.on_stopped_leading:
                self.on_stopped_leading()
