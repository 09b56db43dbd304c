"""Validation of the apps/v1 workloads: Deployment, ReplicaSet, StatefulSet,
DaemonSet and ControllerRevision (Jobs and CronJobs are in validation_batch.py).

As in pkg/apis/apps/validation: a workload's
selector is required and not empty, and must select its own template's pods
(`spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}:
`selector` does not match template `labels``) — otherwise the controller would
create pods it can never count. Long-running workloads need `restartPolicy:
Always`. A rolling update must be able to make
progress: maxSurge and maxUnavailable may not both be 0.

On update the selector of apps/v1 workloads is immutable: changing it
would orphan every pod the workload owns.
"""
from __future__ import annotations

from . import intstr
from .selectors import selector_from_dict
from .validation_field import (
    NEGATIVE, GoValue, forbidden, go_repr, immutable, int_field, invalid, is_valid_percent,
    not_supported, required, validate_nonnegative,
)
from .validation_meta import (
    selector_is_empty, selector_repr, validate_annotations, validate_label_selector,
    validate_labels,
)
from .validation_pod import validate_pod_template


def spec_of(obj: dict) -> dict:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _labels_repr(template) -> GoValue:
    labels = ((template or {}).get("metadata") or {}).get("labels") if \
        isinstance(template, dict) else None
    return GoValue(go_repr(labels) if isinstance(labels, dict) else "map[string]string(nil)")


def template_spec_of(spec: dict) -> dict:
    t = spec.get("template")
    s = t.get("spec") if isinstance(t, dict) else None
    return s if isinstance(s, dict) else {}


def validate_selector_and_template(spec: dict, path: str, word: str | None, *,
                                   required_selector: bool = True, template: str = "full") -> list:
    """Selector present, valid and (unless `word` is None) non-empty; it selects the
    template's labels; then the template itself: "full" (ValidatePodTemplateSpec),
    "meta" (labels and annotations only, as for StatefulSets) or "none"."""
    causes = []
    sel = spec.get("selector")
    tpath = path + ".template"
    if sel is None:
        if required_selector:
            causes.append(required(path + ".selector", ""))
    else:
        causes += validate_label_selector(sel, path + ".selector")
        if word and isinstance(sel, dict) and selector_is_empty(sel):
            causes.append(invalid(path + ".selector", selector_repr(sel),
                                  f"empty selector is invalid for {word}"))
    try:
        selector = selector_from_dict(sel if isinstance(sel, dict) or sel is None else {})
    except Exception:       # LabelSelectorAsSelector failed: the template is not checked
        return causes + [invalid(path + ".selector", selector_repr(sel), "invalid label selector")]
    tmpl = spec.get("template")
    labels = ((tmpl or {}).get("metadata") or {}).get("labels") if isinstance(tmpl, dict) else None
    if not selector.empty and not selector.matches(labels if isinstance(labels, dict) else {}):
        causes.append(invalid(tpath + ".metadata.labels", _labels_repr(tmpl),
                              "`selector` does not match template `labels`"))
    if template == "full":
        causes += validate_pod_template(tmpl, tpath)
    elif template == "meta" and isinstance(tmpl, dict):
        meta = tmpl.get("metadata") or {}
        causes += validate_labels(meta.get("labels"), tpath + ".labels")
        causes += validate_annotations(meta.get("annotations"), tpath + ".annotations")
    return causes


def _always_restart(spec: dict, path: str, kind: str) -> list:
    tspec = template_spec_of(spec)
    causes = []
    if tspec.get("restartPolicy") != "Always":
        causes.append(not_supported(path + ".template.spec.restartPolicy",
                                    tspec.get("restartPolicy") or "", ["Always"]))
    if tspec.get("activeDeadlineSeconds") is not None:
        causes.append(forbidden(path + ".template.spec.activeDeadlineSeconds",
                                f"activeDeadlineSeconds in {kind} is not Supported"))
    return causes


def positive_int_or_percent(value, path: str) -> list:
    """ValidatePositiveIntOrPercent."""
    if isinstance(value, str):
        return [invalid(path, GoValue(intstr.go_repr(value)), m) for m in is_valid_percent(value)]
    if isinstance(value, int) and not isinstance(value, bool):
        return [invalid(path, value, NEGATIVE)] if value < 0 else []
    return [invalid(path, GoValue(intstr.go_repr(0)),
                    "must be an integer or percentage (e.g '5%')")]


