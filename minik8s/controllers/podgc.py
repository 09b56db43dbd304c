"""Pod garbage collector: force-deletes pods nobody else will ever finish.

In Kubernetes a pod bound to a node is deleted in two steps: DELETE marks it
(deletionTimestamp, grace period), and the node's kubelet, once the containers have
stopped, deletes it for good. When there is no kubelet to do that, the pod GC of
kube-controller-manager does, every 20 s (gcCheckPeriod), with a DELETE of grace 0:

- orphaned pods, bound to a Node that no longer exists (after a 40 s quarantine and a
  live GET, so an informer that lags behind cannot make it delete healthy pods); they
  first get `DisruptionTarget` (reason DeletionByPodGC, "PodGC: node no longer exists")
  and phase Failed;
- terminating pods on a node that is not Ready and carries the
  `node.kubernetes.io/out-of-service` taint (an operator's promise that the node is
  really down);
- terminating pods that were never scheduled;
- terminated pods (Succeeded/Failed) beyond `--terminated-pod-gc-threshold` (12500),
  evicted ones first, then the oldest.

A terminating pod on a node that is merely unreachable (a partition) is left alone: its
containers may still run there. Every force delete is preceded by phase Failed, so a
pod whose kubelet never reported an end does not stay Running in the record.

This version runs the same pass as one periodic key of the work queue (also enqueued
when a Node is deleted), over the shared pod and node informers.

Invariant: a pod is force-deleted only if no kubelet can ever finish it, or it is
finished and over the threshold.
"""
from __future__ import annotations

import logging
from typing import Optional

from ..api.errors import APIError, NotFound
from ..api.meta import get_path, name_of
from .base import Controller, Retry
from .taintmanager import disruption_condition, patch_pod_status

log = logging.getLogger(__name__)

KEY = "podgc"                 # the one key of this controller's queue: "run a pass"
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"
TERMINAL = ("Succeeded", "Failed")


def is_terminated(pod: dict) -> bool:
    return get_path(pod, "status", "phase") in TERMINAL


def is_evicted(pod: dict) -> bool:
    return get_path(pod, "status", "phase") == "Failed" and \
        get_path(pod, "status", "reason") == "Evicted"


def gc_order(pod: dict) -> tuple:
    """byEvictionAndCreationTimestamp: evicted pods first, then the oldest, then by name."""
    return (not is_evicted(pod), get_path(pod, "metadata", "creationTimestamp") or "",
            name_of(pod))


def node_is_ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in get_path(node, "status", "conditions") or [])


def is_out_of_service(node: dict) -> bool:
    return any(t.get("key") == OUT_OF_SERVICE for t in get_path(node, "spec", "taints") or [])


def terminated_to_delete(pods: list, threshold: int) -> list:
    """gcTerminated: the terminated pods beyond `threshold`, in the order to delete them."""
    if threshold <= 0:
        return []
    terminated = sorted((p for p in pods if is_terminated(p)), key=gc_order)
    return terminated[:max(len(terminated) - threshold, 0)]


class PodGCController(Controller):
    name = "podgc"

    def __init__(self, client, clock, *, informers=None, recorder=None, rng=None,
                 terminated_pod_gc_threshold: int = 12500, gc_check_period: float = 20.0,
                 quarantine_time: float = 40.0):
        self.threshold = terminated_pod_gc_threshold
        self.period = gc_check_period
        self.quarantine_time = quarantine_time
        self._missing_since: dict = {}      # node name -> when a pod first named it missing
        super().__init__(client, clock, informers=informers, recorder=recorder, rng=rng)

    def setup(self) -> None:
        self.pods = self.informer("pods")
        self.nodes = self.informer("nodes")
        self.nodes.add_handler(on_delete=lambda _node: self.queue.add(KEY))
        self.queue.add(KEY)

    def reconcile(self, key: str) -> Optional[float]:
        if not (self.pods.has_synced() and self.nodes.has_synced()):
            return 1.0                        # WaitForNamedCacheSync
        pods = sorted(self.pods.list(), key=gc_order)
        nodes = {name_of(n): n for n in self.nodes.list()}
        doomed: dict = {}                     # uid -> (pod, condition): each pod once
        for pod in terminated_to_delete(pods, self.threshold):
            doomed.setdefault(pod["metadata"]["uid"], (pod, None))
        for pod in self.terminating_on_out_of_service_nodes(pods, nodes):
            doomed.setdefault(pod["metadata"]["uid"], (pod, None))
        gone, wait = self.deleted_nodes(pods, nodes)
        orphaned = disruption_condition("DeletionByPodGC", "PodGC: node no longer exists")
        for pod in pods:
            if get_path(pod, "spec", "nodeName") in gone:
                doomed.setdefault(pod["metadata"]["uid"], (pod, orphaned))
        for pod in pods:                      # gcUnscheduledTerminating
            if get_path(pod, "metadata", "deletionTimestamp") and \
                    not get_path(pod, "spec", "nodeName"):
                doomed.setdefault(pod["metadata"]["uid"], (pod, None))
        failed = sum(not self.delete_pod(pod, condition) for pod, condition in doomed.values())
        if failed:
            raise Retry(f"pod GC: {failed} pod(s) could not be deleted", after=1.0)
        return min(self.period, wait) if wait is not None else self.period

    def terminating_on_out_of_service_nodes(self, pods: list, nodes: dict) -> list:
        """gcTerminating: terminating pods on a NotReady node tainted out-of-service."""
        out = []
        for pod in pods:
            node = nodes.get(get_path(pod, "spec", "nodeName") or "")
            if get_path(pod, "metadata", "deletionTimestamp") and node is not None \
                    and not node_is_ready(node) and is_out_of_service(node):
                out.append(pod)
        return out

    def deleted_nodes(self, pods: list, nodes: dict) -> tuple:
        """gcOrphaned's quarantine: ({node names pods are bound to that are really gone},
        seconds until the next quarantine ends or None). A node missing from the
        informer is confirmed gone with a live GET after `quarantine_time`."""
        now, gone, wait = self.clock.monotonic(), set(), None
        missing = {get_path(p, "spec", "nodeName") for p in pods} - set(nodes) - {None, ""}
        for name in list(self._missing_since):
            if name not in missing:
                del self._missing_since[name]
        for name in sorted(missing):
            since = self._missing_since.setdefault(name, now)
            if now - since < self.quarantine_time:
                left = since + self.quarantine_time - now
                wait = left if wait is None else min(wait, left)
                continue
            try:
                self.client.get("nodes", name)
                self._missing_since.pop(name)     # it exists: our cache only lagged
            except NotFound:
                gone.add(name)
            except APIError as e:
                log.info("pod GC: could not check node %s: %s", name, e)
        return gone, wait

    def delete_pod(self, pod: dict, condition: Optional[dict] = None) -> bool:
        """markFailedAndDeletePodWithCondition: phase Failed (and the condition) unless
        the pod already finished, then DELETE with grace 0. False if it failed."""
        meta = pod["metadata"]
        log.info("pod GC: force deleting pod %s/%s", meta.get("namespace"), meta["name"])
        try:
            if not is_terminated(pod):
                patch_pod_status(self.client, pod, self.clock.now(), condition=condition,
                                 phase="Failed")
            self.client.delete("pods", meta["name"], meta.get("namespace"),
                               grace_period_seconds=0, preconditions={"uid": meta["uid"]})
        except NotFound:
            pass
        except APIError as e:
            log.info("pod GC: could not delete pod %s/%s: %s", meta.get("namespace"),
                     meta["name"], e)
            return False
        return True
