"""Deployment controller.

In Kubernetes a Deployment declares a pod template and a replica count; the
Deployment controller turns that into ReplicaSets — one per template the Deployment
has had, named `<deployment>-<pod-template-hash>` — and moves pods from the old ones
to the new one without dropping below the availability the strategy promises:

- **RollingUpdate**: the new ReplicaSet grows while all of them together stay within
  replicas + maxSurge, old ones shrink while replicas - maxUnavailable pods stay
  available (rollout.py); **Recreate**: old pods all gone first, then the new ones.
- Revisions (`deployment.kubernetes.io/revision`) number the templates;
  `kubectl rollout undo` writes an old template back, whose ReplicaSet is then re-used
  with the next revision; old empty ReplicaSets beyond revisionHistoryLimit are deleted.
- `spec.paused` stops rollouts (scaling still happens); a change of spec.replicas
  mid-rollout is spread over the ReplicaSets in proportion.
- Status sums the ReplicaSets' statuses, with the Available and Progressing
  conditions (deploystatus.py); progressDeadlineSeconds turns a stuck rollout into
  Progressing=False/ProgressDeadlineExceeded, which `kubectl rollout status` reports.

Like every controller here it is level-triggered: reconcile(key) reads the Deployment,
its ReplicaSets and pods from the informer caches, claims the ReplicaSets it controls
(adopting matching orphans, releasing ones that stopped matching), and makes one move.
The ReplicaSet controller does the pods. Left out: spec.rollbackTo (gone from apps/v1).

Invariant: the controller acts only on ReplicaSets whose controller reference is
this Deployment (by uid), and never asks for more than replicas + maxSurge pods in all.
"""
from __future__ import annotations

import logging
from typing import Optional

from ..api.errors import APIError
from ..api.meta import controller_of, deepcopy, get_path
from ..api.selectors import selector_from_dict
from .base import Controller, Permanent, Retry
from .controllerref import ControllerRefManager
from .deploysync import DeploymentSync

log = logging.getLogger(__name__)


