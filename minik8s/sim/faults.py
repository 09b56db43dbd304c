"""Fault injection: everything DESIGN.md §9 says can go wrong, one switch each.

Kubernetes is built to survive its own failures — a controller restarted mid-way,
an API server that drops watches or answers 409/503, caches that lag, nodes that
vanish, containers that crash, an operator deleting pods by hand — and every one of
its promises comes with the conditions under which it holds. To test a promise the
simulator must be able to break each condition, one at a time or together, and then
stop breaking it, since liveness is only promised once the faults stop. Hence every
fault here is an object with `on(...)` / `off(...)` (calling the fault is `on`), is
listed in `sim.faults.active()` while on, and acts through the seams a real failure
would use: a component's FaultClient (requests, reads, watches), a NodeHandle (node
death and return), the SimulatedRuntime (container crashes), the API (pod monkey).

    sim.faults.crash_controller.on(after_writes=2)     # dies between two writes
    sim.faults.request_failures.on("scheduler", p=0.3, error="Conflict")
    sim.faults.kill_node.on("node-2"); ...; sim.faults.revive_node("node-2")
    sim.faults.off()                                   # everything off: now liveness

Faults that fire "now" (a crash, a broken watch, an API server restart) fire once
when switched on, or, given `p`, at each step with probability p while on. Every
random choice comes from the fault's own Random (seeded from the cluster's seed and
the fault's name), so switching one fault on never changes another's choices.
Each on/off is recorded in the replay script and the trace.
"""
from __future__ import annotations

from typing import Optional

from minik8s.api import errors

from .trace import FAULT

ERRORS = {name: getattr(errors, name) for name in (
    "ServiceUnavailable", "Conflict", "TooManyRequests", "ServerTimeout", "InternalError")}
WRITE_VERBS = ("create", "update", "patch", "delete")


class Fault:
    """One switch. Subclasses implement `_on(**kw)`, `_off(**kw)` and maybe `tick()`."""

    name = "fault"

    def __init__(self, faults: "Faults"):
        self.faults, self.sim = faults, faults.sim
        self.rng = self.sim.derived_rng(f"fault/{self.name}")
        self.targets: dict = {}          # what it is on for (component/node) -> options

    @property
    def active(self) -> bool:
        return bool(self.targets)

    def on(self, *args, **kw) -> "Fault":
        kw = self._named(args, kw)
        with self.sim.script.operation("fault", self.name, "on", kw):
            self._event("on", kw)
            self._on(**kw)
        return self

    def __call__(self, *args, **kw) -> "Fault":
        return self.on(*args, **kw)          # (through subclasses' own on())

    def off(self, *args, **kw) -> None:
        kw = self._named(args, kw)
        with self.sim.script.operation("fault", self.name, "off", kw):
            if self.active:
                self._event("off", kw)
            self._off(**kw)

    target_arg = "component"             # what a positional argument of on/off means

    def _named(self, args, kw) -> dict:
        return {self.target_arg: args[0], **kw} if args else kw

    def _on(self, **kw) -> None:
        raise NotImplementedError

    def _off(self, **kw) -> None:
        for target in self._matching(kw.get(self.target_arg)):
            self.targets.pop(target)

    def _matching(self, target) -> list:
        """The targets an off(target) is about: that one, or (None) all, sorted."""
        return [t for t in sorted(self.targets) if target in (None, t)]

    def tick(self) -> None:
        """Called before every step while on."""

    def _event(self, verb: str, kw: dict) -> None:
        detail = " ".join(f"{k}={v}" for k, v in sorted(kw.items()))
        self.sim._harness_event(FAULT, f"{self.name} {verb}", detail, component="faults")

    def _chance(self, p: Optional[float]) -> bool:
        return p is not None and self.rng.random() < p

    def _component(self, name: str):
        comp = self.sim.components.get(name)
        if comp is None:
            raise ValueError(f"no component {name!r}; there are: "
                             + ", ".join(sorted(self.sim.components)))
        return comp


