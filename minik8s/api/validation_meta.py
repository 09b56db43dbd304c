"""Validation of object metadata, labels, annotations and label selectors.

In Kubernetes `ValidateObjectMeta` runs for every kind before its own rules: the
name must be given (or `generateName`) and fit the kind's name rule, a namespaced
object needs a namespace, labels and annotation keys must be qualified names, label
values short and tame, annotations at most 256 KiB in total, owner references
complete with at most one controller. On update, name, namespace, uid and
creationTimestamp may not change.

Name rules differ per kind, as in Kubernetes: most kinds use a DNS-1123 subdomain;
a Namespace is a DNS-1123 label (it becomes a DNS label in service names); a
Service is a DNS-1035 label (it must start with a letter, because it becomes an
environment variable prefix and a DNS name); RBAC kinds and HPAs only need to be
one URL path segment.

Cluster-scoped kinds: kube-apiserver clears `metadata.namespace` before validation
(rest.BeforeCreate), and ValidateObjectMeta would reject one that is left with
`Forbidden: not allowed on this type`. We do the same: the API server clears it,
validation rejects it if it is still there.
"""
from __future__ import annotations

import json

from .validation_field import (
    GoValue, check, forbidden, go_repr, immutable, invalid, is_dns1035_label, is_dns1123_label,
    is_dns1123_subdomain, is_path_segment_name, is_qualified_name, is_valid_label_value,
    required, too_long, type_invalid, validate_nonnegative,
)

# Kinds whose names are not DNS-1123 subdomains (the default).
NAME_RULES = {
    "Namespace": is_dns1123_label,
    "Service": is_dns1035_label,
    "StatefulSet": is_dns1123_label,     # its pods' names are hostnames: <name>-<ordinal>
    "Role": is_path_segment_name,
    "RoleBinding": is_path_segment_name,
    "ClusterRole": is_path_segment_name,
    "ClusterRoleBinding": is_path_segment_name,
    "HorizontalPodAutoscaler": is_path_segment_name,
}


def name_errors(kind: str, name: str, prefix: bool = False) -> list:
    """The kind's name rule. With `prefix` (generateName) a trailing '-' is allowed,
    since random characters will follow it (apimachinery's maskTrailingDash)."""
    rule = NAME_RULES.get(kind, is_dns1123_subdomain)
    if prefix and rule is not is_path_segment_name and len(name) > 1 and name.endswith("-"):
        name = name[:-1] + "a"
    return rule(name)


def validate_object_meta(obj: dict, kind: str, namespaced: bool, check_name: bool = True) -> list:
    """ValidateObjectMeta. On update (check_name=False) the name's format is not
    checked again: it cannot change, and an old object must stay deletable."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [required("metadata", "")] if meta is None else \
            [type_invalid("metadata", meta, "must be an object")]
    causes = []
    gen_name = meta.get("generateName") or ""
    if gen_name:
        causes += check("metadata.generateName", gen_name, name_errors(kind, gen_name, True))
    name = meta.get("name") or ""
    if not name:
        causes.append(required("metadata.name", "name or generateName is required"))
    elif not isinstance(name, str):
        causes.append(type_invalid("metadata.name", name, "must be a string"))
    elif check_name:
        causes += check("metadata.name", name, name_errors(kind, name))
    ns = meta.get("namespace") or ""
    if namespaced:
        if not ns:
            causes.append(required("metadata.namespace", ""))
        else:
            causes += check("metadata.namespace", ns, is_dns1123_label(str(ns)))
    elif ns:
        causes.append(forbidden("metadata.namespace", "not allowed on this type"))
    causes += validate_nonnegative(meta.get("generation"), "metadata.generation")
    causes += validate_labels(meta.get("labels"), "metadata.labels")
    causes += validate_annotations(meta.get("annotations"), "metadata.annotations")
    causes += validate_owner_references(meta.get("ownerReferences"), "metadata.ownerReferences")
    for f in meta.get("finalizers") or []:
        causes += check("metadata.finalizers", f, is_qualified_name(str(f)))
    return causes


def validate_object_meta_update(obj: dict, old: dict) -> list:
    meta, old_meta = obj.get("metadata") or {}, old.get("metadata") or {}
    causes = []
    for f in ("name", "namespace", "uid", "creationTimestamp"):
        new_v, old_v = meta.get(f) or "", old_meta.get(f) or ""
        # A client may leave uid/creationTimestamp out; the server keeps the old ones.
        if f in ("uid", "creationTimestamp") and not new_v:
            continue
        if new_v != old_v:
            causes.append(immutable(f"metadata.{f}", new_v))
    return causes


def validate_owner_references(refs, path: str) -> list:
    """Each reference complete; at most one with `controller: true`. Kubernetes reports
    these at the list's path, without an index."""
    if not refs:
        return []
    if not isinstance(refs, list):
        return [type_invalid(path, refs, "must be a list of owner references")]
    causes, first = [], ""
    for ref in refs:
        ref = ref if isinstance(ref, dict) else {}
        version = (ref.get("apiVersion") or "").rpartition("/")[2]
        if not version:
            causes.append(invalid(path + ".apiVersion", ref.get("apiVersion") or "",
                                  "version must not be empty"))
        for f in ("kind", "name", "uid"):
            if not ref.get(f):
                causes.append(invalid(f"{path}.{f}", ref.get(f) or "", f"{f} must not be empty"))
        if ref.get("controller"):
            current = f"{ref.get('kind')}/{ref.get('name')}"
            if first:
                # The bad value is the whole []OwnerReference; Go prints every struct.
                causes.append(invalid(path, GoValue("[]v1.OwnerReference{...}"),
                                      'Only one reference can have Controller set to true. '
                                      f'Found "true" in references for {first} and {current}'))
            else:
                first = current
    return causes


