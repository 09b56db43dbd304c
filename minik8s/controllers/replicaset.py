"""ReplicaSet controller.

In Kubernetes, the ReplicaSet controller keeps `spec.replicas` pods matching
`spec.selector` alive. This one does the same, level-triggered: every reconcile reads
the ReplicaSet and the pods from the informer caches and converges, so a missed event
or a restart changes nothing.

- Pods it makes come from `spec.template`, named `<rs-name>-<random>` (generateName),
  with the template's labels and a controller ownerReference to the ReplicaSet.
- It claims pods (controllerref.py): adopts matching orphans, releases pods whose
  labels stopped matching, never touches pods another controller owns.
- Surplus pods are deleted in Kubernetes' order (podutil.pods_to_delete): unscheduled
  before scheduled, pending before running, not-ready before ready, ...; by UID.
- *Expectations* (client-go's): after asking for N creations or deletions it waits
  until the informer has seen them before acting again, or a slow cache would make
  it create (or delete) the same pods twice. They expire after 5 minutes.
- Status: replicas (active pods), fullyLabeledReplicas, readyReplicas,
  availableReplicas (ready for minReadySeconds), observedGeneration, and a
  ReplicaFailure condition when creating or deleting fails.
- Events SuccessfulCreate / SuccessfulDelete (and FailedCreate / FailedDelete).

Differences: API calls are made one after another, not from parallel goroutines
(slow-start batches of 1, 2, 4, ... still stop after the first failing batch); pods
are deleted with a uid precondition.

Invariant: a pod has at most one controller owner; we only delete pods we own, by UID.
"""
from __future__ import annotations

import logging
from typing import Optional

from ..api.errors import APIError, NotFound
from ..api.meta import controller_of, deepcopy, get_path, key_of, rfc3339
from ..api.selectors import selector_from_dict, selector_from_set
from .base import Controller, Permanent, Retry, UIDTrackingExpectations
from .controllerref import ControllerRefManager, controller_ref
from .podutil import available_at, is_pod_active, is_pod_available, is_pod_ready, pods_to_delete

log = logging.getLogger(__name__)

BURST_REPLICAS = 500           # kube-controller-manager's burstReplicas
STATUS_UPDATE_RETRIES = 1


