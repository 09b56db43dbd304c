"""PLANTED BUG: an edge-triggered ReplicaSet controller.

Kubernetes controllers are level-triggered: an event only says "look at this key";
reconcile compares the *current* pods with spec.replicas. This variant instead acts on
what each event says changed: a new ReplicaSet -> create spec.replicas pods; replicas
went from a to b -> create or delete b - a; one of its pods was deleted -> create one.
It works while every event arrives exactly once to a process that never restarts. A
controller restart (memory lost) replays every ReplicaSet as "added", and it creates
all the pods again: the ReplicaSet ends with too many pods forever. (Status is still
written by the real reconcile, whose pod management is switched off.)
"""
from minik8s.api.errors import APIError
from minik8s.api.meta import controller_of, get_path, key_of
from minik8s.controllers.podutil import is_pod_active
from minik8s.controllers.replicaset import ReplicaSetController


class EdgeTriggeredReplicaSetController(ReplicaSetController):
    def setup(self) -> None:
        super().setup()
        self._deleted_by_us: set = set()
        self.replicasets.add_handler(on_add=self._edge_added, on_update=self._edge_updated)
        self.pods.add_handler(on_delete=self._edge_pod_deleted)

    def manage_replicas(self, pods, rs) -> None:
        """The real, level-triggered pod management: switched off."""

    def _edge_added(self, rs: dict) -> None:
        if not get_path(rs, "metadata", "deletionTimestamp"):
            self._create(rs, get_path(rs, "spec", "replicas") or 0)

    def _edge_updated(self, old: dict, new: dict) -> None:
        diff = (get_path(new, "spec", "replicas") or 0) - (get_path(old, "spec", "replicas") or 0)
        if diff > 0:
            self._create(new, diff)
        elif diff < 0:
            mine = [p for p in self.pods.list(new["metadata"]["namespace"])
                    if (controller_of(p) or {}).get("uid") == new["metadata"]["uid"]
                    and is_pod_active(p)]
            for pod in sorted(mine, key=lambda p: p["metadata"]["name"])[:-diff]:
                self._deleted_by_us.add(key_of(pod))
                try:
                    self.delete_pod(new, pod)
                except APIError:
                    pass

    def _edge_pod_deleted(self, pod: dict) -> None:
        if key_of(pod) in self._deleted_by_us:
            return
        self._deleted_by_us.add(key_of(pod))        # a pod is deleted once (update, then gone)
        rs = self._resolve(pod, controller_of(pod) or {})
        if rs is not None and not get_path(rs, "metadata", "deletionTimestamp"):
            self._create(rs, 1)

    def _create(self, rs: dict, n: int) -> None:
        for _ in range(n):
            try:
                self.create_pod(rs)
            except APIError:
                return
