"""Defaulting of pod specs, for Pods and for the pod templates inside workloads.

In Kubernetes, pkg/apis/core/v1/defaults.go fills in what a manifest leaves out, the
moment the API server decodes it: `restartPolicy: Always`, `dnsPolicy: ClusterFirst`,
`imagePullPolicy` from the image tag, probe timings, `protocol: TCP` on ports,
`defaultMode: 420` on configMap/secret volumes... The same PodSpec defaults run on
the template inside a Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and
CronJob, which is why `kubectl get deploy -o yaml` shows them there too.

A few defaults are **Pod-only** in Kubernetes (SetDefaults_Pod, not PodSpec):
requests copied from limits, `enableServiceLinks: true`, hostPorts for hostNetwork
pods. We keep that split, or a template would differ from what kube-apiserver stores.
`serviceAccountName: default` is set by the ServiceAccount admission plugin in
Kubernetes (pods only); minik8s has no separate plugin for it, so it is done here.

`normalize_template` is what the Deployment controller hashes: the defaulted
template without nulls, empty maps/lists or the `pod-template-hash` label, so a
template sent back by `kubectl rollout undo` (with `"creationTimestamp": null` and
`"resources": {}`) hashes the same as the original.

Invariant: every function here is idempotent — defaulting a defaulted spec is a no-op.
"""
from __future__ import annotations

import copy

from . import quantity

DEFAULT_MODE = 0o644   # 420: configMap, secret, projected and downwardAPI volumes
POD_TEMPLATE_HASH = "pod-template-hash"

_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def _unset(d: dict, key: str) -> bool:
    """Go's zero value check: missing, null, "" or 0 all count as unset."""
    return d.get(key) in (None, "", 0) and not isinstance(d.get(key), bool)


def _dicts(value) -> list:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def default_pod(pod: dict) -> None:
    """SetObjectDefaults_Pod: the PodSpec defaults plus the Pod-only ones."""
    spec = pod.get("spec")
    if spec is None:
        spec = pod["spec"] = {}
    if not isinstance(spec, dict):
        return
    default_pod_spec(spec)
    all_containers = _dicts(spec.get("containers")) + _dicts(spec.get("initContainers"))
    for c in all_containers:
        _requests_from_limits(c)
        if spec.get("hostNetwork") is True:
            # With the node's network the container port *is* a host port.
            for p in _dicts(c.get("ports")):
                if _unset(p, "hostPort"):
                    p["hostPort"] = p.get("containerPort")
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = "default"      # ServiceAccount admission
        spec["serviceAccount"] = "default"


def default_pod_template(template) -> None:
    """The defaults of a PodTemplateSpec (no Pod-only ones)."""
    if not isinstance(template, dict):
        return
    spec = template.get("spec")
    if spec is None:
        spec = template["spec"] = {}
    if isinstance(spec, dict):
        default_pod_spec(spec)


def default_pod_spec(spec: dict) -> None:
    """SetDefaults_PodSpec and the defaults of everything a PodSpec contains."""
    if _unset(spec, "dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if _unset(spec, "restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if _unset(spec, "schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    # v1 conversion: the deprecated `serviceAccount` mirrors `serviceAccountName`.
    if not spec.get("serviceAccountName") and spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for c in _dicts(spec.get(key)):
            default_container(c)
    for v in _dicts(spec.get("volumes")):
        default_volume(v)


def image_tag(image: str) -> str:
    """The tag of an image reference, as the kubelet's ParseImageName sees it:
    "latest" when there is neither tag nor digest, "" for a digest-only reference."""
    name, at, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]             # a registry "host:5000/" has a colon too
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return "" if at else "latest"


def default_container(c: dict) -> None:
    """SetDefaults_Container and what a Container holds."""
    if _unset(c, "imagePullPolicy"):
        image = c.get("image") if isinstance(c.get("image"), str) else ""
        c["imagePullPolicy"] = "Always" if image and image_tag(image) == "latest" \
            else "IfNotPresent"
    if _unset(c, "terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if _unset(c, "terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    if c.get("resources") is None:
        c["resources"] = {}    # a struct in Go: always printed, even empty
    if isinstance(c["resources"], dict):
        for part in ("limits", "requests"):
            canonical_quantities(c["resources"].get(part))
    for p in _dicts(c.get("ports")):
        if _unset(p, "protocol"):
            p["protocol"] = "TCP"
    for e in _dicts(c.get("env")):
        field_ref = (e.get("valueFrom") or {}).get("fieldRef") if \
            isinstance(e.get("valueFrom"), dict) else None
        if isinstance(field_ref, dict) and _unset(field_ref, "apiVersion"):
            field_ref["apiVersion"] = "v1"
    for name in _PROBES:
        if isinstance(c.get(name), dict):
            default_probe(c[name])
    lifecycle = c.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            if isinstance(lifecycle.get(hook), dict):
                _default_handler(lifecycle[hook])


def default_probe(probe: dict) -> None:
    """SetDefaults_Probe: `== 0` checks in Go, so an explicit 0 is defaulted too."""
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10),
                       ("successThreshold", 1), ("failureThreshold", 3)):
        if _unset(probe, key):
            probe[key] = value
    _default_handler(probe)


