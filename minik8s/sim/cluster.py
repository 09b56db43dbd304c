"""SimCluster: a whole cluster in one process, stepped one decision at a time.

Kubernetes is tested for races with real clusters and luck (e2e, chaos tests); the
"deterministic simulation testing" of FoundationDB does better: run every component
in one process, let one seeded harness decide everything that would be a race in
production — which component runs next, when each one sees each watch event, when
time passes, when something fails — and the same seed gives the same run, so a bug
found once can be replayed, shrunk and read. This is that, for minik8s. The
components are the real ones (the API server's request pipeline over the store, the
Scheduler, the ControllerManager, one Kubelet per node on the SimulatedRuntime),
talking through in-process clients under one FakeClock:

- `step()` is ONE decision: among the components that have work — a watch event
  waiting for them, a timer due, a restart pending — the seeded `rng` picks one and
  steps it once. Watch events wait in each component's own stream until it steps,
  so components see the world at different moments, as they do in a real cluster.
- `advance()` moves the clock to the next timer anyone asked for; time never moves
  on its own. `run`, `run_until` and `settle` are loops of the two.
- `faults` (faults.py) breaks things in every way DESIGN.md §9 lists, through each
  component's FaultClient and the NodeHandles.
- `trace` (trace.py) logs every write, delivery, crash and fault; `script`
  (replay.py) every harness operation, so `save_script()` + `python -m
  minik8s.sim.replay` reruns a run exactly.

Determinism rules kept here: every random choice comes from a Random seeded from
`seed` and a stable name (never from a set's or a dict's hash order); components are
considered in name order; identities and uids are drawn from those Randoms.
"""
from __future__ import annotations

import math
import os
import random
import shutil
import tempfile
from typing import Callable, Optional

from minik8s.api.clock import FakeClock
from minik8s.apiserver.server import APIServer
from minik8s.client.inprocess import InProcessClient
from minik8s.client.wrappers import FaultClient
from minik8s.controllers.manager import CONTROLLERS
from minik8s.store.memory import MemoryStore

from .builders import build_controller_manager, build_node_host, build_scheduler

from .clients import ComponentCrashed, ScriptedClient, ServerProxy, SimClient
from .components import Component, SimBudgetExhausted, describe
from .faults import Faults
from .nodes import NodeOperations
from .script import Script, class_name, command
from .snapshot import Snapshot, take_snapshot
from .trace import CRASH, RESTART, STORE, Trace, TraceEvent

IDLE_ADVANCE = 1.0       # how far advance() moves when nobody waits for anything
# kube-apiserver compacts etcd every 5 minutes (--etcd-compaction-interval), keeping
# the history written since the previous compaction: older watches get 410 Gone.
COMPACTION_INTERVAL = 300.0


