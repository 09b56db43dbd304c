"""The kubelet's runtime side: pulling images, starting containers, reading their logs.

In Kubernetes this is `pkg/kubelet/kuberuntime` (and the image manager): the pod
worker decides *what* to do (podsync.py here), and this layer does it against the CRI
— ensure the image (pull per `imagePullPolicy`, with ErrImagePull then
ImagePullBackOff on failure), build the container's config (env, `$(VAR)` in
command/args, mounts, the attempt number), create it, start it, and record the
events `Pulling`, `Pulled`, `Failed`, `BackOff`, `Created`, `Started` with the
kubelet's own wording. The kubelet's log endpoint also lives here: which container's
log a `kubectl logs [--previous]` means, checked like validateContainerLogStatus.

The per-pod and per-container records are the kubelet's memory between syncs (the
runtime's ids, restart count, back-offs, the "reason cache" that explains why a
container is waiting). They are mutable on purpose and never leave the kubelet.
"""
from __future__ import annotations

from typing import Iterator, Optional

from ..api.defaults_pod import image_tag
from ..api.errors import BadRequest
from ..client.events import NORMAL, WARNING
from . import podenv, podstatus, podsync
from .runtime import CREATED, RUNNING, ContainerConfig, ContainerNotFound, ImagePullError


class ContainerRecord:
    """What the kubelet remembers about one container name of a pod."""

    def __init__(self, name: str):
        self.name = name
        self.current: Optional[str] = None        # runtime id of the latest attempt
        self.previous: Optional[str] = None       # the attempt before (for --previous)
        self.previous_status = None               # its final ContainerStatus
        self.last_status = None                   # the latest attempt, as last observed
        self.restarts = 0
        self.backoff = podsync.Backoff()          # CrashLoopBackOff
        self.pull_backoff = podsync.Backoff()     # ImagePullBackOff
        self.pull_error = ""
        self.pull_event_at: Optional[float] = None
        self.waiting = ("", "")                   # (reason, message): the reason cache
        self.killing: Optional[str] = None        # id of the attempt being killed
        self.backoff_event_for: Optional[str] = None


class PodRecord:
    """What the kubelet remembers about one pod (by uid) between syncs."""

    def __init__(self, uid: str, pod: dict):
        self.uid = uid
        self.pod = pod                 # the latest object (informer cache: never mutate)
        self.ip = ""
        self.start_time: Optional[str] = None
        self.volumes: Optional[dict] = None       # volume name -> host path, once set up
        self.dir = ""
        self.containers: dict = {}
        self.stopping = False          # kill sent (deletion or orphan)
        self.written: Optional[dict] = None       # the status we last wrote
        self.written_rv = 0

    def container(self, name: str) -> ContainerRecord:
        if name not in self.containers:
            self.containers[name] = ContainerRecord(name)
        return self.containers[name]


def adopt(runtime, cidr, pod: dict) -> PodRecord:
    """A pod seen for the first time — maybe one this node ran before a kubelet
    restart: take over its IP, start time and the runtime's containers for it."""
    uid = pod["metadata"]["uid"]
    rec = PodRecord(uid, pod)
    status = pod.get("status") or {}
    if status.get("podIP") and cidr is not None and cidr.adopt(uid, status["podIP"]):
        rec.ip = status["podIP"]
    rec.start_time = status.get("startTime")
    counts = {s.get("name"): s.get("restartCount", 0) for s in
              (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])}
    for st in sorted(runtime.list(uid), key=lambda s: (s.created_at or 0, s.id)):
        cr = rec.container(st.name)
        if cr.previous:
            _remove(runtime, cr.previous)
        cr.previous, cr.previous_status, cr.current = cr.current, cr.last_status, st.id
        cr.last_status = st
        cr.restarts = counts.get(st.name, cr.restarts)
    return rec


def observe(runtime, rec: PodRecord, specs: list) -> dict:
    """name -> the runtime's status of each container's latest attempt (None: none).
    Read afresh on every sync, as the PLEG relists: the runtime is the truth."""
    out = {}
    for c in specs:
        cr = rec.container(c["name"])
        st = None
        if cr.current:
            try:
                st = runtime.status(cr.current)
            except ContainerNotFound:
                cr.current = None          # lost by the runtime: start it again
        cr.last_status = st
        out[c["name"]] = st
    return out


def views(rec: PodRecord, statuses: dict, specs: list, probes) -> list:
    """podstatus.ContainerViews of `specs` (probes=None: init containers)."""
    out = []
    for c in specs:
        cr = rec.container(c["name"])
        probe = probes.results(rec.uid, c["name"]) if probes is not None else None
        out.append(podstatus.ContainerView(
            c["name"], c.get("image", ""), statuses.get(c["name"]), cr.previous_status,
            cr.restarts, cr.waiting[0], cr.waiting[1], ready=bool(probe and probe.ready),
            started=bool(probe and probe.started), init=probes is None))
    return out


