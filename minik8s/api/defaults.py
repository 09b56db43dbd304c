"""Defaulting: the values the API server fills in when a manifest leaves them out.

In Kubernetes every API group has a `defaults.go` (pkg/apis/<group>/v1/defaults.go)
whose `SetDefaults_<Kind>` functions run when a request body is decoded, before
admission and validation. That is why `kubectl get deploy web -o yaml` shows
`replicas: 1`, `strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%,
maxUnavailable: 25%}}` and a pod template full of `imagePullPolicy`,
`terminationMessagePath`... that nobody wrote.

Here `apply_defaults(obj)` does the same in place, dispatching on `kind`; unknown
kinds are left alone. Pod templates inside workloads get exactly the PodSpec
defaults a Pod gets (defaults_pod.py), because the Deployment controller compares
templates and would otherwise see a change where there is none.

A few things Kubernetes does outside defaults.go are done here too, because the
result is what clients see and no other stage of minik8s does them: a Service's
`ipFamilies`/`ipFamilyPolicy` (the Service REST storage), a Namespace's
`spec.finalizers` (its create strategy), a Secret's `stringData` folded into `data`
(v1 conversion), a Job's generated selector (its create strategy, once the uid
exists). ClusterIP and NodePort allocation is admission's, not ours.

Invariant: apply_defaults is idempotent, and never raises on a malformed object
(validation reports what is wrong).
"""
from __future__ import annotations

import base64

from .defaults_pod import (  # noqa: F401  (normalize_template is re-exported)
    canonical_quantities, default_pod, default_pod_template, normalize_template,
)

RBAC_GROUP = "rbac.authorization.k8s.io"


def apply_defaults(obj: dict) -> None:
    """Fill in the defaults of one API object, in place."""
    if not isinstance(obj, dict):
        return
    fn = _BY_KIND.get(obj.get("kind"))
    if fn is not None:
        fn(obj)


def _child(parent: dict, key: str) -> dict | None:
    """parent[key] as a dict, created when missing; None when it is not a dict."""
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    return value if isinstance(value, dict) else None


def _spec(obj: dict) -> dict | None:
    return _child(obj, "spec")


def _set(d: dict, key: str, value) -> None:
    if d.get(key) is None:
        d[key] = value


def _template(spec: dict | None) -> None:
    if spec is not None and isinstance(spec.get("template"), dict):
        default_pod_template(spec["template"])


# --- apps/v1 --------------------------------------------------------------------

def _rolling_update(strategy: dict | None, *, max_unavailable, max_surge) -> None:
    """Type RollingUpdate unless set; a RollingUpdate gets its two bounds (a Recreate
    or OnDelete strategy gets no rollingUpdate at all)."""
    if strategy is None:
        return
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = _child(strategy, "rollingUpdate")
        if rolling is not None:
            _set(rolling, "maxUnavailable", max_unavailable)
            _set(rolling, "maxSurge", max_surge)


def _deployment(obj: dict) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    _set(spec, "replicas", 1)
    _rolling_update(_child(spec, "strategy"), max_unavailable="25%", max_surge="25%")
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    _template(spec)


def _replicaset(obj: dict) -> None:
    spec = _spec(obj)
    if spec is not None:
        _set(spec, "replicas", 1)
        _template(spec)


def _statefulset(obj: dict) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    strategy = _child(spec, "updateStrategy")
    if strategy is not None:
        # Only a defaulted type gets a defaulted rollingUpdate (as in Kubernetes): an
        # explicit `type: RollingUpdate` without rollingUpdate stays without one.
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
            _child(strategy, "rollingUpdate")
        rolling = strategy.get("rollingUpdate")
        if strategy["type"] == "RollingUpdate" and isinstance(rolling, dict):
            _set(rolling, "partition", 0)
    retention = _child(spec, "persistentVolumeClaimRetentionPolicy")
    if retention is not None:
        for key in ("whenDeleted", "whenScaled"):
            if not retention.get(key):
                retention[key] = "Retain"
    _set(spec, "replicas", 1)
    _set(spec, "revisionHistoryLimit", 10)
    _template(spec)
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            _pvc(claim)


