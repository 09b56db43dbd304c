"""Validation of Event, Lease, HorizontalPodAutoscaler, Ingress and the RBAC kinds.

As in Kubernetes (pkg/apis/{core,coordination,autoscaling,networking,rbac}/validation):
- an HPA scales between minReplicas >= 1 and maxReplicas >= minReplicas, targets a
  named kind, and each metric names exactly its own source;
- an Ingress path has a pathType, Exact/Prefix paths are absolute, a backend names a
  service and exactly one of a port name or number;
- an RBAC rule has verbs and either resources (with API groups) or, for ClusterRoles
  only, nonResourceURLs; a binding's roleRef never changes (delete and re-create it).
"""
from __future__ import annotations

import ipaddress
import json

from . import quantity
from .validation_container import dict_items
from .validation_field import (
    DNS1123_SUBDOMAIN_FMT, GoValue, check, forbidden, go_repr, invalid, is_dns1035_label,
    is_dns1123_subdomain, is_path_segment_name, is_valid_port_name, is_valid_port_num,
    not_supported, regex_error, required, validate_nonnegative,
)
from .validation_meta import validate_label_selector

RBAC_GROUP = "rbac.authorization.k8s.io"
METRIC_SOURCES = {"ContainerResource": "containerResource", "External": "external",
                  "Object": "object", "Pods": "pods", "Resource": "resource"}


def _spec(obj: dict) -> dict:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def validate_event(obj: dict, old: dict | None) -> list:
    """Core v1 Events: the involved object's namespace must be the event's own (an
    event about a cluster-scoped object may live in `default`). minik8s also requires
    `involvedObject`: every reader (describe, the event recorder) relies on it."""
    involved = obj.get("involvedObject")
    if not isinstance(involved, dict) or not involved:
        return [required("involvedObject", "")]
    ns = (obj.get("metadata") or {}).get("namespace") or ""
    ins = involved.get("namespace") or ""
    if (not ins and ns not in ("", "default")) or (ins and ins != ns):
        return [invalid("involvedObject.namespace", ins, "does not match event.namespace")]
    return []


def validate_lease(obj: dict, old: dict | None) -> list:
    spec, causes = _spec(obj), []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        causes.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    causes += validate_nonnegative(spec.get("leaseTransitions"), "spec.leaseTransitions")
    return causes


# --- HorizontalPodAutoscaler (autoscaling/v2) ---------------------------------------

def validate_hpa(obj: dict, old: dict | None) -> list:
    spec, causes = _spec(obj), []
    lo, hi = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(lo, int) and lo < 1:
        causes.append(invalid("spec.minReplicas", lo, "must be greater than or equal to 1"))
    if not isinstance(hi, int) or hi < 1:
        causes.append(invalid("spec.maxReplicas", hi if hi is not None else 0,
                              "must be greater than 0"))
    elif isinstance(lo, int) and hi < lo:
        causes.append(invalid("spec.maxReplicas", hi,
                              "must be greater than or equal to `minReplicas`"))
    ref = spec.get("scaleTargetRef") if isinstance(spec.get("scaleTargetRef"), dict) else {}
    for f in ("kind", "name"):
        if not ref.get(f):
            causes.append(required(f"spec.scaleTargetRef.{f}", ""))
        else:
            causes += check(f"spec.scaleTargetRef.{f}", ref[f], is_path_segment_name(str(ref[f])))
    for i, metric in dict_items(spec.get("metrics"), "spec.metrics", causes):
        causes += _metric(metric, f"spec.metrics[{i}]")
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for direction in ("scaleUp", "scaleDown"):
            if isinstance(behavior.get(direction), dict):
                causes += _scaling_rules(behavior[direction], f"spec.behavior.{direction}")
    return causes


def _metric(metric: dict, path: str) -> list:
    mtype = metric.get("type")
    if not mtype:
        return [required(path + ".type", "must specify a metric source type")]
    if mtype not in METRIC_SOURCES:
        return [not_supported(path + ".type", mtype, sorted(METRIC_SOURCES))]
    causes = [forbidden(f"{path}.{field}", "must populate the given metric source only")
              for t, field in METRIC_SOURCES.items() if t != mtype and metric.get(field)]
    field = METRIC_SOURCES[mtype]
    source = metric.get(field)
    if not isinstance(source, dict):
        return causes + [required(f"{path}.{field}",
                                  "must populate information for the given metric source")]
    sp = f"{path}.{field}"
    target = source.get("target") if isinstance(source.get("target"), dict) else {}
    causes += _metric_target(target, sp + ".target")
    if mtype in ("Resource", "ContainerResource"):
        if not source.get("name"):
            causes.append(required(sp + ".name", "must specify a resource name"))
        if target.get("averageUtilization") is None and target.get("averageValue") is None:
            causes.append(required(sp + ".target.averageUtilization",
                                   "must set either a target raw value or a target utilization"))
        elif target.get("averageUtilization") is not None and \
                target.get("averageValue") is not None:
            causes.append(forbidden(sp + ".target.averageValue",
                                    "may not set both a target raw value and a target utilization"))
    return causes


