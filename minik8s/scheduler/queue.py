"""The scheduling queue: which pod to schedule next, and when to retry one that failed.

In Kubernetes (`internal/queue/scheduling_queue.go`, PriorityQueue) a pending pod is
in one of three places:

  activeQ            ready to be tried now; Pop takes the head;
  podBackoffQ        failed recently; waits its per-pod backoff (1 s, 2 s, 4 s ...
                     capped at 10 s by number of attempts), then goes to activeQ;
  unschedulablePods  failed because no node fits; waits for the cluster to change
                     (a node added or updated, an assigned pod deleted: move_all),
                     or for 5 minutes (flushed to activeQ even if nothing changed).

and a popped pod is "in flight" until the scheduler reports how the attempt went.
The moveRequestCycle rule closes a race: if the cluster changed *while* a pod was
being tried, the failure may be stale — so that pod goes to backoff (retried soon)
instead of unschedulable (where it could wait 5 minutes for the next change).

This version keeps all of that except priorities: activeQ is ordered by the time the
pod last entered the queue (added, or failed), first come first served among equal
times — Kubernetes orders by priority first, then by that same timestamp. It ignores
queueing hints (every event moves every unschedulable pod, unless move_all is given
a predicate) and checks the 5 minutes on every flush (Kubernetes checks every 30 s).
pop() never blocks: the scheduler's step() drains it and returns next_due().

Invariants: a pod (by namespace/name) is in at most one of activeQ, podBackoffQ,
unschedulablePods and in-flight; a popped pod is not popped again until the
scheduler calls done / add_unschedulable / add_backoff for it. Not thread-safe: the
scheduler uses it from its step() only. Times come from clock.monotonic().
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Optional

from minik8s.api.meta import key_of

# Cluster events (framework.ClusterEvent labels) that move unschedulable pods.
NODE_ADD = "NodeAdd"
NODE_UPDATE = "NodeUpdate"
ASSIGNED_POD_ADD = "AssignedPodAdd"
ASSIGNED_POD_DELETE = "AssignedPodDelete"
UNSCHEDULABLE_TIMEOUT = "UnschedulableTimeout"

# Where a pod is (for where() and tests).
ACTIVE, BACKOFF, UNSCHEDULABLE, IN_FLIGHT = "active", "backoff", "unschedulable", "in-flight"


@dataclass(frozen=True)
class QueuedPod:
    """A pod in the queue (QueuedPodInfo)."""
    pod: dict
    key: str                              # namespace/name
    attempts: int = 0                     # scheduling attempts so far (counted at pop)
    timestamp: float = 0.0                # when it last entered the queue (add or failure)
    cycle: int = 0                        # scheduling cycle of its last pop
    unschedulable_plugins: frozenset = frozenset()


class SchedulingQueue:
    def __init__(self, clock, *, initial_backoff: float = 1.0, max_backoff: float = 10.0,
                 unschedulable_timeout: float = 300.0):
        self.clock = clock
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.unschedulable_timeout = unschedulable_timeout
        # activeQ and podBackoffQ are heaps with lazy deletion: a heap entry counts only
        # while its seq is still the one in the dict (a moved or deleted pod leaves a
        # stale entry behind, skipped when it reaches the top).
        self._active: dict = {}           # key -> (seq, QueuedPod)
        self._active_heap: list = []      # (timestamp, seq, key)
        self._backoff: dict = {}          # key -> (seq, QueuedPod)
        self._backoff_heap: list = []     # (backoff expiry, seq, key)
        # Insertion order is timestamp order (entries get timestamp=now when added and
        # keep it when replaced in place), so the oldest are always first.
        self._unschedulable: dict = {}    # key -> QueuedPod
        self._in_flight: dict = {}        # key -> QueuedPod (with the newest pod object)
        self._updated_in_flight: set = set()
        self._seq = itertools.count()
        self.scheduling_cycle = 0         # incremented by every pop
        self.move_request_cycle = -1      # the cycle during which move_all last ran

    # -- the scheduler's side -------------------------------------------------------

    def pop(self) -> Optional[QueuedPod]:
        """The next pod to try, or None. It stays in flight until done/add_*."""
        self.flush()
        while self._active_heap:
            _, seq, key = heapq.heappop(self._active_heap)
            entry = self._active.get(key)
            if entry is None or entry[0] != seq:
                continue                  # stale heap entry
            del self._active[key]
            self.scheduling_cycle += 1
            qp = replace(entry[1], attempts=entry[1].attempts + 1, cycle=self.scheduling_cycle)
            self._in_flight[key] = qp
            return qp
        return None

    def done(self, key: str) -> None:
        """The attempt is over and the pod needs no retry (bound, or gone)."""
        self._in_flight.pop(key, None)
        self._updated_in_flight.discard(key)

    def add_unschedulable(self, qp: QueuedPod,
                          unschedulable_plugins: Optional[Iterable[str]] = None) -> bool:
        """No node fits `qp` (AddUnschedulableIfNotPresent). It waits for a cluster
        change in unschedulablePods — unless the cluster changed during the attempt
        (or the pod itself did), or no plugin was named as the rejector (Kubernetes
        cannot tell what to wait for): then it goes to podBackoffQ.
        False if the pod was deleted (or bound) meanwhile: it is dropped."""
        plugins = None if unschedulable_plugins is None else frozenset(unschedulable_plugins)
        latest = self._finish(qp, plugins)
        if latest is None:
            return False
        if (self.move_request_cycle >= qp.cycle or qp.key in self._updated_in_flight
                or plugins == frozenset()):
            self._updated_in_flight.discard(qp.key)
            self._push_backoff(latest)
        else:
            self._unschedulable[qp.key] = latest
        return True

    def add_backoff(self, qp: QueuedPod) -> bool:
        """The attempt failed with an error (API error, plugin error): retry after
        the pod's backoff. False if the pod was deleted (or bound) meanwhile."""
        latest = self._finish(qp, None)
        if latest is None:
            return False
        self._updated_in_flight.discard(qp.key)
        self._push_backoff(latest)
        return True

    def _finish(self, qp: QueuedPod, plugins) -> Optional[QueuedPod]:
        in_flight = self._in_flight.pop(qp.key, None)
        if in_flight is None:
            return None
        # Keep the newest pod object seen during the attempt, with the refreshed
        # timestamp the backoff counts from.
        return replace(qp, pod=in_flight.pod, timestamp=self.clock.monotonic(),
                       unschedulable_plugins=plugins or qp.unschedulable_plugins)

    # -- the informer's side --------------------------------------------------------

    def add(self, pod: dict) -> None:
        """A new unscheduled pod (or one seen again): to activeQ."""
        key = key_of(pod)
        if self.where(key) is not None:
            self.update(self._pod_of(key), pod)
            return
        self._push_active(QueuedPod(pod, key, timestamp=self.clock.monotonic()))

    def update(self, old: Optional[dict], new: dict) -> None:
        """The pod changed. A change that could make it schedulable (not just status
        or resourceVersion) moves it out of unschedulablePods."""
        key = key_of(new)
        if (new.get("spec") or {}).get("nodeName"):
            self.delete(new)              # bound: nothing left to schedule
            return
        changed = old is None or pod_updated(old, new)
        if key in self._in_flight:
            self._in_flight[key] = replace(self._in_flight[key], pod=new)
            if changed:
                self._updated_in_flight.add(key)
        elif key in self._active:
            seq, qp = self._active[key]
            self._active[key] = (seq, replace(qp, pod=new))
        elif key in self._backoff:
            seq, qp = self._backoff[key]
            self._backoff[key] = (seq, replace(qp, pod=new))
        elif key in self._unschedulable:
            qp = replace(self._unschedulable[key], pod=new)
            if changed:
                del self._unschedulable[key]
                self._move(qp)
            else:
                self._unschedulable[key] = qp      # same place, same timestamp
        else:
            self.add(new)

    def delete(self, pod: dict) -> None:
        """The pod is gone (or bound): forget it everywhere."""
        key = key_of(pod)
        self._active.pop(key, None)
        self._backoff.pop(key, None)
        self._unschedulable.pop(key, None)
        self._in_flight.pop(key, None)
        self._updated_in_flight.discard(key)

    def move_all(self, event: str, predicate: Optional[Callable[[dict], bool]] = None) -> None:
        """The cluster changed (`event`, e.g. NODE_ADD): unschedulable pods (those
        matching `predicate`, if given) move to activeQ, or to podBackoffQ while their
        backoff has not expired (MoveAllToActiveOrBackoffQueue)."""
        for key, qp in list(self._unschedulable.items()):
            if predicate is None or predicate(qp.pod):
                del self._unschedulable[key]
                self._move(qp)
        self.move_request_cycle = self.scheduling_cycle

    # -- time -----------------------------------------------------------------------

    def flush(self) -> None:
        """Expired backoffs -> activeQ; pods unschedulable for unschedulable_timeout
        -> activeQ (flushUnschedulablePodsLeftover)."""
        now = self.clock.monotonic()
        while (top := self._backoff_top()) is not None and top[0] <= now:
            _, _, key = heapq.heappop(self._backoff_heap)
            _, qp = self._backoff.pop(key)
            self._push_active(qp)
        moved = False
        for key, qp in list(self._unschedulable.items()):
            if qp.timestamp + self.unschedulable_timeout > now:
                break                     # the rest are younger (insertion order)
            del self._unschedulable[key]
            self._move(qp)
            moved = True
        if moved:
            self.move_request_cycle = self.scheduling_cycle

    def next_due(self) -> Optional[float]:
        """Seconds until pop() may return a pod: 0 if one is ready, None if only an
        event (a new pod, a cluster change) can bring one."""
        self.flush()
        if self._active:
            return 0.0
        due = []
        if (top := self._backoff_top()) is not None:
            due.append(top[0])
        for qp in self._unschedulable.values():
            due.append(qp.timestamp + self.unschedulable_timeout)
            break                         # the oldest is first
        return max(min(due) - self.clock.monotonic(), 0.0) if due else None

    def backoff_duration(self, attempts: int) -> float:
        """initial * 2^(attempts-1), capped at max (calculateBackoffDuration)."""
        duration = self.initial_backoff
        for _ in range(1, attempts):
            if duration > self.max_backoff - duration:
                return self.max_backoff
            duration += duration
        return min(duration, self.max_backoff)

    # -- inspection -----------------------------------------------------------------

    def where(self, key: str) -> Optional[str]:
        if key in self._active:
            return ACTIVE
        if key in self._backoff:
            return BACKOFF
        if key in self._unschedulable:
            return UNSCHEDULABLE
        if key in self._in_flight:
            return IN_FLIGHT
        return None

    def pending(self) -> dict:
        """{place: [keys]} — what `kubectl get pods` would show as Pending, by queue."""
        return {ACTIVE: list(self._active), BACKOFF: list(self._backoff),
                UNSCHEDULABLE: list(self._unschedulable), IN_FLIGHT: list(self._in_flight)}

    def __len__(self) -> int:
        """Pods waiting in a queue (in-flight pods not counted)."""
        return len(self._active) + len(self._backoff) + len(self._unschedulable)

    # -- helpers --------------------------------------------------------------------

    def _pod_of(self, key: str) -> dict:
        for place in (self._active, self._backoff):
            if key in place:
                return place[key][1].pod
        qp = self._unschedulable.get(key) or self._in_flight[key]
        return qp.pod

    def _push_active(self, qp: QueuedPod) -> None:
        seq = next(self._seq)
        self._active[qp.key] = (seq, qp)
        heapq.heappush(self._active_heap, (qp.timestamp, seq, qp.key))

    def _push_backoff(self, qp: QueuedPod) -> None:
        seq = next(self._seq)
        self._backoff[qp.key] = (seq, qp)
        expiry = qp.timestamp + self.backoff_duration(qp.attempts)
        heapq.heappush(self._backoff_heap, (expiry, seq, qp.key))

    def _backoff_top(self):
        heap = self._backoff_heap
        while heap:
            _, seq, key = heap[0]
            entry = self._backoff.get(key)
            if entry is not None and entry[0] == seq:
                return heap[0]
            heapq.heappop(heap)
        return None

    def _move(self, qp: QueuedPod) -> None:
        """To podBackoffQ while still backing off, else activeQ (timestamp kept)."""
        if qp.timestamp + self.backoff_duration(qp.attempts) > self.clock.monotonic():
            self._push_backoff(qp)
        else:
            self._push_active(qp)


def pod_updated(old: dict, new: dict) -> bool:
    """isPodUpdated: did anything change besides status and bookkeeping metadata?"""
    return _strip(old) != _strip(new)


def _strip(pod: dict) -> dict:
    meta = {k: v for k, v in (pod.get("metadata") or {}).items()
            if k not in ("resourceVersion", "generation", "managedFields", "finalizers")}
    return {**{k: v for k, v in pod.items() if k != "status"}, "metadata": meta}
