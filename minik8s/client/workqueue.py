"""The work queue: how a controller turns "something changed" into "reconcile this key".

In Kubernetes every controller has one (client-go `util/workqueue`): informer handlers
only `add(key)`, and workers `get()` a key, reconcile it, then call `done(key)`. Three
layers stack in client-go, and this module keeps all three in one class:

- the basic queue: a FIFO of keys plus two sets. *dirty* holds the keys that need
  processing (so a key added ten times before a worker gets to it is processed once);
  *processing* holds the keys a worker has taken. Adding a key that is being
  processed only marks it dirty; `done(key)` puts it back in the queue. So one key
  is never handed to two workers at once, and a change that arrives mid-reconcile
  is never lost.
- the delaying queue: `add_after(key, delay)` keeps a timer; when it is due the key
  is added like any other. A key waiting twice keeps the earlier time.
- the rate-limited queue: `add_rate_limited(key)` waits per-key exponential backoff
  (5 ms, 10 ms, 20 ms, ... capped at 1000 s: `ItemExponentialFailureRateLimiter`)
  until `forget(key)` says the key succeeded.

What differs: client-go's queue blocks in `Get()` and runs timers in a goroutine.
Here nothing runs by itself. `pop()` never blocks (the simulator and `step()` loops
call it), due timers move into the queue whenever the queue is looked at (`pop`,
`get`, `next_due`, `len`), and `next_due()` tells a `step()` when to come back.
`get(timeout)` is the blocking form for `run()` threads; it waits through the Clock
(`clock.wait`), never `time.sleep`, so under a FakeClock a waiting worker moves
simulated time forward to its next timer instead of hanging. Left out: the overall
token bucket (10 qps, burst 100) of client-go's default controller rate limiter,
`ShutDownWithDrain`, and metrics.

Invariants: a key is in the ready FIFO at most once; a key in `processing` is never
in the FIFO; every key added is handed out by a later `pop`/`get` (unless the queue
is shut down first). Ready keys come out in the order they became ready.
"""
from __future__ import annotations

import heapq
import threading
from typing import Hashable, Optional

from ..api.clock import Clock


class ItemExponentialFailureRateLimiter:
    """client-go's per-item backoff: base * 2**failures, capped at max_delay."""

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0):
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict = {}

    def when(self, key: Hashable) -> float:
        """The delay for this key's next retry; each call counts one more failure."""
        exp = self._failures.get(key, 0)
        self._failures[key] = exp + 1
        # 2**exp grows without bound; past ~60 doublings it is over any sane cap.
        if exp > 62:
            return self.max_delay
        return min(self.base_delay * (2 ** exp), self.max_delay)

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: Hashable) -> int:
        return self._failures.get(key, 0)


