"""Schemas of the pod template: PodSpec, Container and everything inside them.

Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs and CronJobs all embed a
PodTemplateSpec, so this is the part of the API a student writes most. Every field of
k8s.io/api/core/v1 (v1.32) is listed.
Volumes are in schema_volumes.py, placement rules (affinity, tolerations, spread) in
schema_scheduling.py, security contexts in schema_security.py, the pod's status in
schema_pod_status.py. (DSL: see schema.py.)
"""
from __future__ import annotations

from .schema import CORE, define

define(CORE + "PodTemplateSpec", "The pods a controller creates: their metadata and spec.", """
    metadata  ObjectMeta  Labels and annotations of each pod (the selector must match them).
    spec      PodSpec     What each pod runs.
""")

define(CORE + "PodSpec", "The desired state of a pod: containers, volumes and scheduling.", """
    containers!                    [Container]
        The containers of the pod; at least one.
    initContainers                 [Container]
        Containers run one by one, to completion, before the others start.
    ephemeralContainers            [EphemeralContainer]
        Debug containers added to a running pod.
    volumes                        [Volume]
        Volumes the containers can mount.
    restartPolicy                  string
        Always (the default), OnFailure or Never.
    terminationGracePeriodSeconds  integer
        Seconds from SIGTERM to SIGKILL on deletion (30).
    activeDeadlineSeconds          integer
        Seconds the pod may run before it is failed.
    dnsPolicy                      string
        ClusterFirst (default), ClusterFirstWithHostNet, Default or None.
    dnsConfig                      PodDNSConfig
        Extra DNS settings merged with the dnsPolicy ones.
    nodeSelector                   map[string]
        Labels a node must have to run the pod.
    nodeName                       string
        Run on this node, bypassing the scheduler.
    affinity                       Affinity
        Node and pod (anti-)affinity scheduling rules.
    tolerations                    [Toleration]
        Node taints this pod tolerates.
    topologySpreadConstraints      [TopologySpreadConstraint]
        How to spread pods over zones, nodes, ...
    schedulerName                  string
        Scheduler that places the pod (default-scheduler).
    schedulingGates                [PodSchedulingGate]
        While any gate remains, the pod is not scheduled.
    priorityClassName              string
        Name of the PriorityClass giving the pod its priority.
    priority                       integer
        Priority value, filled in from priorityClassName.
    preemptionPolicy               string
        PreemptLowerPriority (default) or Never.
    serviceAccountName             string
        ServiceAccount the pod runs as.
    serviceAccount                 string
        Deprecated alias of serviceAccountName.
    automountServiceAccountToken   boolean
        Whether to mount the service account token.
    securityContext                PodSecurityContext
        Security settings for all containers of the pod.
    imagePullSecrets               [LocalObjectReference]
        Secrets holding registry credentials.
    hostname                       string
        Hostname of the pod; defaults to the pod name.
    subdomain                      string
        With hostname, makes the FQDN <hostname>.<subdomain>.<ns>.svc.
    setHostnameAsFQDN              boolean
        Use the fully qualified name as the hostname.
    hostAliases                    [HostAlias]
        Extra /etc/hosts entries.
    hostNetwork                    boolean
        Use the node's network namespace.
    hostPID                        boolean
        Use the node's PID namespace.
    hostIPC                        boolean
        Use the node's IPC namespace.
    hostUsers                      boolean
        False runs the pod in its own user namespace.
    shareProcessNamespace          boolean
        Containers see each other's processes.
    enableServiceLinks             boolean
        Inject service environment variables (default true).
    readinessGates                 [PodReadinessGate]
        Extra conditions that must be True for readiness.
    runtimeClassName               string
        RuntimeClass selecting the container runtime handler.
    overhead                       map[Quantity]
        Resources the sandbox uses on top of the containers.
    os                             PodOS
        The operating system the containers need.
    resourceClaims                 [PodResourceClaim]
        Dynamic resource claims the pod uses.
    resources                      ResourceRequirements
        Pod-level requests and limits (alpha).
""")