def pull_policy(container: dict) -> str:
    if container.get("imagePullPolicy"):
        return container["imagePullPolicy"]
    return "Always" if image_tag(container.get("image", "")) == "latest" else "IfNotPresent"


def ensure_image(k, rec: PodRecord, c: dict, cr: ContainerRecord) -> Optional[float]:
    """Make the image available; None when it is, else seconds until worth retrying
    (and cr.waiting says why: ErrImagePull, ImagePullBackOff, ErrImageNeverPull)."""
    image, pod, now = c.get("image", ""), rec.pod, k.clock.monotonic()
    action = podsync.image_pull_action(pull_policy(c), image in k.images, cr.pull_backoff, now)
    if action == podsync.PRESENT:
        k.recorder.event(pod, NORMAL, "Pulled",
                         f'Container image "{image}" already present on machine')
        return None
    if action == podsync.NEVER_PULL:
        msg = f'Container image "{image}" is not present with pull policy of Never'
        cr.waiting = ("ErrImageNeverPull", msg)
        k.recorder.event(pod, WARNING, "ErrImageNeverPull", msg)
        k.recorder.event(pod, WARNING, "Failed", "Error: ErrImageNeverPull")
        return None if image in k.images else k.relist_period
    if action == podsync.PULL_BACKOFF:
        msg = f'Back-off pulling image "{image}"'
        cr.waiting = ("ImagePullBackOff", f"{msg}: {cr.pull_error}")
        if cr.pull_event_at != cr.pull_backoff.last_restart:
            cr.pull_event_at = cr.pull_backoff.last_restart
            k.recorder.event(pod, NORMAL, "BackOff", msg)
            k.recorder.event(pod, WARNING, "Failed", "Error: ImagePullBackOff")
        return cr.pull_backoff.last_restart + podsync.crashloop_delay(
            cr.pull_backoff.restarts) - now
    k.recorder.event(pod, NORMAL, "Pulling", f'Pulling image "{image}"')
    try:
        k.runtime.pull(image)
    except ImagePullError as e:
        return pull_failed(k, rec, c, cr, e)
    k.images.add(image)
    cr.pull_backoff, cr.pull_error = podsync.Backoff(), ""
    k.recorder.event(pod, NORMAL, "Pulled", f'Successfully pulled image "{image}" in 0s '
                                            "(0s including waiting). Image size: 0 bytes.")
    return None


def pull_failed(k, rec: PodRecord, c: dict, cr: ContainerRecord, err) -> float:
    image, now = c.get("image", ""), k.clock.monotonic()
    k.recorder.event(rec.pod, WARNING, "Failed", f'Failed to pull image "{image}": {err}')
    k.recorder.event(rec.pod, WARNING, "Failed", "Error: ErrImagePull")
    cr.pull_backoff = podsync.record_restart(cr.pull_backoff, now, now)
    cr.pull_error = f"ErrImagePull: {err}"
    cr.waiting = ("ErrImagePull", str(err))
    return podsync.crashloop_delay(cr.pull_backoff.restarts)


def start_container(k, rec: PodRecord, c: dict, cr: ContainerRecord, *, restart: bool,
                    last=None) -> Optional[float]:
    """Pull, create and start one container (kuberuntime's startContainer). Returns
    seconds until a retry is worth it when it could not start, else None."""
    due = ensure_image(k, rec, c, cr)
    if due is not None or cr.waiting[0] == "ErrImageNeverPull":
        return due
    pod, name = rec.pod, c["name"]
    try:
        env = podenv.build_env(pod, c, k._lookup, pod_ip=rec.ip, host_ip=k.node_ip,
                               node_allocatable=k.node.capacity)
        mapping = podenv.mapping_for(dict(env))
        mounts = podenv.mounts_for(c, rec.volumes or {}, dict(env))
    except (podenv.CreateContainerConfigError, podenv.VolumeError) as e:
        cr.waiting = ("CreateContainerConfigError", str(e))
        k.recorder.event(pod, WARNING, "Failed", f"Error: {e}")
        return k.relist_period
    attempt = cr.restarts + 1 if restart else cr.restarts
    config = ContainerConfig(
        pod_uid=rec.uid, pod_namespace=pod["metadata"].get("namespace", ""),
        pod_name=pod["metadata"]["name"], name=name, image=c.get("image", ""),
        # $(VAR) in command and args expands against the container's env, as Kubernetes.
        command=tuple(podenv.expand(x, mapping) for x in c.get("command") or ()),
        args=tuple(podenv.expand(x, mapping) for x in c.get("args") or ()),
        env=tuple(env), working_dir=c.get("workingDir", ""), mounts=mounts, pod_ip=rec.ip,
        ports=tuple(p.get("containerPort") for p in c.get("ports") or []
                    if p.get("containerPort")),
        attempt=attempt, labels=dict(pod["metadata"].get("annotations") or {}))
    try:
        cid = k.runtime.create(config)
    except ImagePullError as e:
        return pull_failed(k, rec, c, cr, e)
    except Exception as e:  # noqa: BLE001 - a runtime refusing a spec is a status, not a crash
        cr.waiting = ("CreateContainerError", str(e))
        k.recorder.event(pod, WARNING, "Failed", f"Error: {e}")
        return k.relist_period
    k.recorder.event(pod, NORMAL, "Created", f"Created container: {name}")
    # Keep exactly one previous attempt (what `logs --previous` reads); drop older ones.
    if cr.current:
        if cr.previous:
            _remove(k.runtime, cr.previous)
        cr.previous, cr.previous_status = cr.current, last or cr.last_status
    cr.current, cr.killing, cr.restarts = cid, None, attempt
    try:
        k.runtime.start(cid)
    except Exception as e:  # noqa: BLE001
        cr.waiting = ("RunContainerError", str(e))
        k.recorder.event(pod, WARNING, "Failed", f"Error: {e}")
        return k.relist_period
    cr.waiting = ("", "")
    k.recorder.event(pod, NORMAL, "Started", f"Started container {name}")
    return None