class WorkQueue:
    """A rate-limited, delaying, de-duplicating FIFO of keys. Thread-safe."""

    def __init__(self, clock: Clock, name: str = "", *,
                 rate_limiter: Optional[ItemExponentialFailureRateLimiter] = None):
        self.clock = clock
        self.name = name
        self.rate_limiter = rate_limiter or ItemExponentialFailureRateLimiter()
        self._lock = threading.Lock()
        # Set whenever something changed that a blocked get() should look at; a waiter
        # clears it (under the lock) before it waits, so no wake-up is lost.
        self._changed = threading.Event()
        self._queue: list = []          # ready keys, FIFO (a list: queues are short)
        self._dirty: set = set()        # keys that need processing
        self._processing: set = set()   # keys handed to a worker, not yet done()
        self._timers: list = []         # heap of (due monotonic time, seq, key)
        self._waiting: dict = {}        # key -> due time of its live timer
        self._seq = 0                   # breaks ties between timers: first set, first out
        self._shutting_down = False

    # --- the basic queue ----------------------------------------------------------
    def add(self, key: Hashable) -> None:
        """Mark `key` as needing processing. Idempotent while it waits."""
        with self._lock:
            self._add_locked(key)

    def _add_locked(self, key: Hashable) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        # A key being processed is re-queued by done(), not now: one worker per key.
        if key not in self._processing:
            self._queue.append(key)
            self._changed.set()

    def pop(self) -> Optional[Hashable]:
        """The next ready key, now, or None. The key is then processing until done()."""
        with self._lock:
            self._fire_due_timers()
            return self._take_locked()

    def _take_locked(self) -> Optional[Hashable]:
        if not self._queue:
            return None
        key = self._queue.pop(0)
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def get(self, timeout: Optional[float] = None) -> Optional[Hashable]:
        """Like pop() but waits up to `timeout` seconds (None: forever) for a key.
        Returns None on timeout, or once the queue is shut down and drained."""
        deadline = None if timeout is None else self.clock.monotonic() + timeout
        while True:
            with self._lock:
                self._fire_due_timers()
                key = self._take_locked()
                if key is not None or self._shutting_down:
                    return key
                now = self.clock.monotonic()
                if deadline is not None and now >= deadline:
                    return None
                waits = [t - now for t in (deadline, self._next_timer()) if t is not None]
                self._changed.clear()
            if not waits:
                # Nothing time-based can help: only another thread's add() or
                # shutdown() can. Block on the event itself, under any clock.
                self._changed.wait()
            else:
                self.clock.wait(self._changed, max(min(waits), 0.0))

    def done(self, key: Hashable) -> None:
        """The worker finished `key`. If it was added meanwhile, queue it again."""
        with self._lock:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._changed.set()

    def __len__(self) -> int:
        """Keys ready now (not counting the ones waiting on a timer or processing)."""
        with self._lock:
            self._fire_due_timers()
            return len(self._queue)

    def len(self) -> int:
        return len(self)

    # --- the delaying queue ---------------------------------------------------------
    def add_after(self, key: Hashable, delay: float) -> None:
        """Add `key` once `delay` seconds have passed on the clock's monotonic time."""
        with self._lock:
            if self._shutting_down:
                return
            if delay <= 0:
                self._add_locked(key)
                return
            due = self.clock.monotonic() + delay
            # A key already waiting keeps the earlier of the two times (client-go).
            if key in self._waiting and self._waiting[key] <= due:
                return
            self._waiting[key] = due
            self._seq += 1
            heapq.heappush(self._timers, (due, self._seq, key))
            self._changed.set()    # a blocked get() must re-plan its wait

    def next_due(self) -> Optional[float]:
        """Seconds until the next timer fires (0 or more), or None if none is set.
        Due timers are moved into the queue first."""
        with self._lock:
            self._fire_due_timers()
            due = self._next_timer()
            return None if due is None else max(due - self.clock.monotonic(), 0.0)

    def _next_timer(self) -> Optional[float]:
        # Entries superseded by an earlier add_after for the same key are stale: skip.
        while self._timers and self._waiting.get(self._timers[0][2]) != self._timers[0][0]:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def _fire_due_timers(self) -> None:
        now = self.clock.monotonic()
        while (due := self._next_timer()) is not None and due <= now:
            _, _, key = heapq.heappop(self._timers)
            del self._waiting[key]
            self._add_locked(key)

    # --- the rate-limited queue -------------------------------------------------------
    def add_rate_limited(self, key: Hashable) -> None:
        """Add `key` after its backoff; each call doubles the next one."""
        with self._lock:
            if self._shutting_down:
                return
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: Hashable) -> None:
        """The key succeeded: reset its backoff. (It does not remove a queued key.)"""
        self.rate_limiter.forget(key)

    def num_requeues(self, key: Hashable) -> int:
        return self.rate_limiter.num_requeues(key)

    # --- shutdown ---------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop accepting keys and drop pending timers. Keys already queued are still
        handed out; after that pop()/get() return None."""
        with self._lock:
            self._shutting_down = True
            self._timers.clear()
            self._waiting.clear()
            self._changed.set()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def __repr__(self) -> str:
        return (f"WorkQueue({self.name!r}, ready={len(self._queue)}, "
                f"processing={len(self._processing)}, waiting={len(self._waiting)})")