class SimCluster(NodeOperations):
    """See the module docstring. Public: clock, rng, client (the test's, traced as
    "user"), api, store, components, handles, runtimes, faults, trace, script."""

    def __init__(self, seed: int = 0, nodes: int = 3, *, durable: bool = False,
                 node_cpu: str = "4", node_memory: str = "8Gi",
                 controller_options: Optional[dict] = None,
                 default_toleration_seconds: int = 300, leader_elect: bool = False,
                 controllers: Optional[list] = None,
                 controller_overrides: Optional[dict] = None,
                 kubelet_options: Optional[dict] = None, trace_reads: bool = False,
                 trace_deliveries: bool = True, interleave_events: bool = False,
                 shared_pod_informer: bool = False,
                 compaction_interval: Optional[float] = COMPACTION_INTERVAL,
                 wait_ready: bool = True):
        overrides = dict(controller_overrides or {})
        self.script = Script({
            "seed": seed, "nodes": nodes, "durable": durable, "node_cpu": node_cpu,
            "node_memory": node_memory, "controller_options": controller_options,
            "default_toleration_seconds": default_toleration_seconds,
            "leader_elect": leader_elect, "controllers": controllers,
            "controller_overrides": {k: class_name(v) for k, v in sorted(overrides.items())},
            "kubelet_options": kubelet_options, "trace_reads": trace_reads,
            "trace_deliveries": trace_deliveries, "interleave_events": interleave_events,
            "shared_pod_informer": shared_pod_informer,
            "compaction_interval": compaction_interval, "wait_ready": wait_ready})
        self.seed = seed
        self.clock = FakeClock()
        self.rng = random.Random(seed)          # the harness's own decisions
        self.trace = Trace(reads=trace_reads, deliveries=trace_deliveries)
        # Hooks for invariant checkers: before_write(component, action) runs before a
        # write reaches the API server, after_write(event, action, result) after it
        # (result None when it failed) — e.g. to see the scheduler's cache at the
        # moment it binds, or the stored resourceVersion an update had to match.
        self.before_write: list = []
        self.after_write: list = []
        # interleave_events: a step delivers a random prefix of a component's waiting
        # watch events (the rest at later steps), so components see changes in more
        # orders; off, a step delivers everything that waits.
        self.interleave_events = interleave_events
        self.delivery_rng = self.derived_rng("delivery")
        self.steps = 0
        self.node_cpu, self.node_memory = node_cpu, node_memory
        self.controller_options = controller_options
        self.controller_names = list(CONTROLLERS) if controllers is None else list(controllers)
        self.controller_overrides = overrides
        self.kubelet_options = dict(kubelet_options or {})
        self.leader_elect = leader_elect
        self.default_toleration_seconds = default_toleration_seconds
        self.durable = durable
        self.root = tempfile.mkdtemp(prefix="minik8s-sim-")
        self._api_restarts = 0
        self._serial = 0
        self._last_change = 0.0                 # monotonic time of the last real change
        self.compaction_interval = compaction_interval
        self._compaction = (compaction_interval, 0)   # (next time, revision to compact)
        self.store = self._open_store()
        self.api = self._new_apiserver()
        self._proxy = ServerProxy(self.api)
        self._reader = InProcessClient(self._proxy)          # untraced: state(), describe()
        self.client = ScriptedClient(self.make_client("user"), self.script)
        self.harness_client = self.make_client("harness")   # node removal, pod monkey
        self.components: dict = {}
        self._ordered: list = []
        self.handles: dict = {}
        self.runtimes: dict = {}
        self.faults = Faults(self)
        # shared_pod_informer: one pod watch for all kubelets (scale runs; see builders)
        self.shared_pod_informer = shared_pod_informer
        self.node_host = None
        if shared_pod_informer:
            self.add_component("node-host", "node-host", build_node_host(self))
        self.add_component("scheduler", "scheduler", build_scheduler(self))
        if self.controller_names or overrides:
            self.add_component("controller-manager", "controller-manager",
                               build_controller_manager(self, "controller-manager"))
        for _ in range(nodes):
            self.add_node()
        if wait_ready and nodes:
            self.run_until(self.nodes_ready, max_steps=200 + 20 * nodes)
        self.script.start()

    # --- construction ----------------------------------------------------------------
    def _open_store(self):
        if not self.durable:
            return MemoryStore()
        from minik8s.store.sqlite import SqliteStore
        return SqliteStore(os.path.join(self.root, "store.db"))

    def _new_apiserver(self) -> APIServer:
        rng = self.derived_rng(f"apiserver/{self._api_restarts}")
        return APIServer(self.store, self.clock, rng,
                         default_toleration_seconds=self.default_toleration_seconds)

    def derived_rng(self, name: str) -> random.Random:
        """A Random of its own for `name`, the same in every run with this seed."""
        return random.Random(f"{self.seed}/{name}")

    def make_client(self, name: str, fault_client: Optional[FaultClient] = None) -> SimClient:
        direct = InProcessClient(self._proxy)
        if fault_client is not None:
            fault_client.inner = direct
        return SimClient(direct, self, name, fault_client)

    def add_component(self, name: str, kind: str, build: Callable) -> Component:
        """Register a component; `build(client, rng, component)` makes a fresh instance
        (at the first step it is chosen, and again after every crash)."""
        if name in self.components:
            raise ValueError(f"component {name} already exists")
        faults = FaultClient(None, self.derived_rng(f"faults/{name}"))
        comp = Component(name, kind, build, faults, self.make_client(name, faults))
        self.components[name] = comp
        self._ordered = sorted(self.components.values(), key=lambda c: c.name)
        return comp

    def controller_manager_builder(self, name: str, leader_elect: Optional[bool] = None):
        """The builder of a controller-manager called `name` (faults.py adds a second)."""
        return build_controller_manager(self, name, leader_elect)

    # --- stepping ------------------------------------------------------------------------
    def runnable(self) -> list:
        # Strict comparison, as the work queues and timers make it: a component is due
        # only once the clock has reached its time (advance() makes sure it does).
        now = self.clock.monotonic()
        # The inline test is a cheap pre-filter (an idle kubelet of a 1000-node
        # cluster has no due timer and no stream of its own); runnable() decides.
        return [c for c in self._ordered
                if ((c.due is not None and c.due <= now) or c.obj is None or c.client.streams)
                and c.runnable(now)]

    def step(self) -> bool:
        """One decision: faults that act per step act, then one component with work
        (chosen by the seeded rng) steps once. False when no component had work."""
        self.script.add("step")
        self.faults.before_step()
        ready = self.runnable()
        if not ready:
            return False
        comp = ready[0] if len(ready) == 1 else self.rng.choice(ready)
        self.steps += 1
        self._step_component(comp)
        return True

    def _step_component(self, comp: Component) -> None:
        try:
            if comp.obj is None:
                comp.incarnation += 1
                comp.obj = comp.build(comp.client,
                                      self.derived_rng(f"{comp.name}/{comp.incarnation}"), comp)
                if comp.state == "crashed":
                    self._harness_event(RESTART, "", f"incarnation {comp.incarnation}",
                                        component=comp.name)
                comp.state = "running"
            due = comp.obj.step()
        except ComponentCrashed as e:
            self.crash(comp.name, str(e))
            return
        comp.due = None if due is None else self.clock.monotonic() + max(due, 0.0)

    def crash(self, name: str, why: str = "crashed") -> None:
        """Drop a component's instance now (memory lost); it is rebuilt from nothing
        the next time it is chosen. Its open watches go with it."""
        comp = self.components[name]
        comp.client.close_streams()
        comp.obj, comp.state, comp.due = None, "crashed", None
        self._harness_event(CRASH, "", why, component=name)

    def next_due(self) -> Optional[float]:
        dues = [c.due for c in self._ordered if c.due is not None and c.can_run()]
        return min(dues) if dues else None

    def advance(self, seconds: Optional[float] = None) -> float:
        """Move the clock by `seconds`, or (None) to the next time a component asked to
        be stepped (IDLE_ADVANCE when none did). Returns how far it moved."""
        due = None
        if seconds is None:
            due, now = self.next_due(), self.clock.monotonic()
            seconds = IDLE_ADVANCE if due is None else max(due - now, 0.0)
        self.script.add("advance", seconds)
        if seconds > 0:
            self.clock.advance(seconds)
            # Pitfall: now + (due - now) can round to just below `due` (found by the
            # property tests: a timer 7e-15 s ahead was "due" but never reached, and
            # the harness spun). Step over it by the float's smallest increment.
            while due is not None and self.clock.monotonic() < due:
                self.clock.advance(max(due - self.clock.monotonic(), math.ulp(due)))
            self._maybe_compact()
        return seconds

    def _maybe_compact(self) -> None:
        at, revision = self._compaction
        if at is None or self.clock.monotonic() < at:
            return
        if revision > self.store.compact_revision:
            self.store.compact(revision)
            self.trace.record(TraceEvent(self.steps, self.clock.monotonic(), "apiserver",
                                         STORE, "compact", detail=f"revision {revision}"))
        self._compaction = (self.clock.monotonic() + self.compaction_interval,
                            self.store.revision)

    def run(self, steps: int) -> None:
        """`steps` iterations of: step, or advance the clock when nothing can step."""
        for _ in range(steps):
            if not self.step():
                self.advance()

    def run_until(self, predicate: Callable[[], bool], max_steps: int = 10_000) -> int:
        """Iterate (step, or advance when idle) until predicate() holds; returns the
        number of iterations. Raises SimBudgetExhausted saying what it waited for."""
        for n in range(max_steps + 1):
            if predicate():
                return n
            if n < max_steps and not self.step():
                self.advance()
        raise SimBudgetExhausted(f"condition not met after {max_steps} iterations "
                                 f"(t={self.clock.monotonic():.3f}s)\n{self.describe()}")

    def settle(self, max_steps: int = 50_000, horizon: float = 60.0) -> int:
        """Run until quiescent: no component has work now and nothing but heartbeats
        (Leases, Node status, Events) was written for `horizon` simulated seconds.
        Choose a horizon beyond the longest timer that should still fire (e.g. the
        tolerationSeconds of an eviction). Returns the iterations taken."""
        for n in range(max_steps):
            now = self.clock.monotonic()
            if not self.step():
                if now - self._last_change >= horizon:
                    return n
                due = self.next_due()
                limit = self._last_change + horizon - now
                self.advance(min(max(due - now, 0.0), limit) if due is not None else limit)
        raise SimBudgetExhausted(f"not quiescent after {max_steps} iterations (last "
                                 f"change at t={self._last_change:.3f}s)\n{self.describe()}")

    # --- the API server -------------------------------------------------------------
    def restart_apiserver(self) -> None:
        """Crash and restart the API server and its store (durable only): the store
        file is closed and reopened, a new APIServer serves it, and every component's
        watches end, so their informers resume from the last resourceVersion."""
        if not self.durable:
            raise ValueError("restarting the API server needs SimCluster(durable=True)")
        with self.script.operation("sim", "restart_apiserver", [], {}):
            self.store.close()
            self._api_restarts += 1
            self.store = self._open_store()
            self.api = self._new_apiserver()
            self._proxy.target = self.api
            for comp in self._ordered:
                comp.faults.break_watches(gone=False)
            self._harness_event(RESTART, "", f"apiserver incarnation {self._api_restarts}",
                                component="apiserver")

    # --- what tests look at ------------------------------------------------------------
    def state(self, resources: Optional[list] = None) -> Snapshot:
        """Everything an invariant needs, read now (untraced): see snapshot.py."""
        return take_snapshot(self, resources)

    def describe(self) -> str:
        return describe(self)

    def save_script(self, path: str) -> str:
        """Write the replay script of this run; returns the command that replays it."""
        self.script.save(path, self.trace.digest())
        return command(path)

    def replay_command(self, path: str) -> str:
        return command(path)

    def note_change(self) -> None:
        """Something other than a heartbeat happened now (settle() waits for quiet)."""
        self._last_change = self.clock.monotonic()

    def _harness_event(self, kind: str, verb: str, detail: str, component: str = "harness"):
        self.trace.record(TraceEvent(self.steps, self.clock.monotonic(), component, kind,
                                     verb, detail=detail))
        self.note_change()

    def close(self) -> None:
        for name, handle in sorted(self.handles.items()):
            if handle.alive:
                handle.kubelet.stop()
        for comp in self._ordered:
            comp.client.close_streams()
        self.store.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "SimCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
