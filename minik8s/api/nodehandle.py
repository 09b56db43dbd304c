"""NodeHandle: what the control plane may know about a node beyond the API.

In Kubernetes the node lifecycle controller learns that a node is gone from two
sources: the node's heartbeat (its Lease in `kube-node-lease`, renewed by the kubelet)
and the cloud provider ("does this VM still exist?"). minik8s nodes are Ray actors
(or plain objects in the simulator), so the "cloud provider" is a NodeHandle: the
bring-up layer hands the controller-manager a `lookup(node_name) -> NodeHandle`, so
no controller imports `node/` or Ray.

Invariant checks use `running_pods()` to ask what really runs, which may differ from
what the API says (that difference is what self-healing repairs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Protocol, runtime_checkable

ALIVE = "Alive"      # answered the ping in time
HUNG = "Hung"        # exists but did not answer (paused, partitioned, overloaded)
DEAD = "Dead"        # gone for good (actor killed, VM deleted)


@dataclass(frozen=True)
class RunningPod:
    namespace: str
    name: str
    uid: str


@runtime_checkable
class NodeHandle(Protocol):
    name: str

    def ping(self, timeout: float) -> str:
        """ALIVE, HUNG or DEAD, answered within about `timeout` seconds."""

    def kill(self) -> None:
        """Crash the node: its kubelet and containers stop without cleanup."""

    def pause(self) -> None:
        """Stop answering (a hang or network partition); containers keep running."""

    def resume(self) -> None:
        """Undo pause()."""

    def running_pods(self) -> list[RunningPod]:
        """The pods whose containers really run there now."""


NodeLookup = Callable[[str], Optional[NodeHandle]]
