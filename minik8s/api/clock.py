"""Clocks: the only way any minik8s component learns what time it is.

Kubernetes components read the wall clock for timestamps (creationTimestamp, Lease
renewTime, Event lastTimestamp) and a monotonic clock for intervals (backoff,
heartbeat grace, probe periods). client-go hides both behind `clock.Clock` so tests
can use a fake one. minik8s does the same, and goes one step further: nothing in
`minik8s/` calls `time.time()` or `time.sleep()` directly, so the simulator can run a
whole cluster under a `FakeClock` that only moves when the harness says so.

`RealClock` is for real clusters. `FakeClock` starts at a fixed instant and advances
only through `advance()` (or `sleep()`, which advances instead of blocking, so a
`run()` loop under a fake clock spins through simulated time instead of hanging).
"""
from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Wall time, seconds since the epoch (for timestamps written into objects)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for intervals and deadlines)."""

    def sleep(self, seconds: float) -> None:
        """Block (real) or advance (fake). Only `run()` loops may call it."""

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Wait for `event` up to `timeout` seconds; True if it was set."""


class RealClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        return event.wait(timeout)


# 2026-01-01T00:00:00Z: a fixed start so fake timestamps are byte-identical across runs.
FAKE_EPOCH = 1767225600.0


class FakeClock:
    """A clock that moves only when told. Thread-safe; `advance` wakes waiters."""

    def __init__(self, start: float = FAKE_EPOCH):
        self._wall = float(start)
        self._mono = 0.0
        self._lock = threading.Condition()

    def now(self) -> float:
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._wall += seconds
            self._mono += seconds
            self._lock.notify_all()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        # Under simulated time a wait never blocks: either the event is already set,
        # or the whole timeout passes at once.
        if event.is_set():
            return True
        if timeout:
            self.advance(timeout)
        return event.is_set()
