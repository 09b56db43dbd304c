"""Pod sync decisions: what the kubelet should do with each container, and the pod's phase.

In Kubernetes the kubelet's pod worker calls `computePodActions` on every sync: for
each container of the pod it compares the spec with what the runtime reports and
decides — start it, leave it, kill it (a failed liveness probe), or not yet (the
container is in CrashLoopBackOff). Restarts follow the pod's `restartPolicy`
(Always / OnFailure / Never) and a per-container exponential back-off
(client-go's `flowcontrol.Backoff`: 10 s, doubling, capped at 300 s, forgotten once a
container ran for 10 minutes). Then `getPhase` folds the container states into the
pod's phase: Pending, Running, Succeeded or Failed.

Here those decisions are pure functions over small records, so they can be tested with
tables and rewritten by students (Lab 06); `kubelet.py` does the I/O around them.
Every time is a number of seconds on the clock's *monotonic* scale.

Invariant: a decision depends only on its arguments — no clock, no runtime, no API.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .runtime import CREATED, EXITED, RUNNING, ContainerStatus

# kubelet: backOffPeriod = 10 s, MaxContainerBackOff = 300 s; flowcontrol.Backoff treats
# an entry as stale ("the container was fine") after 2 x the maximum = 10 minutes.
BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0
BACKOFF_RESET = 2 * BACKOFF_MAX

ALWAYS, ON_FAILURE, NEVER = "Always", "OnFailure", "Never"
PENDING, RUNNING_PHASE, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"

# What container_action may answer.
START = "start"      # create and start a (new) container now
WAIT = "wait"        # CrashLoopBackOff: start it again at `until`
KILL = "kill"        # stop the running container (liveness failure); restart comes later
KEEP = "keep"        # nothing to do: running fine, starting, or finished for good


@dataclass(frozen=True)
class Backoff:
    """One container's (or one image pull's) back-off record, as flowcontrol.Backoff's
    entry: how many restarts since the last reset, and when the last one happened."""
    restarts: int = 0
    last_restart: Optional[float] = None


@dataclass(frozen=True)
class Action:
    kind: str                        # START | WAIT | KILL | KEEP
    reason: str = ""                 # e.g. "CrashLoopBackOff", "Unhealthy"
    delay: float = 0.0               # the back-off in force (for the message)
    until: Optional[float] = None    # WAIT: when the back-off expires


def crashloop_delay(restarts_in_window: int) -> float:
    """The back-off before the next restart, after `restarts_in_window` restarts
    since the window was last reset: 0, 10, 20, 40, 80, 160, 300, 300, ... seconds."""
    # BEGIN LAB 06: CrashLoopBackOff delay — 10 s doubling, capped at 300 s
    # Pitfall: the first restart is immediate (no back-off entry exists yet); only
    # from the second exit on does the kubelet wait, so restarts=1 -> 10 s.
    # Pitfall: cap the exponent too: a container that crashed 5000 times must not
    # compute 10 * 2 ** 4999 (a float overflow) before taking the minimum.
    if restarts_in_window <= 0:
        return 0.0
    return min(BACKOFF_INITIAL * 2 ** min(restarts_in_window - 1, 16), BACKOFF_MAX)
    # END LAB 06


def backoff_expired(backoff: Backoff, exited_at: float) -> bool:
    """True when the container ran long enough since its last restart for the back-off
    to be forgotten (flowcontrol's hasExpired: strictly more than 2 x max = 10 min)."""
    # BEGIN LAB 06: back-off reset — forgotten after 10 minutes without a problem
    # Pitfall: measure from the last restart to the *exit* (when the problem showed),
    # not to "now": a container that crashed 11 minutes ago after running 5 s is still
    # crash-looping.
    return backoff.last_restart is None or exited_at - backoff.last_restart > BACKOFF_RESET
    # END LAB 06


def restart_delay(backoff: Backoff, exited_at: float) -> float:
    """Seconds to wait after an exit at `exited_at` before restarting."""
    if backoff_expired(backoff, exited_at):
        return 0.0
    return crashloop_delay(backoff.restarts)


def record_restart(backoff: Backoff, exited_at: float, now: float) -> Backoff:
    """The back-off after restarting now (flowcontrol's Next)."""
    if backoff_expired(backoff, exited_at):
        return Backoff(1, now)
    return Backoff(backoff.restarts + 1, now)


def should_restart(restart_policy: str, exit_code: Optional[int]) -> bool:
    """Does a container that exited with `exit_code` get restarted under the policy?"""
    # BEGIN LAB 06: restartPolicy — Always, OnFailure, Never
    # Pitfall: Always restarts a container that exited 0 too (a web server that
    # "finished" is down); OnFailure only non-zero. An unknown exit (None) is a failure.
    if restart_policy == ALWAYS:
        return True
    if restart_policy == ON_FAILURE:
        return exit_code != 0
    return False
    # END LAB 06


def init_restart_policy(restart_policy: str) -> str:
    """Init containers must finish: under Always they are restarted OnFailure."""
    return NEVER if restart_policy == NEVER else ON_FAILURE


def container_action(container: dict, status: Optional[ContainerStatus], restart_policy: str,
                     backoff: Backoff, now: float, liveness_failed: bool = False,
                     exited_at: Optional[float] = None) -> Action:
    """What to do with one container now.

    `status` is the runtime's view of its latest attempt (None: never created);
    `exited_at` is when that attempt exited, on the monotonic clock (default: now);
    `liveness_failed` is the prober's verdict about the running attempt."""
    # BEGIN LAB 06: container action — start, keep, kill, or back off
    # Pitfall: a container being created (CREATED) is not "missing": starting another
    # one would run two copies. Only a container that never existed or has exited
    # may be started.
    # Pitfall: the back-off is measured from the exit, not from the last sync, so a
    # late sync does not make the container wait longer than Kubernetes would.
    if status is None:
        return Action(START, "Created")
    if status.state == RUNNING:
        if liveness_failed:
            return Action(KILL, "Unhealthy")
        return Action(KEEP)
    if status.state == CREATED:
        return Action(KEEP)
    # EXITED (or UNKNOWN: treated as a failed exit)
    code = status.exit_code if status.state == EXITED else None
    if not should_restart(restart_policy, code):
        return Action(KEEP, "Completed" if code == 0 else "Error")
    exited = now if exited_at is None else exited_at
    delay = restart_delay(backoff, exited)
    if now < exited + delay:
        return Action(WAIT, "CrashLoopBackOff", delay, exited + delay)
    return Action(START, "Restart", delay)
    # END LAB 06


def next_init_container(init_containers: list, statuses: dict) -> Optional[dict]:
    """The init container to work on now — the first one that has not exited 0 — or
    None when all of them succeeded. `statuses`: name -> ContainerStatus or None."""
    # Pitfall: init containers run one at a time, in order: the second one must not
    # start before the first exited 0, even if the first is only being retried.
    for c in init_containers:
        st = statuses.get(c.get("name"))
        if st is None or st.state != EXITED or st.exit_code != 0:
            return c
    return None


def pod_phase(spec: dict, container_statuses: list, init_statuses: list,
              terminal: bool = False) -> str:
    """The pod's phase from its API container statuses (the kubelet's getPhase).

    `terminal`: the pod is being shut down for good (deleted), so stopped containers
    will not be restarted whatever the policy says."""
    # BEGIN LAB 06: pod phase — Kubernetes' getPhase
    # Pitfall: a container waiting to be restarted (CrashLoopBackOff, with a
    # lastState) counts as *stopped*, not as waiting, or a crash-looping pod would
    # flip back to Pending.
    # Pitfall: Always + every container stopped is still Running (they restart).
    policy = spec.get("restartPolicy") or ALWAYS
    by_name = {s.get("name"): s for s in container_statuses}
    init_by_name = {s.get("name"): s for s in init_statuses}
    pending_init = failed_init = 0
    for c in spec.get("initContainers") or []:
        st = init_by_name.get(c.get("name")) or {}
        state, last = st.get("state") or {}, st.get("lastState") or {}
        if state.get("terminated") is not None:
            failed_init += state["terminated"].get("exitCode", 0) != 0
        elif state.get("waiting") is not None and last.get("terminated") is not None:
            failed_init += last["terminated"].get("exitCode", 0) != 0
        else:                                   # unknown, running, or never ran
            pending_init += 1
    unknown = running = waiting = stopped = succeeded = 0
    any_started = False                         # HasAnyRegularContainerStarted
    for c in spec.get("containers") or []:
        st = by_name.get(c.get("name")) or {}
        state, last = st.get("state") or {}, st.get("lastState") or {}
        if state.get("running") is not None:
            running += 1
            any_started = True
        elif state.get("terminated") is not None:
            stopped += 1
            succeeded += state["terminated"].get("exitCode", 0) == 0
            any_started = True
        elif state.get("waiting") is not None:
            if last.get("terminated") is not None:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    if failed_init and policy == NEVER:
        return FAILED
    if (pending_init and not any_started) or waiting:
        return PENDING
    if running and not unknown:
        return RUNNING_PHASE
    if not running and stopped and not unknown:
        if terminal:
            return SUCCEEDED if stopped == succeeded else FAILED
        if policy == ALWAYS:
            return RUNNING_PHASE
        if stopped == succeeded:
            return SUCCEEDED
        return FAILED if policy == NEVER else RUNNING_PHASE
    return PENDING
    # END LAB 06


# --- image pulls ---------------------------------------------------------------------

PULL, PULL_BACKOFF, PRESENT, NEVER_PULL = "pull", "backoff", "present", "never"


def image_pull_action(pull_policy: str, present: bool, backoff: Backoff, now: float) -> str:
    """Pull the image, wait (ImagePullBackOff), use the local copy, or give up
    (ErrImageNeverPull). A failed pull backs off like a crash: 10 s, 20 s, ... 300 s,
    counted from the failed pull (flowcontrol's IsInBackOffSinceUpdate)."""
    if pull_policy == "Never" or (pull_policy != "Always" and present):
        return PRESENT if present else NEVER_PULL
    if backoff.last_restart is not None and not backoff_expired(backoff, now) \
            and now < backoff.last_restart + crashloop_delay(backoff.restarts):
        return PULL_BACKOFF
    return PULL


# --- messages --------------------------------------------------------------------------

def go_duration(seconds: float) -> str:
    """Go's time.Duration.String() for whole seconds: 10s, 1m20s, 5m0s, 1h0m0s."""
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{sec}s"
    if m:
        return f"{m}m{sec}s"
    return f"{sec}s"


def format_pod(pod: dict) -> str:
    """The kubelet's format.Pod: name_namespace(uid)."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


def crashloop_message(container_name: str, pod: dict, delay: float) -> str:
    return (f"back-off {go_duration(delay)} restarting failed container={container_name} "
            f"pod={format_pod(pod)}")
