"""Deletion: preconditions, finalizers, graceful deletion and propagation policy.

A Kubernetes DELETE does not always remove the object. It removes it at once only
when nothing has to happen first; otherwise it marks the object — sets
`metadata.deletionTimestamp` — and the object stays, visible as Terminating, until:

- its `finalizers` are all removed by the controllers that own them (the garbage
  collector's `foregroundDeletion` / `orphan`, a namespace's `kubernetes`), or
- for a pod bound to a node, its kubelet has stopped the containers and deletes it
  again with grace period 0 (graceful deletion, `terminationGracePeriodSeconds`).

`propagationPolicy` says what happens to dependents (objects whose ownerReferences
name this one): Background (default) deletes the owner now and lets the garbage
collector delete dependents afterwards; Foreground adds the `foregroundDeletion`
finalizer so the owner stays until its blocking dependents are gone; Orphan adds the
`orphan` finalizer so the collector strips the ownerReferences instead. The API server
only records the choice; the garbage collector acts on it.

Invariant: an object with finalizers is never removed from the store.
"""
from __future__ import annotations

from minik8s.api import errors
from minik8s.api.meta import rfc3339

from .request import Request

FOREGROUND, ORPHAN = "foregroundDeletion", "orphan"
POLICIES = ("", "Background", "Foreground", "Orphan")
UNDELETABLE = ("default", "kube-system", "kube-public")


def delete(server, rt, namespace, name: str, req: Request) -> dict:
    """DELETE one object; returns it as it is afterwards (marked, or its last state)."""
    if req.propagation_policy not in POLICIES:
        raise errors.BadRequest(f'Unsupported propagationPolicy "{req.propagation_policy}": '
                                'supported values: "Background", "Foreground", "Orphan"')
    if rt.kind == "Namespace" and name in UNDELETABLE:
        raise errors.Forbidden(f'namespaces "{name}" is forbidden: this namespace may not '
                               "be deleted", kind="namespaces", name=name)
    with server._write_lock:
        obj = server.storage.get(rt, namespace, name)
        _check_preconditions(rt, obj, req.preconditions or {})
        meta = obj["metadata"]
        expected = int(meta["resourceVersion"])
        finalizers = list(meta.get("finalizers") or [])
        if req.propagation_policy == "Foreground" and FOREGROUND not in finalizers:
            finalizers.append(FOREGROUND)
        if req.propagation_policy == "Orphan" and ORPHAN not in finalizers:
            finalizers.append(ORPHAN)
        grace = _grace_period(rt, obj, req.grace_period_seconds)
        pending = finalizers or grace > 0 or _namespace_finalizers(rt, obj)
        if not pending:
            if req.dry_run:
                return obj
            return server.storage.delete(rt, namespace, name, expected)
        # Mark it. A second DELETE may only shorten a pod's grace period.
        already = meta.get("deletionTimestamp")
        old_grace = meta.get("deletionGracePeriodSeconds")
        if already and old_grace is not None and grace >= old_grace and \
                finalizers == list(meta.get("finalizers") or []):
            return obj
        marked = dict(obj, metadata=dict(meta))
        m = marked["metadata"]
        m["finalizers"] = finalizers
        if not finalizers:
            m.pop("finalizers")
        m["deletionTimestamp"] = rfc3339(server.clock.now() + grace)
        m["deletionGracePeriodSeconds"] = grace
        if rt.generation and not already:
            m["generation"] = meta.get("generation", 1) + 1
        if rt.kind == "Namespace":
            marked["status"] = dict(obj.get("status") or {}, phase="Terminating")
        if req.dry_run:
            return marked
        if ready_to_remove(marked):
            return server.storage.delete(rt, namespace, name, expected)
        return server.storage.update(rt, marked, expected)


# kube-apiserver answers a DELETE that removed the object with a `Status` of Success,
# except for the resources whose storage sets ReturnDeletedObject (these answer with the
# object's last state). A DELETE still pending (finalizers, a pod's grace period) always
# answers with the object as it now is: marked with deletionTimestamp.
RETURNS_DELETED_OBJECT = ("pods", "services", "serviceaccounts", "namespaces")


def response(rt, obj: dict) -> dict:
    """What a DELETE answers, over any transport (the in-process client too)."""
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp") or rt.plural in RETURNS_DELETED_OBJECT:
        return obj
    details = {"name": meta.get("name", ""), "kind": rt.plural, "uid": meta.get("uid", "")}
    if rt.group:
        details["group"] = rt.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}


def ready_to_remove(obj: dict) -> bool:
    """Marked for deletion, no finalizers left and no grace period running."""
    meta = obj["metadata"]
    if not meta.get("deletionTimestamp") or meta.get("finalizers"):
        return False
    if _namespace_finalizers(None, obj):
        return False
    return not meta.get("deletionGracePeriodSeconds")


def _namespace_finalizers(rt, obj: dict) -> bool:
    return obj.get("kind") == "Namespace" and bool((obj.get("spec") or {}).get("finalizers"))


def _grace_period(rt, obj: dict, requested) -> int:
    """Only pods are deleted gracefully, and only once a kubelet runs them: an
    unscheduled or finished pod has nothing to stop, so it goes at once."""
    if requested is not None and requested < 0:
        raise errors.invalid("DeleteOptions", "", [errors.Cause(
            "gracePeriodSeconds", "FieldValueInvalid",
            f"Invalid value: {requested}: must be greater than or equal to 0")])
    if rt.kind != "Pod":
        return 0
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return requested
    return int(spec.get("terminationGracePeriodSeconds", 30))


def _check_preconditions(rt, obj: dict, pre: dict) -> None:
    meta = obj["metadata"]
    if pre.get("uid") and pre["uid"] != meta.get("uid"):
        raise errors.conflict(rt.plural, meta["name"],
                              f"Precondition failed: UID in precondition: {pre['uid']}, "
                              f"UID in object meta: {meta.get('uid')}", rt.group)
    if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
        raise errors.conflict(rt.plural, meta["name"],
                              "Precondition failed: ResourceVersion in precondition: "
                              f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                              f"{meta.get('resourceVersion')}", rt.group)


def delete_collection(server, rt, req: Request, match) -> dict:
    """DELETE on a collection: every matching object, one by one, as kube-apiserver."""
    listed = server.storage.list(rt, req.namespace if rt.namespaced else None, match=match)
    deleted = []
    for obj in listed.items:
        try:
            deleted.append(delete(server, rt, obj["metadata"].get("namespace"),
                                  obj["metadata"]["name"], req))
        except errors.NotFound:
            pass
    return {"kind": rt.list_kind, "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(server.store.revision)}, "items": deleted}
