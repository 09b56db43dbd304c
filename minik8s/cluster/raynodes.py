"""Nodes and control-plane components as Ray actors, and NodeHandles over Ray.

Kubernetes runs a kubelet per machine and kube-scheduler / kube-controller-manager as
pods that the kubelet restarts when they crash. minik8s puts each on a Ray actor:

- a **node actor** (`NodeAgent` in `nodeagent.py`, wrapped here), named
  `node-<nodeName>` in the cluster's Ray namespace, `num_cpus=0`, **detached**: it
  outlives the `minik8s up` that created it and any control-plane crash, so pods keep
  running and the kubelet reconnects. Node actors are spread round-robin over the
  Ray nodes (node affinity), and each Node is labelled with the Ray node it runs
  on (`minik8s.io/ray-node`). A simulated cluster puts many kubelets into a few
  **host actors** (`nodehost-<i>`, `NodeHost`), `NODES_PER_HOST` each.
- **component actors** (`scheduler-<i>`, `controller-manager-<i>`), detached and
  restartable (`max_restarts=-1`): `minik8s chaos kill scheduler` kills the worker
  process and Ray starts a new one, which builds the component afresh from the
  cluster state (memory lost, as after a crash). They always run with leader
  election (Lease in kube-system); the identity is the actor name, so a restarted
  leader takes its Lease back at once, and with two replicas only one acts.

`RayNodeHandle` is the NodeHandle protocol over Ray: `ping(timeout)` is one actor call
raced against the timeout (answered -> Alive, or Hung if paused; no answer -> Hung;
ActorDiedError -> Dead). `RayNodeLookup` is the lookup the controller-manager gets:
it finds the cluster's actors by name and pings *all* nodes in one batch (one call
per host actor) at most once a second, so the node lifecycle controller's per-node
pings cost nothing. Every `ray.get` has a timeout (ray-notes pitfall 4).
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Optional

import ray
from ray.exceptions import GetTimeoutError, RayActorError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from minik8s.api.clock import Clock, RealClock
from minik8s.api.nodehandle import ALIVE, DEAD, HUNG, RunningPod

from .nodeagent import NodeAgent, NodeHost

log = logging.getLogger(__name__)

RAY_NODE_LABEL = "minik8s.io/ray-node"
NODES_PER_HOST = 250
CALL_TIMEOUT = 10.0
NODE_PREFIX, HOST_PREFIX = "node-", "nodehost-"


class _RayNodeAgent(NodeAgent):
    def __init__(self, name: str, server: str, **kw):
        labels = dict(kw.pop("labels", None) or {})
        labels[RAY_NODE_LABEL] = ray.get_runtime_context().get_node_id()[:63]
        super().__init__(name, server, labels=labels, **kw)


class _RayNodeHost(NodeHost):
    def __init__(self, server: str, **kw):
        labels = dict(kw.pop("labels", None) or {})
        labels[RAY_NODE_LABEL] = ray.get_runtime_context().get_node_id()[:63]
        super().__init__(server, labels=labels, **kw)


class ComponentAgent:
    """A control-plane component (scheduler or controller-manager) on a thread, over
    HTTP, with leader election; rebuilt from nothing when Ray restarts the actor."""

    def __init__(self, kind: str, server: str, identity: str, namespace: str,
                 options: Optional[dict] = None):
        import random
        from minik8s.client.http import HTTPClient
        self.kind, self.identity = kind, identity
        clock, rng = RealClock(), random.Random()
        client = HTTPClient(server, timeout=10)
        if kind == "scheduler":
            from minik8s.scheduler.scheduler import Scheduler
            self.component = Scheduler(client, clock, rng, leader_elect=True,
                                       identity=identity)
        elif kind == "controller-manager":
            from minik8s.controllers.manager import ControllerManager
            self.component = ControllerManager(
                client, clock, rng, leader_elect=True, identity=identity,
                node_lookup=RayNodeLookup(namespace, clock), options=options or {})
        else:
            raise ValueError(f"unknown component {kind!r}")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=kind, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.component.run(self._stop)
            except Exception:           # the API server away mid-step: start again
                log.exception("%s crashed; running it again", self.kind)
                RealClock().wait(self._stop, 1.0)

    def info(self) -> dict:
        elector = getattr(self.component, "elector", None)
        leader = getattr(self.component, "is_leader", None)
        if leader is None and elector is not None:
            leader = elector.is_leader
        return {"kind": self.kind, "identity": self.identity, "pid": os.getpid(),
                "leader": bool(leader)}

    def shutdown(self) -> None:
        self._stop.set()
        self._thread.join(5)


# --- creating actors ------------------------------------------------------------------

def _ray_node_ids() -> list:
    return sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))


def _placement(i: int, node_ids: list) -> dict:
    if len(node_ids) <= 1:
        return {}
    # Hard affinity to a node alive right now: Ray's soft affinity was measured to
    # place every actor on one node regardless (Ray 2.60).
    return {"scheduling_strategy": NodeAffinitySchedulingStrategy(
        node_ids[i % len(node_ids)], soft=False)}


def start_nodes(server: str, names: list, *, namespace: str, root_dir: str,
                runtime: str = "process", **options) -> dict:
    """Create the node actors (or host actors for the simulated runtime); returns
    {actor name: actor}. Does not wait for registration (see `wait_ready`)."""
    node_ids = _ray_node_ids()
    actors = {}
    if runtime == "simulated":
        cls = ray.remote(num_cpus=0, max_concurrency=4)(_RayNodeHost)
        host_opts = {k: v for k, v in options.items() if k != "seed"}
        for i in range(0, len(names), NODES_PER_HOST):
            name = f"{HOST_PREFIX}{i // NODES_PER_HOST}"
            actor = cls.options(name=name, namespace=namespace, lifetime="detached",
                                **_placement(i // NODES_PER_HOST, node_ids)
                                ).remote(server, **host_opts)
            actor.add.remote(names[i:i + NODES_PER_HOST])
            actors[name] = actor
        return actors
    cls = ray.remote(num_cpus=0, max_concurrency=4)(_RayNodeAgent)
    for i, node in enumerate(names):
        name = NODE_PREFIX + node
        actors[name] = cls.options(name=name, namespace=namespace, lifetime="detached",
                                   **_placement(i, node_ids)).remote(
            node, server, root_dir=root_dir, runtime=runtime, **options)
    return actors


def start_component(kind: str, index: int, server: str, namespace: str,
                    options: Optional[dict] = None):
    name = f"{kind}-{index}"
    cls = ray.remote(num_cpus=0, max_concurrency=2, max_restarts=-1,
                     max_task_retries=0)(ComponentAgent)
    return cls.options(name=name, namespace=namespace, lifetime="detached").remote(
        kind, server, name, namespace, options)


def wait_ready(actors: dict, want_nodes: int, clock: Clock, timeout: float) -> tuple:
    """Wait until `want_nodes` kubelets are registered (and serving); returns
    (ready, problem)."""
    deadline = clock.monotonic() + timeout
    ready = 0
    while True:
        refs = [a.ready.remote() for a in actors.values()]
        try:
            answers = ray.get(refs, timeout=max(0.1, deadline - clock.monotonic()))
        except GetTimeoutError:
            return ready, f"only {ready} of {want_nodes} nodes registered in {timeout:g} s"
        except RayActorError as e:
            return ready, f"a node actor died during start-up: {e}"
        ready = sum(int(a) for a in answers)
        if ready >= want_nodes:
            return ready, ""
        if clock.monotonic() >= deadline:
            return ready, f"only {ready} of {want_nodes} nodes registered in {timeout:g} s"
        clock.sleep(0.1)


def named_actors(namespace: str) -> list:
    return sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                  if a.get("namespace") == namespace)


def get_actor(name: str, namespace: str):
    try:
        return ray.get_actor(name, namespace=namespace)
    except ValueError:
        return None


def call(actor, method: str, *args, timeout: float = CALL_TIMEOUT):
    return ray.get(getattr(actor, method).remote(*args), timeout=timeout)


def kill_all(namespace: str, graceful: float = 5.0) -> list:
    """Stop every actor of the cluster: a clean `shutdown()` first (containers are
    stopped), then `ray.kill`. Returns the names."""
    names = named_actors(namespace)
    actors = {n: get_actor(n, namespace) for n in names}
    refs = [a.shutdown.remote() for a in actors.values() if a is not None]
    if refs:
        ray.wait(refs, num_returns=len(refs), timeout=graceful)
    for a in actors.values():
        if a is not None:
            ray.kill(a, no_restart=True)
    return names


# --- NodeHandles over Ray ----------------------------------------------------------------

class RayNodeHandle:
    """NodeHandle for node `name`, hosted by `actor` (alone, or in a host actor)."""

    def __init__(self, name: str, actor, hosted: bool = False, lookup=None):
        self.name, self.actor, self.hosted, self._lookup = name, actor, hosted, lookup

    def ping(self, timeout: float) -> str:
        if self._lookup is not None:
            return self._lookup.state(self.name, timeout)
        return ping_many({self.name: self}, timeout)[self.name]

    def kill(self) -> None:
        if self.hosted:
            call(self.actor, "kill", self.name)
        else:
            ray.kill(self.actor, no_restart=True)

    def pause(self) -> None:
        call(self.actor, "pause", *([self.name] if self.hosted else []))

    def resume(self) -> None:
        call(self.actor, "resume", *([self.name] if self.hosted else []))

    def running_pods(self) -> list:
        rows = call(self.actor, "running_pods", *([self.name] if self.hosted else []))
        return [RunningPod(*r) for r in rows]


def ping_many(handles: dict, timeout: float) -> dict:
    """{name: state} for many handles in one round: one call per actor, one wait."""
    by_actor: dict = {}
    for h in handles.values():
        by_actor.setdefault(h.actor._actor_id, (h.actor, h.hosted, []))[2].append(h.name)
    refs = {}
    for actor, hosted, names in by_actor.values():
        ref = actor.ping.remote(names) if hosted else actor.ping.remote()
        refs[ref] = (hosted, names)
    done, _ = ray.wait(list(refs), num_returns=len(refs), timeout=timeout)
    out = {name: HUNG for _, names in refs.values() for name in names}
    for ref in done:
        hosted, names = refs[ref]
        try:
            answer = ray.get(ref, timeout=0)
        except RayActorError:
            out.update({n: DEAD for n in names})
            continue
        except Exception:
            continue
        for n in names:
            state = answer.get(n, DEAD) if hosted else answer
            out[n] = state if state in (ALIVE, HUNG, DEAD) else HUNG
    return out


class RayNodeLookup:
    """node name -> RayNodeHandle, for the controller-manager. Pings every node of
    the cluster in one batch at most every `refresh` seconds; a node whose actor
    has disappeared (killed) stays known, as Dead."""

    def __init__(self, namespace: str, clock: Optional[Clock] = None, refresh: float = 1.0):
        self.namespace, self.clock, self.refresh = namespace, clock or RealClock(), refresh
        self._handles: dict = {}
        self._states: dict = {}
        self._at: Optional[float] = None
        self._lock = threading.Lock()

    def __call__(self, name: str) -> Optional[RayNodeHandle]:
        with self._lock:
            if name not in self._handles:
                self._discover()
            return self._handles.get(name)

    def _discover(self) -> None:
        for actor_name in named_actors(self.namespace):
            if actor_name.startswith(NODE_PREFIX):
                node = actor_name[len(NODE_PREFIX):]
                if node not in self._handles:
                    actor = get_actor(actor_name, self.namespace)
                    if actor is not None:
                        self._handles[node] = RayNodeHandle(node, actor, lookup=self)
            elif actor_name.startswith(HOST_PREFIX):
                actor = get_actor(actor_name, self.namespace)
                try:
                    names = call(actor, "names", timeout=2.0) if actor else []
                except Exception:
                    names = []
                for node in names:
                    self._handles.setdefault(node, RayNodeHandle(node, actor, True, self))

    def state(self, name: str, timeout: float) -> str:
        with self._lock:
            now = self.clock.monotonic()
            if self._at is None or now - self._at >= self.refresh or name not in self._states:
                self._states = ping_many(self._handles, timeout) if self._handles else {}
                self._at = now
            return self._states.get(name, DEAD)