class DeploymentController(DeploymentSync, Controller):
    name = "deployment"

    # --- informers and handlers: they only enqueue keys ------------------------------------
    def setup(self) -> None:
        self._server_view: Optional[dict] = None
        self.deployments = self.informer("deployments", on_change=self.enqueue)
        self.replicasets = self.informer("replicasets")
        self.replicasets.add_handler(on_add=self._rs_added, on_update=self._rs_updated,
                                     on_delete=self._rs_deleted)
        self.pods = self.informer("pods")
        self.pods.add_handler(on_delete=self._pod_deleted)

    def _rs_added(self, rs: dict) -> None:
        if get_path(rs, "metadata", "deletionTimestamp"):
            self._rs_deleted(rs)
            return
        ref = controller_of(rs)
        if ref is not None:
            d = self._resolve(rs, ref)
            if d is not None:
                self.enqueue(d)
            return
        for d in self._deployments_matching(rs):      # an orphan: who wants it?
            self.enqueue(d)

    def _rs_updated(self, old: dict, cur: dict) -> None:
        if get_path(old, "metadata", "resourceVersion") == get_path(cur, "metadata",
                                                                    "resourceVersion"):
            return
        cur_ref, old_ref = controller_of(cur), controller_of(old)
        if cur_ref != old_ref and old_ref is not None:
            d = self._resolve(old, old_ref)
            if d is not None:
                self.enqueue(d)
        if cur_ref is not None:
            d = self._resolve(cur, cur_ref)
            if d is not None:
                self.enqueue(d)
            return
        if cur_ref != old_ref or get_path(old, "metadata", "labels") != get_path(
                cur, "metadata", "labels"):
            for d in self._deployments_matching(cur):
                self.enqueue(d)

    def _rs_deleted(self, rs: dict) -> None:
        ref = controller_of(rs)
        d = self._resolve(rs, ref) if ref is not None else None
        if d is not None:
            self.enqueue(d)

    def _pod_deleted(self, pod: dict) -> None:
        # Recreate waits for old pods to be gone; a pod's deletion may be the go-ahead.
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.get_by_name(get_path(pod, "metadata", "namespace"), ref.get("name"))
        if rs is None or get_path(rs, "metadata", "uid") != ref.get("uid"):
            return
        rs_ref = controller_of(rs)
        d = self._resolve(rs, rs_ref) if rs_ref is not None else None
        if d is not None and get_path(d, "spec", "strategy", "type") == "Recreate":
            self.enqueue(d)

    def _resolve(self, rs: dict, ref: dict) -> Optional[dict]:
        if ref.get("kind") != "Deployment":
            return None
        d = self.deployments.get_by_name(get_path(rs, "metadata", "namespace"), ref.get("name"))
        if d is None or get_path(d, "metadata", "uid") != ref.get("uid"):
            return None
        return d

    def _deployments_matching(self, rs: dict) -> list:
        labels = get_path(rs, "metadata", "labels") or {}
        out = []
        for d in self.deployments.list(get_path(rs, "metadata", "namespace")):
            try:
                selector = selector_from_dict(get_path(d, "spec", "selector"))
            except APIError:
                continue
            if not selector.empty and selector.matches(labels):
                out.append(d)
        return out

    # --- reconcile ------------------------------------------------------------------------
    def reconcile(self, key: str) -> Optional[float]:
        """syncDeployment: get the Deployment (gone? done) -> claim its ReplicaSets ->
        deleting: status only; paused or scaled: scale; else one rollout move."""
        if not all(i.has_synced() for i in (self.deployments, self.replicasets, self.pods)):
            raise Retry("caches not synced yet", after=1.0)
        cached = self.deployments.get(key)
        if cached is None:
            return None
        d = deepcopy(cached)                          # never change the cache
        self._server_view = cached
        try:
            selector = selector_from_dict(get_path(d, "spec", "selector"))
        except APIError as e:
            raise Permanent(f"invalid selector: {e}") from None
        if selector.empty:
            self.event(d, "Warning", "SelectingAll",
                       "This deployment is selecting all pods. A non-empty selector is required.")
            if (get_path(d, "status", "observedGeneration") or 0) < \
                    (get_path(d, "metadata", "generation") or 0):
                d.setdefault("status", {})["observedGeneration"] = d["metadata"]["generation"]
                self.write_deployment(d)
            return None
        rs_list = self.get_replicasets_for(d, selector)
        pod_map = self.pod_map_for(d, selector, rs_list)
        if get_path(d, "metadata", "deletionTimestamp"):
            return self.sync_status_only(d, rs_list)
        self.check_paused_conditions(d)
        if get_path(d, "spec", "paused"):
            return self.sync(d, rs_list)
        if self.is_scaling_event(d, rs_list):
            return self.sync(d, rs_list)
        strategy = get_path(d, "spec", "strategy", "type")
        if strategy == "Recreate":
            return self.rollout_recreate(d, rs_list, pod_map)
        if strategy == "RollingUpdate":
            return self.rollout_rolling(d, rs_list)
        raise Permanent(f"unexpected deployment strategy type: {strategy}")

    def get_replicasets_for(self, d: dict, selector) -> list:
        """The ReplicaSets this Deployment controls, after adoption and release."""
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
        candidates = sorted(self.replicasets.list(ns), key=lambda r: r["metadata"]["name"])
        manager = ControllerRefManager(self.client, d, selector, "replicasets", "apps/v1",
                                       "Deployment",
                                       lambda: self.client.get("deployments", name, ns))
        return list(manager.claim(candidates))

    def pod_map_for(self, d: dict, selector, rs_list: list) -> dict:
        """getPodMapForDeployment: the pods (terminating ones too) of each ReplicaSet,
        keyed by the ReplicaSet's uid."""
        pod_map = {rs["metadata"]["uid"]: [] for rs in rs_list}
        for pod in self.pods.list(d["metadata"]["namespace"], selector):
            ref = controller_of(pod)
            if ref is not None and ref.get("uid") in pod_map:
                pod_map[ref["uid"]].append(pod)
        return pod_map
