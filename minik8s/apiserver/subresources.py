"""Subresources: the narrow doors into an object.

Kubernetes exposes parts of some objects as their own REST endpoints, each with its
own permission, so a component can be allowed exactly what it needs:

  status    (most kinds)  controllers and kubelets report state; spec stays untouched
  scale     (deployments, replicasets, statefulsets)  an autoscaling/v1 `Scale` view
            of spec.replicas: what `kubectl scale` and the autoscaler use
  binding   (pods)        the scheduler's only write: sets spec.nodeName, once
  eviction  (pods)        a delete that respects disruption budgets (`kubectl drain`)
  finalize  (namespaces)  the namespace controller removes spec.finalizers
  log       (pods)        proxied to the node's kubelet
"""
from __future__ import annotations

import copy

from minik8s.api import errors
from minik8s.api.meta import rfc3339
from minik8s.api.patch import apply_patch
from minik8s.api.selectors import selector_from_dict

from . import deletion
from .request import Request


def handle(server, req: Request, rt):
    sub = req.subresource
    if sub not in rt.subresources:
        raise errors.NotFound(f'{rt.qualified} "{req.name}" has no subresource "{sub}"'
                              if req.name else f"the server could not find the requested "
                              f"resource ({rt.plural}/{sub})")
    ns = req.namespace if rt.namespaced else None
    fn = _HANDLERS.get((sub, req.verb))
    if fn is None:
        raise errors.MethodNotAllowed(f"{req.verb} is not supported on {rt.plural}/{sub}")
    return fn(server, req, rt, ns)


# --- status ------------------------------------------------------------------

def _get_status(server, req, rt, ns):
    return server.storage.get(rt, ns, req.name)


def _update_status(server, req, rt, ns):
    return server.update(rt, req.body, ns, req.name, dry_run=req.dry_run, _status=True)


def _patch_status(server, req, rt, ns):
    return server.patch(rt, req, ns, subresource="status")


# --- scale -------------------------------------------------------------------

def scale_of(rt, obj: dict) -> dict:
    m = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": m["name"], "namespace": m.get("namespace"), "uid": m["uid"],
                         "resourceVersion": m["resourceVersion"],
                         "creationTimestamp": m["creationTimestamp"]},
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": {"replicas": status.get("replicas", 0),
                       # the selector's plain string form, "" when empty, as Kubernetes
                       "selector": str(selector_from_dict(spec.get("selector") or {}))}}


def _get_scale(server, req, rt, ns):
    return scale_of(rt, server.storage.get(rt, ns, req.name))


def _write_scale(server, req, rt, ns, scale: dict, old: dict):
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise errors.invalid("Scale", req.name, [errors.Cause(
            "spec.replicas", "FieldValueRequired", "Required value")], "autoscaling")
    if replicas < 0:
        raise errors.invalid("Scale", req.name, [errors.Cause(
            "spec.replicas", "FieldValueInvalid",
            f"Invalid value: {replicas}: must be greater than or equal to 0")], "autoscaling")
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    if rv and rv != old["metadata"]["resourceVersion"]:
        raise errors.conflict(rt.plural, req.name, errors.STALE, rt.group)
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = replicas
    with server._write_lock:
        return scale_of(rt, server._store_update(rt, new, old, dry_run=req.dry_run))


def _update_scale(server, req, rt, ns):
    if not isinstance(req.body, dict):
        raise errors.BadRequest("the body of the request must be a Scale object")
    return _write_scale(server, req, rt, ns, req.body, server.storage.get(rt, ns, req.name))


def _patch_scale(server, req, rt, ns):
    old = server.storage.get(rt, ns, req.name)
    scale = apply_patch(scale_of(rt, old), req.body, req.patch_type or "merge", "Scale")
    return _write_scale(server, req, rt, ns, scale, old)


# --- binding -----------------------------------------------------------------

