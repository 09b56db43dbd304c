"""PLANTED BUG: a Deployment controller that writes by name what it read long ago.

Every Kubernetes update names the exact object and version it is based on — the
uid and the resourceVersion it read — so a writer holding an old copy gets 409
Conflict instead of overwriting someone else's newer write. This variant writes the
Deployment (its revision annotation, when a rollout starts) straight from its
informer cache *by name*, dropping uid and resourceVersion. When the cache is stale
— watch events late, reads served from an old snapshot — the old copy goes back over
the user's newer spec: a `kubectl scale` or `set image` the user made is silently
undone (or, after a delete and re-create, the new Deployment gets the old one's spec).
"""
from minik8s.api.meta import deepcopy, get_path
from minik8s.controllers.deployment import DeploymentController


class ActByNameDeploymentController(DeploymentController):
    def write_deployment(self, d: dict) -> None:
        base = self._server_view
        if get_path(base, "metadata", "annotations") != get_path(d, "metadata", "annotations"):
            by_name = deepcopy(d)
            by_name["metadata"].pop("resourceVersion", None)
            by_name["metadata"].pop("uid", None)
            base = self.client.update(by_name)
            d["metadata"]["resourceVersion"] = base["metadata"]["resourceVersion"]
            self._server_view = base
        super().write_deployment(d)