def remove_all(runtime, rec: PodRecord) -> None:
    """Remove every container the kubelet keeps for the pod (it is gone)."""
    for cr in rec.containers.values():
        for cid in (cr.current, cr.previous):
            if cid:
                _remove(runtime, cid)


def kill_grace(pod: dict, container: dict) -> int:
    """A liveness kill's grace: the probe's own terminationGracePeriodSeconds, else the pod's."""
    probe = container.get("livenessProbe") or container.get("startupProbe") or {}
    own = probe.get("terminationGracePeriodSeconds")
    return int(own if own is not None else
               (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))


def _remove(runtime, cid: str) -> None:
    try:
        runtime.remove(cid)
    except ContainerNotFound:
        pass


# --- logs --------------------------------------------------------------------------

def log_container_id(k, rec: PodRecord, pod_name: str, container: str,
                     previous: bool) -> str:
    """The runtime id whose log `kubectl logs [-c container] [--previous]` means,
    with the kubelet's errors (validateContainerLogStatus)."""
    spec = rec.pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    if not container:
        if len(names) != 1:
            raise BadRequest(f"a container name must be specified for pod {pod_name}, "
                             f"choose one of: [{' '.join(names)}]")
        container = names[0]
    status = k.build_status(rec, k._observe(rec))
    cs = next((s for s in status.get("containerStatuses", []) +
               status.get("initContainerStatuses", []) if s["name"] == container), None)
    cr = rec.containers.get(container)
    if cs is None or cr is None:
        raise BadRequest(f'container "{container}" in pod "{pod_name}" is not available')
    rt = getattr(k.runtime, "name", "unknown")
    ids = {podstatus.container_id(rt, cid): cid for cid in (cr.current, cr.previous) if cid}
    state, last = cs["state"], (cs.get("lastState") or {}).get("terminated") or {}
    if previous:
        if last.get("containerID") not in ids:
            raise BadRequest(f'previous terminated container "{container}" in pod '
                             f'"{pod_name}" not found')
        return ids[last["containerID"]]
    if state.get("running") or state.get("terminated"):
        return cr.current
    if last.get("containerID") in ids:
        return ids[last["containerID"]]
    reason = (state.get("waiting") or {}).get("reason", "")
    why = {"ErrImagePull": "image can't be pulled",
           "ImagePullBackOff": "trying and failing to pull image"}.get(reason, reason)
    raise BadRequest(f'container "{container}" in pod "{pod_name}" is waiting to start: {why}')


def follow(runtime, clock, stop_event, cid: str, *, since: Optional[float],
           tail_lines: Optional[int], timestamps: bool, limit_bytes: Optional[int],
           poll: float) -> Iterator[bytes]:
    """`logs -f`: what is there now, then new output as it comes, until the container
    stops running (or `limit_bytes` were sent, or the kubelet stops)."""
    chunk = runtime.logs(cid, tail_lines=tail_lines, since=since, timestamps=timestamps)
    sent = len(runtime.logs(cid, since=since, timestamps=timestamps))
    budget = limit_bytes
    while True:
        if chunk:
            if budget is not None:
                chunk = chunk[:budget]
                budget -= len(chunk)
            yield chunk
            if budget is not None and budget <= 0:
                return
        try:
            running = runtime.status(cid).state in (CREATED, RUNNING)
        except ContainerNotFound:
            return
        full = runtime.logs(cid, since=since, timestamps=timestamps)
        chunk, sent = full[sent:], len(full)
        if not chunk:
            # Pitfall: check for output *after* seeing the container stop, or the
            # last lines it wrote before exiting are lost.
            if not running or clock.wait(stop_event, poll):
                return
            # A heartbeat: the HTTP servers write nothing for it but get the chance to
            # notice a `kubectl logs -f` that has gone away.
            yield b""
