"""What one Deployment sync does: find or create the new ReplicaSet, scale, clean up,
write status. (Kubernetes' sync.go, rolling.go, recreate.go and progress.go.)

`DeploymentSync` is the half of the DeploymentController (deployment.py) that acts;
the decisions themselves are the pure functions of rollout.py, deployutil.py and
deploystatus.py. Every write carries a resourceVersion precondition (ReplicaSets are
PUT as read from the cache; a stale cache means 409 Conflict and a retry) and every
delete a uid precondition. A ReplicaSet or Deployment written during a sync replaces
the cached copy for the rest of that sync, so the sync never writes over itself.

Rollback needs no code of its own: `kubectl rollout undo` writes the old
ReplicaSet's template back into the Deployment, so the old ReplicaSet is "new" again
(its template matches) and simply gets revision max+1 (get_new_replicaset).
"""
from __future__ import annotations

import logging
from typing import Optional

from ..api.errors import AlreadyExists, APIError, NotFound
from ..api.meta import deepcopy, get_path
from . import deploystatus as ds
from . import deployutil as du
from .base import Retry
from .controllerref import controller_ref, owned_by
from .rollout import Scale, proportional_scale, rolling_update_step

log = logging.getLogger(__name__)


class DeploymentSync:
    """Mixed into DeploymentController: needs self.client, self.clock, self.event,
    self.replicasets (the informer) and self._server_view (the Deployment as this
    sync last read or wrote it)."""

    # --- the new and the old ReplicaSets -------------------------------------------------
    def get_all_replicasets_and_sync_revision(self, d: dict, rs_list: list,
                                              create: bool) -> tuple:
        """(new ReplicaSet or None, all old ReplicaSets), the new one's revision synced."""
        _, all_old = du.find_old_replicasets(d, rs_list)
        return self.get_new_replicaset(d, rs_list, all_old, create), all_old

    def get_new_replicaset(self, d: dict, rs_list: list, old_rss: list,
                           create: bool) -> Optional[dict]:
        existing = du.find_new_replicaset(d, rs_list)
        new_revision = du.max_revision(old_rss) + 1
        if existing is not None:
            # Its revision becomes max(old) + 1 (a rollback moves it to the top), its
            # annotations follow the Deployment's, minReadySeconds too.
            rs = deepcopy(existing)
            changed = du.set_new_replicaset_annotations(d, rs, new_revision, exists=True)
            min_ready = get_path(d, "spec", "minReadySeconds") or 0
            if changed or (get_path(rs, "spec", "minReadySeconds") or 0) != min_ready:
                rs["spec"]["minReadySeconds"] = min_ready
                return self._replace(rs_list, self.client.update(rs))
            needs_update = du.set_deployment_revision(d, du.revision_of(rs))
            if ds.has_progress_deadline(d) and ds.get_condition(d.get("status"),
                                                                  ds.PROGRESSING) is None:
                d.setdefault("status", {})
                ds.set_condition(d["status"], ds.new_condition(
                    ds.PROGRESSING, "True", ds.FOUND_NEW_RS,
                    f'Found new replica set "{rs["metadata"]["name"]}"', self.clock.now()))
                needs_update = True
            if needs_update:
                self.write_deployment(d)
            return rs
        if not create:
            return None
        return self._create_new_replicaset(d, rs_list, old_rss, new_revision)

    def _create_new_replicaset(self, d: dict, rs_list: list, old_rss: list,
                               new_revision: int) -> dict:
        name, ns = d["metadata"]["name"], d["metadata"]["namespace"]
        template = deepcopy(get_path(d, "spec", "template") or {})
        pth = du.pod_template_hash(template, get_path(d, "status", "collisionCount"))
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = dict(tmeta.get("labels") or {}, **{du.POD_TEMPLATE_HASH: pth})
        selector = deepcopy(get_path(d, "spec", "selector") or {})
        selector["matchLabels"] = dict(selector.get("matchLabels") or {},
                                       **{du.POD_TEMPLATE_HASH: pth})
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{name}-{pth}", "namespace": ns,
                           "labels": dict(tmeta["labels"]),
                           "ownerReferences": [controller_ref(d, "apps/v1", "Deployment")]},
              "spec": {"replicas": 0, "minReadySeconds": get_path(d, "spec", "minReadySeconds") or 0,
                       "selector": selector, "template": template}}
        rs["spec"]["replicas"] = du.new_rs_new_replicas(d, old_rss + [rs], rs)
        du.set_new_replicaset_annotations(d, rs, new_revision, exists=False)
        already_exists = False
        try:
            created = self.client.create(rs, ns)
        except AlreadyExists:
            # A slow cache, or a hash collision: is the one there ours, with our template?
            created = self.replicasets.get_by_name(ns, rs["metadata"]["name"])
            if created is None:
                raise Retry(f"replica set {rs['metadata']['name']} exists but is not cached yet")
            if not owned_by(created, d) or not du.equal_ignore_hash(
                    get_path(created, "spec", "template"), get_path(d, "spec", "template")):
                # A collision: hash again with collisionCount + 1 on the next sync.
                d.setdefault("status", {})
                d["status"]["collisionCount"] = (get_path(d, "status", "collisionCount") or 0) + 1
                self.write_deployment(d)
                raise
            already_exists = True
        except APIError as e:
            msg = f'Failed to create new replica set "{rs["metadata"]["name"]}": {e.message}'
            if ds.has_progress_deadline(d):
                d.setdefault("status", {})
                ds.set_condition(d["status"], ds.new_condition(
                    ds.PROGRESSING, "False", ds.FAILED_RS_CREATE, msg, self.clock.now()))
                try:
                    self.write_deployment(d)
                except APIError:
                    pass                  # the create error is the one worth reporting
            self.event(d, "Warning", ds.FAILED_RS_CREATE, msg)
            raise
        replicas = du.replicas_of(rs)
        if not already_exists and replicas > 0:
            self.event(d, "Normal", "ScalingReplicaSet",
                       f"Scaled up replica set {created['metadata']['name']} to {replicas}")
        rs_list.append(created)
        needs_update = du.set_deployment_revision(d, new_revision)
        if not already_exists and ds.has_progress_deadline(d):
            d.setdefault("status", {})
            ds.set_condition(d["status"], ds.new_condition(
                ds.PROGRESSING, "True", ds.NEW_RS_CREATED,
                f'Created new replica set "{created["metadata"]["name"]}"', self.clock.now()))
            needs_update = True
        if needs_update:
            self.write_deployment(d)
        return created

    # --- scaling ---------------------------------------------------------------------------
    def apply_scales(self, plan: list, rs_list: list, d: dict) -> bool:
        """Apply planned Scales in order; True if some ReplicaSet changed size."""
        scaled = False
        for step in plan:
            rs = next((r for r in rs_list if r["metadata"]["name"] == step.name), None)
            if rs is not None and self.scale_replicaset(rs, step, rs_list, d):
                scaled = True
        return scaled

    def scale_replicaset(self, rs: dict, step: Scale, rs_list: list, d: dict) -> bool:
        """Set spec.replicas (and the desired/max-replicas annotations); event if the
        size changed. A PUT with the cached resourceVersion: stale means Conflict."""
        replicas, surge = du.replicas_of(d), du.max_surge(d)
        size_changes = du.replicas_of(rs) != step.new
        if not size_changes and not du.replicas_annotations_need_update(rs, replicas,
                                                                         replicas + surge):
            return False
        old = du.replicas_of(rs)
        copy = deepcopy(rs)
        copy["spec"]["replicas"] = step.new
        du.set_replicas_annotations(copy, replicas, replicas + surge)
        written = self._replace(rs_list, self.client.update(copy))
        if size_changes:
            direction = "up" if step.new > old else "down"
            self.event(d, "Normal", "ScalingReplicaSet",
                       f"Scaled {direction} replica set {written['metadata']['name']} "
                       f"to {step.new} from {old}")
        return size_changes

    def is_scaling_event(self, d: dict, rs_list: list) -> bool:
        """spec.replicas differs from what an active ReplicaSet was last sized for."""
        new_rs, old_rss = self.get_all_replicasets_and_sync_revision(d, rs_list, False)
        for rs in du.active(old_rss + [new_rs]):
            desired = du.desired_replicas_annotation(rs)
            if desired is not None and desired != du.replicas_of(d):
                return True
        return False

    def cleanup_deployment(self, old_rss: list, d: dict) -> None:
        """Delete the oldest old ReplicaSets beyond revisionHistoryLimit — only empty
        ones whose controller has seen their current spec."""
        if not ds.has_revision_history_limit(d):
            return
        alive = [rs for rs in old_rss if not get_path(rs, "metadata", "deletionTimestamp")]
        diff = len(alive) - get_path(d, "spec", "revisionHistoryLimit")
        for rs in du.by_revision(alive)[:max(diff, 0)]:
            if (get_path(rs, "status", "replicas") or 0) != 0 or du.replicas_of(rs) != 0 or \
                    (get_path(rs, "metadata", "generation") or 0) > \
                    (get_path(rs, "status", "observedGeneration") or 0):
                continue
            try:
                self.client.delete("replicasets", rs["metadata"]["name"], rs["metadata"]["namespace"],
                                   preconditions={"uid": rs["metadata"]["uid"]})
            except NotFound:
                pass

    # --- the three ways a sync goes ------------------------------------------------------------
    def sync(self, d: dict, rs_list: list) -> Optional[float]:
        """A scaling event or a paused Deployment: scale proportionally, no rollout."""
        new_rs, old_rss = self.get_all_replicasets_and_sync_revision(d, rs_list, False)
        self.apply_scales(proportional_scale(d, new_rs, old_rss), rs_list, d)
        new_rs, old_rss = self._current(rs_list, new_rs, old_rss)
        if get_path(d, "spec", "paused"):
            self.cleanup_deployment(old_rss, d)
        return self.sync_deployment_status(old_rss + [new_rs], new_rs, d)

    def rollout_rolling(self, d: dict, rs_list: list) -> Optional[float]:
        new_rs, old_rss = self.get_all_replicasets_and_sync_revision(d, rs_list, True)
        if self.apply_scales(rolling_update_step(d, new_rs, old_rss), rs_list, d):
            new_rs, old_rss = self._current(rs_list, new_rs, old_rss)
            return self.sync_rollout_status(old_rss + [new_rs], new_rs, d)
        if ds.deployment_complete(d, d.get("status") or {}):
            self.cleanup_deployment(old_rss, d)
        return self.sync_rollout_status(old_rss + [new_rs], new_rs, d)

    def rollout_recreate(self, d: dict, rs_list: list, pod_map: dict) -> Optional[float]:
        """Recreate: every old pod gone (not merely asked to go) before the new
        ReplicaSet is created and scaled up."""
        new_rs, old_rss = self.get_all_replicasets_and_sync_revision(d, rs_list, False)
        plan = [Scale(rs["metadata"]["name"], du.replicas_of(rs), 0) for rs in du.active(old_rss)]
        if self.apply_scales(plan, rs_list, d):
            new_rs, old_rss = self._current(rs_list, new_rs, old_rss)
            return self.sync_rollout_status(old_rss + [new_rs], new_rs, d)
        if _old_pods_running(new_rs, old_rss, pod_map):
            return self.sync_rollout_status(old_rss + [new_rs], new_rs, d)
        if new_rs is None:
            new_rs, old_rss = self.get_all_replicasets_and_sync_revision(d, rs_list, True)
        self.apply_scales([Scale(new_rs["metadata"]["name"], du.replicas_of(new_rs),
                                 du.replicas_of(d))], rs_list, d)
        new_rs, old_rss = self._current(rs_list, new_rs, old_rss)
        if ds.deployment_complete(d, d.get("status") or {}):
            self.cleanup_deployment(old_rss, d)
        return self.sync_rollout_status(old_rss + [new_rs], new_rs, d)

    def sync_status_only(self, d: dict, rs_list: list) -> Optional[float]:
        new_rs, old_rss = self.get_all_replicasets_and_sync_revision(d, rs_list, False)
        return self.sync_deployment_status(old_rss + [new_rs], new_rs, d)

    # --- status --------------------------------------------------------------------------------
    def check_paused_conditions(self, d: dict) -> None:
        """Progressing=Unknown while paused (DeploymentPaused) and right after resuming
        (DeploymentResumed), so time spent paused never counts against the deadline."""
        if not ds.has_progress_deadline(d):
            return
        cond = ds.get_condition(d.get("status"), ds.PROGRESSING)
        if cond is not None and cond.get("reason") == ds.TIMED_OUT:
            return
        paused_now = cond is not None and cond.get("reason") == ds.PAUSED
        if get_path(d, "spec", "paused") and not paused_now:
            reason, message = ds.PAUSED, "Deployment is paused"
        elif not get_path(d, "spec", "paused") and paused_now:
            reason, message = ds.RESUMED, "Deployment is resumed"
        else:
            return
        d.setdefault("status", {})
        ds.set_condition(d["status"], ds.new_condition(ds.PROGRESSING, "Unknown", reason,
                                                       message, self.clock.now()))
        self.write_deployment(d)

    def sync_deployment_status(self, all_rss: list, new_rs, d: dict) -> Optional[float]:
        status = ds.calculate_status([r for r in all_rss if r], new_rs, d, self.clock.now())
        if not _same_status(d.get("status"), status):
            d["status"] = status
            self.write_deployment(d)
        return None

    def sync_rollout_status(self, all_rss: list, new_rs, d: dict) -> Optional[float]:
        now = self.clock.now()
        status = ds.rollout_status([r for r in all_rss if r], new_rs, d, now)
        if _same_status(d.get("status"), status):
            return ds.stuck_requeue_after(d, status, now)
        d["status"] = status
        self.write_deployment(d)
        return None

    def write_deployment(self, d: dict) -> None:
        """Write the Deployment's revision annotation and status. (Kubernetes does both
        in one deployments/status update; here status updates change status only, so
        an annotation change is a PUT first.) `d` takes each new resourceVersion;
        `self._server_view` is the Deployment as this sync last read or wrote it."""
        base = self._server_view
        if get_path(base, "metadata", "annotations") != get_path(d, "metadata", "annotations"):
            base = self.client.update(d)
            d["metadata"]["resourceVersion"] = base["metadata"]["resourceVersion"]
        if not _same_status(base.get("status"), d.get("status")):
            base = self.client.update_status(d)
            d["metadata"]["resourceVersion"] = base["metadata"]["resourceVersion"]
        self._server_view = base

    # --- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _replace(rs_list: list, written: dict) -> dict:
        for i, rs in enumerate(rs_list):
            if rs["metadata"]["uid"] == written["metadata"]["uid"]:
                rs_list[i] = written
        return written

    @staticmethod
    def _current(rs_list: list, new_rs, old_rss: list) -> tuple:
        """new_rs and old_rss as they are in rs_list after the writes of this sync."""
        by_uid = {rs["metadata"]["uid"]: rs for rs in rs_list}
        fresh = by_uid.get(new_rs["metadata"]["uid"], new_rs) if new_rs else None
        return fresh, [by_uid.get(rs["metadata"]["uid"], rs) for rs in old_rss]


def _old_pods_running(new_rs, old_rss: list, pod_map: dict) -> bool:
    """oldPodsRunning: an old ReplicaSet still reports pods, or a pod of one is not
    finished (a terminating pod still runs)."""
    if du.status_count(old_rss, "replicas") > 0:
        return True
    new_uid = get_path(new_rs, "metadata", "uid") if new_rs else None
    for rs_uid, pods in pod_map.items():
        if rs_uid == new_uid:
            continue
        if any(get_path(p, "status", "phase") not in ("Succeeded", "Failed") for p in pods):
            return True
    return False


def _same_status(a: Optional[dict], b: Optional[dict]) -> bool:
    def norm(s):
        return {k: v for k, v in (s or {}).items() if v not in (0, None, [], {})}
    return norm(a) == norm(b)
