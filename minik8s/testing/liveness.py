"""Liveness invariants: what must hold once faults stop and the cluster settles.

Kubernetes makes no promise about *when* — controllers are eventually consistent —
but it promises *what* a quiet cluster converges to: every ReplicaSet runs exactly
its replicas, every Deployment finishes its rollout, garbage collection leaves no
dependent without its owner, a Service's endpoints are its ready pods, nodes run
what the API says, and once all that holds the writing stops (only heartbeats go
on). The simulator turns "eventually" into "within a bounded number of steps after
the last fault stopped" (Checker.check_liveness); these functions judge the state it
reached. Each returns a list of Violations, empty when the promise holds.
"""
from __future__ import annotations

from minik8s.api.errors import APIError, NotFound
from minik8s.api.meta import get_path, key_of
from minik8s.api.registry import REGISTRY
from minik8s.api.selectors import selector_from_dict, selector_from_set

from .invariants import Violation
from .rollout import replicas_of
from .state import (ClusterState, controller_uid, is_active, is_available, is_ready,
                    is_terminating, ref_of, uid_of)

POD_TEMPLATE_HASH = "pod-template-hash"


def _selector(obj: dict):
    try:
        return selector_from_dict(get_path(obj, "spec", "selector"))
    except APIError:
        return None


def _labels(obj: dict) -> dict:
    return get_path(obj, "metadata", "labels") or {}


def _status(obj: dict, field: str) -> int:
    return get_path(obj, "status", field) or 0       # the API omits zero counts


def check_replicasets_stable(state: ClusterState) -> list:
    """Every ReplicaSet runs exactly `spec.replicas` pods and says so.

    Kubernetes: "ReplicaSet" — "A ReplicaSet's purpose is to maintain a stable set of
    replica Pods running at any given time": the live (active) pods it controls that
    match its selector number `spec.replicas`; it adopts matching orphans and releases
    pods that stopped matching; its status counts them (replicas, readyReplicas,
    availableReplicas) for the generation it observed. Holds: after faults stop, once
    the cluster settled; ReplicaSets being deleted are skipped.
    """
    out = []
    for rs in state.get("replicasets"):
        if is_terminating(rs):
            continue
        name, ns, uid = ref_of(rs), rs["metadata"].get("namespace"), uid_of(rs)
        sel = _selector(rs)
        if sel is None or sel.empty:
            continue
        owned = [p for p in state.pods if controller_uid(p) == uid and is_active(p)]
        matching = [p for p in owned if sel.matches(_labels(p))]
        want = replicas_of(rs)
        if len(matching) != want:
            out.append(Violation("replicasets_stable", f"{name}: {len(matching)} live pods, "
                                 f"spec.replicas is {want}", [name]))
        for p in owned:
            if p not in matching:
                out.append(Violation("replicasets_stable", f"{name} still controls "
                                     f"{ref_of(p)}, whose labels no longer match",
                                     [name, ref_of(p)]))
        for p in state.pods:
            if (p["metadata"].get("namespace") == ns and is_active(p)
                    and controller_uid(p) is None and sel.matches(_labels(p))):
                out.append(Violation("replicasets_stable", f"{name} did not adopt the matching "
                                     f"orphan {ref_of(p)}", [name, ref_of(p)]))
        min_ready = get_path(rs, "spec", "minReadySeconds") or 0
        expected = {"replicas": len(matching),
                    "readyReplicas": sum(1 for p in matching if is_ready(p)),
                    "availableReplicas": sum(1 for p in matching
                                             if is_available(p, min_ready, state.time))}
        wrong = [f"{k} {_status(rs, k)} (should be {v})" for k, v in expected.items()
                 if _status(rs, k) != v]
        if _status(rs, "observedGeneration") < (get_path(rs, "metadata", "generation") or 0):
            wrong.append(f"observedGeneration {_status(rs, 'observedGeneration')} < generation "
                         f"{get_path(rs, 'metadata', 'generation')}")
        if wrong:
            out.append(Violation("replicasets_stable", f"{name} status: " + ", ".join(wrong),
                                 [name]))
    return out


