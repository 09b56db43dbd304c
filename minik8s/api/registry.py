"""The registry of kinds: one table that names every resource minik8s serves.

In Kubernetes each API group registers its kinds with a scheme, and the API server
builds its REST routes, discovery documents and storage prefixes from that. kubectl
learns the same table back through discovery (`kubectl api-resources`) and uses it
to turn `deploy`, `deployment` or `deployments.apps` into a REST path.

minik8s keeps that table here, once. The API server's routes and discovery, the
store keys, the CLI and validation all read it; adding a kind is adding a row.

A `ResourceType` says: group/version/kind, the plural used in URLs and store keys,
short names, whether it lives in a namespace, which subresources it has, whether its
`status` is only written through the status subresource, and whether the server keeps
`metadata.generation` for it (kinds with a spec that controllers observe).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import NotFound

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str                 # "" for the core group
    version: str
    kind: str
    plural: str
    short_names: tuple = ()
    namespaced: bool = True
    subresources: tuple = ()   # e.g. ("status", "scale")
    generation: bool = False   # does the server keep metadata.generation for it?
    categories: tuple = ()     # ("all",) drives `kubectl get all`
    verbs: tuple = ALL_VERBS

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def qualified(self) -> str:
        """How error messages name it: `pods`, `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status_subresource(self) -> bool:
        return "status" in self.subresources

    def key(self, namespace: str | None, name: str) -> str:
        """The store key: `/registry/<plural>/<namespace>/<name>` (or without namespace)."""
        return self.prefix(namespace) + name

    def prefix(self, namespace: str | None = None) -> str:
        """Key prefix for a list: one namespace, or all of them when namespace is None."""
        if self.namespaced and namespace:
            return f"/registry/{self.plural}/{namespace}/"
        return f"/registry/{self.plural}/"


_WORKLOAD_SUB = ("status", "scale")

BUILTIN = [
    # core/v1
    ResourceType("", "v1", "Namespace", "namespaces", ("ns",), namespaced=False,
                 subresources=("status", "finalize")),
    ResourceType("", "v1", "Node", "nodes", ("no",), namespaced=False,
                 subresources=("status", "proxy")),
    ResourceType("", "v1", "Pod", "pods", ("po",),
                 subresources=("status", "binding", "eviction", "log", "exec", "attach",
                               "portforward", "ephemeralcontainers"),
                 categories=("all",)),
    ResourceType("", "v1", "Service", "services", ("svc",), subresources=("status", "proxy"),
                 categories=("all",)),
    ResourceType("", "v1", "Endpoints", "endpoints", ("ep",)),
    ResourceType("", "v1", "ConfigMap", "configmaps", ("cm",)),
    ResourceType("", "v1", "Secret", "secrets"),
    ResourceType("", "v1", "Event", "events", ("ev",)),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", ("sa",),
                 subresources=("token",)),
    ResourceType("", "v1", "PersistentVolume", "persistentvolumes", ("pv",), namespaced=False,
                 subresources=("status",)),
    ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", ("pvc",),
                 subresources=("status",)),
    # apps/v1
    ResourceType("apps", "v1", "Deployment", "deployments", ("deploy",),
                 subresources=_WORKLOAD_SUB, generation=True, categories=("all",)),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", ("rs",),
                 subresources=_WORKLOAD_SUB, generation=True, categories=("all",)),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", ("sts",),
                 subresources=_WORKLOAD_SUB, generation=True, categories=("all",)),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", ("ds",),
                 subresources=("status",), generation=True, categories=("all",)),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions"),
    # batch/v1
    ResourceType("batch", "v1", "Job", "jobs", subresources=("status",), generation=True,
                 categories=("all",)),
    ResourceType("batch", "v1", "CronJob", "cronjobs", ("cj",), subresources=("status",),
                 generation=True, categories=("all",)),
    # autoscaling/v2
    ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
                 ("hpa",), subresources=("status",), generation=True, categories=("all",)),
    # coordination.k8s.io/v1
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases"),
    # networking.k8s.io/v1
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", ("ing",),
                 subresources=("status",), generation=True),
    # rbac.authorization.k8s.io/v1
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles",
                 namespaced=False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
                 namespaced=False),
]


@dataclass
class Registry:
    """Lookups over a list of ResourceTypes. `register` adds kinds (custom resources)."""
    types: list = field(default_factory=list)

    def __post_init__(self):
        self._index()

    def _index(self):
        self._by_gk = {(t.group, t.kind): t for t in self.types}
        self._by_gr = {(t.group, t.plural): t for t in self.types}
        names = {}
        for t in self.types:
            for n in (t.plural, t.singular, t.kind.lower(), *t.short_names,
                      f"{t.plural}.{t.group}" if t.group else t.plural,
                      f"{t.singular}.{t.group}" if t.group else t.singular):
                names.setdefault(n.lower(), t)
        self._by_name = names

    def register(self, rt: ResourceType) -> None:
        self.types = [t for t in self.types if (t.group, t.kind) != (rt.group, rt.kind)] + [rt]
        self._index()

    def all(self) -> list:
        return list(self.types)

    def groups(self) -> list:
        """Group-versions in a stable order, core first."""
        seen = []
        for t in self.types:
            if t.group_version not in seen:
                seen.append(t.group_version)
        return seen

    def by_kind(self, kind: str, group: str | None = None) -> ResourceType:
        if group is not None:
            t = self._by_gk.get((group, kind))
        else:
            t = next((t for t in self.types if t.kind == kind), None)
        if t is None:
            raise NotFound(f'no kind "{kind}" is registered'
                           + (f' in group "{group}"' if group else ""))
        return t

    def by_resource(self, plural: str, group: str | None = None) -> ResourceType:
        if group is not None:
            t = self._by_gr.get((group, plural))
        else:
            t = next((t for t in self.types if t.plural == plural), None)
        if t is None:
            raise NotFound(f'the server could not find the requested resource "{plural}"')
        return t

    def lookup(self, name: str) -> ResourceType:
        """What kubectl's RESTMapper does: `po`, `pod`, `pods`, `Pod`, `deployments.apps`."""
        t = self._by_name.get(name.lower())
        if t is None:
            raise NotFound(f'the server doesn\'t have a resource type "{name}"')
        return t

    def for_object(self, obj: dict) -> ResourceType:
        """The type of an object by its apiVersion and kind."""
        api_version = obj.get("apiVersion") or ""
        kind = obj.get("kind") or ""
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        t = self._by_gk.get((group, kind))
        if t is None or (api_version and t.api_version != api_version):
            raise NotFound(f'no matches for kind "{kind}" in version "{api_version}"')
        return t


REGISTRY = Registry(list(BUILTIN))
