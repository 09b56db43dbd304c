"""Pod status: what the kubelet reports about a pod it runs (`pod.status`).

In Kubernetes the kubelet's status manager turns what the runtime says about each
container into the API's `ContainerStatus` (state waiting / running / terminated,
lastState, restartCount, ready, started, image, imageID, containerID), derives the
pod's phase (`getPhase`) and conditions (PodReadyToStartContainers, Initialized,
ContainersReady, Ready; PodScheduled is the scheduler's), adds the addresses
(podIP(s), hostIP(s)) and startTime, and PUTs the result to the pod's `status`
subresource — but only when it changed.

Here `build_pod_status` is a pure function from the kubelet's view of each container
(`ContainerView`) and the pod's current status to the new status. Two rules keep the
kubelet from writing in a loop:
- `lastTransitionTime` of a condition changes only when its status does;
- nothing in the status depends on "now" except those transition times, so building
  twice from the same facts gives the same dict, and `needs_update` says False.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..api.meta import rfc3339
from . import podsync
from .runtime import EXITED, RUNNING, ContainerStatus

CONTAINER_CREATING, POD_INITIALIZING = "ContainerCreating", "PodInitializing"


@dataclass(frozen=True)
class ContainerView:
    """Everything the kubelet knows about one container of a pod."""
    name: str
    image: str
    current: Optional[ContainerStatus] = None    # the latest attempt (runtime's view)
    previous: Optional[ContainerStatus] = None   # the attempt before it, if any
    restart_count: int = 0
    waiting_reason: str = ""      # the reason cache: CrashLoopBackOff, ErrImagePull, ...
    waiting_message: str = ""
    ready: bool = False           # readiness probe verdict (or no probe)
    started: bool = False         # startup probe verdict (or no probe)
    init: bool = False            # an init container: ready = exited 0


def container_id(runtime_name: str, cid: str) -> str:
    """The API's containerID: `<runtime>://<id>`, as containerd://abc (an id that
    already names its scheme, like the simulator's sim://..., is kept as it is)."""
    if not cid or "://" in cid:
        return cid or ""
    return f"{runtime_name}://{cid}"


def _time(t: Optional[float]) -> Optional[str]:
    return rfc3339(t) if t is not None else None


def terminated_state(st: ContainerStatus, runtime_name: str) -> dict:
    code = st.exit_code if st.exit_code is not None else 1
    term = {"exitCode": code, "reason": st.reason or ("Completed" if code == 0 else "Error"),
            "startedAt": _time(st.started_at), "finishedAt": _time(st.finished_at),
            "containerID": container_id(runtime_name, st.id)}
    if st.message:
        term["message"] = st.message
    return {"terminated": term}


def container_status(view: ContainerView, runtime_name: str,
                     default_reason: str = CONTAINER_CREATING) -> dict:
    """One API ContainerStatus (convertToAPIContainerStatuses)."""
    cur, prev = view.current, view.previous
    last = terminated_state(prev, runtime_name) if prev and prev.state == EXITED else {}
    running = cur is not None and cur.state == RUNNING
    if view.waiting_reason and not running:
        # A container the kubelet will (re)start later: waiting, with the reason cached
        # from the last attempt; the run that just ended moves to lastState.
        if cur is not None and cur.state == EXITED:
            last = terminated_state(cur, runtime_name)
        state = {"waiting": {"reason": view.waiting_reason}}
        if view.waiting_message:
            state["waiting"]["message"] = view.waiting_message
    elif cur is None:
        state = {"waiting": {"reason": default_reason}}
    elif running:
        state = {"running": {"startedAt": _time(cur.started_at)}}
    elif cur.state == EXITED:
        state = terminated_state(cur, runtime_name)
    else:                                       # created, not running yet
        state = {"waiting": {"reason": CONTAINER_CREATING}}
    if view.init:      # an init container is "ready" once it completed
        ready = "terminated" in state and state["terminated"]["exitCode"] == 0
    else:
        ready = bool(view.ready and running)
    status = {"name": view.name, "state": state, "lastState": last, "ready": ready,
              "restartCount": view.restart_count,
              "image": view.image, "imageID": (cur.image_id if cur else "") or "",
              "started": bool(view.started and running)}
    if cur is not None:
        status["containerID"] = container_id(runtime_name, cur.id)
    return status


# --- conditions ------------------------------------------------------------------------

def _names(names: list) -> str:
    return "[" + " ".join(names) + "]"          # Go's %s of a []string


