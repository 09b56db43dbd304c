"""Validation: is this object one the API server may store?

In Kubernetes every kind has `Validate<Kind>` (create) and `Validate<Kind>Update`
functions in pkg/apis/<group>/validation. They run after defaulting and return a
list of field errors; any error makes the request fail with 422 Invalid, a Status
whose `details.causes` name each field (`spec.replicas`), its reason
(`FieldValueInvalid`) and a message (`Invalid value: -1: must be greater than or
equal to 0`). Nothing is written.

Here `validate(obj, old)` does the same for every registered kind, returning
`Cause`s (minik8s.api.errors): metadata first (validation_meta), then the kind's
own rules, then — when `old` is given — what may not change on update. The rules
live by topic: validation_pod/_container (pods and pod templates),
validation_workloads (apps/v1), validation_batch (Job, CronJob), validation_core
(Service, ConfigMap, Secret, ...), validation_other (Event, Lease, HPA, Ingress,
RBAC). Messages and paths are Kubernetes' own, so a student can search for them.

validate never raises on a malformed object: a field of the wrong JSON type is
reported as `FieldValueTypeInvalid` where kube-apiserver would fail to decode it.
"""
from __future__ import annotations

from .errors import Cause, NotFound
from .registry import REGISTRY
from .validation_batch import validate_cronjob, validate_job
from .validation_core import (
    validate_configmap, validate_endpoints, validate_namespace, validate_node, validate_pv,
    validate_pvc, validate_secret, validate_service,
)
from .validation_field import type_invalid
from .validation_meta import validate_object_meta, validate_object_meta_update
from .validation_other import (
    validate_binding, validate_event, validate_hpa, validate_ingress, validate_lease,
    validate_role,
)
from .validation_pod import validate_pod, validate_pod_update
from .validation_workloads import (
    validate_controller_revision, validate_daemonset, validate_deployment, validate_replicaset,
    validate_statefulset,
)


def _pod(obj: dict, old: dict | None) -> list:
    causes = validate_pod(obj)
    if old is not None:
        causes += validate_pod_update(obj, old)
    return causes


def _nothing(obj: dict, old: dict | None) -> list:
    return []


_BY_KIND = {
    "Namespace": validate_namespace,
    "Node": validate_node,
    "Pod": _pod,
    "Service": validate_service,
    "Endpoints": validate_endpoints,
    "ConfigMap": validate_configmap,
    "Secret": validate_secret,
    "Event": validate_event,
    "ServiceAccount": _nothing,
    "PersistentVolume": validate_pv,
    "PersistentVolumeClaim": validate_pvc,
    "Deployment": validate_deployment,
    "ReplicaSet": validate_replicaset,
    "StatefulSet": validate_statefulset,
    "DaemonSet": validate_daemonset,
    "ControllerRevision": validate_controller_revision,
    "Job": validate_job,
    "CronJob": validate_cronjob,
    "HorizontalPodAutoscaler": validate_hpa,
    "Lease": validate_lease,
    "Ingress": validate_ingress,
    "Role": validate_role,
    "ClusterRole": validate_role,
    "RoleBinding": validate_binding,
    "ClusterRoleBinding": validate_binding,
}


def validate(obj: dict, old: dict | None = None) -> list[Cause]:
    """All validation errors of `obj` (a create), or of `obj` replacing `old`."""
    if not isinstance(obj, dict):
        return [type_invalid("", obj, "must be an object")]
    kind = obj.get("kind") or ""
    try:
        namespaced = REGISTRY.by_kind(kind).namespaced
    except NotFound:
        # A kind we do not know (a custom resource): only its metadata is checked.
        namespaced = bool((obj.get("metadata") or {}).get("namespace"))
    causes = validate_object_meta(obj, kind, namespaced, check_name=old is None)
    if not isinstance(obj.get("metadata"), dict):
        return causes       # nothing else can be read safely
    if isinstance(old, dict):
        causes += validate_object_meta_update(obj, old)
    else:
        old = None
    causes += _BY_KIND.get(kind, _nothing)(obj, old)
    return list(dict.fromkeys(causes))      # one report per (field, reason, message)