def _metric_target(target: dict, path: str) -> list:
    causes = []
    ttype = target.get("type")
    if not ttype:
        causes.append(required(path + ".type", "must specify a metric target type"))
    elif ttype not in ("Utilization", "Value", "AverageValue"):
        causes.append(invalid(path + ".type", ttype,
                              "must be either Utilization, Value, or AverageValue"))
    for f in ("value", "averageValue"):
        if target.get(f) is not None:
            try:
                positive = quantity.parse_quantity(target[f]) > 0
            except (ValueError, TypeError):
                positive = False
            if not positive:
                causes.append(invalid(f"{path}.{f}", GoValue(str(target[f])), "must be positive"))
    util = target.get("averageUtilization")
    if isinstance(util, int) and util < 1:
        causes.append(invalid(path + ".averageUtilization", util, "must be greater than 0"))
    return causes


def _scaling_rules(rules: dict, path: str) -> list:
    causes = []
    window = rules.get("stabilizationWindowSeconds")
    if isinstance(window, int) and not 0 <= window <= 3600:
        causes.append(invalid(path + ".stabilizationWindowSeconds", window,
                              "must be less than or equal to 3600" if window > 0
                              else "must be greater than or equal to zero"))
    policy = rules.get("selectPolicy")
    if policy and policy not in ("Disabled", "Max", "Min"):
        causes.append(not_supported(path + ".selectPolicy", policy, ["Disabled", "Max", "Min"]))
    for i, p in dict_items(rules.get("policies"), path + ".policies", causes):
        pp = f"{path}.policies[{i}]"
        if p.get("type") not in ("Pods", "Percent"):
            causes.append(not_supported(pp + ".type", p.get("type") or "", ["Percent", "Pods"]))
        if not isinstance(p.get("value"), int) or p["value"] <= 0:
            causes.append(invalid(pp + ".value", p.get("value", 0), "must be greater than zero"))
        period = p.get("periodSeconds")
        if not isinstance(period, int) or not 0 < period <= 1800:
            causes.append(invalid(pp + ".periodSeconds", period if period is not None else 0,
                                  "must be greater than zero and less than or equal to 1800"))
    return causes


# --- Ingress (networking.k8s.io/v1) -------------------------------------------------

_WILDCARD_FMT = r"\*\." + DNS1123_SUBDOMAIN_FMT


def validate_ingress(obj: dict, old: dict | None) -> list:
    spec, causes = _spec(obj), []
    if not spec.get("rules") and spec.get("defaultBackend") is None:
        causes.append(invalid("spec", GoValue(go_repr(spec.get("rules") or []) if spec.get(
            "rules") else "[]networking.IngressRule(nil)"),
            "either `defaultBackend` or `rules` must be specified"))
    if spec.get("defaultBackend") is not None:
        causes += _backend(spec["defaultBackend"], "spec.defaultBackend")
    if spec.get("ingressClassName"):
        causes += check("spec.ingressClassName", spec["ingressClassName"],
                        is_dns1123_subdomain(str(spec["ingressClassName"])))
    for i, rule in dict_items(spec.get("rules"), "spec.rules", causes):
        p = f"spec.rules[{i}]"
        host = rule.get("host") or ""
        if host:
            causes += _host(host, p + ".host")
        http = rule.get("http")
        if isinstance(http, dict):
            paths = dict_items(http.get("paths"), p + ".http.paths", causes)
            if not paths:
                causes.append(required(p + ".http.paths", ""))
            for j, path in paths:
                causes += _ingress_path(path, f"{p}.http.paths[{j}]")
    return causes


def _host(host: str, path: str) -> list:
    causes = []
    try:
        ipaddress.ip_address(host)
        causes.append(invalid(path, host, "must be a DNS name, not an IP address"))
    except ValueError:
        pass
    if "*" in host:
        if not (host.startswith("*.") and not is_dns1123_subdomain(host[2:])):
            causes.append(invalid(path, host, regex_error(
                "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS "
                "subdomain, which must consist of lower case alphanumeric characters, '-' or "
                "'.' and end with an alphanumeric character", _WILDCARD_FMT, "*.example.com")))
    else:
        causes += check(path, host, is_dns1123_subdomain(host))
    return causes


def _ingress_path(path: dict, p: str) -> list:
    ptype, value = path.get("pathType"), path.get("path") or ""
    if ptype is None:
        return [required(p + ".pathType", "pathType must be specified")]
    causes = []
    if ptype in ("Exact", "Prefix"):
        if not value.startswith("/"):
            causes.append(invalid(p + ".path", value, "must be an absolute path"))
        for seq in ("//", "/./", "/../", "%2f", "%2F"):
            if seq in value:
                causes.append(invalid(p + ".path", value, f"must not contain '{seq}'"))
        for suffix in ("/..", "/."):
            if value.endswith(suffix):
                causes.append(invalid(p + ".path", value, f"cannot end with '{suffix}'"))
    elif ptype == "ImplementationSpecific":
        if value and not value.startswith("/"):
            causes.append(invalid(p + ".path", value, "must be an absolute path"))
    else:
        causes.append(not_supported(p + ".pathType", ptype,
                                    ["Exact", "ImplementationSpecific", "Prefix"]))
    return causes + _backend(path.get("backend"), p + ".backend")