def _normalized_template(template) -> object:
    """A pod template without the pod-template-hash label and without empty values
    (EqualIgnoreHash: null, {} and [] mean the same)."""
    def clean(v):
        if isinstance(v, dict):
            c = {k: clean(x) for k, x in v.items()}
            return {k: x for k, x in c.items() if x not in (None, {}, [], "")}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v
    t = clean(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if labels and POD_TEMPLATE_HASH in labels:
        labels = {k: v for k, v in labels.items() if k != POD_TEMPLATE_HASH}
        t["metadata"] = dict(t["metadata"], labels=labels) if labels else \
            {k: v for k, v in t["metadata"].items() if k != "labels"}
        if not t["metadata"]:
            del t["metadata"]
    return t


def check_deployments_complete(state: ClusterState, require_available: bool = True) -> list:
    """Every Deployment finished its rollout.

    Kubernetes: "Deployments" — Complete Deployment: "all of the replicas associated
    with the Deployment have been updated to the latest version you've specified
    ... all of the replicas associated with the Deployment are available. No old
    replicas for the Deployment are running", shown as observedGeneration ==
    generation, updatedReplicas == replicas == availableReplicas, Available=True
    and Progressing with reason NewReplicaSetAvailable. So exactly one of its
    ReplicaSets has the Deployment's template (ignoring pod-template-hash) and
    `replicas`, the others 0. Holds: after faults stop and the cluster settled, when
    the nodes can run every pod (`require_available=False` skips the availability
    parts); paused and terminating Deployments are skipped.
    """
    out = []
    for d in state.get("deployments"):
        if is_terminating(d) or get_path(d, "spec", "paused"):
            continue
        name, uid, want = ref_of(d), uid_of(d), replicas_of(d)
        wrong = []
        if _status(d, "observedGeneration") < (get_path(d, "metadata", "generation") or 0):
            wrong.append("observedGeneration < generation")
        rss = [rs for rs in state.get("replicasets") if controller_uid(rs) == uid
               and not is_terminating(rs)]
        template = _normalized_template(get_path(d, "spec", "template"))
        new = [rs for rs in rss
               if _normalized_template(get_path(rs, "spec", "template")) == template]
        if len(new) != 1:
            wrong.append(f"{len(new)} ReplicaSets with the current template")
        elif replicas_of(new[0]) != want:
            wrong.append(f"new ReplicaSet {new[0]['metadata']['name']} has "
                         f"{replicas_of(new[0])} replicas")
        for rs in rss:
            if rs not in new and replicas_of(rs) != 0:
                wrong.append(f"old ReplicaSet {rs['metadata']['name']} still has "
                             f"{replicas_of(rs)} replicas")
        fields = ["replicas", "updatedReplicas"] + (
            ["readyReplicas", "availableReplicas"] if require_available else [])
        wrong += [f"status.{f} {_status(d, f)} != {want}" for f in fields if _status(d, f) != want]
        if require_available:
            conds = {c.get("type"): c for c in get_path(d, "status", "conditions") or []}
            if (conds.get("Available") or {}).get("status") != "True":
                wrong.append("condition Available is not True")
            progressing = conds.get("Progressing")
            if progressing is not None and progressing.get("reason") != "NewReplicaSetAvailable":
                wrong.append(f"condition Progressing is {progressing.get('reason')}")
        if wrong:
            out.append(Violation("deployments_complete", f"{name}: " + "; ".join(wrong), [name]))
    return out


def check_no_dangling_dependents(state: ClusterState) -> list:
    """Garbage collection leaves no dependent whose owner is gone.

    Kubernetes: "Garbage Collection" (concepts/architecture/garbage-collection):
    "dependents ... are deleted when their owners are deleted" (background or
    foreground cascading deletion), or orphaned — their ownerReferences removed — when
    the owner was deleted with propagationPolicy Orphan; an ownerReference naming an
    owner that no longer exists (by uid) is dangling and the collector resolves it.
    Holds: after faults stop, once the garbage collector caught up. Owner kinds the
    state does not list at all are not judged.
    """
    uids = set(state.by_uid())
    listed = set(state.objects)
    out = []
    for plural in sorted(state.objects):
        for obj in state.get(plural):
            for ref in get_path(obj, "metadata", "ownerReferences") or []:
                try:
                    owner_plural = REGISTRY.for_object({"apiVersion": ref.get("apiVersion"),
                                                        "kind": ref.get("kind")}).plural
                except NotFound:
                    continue
                if owner_plural in listed and ref.get("uid") not in uids:
                    out.append(Violation(
                        "no_dangling_dependents",
                        f"{ref_of(obj)} is owned by {ref.get('kind')}/{ref.get('name')} "
                        f"(uid {str(ref.get('uid'))[:8]}), which no longer exists", [ref_of(obj)]))
    return out


def _addresses(endpoints: dict, field: str) -> set:
    return {get_path(a, "targetRef", "uid") or a.get("ip")
            for s in endpoints.get("subsets") or [] for a in s.get(field) or []}


def check_endpoints_match(state: ClusterState) -> list:
    """A Service's endpoints are its ready matching pods.

    Kubernetes: "Service" — "the controller for the Service selector continuously
    scans for Pods that match its selector, and then makes any necessary updates to
    the set of EndpointSlices (Endpoints) for the Service"; ready pods are
    `addresses`, not-ready ones `notReadyAddresses`. Pods without an IP yet are not
    endpoints. Holds: after faults stop and the cluster settled; Services without a
    selector (their endpoints are managed by hand) are skipped.
    """
    out = []
    for svc in state.get("services"):
        selector = get_path(svc, "spec", "selector")
        if not selector:
            continue
        ns, name = svc["metadata"].get("namespace"), svc["metadata"]["name"]
        sel = selector_from_set(selector)
        pods = [p for p in state.pods if p["metadata"].get("namespace") == ns and is_active(p)
                and get_path(p, "status", "podIP") and sel.matches(_labels(p))]
        ready = {uid_of(p) for p in pods if is_ready(p)}
        not_ready = {uid_of(p) for p in pods if not is_ready(p)}
        ep = state.find("endpoints", ns, name) or {}
        got_ready, got_not = _addresses(ep, "addresses"), _addresses(ep, "notReadyAddresses")
        if (got_ready, got_not) != (ready, not_ready):
            out.append(Violation("endpoints_match", f"endpoints {ns}/{name}: {len(got_ready)} "
                                 f"ready / {len(got_not)} not ready addresses, the service "
                                 f"selects {len(ready)} ready / {len(not_ready)} not ready pods",
                                 [ref_of(svc)]))
    return out


def check_nodes_run_what_api_says(state: ClusterState) -> list:
    """Nodes run exactly the pods the API says run there.

    Kubernetes: the kubelet "ensures that the containers described in those PodSpecs
    are running and healthy" ("kubelet" reference) and kills what the API no longer
    binds to it; a pod reported Running on a Ready node really runs. Holds: after
    faults stop and the cluster settled; only nodes whose handle answers and whose
    Node is Ready are judged.
    """
    if state.running is None:
        return []
    ready_nodes = {n["metadata"]["name"] for n in state.nodes
                   if any(c.get("type") == "Ready" and c.get("status") == "True"
                          for c in get_path(n, "status", "conditions") or [])}
    out = []
    for node, running in sorted(state.running.items()):
        if node not in ready_nodes:
            continue
        bound = {uid_of(p): p for p in state.pods if get_path(p, "spec", "nodeName") == node}
        runs = {rp.uid for rp in running}
        for rp in running:
            if rp.uid not in bound:
                out.append(Violation("nodes_run_what_api_says", f"node {node} still runs "
                                     f"{rp.namespace}/{rp.name}, which the API does not bind "
                                     "there", [f"nodes/{node}"]))
        for uid, p in sorted(bound.items()):
            if get_path(p, "status", "phase") == "Running" and not is_terminating(p) \
                    and uid not in runs:
                out.append(Violation("nodes_run_what_api_says", f"{ref_of(p)} is Running in the "
                                     f"API but node {node} does not run it", [ref_of(p)]))
    return out


LIVENESS_CHECKS = {
    "replicasets_stable": check_replicasets_stable,
    "deployments_complete": check_deployments_complete,
    "no_dangling_dependents": check_no_dangling_dependents,
    "endpoints_match": check_endpoints_match,
    "nodes_run_what_api_says": check_nodes_run_what_api_says,
}


def check_converged(state: ClusterState, skip: tuple = ()) -> list:
    """Every liveness promise above, on one settled state."""
    out = []
    for name, check in LIVENESS_CHECKS.items():
        if name not in skip:
            out.extend(check(state))
    return out


# --- writes stop ----------------------------------------------------------------------

HEARTBEAT_FIELDS = {
    # Node heartbeats: the kubelet re-posts its conditions' lastHeartbeatTime.
    "nodes": lambda o: _without_condition_field(o, "lastHeartbeatTime"),
    # Events are aggregated: a repeat only bumps count / lastTimestamp / series.
    "events": lambda o: {k: v for k, v in o.items()
                         if k not in ("count", "lastTimestamp", "eventTime", "series")},
}


def _without_condition_field(node: dict, field: str) -> dict:
    status = dict(node.get("status") or {})
    status["conditions"] = [{k: v for k, v in c.items() if k != field}
                            for c in status.get("conditions") or []]
    return dict(node, status=status)


def _comparable(plural: str, obj: dict) -> dict:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items()
            if k not in ("resourceVersion", "managedFields")}
    obj = dict(obj, metadata=meta)
    strip = HEARTBEAT_FIELDS.get(plural)
    return strip(obj) if strip else obj


