"""The container runtime interface: what a kubelet asks of a runtime.

In Kubernetes the kubelet never starts a process itself. It talks to a container
runtime (containerd, CRI-O) through the CRI, a small gRPC API: pull an image, create
a container from a spec, start it, stop it (SIGTERM, then SIGKILL after a grace
period), remove it, ask for its status, read its logs. Everything the kubelet knows
about a container comes back through `status`.

minik8s keeps that seam so one kubelet drives two runtimes:

- `ProcessRuntime` (runtime_process.py): every container a real OS process in a
  per-pod directory, bound to the pod's loopback IP, logs in files.
- `SimulatedRuntime` (runtime_sim.py): no processes; scripted container behaviour
  advancing on the clock (the kwok idea), for scale and property tests.

Probes are part of this interface too (`probe`): a real runtime performs the HTTP GET,
TCP connect or exec against the container; the simulated one answers from its script.

All methods are non-blocking except where noted: `stop` *starts* termination and
returns; the container shows `exited` in a later `status` (after at most `grace`
seconds on the runtime's clock). The kubelet's step() polls `status`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol

CREATED, RUNNING, EXITED, UNKNOWN = "created", "running", "exited", "unknown"


class ImagePullError(Exception):
    """The image cannot be resolved: the kubelet reports ErrImagePull, then
    ImagePullBackOff (Kubernetes' reasons)."""


class ContainerNotFound(Exception):
    pass


@dataclass(frozen=True)
class Mount:
    host_path: str                 # a file or directory the kubelet prepared
    container_path: str            # where the container sees it (mountPath)
    read_only: bool = False


@dataclass(frozen=True)
class ContainerConfig:
    """What the kubelet asks the runtime to create (CRI's ContainerConfig, reduced)."""
    pod_uid: str
    pod_namespace: str
    pod_name: str
    name: str                      # the container's name in the pod spec
    image: str
    command: tuple = ()
    args: tuple = ()
    env: tuple = ()                # ((name, value), ...) in order, already resolved
    working_dir: str = ""
    mounts: tuple = ()             # (Mount, ...)
    pod_ip: str = ""               # the address every container of the pod binds to
    ports: tuple = ()              # container ports (ints), informational
    attempt: int = 0               # restart count: logs of attempt N-1 are "previous"
    labels: dict = field(default_factory=dict)   # e.g. scripted behaviour annotations
    resources: dict = field(default_factory=dict)  # the container's `resources` (requests/limits)


@dataclass(frozen=True)
class ContainerStatus:
    id: str
    name: str
    state: str                     # CREATED | RUNNING | EXITED | UNKNOWN
    image: str = ""
    image_id: str = ""
    exit_code: Optional[int] = None
    reason: str = ""               # "Completed", "Error", "OOMKilled", ...
    message: str = ""
    created_at: Optional[float] = None     # wall seconds (the runtime's clock)
    started_at: Optional[float] = None
    finished_at: Optional[float] = None
    pid: Optional[int] = None
    # Which pod the container belongs to (CRI keeps these as sandbox labels): what a
    # restarted kubelet, or a NodeHandle, needs to tell what really runs.
    pod_uid: str = ""
    pod_namespace: str = ""
    pod_name: str = ""


@dataclass(frozen=True)
class ProbeResult:
    success: bool
    message: str = ""


class Runtime(Protocol):
    name: str

    def pull(self, image: str) -> str:
        """Resolve the image; returns its id. Raises ImagePullError."""

    def create(self, config: ContainerConfig) -> str:
        """Create (not start) a container; returns its id."""

    def start(self, container_id: str) -> None: ...

    def stop(self, container_id: str, grace_seconds: float) -> None:
        """SIGTERM now, SIGKILL after grace_seconds. Returns at once."""

    def remove(self, container_id: str) -> None:
        """Forget an exited container (its logs go with it)."""

    def status(self, container_id: str) -> ContainerStatus: ...

    def list(self, pod_uid: Optional[str] = None) -> list:
        """ContainerStatus of every container (of one pod)."""

    def logs(self, container_id: str, *, tail_lines: Optional[int] = None,
             since: Optional[float] = None, timestamps: bool = False,
             limit_bytes: Optional[int] = None) -> bytes:
        """`since` is an absolute wall time (epoch seconds), as in the CRI: the kubelet
        turns `sinceSeconds` into `clock.now() - sinceSeconds`."""

    def probe(self, container_id: str, probe: dict, pod_ip: str) -> ProbeResult:
        """Run one probe (a Kubernetes Probe dict: httpGet, tcpSocket or exec) once,
        within its timeoutSeconds."""

    def usage(self, pod_uid: str) -> dict:
        """{"cpu": millicores, "memory": bytes} in use by the pod (for metrics)."""

    def shutdown(self) -> None:
        """Kill every container (the node is going away)."""
