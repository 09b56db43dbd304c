"""Printer columns of the workloads: what `kubectl get pods|deploy|rs|sts|ds|jobs` prints.

In Kubernetes these are handlers of pkg/printers/internalversion/printers.go: for each
kind a list of columns and a function turning one object into its row of cells. This
module holds them for pods and the controllers that make pods, reading objects in their
JSON (v1) shape; `printers_cluster.py` has the other kinds and `printers.py` the
framework (Table, AGE durations, the fallback).

Cells are what Kubernetes sends: strings, except counts that Kubernetes sends as
integers (DESIRED, CURRENT, DATA, ...). Every row carries the wide (`-o wide`) cells
too; kubectl hides them unless asked. The pod STATUS column is the subtle one: it is
not `status.phase` but kubectl's summary of the container states (`Init:0/1`,
`ContainerCreating`, `CrashLoopBackOff`, `Completed`, `Terminating`...).
"""
from __future__ import annotations

from . import meta
from .errors import BadRequest
from .printers import AGE, NAME, age, col, get, human_duration, printer, quantity_cell, since
from .selectors import format_label_selector, format_labels, selector_from_dict

CONTAINERS = col("Containers", "Names of each container in the template.", wide=True)
IMAGES = col("Images", "Images referenced by each container in the template.", wide=True)
SELECTOR = col("Selector", "A label query over the objects it manages.", wide=True)


