"""How the simulator builds each component: the same classes a real cluster runs.

In a real cluster a restarted kube-scheduler or kube-controller-manager is a new
process built from its flags, remembering nothing; a rebooted node is a new kubelet
over an empty container runtime. Each function here returns a *builder*,
`build(client, rng, component)`, that the harness calls at a component's first step
and again after every crash, so a restart really starts from nothing. The client is
the component's own stack (clients.py), and the rng a fresh Random seeded from the
cluster's seed, the component's name and its incarnation: a restarted component does
not replay its predecessor's random choices, yet every run with the same seed does.

`controller_overrides` ({"replicaset": BuggyReplicaSetController}) swap a variant
into every controller-manager, constructed exactly as ControllerManager constructs
the real one (shared informers, its own EventRecorder, the options it accepts):
that is how planted bugs are run.
"""
from __future__ import annotations

import inspect
import os
from typing import Optional

from minik8s.client.events import EventRecorder
from minik8s.controllers.manager import EVENT_SOURCES, ControllerManager
from minik8s.node.handle import LocalNodeHandle
from minik8s.node.kubelet import Kubelet
from minik8s.node.podindex import NodeView, PodsByNode
from minik8s.node.runtime_sim import SimulatedRuntime
from minik8s.scheduler.scheduler import Scheduler


def build_scheduler(sim):
    def build(client, rng, comp) -> Scheduler:
        # A fixed identity (not hostname + random uid): the Lease, and so the trace,
        # must be the same on every machine.
        return Scheduler(client, sim.clock, rng, leader_elect=sim.leader_elect,
                         identity=f"{comp.name}-{comp.incarnation}")
    return build


def build_controller_manager(sim, name: str, leader_elect: Optional[bool] = None):
    elect = sim.leader_elect if leader_elect is None else leader_elect

    def build(client, rng, comp) -> ControllerManager:
        return controller_manager(sim, client, rng, elect, f"{name}-{comp.incarnation}")
    return build


def controller_manager(sim, client, rng, leader_elect: bool, identity: str):
    """A ControllerManager with sim.controller_overrides swapped in."""
    over = sim.controller_overrides
    cm = ControllerManager(client, sim.clock, rng, leader_elect=leader_elect,
                           identity=identity, node_lookup=sim.node_lookup,
                           controllers=[n for n in sim.controller_names if n not in over],
                           options=sim.controller_options)
    if not over:
        return cm
    built = dict(cm.controllers)
    for name, cls in sorted(over.items()):
        accepted = inspect.signature(cls).parameters
        kwargs = {"informers": cm.informers, "rng": rng, "recorder": EventRecorder(
            client, sim.clock, EVENT_SOURCES.get(name, f"{name}-controller"))}
        if "node_lookup" in accepted:
            kwargs["node_lookup"] = sim.node_lookup
        kwargs.update({k: v for k, v in (sim.controller_options or {}).items()
                       if k in accepted})
        built[name] = cls(client, sim.clock, **kwargs)
    # Controllers step in the manager's order; an override takes its original's place.
    order = [n for n in sim.controller_names if n in built] + \
        [n for n in sorted(built) if n not in sim.controller_names]
    cm.controllers = {n: built[n] for n in order}
    return cm


def build_kubelet(sim):
    def build(client, rng, comp) -> LocalNodeHandle:
        name = comp.name.partition("/")[2]
        runtime = SimulatedRuntime(sim.clock,
                                   sim.derived_rng(f"runtime/{name}/{comp.incarnation}"))
        options = {"cpu": sim.node_cpu, "memory": sim.node_memory, "rng": rng,
                   "pod_root": os.path.join(sim.root, name, str(comp.incarnation)),
                   **sim.kubelet_options}
        if sim.shared_pod_informer:
            # The host may be rebuilt (a crash): the view looks the index up each time.
            options["informer"] = NodeView(
                lambda: sim.node_host.index if sim.node_host else {}, name)
        kubelet = Kubelet(client, sim.clock, runtime, node_name=name, **options)
        handle = LocalNodeHandle(kubelet, runtime)
        sim.handles[name], sim.runtimes[name] = handle, runtime
        return handle
    return build


# --- many nodes, one pod watch (scale mode) ---------------------------------------------

def build_node_host(sim):
    def build(client, rng, comp) -> PodsByNode:
        # What NodeHost (cluster/nodeagent.py) does for 1000-node Ray clusters: one pod
        # informer for every kubelet. A component of its own ("node-host"), so its watch
        # waits for the harness like any other; a change wakes that node's kubelet.
        def wake(node: str) -> None:
            kubelet = sim.components.get(f"kubelet/{node}")
            if kubelet is not None:
                kubelet.due = sim.clock.monotonic()
        sim.node_host = PodsByNode(client, sim.clock, on_change=wake)
        for c in sim.components.values():     # every kubelet looks again at its pods
            if c.kind == "kubelet":
                c.due = sim.clock.monotonic()
        return sim.node_host
    return build