def not_more_than_100_percent(value, path: str) -> list:
    p = intstr.percent_value(value)
    if p is None or p <= 100:
        return []
    return [invalid(path, GoValue(intstr.go_repr(value)), "must not be greater than 100%")]


# --- Deployment / ReplicaSet ------------------------------------------------------

def validate_replicaset(obj: dict, old: dict | None) -> list:
    spec, p = spec_of(obj), "spec"
    causes = validate_nonnegative(spec.get("replicas"), "spec.replicas")
    causes += validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    # Kubernetes' ReplicaSet message says "deployment" too (shared code).
    causes += validate_selector_and_template(spec, p, "deployment")
    causes += _always_restart(spec, p, "ReplicaSet")
    return causes + _selector_immutable(obj, old)


def validate_deployment(obj: dict, old: dict | None) -> list:
    spec = spec_of(obj)
    causes = validate_nonnegative(spec.get("replicas"), "spec.replicas")
    causes += validate_selector_and_template(spec, "spec", "deployment")
    causes += _always_restart(spec, "spec", "ReplicaSet")
    causes += _deployment_strategy(spec.get("strategy"), "spec.strategy")
    causes += validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    causes += validate_nonnegative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is not None and int_field(deadline, "spec.progressDeadlineSeconds", causes):
        causes += validate_nonnegative(deadline, "spec.progressDeadlineSeconds")
        min_ready = spec.get("minReadySeconds") or 0
        if isinstance(min_ready, int) and deadline <= min_ready:
            causes.append(invalid("spec.progressDeadlineSeconds", deadline,
                                  "must be greater than minReadySeconds"))
    return causes + _selector_immutable(obj, old)


def _deployment_strategy(strategy, path: str) -> list:
    strategy = strategy if isinstance(strategy, dict) else {}
    stype, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    if stype == "Recreate":
        if rolling is not None:
            return [forbidden(path + ".rollingUpdate",
                              "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if stype == "RollingUpdate":
        if not isinstance(rolling, dict):
            return [required(path + ".rollingUpdate", "this should be defaulted and never be nil")]
        rp = path + ".rollingUpdate"
        unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
        causes = positive_int_or_percent(unavailable, rp + ".maxUnavailable")
        causes += positive_int_or_percent(surge, rp + ".maxSurge")
        if intstr.int_or_percent_value(unavailable) == 0 and \
                intstr.int_or_percent_value(surge) == 0:
            causes.append(invalid(rp + ".maxUnavailable", GoValue(intstr.go_repr(unavailable)),
                                  "may not be 0 when `maxSurge` is 0"))
        return causes + not_more_than_100_percent(unavailable, rp + ".maxUnavailable")
    rolling_text = "(*apps.RollingUpdateDeployment)(nil)" if rolling is None else \
        "&apps.RollingUpdateDeployment{...}"
    value = GoValue(f'apps.DeploymentStrategy{{Type:{go_repr(stype or "")}, '
                    f'RollingUpdate:{rolling_text}}}')
    return [not_supported(path, value, ["Recreate", "RollingUpdate"])]


def _selector_immutable(obj: dict, old: dict | None) -> list:
    if old is None:
        return []
    new_sel, old_sel = spec_of(obj).get("selector"), spec_of(old).get("selector")
    if new_sel != old_sel:
        return [immutable("spec.selector", selector_repr(new_sel))]
    return []


# --- StatefulSet / DaemonSet ------------------------------------------------------

_STS_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy",
                "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def validate_statefulset(obj: dict, old: dict | None) -> list:
    spec, causes = spec_of(obj), []
    policy = spec.get("podManagementPolicy")
    if not policy:
        causes.append(required("spec.podManagementPolicy", ""))
    elif policy not in ("OrderedReady", "Parallel"):
        causes.append(invalid("spec.podManagementPolicy", policy,
                              "must be 'OrderedReady' or 'Parallel'"))
    strategy = spec.get("updateStrategy") if isinstance(spec.get("updateStrategy"), dict) else {}
    stype, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    if not stype:
        causes.append(required("spec.updateStrategy", ""))
    elif stype == "OnDelete":
        if rolling is not None:
            causes.append(invalid("spec.updateStrategy.rollingUpdate",
                                  GoValue("&apps.RollingUpdateStatefulSetStrategy{...}"),
                                  "only allowed for updateStrategy 'RollingUpdate'"))
    elif stype == "RollingUpdate":
        if isinstance(rolling, dict):
            causes += validate_nonnegative(rolling.get("partition"),
                                           "spec.updateStrategy.rollingUpdate.partition")
    else:
        causes.append(invalid("spec.updateStrategy", GoValue(
            f"apps.StatefulSetUpdateStrategy{{Type:{go_repr(stype)}, ...}}"),
            "must be 'RollingUpdate' or 'OnDelete'"))
    retention = spec.get("persistentVolumeClaimRetentionPolicy")
    if isinstance(retention, dict):
        for key in ("whenDeleted", "whenScaled"):
            if retention.get(key) not in ("Retain", "Delete"):
                causes.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{key}",
                                            retention.get(key) or "", ["Retain", "Delete"]))
    for f in ("replicas", "minReadySeconds", "revisionHistoryLimit"):
        causes += validate_nonnegative(spec.get(f), f"spec.{f}")
    ordinals = spec.get("ordinals")
    if isinstance(ordinals, dict):
        causes += validate_nonnegative(ordinals.get("start"), "spec.ordinals.start")
    # Kubernetes checks only the template's labels and annotations here, not its
    # pod spec (volumes come from volumeClaimTemplates too).
    causes += validate_selector_and_template(spec, "spec", "statefulset", template="meta")
    causes += _always_restart(spec, "spec", "StatefulSet")
    if old is not None:
        new_rest = {k: v for k, v in spec.items() if k not in _STS_MUTABLE}
        old_rest = {k: v for k, v in spec_of(old).items() if k not in _STS_MUTABLE}
        if new_rest != old_rest:
            causes.append(forbidden("spec", "updates to statefulset spec for fields other than "
                                    "'replicas', 'ordinals', 'template', 'updateStrategy', "
                                    "'persistentVolumeClaimRetentionPolicy' and "
                                    "'minReadySeconds' are forbidden"))
    return causes


