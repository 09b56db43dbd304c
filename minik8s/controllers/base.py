"""The one shape every controller has (sample-controller / controller-runtime).

In Kubernetes a controller is: shared informers whose event handlers only *enqueue a
key*; a work queue that hands each key to one worker at a time; and a
`syncHandler(key)` ("reconcile") that reads the object and what exists from the
informer caches, compares them with the spec, issues API calls, and writes status.
It is **level-triggered**: reconcile never trusts the content of the event that
enqueued the key, it looks at the current state, so a missed or merged event changes
nothing. Errors put the key back with per-key exponential backoff; success forgets it.

`Controller` is that, with no threads of its own:

    class ReplicaSetController(Controller):
        name = "replicaset"
        def setup(self):                     # informers and handlers
            self.rs = self.informer("replicasets", on_change=self.enqueue)
            self.pods = self.informer("pods", on_change=self.enqueue_owner)
        def reconcile(self, key):            # "namespace/name" -> requeue seconds|None
            ...

- `step()` steps every informer (events -> handlers -> keys), then pops and
  reconciles every ready key, and returns when it next needs to run (a requeue
  timer, a backoff, an informer retry) or None. `run(stop_event)` loops around it.
- `reconcile` returns None (done), or seconds after which to look again (e.g. when a
  pod becomes available after minReadySeconds). It raises `Retry`, or any APIError,
  to retry with backoff; `Permanent` to log and drop the key until it changes again.
- Informer caches are **shared**: never mutate what `get`/`list` return; deep-copy
  (`minik8s.api.meta.deepcopy`) before changing and writing back.

Components built from several controllers (the controller-manager) share informers
through an `InformerSet`, as kube-controller-manager shares one informer factory.

`Expectations` is client-go's ControllerExpectations: after a controller asks for N
creations it must not trust a cache that does not show them yet, or it would create
them again (and likewise for deletions). Reconcile of a key whose expectations are
not yet satisfied does nothing but wait; the informer's add/delete handlers lower the
counts; expectations also expire (5 minutes) so a lost event cannot wedge a key.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Optional

from ..api.clock import Clock
from ..api.errors import APIError
from ..api.meta import key_of
from ..client.informer import Informer
from ..client.interface import Client
from ..client.workqueue import WorkQueue

log = logging.getLogger(__name__)

EXPECTATIONS_TIMEOUT = 300.0     # client-go's ExpectationsTimeout: 5 minutes


class Retry(Exception):
    """Reconcile could not finish; look again after backoff (or `after` seconds)."""

    def __init__(self, message: str = "", after: Optional[float] = None):
        super().__init__(message)
        self.after = after


class Permanent(Exception):
    """Reconcile cannot succeed until the object changes: log it, drop the key."""


class InformerSet:
    """Informers shared by several controllers: one per (resource, namespace,
    selectors). Stepping the set steps each informer once."""

    def __init__(self, client: Client, clock: Clock):
        self.client, self.clock = client, clock
        self._informers: dict = {}

    def get(self, resource: str, namespace: Optional[str] = None, *,
            label_selector: str = "", field_selector: str = "") -> Informer:
        key = (resource, namespace, label_selector, field_selector)
        inf = self._informers.get(key)
        if inf is None:
            inf = Informer(self.client, resource, namespace, label_selector=label_selector,
                           field_selector=field_selector, clock=self.clock)
            self._informers[key] = inf
        return inf

    def step(self) -> Optional[float]:
        dues = [inf.step() for inf in list(self._informers.values())]
        dues = [d for d in dues if d is not None]
        return min(dues) if dues else None

    def has_synced(self) -> bool:
        return all(inf.has_synced() for inf in self._informers.values())

    def __iter__(self):
        return iter(list(self._informers.values()))


class Controller:
    """Subclasses set `name` and implement `setup()` and `reconcile(key)`."""

    name = "controller"

    def __init__(self, client: Client, clock: Clock, *, informers: Optional[InformerSet] = None,
                 recorder=None, rng=None):
        self.client, self.clock, self.rng = client, clock, rng
        self.informers = informers or InformerSet(client, clock)
        self._own_informers = informers is None
        self.queue = WorkQueue(clock, self.name)
        self.recorder = recorder
        self.reconciles = 0                  # how many reconcile calls ran (tests, metrics)
        self.setup()

    # --- to override -------------------------------------------------------------------
    def setup(self) -> None:
        """Create informers (`self.informer(...)`) and attach handlers."""

    def reconcile(self, key: str) -> Optional[float]:
        raise NotImplementedError

    # --- helpers for subclasses ------------------------------------------------------------
    def informer(self, resource: str, namespace: Optional[str] = None, *,
                 on_change: Optional[Callable[[dict], None]] = None,
                 label_selector: str = "", field_selector: str = "") -> Informer:
        """The shared informer for `resource`; `on_change(obj)` is called for every add,
        update (with the new object) and delete."""
        inf = self.informers.get(resource, namespace, label_selector=label_selector,
                                 field_selector=field_selector)
        if on_change is not None:
            inf.add_handler(on_add=on_change, on_update=lambda _old, new: on_change(new),
                            on_delete=on_change)
        return inf

    def enqueue(self, obj: dict) -> None:
        """Handler: queue the object's own key ("namespace/name" or "name")."""
        self.queue.add(key_of(obj))

    def enqueue_after(self, key: str, delay: float) -> None:
        self.queue.add_after(key, delay)

    def event(self, obj: dict, type: str, reason: str, message: str) -> None:
        if self.recorder is not None:
            self.recorder.event(obj, type, reason, message)

    # --- the loop ------------------------------------------------------------------------
    def step(self) -> Optional[float]:
        """Deliver informer events, reconcile every ready key once; return seconds until
        something is due (timer, backoff, informer retry) or None."""
        dues = [self.informers.step()] if self._own_informers else []
        dues.append(self.process_queue())
        dues = [d for d in dues if d is not None]
        return max(0.0, min(dues)) if dues else None

    def process_queue(self, limit: Optional[int] = None) -> Optional[float]:
        """Reconcile ready keys (each at most once per call, at most `limit`)."""
        seen: set = set()
        while limit is None or len(seen) < limit:
            key = self.queue.pop()
            if key is None:
                break
            if key in seen:                  # re-added during this pass: next step
                self.queue.done(key)
                self.queue.add(key)
                break
            seen.add(key)
            self.process_one(key)
        return self.queue.next_due()

    def process_one(self, key: str) -> None:
        self.reconciles += 1
        try:
            after = self.reconcile(key)
        except Retry as e:
            if e.after is not None:
                self.queue.forget(key)
                self.queue.add_after(key, e.after)
            else:
                self.queue.add_rate_limited(key)
            log.debug("%s: %s: retry: %s", self.name, key, e)
        except Permanent as e:
            self.queue.forget(key)
            log.warning("%s: %s: giving up until it changes: %s", self.name, key, e)
        except APIError as e:
            self.queue.add_rate_limited(key)
            log.info("%s: %s: %s %s, retrying", self.name, key, type(e).__name__, e)
        except Exception:
            self.queue.add_rate_limited(key)
            log.exception("%s: %s: reconcile failed", self.name, key)
        else:
            self.queue.forget(key)
            if after is not None:
                self.queue.add_after(key, max(0.0, after))
        finally:
            self.queue.done(key)

    def run(self, stop_event: threading.Event, idle: float = 1.0) -> None:
        while not stop_event.is_set():
            due = self.step()
            self.clock.wait(stop_event, idle if due is None else min(max(due, 0.001), idle))