CONTAINER_FIELDS = """
    name!                     string
        Container name, a DNS label unique in the pod.
    image                     string
        Image to run, e.g. nginx:1.27.
    imagePullPolicy           string
        Always, IfNotPresent or Never (default by tag).
    command                   [string]
        Entrypoint; replaces the image's ENTRYPOINT.
    args                      [string]
        Arguments; replace the image's CMD.
    workingDir                string
        Working directory; the image's by default.
    ports                     [ContainerPort]
        Ports the container listens on (informational).
    env                       [EnvVar]
        Environment variables.
    envFrom                   [EnvFromSource]
        Take every key of a ConfigMap or Secret as variables.
    resources                 ResourceRequirements
        CPU and memory requests and limits.
    resizePolicy              [ContainerResizePolicy]
        What happens when resources change in place.
    restartPolicy             string
        Only for init containers: Always makes a sidecar.
    volumeMounts              [VolumeMount]
        Volumes mounted into the filesystem.
    volumeDevices             [VolumeDevice]
        Raw block volumes exposed as devices.
    livenessProbe             Probe
        Restart the container when this check fails.
    readinessProbe            Probe
        Remove the pod from Service endpoints when this fails.
    startupProbe              Probe
        Holds the other probes back until the container started.
    lifecycle                 Lifecycle
        Hooks run after start and before stop.
    terminationMessagePath    string
        File whose content becomes the termination message.
    terminationMessagePolicy  string
        File (default) or FallbackToLogsOnError.
    securityContext           SecurityContext
        Security settings of this container.
    stdin                     boolean
        Keep a stdin open for attach.
    stdinOnce                 boolean
        Close stdin after the first attach disconnects.
    tty                       boolean
        Allocate a terminal (needs stdin).
"""

define(CORE + "Container", "One container of a pod: image, command, ports, environment.",
       CONTAINER_FIELDS)

define(CORE + "EphemeralContainer", "A temporary debug container added to a running pod.",
       CONTAINER_FIELDS + "targetContainerName string Container whose namespaces it joins.\n")

define(CORE + "ContainerPort", "A port a container listens on.", """
    containerPort!  integer  Port number inside the container.
    name            string   Name (IANA_SVC_NAME) Services can refer to.
    protocol        string   TCP (the default), UDP or SCTP.
    hostPort        integer  Port to open on the node as well.
    hostIP          string   Node IP the host port binds to.
""")

define(CORE + "EnvVar", "One environment variable: a value, or where to read it from.", """
    name!      string        Variable name.
    value      string        Literal value; $(VAR) references expand.
    valueFrom  EnvVarSource  Read the value from a ConfigMap, Secret, field or resource.
""")

define(CORE + "EnvVarSource", "Where an environment variable's value comes from (one of).", """
    configMapKeyRef   ConfigMapKeySelector   A key of a ConfigMap.
    secretKeyRef      SecretKeySelector      A key of a Secret.
    fieldRef          ObjectFieldSelector    A field of the pod, e.g. metadata.name, status.podIP.
    resourceFieldRef  ResourceFieldSelector  A container's request or limit, e.g. limits.cpu.
""")

define(CORE + "ConfigMapKeySelector", "Selects one key of a ConfigMap.", """
    name      string   Name of the ConfigMap.
    key!      string   The key to read.
    optional  boolean  Do not fail when the ConfigMap or key is missing.
""")

define(CORE + "SecretKeySelector", "Selects one key of a Secret.", """
    name      string   Name of the Secret.
    key!      string   The key to read.
    optional  boolean  Do not fail when the Secret or key is missing.
""")

define(CORE + "ObjectFieldSelector", "Selects a field of the pod by path.", """
    fieldPath!  string  Path of the field, e.g. metadata.namespace.
    apiVersion  string  Version the path is written in (default v1).
""")

define(CORE + "ResourceFieldSelector", "Selects a request or limit of a container.", """
    resource!      string    requests.cpu, limits.memory, ...
    containerName  string    Container to read (required for volumes).
    divisor        Quantity  Unit to divide by (default 1).
""")

define(CORE + "EnvFromSource", "Imports every key of a ConfigMap or Secret as variables.", """
    prefix        string              Prefix added to each variable name.
    configMapRef  ConfigMapEnvSource  The ConfigMap to import.
    secretRef     SecretEnvSource     The Secret to import.
""")

define(CORE + "ConfigMapEnvSource", "A ConfigMap whose keys become environment variables.", """
    name      string   Name of the ConfigMap.
    optional  boolean  Do not fail when it is missing.
""")

define(CORE + "SecretEnvSource", "A Secret whose keys become environment variables.", """
    name      string   Name of the Secret.
    optional  boolean  Do not fail when it is missing.
""")

define(CORE + "ResourceRequirements", "Compute resources: what is reserved and the caps.", """
    requests  map[Quantity]    Amounts the scheduler reserves, e.g. cpu: 100m, memory: 64Mi.
    limits    map[Quantity]    Most the container may use; memory above it is OOM-killed.
    claims    [ResourceClaim]  Dynamic resource claims of the pod this container uses.
""")

define(CORE + "ResourceClaim", "Names one of the pod's resource claims.", """
    name!    string  Name of an entry in pod.spec.resourceClaims.
    request  string  One request of that claim; all of them when empty.
""")

