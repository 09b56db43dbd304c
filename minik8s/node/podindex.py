"""Many kubelets, one pod watch: a pod informer indexed by node, and each node's view.

A real kubelet watches only its own pods (`fieldSelector=spec.nodeName=<node>`), so
a cluster of N nodes holds N watches, and the API server decodes and sends each pod
event once per watching kubelet. Simulated clusters of 1000+ nodes (Ray host actors,
the simulator's scale mode) run many kubelets in one process instead; there one
informer over every bound pod (`spec.nodeName!=`) feeds all of them:

- `PodsByNode(client, clock, on_change)`: the shared informer plus an index
  node -> {namespace/name: pod}; `on_change(node)` is told which node's pods changed
  (the simulator wakes that kubelet). Whoever owns it calls `step()`.
- `NodeView(index_of, node)`: what a `Kubelet` asks of its informer (`step`, `list`);
  `index_of()` returns the current index, so the owner may rebuild the PodsByNode (a
  crashed host) without rebuilding the kubelets. Its `step()` does nothing.

The index holds the informer's cached objects: never mutate them.
"""
from __future__ import annotations

from typing import Callable, Optional

from ..client.informer import Informer


def _key(pod: dict) -> str:
    return f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"


class PodsByNode:
    def __init__(self, client, clock, on_change: Optional[Callable[[str], None]] = None):
        self.index: dict = {}                  # node name -> {pod key: pod}
        self.on_change = on_change
        self.informer = Informer(client, "pods", field_selector="spec.nodeName!=",
                                 clock=clock)
        self.informer.add_handler(on_add=self._put, on_update=lambda _o, new: self._put(new),
                                  on_delete=self._drop)

    def step(self) -> Optional[float]:
        return self.informer.step()

    def view(self, node: str) -> "NodeView":
        return NodeView(lambda: self.index, node)

    def _put(self, pod: dict) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node:                  # a pod's node never changes once bound
            self.index.setdefault(node, {})[_key(pod)] = pod
            self._changed(node)

    def _drop(self, pod: dict) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        self.index.get(node, {}).pop(_key(pod), None)
        self._changed(node)

    def _changed(self, node: str) -> None:
        if self.on_change is not None:
            self.on_change(node)


class NodeView:
    """One node's pods in a shared index, as a Kubelet's informer."""

    def __init__(self, index_of: Callable[[], dict], node: str):
        self._index_of, self._node = index_of, node

    def step(self) -> Optional[float]:
        return None

    def list(self) -> list:
        return list(self._index_of().get(self._node, {}).values())
