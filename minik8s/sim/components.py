"""The simulator's bookkeeping of one component, and what it prints when stuck.

A Component is one process of a real cluster — the scheduler, a controller-manager,
one node's kubelet — as the harness sees it: how to build a fresh instance (at its
first step, and again after each crash: a restarted process remembers nothing), its
own client stack (clients.py), and when it next wants to run. It has work when it
has not been built yet, a timer it asked for is due, or one of its watch streams has
events (or an end) waiting; the harness steps only components that have work, so an
idle cluster costs nothing but clock advances.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from minik8s.api.meta import get_path

# Component states: "new" (never built), "running", "crashed" (rebuilt when next
# chosen), "dead" (a killed node: never runs again until restart_node), "removed".
LIVE_STATES = ("new", "running", "crashed")


class SimBudgetExhausted(AssertionError):
    """run_until/settle gave up; the message says what every pod and node was doing."""


@dataclass(eq=False)
class Component:
    name: str                      # "scheduler", "controller-manager", "kubelet/node-1"
    kind: str                      # scheduler | controller-manager | kubelet
    build: Callable                # build(client, rng, component) -> object with step()
    faults: object                 # its FaultClient (switched by sim.faults)
    client: object                 # its SimClient (outermost)
    obj: Optional[object] = None   # the live instance (a LocalNodeHandle for a kubelet)
    state: str = "new"
    due: Optional[float] = None    # monotonic time it asked to be stepped again
    incarnation: int = 0           # how many instances were built (1 = never crashed)
    extra: dict = field(default_factory=dict)

    def can_run(self) -> bool:
        """Not dead, not removed, and (a node) not paused."""
        if self.state not in LIVE_STATES:
            return False
        if self.kind == "kubelet":
            return self.obj is not None and self.obj.alive
        return True

    def runnable(self, now: float) -> bool:
        if not self.can_run():
            return False
        if self.obj is None or (self.due is not None and self.due <= now):
            return True
        return self.client.has_events()


def node_ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in get_path(node, "status", "conditions") or [])


def describe(sim) -> str:
    """Pods (node, phase, waiting reasons, owner), nodes (Ready, handle state),
    components, active faults and the last events: what a stuck test needs."""
    lines = [f"t={sim.clock.monotonic():.3f}s, step {sim.steps}; faults: "
             + (", ".join(sorted(sim.faults.active())) or "none")]
    for pod in sim._reader.list("pods").items:
        meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        why = sorted({(cs.get("state") or {}).get("waiting", {}).get("reason", "")
                      for cs in status.get("containerStatuses") or []} - {""})
        owner = next((f"{o['kind']}/{o['name']}" for o in meta.get("ownerReferences") or []
                      if o.get("controller")), "")
        lines.append(f"  pod {meta.get('namespace')}/{meta['name']}: "
                     f"{status.get('phase', 'Pending')}"
                     f"{' (terminating)' if meta.get('deletionTimestamp') else ''}"
                     f" on {spec.get('nodeName') or '<unscheduled>'}"
                     + (f" [{', '.join(why)}]" if why else "") + (f" <- {owner}" if owner else ""))
    for node in sim._reader.list("nodes").items:
        name = node["metadata"]["name"]
        handle = sim.handles.get(name)
        taints = ",".join(t.get("key", "") for t in get_path(node, "spec", "taints") or [])
        lines.append(f"  node {name}: Ready={node_ready(node)} handle="
                     f"{handle.ping(0) if handle else 'none'}" + (f" taints={taints}" if taints else ""))
    for comp in sim._ordered:
        if comp.kind != "kubelet" or comp.state != "running":
            due = "-" if comp.due is None else f"{comp.due:.3f}"
            lines.append(f"  component {comp.name}: {comp.state} #{comp.incarnation} due={due}")
    lines.append("last events:\n" + sim.trace.excerpt(25))
    return "\n".join(lines)