define(CORE + "ContainerResizePolicy", "How a container reacts to an in-place resize.", """
    resourceName!   string  cpu or memory.
    restartPolicy!  string  NotRequired or RestartContainer.
""")

define(CORE + "VolumeMount", "Mounts a volume into a container's filesystem.", """
    name!              string   Name of the pod volume.
    mountPath!         string   Where to mount it; must not contain ':'.
    subPath            string   Mount only this path inside the volume.
    subPathExpr        string   Like subPath, with $(VAR) expansion.
    readOnly           boolean  Mount read-only.
    recursiveReadOnly  string   Disabled, IfPossible or Enabled.
    mountPropagation   string   None, HostToContainer or Bidirectional.
""")

define(CORE + "VolumeDevice", "Exposes a raw block volume as a device.", """
    name!        string  Name of the PersistentVolumeClaim volume.
    devicePath!  string  Device path inside the container.
""")

define(CORE + "Probe", "A health check the kubelet runs against a container (one handler).", """
    exec                           ExecAction
        Run a command; exit 0 is success.
    httpGet                        HTTPGetAction
        GET a URL; 200-399 is success.
    tcpSocket                      TCPSocketAction
        Open a TCP connection.
    grpc                           GRPCAction
        Call the gRPC health service.
    initialDelaySeconds            integer
        Seconds after start before the first check.
    periodSeconds                  integer
        Seconds between checks (default 10).
    timeoutSeconds                 integer
        Seconds before a check times out (default 1).
    successThreshold               integer
        Successes in a row to pass (default 1).
    failureThreshold               integer
        Failures in a row to fail (default 3).
    terminationGracePeriodSeconds  integer
        Grace period when a failed probe kills the container.
""")

define(CORE + "ExecAction", "Runs a command in the container.", """
    command  [string]  Command and arguments, run without a shell.
""")

define(CORE + "HTTPGetAction", "An HTTP GET request.", """
    port!        IntOrString   Port number or name.
    path         string        Path to request.
    host         string        Host to connect to; the pod IP by default.
    scheme       string        HTTP (default) or HTTPS.
    httpHeaders  [HTTPHeader]  Extra request headers.
""")

define(CORE + "HTTPHeader", "One HTTP header.", """
    name!   string  Header name.
    value!  string  Header value.
""")

define(CORE + "TCPSocketAction", "Opens a TCP connection.", """
    port!  IntOrString  Port number or name.
    host   string       Host to connect to; the pod IP by default.
""")

define(CORE + "GRPCAction", "Calls the standard gRPC health check.", """
    port!    integer  Port number.
    service  string   Service name sent in the request.
""")

define(CORE + "Lifecycle", "Hooks the kubelet runs around a container's life.", """
    postStart  LifecycleHandler  Run right after the container starts.
    preStop    LifecycleHandler  Run before the container is stopped.
""")

define(CORE + "LifecycleHandler", "What a lifecycle hook does (one of).", """
    exec       ExecAction       Run a command in the container.
    httpGet    HTTPGetAction    Send an HTTP GET.
    tcpSocket  TCPSocketAction  Deprecated; kept for compatibility.
    sleep      SleepAction      Wait a number of seconds.
""")

define(CORE + "SleepAction", "Waits before going on.", """
    seconds!  integer  Seconds to sleep.
""")

define(CORE + "PodDNSConfig", "DNS settings added to the generated resolv.conf.", """
    nameservers  [string]              Extra name server IPs.
    searches     [string]              Extra search domains.
    options      [PodDNSConfigOption]  Resolver options, e.g. ndots.
""")

define(CORE + "PodDNSConfigOption", "One resolver option.", """
    name   string  Option name.
    value  string  Option value, if any.
""")

define(CORE + "HostAlias", "An /etc/hosts entry.", """
    ip!        string    IP address.
    hostnames  [string]  Names for that IP.
""")

define(CORE + "LocalObjectReference", "Names an object in the same namespace.", """
    name  string  Name of the object.
""")

define(CORE + "PodReadinessGate", "An extra condition a pod needs to be ready.", """
    conditionType!  string  Type of a condition in the pod's status.
""")

define(CORE + "PodSchedulingGate", "A gate that holds a pod back from scheduling.", """
    name!  string  Name of the gate; remove it to let the pod schedule.
""")

define(CORE + "PodOS", "The operating system a pod needs.", """
    name!  string  linux or windows.
""")

define(CORE + "PodResourceClaim", "Ties a pod to a dynamic resource claim.", """
    name!                      string  Name the containers use in resources.claims.
    resourceClaimName          string  An existing ResourceClaim.
    resourceClaimTemplateName  string  A template a claim is created from, per pod.
""")