class ReplicaSetController(Controller):
    name = "replicaset"

    def __init__(self, client, clock, *, informers=None, recorder=None, rng=None,
                 burst_replicas: int = BURST_REPLICAS):
        self.burst_replicas = burst_replicas
        self.expectations = UIDTrackingExpectations(clock)
        super().__init__(client, clock, informers=informers, recorder=recorder, rng=rng)

    # --- informers and handlers: they only enqueue keys (and count expectations) ------
    def setup(self) -> None:
        self.replicasets = self.informer("replicasets")
        self.replicasets.add_handler(on_add=self.enqueue, on_update=self._rs_updated,
                                     on_delete=self._rs_deleted)
        self.pods = self.informer("pods")
        self.pods.add_handler(on_add=self._pod_added, on_update=self._pod_updated,
                              on_delete=self._pod_deleted)

    def _rs_updated(self, old: dict, cur: dict) -> None:
        if get_path(old, "metadata", "uid") != get_path(cur, "metadata", "uid"):
            self._rs_deleted(old)                     # deleted and re-created meanwhile
        self.enqueue(cur)

    def _rs_deleted(self, rs: dict) -> None:
        self.expectations.delete(key_of(rs))
        self.enqueue(rs)

    def _pod_added(self, pod: dict) -> None:
        if get_path(pod, "metadata", "deletionTimestamp"):
            self._pod_deleted(pod)    # e.g. seen for the first time after a restart
            return
        ref = controller_of(pod)
        if ref is not None:
            rs = self._resolve(pod, ref)
            if rs is not None:
                self.expectations.creation_observed(key_of(rs))
                self.enqueue(rs)
            return
        for rs in self._replicasets_matching(pod):    # an orphan: who wants it?
            self.enqueue(rs)

    def _pod_updated(self, old: dict, cur: dict) -> None:
        if get_path(old, "metadata", "resourceVersion") == get_path(cur, "metadata",
                                                                    "resourceVersion"):
            return                                    # a resync: nothing changed
        labels_changed = get_path(old, "metadata", "labels") != get_path(cur, "metadata",
                                                                         "labels")
        if get_path(cur, "metadata", "deletionTimestamp"):
            # A graceful delete shows up as an update first: that is the deletion
            # we expected, no need to wait for the pod to be gone.
            self._pod_deleted(cur)
            if labels_changed:
                self._pod_deleted(old)
            return
        cur_ref, old_ref = controller_of(cur), controller_of(old)
        if cur_ref != old_ref and old_ref is not None:
            rs = self._resolve(old, old_ref)
            if rs is not None:
                self.enqueue(rs)                      # it lost a pod
        if cur_ref is not None:
            rs = self._resolve(cur, cur_ref)
            if rs is not None:
                self.enqueue(rs)
                min_ready = get_path(rs, "spec", "minReadySeconds") or 0
                if min_ready and not is_pod_ready(old) and is_pod_ready(cur):
                    # Look again once it may count as available.
                    self.enqueue_after(key_of(rs), min_ready + 1)
            return
        if labels_changed or cur_ref != old_ref:
            for rs in self._replicasets_matching(cur):
                self.enqueue(rs)

    def _pod_deleted(self, pod: dict) -> None:
        ref = controller_of(pod)
        if ref is None:
            return
        rs = self._resolve(pod, ref)
        if rs is not None:
            self.expectations.deletion_observed(key_of(rs), key_of(pod))
            self.enqueue(rs)

    def _resolve(self, pod: dict, ref: dict) -> Optional[dict]:
        """The ReplicaSet a controller reference points at, if it is that very one (uid)."""
        if ref.get("kind") != "ReplicaSet":
            return None
        rs = self.replicasets.get_by_name(get_path(pod, "metadata", "namespace"), ref.get("name"))
        if rs is None or get_path(rs, "metadata", "uid") != ref.get("uid"):
            return None
        return rs

    def _replicasets_matching(self, pod: dict) -> list:
        labels = get_path(pod, "metadata", "labels") or {}
        out = []
        for rs in self.replicasets.list(get_path(pod, "metadata", "namespace")):
            try:
                selector = selector_from_dict(get_path(rs, "spec", "selector"))
            except APIError:
                continue
            if not selector.empty and selector.matches(labels):
                out.append(rs)
        return out

    # --- reconcile ------------------------------------------------------------------
    def reconcile(self, key: str) -> Optional[float]:
        """Converge one ReplicaSet: claim its pods, create or delete the difference
        (when expectations allow), then write status. Returns when to look again."""
        if not (self.replicasets.has_synced() and self.pods.has_synced()):
            raise Retry("caches not synced yet", after=1.0)
        rs = self.replicasets.get(key)
        if rs is None:                                # deleted: forget what we waited for
            self.expectations.delete(key)
            return None
        needs_sync = self.expectations.satisfied(key)
        try:
            selector = selector_from_dict(get_path(rs, "spec", "selector"))
        except APIError as e:
            raise Permanent(f"invalid selector: {e}") from None
        namespace = get_path(rs, "metadata", "namespace")
        # Every active pod of the namespace, not only matching ones: a pod we own whose
        # labels no longer match must be seen to be released.
        active = sorted((p for p in self.pods.list(namespace) if is_pod_active(p)),
                        key=lambda p: p["metadata"]["name"])
        manager = ControllerRefManager(
            self.client, rs, selector, "pods", "apps/v1", "ReplicaSet",
            lambda: self.client.get("replicasets", rs["metadata"]["name"], namespace))
        pods = manager.claim(active)

        error: Optional[APIError] = None
        if needs_sync and not get_path(rs, "metadata", "deletionTimestamp"):
            try:
                self.manage_replicas(pods, rs)
            except APIError as e:
                error = e
        now = self.clock.now()
        status = calculate_status(rs, pods, error, now)
        written = self.update_status(rs, status)
        if error is not None:
            raise error
        return _next_availability_check(written, pods, now)

    def manage_replicas(self, pods: list, rs: dict) -> None:
        """Create or delete pods so that len(pods) == spec.replicas."""
        key = key_of(rs)
        # BEGIN LAB 04: manage replicas — create the missing pods, delete the surplus
        # Pitfall: set expectations *before* the calls, and lower them for every call
        # that failed, or the next reconcile waits 5 minutes for events that never come.
        diff = len(pods) - (get_path(rs, "spec", "replicas") or 0)
        if diff < 0:
            wanted = min(-diff, self.burst_replicas)
            self.expectations.expect(key, adds=wanted)
            created, error = self._slow_start_creates(rs, wanted)
            if wanted - created > 0:      # never attempted, or failed: not coming
                self.expectations.lower(key, adds=wanted - created)
            if error is not None:
                raise error
        elif diff > 0:
            surplus = min(diff, self.burst_replicas)
            victims = pods_to_delete(pods, self._related_pods(rs), surplus, self.clock.now())
            self.expectations.expect_deletions(key, [key_of(p) for p in victims])
            first_error = None
            for pod in victims:
                try:
                    self.delete_pod(rs, pod)
                except APIError as e:
                    self.expectations.deletion_observed(key, key_of(pod))
                    if not isinstance(e, NotFound) and first_error is None:
                        first_error = e
            if first_error is not None:
                raise first_error
        # END LAB 04

    def _slow_start_creates(self, rs: dict, count: int) -> tuple:
        """slowStartBatch: batches of 1, 2, 4, ...; stop after a batch with a failure
        (a quota or admission error would fail every one of them). Returns
        (pods created, first error)."""
        created, batch, remaining = 0, 1, count
        while remaining > 0:
            size = min(batch, remaining)
            error = None
            for _ in range(size):
                try:
                    self.create_pod(rs)
                    created += 1
                except APIError as e:
                    if _namespace_terminating(e):
                        created += 1              # every create would fail: not an error
                    elif error is None:
                        error = e
            if error is not None:
                return created, error
            remaining -= size
            batch *= 2
        return created, None

    def create_pod(self, rs: dict) -> dict:
        """A pod from the template, controlled by the ReplicaSet (RealPodControl)."""
        pod = pod_from_template(rs)
        try:
            created = self.client.create(pod, rs["metadata"]["namespace"])
        except APIError as e:
            self.event(rs, "Warning", "FailedCreate", f"Error creating: {e.message}")
            raise
        self.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
        return created

    def delete_pod(self, rs: dict, pod: dict) -> None:
        meta = pod["metadata"]
        try:
            self.client.delete("pods", meta["name"], meta["namespace"],
                               preconditions={"uid": meta["uid"]})
        except NotFound:
            raise
        except APIError as e:
            self.event(rs, "Warning", "FailedDelete", f"Error deleting: {e.message}")
            raise
        self.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}")

    def _related_pods(self, rs: dict) -> list:
        """Active pods of every ReplicaSet with the same controller (a Deployment's
        old and new ReplicaSets): pods doubled up on a node are deleted first."""
        owner = controller_of(rs)
        family = [rs]
        if owner is not None:
            family = [r for r in self.replicasets.list(rs["metadata"]["namespace"])
                      if (controller_of(r) or {}).get("uid") == owner.get("uid")]
        seen, out = set(), []
        for r in family:
            selector = selector_from_dict(get_path(r, "spec", "selector"))
            for p in self.pods.list(r["metadata"]["namespace"], selector):
                uid = p["metadata"].get("uid")
                if uid not in seen:
                    seen.add(uid)
                    out.append(p)
        return out

    # --- status -----------------------------------------------------------------------
    def update_status(self, rs: dict, status: dict) -> dict:
        """Write status unless it is already what we computed; one retry on conflict
        with a fresh read (updateReplicaSetStatus)."""
        if _normalized(rs.get("status")) == _normalized(status):
            return rs
        obj = deepcopy(rs)
        for attempt in range(STATUS_UPDATE_RETRIES + 1):
            obj["status"] = status
            try:
                return self.client.update_status(obj)
            except APIError:
                if attempt >= STATUS_UPDATE_RETRIES:
                    raise
                obj = self.client.get("replicasets", rs["metadata"]["name"],
                                      rs["metadata"]["namespace"])
        return rs   # not reached