def _backend(backend, path: str) -> list:
    backend = backend if isinstance(backend, dict) else {}
    service, resource = backend.get("service"), backend.get("resource")
    if service is not None and resource is not None:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if resource is not None:
        return [] if isinstance(resource, dict) and resource.get("kind") and \
            resource.get("name") else [required(path + ".resource", "")]
    if not isinstance(service, dict):
        return [invalid(path, "", "resource or service backend is required")]
    causes = []
    name = service.get("name") or ""
    if not name:
        causes.append(required(path + ".service.name", ""))
    else:
        causes += check(path + ".service.name", name, is_dns1035_label(name))
    port = service.get("port") if isinstance(service.get("port"), dict) else {}
    port_name, number = port.get("name") or "", port.get("number") or 0
    if port_name and number:
        causes.append(invalid(path, "", "cannot set both port name & port number"))
    elif port_name:
        causes += check(path + ".service.port.name", port_name, is_valid_port_name(port_name))
    elif number:
        causes += check(path + ".service.port.number", number, is_valid_port_num(number))
    else:
        causes.append(required(path, "port name or number is required"))
    return causes


# --- RBAC ----------------------------------------------------------------------------

def validate_role(obj: dict, old: dict | None) -> list:
    namespaced = obj.get("kind") == "Role"
    causes: list = []
    for i, rule in dict_items(obj.get("rules"), "rules", causes):
        p = f"rules[{i}]"
        if not rule.get("verbs"):
            causes.append(required(p + ".verbs", "verbs must contain at least one value"))
        urls = rule.get("nonResourceURLs") or []
        if urls:
            value = GoValue(go_repr(list(urls)))
            if namespaced:
                causes.append(invalid(p + ".nonResourceURLs", value,
                                      "namespaced rules cannot apply to non-resource URLs"))
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                causes.append(invalid(p + ".nonResourceURLs", value, "rules cannot apply to both "
                                      "regular resources and non-resource URLs"))
            continue
        if not rule.get("apiGroups"):
            causes.append(required(p + ".apiGroups",
                                   "resource rules must supply at least one api group"))
        if not rule.get("resources"):
            causes.append(required(p + ".resources",
                                   "resource rules must supply at least one resource"))
    aggregation = obj.get("aggregationRule")
    if not namespaced and isinstance(aggregation, dict):
        for i, sel in enumerate(aggregation.get("clusterRoleSelectors") or []):
            causes += validate_label_selector(sel, f"aggregationRule.clusterRoleSelectors[{i}]")
    return causes


def validate_binding(obj: dict, old: dict | None) -> list:
    namespaced = obj.get("kind") == "RoleBinding"
    ref = obj.get("roleRef") if isinstance(obj.get("roleRef"), dict) else {}
    causes = []
    if ref.get("apiGroup") != RBAC_GROUP:
        causes.append(not_supported("roleRef.apiGroup", ref.get("apiGroup") or "", [RBAC_GROUP]))
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        causes.append(not_supported("roleRef.kind", ref.get("kind") or "", kinds))
    if not ref.get("name"):
        causes.append(required("roleRef.name", ""))
    else:
        causes += check("roleRef.name", ref["name"], is_path_segment_name(str(ref["name"])))
    for i, s in dict_items(obj.get("subjects"), "subjects", causes):
        p = f"subjects[{i}]"
        if not s.get("name"):
            causes.append(required(p + ".name", ""))
        kind, group = s.get("kind"), s.get("apiGroup") or ""
        if kind == "ServiceAccount":
            if s.get("name"):
                causes += check(p + ".name", s["name"], is_dns1123_subdomain(str(s["name"])))
            if group:
                causes.append(not_supported(p + ".apiGroup", group, [""]))
            if not namespaced and not s.get("namespace"):
                causes.append(required(p + ".namespace", ""))
        elif kind in ("User", "Group"):
            if group != RBAC_GROUP:
                causes.append(not_supported(p + ".apiGroup", group, [RBAC_GROUP]))
        else:
            causes.append(not_supported(p + ".kind", kind or "",
                                        ["ServiceAccount", "User", "Group"]))
    if old is not None and (old.get("roleRef") or {}) != ref:
        value = GoValue("rbac.RoleRef{" + ", ".join(
            f"{k}:{json.dumps(ref.get(f) or '')}" for k, f in
            (("APIGroup", "apiGroup"), ("Kind", "kind"), ("Name", "name"))) + "}")
        causes.append(invalid("roleRef", value, "cannot change roleRef"))
    return causes
