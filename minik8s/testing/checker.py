"""The Checker: every invariant of this package, run against a simulated cluster.

A property test drives a SimCluster (minik8s.sim) and calls `checker.after_step()`
after every step (and after each of its own actions). The checker then

1. takes every write since the last call from its Observer (history.py) — in
   resourceVersion order, with the object before and after — and checks the
   history promises on each one: bound once and to a node whose taints the pod
   tolerates (in the scheduler's view at decision time), finalizers respected, no
   ReplicaSet pod beyond what it was asked for, the rolling-update bounds
   (rollout.py, while their conditions hold);
2. checks that each component's watch streams delivered in resourceVersion order
   (the simulator's trace records every delivery) and that no write based on a
   stale resourceVersion succeeded (no lost update);
3. checks the promises about one state (invariants.py) on the state after the step;

and raises `InvariantViolated` — with the violations, the last events of the
timeline and the one command that replays the run — at the first violation.

`check_liveness()` is the end of a test: every fault off, run until nothing but
heartbeats is written for a while (bounded: a budget of steps), then the cluster
must have converged (liveness.py), must stay converged, and must stop writing.

How it sees writes: through the simulator's `before_write` / `after_write` hooks,
which give each request (its resourceVersion precondition), the store revision
before and after it (so each write in the history is attributed to the request that
made it), and — for the scheduler's bindings — the Node as the scheduler's cache
showed it at the moment it bound.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Iterable, Optional

from minik8s.api.meta import get_path
from minik8s.client.inprocess import InProcessClient

from .history import (Change, Observer, ReplicaSetCeiling, WatchOrder, WriteRecord,
                      check_bound_once_and_tolerated, check_no_lost_update, check_removal)
from .invariants import STATE_CHECKS, Violation, check_spec_kept
from .liveness import check_converged, check_writes_stop
from .rollout import RolloutGuard
from .state import ClusterState, capture, controller_uid, running_pods, scheduler_view

DELIVERY = "event"      # minik8s.sim.trace: the kind of a delivered watch event
_UNKNOWN = {}           # a binding to a node the scheduler's cache did not hold
SPIN_LIMIT = 2000       # steps without any progress before settle() calls it a spin


class InvariantViolated(AssertionError):
    """A promise of Kubernetes was broken; the message says which, what happened just
    before, and how to replay it."""

    def __init__(self, violations: list, *, timeline: str = "", replay: str = "",
                 faults: Iterable[str] = ()):
        self.violations = list(violations)
        text = "\n".join(f"  {v}" for v in self.violations)
        parts = [f"{len(self.violations)} invariant violation(s):\n{text}"]
        if faults:
            parts.append("active faults: " + ", ".join(sorted(faults)))
        if timeline:
            parts.append("timeline (last events):\n" + timeline)
        if replay:
            parts.append("replay: " + replay)
        super().__init__("\n".join(parts))


@dataclass(frozen=True)
class _Tapped:
    component: str
    verb: str
    resource: str
    key: str
    precondition: str
    lo: int              # store revision before the write ...
    hi: int              # ... and after it: the write made the revisions (lo, hi]
    rv: str              # the resourceVersion it produced ("" if none)
    ok: bool
    seen: object = None  # a scheduler binding: the Node as the scheduler saw it


def _precondition(action) -> str:
    if action.verb == "delete":
        return str(((action.options or {}).get("preconditions") or {}).get("resourceVersion")
                   or "")
    body = action.body if isinstance(action.body, dict) else {}
    return str(get_path(body, "metadata", "resourceVersion") or "")


def _is_heartbeat(resource: str, subresource: str) -> bool:
    return resource in ("leases", "events") or (resource == "nodes" and subresource == "status")


# A controller restarted (memory and expectations lost) while its reads are stale may
# re-create pods it had already created: once that happened in a run, the ReplicaSet
# ceiling is not checked again in it (the restarted controller may act on the stale
# view even after the faults are off, until its cache catches up).
STALE_RESTART = frozenset({"stale_reads", "crash_controller"})


class Checker:
    """Safety after every step, liveness at the end (see the module docstring).

    safety: names of the one-state checks to run (default: all of STATE_CHECKS);
    rollout: check the rolling-update bounds; excerpt: timeline lines in a failure;
    save_dir: where a failing run's replay script goes (default: a temp directory,
    or $MINIK8S_SIM_ARTIFACTS)."""

    def __init__(self, sim=None, *, safety: Optional[Iterable[str]] = None,
                 rollout: bool = True, excerpt: int = 40, save_dir: Optional[str] = None):
        self.safety = list(STATE_CHECKS if safety is None else safety)
        self.guard = RolloutGuard() if rollout else None
        self.ceiling = ReplicaSetCeiling()
        self.ceiling_off = False              # a stale-read restart happened: see above
        self.excerpt = excerpt
        self.save_dir = save_dir or os.environ.get("MINIK8S_SIM_ARTIFACTS") or \
            os.path.join(tempfile.gettempdir(), "minik8s-sim-failures")
        self.sim = None
        self.observer: Optional[Observer] = None
        self.checked = 0                    # after_step calls (for tests and messages)
        self._writes: list = []
        self._rev = 0
        self._seen = None
        self._last_change = 0.0
        self._trace_pos = 0
        self._order = WatchOrder()           # deliveries to components, per stream
        self.expected: dict = {}             # (plural, ns, name) -> {path: value} (spec_kept)
        if sim is not None:
            self.attach(sim)

    # --- wiring -----------------------------------------------------------------------
    def attach(self, sim) -> "Checker":
        self.sim = sim
        self._api = sim.api
        self.observer = Observer(InProcessClient(sim.api))
        self._drain_initial()
        self._last_change = sim.clock.monotonic()
        self._trace_pos = len(sim.trace.events)
        sim.before_write.append(self._before_write)
        sim.after_write.append(self._after_write)
        return self

    def _before_write(self, component: str, action) -> None:
        """Remember the store revision, and — for the scheduler's bindings — the node
        as the scheduler's cache shows it at the moment it binds."""
        self._rev = self.sim.store.revision
        self._seen = None
        if component == "scheduler" and action.subresource == "binding":
            node = get_path(action.body, "target", "name")
            view = scheduler_view(self.sim) or {}
            self._seen = view.get(node, _UNKNOWN)

    def _after_write(self, event, action, result) -> None:
        sim = self.sim
        rev = sim.store.revision
        ok = event.result == "ok"
        produced = event.rv if ok else ""
        if ok and action.verb == "delete" and rev > self._rev:
            produced = str(rev)
        if not _is_heartbeat(action.resource, action.subresource):
            self._last_change = sim.clock.monotonic()     # failed attempts too: not quiet
        key = f"{action.namespace}/{event.name}" if action.namespace else event.name
        self._writes.append(_Tapped(event.component, action.verb, action.resource, key,
                                    _precondition(action), self._rev, rev, produced, ok,
                                    self._seen))
        self._seen = None

    def _drain_initial(self) -> None:
        for change in self.observer.changes():
            self.ceiling.observe(change, ())

    def expect_spec(self, resource: str, namespace: str, name: str, fields: dict) -> None:
        """The test wrote these spec fields ({path tuple: value}): from now on they
        must stay so (invariants.check_spec_kept) until forget_spec."""
        self.expected.setdefault((resource, namespace, name), {}).update(fields)

    def forget_spec(self, resource: str, namespace: str, name: str) -> None:
        self.expected.pop((resource, namespace, name), None)

    def disrupt(self, why: str) -> None:
        """Tell the checker the test itself disrupted the cluster (deleted pods,
        removed a node): the rolling-update bounds are off until full availability."""
        if self.guard is not None:
            self.guard.disrupt(why)

    # --- safety -------------------------------------------------------------------------
    def after_step(self, sim=None, *, raise_on_violation: bool = True) -> list:
        """Check every safety invariant on what happened since the last call."""
        sim = sim or self.sim
        if sim is not self.sim:
            self.attach(sim)
        self.checked += 1
        if sim.api is not self._api:             # the API server restarted
            self._api = sim.api
            self.observer.connect(InProcessClient(sim.api))
        faults = frozenset(sim.faults.active())
        self.ceiling_off = self.ceiling_off or STALE_RESTART <= faults
        writes, self._writes = self._writes, []
        out = list(self.observer.problems)
        self.observer.problems.clear()
        running = running_pods(sim)
        for change in self.observer.changes():
            out.extend(self._check_change(change, writes, faults, running, sim))
        out.extend(self._check_deliveries(sim))
        records = [WriteRecord(w.resource, w.key, w.verb, w.precondition, w.rv, w.ok)
                   for w in writes]
        out.extend(check_no_lost_update(records, self.observer.versions))
        state = self.observer.state(time=sim.clock.now(), running=running, faults=faults,
                                    step=sim.steps)
        for name in self.safety:
            out.extend(STATE_CHECKS[name](state))
        if self.guard is not None:      # time passes too: arm what has been stable long enough
            out.extend(self.guard.observe(state))
        out.extend(check_spec_kept(state, self.expected))
        if out and raise_on_violation:
            self.fail(out)
        return out

    def _writer(self, rv: int, writes: list) -> Optional[_Tapped]:
        for w in writes:
            if w.lo < rv <= w.hi:
                return w
        return None

    def _check_change(self, change: Change, writes: list, faults, running, sim) -> list:
        writer = self._writer(change.rv, writes)
        out = []
        if change.resource == "pods":
            # Taints are the scheduler's business only for the bindings it made, judged
            # on what its cache showed when it bound (None: the check is bound-once only).
            seen = writer.seen if writer is not None and writer.seen is not _UNKNOWN else None
            out.extend(check_bound_once_and_tolerated(change, lambda name: seen))
        out.extend(check_removal(change, writer.verb if writer is not None else None))
        if change.resource in ("pods", "replicasets"):
            found = self.ceiling.observe(change, self.observer.mirror["pods"].values())
            if not self.ceiling_off:             # see ReplicaSetCeiling: "Holds"
                out.extend(found)
        if self.guard is not None:
            uid = self._deployment_of(change)
            if uid is not None:
                state = self.observer.state(time=sim.clock.now(), faults=faults,
                                            running=running)
                out.extend(self.guard.observe(state, only={uid}))
        return out

    def _deployment_of(self, change: Change) -> Optional[str]:
        """The uid of the Deployment a change concerns (itself, its ReplicaSet, its pod)."""
        obj = change.new or change.old or {}
        if change.resource == "deployments":
            return get_path(obj, "metadata", "uid")
        if change.resource == "replicasets":
            return controller_uid(obj)
        rs_uid = controller_uid(obj) if change.resource == "pods" else None
        if rs_uid is None:
            return None
        for rs in self.observer.mirror.get("replicasets", {}).values():
            if get_path(rs, "metadata", "uid") == rs_uid:
                return controller_uid(rs)
        return None

    def _check_deliveries(self, sim) -> list:
        """Within one watch stream of one component, events in resourceVersion order
        (history.WatchOrder; streams are named by the simulator, unique per client)."""
        order = self._order
        events = sim.trace.events
        out = []
        for ev in events[self._trace_pos:]:
            if ev.kind == DELIVERY:
                out.extend(order.feed(f"{ev.component}/{ev.detail}", ev.verb, ev.rv))
        self._trace_pos = len(events)
        return out

    # --- failing ---------------------------------------------------------------------------
    def fail(self, violations: list) -> None:
        sim = self.sim
        if sim is None:
            raise InvariantViolated(violations)
        raise InvariantViolated(violations, timeline=sim.trace.excerpt(self.excerpt),
                                replay=self._save(sim), faults=sim.faults.active())

    # --- liveness ----------------------------------------------------------------------------
    def run_checked(self, sim, iterations: int) -> None:
        """`sim.run(iterations)` with the safety checks after every step."""
        for _ in range(iterations):
            if sim.step():
                self.after_step(sim)
            else:
                sim.advance()

    def settle(self, sim, *, max_steps: int, horizon: float) -> int:
        """Like sim.settle (quiet for `horizon` simulated seconds: nothing but
        heartbeats written), with the safety checks after every step."""
        idle, mark = 0, None
        for n in range(max_steps):
            if sim.step():
                self.after_step(sim)
                # A step that neither wrote, nor received anything, nor let time pass
                # is no progress; thousands in a row is a component spinning.
                now_mark = (len(sim.trace.events), sim.clock.monotonic())
                idle = idle + 1 if now_mark == mark else 0
                mark = now_mark
                if idle >= SPIN_LIMIT:
                    self._stuck(sim, f"{SPIN_LIMIT} steps in a row did nothing and "
                                f"let no time pass at t={sim.clock.monotonic():.6f}s; runnable: "
                                + ", ".join(f"{c.name} (due {c.due!r})" for c in sim.runnable()))
                continue
            now = sim.clock.monotonic()
            quiet_for = horizon - (now - self._last_change)   # one subtraction: no drift
            if quiet_for <= 1e-6:
                return n
            due = sim.next_due()
            sim.advance(min(max(due - now, 1e-6), quiet_for) if due is not None else quiet_for)
        self._stuck(sim, f"the cluster kept changing for {max_steps} steps "
                    "after the faults stopped")

    def _stuck(self, sim, message: str) -> None:
        self.after_step(sim)
        raise InvariantViolated([Violation("liveness", message)] + check_converged(capture(sim)),
                                timeline=sim.trace.excerpt(self.excerpt), replay=self._save(sim))

    def check_liveness(self, sim=None, *, max_steps: int = 20_000, horizon: float = 60.0,
                       window: float = 120.0, skip: tuple = ()) -> ClusterState:
        """Stop every fault, run until quiet (at most `max_steps` steps), then the
        cluster must have converged, and stay converged without writing (heartbeats
        excepted) for `window` more simulated seconds. Returns the final state."""
        sim = sim or self.sim
        if sim is not self.sim:
            self.attach(sim)
        sim.faults.off()
        self.after_step(sim)
        self.disrupt("faults stopped")          # re-arm only at full availability
        self.settle(sim, max_steps=max_steps, horizon=horizon)
        first = capture(sim)
        problems = check_converged(first, skip)
        if not problems:
            end = sim.clock.monotonic() + window
            steps = 0
            while sim.clock.monotonic() < end and steps < max_steps:
                steps += 1
                if sim.step():
                    self.after_step(sim)
                else:
                    due, now = sim.next_due(), sim.clock.monotonic()
                    left = max(end - now, 1e-6)
                    sim.advance(min(max(due - now, 1e-6), left) if due is not None else left)
            last = capture(sim)
            problems = check_converged(last, skip) + check_writes_stop(first, last)
            first = last
        if problems:
            raise InvariantViolated(problems, timeline=sim.trace.excerpt(self.excerpt),
                                    replay=self._save(sim))
        return first

    def _save(self, sim) -> str:
        try:
            os.makedirs(self.save_dir, exist_ok=True)
            return sim.save_script(os.path.join(self.save_dir,
                                                f"seed{sim.seed}-step{sim.steps}.json"))
        except OSError as e:
            return f"(could not save the replay script: {e}); seed {sim.seed}"

    def close(self) -> None:
        if self.observer is not None:
            self.observer.close()