def pod_from_template(rs: dict) -> dict:
    """GetPodFromTemplate: labels, annotations, finalizers and spec of the template."""
    template = get_path(rs, "spec", "template") or {}
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    if not labels:
        raise Permanent("unable to create pods, no labels")
    meta = {"generateName": f"{rs['metadata']['name']}-", "namespace": rs["metadata"]["namespace"],
            "labels": labels, "ownerReferences": [controller_ref(rs, "apps/v1", "ReplicaSet")]}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": deepcopy(template.get("spec") or {})}


def calculate_status(rs: dict, pods: list, error: Optional[APIError], now: float) -> dict:
    """The status a ReplicaSet should show for its claimed active `pods`."""
    # BEGIN LAB 04: status — count replicas, fully labeled, ready and available pods
    template_labels = selector_from_set(get_path(rs, "spec", "template", "metadata", "labels"))
    min_ready = get_path(rs, "spec", "minReadySeconds") or 0
    status = {"replicas": len(pods),
              "fullyLabeledReplicas": sum(1 for p in pods if template_labels.matches(
                  get_path(p, "metadata", "labels") or {})),
              "readyReplicas": sum(1 for p in pods if is_pod_ready(p)),
              "availableReplicas": sum(1 for p in pods if is_pod_available(p, min_ready, now)),
              "observedGeneration": get_path(rs, "metadata", "generation") or 0}
    # END LAB 04
    conditions = [dict(c) for c in get_path(rs, "status", "conditions") or []]
    failure = next((c for c in conditions if c.get("type") == "ReplicaFailure"), None)
    if error is not None and failure is None:
        diff = len(pods) - (get_path(rs, "spec", "replicas") or 0)
        reason = "FailedCreate" if diff < 0 else ("FailedDelete" if diff > 0 else "")
        conditions.append({"type": "ReplicaFailure", "status": "True",
                           "lastTransitionTime": rfc3339(now), "reason": reason,
                           "message": error.message})
    elif error is None and failure is not None:
        conditions = [c for c in conditions if c.get("type") != "ReplicaFailure"]
    if conditions:
        status["conditions"] = conditions
    return status


def _normalized(status: Optional[dict]) -> dict:
    # The API omits zero counts (omitempty) except `replicas`: compare them as such.
    out = {k: v for k, v in (status or {}).items() if v not in (0, None, [], {})}
    out.setdefault("replicas", (status or {}).get("replicas") or 0)
    return out


def _next_availability_check(rs: dict, pods: list, now: float) -> Optional[float]:
    """Seconds until the first ready pod turns available (minReadySeconds), so
    availableReplicas is recounted then; None if no pod is waiting for that."""
    min_ready = get_path(rs, "spec", "minReadySeconds") or 0
    if not min_ready:
        return None
    waits = [t - now for p in pods
             if is_pod_ready(p) and not is_pod_available(p, min_ready, now)
             and (t := available_at(p, min_ready)) is not None]
    # availability is strict (ready + minReady < now): look just after the instant.
    return max(min(waits), 0.0) + 0.001 if waits else None


def _namespace_terminating(err: APIError) -> bool:
    return any(c.reason == "NamespaceTerminating" for c in err.causes)