def validate_labels(labels, path: str) -> list:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [type_invalid(path, labels, "must be a map of string to string")]
    causes = []
    for k, v in labels.items():
        causes += check(path, k, is_qualified_name(str(k)))
        if not isinstance(v, str):
            causes.append(type_invalid(path, v, "must be a string"))
        else:
            causes += check(path, v, is_valid_label_value(v))
    return causes


TOTAL_ANNOTATION_SIZE = 256 * 1024


def validate_annotations(annotations, path: str) -> list:
    if annotations is None:
        return []
    if not isinstance(annotations, dict):
        return [type_invalid(path, annotations, "must be a map of string to string")]
    causes, total = [], 0
    for k, v in annotations.items():
        causes += check(path, k, is_qualified_name(str(k).lower()))
        if not isinstance(v, str):
            causes.append(type_invalid(path, v, "must be a string"))
            v = str(v)
        total += len(k) + len(v)
    if total > TOTAL_ANNOTATION_SIZE:
        causes.append(too_long(path, TOTAL_ANNOTATION_SIZE))
    return causes


SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_selector(selector, path: str) -> list:
    """metav1 LabelSelector: matchLabels and matchExpressions."""
    if not isinstance(selector, dict):
        return [type_invalid(path, selector, "must be a label selector object")]
    causes = validate_labels(selector.get("matchLabels"), path + ".matchLabels")
    exprs = selector.get("matchExpressions") or []
    for i, e in enumerate(exprs if isinstance(exprs, list) else []):
        p = f"{path}.matchExpressions[{i}]"
        op, values = e.get("operator"), e.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                causes.append(required(p + ".values", "must be specified when `operator` is "
                                                      "'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                causes.append(forbidden(p + ".values", "may not be specified when `operator` "
                                                       "is 'Exists' or 'DoesNotExist'"))
        else:
            causes.append(invalid(p + ".operator", op, "not a valid selector operator"))
        causes += check(p + ".key", e.get("key"), is_qualified_name(str(e.get("key") or "")))
        for v in values:
            causes += check(p + ".values", v, is_valid_label_value(str(v)))
    return causes


def selector_is_empty(selector) -> bool:
    return not (selector.get("matchLabels") or selector.get("matchExpressions"))


def selector_matches(selector: dict, labels: dict | None) -> bool:
    """Does a LabelSelector select these labels? (An empty selector selects everything.)"""
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selector_repr(selector) -> GoValue:
    """How a *metav1.LabelSelector prints in an error: `v1.LabelSelector{...}`."""
    selector = selector if isinstance(selector, dict) else {}
    ml = selector.get("matchLabels")
    ml_text = go_repr(ml) if ml else "map[string]string(nil)"
    exprs = selector.get("matchExpressions") or []
    if exprs:
        parts = [f'v1.LabelSelectorRequirement{{Key:{json.dumps(e.get("key", ""))}, '
                 f'Operator:{json.dumps(e.get("operator", ""))}, '
                 f'Values:{go_repr(e.get("values") or [])}}}' for e in exprs]
        ex_text = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    else:
        ex_text = "[]v1.LabelSelectorRequirement(nil)"
    return GoValue(f"v1.LabelSelector{{MatchLabels:{ml_text}, MatchExpressions:{ex_text}}}")


