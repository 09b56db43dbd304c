"""Waiting on a condition with a deadline — never sleeping a fixed time (the house rule
for tests of real processes, real HTTP and Ray, where convergence takes real time)."""
from __future__ import annotations

from minik8s.api.clock import RealClock

CLOCK = RealClock()


def wait_for(predicate, timeout: float = 20.0, what: str = "condition",
             interval: float = 0.05):
    """Poll `predicate()` until it returns something truthy (returned), or fail after
    `timeout` seconds. An exception in the predicate counts as "not yet" (the API may be
    restarting) and is shown in the failure."""
    deadline = CLOCK.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
        except Exception as e:
            last = e
        else:
            if last:
                return last
        if CLOCK.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; "
                                 f"last: {last!r}")
        CLOCK.sleep(interval)
