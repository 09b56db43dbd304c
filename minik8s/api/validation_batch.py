"""Validation of batch/v1: Job and CronJob.

As in pkg/apis/batch/validation: a Job's pods must not restart forever, so its
template needs `restartPolicy: Never` or `OnFailure`; counts (parallelism,
completions, backoffLimit...) are >= 0; the selector must select the template's
labels (the API server generates both from the job's uid unless
`manualSelector: true`). On update the selector, completions, completionMode and
the template are immutable (a suspended job may still change where it will run).

A CronJob's `schedule` must parse as a standard cron line (minik8s.api.cron, with
robfig/cron's error texts); its name is at most 52 characters, because the jobs it
creates are named `<cronjob>-<11 characters>`.
"""
from __future__ import annotations

import zoneinfo

from . import cron
from .validation_field import (
    GoValue, immutable, invalid, is_dns1123_label, not_supported, required, type_invalid,
    validate_nonnegative,
)
from .validation_meta import selector_repr
from .validation_pod import validate_pod_template
from .validation_workloads import spec_of, template_spec_of, validate_selector_and_template


def validate_job(obj: dict, old: dict | None) -> list:
    spec = spec_of(obj)
    causes = _job_spec(spec, "spec")
    # A Job's selector may be empty; its template is checked by _job_spec.
    causes += validate_selector_and_template(spec, "spec", None, template="none")
    mode, completions = spec.get("completionMode"), spec.get("completions")
    name = (obj.get("metadata") or {}).get("name") or ""
    if mode == "Indexed" and isinstance(completions, int) and completions > 0 and name:
        hostname = f"{name}-{completions - 1}"
        if is_dns1123_label(hostname):
            causes.append(invalid("metadata.name", name, "will not able to create pod with "
                                                         f"invalid DNS label: {hostname}"))
    if old is not None:
        old_spec = spec_of(old)
        for f in ("completions", "selector", "completionMode", "podFailurePolicy"):
            if spec.get(f) != old_spec.get(f):
                value = selector_repr(spec.get(f)) if f == "selector" else spec.get(f)
                causes.append(immutable(f"spec.{f}", value))
        if not _template_update_allowed(spec, old_spec):
            causes.append(immutable("spec.template", GoValue("core.PodTemplateSpec{...}")))
    return causes


def _template_update_allowed(spec: dict, old_spec: dict) -> bool:
    """A job's template is immutable, except the scheduling directives of a job that
    is suspended (so a queueing system can place it before it starts)."""
    new_t, old_t = spec.get("template") or {}, old_spec.get("template") or {}
    if new_t == old_t:
        return True
    if not old_spec.get("suspend"):
        return False

    def strip(t):
        t = {**t, "metadata": {k: v for k, v in (t.get("metadata") or {}).items()
                               if k not in ("labels", "annotations")}}
        t["spec"] = {k: v for k, v in (t.get("spec") or {}).items()
                     if k not in ("nodeSelector", "tolerations", "schedulingGates", "affinity")}
        return t
    return strip(new_t) == strip(old_t)


def _job_spec(spec: dict, path: str) -> list:
    """validateJobSpec: what a Job and a CronJob's jobTemplate share."""
    causes = []
    for f in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
              "ttlSecondsAfterFinished"):
        causes += validate_nonnegative(spec.get(f), f"{path}.{f}")
    mode = spec.get("completionMode")
    if mode is not None:
        if mode not in ("NonIndexed", "Indexed"):
            causes.append(not_supported(path + ".completionMode", mode, ["NonIndexed", "Indexed"]))
        elif mode == "Indexed" and spec.get("completions") is None:
            causes.append(required(path + ".completions", "when completion mode is Indexed"))
    causes += validate_pod_template(spec.get("template"), path + ".template")
    restart = template_spec_of(spec).get("restartPolicy")
    if restart not in ("OnFailure", "Never"):
        causes.append(not_supported(path + ".template.spec.restartPolicy", restart or "",
                                    ["OnFailure", "Never"]))
    elif restart == "OnFailure" and spec.get("podFailurePolicy") is not None:
        causes.append(invalid(path + ".template.spec.restartPolicy", restart,
                              'only "Never" is supported when podFailurePolicy is specified'))
    return causes


def validate_cronjob(obj: dict, old: dict | None) -> list:
    spec, causes = spec_of(obj), []
    name = (obj.get("metadata") or {}).get("name") or ""
    if old is None and len(name) > 52:
        # The controller names jobs `<cronjob>-<11 characters>`, and a job name
        # becomes a label value (<= 63).
        causes.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    schedule = spec.get("schedule")
    if not schedule:
        causes.append(required("spec.schedule", ""))
    elif not isinstance(schedule, str):
        causes.append(type_invalid("spec.schedule", schedule, "must be a string"))
    else:
        try:
            cron.parse_schedule(schedule)
        except ValueError as e:
            causes.append(invalid("spec.schedule", schedule, str(e)))
        old_schedule = str(spec_of(old).get("schedule") or "") if old else ""
        if "TZ" in schedule and "TZ" not in old_schedule:
            causes.append(invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in "
                                  "schedule, use timeZone field instead"))
    causes += _time_zone(spec, old)
    causes += validate_nonnegative(spec.get("startingDeadlineSeconds"),
                                   "spec.startingDeadlineSeconds")
    policy = spec.get("concurrencyPolicy")
    if not policy:
        causes.append(required("spec.concurrencyPolicy", ""))
    elif policy not in ("Allow", "Forbid", "Replace"):
        causes.append(not_supported("spec.concurrencyPolicy", policy,
                                    ["Allow", "Forbid", "Replace"]))
    job_template = spec.get("jobTemplate")
    jspec = job_template.get("spec") if isinstance(job_template, dict) else None
    if not isinstance(jspec, dict):
        causes.append(required("spec.jobTemplate.spec.template", ""))
    else:
        causes += _job_spec(jspec, "spec.jobTemplate.spec")
        if jspec.get("selector") is not None:
            causes.append(invalid("spec.jobTemplate.spec.selector", selector_repr(
                jspec["selector"]), "`selector` will be auto-generated"))
        if jspec.get("manualSelector") is True:
            causes.append(not_supported("spec.jobTemplate.spec.manualSelector", True,
                                        ["nil", "false"]))
    for f in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        causes += validate_nonnegative(spec.get(f), f"spec.{f}")
    return causes


def _time_zone(spec: dict, old: dict | None) -> list:
    tz = spec.get("timeZone")
    if tz is None or (old is not None and spec_of(old).get("timeZone") == tz):
        return []
    if tz == "":
        return [invalid("spec.timeZone", tz, "timeZone must be nil or non-empty string")]
    if str(tz).lower() == "local":
        return [invalid("spec.timeZone", tz, "timeZone must be an explicit time zone as "
                                             "defined in https://www.iana.org/time-zones")]
    try:
        zoneinfo.ZoneInfo(str(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        # Without a time zone database on this machine nothing can be checked.
        if zoneinfo.available_timezones():
            return [invalid("spec.timeZone", tz, f"unknown time zone {tz}")]
    return []