class CrashComponent(Fault):
    """The component dies right after its k-th next write (mid-reconcile, between two
    writes; memory lost) and is rebuilt from nothing the next time it is chosen. With
    repeat=True every new instance dies the same way while the fault is on."""

    name = "crash_controller"
    default = "controller-manager"

    def on(self, component: Optional[str] = None, *, after_writes: int = 1,
           repeat: bool = False, name: Optional[str] = None) -> "Fault":
        target = name or component or self.default
        return super().on(component=target, after_writes=after_writes, repeat=repeat)

    def _on(self, component, after_writes, repeat) -> None:
        self._component(component).client.crash_after = max(int(after_writes), 1)
        self.targets[component] = (max(int(after_writes), 1), repeat)

    def _off(self, component: Optional[str] = None, name: Optional[str] = None) -> None:
        for target in self._matching(name or component):
            self.targets.pop(target)
            comp = self.sim.components.get(target)
            if comp is not None:
                comp.client.crash_after = None

    def tick(self) -> None:
        for target, (k, repeat) in sorted(self.targets.items()):
            comp = self.sim.components.get(target)
            if repeat and comp is not None and comp.client.crash_after is None \
                    and comp.state != "crashed":
                comp.client.crash_after = k


class CrashScheduler(CrashComponent):
    name = "crash_scheduler"
    default = "scheduler"


class RestartAPIServer(Fault):
    """The API server and its store crash and come back (durable store only)."""

    name = "restart_apiserver"

    def _on(self, p: Optional[float] = None) -> None:
        if not self.sim.durable:
            raise ValueError("restarting the API server needs SimCluster(durable=True)")
        self.targets["apiserver"] = p
        if p is None:
            self.sim.restart_apiserver()

    def tick(self) -> None:
        if self._chance(self.targets.get("apiserver")):
            self.sim.restart_apiserver()


class WatchFault(Fault):
    """Base of the faults that change how a component's watch streams deliver."""

    def _apply(self, comp) -> None:
        fc = comp.faults
        fc.release_watches()
        stale = self.faults.stale_reads.targets.get(comp.name)
        if stale is not None and stale.get("hold_watches", True):
            fc.hold_watches()
        delay = self.faults.delay_watch.targets.get(comp.name)
        if delay:
            fc.delay_watch_events(delay)

    def _off(self, component: Optional[str] = None) -> None:
        for target in self._matching(component):
            self.targets.pop(target)
            self._release(self._component(target))

    _release = _apply


class StaleReads(WatchFault):
    """The component is served an older snapshot: its gets and lists answer from the
    moment the fault went on, and (hold_watches) its watches deliver nothing new, so
    its caches lag too. Its writes still reach the real, newer state."""

    name = "stale_reads"

    def _on(self, component: str = "controller-manager", hold_watches: bool = True) -> None:
        comp = self._component(component)
        self.targets[component] = {"hold_watches": hold_watches}
        comp.faults.freeze_reads()
        self._apply(comp)
        self.faults.route(comp)

    def _release(self, comp) -> None:
        comp.faults.unfreeze_reads()
        self._apply(comp)
        self.faults.route(comp)


class DelayWatch(WatchFault):
    """The component sees watch events `k` events later than everyone else."""

    name = "delay_watch"

    def _on(self, component: str = "controller-manager", k: int = 3) -> None:
        self.targets[component] = max(int(k), 1)
        self._apply(self._component(component))


class BreakWatches(Fault):
    """The component's watches end (it resumes from its last resourceVersion) or, with
    gone=True, end with 410 Expired (it must relist); once, or each step with p."""

    name = "break_watches"

    def _on(self, component: str = "controller-manager", gone: bool = False,
            p: Optional[float] = None) -> None:
        self.targets[component] = (gone, p)
        if p is None:
            self._component(component).faults.break_watches(gone=gone)

    def tick(self) -> None:
        for target, (gone, p) in sorted(self.targets.items()):
            if self._chance(p):
                self._component(target).faults.break_watches(gone=gone)


