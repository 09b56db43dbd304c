"""Snapshot: the whole cluster at one instant, as invariant checks read it.

Kubernetes' promises are about two views of a cluster: what the API says (pods,
nodes, their owners, their status) and what really runs on the nodes (which a real
cluster only learns through the kubelets, and chaos tests through the cloud
provider). A Snapshot holds both, read at once between two steps (nothing moves
while it is taken): every object of the listed resources from the API server, and
each node handle's `running_pods()` and state. Taking one is untraced and changes
nothing, so checking invariants never perturbs a run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from minik8s.api.errors import NotFound

RESOURCES = ("pods", "nodes", "replicasets", "deployments", "statefulsets", "daemonsets",
             "namespaces", "leases", "events", "services", "endpoints")


@dataclass(frozen=True)
class Snapshot:
    step: int                     # sim.steps when taken
    time: float                   # simulated seconds (monotonic)
    now: float                    # the wall clock (for timestamps in objects)
    resource_version: str         # of the last list: the store's revision
    objects: dict                 # plural -> [object, ...] sorted by namespace/name
    running: dict                 # node name -> [RunningPod, ...] (what really runs)
    node_states: dict             # node name -> Alive | Hung | Dead (handle.ping)
    faults: frozenset             # names of the active faults
    components: dict = field(default_factory=dict)   # name -> state (running, crashed...)

    def __getitem__(self, resource: str) -> list:
        return self.objects.get(resource, [])

    @property
    def pods(self) -> list:
        return self["pods"]

    @property
    def nodes(self) -> list:
        return self["nodes"]

    @property
    def replicasets(self) -> list:
        return self["replicasets"]

    @property
    def deployments(self) -> list:
        return self["deployments"]

    @property
    def leases(self) -> list:
        return self["leases"]

    @property
    def events(self) -> list:
        return self["events"]


def take_snapshot(sim, resources: Optional[list] = None) -> Snapshot:
    objects, rv = {}, ""
    for resource in resources or RESOURCES:
        try:
            result = sim._reader.list(resource)
        except NotFound:               # a kind this build does not serve
            continue
        objects[resource] = sorted(result.items, key=lambda o: (
            o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        rv = result.resource_version
    return Snapshot(
        step=sim.steps, time=sim.clock.monotonic(), now=sim.clock.now(),
        resource_version=rv, objects=objects,
        running={n: h.running_pods() for n, h in sorted(sim.handles.items())},
        node_states={n: h.ping(0) for n, h in sorted(sim.handles.items())},
        faults=frozenset(sim.faults.active()),
        components={c.name: c.state for c in sim._ordered})
