"""Schemas of a pod's status: phase, conditions, IPs and one status per container.

The kubelet writes these (the scheduler sets nominatedNodeName); `kubectl get pods`
and `describe` read them. Field names and types are k8s.io/api/core/v1 at v1.32.
(DSL: see schema.py.)
"""
from __future__ import annotations

from . import schema_pod, schema_scheduling, schema_security  # noqa: F401  (pod spec)
from .schema import CORE, define

define(CORE + "PodStatus", "The observed state of a pod.", """
    phase                       string
        Pending, Running, Succeeded, Failed or Unknown.
    conditions                  [PodCondition]
        PodScheduled, Initialized, ContainersReady, Ready, ...
    message                     string
        Why the pod is in this state.
    reason                      string
        One-word reason, e.g. Evicted.
    hostIP                      string
        IP of the node the pod runs on.
    hostIPs                     [HostIP]
        All IPs of the node.
    podIP                       string
        IP of the pod.
    podIPs                      [PodIP]
        All IPs of the pod (one per family).
    nominatedNodeName           string
        Node the pod preempted others on and may run on.
    startTime                   Time
        When the kubelet accepted the pod.
    qosClass                    string
        Guaranteed, Burstable or BestEffort.
    initContainerStatuses       [ContainerStatus]
        Status of each init container.
    containerStatuses           [ContainerStatus]
        Status of each container.
    ephemeralContainerStatuses  [ContainerStatus]
        Status of each ephemeral container.
    resize                      string
        Progress of an in-place resize.
    resourceClaimStatuses       [PodResourceClaimStatus]
        Names of the generated resource claims.
""")

define(CORE + "PodCondition", "One condition of a pod.", """
    type!               string  PodScheduled, Initialized, ContainersReady, Ready, ...
    status!             string  True, False or Unknown.
    reason              string  One-word reason for the last transition.
    message             string  Human-readable details.
    lastProbeTime       Time    When it was last checked.
    lastTransitionTime  Time    When status last changed.
""")

define(CORE + "HostIP", "One IP of the pod's node.", """
    ip!  string  The IP address.
""")

define(CORE + "PodIP", "One IP of the pod.", """
    ip!  string  The IP address.
""")

define(CORE + "PodResourceClaimStatus", "The ResourceClaim generated for a pod claim.", """
    name!              string  Name of the entry in spec.resourceClaims.
    resourceClaimName  string  Name of the generated ResourceClaim.
""")

define(CORE + "ContainerStatus", "The observed state of one container.", """
    name!                     string                Container name.
    image!                    string                Image it runs.
    imageID!                  string                Resolved image id (digest).
    containerID               string                Runtime id, e.g. containerd://...
    ready!                    boolean               Passed its readiness probe.
    started                   boolean               Passed its startup probe (or has none).
    restartCount!             integer               Times the container restarted.
    state                     ContainerState        What it is doing now.
    lastState                 ContainerState        How its previous run ended.
    allocatedResources        map[Quantity]         Resources the node allocated to it.
    resources                 ResourceRequirements  Requests and limits it actually runs with.
    volumeMounts              [VolumeMountStatus]   Mounts as they are.
    user                      ContainerUser         Identity of the first process.
    allocatedResourcesStatus  [ResourceStatus]      Health of allocated devices.
""")

define(CORE + "ContainerState", "One of waiting, running or terminated.", """
    waiting     ContainerStateWaiting     Not running yet.
    running     ContainerStateRunning     Running.
    terminated  ContainerStateTerminated  Finished.
""")

define(CORE + "ContainerStateWaiting", "A container that is not running yet.", """
    reason   string  Why: ContainerCreating, CrashLoopBackOff, ImagePullBackOff, ...
    message  string  Details.
""")

define(CORE + "ContainerStateRunning", "A running container.", """
    startedAt  Time  When it (re)started.
""")

define(CORE + "ContainerStateTerminated", "A container that exited.", """
    exitCode!    integer  Exit status.
    signal       integer  Signal that ended it.
    reason       string   Completed, Error, OOMKilled, ...
    message      string   Details.
    startedAt    Time     When it started.
    finishedAt   Time     When it ended.
    containerID  string   Runtime id.
""")

define(CORE + "VolumeMountStatus", "A volume mount as the runtime made it.", """
    name!              string   Volume name.
    mountPath!         string   Mount path.
    readOnly           boolean  Mounted read-only.
    recursiveReadOnly  string   Recursive read-only state.
""")

define(CORE + "ContainerUser", "The identity a container's first process runs as.", """
    linux  LinuxContainerUser  Linux user and groups.
""")

define(CORE + "LinuxContainerUser", "Linux uid, gid and groups.", """
    uid!                integer    User id.
    gid!                integer    Group id.
    supplementalGroups  [integer]  Extra groups.
""")

define(CORE + "ResourceStatus", "Health of the devices behind one resource.", """
    name!      string            Resource name.
    resources  [ResourceHealth]  One entry per device.
""")

define(CORE + "ResourceHealth", "Health of one device.", """
    resourceID!  string  Device id.
    health       string  Healthy, Unhealthy or Unknown.
""")