class RequestFailures(Fault):
    """Each request of the component fails with probability p: ServiceUnavailable
    (503) by default, or Conflict (409: writes only), or another typed error."""

    name = "request_failures"

    def _on(self, component: str = "controller-manager", p: float = 0.1,
            error: str = "ServiceUnavailable", verbs: Optional[list] = None) -> None:
        comp = self._component(component)
        if error not in ERRORS:
            raise ValueError(f"error must be one of {', '.join(ERRORS)}")
        if verbs is None and error == "Conflict":
            verbs = list(WRITE_VERBS)
        self.targets.setdefault(component, []).append((p, error))
        comp.faults.fail_randomly(p, ERRORS[error], verbs=verbs)
        self.faults.route(comp)

    def _off(self, component: Optional[str] = None) -> None:
        for target in self._matching(component):
            self.targets.pop(target)
            comp = self._component(target)
            comp.faults.clear_faults()
            self.faults.route(comp)


class SecondControllerManager(Fault):
    """A second controller-manager, "controller-manager-2". Without leader election
    both reconcile at once (expected to break invariants: two ReplicaSet controllers
    each create the missing pods); with leader_elect=True — and SimCluster(
    leader_elect=True) for the first — only the holder of the Lease acts."""

    name = "second_controller_manager"
    NAME = "controller-manager-2"

    def _on(self, leader_elect: bool = False) -> None:
        sim = self.sim
        comp = sim.components.get(self.NAME)
        build = sim.controller_manager_builder(self.NAME, leader_elect)
        if comp is None:
            sim.add_component(self.NAME, "controller-manager", build)
        elif comp.state == "dead":
            comp.build, comp.state = build, "crashed"      # rebuilt at its next step
        self.targets[self.NAME] = leader_elect

    def _off(self) -> None:
        comp = self.sim.components.get(self.NAME)
        if comp is not None and self.active:
            self.sim.crash(self.NAME, "stopped (second controller-manager off)")
            comp.state = "dead"
        self.targets.clear()


class Faults:
    """Every fault of one SimCluster, as attributes (see the module docstring)."""

    def __init__(self, sim):
        # The data-plane faults live in faults_nodes.py, which builds on Fault.
        from .faults_nodes import ContainerCrashes, KillNode, PauseNode, PodMonkey
        self.sim = sim
        self.monkey_client = sim.make_client("pod-monkey")
        self.all: dict = {}
        for cls in (CrashComponent, CrashScheduler, RestartAPIServer, StaleReads, DelayWatch,
                    BreakWatches, RequestFailures, KillNode, PauseNode, ContainerCrashes,
                    PodMonkey, SecondControllerManager):
            fault = cls(self)
            self.all[fault.name] = fault
            setattr(self, fault.name, fault)

    def active(self) -> set:
        """Names of the faults switched on now."""
        return {name for name, f in self.all.items() if f.active}

    def details(self) -> dict:
        """name -> what it is on for, with its options (for messages)."""
        return {name: dict(f.targets) for name, f in sorted(self.all.items()) if f.active}

    def before_step(self) -> None:
        for name, fault in self.all.items():
            if fault.active:
                fault.tick()

    def route(self, comp) -> None:
        """Requests of `comp` go through its FaultClient only while a request or read
        fault is on for it (the fast path skips a layer that would do nothing)."""
        comp.client.route(comp.name in self.request_failures.targets
                          or comp.name in self.stale_reads.targets)

    def revive_node(self, name: str) -> None:
        """The dead node returns (kill_node.off for that node)."""
        self.kill_node.off(name=name)

    def off(self) -> None:
        """Switch every fault off: from now on, liveness is promised."""
        for fault in self.all.values():
            if fault.active:
                fault.off()
