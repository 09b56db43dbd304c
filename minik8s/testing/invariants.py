"""Safety invariants: what Kubernetes promises about every state, checked on one state.

Each `check_*` function takes a `ClusterState` (minik8s.testing.state) and returns a
list of `Violation`s — empty when the promise holds. They are pure: a test builds a
state from plain dicts and calls one, or the `Checker` (checker.py) calls them after
every simulator step. Each docstring says what Kubernetes promises, where that promise
is written down, and under which conditions it holds (an invariant checked outside
its conditions reports "violations" Kubernetes never promised to avoid).

The promises about *histories* — a pod is bound once, watch order, no lost update,
finalizers — need more than one state and live in history.py; the rolling-update
bounds need to know when a rollout started from a fully available state and live in
rollout.py; the liveness promises (what must hold once faults stop) in liveness.py.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from minik8s.api.meta import get_path

from .state import ClusterState, controller_refs, node_allocatable, pod_requests, ref_of


@dataclass(frozen=True)
class Violation:
    invariant: str                 # e.g. "no_overcommit"
    message: str                   # what is wrong, in the words of the promise
    objects: list = field(default_factory=list)   # refs: "pods/default/web-x", "nodes/n1"

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.message}"


def check_at_most_one_controller_owner(state: ClusterState) -> list:
    """A pod (any object) has at most one controller owner.

    Kubernetes: "Owners and Dependents" (concepts/overview/working-with-objects/owners-
    dependents): a dependent may have several owners but only one may be its
    *controller*; the API enforces it (apimachinery ValidateOwnerReferences: "Only one
    reference can have Controller set to true"), and controllers only adopt orphans
    (ClaimPods/ControllerRefManager), so two controllers never fight over one pod.
    Holds: always.
    """
    out = []
    for plural in sorted(state.objects):
        for obj in state.get(plural):
            refs = controller_refs(obj)
            if len(refs) > 1:
                owners = ", ".join(f"{r.get('kind')}/{r.get('name')}" for r in refs)
                out.append(Violation("at_most_one_controller_owner",
                                     f"{ref_of(obj)} has {len(refs)} controller owners: {owners}",
                                     [ref_of(obj)]))
    return out


def check_no_overcommit(state: ClusterState) -> list:
    """No node's allocatable is exceeded by the requests of the pods bound to it.

    Kubernetes: "Resource Management for Pods and Containers" — "the scheduler ensures
    that, for each resource type, the sum of the resource requests of the scheduled
    containers is less than the capacity of the node" (NodeResourcesFit, and the
    kubelet's admission re-checks it). Pods that finished (Succeeded/Failed) hold
    nothing; pods being deleted still do until they are gone. Counted: cpu, memory and
    the `pods` count, against status.allocatable. Holds: always — also under faults,
    since the scheduler's cache assumes its own bindings and never frees a pod's
    resources before it saw the pod end.
    """
    by_node = defaultdict(list)
    for pod in state.pods:
        node = get_path(pod, "spec", "nodeName")
        if node and get_path(pod, "status", "phase") not in ("Succeeded", "Failed"):
            by_node[node].append(pod)
    out = []
    for node in state.nodes:
        name = node["metadata"]["name"]
        pods = by_node.get(name) or []
        alloc = node_allocatable(node)
        used: dict = defaultdict(int)
        for pod in pods:
            for k, v in pod_requests(pod).items():
                used[k] += v
        for resource in sorted(used):
            if resource in alloc and used[resource] > alloc[resource]:
                out.append(Violation(
                    "no_overcommit",
                    f"node {name}: pods request {used[resource]}{_unit(resource)} of "
                    f"{resource}, allocatable is {alloc[resource]}",
                    [f"nodes/{name}"] + sorted(ref_of(p) for p in pods)))
    return out


def _unit(resource: str) -> str:
    return {"cpu": " millicores", "memory": " bytes"}.get(resource, "")


def check_statefulset_ordinals_unique(state: ClusterState) -> list:
    """A StatefulSet's pods have unique ordinals: at most one live pod `<set>-<i>` per i.

    Kubernetes: "StatefulSets" — Pod Identity: "each Pod in a StatefulSet will be
    assigned an integer ordinal, that is unique over the Set", and the controller
    never creates a pod for an ordinal before its predecessor with that ordinal is
    gone ("at most one" semantics, the StatefulSet's safety guarantee). Pod names make
    two *objects* impossible; what can break is two *running* copies: a pod deleted
    from the API while its containers still run on an unreachable node, replaced by a
    new one elsewhere. So ordinals are counted over the API's pods *and* the nodes'
    running pods. Holds: always (skipped when there are no StatefulSets).
    """
    sets = state.get("statefulsets")
    if not sets:
        return []
    out = []
    for ss in sets:
        ns, name, uid = (ss["metadata"].get("namespace"), ss["metadata"]["name"],
                         ss["metadata"].get("uid"))
        pattern = re.compile(re.escape(name) + r"-(\d+)$")
        holders = defaultdict(set)          # ordinal -> pod uids (API and nodes)
        for pod in state.pods:
            m = pattern.match(pod["metadata"]["name"])
            if (m and pod["metadata"].get("namespace") == ns
                    and any(r.get("uid") == uid for r in controller_refs(pod))
                    and get_path(pod, "status", "phase") not in ("Succeeded", "Failed")):
                holders[int(m.group(1))].add(pod["metadata"].get("uid"))
        for node, running in sorted((state.running or {}).items()):
            for rp in running:
                m = pattern.match(rp.name)
                if m and rp.namespace == ns:
                    holders[int(m.group(1))].add(rp.uid)
        for ordinal, uids in sorted(holders.items()):
            if len(uids) > 1:
                out.append(Violation("statefulset_ordinals_unique",
                                     f"statefulset {ns}/{name}: ordinal {ordinal} is held by "
                                     f"{len(uids)} pods", [ref_of(ss)]))
    return out


def check_running_pods_known(state: ClusterState) -> list:
    """A node runs no pod that the API binds to another node.

    Kubernetes: the kubelet runs only the pods the API server assigns to its node
    (`spec.nodeName`, "Pod Lifecycle"), and a pod is bound once, so the same pod (uid)
    never runs on a node it is not bound to. Pods whose object was removed may still
    run for a while (the kubelet cleans them up on its next sync; a dead or partitioned
    node never does), so those are left to the liveness check
    `check_nodes_run_what_api_says`. Holds: always.
    """
    bound = {p["metadata"].get("uid"): get_path(p, "spec", "nodeName") for p in state.pods}
    out = []
    for node, running in sorted((state.running or {}).items()):
        for rp in running:
            elsewhere = bound.get(rp.uid)
            if elsewhere and elsewhere != node:
                out.append(Violation("running_pods_known",
                                     f"node {node} runs {rp.namespace}/{rp.name}, which the "
                                     f"API binds to {elsewhere}",
                                     [f"pods/{rp.namespace}/{rp.name}", f"nodes/{node}"]))
    return out


def check_spec_kept(state: ClusterState, expected: dict) -> list:
    """A spec says what its user last wrote: no controller overwrites it.

    Kubernetes: API conventions, "Spec and Status" — the spec is the desired state,
    written by the object's clients; controllers write status (a Deployment's or
    ReplicaSet's controller never changes its spec). And "Concurrency Control and
    Consistency": every update carries the resourceVersion (and uid) it was based
    on, so a component holding an older copy — a stale cache, or an object deleted
    and re-created under the same name — gets 409 Conflict instead of silently
    writing the old spec back over the user's newer one. `expected` maps
    (plural, namespace, name) to {field path (a tuple): value} for the fields the
    test wrote; objects that are gone are not judged. Holds: always.
    """
    out = []
    for (plural, ns, name), fields in sorted(expected.items()):
        obj = state.find(plural, ns, name)
        if obj is None:
            continue
        for path, want in sorted(fields.items(), key=lambda kv: str(kv[0])):
            got = get_path(obj, *path)
            if got != want:
                where = ".".join(str(p) for p in path)
                out.append(Violation("spec_kept", f"{ref_of(obj)}: {where} is {got!r}, but "
                                     f"the user last wrote {want!r} (a lost update)",
                                     [ref_of(obj)]))
    return out


# The checks on one state the Checker runs after every step, by name.
STATE_CHECKS = {
    "at_most_one_controller_owner": check_at_most_one_controller_owner,
    "no_overcommit": check_no_overcommit,
    "statefulset_ordinals_unique": check_statefulset_ordinals_unique,
    "running_pods_known": check_running_pods_known,
}
