"""The scheduling framework: the vocabulary every scheduler plugin speaks.

kube-scheduler decides where a pod runs in a *scheduling cycle*: PreFilter (compute
what the pod needs once; a plugin with nothing to check says Skip), Filter (can the
pod run on this node? run per node, any failure rules the node out), PreScore,
Score (how good is each feasible node, 0..100 per plugin), NormalizeScore (rescale a
plugin's scores to 0..100), then the weighted sum picks the node, and Bind writes the
decision through the `pods/binding` subresource. Plugins are small and independent:
a profile says which run and with what weight.

This module holds the records of that cycle — Status, Resources, NodeInfo,
CycleState — and the Plugin protocol. Everything here is pure data and pure
functions: no API calls, no clock. `scheduler.py` does the I/O around it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol

from minik8s.api.quantity import parse_quantity, to_int, to_millis

# Status codes (framework.Code in kube-scheduler).
SUCCESS = "Success"
UNSCHEDULABLE = "Unschedulable"                        # might fit after the cluster changes
UNRESOLVABLE = "UnschedulableAndUnresolvable"          # preemption cannot help either
SKIP = "Skip"                                          # PreFilter/PreScore: nothing to check
ERROR = "Error"

MAX_NODE_SCORE = 100


@dataclass(frozen=True)
class Status:
    code: str = SUCCESS
    reasons: tuple = ()            # human reasons, aggregated into the FailedScheduling text
    plugin: str = ""

    @property
    def ok(self) -> bool:
        return self.code == SUCCESS

    @staticmethod
    def unschedulable(*reasons: str, unresolvable: bool = False) -> "Status":
        return Status(UNRESOLVABLE if unresolvable else UNSCHEDULABLE, tuple(reasons))


OK = Status()
SKIPPED = Status(SKIP)


@dataclass
class Resources:
    """Amounts in integer units: cpu in millicores, memory and storage in bytes,
    `pods` as a count, extended resources (nvidia.com/gpu) as integers."""
    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    pods: int = 0
    scalar: dict = field(default_factory=dict)

    @staticmethod
    def from_list(resource_list: Optional[dict]) -> "Resources":
        r = Resources()
        for name, q in (resource_list or {}).items():
            r.add_one(name, q)
        return r

    def add_one(self, name: str, q) -> None:
        if name == "cpu":
            self.milli_cpu += to_millis(parse_quantity(q))
        elif name == "memory":
            self.memory += to_int(parse_quantity(q))
        elif name == "ephemeral-storage":
            self.ephemeral_storage += to_int(parse_quantity(q))
        elif name == "pods":
            self.pods += to_int(parse_quantity(q))
        else:
            self.scalar[name] = self.scalar.get(name, 0) + to_int(parse_quantity(q))

    def add(self, other: "Resources") -> None:
        self.milli_cpu += other.milli_cpu
        self.memory += other.memory
        self.ephemeral_storage += other.ephemeral_storage
        self.pods += other.pods
        for k, v in other.scalar.items():
            self.scalar[k] = self.scalar.get(k, 0) + v

    def subtract(self, other: "Resources") -> None:
        self.milli_cpu -= other.milli_cpu
        self.memory -= other.memory
        self.ephemeral_storage -= other.ephemeral_storage
        self.pods -= other.pods
        for k, v in other.scalar.items():
            self.scalar[k] = self.scalar.get(k, 0) - v


@dataclass
class NodeInfo:
    """A node as the scheduler sees it: the Node object, the pods on it (bound or
    assumed), and the sums the plugins need, kept up to date as pods come and go."""
    node: dict
    pods: list = field(default_factory=list)                # pod dicts (shared: never mutate)
    requested: Resources = field(default_factory=Resources)  # sum of the pods' requests
    allocatable: Resources = field(default_factory=Resources)
    used_ports: set = field(default_factory=set)            # {(protocol, hostIP, hostPort)}
    generation: int = 0                                     # bumped on every change

    @property
    def name(self) -> str:
        return self.node["metadata"]["name"]


class CycleState(dict):
    """Per-pod, per-cycle scratch space: PreFilter writes, Filter/Score read."""


class Plugin(Protocol):
    """A plugin implements any subset of these extension points (duck-typed: the
    framework calls only the methods a plugin has)."""
    name: str

    def pre_filter(self, state: CycleState, pod: dict, nodes: list) -> Status: ...

    def filter(self, state: CycleState, pod: dict, node: NodeInfo) -> Status: ...

    def pre_score(self, state: CycleState, pod: dict, nodes: list) -> Status: ...

    def score(self, state: CycleState, pod: dict, node: NodeInfo) -> int: ...

    def normalize_score(self, state: CycleState, pod: dict, scores: dict) -> None:
        """Rescale {node_name: score} in place to 0..MAX_NODE_SCORE."""