def _containers(template: dict) -> list:
    """layoutContainerCells: `a,b` and `img-a,img-b`."""
    cs = get(template, "spec", "containers", default=[])
    return [",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)]


def _true(conditions: list, type_: str, first_only: bool = False) -> bool:
    """Is the condition `type_` True? (first_only: judge by the first one of that type.)"""
    for c in conditions or []:
        if c.get("type") == type_:
            if c.get("status") == "True" or first_only:
                return c.get("status") == "True"
    return False


# --------------------------------------------------------------------------- Pod
def _last_terminated(cs: dict) -> float | None:
    return meta.parse_time(get(cs, "lastState", "terminated", "finishedAt"))


def _later(a, b):
    return b if a is None or (b is not None and b > a) else a


def _exit_reason(term: dict) -> str:
    if term.get("signal"):
        return f"Signal:{term['signal']}"
    return f"ExitCode:{term.get('exitCode', 0)}"


def pod_status(pod: dict) -> tuple:
    """kubectl's pod summary: (READY "1/2", STATUS, restart count, last restart time).

    Init containers first: the first one that has not succeeded names the status
    (`Init:Error`, `Init:CrashLoopBackOff`, `Init:1/3`). Then the app containers, last
    to first, so the first container's waiting/terminated reason wins. A pod being
    deleted reads `Terminating`, unless it already finished."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    conditions = status.get("conditions") or []
    phase = status.get("phase", "")
    reason = status.get("reason") or phase
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated"
           for c in conditions):
        reason = "SchedulingGated"
    init_specs = spec.get("initContainers") or []
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    total, ready = len(spec.get("containers") or []) + len(sidecars), 0
    restarts = sidecar_restarts = 0
    last = sidecar_last = None
    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += cs.get("restartCount", 0)
        last = _later(last, _last_terminated(cs))
        if cs.get("name") in sidecars:
            sidecar_restarts += cs.get("restartCount", 0)
            sidecar_last = _later(sidecar_last, _last_terminated(cs))
        term, wait = get(cs, "state", "terminated"), get(cs, "state", "waiting")
        if term is not None and term.get("exitCode", 0) == 0:
            continue
        if cs.get("name") in sidecars and cs.get("started"):
            ready += 1 if cs.get("ready") else 0
            continue
        if term is not None:
            reason = "Init:" + (term.get("reason") or _exit_reason(term))
        elif wait is not None and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = "Init:" + wait["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break
    if not initializing or _true(conditions, "Initialized", first_only=True):
        restarts, last, has_running = sidecar_restarts, sidecar_last, False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount", 0)
            last = _later(last, _last_terminated(cs))
            state = cs.get("state") or {}
            wait, term = state.get("waiting"), state.get("terminated")
            if wait is not None and wait.get("reason"):
                reason = wait["reason"]
            elif term is not None:
                reason = term.get("reason") or _exit_reason(term)
            elif cs.get("ready") and state.get("running") is not None:
                has_running, ready = True, ready + 1
        if reason == "Completed" and has_running:
            reason = "Running" if _true(conditions, "Ready") else "NotReady"
    if get(pod, "metadata", "deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return f"{ready}/{total}", reason, restarts, last


@printer("Pod", columns=[
    NAME, col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "The aggregate status of the containers in this pod."),
    col("Restarts", "The number of times the containers in this pod have been restarted "
        "and when the last container in this pod has restarted."), AGE,
    col("IP", "IP address allocated to the pod.", wide=True),
    col("Node", "The node the pod is bound to.", wide=True),
    col("Nominated Node", "The node the scheduler nominated for preemption.", wide=True),
    col("Readiness Gates", "Pod conditions evaluated for readiness.", wide=True)])
def pod_row(pod: dict, now: float) -> list:
    ready, reason, restarts, last = pod_status(pod)
    restarts_cell = str(restarts)
    if restarts and last is not None:
        restarts_cell = f"{restarts} ({human_duration(now - last)} ago)"
    status = pod.get("status") or {}
    ips = status.get("podIPs") or []
    ip = (ips[0].get("ip") if ips else status.get("podIP")) or "<none>"
    gates = get(pod, "spec", "readinessGates", default=[])
    gates_cell = "<none>"
    if gates:
        by_type = {}
        for c in status.get("conditions") or []:
            by_type.setdefault(c.get("type"), c.get("status"))
        ok = sum(1 for g in gates if by_type.get(g.get("conditionType")) == "True")
        gates_cell = f"{ok}/{len(gates)}"
    return [meta.name_of(pod), ready, reason, restarts_cell, age(pod, now), ip,
            get(pod, "spec", "nodeName") or "<none>", status.get("nominatedNodeName") or "<none>",
            gates_cell]


# --------------------------------------------------------------------------- workloads
@printer("Deployment", columns=[
    NAME, col("Ready", "Number of the pod with ready state"),
    col("Up-to-date", "Total number of non-terminated pods with the desired template."),
    col("Available", "Total number of available pods."), AGE, CONTAINERS, IMAGES, SELECTOR])
def deployment_row(d: dict, now: float) -> list:
    try:
        selector = str(selector_from_dict(get(d, "spec", "selector")))
    except BadRequest:
        selector = "<invalid>"
    return [meta.name_of(d), f"{get(d, 'status', 'readyReplicas', default=0)}/"
            f"{get(d, 'spec', 'replicas', default=1)}",
            get(d, "status", "updatedReplicas", default=0),
            get(d, "status", "availableReplicas", default=0), age(d, now),
            *_containers(get(d, "spec", "template", default={})), selector]


@printer("ReplicaSet", columns=[
    NAME, col("Desired", "Number of desired pods.", "integer"),
    col("Current", "Number of pods created.", "integer"),
    col("Ready", "Number of ready pods.", "integer"), AGE, CONTAINERS, IMAGES, SELECTOR])
def replicaset_row(rs: dict, now: float) -> list:
    return [meta.name_of(rs), get(rs, "spec", "replicas", default=1),
            get(rs, "status", "replicas", default=0), get(rs, "status", "readyReplicas", default=0),
            age(rs, now), *_containers(get(rs, "spec", "template", default={})),
            format_label_selector(get(rs, "spec", "selector"))]


@printer("StatefulSet", columns=[
    NAME, col("Ready", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES])
def statefulset_row(s: dict, now: float) -> list:
    return [meta.name_of(s), f"{get(s, 'status', 'readyReplicas', default=0)}/"
            f"{get(s, 'spec', 'replicas', default=1)}", age(s, now),
            *_containers(get(s, "spec", "template", default={}))]


@printer("DaemonSet", columns=[
    NAME, col("Desired", "Number of nodes that should run the daemon pod.", "integer"),
    col("Current", "Number of nodes running at least one daemon pod.", "integer"),
    col("Ready", "Number of nodes with a ready daemon pod.", "integer"),
    col("Up-to-date", "Number of nodes running the updated daemon pod.", "integer"),
    col("Available", "Number of nodes with an available daemon pod.", "integer"),
    col("Node Selector", "The pods' nodeSelector."), AGE, CONTAINERS, IMAGES, SELECTOR])
def daemonset_row(ds: dict, now: float) -> list:
    st = ds.get("status") or {}
    template = get(ds, "spec", "template", default={})
    return [meta.name_of(ds), *(st.get(f, 0) for f in (
                "desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                "updatedNumberScheduled", "numberAvailable")),
            format_labels(get(template, "spec", "nodeSelector")), age(ds, now),
            *_containers(template), format_label_selector(get(ds, "spec", "selector"))]


@printer("Job", columns=[
    NAME, col("Status", "Status of the job."),
    col("Completions", "The number of pods which reached phase Succeeded."),
    col("Duration", "Time required to complete the job."), AGE, CONTAINERS, IMAGES, SELECTOR])
def job_row(job: dict, now: float) -> list:
    spec, st = job.get("spec") or {}, job.get("status") or {}
    succeeded, conditions = st.get("succeeded", 0), st.get("conditions") or []
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif (spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start, end = meta.parse_time(st.get("startTime")), meta.parse_time(st.get("completionTime"))
    duration = "" if start is None else human_duration((now if end is None else end) - start)
    if _true(conditions, "Complete", first_only=True):
        status = "Complete"
    elif _true(conditions, "Failed", first_only=True):
        status = "Failed"
    elif get(job, "metadata", "deletionTimestamp"):
        status = "Terminating"
    elif _true(conditions, "Suspended", first_only=True):
        status = "Suspended"
    elif _true(conditions, "FailureTarget", first_only=True):
        status = "FailureTarget"
    else:
        status = "Running"
    return [meta.name_of(job), status, completions, duration, age(job, now),
            *_containers(get(spec, "template", default={})),
            format_label_selector(spec.get("selector"))]


def _bool_ptr(value) -> str:
    return "<unset>" if value is None else ("True" if value else "False")


@printer("CronJob", columns=[
    NAME, col("Schedule", "The schedule in Cron format."), col("Timezone", "The time zone name."),
    col("Suspend", "Whether later runs are suspended.", "boolean"),
    col("Active", "Number of currently running jobs.", "integer"),
    col("Last Schedule", "When the job was last scheduled."), AGE, CONTAINERS, IMAGES, SELECTOR])
def cronjob_row(cj: dict, now: float) -> list:
    spec, st = cj.get("spec") or {}, cj.get("status") or {}
    last = st.get("lastScheduleTime")
    job_spec = get(spec, "jobTemplate", "spec", default={})
    return [meta.name_of(cj), spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            _bool_ptr(spec.get("suspend")), len(st.get("active") or []),
            since(last, now) if last else "<none>", age(cj, now),
            *_containers(get(job_spec, "template", default={})),
            format_label_selector(job_spec.get("selector"))]


_METRIC_SOURCE = {"Resource": "resource", "ContainerResource": "containerResource",
                  "Pods": "pods", "Object": "object", "External": "external"}


def _metric_targets(specs: list, statuses: list) -> str:
    """formatHPAMetrics: `cpu: 10%/50%`, `<unknown>/100m`; two at most, then `+ N more...`.

    statuses[i] reports on specs[i]; until the controller has measured, `<unknown>`."""
    if not specs:
        return "<none>"
    out = []
    for i, spec in enumerate(specs):
        key = _METRIC_SOURCE.get(spec.get("type"))
        if key is None:
            out.append("<unknown type>")
            continue
        target = get(spec, key, "target", default={})
        status = (statuses[i] if i < len(statuses) else {}).get(key)
        current = None if status is None else get(status, "current", default={})

        def measured(field):
            value = None if current is None else current.get(field)
            return "<unknown>" if value is None and current is None else quantity_cell(value)
        if key in ("resource", "containerResource"):
            name = get(spec, key, "name", default="")
            if target.get("averageValue") is not None:
                want = quantity_cell(target["averageValue"])
                out.append(f"{name}: {measured('averageValue')}/{want}")
            else:
                util = None if current is None else current.get("averageUtilization")
                want = target.get("averageUtilization")
                out.append(f"{name}: {'<unknown>' if util is None else f'{util}%'}/"
                           f"{'<auto>' if want is None else f'{want}%'}")
        elif key == "pods":
            out.append(f"{measured('averageValue')}/{quantity_cell(target.get('averageValue'))}")
        elif target.get("averageValue") is not None:       # Object or External, averaged
            avg = None if current is None else current.get("averageValue")
            cur = "<unknown>" if avg is None else quantity_cell(avg)
            out.append(f"{cur}/{quantity_cell(target['averageValue'])} (avg)")
        else:
            out.append(f"{measured('value')}/{quantity_cell(target.get('value'))}")
    more = f" + {len(out) - 2} more..." if len(out) > 2 else ""
    return ", ".join(out[:2]) + more


@printer("HorizontalPodAutoscaler", columns=[
    NAME, col("Reference", "The scale target."), col("Targets", "Current and target metrics."),
    col("MinPods", "Lower limit for the number of pods."),
    col("MaxPods", "Upper limit for the number of pods."),
    col("Replicas", "Current number of pods."), AGE])
def hpa_row(hpa: dict, now: float) -> list:
    spec, st = hpa.get("spec") or {}, hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    return [meta.name_of(hpa), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            _metric_targets(spec.get("metrics") or [], st.get("currentMetrics") or []),
            "<unset>" if spec.get("minReplicas") is None else str(spec["minReplicas"]),
            spec.get("maxReplicas", 0), st.get("currentReplicas", 0), age(hpa, now)]


@printer("ControllerRevision", columns=[
    NAME, col("Controller", "Controller of the object"),
    col("Revision", "Revision indicates the revision of the state represented by Data."), AGE])
def controllerrevision_row(cr: dict, now: float) -> list:
    ref, owner = meta.controller_of(cr), "<none>"
    if ref:  # `statefulset.apps/web`: lower-cased Kind.group
        group = ref.get("apiVersion", "").rpartition("/")[0]
        kind = ref.get("kind", "") + ("." + group if group else "")
        owner = kind.lower() + "/" + ref.get("name", "")
    return [meta.name_of(cr), owner, cr.get("revision", 0), age(cr, now)]