def _daemonset(obj: dict) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    _rolling_update(_child(spec, "updateStrategy"), max_unavailable=1, max_surge=0)
    _set(spec, "revisionHistoryLimit", 10)
    _template(spec)


# --- batch/v1 -------------------------------------------------------------------

JOB_UID_LABEL = "batch.kubernetes.io/controller-uid"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def _job(obj: dict) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    # A non-parallel job may leave both unset: then both are 1. Setting only
    # parallelism leaves completions unset ("work queue" jobs), as in Kubernetes.
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    _set(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    _set(spec, "completionMode", "NonIndexed")
    _set(spec, "suspend", False)
    _set(spec, "podReplacementPolicy",
         "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    _job_labels_from_template(obj, spec)
    _template(spec)
    _generate_job_selector(obj, spec)
    # Kubernetes defaults again when it reads the job back, by then the template
    # carries the generated labels: a job created without labels shows those.
    _job_labels_from_template(obj, spec)


def _job_labels_from_template(obj: dict, spec: dict) -> None:
    """A job without labels of its own takes its template's labels."""
    meta = _child(obj, "metadata")
    template = spec.get("template")
    tmeta = template.get("metadata") if isinstance(template, dict) else None
    if meta is not None and isinstance(tmeta, dict) and isinstance(tmeta.get("labels"), dict) \
            and not meta.get("labels"):
        meta["labels"] = dict(tmeta["labels"])


def _generate_job_selector(obj: dict, spec: dict) -> None:
    """The Job strategy's generateSelector: unless `manualSelector: true`, the selector
    is the job's uid, and the template carries it (plus the job name). Needs the uid,
    so it only happens once the server has assigned one."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    uid, name = meta.get("uid"), meta.get("name", "")
    template = spec.get("template")
    if spec.get("manualSelector") is True or not uid or not isinstance(template, dict):
        return
    tmeta = _child(template, "metadata")
    labels = _child(tmeta, "labels") if tmeta is not None else None
    if labels is None:
        return
    for key, value in ((JOB_UID_LABEL, uid), (JOB_NAME_LABEL, name),
                       ("controller-uid", uid), ("job-name", name)):
        labels.setdefault(key, value)
    if spec.get("selector") is None:
        spec["selector"] = {"matchLabels": {JOB_UID_LABEL: uid}}


def _cronjob(obj: dict) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    _set(spec, "suspend", False)
    _set(spec, "successfulJobsHistoryLimit", 3)
    _set(spec, "failedJobsHistoryLimit", 1)
    # Only the pod template inside jobTemplate is defaulted, not the JobSpec
    # (SetDefaults_Job runs on Jobs, not on JobTemplateSpecs).
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict) and isinstance(job_template.get("spec"), dict):
        _template(job_template["spec"])


# --- core/v1 --------------------------------------------------------------------

def _service(obj: dict) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    stype = spec["type"]
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "ClientIP":
        config = _child(spec, "sessionAffinityConfig")
        client_ip = _child(config, "clientIP") if config is not None else None
        if client_ip is not None:
            _set(client_ip, "timeoutSeconds", 10800)
    for p in spec.get("ports") or []:
        if not isinstance(p, dict):
            continue
        if not p.get("protocol"):
            p["protocol"] = "TCP"
        if p.get("targetPort") in (None, 0, ""):
            p["targetPort"] = p.get("port")
    if stype in ("NodePort", "LoadBalancer") and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if stype in ("ClusterIP", "NodePort", "LoadBalancer"):
        _set(spec, "internalTrafficPolicy", "Cluster")
    if stype == "LoadBalancer":
        _set(spec, "allocateLoadBalancerNodePorts", True)
    if stype != "ExternalName":
        # Single-stack IPv4 cluster. A headless service without a selector may serve
        # any family, so Kubernetes gives it RequireDualStack.
        headless_no_selector = spec.get("clusterIP") == "None" and not spec.get("selector")
        _set(spec, "ipFamilyPolicy", "RequireDualStack" if headless_no_selector
             else "SingleStack")
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]


def _namespace(obj: dict) -> None:
    meta = _child(obj, "metadata")
    if meta is not None and meta.get("name"):
        labels = _child(meta, "labels")
        if labels is not None:
            labels["kubernetes.io/metadata.name"] = meta["name"]
    spec = _spec(obj)
    # Set at creation only in Kubernetes; once the namespace is being deleted the
    # namespace controller removes it through `finalize`, and it must stay removed.
    if spec is not None and "finalizers" not in spec and \
            not (meta or {}).get("deletionTimestamp"):
        spec["finalizers"] = ["kubernetes"]
    status = _child(obj, "status")
    if status is not None and not status.get("phase"):
        status["phase"] = "Active"


def _secret(obj: dict) -> None:
    if not obj.get("type"):
        obj["type"] = "Opaque"
    # `stringData` is write-only: the v1 conversion folds it into `data`, encoded.
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = _child(obj, "data")
        if data is not None:
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()


def _pv(obj: dict) -> None:
    spec = _spec(obj)
    if spec is not None:
        if not spec.get("persistentVolumeReclaimPolicy"):
            spec["persistentVolumeReclaimPolicy"] = "Retain"
        if not spec.get("volumeMode"):
            spec["volumeMode"] = "Filesystem"
        canonical_quantities(spec.get("capacity"))
    status = _child(obj, "status")
    if status is not None and not status.get("phase"):
        status["phase"] = "Pending"


def _pvc(obj: dict) -> None:
    spec = _spec(obj)
    if spec is not None and not spec.get("volumeMode"):
        spec["volumeMode"] = "Filesystem"
    if spec is not None and isinstance(spec.get("resources"), dict):
        for part in ("limits", "requests"):
            canonical_quantities(spec["resources"].get(part))
    status = _child(obj, "status")
    if status is not None and not status.get("phase"):
        status["phase"] = "Pending"


def _endpoints(obj: dict) -> None:
    for subset in obj.get("subsets") or []:
        for p in (subset.get("ports") or []) if isinstance(subset, dict) else []:
            if isinstance(p, dict) and not p.get("protocol"):
                p["protocol"] = "TCP"


def _node(obj: dict) -> None:
    status = obj.get("status")
    if isinstance(status, dict) and status.get("allocatable") is None \
            and isinstance(status.get("capacity"), dict):
        status["allocatable"] = dict(status["capacity"])


# --- autoscaling/v2, rbac -------------------------------------------------------

def _hpa(obj: dict) -> None:
    spec = _spec(obj)
    if spec is None:
        return
    _set(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        # Once `behavior` is given, every unset part of it gets the default rules.
        for direction, window, policies in (
                ("scaleUp", 0, [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                {"type": "Percent", "value": 100, "periodSeconds": 15}]),
                ("scaleDown", 300, [{"type": "Percent", "value": 100, "periodSeconds": 15}])):
            rules = _child(behavior, direction)
            if rules is not None:
                _set(rules, "stabilizationWindowSeconds", window)
                if not rules.get("selectPolicy"):
                    rules["selectPolicy"] = "Max"
                _set(rules, "policies", policies)


def _binding(obj: dict) -> None:
    role_ref = obj.get("roleRef")
    if isinstance(role_ref, dict) and not role_ref.get("apiGroup"):
        role_ref["apiGroup"] = RBAC_GROUP
    for s in obj.get("subjects") or []:
        # A ServiceAccount subject's group is "" (the core group): left unset.
        if isinstance(s, dict) and not s.get("apiGroup") and s.get("kind") in ("User", "Group"):
            s["apiGroup"] = RBAC_GROUP


_BY_KIND = {
    "Pod": default_pod,
    "Deployment": _deployment,
    "ReplicaSet": _replicaset,
    "StatefulSet": _statefulset,
    "DaemonSet": _daemonset,
    "Job": _job,
    "CronJob": _cronjob,
    "Service": _service,
    "Namespace": _namespace,
    "Secret": _secret,
    "PersistentVolume": _pv,
    "PersistentVolumeClaim": _pvc,
    "Endpoints": _endpoints,
    "Node": _node,
    "HorizontalPodAutoscaler": _hpa,
    "RoleBinding": _binding,
    "ClusterRoleBinding": _binding,
}
# Nothing to default (as in Kubernetes): ConfigMap, Event, ServiceAccount,
# ControllerRevision, Lease, Ingress (v1 has no pathType default), Role, ClusterRole.
