"""What an invariant looks at: one snapshot of a cluster, and the pod facts it needs.

Kubernetes states its promises about the objects in the API (a pod's
ownerReferences, a node's allocatable, a Deployment's status) and, for a few, about
what really runs on the nodes. A `ClusterState` is exactly that, frozen at one
instant: every object by resource (plural), the wall time of the instant, what each
node's runtime really runs (its NodeHandle's `running_pods()`), which faults were
active, and — when a simulator can tell — the scheduler's own view of the nodes.

A state can be hand-built from plain dicts (`ClusterState.of([pod, node, ...])`), which
is how the unit tests and students show that an invariant reports a violating state,
or captured from a running simulator (`capture(sim)`, from `sim.state()`).

The pod helpers below (active, ready, available, requests, tolerates) are written
from the Kubernetes documentation, *not* imported from the controllers or the
scheduler: an invariant that reused the code it checks would agree with every bug.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

from minik8s.api.errors import NotFound
from minik8s.api.meta import get_path, parse_time
from minik8s.api.quantity import parse_quantity
from minik8s.api.registry import REGISTRY

@dataclass(frozen=True)
class ClusterState:
    objects: Mapping[str, tuple] = field(default_factory=dict)   # plural -> objects
    time: float = 0.0                                     # wall clock, epoch seconds
    running: Optional[Mapping[str, tuple]] = None         # node -> RunningPods (handles)
    faults: frozenset = frozenset()                       # active faults, e.g. "pod_monkey"
    scheduler_nodes: Optional[Mapping[str, dict]] = None  # the scheduler's cache of nodes
    step: int = 0

    @classmethod
    def of(cls, objects: Iterable[dict], **kw) -> "ClusterState":
        """A state from plain API objects, sorted into resources by apiVersion/kind."""
        by: dict = {}
        for obj in objects:
            by.setdefault(plural_of(obj), []).append(obj)
        return cls(objects={k: tuple(v) for k, v in by.items()}, **kw)

    def get(self, plural: str) -> tuple:
        return tuple(self.objects.get(plural) or ())

    @property
    def pods(self) -> tuple:
        return self.get("pods")

    @property
    def nodes(self) -> tuple:
        return self.get("nodes")

    def by_uid(self) -> dict:
        """uid -> object, over every resource (owner references point by uid)."""
        return {uid_of(o): o for objs in self.objects.values() for o in objs if uid_of(o)}

    def find(self, plural: str, namespace: Optional[str], name: str) -> Optional[dict]:
        for o in self.get(plural):
            m = o.get("metadata") or {}
            if m.get("name") == name and (m.get("namespace") or None) == (namespace or None):
                return o
        return None


def plural_of(obj: dict) -> str:
    try:
        return REGISTRY.for_object(obj).plural
    except NotFound:
        return (obj.get("kind") or "").lower() + "s"


def capture(sim, *, step: Optional[int] = None) -> ClusterState:
    """A ClusterState of a running simulator (minik8s.sim.SimCluster), read through
    its untraced reader (`sim.state()`): what liveness checks compare."""
    return from_snapshot(sim.state(), scheduler_nodes=scheduler_view(sim),
                         step=step)


def from_snapshot(snap, **kw) -> ClusterState:
    """The simulator's Snapshot (minik8s.sim.snapshot) as a ClusterState."""
    kw = {k: v for k, v in kw.items() if v is not None}
    kw.setdefault("step", snap.step)
    return ClusterState(objects={k: tuple(v) for k, v in snap.objects.items()},
                        time=snap.now, running={n: tuple(r) for n, r in snap.running.items()},
                        faults=frozenset(snap.faults), **kw)


def running_pods(sim) -> dict:
    """node name -> what its runtime really runs (NodeHandle.running_pods)."""
    return {name: tuple(h.running_pods()) for name, h in sorted(sim.handles.items())}


def scheduler_view(sim) -> Optional[dict]:
    """node name -> the Node object as the scheduler's cache holds it now, or None
    when there is no live scheduler to ask. Right after the scheduler's step this is
    what it decided on: it catches up with its watches first, then schedules."""
    comp = (getattr(sim, "components", None) or {}).get("scheduler")
    sched = getattr(comp, "obj", None)
    cache = getattr(sched, "cache", None)
    if cache is None or not hasattr(cache, "node_infos"):
        return None
    return {ni.node["metadata"]["name"]: ni.node for ni in cache.node_infos()
            if ni.node and (ni.node.get("metadata") or {}).get("name")}


