"""Namespace controller: empties a deleted namespace, then lets it go.

In Kubernetes `kubectl delete namespace x` only marks the namespace: the API server
sets deletionTimestamp and phase Terminating, and the namespace keeps the `kubernetes`
finalizer in `spec.finalizers` (admission already refuses new objects in it). The
namespace controller then deletes everything inside — every namespaced resource the
server offers, with propagationPolicy Background — lists again to see what is left,
reports progress in the namespace's status conditions (NamespaceContentRemaining:
"Some resources are remaining: pods. has 2 resource instances", ...), waits (pods take
their grace period; finalizers take their controllers' time) and, once the namespace is
empty, removes `kubernetes` from spec.finalizers through the `namespaces/<name>/finalize`
subresource. With no finalizer left the API server removes the namespace.

This version does the same with plain list + delete calls per resource (Kubernetes
first tries DeleteCollection), over the kinds of minik8s.api.registry. It reads the
namespace and its content live, not from an informer: finalizing a namespace on a stale
cache could leave an object behind in a namespace that no longer exists. As in
Kubernetes, work starts `deletion_grace_period` (5 s) after the namespace is marked
(time for other API servers to see the mark), waits `estimate` seconds for terminating
pods, and retries failures with a backoff capped at 60 s. Left out: deleting pods before
everything else (the newer OrderedNamespaceDeletion feature).

Invariant: the `kubernetes` finalizer is removed only after a live list of every
namespaced resource came back empty.
"""
from __future__ import annotations

import logging
from typing import Optional

from ..api.errors import APIError, Conflict, MethodNotAllowed, NotFound
from ..api.meta import deepcopy, get_path, name_of, parse_time, rfc3339
from ..api.registry import REGISTRY
from ..client.workqueue import ItemExponentialFailureRateLimiter
from .base import Controller, Retry

log = logging.getLogger(__name__)

FINALIZER = "kubernetes"
FINALIZER_ESTIMATE = 15          # seconds to allow content with finalizers to finish
# The conditions the deleter maintains, and what each says when all is well.
CONDITIONS = {
    "NamespaceDeletionDiscoveryFailure": ("ResourcesDiscovered",
                                          "All resources successfully discovered"),
    "NamespaceDeletionGroupVersionParsingFailure": ("ParsedGroupVersions",
                                                    "All legacy kube types successfully parsed"),
    "NamespaceDeletionContentFailure": ("ContentDeleted", "All content successfully deleted, "
                                        "may be waiting on finalization"),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("ContentHasNoFinalizers",
                                     "All content-preserving finalizers finished"),
}


def namespaced_types() -> list:
    """What the controller empties: every namespaced kind that can be listed and deleted."""
    return [rt for rt in REGISTRY.all() if rt.namespaced and {"list", "delete"} <= set(rt.verbs)]


def finalize(client, namespace: dict) -> dict:
    """PUT namespaces/<name>/finalize (recorded and fault-injectable like any call)."""
    return client.finalize(namespace)


def deletion_conditions(old: list, failures: list, remaining: dict, finalizers: dict,
                        now: str) -> list:
    """The namespace's conditions after one pass (namespaceConditionUpdater): each
    deleter condition True with what went wrong, or False with its all-is-well text;
    lastTransitionTime changes only with the status. Other conditions are kept."""
    bad = {}
    if failures:
        bad["NamespaceDeletionContentFailure"] = (
            "ContentDeletionFailed",
            f"Failed to delete all resource types, {len(failures)} remaining: "
            + ", ".join(sorted(failures)))
    if remaining:
        bad["NamespaceContentRemaining"] = ("SomeResourcesRemain", "Some resources are remaining: "
                                            + ", ".join(sorted(f"{r} has {n} resource instances"
                                                               for r, n in remaining.items())))
    if finalizers:
        bad["NamespaceFinalizersRemaining"] = (
            "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: "
            + ", ".join(sorted(f"{f} in {n} resource instances" for f, n in finalizers.items())))
    out = [dict(c) for c in old]
    for ctype, (ok_reason, ok_message) in CONDITIONS.items():
        status, (reason, message) = ("True", bad[ctype]) if ctype in bad else \
            ("False", (ok_reason, ok_message))
        current = next((c for c in out if c.get("type") == ctype), None)
        if current is None:
            out.append({"type": ctype, "status": status, "lastTransitionTime": now,
                        "reason": reason, "message": message})
        elif (current.get("status"), current.get("reason"), current.get("message")) != \
                (status, reason, message):
            if current.get("status") != status:
                current["lastTransitionTime"] = now
            current.update(status=status, reason=reason, message=message)
    return out