def check_writes_stop(before: ClusterState, after: ClusterState) -> list:
    """Once converged, writes stop — Leases, Node heartbeats and Event counts excepted.

    Kubernetes: controllers are level-triggered and write only to close a gap between
    spec and status ("Controllers": "the controller ... makes changes to bring the
    current state closer to the desired state"); a converged cluster has no gap, so
    the only writes left are heartbeats — the kubelet's Lease and Node status, leader
    election Leases — and repeats of Events that were already recorded (a count goes
    up). A controller that keeps rewriting the same status (a hot loop) or
    re-creating objects breaks this. Holds: between two states of a converged
    cluster with no fault and no user action in between.
    """
    out = []
    for plural in sorted(set(before.objects) | set(after.objects)):
        if plural == "leases":
            continue
        old = {key_of(o): o for o in before.get(plural)}
        new = {key_of(o): o for o in after.get(plural)}
        for key in sorted(set(old) | set(new)):
            a, b = old.get(key), new.get(key)
            if a is not None and b is not None:
                if get_path(a, "metadata", "resourceVersion") == \
                        get_path(b, "metadata", "resourceVersion"):
                    continue
                if plural in HEARTBEAT_FIELDS and \
                        _comparable(plural, a) == _comparable(plural, b):
                    continue        # rewritten, but only in heartbeat fields
            what = "created" if a is None else "deleted" if b is None else "changed"
            out.append(Violation("writes_stop", f"{plural}/{key} was {what} after the cluster "
                                 "had converged", [f"{plural}/{key}"]))
    return out