# --- object facts ------------------------------------------------------------------------

def uid_of(obj: dict) -> str:
    return get_path(obj, "metadata", "uid") or ""


def ref_of(obj: dict) -> str:
    """`pods/default/web-abc` — how violations name objects."""
    m = obj.get("metadata") or {}
    ns = m.get("namespace")
    return f"{plural_of(obj)}/{ns}/{m.get('name')}" if ns else f"{plural_of(obj)}/{m.get('name')}"


def controller_refs(obj: dict) -> list:
    return [r for r in get_path(obj, "metadata", "ownerReferences") or [] if r.get("controller")]


def controller_uid(obj: dict) -> Optional[str]:
    refs = controller_refs(obj)
    return refs[0].get("uid") if refs else None


def is_terminating(obj: dict) -> bool:
    return bool(get_path(obj, "metadata", "deletionTimestamp"))


def is_active(pod: dict) -> bool:
    """Counts as a replica (controller_utils.IsPodActive): not Succeeded, not Failed,
    not being deleted."""
    return (get_path(pod, "status", "phase") not in ("Succeeded", "Failed")
            and not is_terminating(pod))


def is_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in get_path(pod, "status", "conditions") or [])


def is_available(pod: dict, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least minReadySeconds ("Deployments" docs: an available pod is
    ready without any of its containers crashing for at least minReadySeconds). Strict,
    as podutil.IsPodAvailable: lastTransitionTime + minReadySeconds < now."""
    if not is_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    cond = next(c for c in get_path(pod, "status", "conditions") if c.get("type") == "Ready")
    since = parse_time(cond.get("lastTransitionTime"))
    return since is not None and since + min_ready_seconds < now


def pod_requests(pod: dict) -> dict:
    """What a pod asks of its node ("Resource Management for Pods and Containers"):
    the sum over its containers, or the largest init container if that is more, plus
    the pod overhead; cpu in millicores, memory in bytes, and `pods`: 1."""
    spec = pod.get("spec") or {}

    def requests_of(c):
        return {k: parse_quantity(v)
                for k, v in (get_path(c, "resources", "requests") or {}).items()}
    total: dict = {}
    for c in spec.get("containers") or []:
        for k, v in requests_of(c).items():
            total[k] = total.get(k, 0) + v
    for c in spec.get("initContainers") or []:
        for k, v in requests_of(c).items():
            total[k] = max(total.get(k, 0), v)
    for k, v in (spec.get("overhead") or {}).items():
        total[k] = total.get(k, 0) + parse_quantity(v)
    out = {k: _amount(k, v) for k, v in total.items()}
    out["pods"] = 1
    return out


def node_allocatable(node: dict) -> dict:
    """status.allocatable (or capacity when not set), in the units of pod_requests."""
    status = node.get("status") or {}
    alloc = status.get("allocatable") or status.get("capacity") or {}
    return {k: _amount(k, parse_quantity(v)) for k, v in alloc.items()}


def _amount(resource: str, q) -> int:
    return math.ceil(q * 1000) if resource == "cpu" else math.ceil(q)


def tolerates(toleration: dict, taint: dict) -> bool:
    """"Taints and Tolerations": a toleration matches a taint when the keys and effects
    match (an empty key with operator Exists matches every key, an empty effect every
    effect) and, for operator Equal (the default), the values are equal."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key, op = toleration.get("key") or "", toleration.get("operator") or "Equal"
    if not key:
        return op == "Exists"
    if key != taint.get("key"):
        return False
    if op == "Exists":
        return True
    return (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taints(pod: dict, node: dict, effects=("NoSchedule", "NoExecute")) -> list:
    """The node's taints with one of `effects` that none of the pod's tolerations match."""
    tolerations = get_path(pod, "spec", "tolerations") or []
    return [t for t in get_path(node, "spec", "taints") or []
            if t.get("effect") in effects and not any(tolerates(tl, t) for tl in tolerations)]
