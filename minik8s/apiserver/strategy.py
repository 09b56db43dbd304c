"""REST strategies: what the server itself owns in an object, per kind.

In kube-apiserver each kind has a strategy (`PrepareForCreate`, `PrepareForUpdate`,
...) that decides which fields a client may set and which the server keeps: the
uid, creationTimestamp and deletion fields are the server's; `status` is written only
through the status subresource for kinds that have one (so `kubectl apply` can never
undo what a controller reported), and `metadata.generation` counts spec changes so
a controller can say which spec it has observed (`status.observedGeneration`).

Invariant: after prepare_*, the object differs from what the client sent only in
fields the server owns, and those are derived from `old`, the clock and the rng.
"""
from __future__ import annotations

from minik8s.api.meta import new_uid, rfc3339

# What a freshly created object's status is, for kinds whose status clients may not
# set at creation (controllers fill it in). Others (Node, Event, Lease...) keep theirs.
_INITIAL_STATUS = {
    "Deployment": lambda o: {},
    "ReplicaSet": lambda o: {"replicas": 0},
    "StatefulSet": lambda o: {"replicas": 0, "availableReplicas": 0},
    "DaemonSet": lambda o: {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                            "desiredNumberScheduled": 0, "numberReady": 0},
    "Job": lambda o: {},
    "CronJob": lambda o: {},
    "HorizontalPodAutoscaler": lambda o: {"currentReplicas": 0, "desiredReplicas": 0},
    "Ingress": lambda o: {"loadBalancer": {}},
    "Service": lambda o: {"loadBalancer": {}},
    "PersistentVolumeClaim": lambda o: {"phase": "Pending"},
    "PersistentVolume": lambda o: {"phase": "Pending"},
    "Namespace": lambda o: {"phase": "Active"},
    "Pod": lambda o: {"phase": "Pending", "qosClass": qos_class(o.get("spec") or {})},
}

def prepare_for_create(rt, obj: dict, clock, rng) -> None:
    meta = obj.setdefault("metadata", {})
    for f in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
        meta.pop(f, None)
    meta["uid"] = new_uid(rng)
    meta["creationTimestamp"] = rfc3339(clock.now())
    if rt.generation:
        meta["generation"] = 1
    else:
        meta.pop("generation", None)
    initial = _INITIAL_STATUS.get(rt.kind)
    if initial is not None:
        obj["status"] = initial(obj)


def prepare_for_update(rt, obj: dict, old: dict) -> None:
    """Keep what the server owns from `old`; drop status changes when status has its
    own subresource. (`generation` is counted after admission: bump_generation.)"""
    meta, old_meta = obj.setdefault("metadata", {}), old["metadata"]
    for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
        if f in old_meta:
            meta[f] = old_meta[f]
        else:
            meta.pop(f, None)
    if rt.has_status_subresource:
        if "status" in old:
            obj["status"] = old["status"]
        else:
            obj.pop("status", None)


def bump_generation(rt, obj: dict, old: dict) -> None:
    """Called after admission, so that defaults are filled in on both sides: a
    `kubectl replace` of the same, un-defaulted manifest is no spec change."""
    meta, old_meta = obj["metadata"], old["metadata"]
    # BEGIN LAB 02: generation — bump it when, and only when, the spec changed
    # Pitfall: labels, annotations and status changes must NOT bump it, or every
    # controller that writes status would look like a new spec to itself.
    if rt.generation:
        generation = old_meta.get("generation", 1)
        if obj.get("spec") != old.get("spec"):
            generation += 1
        meta["generation"] = generation
    else:
        meta.pop("generation", None)
    # END LAB 02


def prepare_for_status_update(rt, obj: dict, old: dict) -> dict:
    """A status write changes `status` only: everything else comes from `old`."""
    new = dict(old)
    new["status"] = obj.get("status", {})
    new["metadata"] = dict(old["metadata"])
    return new


def qos_class(spec: dict) -> str:
    """Guaranteed: every container has cpu and memory limits equal to its requests;
    BestEffort: no container has any request or limit; Burstable otherwise."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set, guaranteed = False, True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in lim or req.get(r, lim[r]) != lim[r]:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
