"""The simulator's node operations: nodes join, die, hang, come back, leave.

In Kubernetes a node is a machine that joins by registering its Node object (the
kubelet does it at start), dies without telling anyone (its Lease stops being renewed
and its containers are gone), hangs or is cut off by the network (no heartbeat, but
its containers keep running), reboots (a new kubelet under the same name, with an
empty container runtime, adopting its Node if it still exists), or is removed from
the pool (its Node object deleted). SimCluster does each through the node's
LocalNodeHandle — the same NodeHandle the node lifecycle controller asks "does this
node still exist?" — and records each in the trace and the replay script.
"""
from __future__ import annotations

from typing import Optional

from minik8s.api import errors

from .builders import build_kubelet
from .components import Component, node_ready
from .trace import NODE


class NodeOperations:
    """Mixed into SimCluster (which provides components, handles, script, trace...)."""

    # --- nodes -----------------------------------------------------------------------
    def node_lookup(self, name: str):
        """What the controller-manager gets as its "cloud provider": name -> handle."""
        return self.handles.get(name)

    def add_node(self, name: Optional[str] = None) -> str:
        """A new node (its kubelet registers the Node at its first step)."""
        self._serial += 1
        name = name or f"node-{self._serial}"
        with self.script.operation("sim", "add_node", [name], {}):
            key = f"kubelet/{name}"
            if key in self.components:
                raise ValueError(f"node {name} already exists")
            self.add_component(key, "kubelet", build_kubelet(self))
            self._start_kubelet(self.components[key])
            self._harness_event(NODE, "add", name)
        return name

    def _start_kubelet(self, comp: Component) -> None:
        # Kubelets are built at once (not at their first step): the handle must exist
        # as soon as the node does, for node_lookup and for the invariants.
        comp.incarnation += 1
        comp.obj = comp.build(comp.client, self.derived_rng(f"{comp.name}/{comp.incarnation}"), comp)
        comp.state, comp.due = "running", self.clock.monotonic()

    def kill_node(self, name: str) -> None:
        """A crash: the kubelet stops (no heartbeat), every container dies, the handle
        says DEAD. The Node object stays until the node lifecycle controller acts."""
        with self.script.operation("sim", "kill_node", [name], {}):
            comp = self.components[f"kubelet/{name}"]
            self.handles[name].kill()
            comp.client.close_streams()
            comp.state = "dead"
            self._harness_event(NODE, "kill", name)

    def restart_node(self, name: str) -> None:
        """The node comes back: a new kubelet and an empty runtime under the same name
        (a rebooted VM); it re-registers, or adopts its Node if it still exists."""
        with self.script.operation("sim", "restart_node", [name], {}):
            comp = self.components[f"kubelet/{name}"]
            old = self.handles.get(name)
            if old is not None and old.alive:
                old.kill()
            comp.client.close_streams()
            self._start_kubelet(comp)
            self._harness_event(NODE, "restart", name)

    def pause_node(self, name: str) -> None:
        """A hang or partition: no heartbeats, containers keep running."""
        with self.script.operation("sim", "pause_node", [name], {}):
            self.handles[name].pause()
            self._harness_event(NODE, "pause", name)

    def resume_node(self, name: str) -> None:
        with self.script.operation("sim", "resume_node", [name], {}):
            self.handles[name].resume()
            self.components[f"kubelet/{name}"].due = self.clock.monotonic()
            self._harness_event(NODE, "resume", name)

    def remove_node(self, name: str) -> None:
        """Scale the node pool down: kill the node and delete its Node object."""
        with self.script.operation("sim", "remove_node", [name], {}):
            self.kill_node(name)
            comp = self.components.pop(f"kubelet/{name}")
            comp.state = "removed"
            self._ordered = sorted(self.components.values(), key=lambda c: c.name)
            self.handles.pop(name, None)
            self.runtimes.pop(name, None)
            try:
                self.harness_client.delete("nodes", name)
            except errors.NotFound:
                pass

    def nodes_ready(self) -> bool:
        """Every live node's Node object exists and says Ready=True."""
        live = [h for h in self.handles.values() if h.alive]
        if not all(h.kubelet.node.node is not None for h in live):
            return False                # not even registered: no need to list
        names = {h.name for h in live}
        ready = {n["metadata"]["name"] for n in self._reader.list("nodes").items
                 if node_ready(n)}
        return names <= ready