def _create_binding(server, req, rt, ns):
    """Bind a pod to a node: the one write the scheduler makes. A pod is bound at
    most once; binding again, or binding a pod being deleted, is a Conflict."""
    body = req.body or {}
    target = body.get("target") or {}
    node = target.get("name")
    if not node:
        raise errors.invalid("Binding", req.name, [errors.Cause(
            "target.name", "FieldValueRequired", "Required value")])
    with server._write_lock:
        pod = server.storage.get(rt, ns, req.name)
        meta = pod["metadata"]
        want_uid = (body.get("metadata") or {}).get("uid")
        if want_uid and want_uid != meta["uid"]:
            raise errors.conflict("pods", req.name, "Precondition failed: UID in "
                                  f"precondition: {want_uid}, UID in object meta: {meta['uid']}")
        if meta.get("deletionTimestamp"):
            raise errors.conflict("pods/binding", req.name,
                                  f"pod {req.name} is being deleted, cannot be assigned to a host")
        current = (pod.get("spec") or {}).get("nodeName")
        if current:
            raise errors.conflict("pods/binding", req.name,
                                  f'pod {req.name} is already assigned to node "{current}"')
        new = copy.deepcopy(pod)
        new["spec"]["nodeName"] = node
        status = new.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": _now(server)})
        status["conditions"] = conditions
        if not req.dry_run:
            server.storage.update(rt, new, int(meta["resourceVersion"]))
    return _success(req.name, "pods", 201)


# --- eviction ----------------------------------------------------------------

def _create_eviction(server, req, rt, ns):
    """An eviction is a delete with its DeleteOptions. (No PodDisruptionBudgets yet:
    every eviction is allowed.)"""
    options = (req.body or {}).get("deleteOptions") or {}
    del_req = Request("delete", "pods", namespace=ns, name=req.name,
                      grace_period_seconds=options.get("gracePeriodSeconds"),
                      propagation_policy=options.get("propagationPolicy", ""),
                      preconditions=options.get("preconditions"), dry_run=req.dry_run)
    deletion.delete(server, rt, ns, req.name, del_req)
    return _success(req.name, "pods", 201)


# --- finalize (namespaces) ---------------------------------------------------

def _update_finalize(server, req, rt, ns):
    body = req.body or {}
    with server._write_lock:
        old = server.storage.get(rt, None, req.name)
        new = copy.deepcopy(old)
        new.setdefault("spec", {})["finalizers"] = list((body.get("spec") or {}).get("finalizers") or [])
        if not new["spec"]["finalizers"]:
            new["spec"].pop("finalizers")
        return server._store_update(rt, new, old, dry_run=req.dry_run)


# --- log ---------------------------------------------------------------------

def _get_log(server, req, rt, ns):
    pod = server.storage.get(rt, ns, req.name)
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.BadRequest(f"pod {req.name} does not have a host assigned")
    if server.node_proxy is None:
        raise errors.ServiceUnavailable("no kubelet connection is configured for logs")
    return server.node_proxy(pod, "log", log_options(req.params))


def log_options(params: dict) -> dict:
    """PodLogOptions with their types, whichever transport sent them (HTTP sends every
    query value as a string; the in-process client sends Python values)."""
    def flag(k):
        return str(params.get(k, "")).lower() in ("true", "1")

    def number(k):
        v = params.get(k)
        if v is None or v == "":
            return None
        try:
            return int(v)
        except (TypeError, ValueError):
            raise errors.BadRequest(f'invalid {k}: "{v}"') from None
    return {"container": str(params.get("container") or ""), "follow": flag("follow"),
            "previous": flag("previous"), "timestamps": flag("timestamps"),
            "tailLines": number("tailLines"), "sinceSeconds": number("sinceSeconds"),
            "limitBytes": number("limitBytes")}


def _now(server) -> str:
    return rfc3339(server.clock.now())


def _success(name: str, kind: str, code: int) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "code": code, "details": {"name": name, "kind": kind}}


_HANDLERS = {
    ("status", "get"): _get_status,
    ("status", "update"): _update_status,
    ("status", "patch"): _patch_status,
    ("scale", "get"): _get_scale,
    ("scale", "update"): _update_scale,
    ("scale", "patch"): _patch_scale,
    ("binding", "create"): _create_binding,
    ("eviction", "create"): _create_eviction,
    ("finalize", "update"): _update_finalize,
    ("log", "get"): _get_log,
}