def initialized_condition(spec: dict, init_statuses: list, statuses: list, phase: str) -> dict:
    names = [c.get("name") for c in spec.get("initContainers") or []]
    by_name = {s["name"]: s for s in init_statuses}
    unknown = [n for n in names if n not in by_name]
    incomplete = [n for n in names if n in by_name and
                  ((by_name[n]["state"].get("terminated") or {}).get("exitCode", 1) != 0)]
    if phase == podsync.SUCCEEDED and not unknown:
        return {"type": "Initialized", "status": "True", "reason": "PodCompleted"}
    started = any(s["state"].get("running") or s["state"].get("terminated") for s in statuses)
    if started or not (unknown or incomplete):
        return {"type": "Initialized", "status": "True"}
    msgs = []
    if unknown:
        msgs.append(f"containers with unknown status: {_names(unknown)}")
    if incomplete:
        msgs.append(f"containers with incomplete status: {_names(incomplete)}")
    return {"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized",
            "message": ", ".join(msgs)}


def containers_ready_condition(spec: dict, statuses: list, phase: str) -> dict:
    """ContainersReady: every container ready (readiness probe passed, or none)."""
    # BEGIN LAB 06: readiness — ContainersReady from each container's `ready`
    # Pitfall: a finished pod is never ready, whatever its last statuses say (endpoints
    # would keep sending traffic to it); a container with no status yet is not ready.
    if phase in (podsync.SUCCEEDED, podsync.FAILED):
        reason = "PodCompleted" if phase == podsync.SUCCEEDED else "PodFailed"
        return {"type": "ContainersReady", "status": "False", "reason": reason}
    by_name = {s["name"]: s for s in statuses}
    names = [c.get("name") for c in spec.get("containers") or []]
    unknown = [n for n in names if n not in by_name]
    unready = [n for n in names if n in by_name and not by_name[n]["ready"]]
    msgs = []
    if unknown:
        msgs.append(f"containers with unknown status: {_names(unknown)}")
    if unready:
        msgs.append(f"containers with unready status: {_names(unready)}")
    if msgs:
        return {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                "message": ", ".join(msgs)}
    return {"type": "ContainersReady", "status": "True"}
    # END LAB 06


def ready_condition(containers_ready: dict) -> dict:
    """Ready follows ContainersReady (readiness gates are not supported)."""
    return dict(containers_ready, type="Ready")


def with_transition_times(new: list, old: list, now: float) -> list:
    """Stamp conditions: keep the old lastTransitionTime when the status is unchanged."""
    old_by_type = {c.get("type"): c for c in old}
    out = []
    for c in new:
        before = old_by_type.get(c["type"])
        if before is not None and before.get("status") == c["status"] \
                and before.get("lastTransitionTime"):
            t = before["lastTransitionTime"]
        else:
            t = rfc3339(now)
        out.append({"type": c["type"], "status": c["status"], "lastProbeTime": None,
                    "lastTransitionTime": t,
                    **{k: c[k] for k in ("reason", "message") if c.get(k)}})
    return out


_OURS = ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready")


def build_pod_status(pod: dict, init_views: list, views: list, *, runtime_name: str,
                     pod_ip: str, host_ip: str, start_time: Optional[str], now: float,
                     terminal: bool = False) -> dict:
    """The pod's new status. Fields the kubelet does not own (qosClass, PodScheduled and
    other conditions, nominatedNodeName, reason/message) are kept from the current one."""
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    default = POD_INITIALIZING if spec.get("initContainers") else CONTAINER_CREATING
    init_statuses = [container_status(v, runtime_name, default) for v in init_views]
    statuses = [container_status(v, runtime_name, default) for v in views]
    phase = podsync.pod_phase(spec, statuses, init_statuses, terminal=terminal)
    if old.get("phase") in (podsync.SUCCEEDED, podsync.FAILED):
        phase = old["phase"]          # a terminal phase never goes back (status manager)
    sandbox = bool(pod_ip) and phase not in (podsync.SUCCEEDED, podsync.FAILED) \
        and not terminal
    containers_ready = containers_ready_condition(spec, statuses, phase)
    ours = [{"type": "PodReadyToStartContainers", "status": "True" if sandbox else "False"},
            initialized_condition(spec, init_statuses, statuses, phase),
            ready_condition(containers_ready), containers_ready]
    old_conditions = old.get("conditions") or []
    conditions = with_transition_times(ours, old_conditions, now) + \
        [c for c in old_conditions if c.get("type") not in _OURS]
    status = {k: v for k, v in old.items()
              if k not in ("phase", "conditions", "containerStatuses", "initContainerStatuses",
                           "podIP", "podIPs", "hostIP", "hostIPs", "startTime")}
    status.update({"phase": phase, "conditions": conditions, "containerStatuses": statuses})
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    if host_ip:
        status["hostIP"], status["hostIPs"] = host_ip, [{"ip": host_ip}]
    if pod_ip:
        status["podIP"], status["podIPs"] = pod_ip, [{"ip": pod_ip}]
    if start_time:
        status["startTime"] = start_time
    return status


def needs_update(old_status: dict, new_status: dict) -> bool:
    """Write only what changed: a kubelet that PUTs identical statuses wakes every
    watcher of every pod on every sync."""
    return (old_status or {}) != new_status