class NamespaceController(Controller):
    name = "namespace"

    def __init__(self, client, clock, *, informers=None, recorder=None, rng=None,
                 deletion_grace_period: float = 5.0):
        self.deletion_grace_period = deletion_grace_period
        super().__init__(client, clock, informers=informers, recorder=recorder, rng=rng)
        # nsControllerRateLimiter: look again at least every minute, never less often.
        self.queue.rate_limiter = ItemExponentialFailureRateLimiter(0.005, 60.0)

    def setup(self) -> None:
        self.namespaces = self.informer("namespaces")
        self.namespaces.add_handler(on_add=self._enqueue,
                                    on_update=lambda _old, new: self._enqueue(new))

    def _enqueue(self, namespace: dict) -> None:
        if get_path(namespace, "metadata", "deletionTimestamp"):
            self.queue.add_after(name_of(namespace), self.deletion_grace_period)

    # --- reconcile ---------------------------------------------------------------------
    def reconcile(self, name: str) -> Optional[float]:
        try:
            ns = self.client.get("namespaces", name)
        except NotFound:
            return None
        if not get_path(ns, "metadata", "deletionTimestamp"):
            return None
        if get_path(ns, "status", "phase") != "Terminating":
            ns = self.client.update_status(dict(ns, status=dict(ns.get("status") or {},
                                                                phase="Terminating")))
        if FINALIZER not in (get_path(ns, "spec", "finalizers") or []):
            return None                        # finalized already: the server removes it
        estimate = self.delete_all_content(ns)
        if estimate > 0:
            return float(estimate)             # ResourcesRemainingError: look again then
        self.finalize(ns)
        return None

    def delete_all_content(self, ns: dict) -> int:
        """Delete everything in the namespace; return seconds to wait for what is still
        going away (0 = empty). Raises Retry when something could not be deleted."""
        name = name_of(ns)
        deleted_at = parse_time(ns["metadata"]["deletionTimestamp"]) or self.clock.now()
        estimate, failures, remaining, stuck = 0, [], {}, {}
        for rt in namespaced_types():
            try:
                wait, left, fins = self.delete_resource(rt, name, deleted_at)
            except APIError as e:
                failures.append(str(e))
                continue
            estimate = max(estimate, wait)
            if left:
                remaining[f"{rt.plural}.{rt.group}"] = left    # "pods." for the core group
                for f, n in fins.items():
                    stuck[f] = stuck.get(f, 0) + n
                if not wait and not fins:
                    failures.append(f"unexpected items still remain in namespace: {name} "
                                    f"for gvr: {rt.group}/{rt.version}, Resource={rt.plural}")
        self._write_conditions(ns, failures, remaining, stuck)
        if failures:
            raise Retry("; ".join(failures))
        return estimate

    def delete_resource(self, rt, namespace: str, deleted_at: float) -> tuple:
        """(seconds to wait, how many are left, finalizer -> count) for one resource."""
        try:
            items = self.client.list(rt.plural, namespace).items
        except (NotFound, MethodNotAllowed):
            return 0, 0, {}
        wait = self.estimate_graceful_termination(rt, items, deleted_at)
        for item in items:
            try:
                self.client.delete(rt.plural, item["metadata"]["name"], namespace,
                                   propagation_policy="Background")
            except (NotFound, MethodNotAllowed):
                pass
        left = self.client.list(rt.plural, namespace).items
        if not left:
            return 0, 0, {}
        fins: dict = {}
        for item in left:
            for f in get_path(item, "metadata", "finalizers") or []:
                fins[f] = fins.get(f, 0) + 1
        if not wait and fins:
            wait = FINALIZER_ESTIMATE
        return wait, len(left), fins

    def estimate_graceful_termination(self, rt, items: list, deleted_at: float) -> int:
        """Pods: the longest terminationGracePeriodSeconds of a pod not yet finished,
        0 once that long has passed since the namespace was deleted."""
        if rt.plural != "pods" or rt.group:
            return 0
        estimate = max((int(get_path(p, "spec", "terminationGracePeriodSeconds", default=30))
                        for p in items if get_path(p, "status", "phase")
                        not in ("Succeeded", "Failed")), default=0)
        return 0 if self.clock.now() - deleted_at >= estimate else estimate

    def _write_conditions(self, ns: dict, failures, remaining, stuck) -> None:
        old = get_path(ns, "status", "conditions") or []
        new = deletion_conditions(old, failures, remaining, stuck, rfc3339(self.clock.now()))
        if new == old:
            return
        changed = deepcopy(ns)
        changed.setdefault("status", {})["conditions"] = new
        try:
            ns.update(self.client.update_status(changed))
        except APIError as e:                  # as Kubernetes: log it, carry on
            log.info("namespace %s: could not update conditions: %s", name_of(ns), e)

    def finalize(self, ns: dict) -> None:
        """Remove our finalizer through namespaces/<name>/finalize (retry on conflict)."""
        for _ in range(3):
            body = deepcopy(ns)
            body["spec"]["finalizers"] = sorted(set(body["spec"]["finalizers"]) - {FINALIZER})
            try:
                finalize(self.client, body)
                return
            except NotFound:
                return
            except Conflict:
                ns = self.client.get("namespaces", name_of(ns))
        raise Retry(f"namespace {name_of(ns)}: finalize kept conflicting")