class Expectations:
    """Per-key counts of creations/deletions asked for but not yet seen in the cache."""

    def __init__(self, clock: Clock, timeout: float = EXPECTATIONS_TIMEOUT):
        self.clock, self.timeout = clock, timeout
        self._exp: dict = {}                 # key -> [adds, deletes, set_at]

    def expect(self, key: str, adds: int = 0, deletes: int = 0) -> None:
        self._exp[key] = [adds, deletes, self.clock.monotonic()]

    def creation_observed(self, key: str) -> None:
        self._lower(key, 0)

    def deletion_observed(self, key: str) -> None:
        self._lower(key, 1)

    def lower(self, key: str, adds: int = 0, deletes: int = 0) -> None:
        """A create/delete that was expected failed: do not wait for it."""
        e = self._exp.get(key)
        if e is not None:
            e[0] -= adds
            e[1] -= deletes

    def _lower(self, key: str, i: int) -> None:
        e = self._exp.get(key)
        if e is not None:
            e[i] -= 1

    def satisfied(self, key: str) -> bool:
        """True when nothing is pending for `key` (or never set, or expired)."""
        e = self._exp.get(key)
        if e is None:
            return True
        if (e[0] <= 0 and e[1] <= 0) or self.clock.monotonic() - e[2] > self.timeout:
            return True
        return False

    def delete(self, key: str) -> None:
        self._exp.pop(key, None)

    def pending(self, key: str) -> tuple:
        e = self._exp.get(key)
        return (e[0], e[1]) if e else (0, 0)


class UIDTrackingExpectations(Expectations):
    """client-go's UIDTrackingControllerExpectations: deletions are expected *by pod
    key*, so a pod that is seen twice — first marked for deletion (an update with
    deletionTimestamp), then gone (a delete) — lowers the count once, not twice.
    Counting both would let a controller that deleted two pods believe both
    deletions were seen after watching only one of them, and delete another pod."""

    def __init__(self, clock: Clock, timeout: float = EXPECTATIONS_TIMEOUT):
        super().__init__(clock, timeout)
        self._deleting: dict = {}            # key -> set of pod keys still expected

    def expect_deletions(self, key: str, pod_keys) -> None:
        self._deleting[key] = set(pod_keys)
        self.expect(key, deletes=len(self._deleting[key]))

    def deletion_observed(self, key: str, pod_key: Optional[str] = None) -> None:
        """Without `pod_key` this counts like Expectations; with it, only a pod we
        expected, and only once."""
        if pod_key is None:
            super().deletion_observed(key)
            return
        waiting = self._deleting.get(key)
        if waiting is not None and pod_key in waiting:
            waiting.discard(pod_key)
            super().deletion_observed(key)

    def delete(self, key: str) -> None:
        super().delete(key)
        self._deleting.pop(key, None)