def validate_daemonset(obj: dict, old: dict | None) -> list:
    spec = spec_of(obj)
    # A DaemonSet without a selector fails only the template match, as in Kubernetes.
    causes = validate_selector_and_template(spec, "spec", "daemonset", required_selector=False)
    causes += _always_restart(spec, "spec", "DaemonSet")
    causes += validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    causes += validate_nonnegative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    strategy = spec.get("updateStrategy") if isinstance(spec.get("updateStrategy"), dict) else {}
    stype, rolling, sp = strategy.get("type"), strategy.get("rollingUpdate"), "spec.updateStrategy"
    if stype == "RollingUpdate":
        if not isinstance(rolling, dict):
            causes.append(required(sp + ".rollingUpdate", ""))
        else:
            rp = sp + ".rollingUpdate"
            unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
            causes += positive_int_or_percent(unavailable, rp + ".maxUnavailable")
            causes += positive_int_or_percent(surge, rp + ".maxSurge")
            causes += not_more_than_100_percent(unavailable, rp + ".maxUnavailable")
            causes += not_more_than_100_percent(surge, rp + ".maxSurge")
            has_unavailable = intstr.int_or_percent_value(unavailable) != 0
            has_surge = intstr.int_or_percent_value(surge) != 0
            if has_unavailable and has_surge:
                causes.append(invalid(rp + ".maxSurge", GoValue(intstr.go_repr(surge)),
                                      "may not be set when maxUnavailable is non-zero"))
            elif not has_unavailable and not has_surge:
                causes.append(required(rp + ".maxUnavailable", "cannot be 0 when maxSurge is 0"))
    elif stype != "OnDelete":
        causes.append(not_supported(sp, GoValue(
            f"apps.DaemonSetUpdateStrategy{{Type:{go_repr(stype or '')}, ...}}"),
            ["RollingUpdate", "OnDelete"]))
    return causes + _selector_immutable(obj, old)


def validate_controller_revision(obj: dict, old: dict | None) -> list:
    causes = []
    if obj.get("data") is None:
        causes.append(required("data", "data is mandatory"))
    causes += validate_nonnegative(obj.get("revision"), "revision")
    if old is not None and obj.get("data") != old.get("data"):
        causes.append(immutable("data", GoValue("runtime.RawExtension{...}")))
    return causes