def _default_handler(handler: dict) -> None:
    http = handler.get("httpGet")
    if isinstance(http, dict):
        if _unset(http, "path"):
            http["path"] = "/"
        if _unset(http, "scheme"):
            http["scheme"] = "HTTP"
    grpc = handler.get("grpc")
    if isinstance(grpc, dict) and grpc.get("service") is None:
        grpc["service"] = ""


def default_volume(v: dict) -> None:
    """A volume with no source is an emptyDir; file-projecting sources get mode 0644."""
    sources = [k for k, val in v.items() if k != "name" and val is not None]
    if not sources:
        v["emptyDir"] = {}
    for key in ("configMap", "secret", "downwardAPI", "projected"):
        src = v.get(key)
        if isinstance(src, dict) and src.get("defaultMode") is None:
            src["defaultMode"] = DEFAULT_MODE
    for item in _dicts((v.get("downwardAPI") or {}).get("items")
                       if isinstance(v.get("downwardAPI"), dict) else None):
        if isinstance(item.get("fieldRef"), dict) and _unset(item["fieldRef"], "apiVersion"):
            item["fieldRef"]["apiVersion"] = "v1"
    host_path = v.get("hostPath")
    if isinstance(host_path, dict) and host_path.get("type") is None:
        host_path["type"] = ""


def canonical_quantities(values) -> None:
    """Quantities are stored in canonical form, as kube-apiserver's decoder writes them
    back: `cpu: 0.5` reads back as `500m`, `memory: 1024Mi` as `1Gi`, a YAML number
    as a string. Unparseable values are left for validation to report."""
    if not isinstance(values, dict):
        return
    for name, q in values.items():
        if isinstance(q, bool) or not isinstance(q, (str, int, float)):
            continue
        try:
            values[name] = quantity.canonicalize(q if isinstance(q, str) else str(q))
        except (ValueError, TypeError, KeyError):
            pass


def _requests_from_limits(c: dict) -> None:
    """A container that sets only limits gets requests equal to them (Pods only)."""
    res = c.get("resources")
    if not isinstance(res, dict) or not isinstance(res.get("limits"), dict) or not res["limits"]:
        return
    requests = res.get("requests")
    if not isinstance(requests, dict):
        requests = res["requests"] = {}
    for name, q in res["limits"].items():
        requests.setdefault(name, q)


# --- template normalisation (what the Deployment controller hashes) -------------

def normalize_template(template: dict) -> dict:
    """A copy of a pod template: defaulted, without nulls, empty maps or lists, and
    without the `pod-template-hash` label. Two templates that mean the same pods
    normalise to equal dicts; normalize_template(normalize_template(t)) == it."""
    t = copy.deepcopy(template) if isinstance(template, dict) else {}
    default_pod_template(t)
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    return _prune(t)


def _prune(value):
    """Drop None values and empty containers, bottom-up (so {"a": {"b": None}} -> {})."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _prune(v)
            if v is None or (isinstance(v, (dict, list)) and not v):
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value
