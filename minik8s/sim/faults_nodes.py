"""The data-plane faults: nodes that die or hang, containers that crash, pods deleted.

In Kubernetes these are the failures the control plane exists to repair: a node whose
kubelet stops heartbeating (the node lifecycle controller taints it and its pods are
evicted once their tolerations run out), a node that comes back, a container that
exits (the kubelet restarts it by restartPolicy, with CrashLoopBackOff), a pod deleted
by hand or by a chaos tool (its ReplicaSet makes another). Each acts through the seam a
real failure uses — the NodeHandle, the SimulatedRuntime, the API — and is switched
like every fault (faults.py): `on(...)`, `off(...)`, listed in `sim.faults.active()`.
"""
from __future__ import annotations

from typing import Optional

from minik8s.api import errors
from minik8s.node.runtime import RUNNING

from .faults import Fault


class KillNode(Fault):
    """Node death: the kubelet stops (no heartbeat), containers die, the handle says
    DEAD. off() (or Faults.revive_node) brings it back: a new kubelet, same name."""

    name = "kill_node"
    target_arg = "name"

    def _on(self, name: Optional[str] = None) -> None:
        if name is None:
            live = sorted(n for n, h in self.sim.handles.items() if h.alive)
            if not live:
                return
            name = self.rng.choice(live)
        self.targets[name] = True
        self.sim.kill_node(name)

    def _off(self, name: Optional[str] = None) -> None:
        for target in self._matching(name):
            self.targets.pop(target)
            if f"kubelet/{target}" in self.sim.components:
                self.sim.restart_node(target)


class PauseNode(Fault):
    """A hang or network partition: no heartbeats, but containers keep running."""

    name = "pause_node"
    target_arg = "name"

    def _on(self, name: str) -> None:
        self.targets[name] = True
        self.sim.pause_node(name)

    def _off(self, name: Optional[str] = None) -> None:
        for target in self._matching(name):
            self.targets.pop(target)
            if target in self.sim.handles:
                self.sim.resume_node(target)


class ContainerCrashes(Fault):
    """At each step, with probability p, one running container (chosen at random
    over every live node) dies with exit code 1; its kubelet restarts it by the
    pod's restartPolicy."""

    name = "container_crashes"
    target_arg = "p"

    def _on(self, p: float = 0.05, exit_code: int = 1) -> None:
        self.targets["containers"] = (p, exit_code)

    def tick(self) -> None:
        p, code = self.targets["containers"]
        if not self._chance(p):
            return
        running = [(n, s.id) for n, h in sorted(self.sim.handles.items()) if h.alive
                   for s in sorted(self.sim.runtimes[n].list(), key=lambda s: s.id)
                   if s.state == RUNNING]
        if running:
            node, cid = self.rng.choice(running)
            self.sim.runtimes[node].crash(cid, code)
            self._event("fire", {"node": node, "container": cid})


class PodMonkey(Fault):
    """At each step, with probability p, a random live pod is deleted through the
    API (as `kubectl delete pod` by an operator, or a chaos monkey)."""

    name = "pod_monkey"
    target_arg = "p"

    def _on(self, p: float = 0.05, namespace: Optional[str] = None) -> None:
        self.targets["pods"] = (p, namespace)

    def tick(self) -> None:
        p, namespace = self.targets["pods"]
        if not self._chance(p):
            return
        pods = [(o["metadata"]["namespace"], o["metadata"]["name"])
                for o in self.sim._reader.list("pods", namespace).items
                if not o["metadata"].get("deletionTimestamp")]
        if pods:
            ns, name = self.rng.choice(sorted(pods))
            try:
                self.faults.monkey_client.delete("pods", name, ns)
            except errors.NotFound:
                pass
