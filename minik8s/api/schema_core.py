"""Schemas of the core/v1 kinds: Pod (and its status), Namespace, Node, Service,
Endpoints, ConfigMap, Secret, Event, ServiceAccount, PersistentVolume(Claim).

Field names and types are k8s.io/api/core/v1 at v1.32. (DSL: see schema.py; the pod
spec is in schema_pod.py, volumes in schema_volumes.py.)
"""
from __future__ import annotations

from . import schema_pod_status, schema_volumes  # noqa: F401  (types used below)
from .schema import CORE, define, kind

# --- Pod ---------------------------------------------------------------------------

kind("", "v1", "Pod", "A group of containers scheduled together on one node.", """
    spec    PodSpec    What the pod should run.
    status  PodStatus  What is running now; written by the kubelet and the scheduler.
""")

# --- Namespace, Node ---------------------------------------------------------------

kind("", "v1", "Namespace", "A scope for names; most objects live in one.", """
    spec    NamespaceSpec    Finalizers that must run before the namespace is deleted.
    status  NamespaceStatus  Active or Terminating.
""")

define(CORE + "NamespaceSpec", "The desired state of a namespace.", """
    finalizers  [string]  Must be empty before the namespace is removed (default: kubernetes).
""")

define(CORE + "NamespaceStatus", "The observed state of a namespace.", """
    phase       string                Active or Terminating.
    conditions  [NamespaceCondition]  Problems seen while deleting content.
""")

define(CORE + "NamespaceCondition", "One condition of a namespace.", """
    type!               string  Condition type, e.g. NamespaceDeletionContentFailure.
    status!             string  True, False or Unknown.
    reason              string  One-word reason.
    message             string  Details.
    lastTransitionTime  Time    When status last changed.
""")

kind("", "v1", "Node", "A machine (real or simulated) that runs pods.", """
    spec    NodeSpec    Scheduling settings: taints, unschedulable, pod CIDRs.
    status  NodeStatus  Capacity, conditions and addresses, reported by the kubelet.
""")

define(CORE + "NodeSpec", "The desired state of a node.", """
    unschedulable  boolean           No new pods are scheduled here (kubectl cordon).
    taints         [Taint]           Repel pods that do not tolerate them.
    podCIDR        string            Pod IP range of the node.
    podCIDRs       [string]          Pod IP ranges, one per family.
    providerID     string            Id of the machine at the cloud provider.
    externalID     string            Deprecated.
    configSource   NodeConfigSource  Deprecated dynamic kubelet config.
""")

define(CORE + "Taint", "Repels pods that do not tolerate it.", """
    key!       string  Taint key.
    value      string  Taint value.
    effect!    string  NoSchedule, PreferNoSchedule or NoExecute.
    timeAdded  Time    When a NoExecute taint was added.
""")

define(CORE + "NodeConfigSource", "Deprecated dynamic kubelet config source; not checked.",
       open=True)

define(CORE + "NodeStatus", "The observed state of a node.", """
    capacity         map[Quantity]         Total resources: cpu, memory, pods, ...
    allocatable      map[Quantity]         Resources left for pods.
    phase            string                Deprecated.
    conditions       [NodeCondition]       Ready, MemoryPressure, DiskPressure, PIDPressure, ...
    addresses        [NodeAddress]         InternalIP, Hostname, ...
    daemonEndpoints  NodeDaemonEndpoints   Where the kubelet listens.
    nodeInfo         NodeSystemInfo        Versions and ids of the machine.
    images           [ContainerImage]      Images present on the node.
    volumesInUse     [string]              Volumes mounted on the node.
    volumesAttached  [AttachedVolume]      Volumes attached to the node.
    config           NodeConfigStatus      Deprecated dynamic kubelet config status.
    runtimeHandlers  [NodeRuntimeHandler]  Runtime handlers available.
    features         NodeFeatures          Features the node supports.
""")

define(CORE + "NodeCondition", "One condition of a node.", """
    type!               string  Ready, MemoryPressure, DiskPressure, PIDPressure, ...
    status!             string  True, False or Unknown.
    reason              string  One-word reason.
    message             string  Details.
    lastHeartbeatTime   Time    When the kubelet last reported it.
    lastTransitionTime  Time    When status last changed.
""")

define(CORE + "NodeAddress", "One address of a node.", """
    type!     string  Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS.
    address!  string  The address.
""")

define(CORE + "NodeDaemonEndpoints", "Ports of the daemons on a node.", """
    kubeletEndpoint  DaemonEndpoint  The kubelet's port.
""")

define(CORE + "DaemonEndpoint", "A port a node daemon listens on.", """
    Port!  integer  Port number.
""")

define(CORE + "NodeSystemInfo", "Versions and ids reported by a node.", """
    machineID!                string  Machine id.
    systemUUID!               string  System UUID.
    bootID!                   string  Boot id.
    kernelVersion!            string  Kernel version.
    osImage!                  string  OS image, e.g. Debian GNU/Linux 12.
    containerRuntimeVersion!  string  Runtime and version, e.g. containerd://1.7.
    kubeletVersion!           string  Kubelet version.
    kubeProxyVersion!         string  Deprecated kube-proxy version.
    operatingSystem!          string  linux or windows.
    architecture!             string  amd64, arm64, ...
""")

define(CORE + "ContainerImage", "An image present on a node.", """
    names      [string]  Names and digests of the image.
    sizeBytes  integer   Size in bytes.
""")

define(CORE + "AttachedVolume", "A volume attached to a node.", """
    name!        string  Volume name.
    devicePath!  string  Device it is attached as.
""")

define(CORE + "NodeConfigStatus", "Deprecated dynamic kubelet config status; not checked.",
       open=True)

define(CORE + "NodeRuntimeHandler", "A container runtime handler of a node.", """
    name      string                      Handler name; empty for the default.
    features  NodeRuntimeHandlerFeatures  What it supports.
""")

define(CORE + "NodeRuntimeHandlerFeatures", "Features of a runtime handler.", """
    recursiveReadOnlyMounts  boolean  Supports recursive read-only mounts.
    userNamespaces           boolean  Supports user namespaces.
""")

define(CORE + "NodeFeatures", "Features a node supports.", """
    supplementalGroupsPolicy  boolean  Supports supplementalGroupsPolicy.
""")

# --- Service, Endpoints --------------------------------------------------------------

kind("", "v1", "Service", "A stable virtual IP and DNS name in front of a set of pods.", """
    spec    ServiceSpec    Ports, selector and type.
    status  ServiceStatus  Load balancer state.
""")

define(CORE + "ServiceSpec", "The desired state of a service.", """
    type                           string
        ClusterIP (default), NodePort, LoadBalancer or ExternalName.
    selector                       map[string]
        Pods with these labels receive the traffic.
    ports                          [ServicePort]
        Ports the service exposes.
    clusterIP                      string
        Virtual IP; allocated when empty, None for headless.
    clusterIPs                     [string]
        Virtual IPs, one per family.
    ipFamilies                     [string]
        IPv4 and/or IPv6.
    ipFamilyPolicy                 string
        SingleStack, PreferDualStack or RequireDualStack.
    externalName                   string
        DNS name an ExternalName service aliases.
    externalIPs                    [string]
        Extra IPs that also accept traffic.
    sessionAffinity                string
        None (default) or ClientIP.
    sessionAffinityConfig          SessionAffinityConfig
        Settings of ClientIP affinity.
    externalTrafficPolicy          string
        Cluster (default) or Local for external traffic.
    internalTrafficPolicy          string
        Cluster (default) or Local for in-cluster traffic.
    healthCheckNodePort            integer
        Node port for health checks with Local traffic policy.
    publishNotReadyAddresses       boolean
        Include pods that are not ready.
    loadBalancerIP                 string
        Deprecated requested load balancer IP.
    loadBalancerSourceRanges       [string]
        Client CIDRs allowed through the load balancer.
    loadBalancerClass              string
        Load balancer implementation to use.
    allocateLoadBalancerNodePorts  boolean
        Allocate node ports for a LoadBalancer (default true).
    trafficDistribution            string
        Routing preference, e.g. PreferClose.
""")

define(CORE + "ServicePort", "A port a service exposes.", """
    port!        integer      Port of the service.
    targetPort   IntOrString  Port number or name on the pods (default: port).
    protocol     string       TCP (default), UDP or SCTP.
    name         string       Name; required when there are several ports.
    nodePort     integer      Port on every node, for NodePort and LoadBalancer.
    appProtocol  string       Application protocol, e.g. http.
""")

define(CORE + "SessionAffinityConfig", "Session affinity settings.", """
    clientIP  ClientIPConfig  ClientIP affinity settings.
""")

define(CORE + "ClientIPConfig", "ClientIP affinity settings.", """
    timeoutSeconds  integer  How long a client sticks to a pod (default 3 hours).
""")

define(CORE + "ServiceStatus", "The observed state of a service.", """
    loadBalancer  LoadBalancerStatus  The load balancer, if any.
    conditions    [Condition]         Current conditions.
""")

define(CORE + "LoadBalancerStatus", "A load balancer's ingress points.", """
    ingress  [LoadBalancerIngress]  IPs or host names traffic enters through.
""")

define(CORE + "LoadBalancerIngress", "One ingress point of a load balancer.", """
    ip        string        IP address.
    hostname  string        Host name.
    ipMode    string        VIP or Proxy.
    ports     [PortStatus]  Status of each port.
""")

define(CORE + "PortStatus", "Status of one port.", """
    port!      integer  Port number.
    protocol!  string   TCP, UDP or SCTP.
    error      string   Problem with the port, if any.
""")

kind("", "v1", "Endpoints", "The addresses a service currently routes to.", """
    subsets  [EndpointSubset]  Groups of addresses sharing the same ports.
""")

define(CORE + "EndpointSubset", "Addresses that share a set of ports.", """
    addresses          [EndpointAddress]  Ready addresses.
    notReadyAddresses  [EndpointAddress]  Addresses not ready yet.
    ports              [EndpointPort]     The ports.
""")

define(CORE + "EndpointAddress", "One endpoint.", """
    ip!        string           IP of the endpoint.
    hostname   string           Host name of the endpoint.
    nodeName   string           Node it runs on.
    targetRef  ObjectReference  The pod behind it.
""")

define(CORE + "EndpointPort", "One port of an endpoint.", """
    port!        integer  Port number.
    name         string   Name, matching the service port's.
    protocol     string   TCP, UDP or SCTP.
    appProtocol  string   Application protocol.
""")

define(CORE + "ObjectReference", "Points at any object.", """
    kind             string  Kind of the object.
    namespace        string  Namespace of the object.
    name             string  Name of the object.
    uid              string  UID of the object.
    apiVersion       string  API version of the object.
    resourceVersion  string  Version of the object referred to.
    fieldPath        string  A part of the object, e.g. spec.containers{web}.
""")

# --- configuration and identity -------------------------------------------------------

kind("", "v1", "ConfigMap", "Non-secret configuration as key/value pairs.", """
    data        map[string]  Text values.
    binaryData  map[byte]    Binary values, base64 encoded.
    immutable   boolean      True forbids changing the data.
""")

kind("", "v1", "Secret", "Sensitive data as key/value pairs.", """
    type        string
        Opaque (default), kubernetes.io/tls, kubernetes.io/dockerconfigjson, ...
    data        map[byte]
        Values, base64 encoded.
    stringData  map[string]
        Plain-text values, merged into data on write.
    immutable   boolean
        True forbids changing the data.
""")

kind("", "v1", "ServiceAccount", "An identity for processes running in pods.", """
    secrets                       [ObjectReference]       Legacy token secrets.
    imagePullSecrets              [LocalObjectReference]  Registry credentials given to its pods.
    automountServiceAccountToken  boolean                 Mount the token into its pods.
""")

kind("", "v1", "Event", "A report of something that happened to an object.", """
    involvedObject!     ObjectReference  The object it is about.
    reason              string           Short CamelCase reason, e.g. Scheduled.
    message             string           What happened.
    type                string           Normal or Warning.
    source              EventSource      Component that reported it.
    count               integer          Times it happened.
    firstTimestamp      Time             First time it happened.
    lastTimestamp       Time             Latest time it happened.
    eventTime           MicroTime        When it first happened, with microseconds.
    series              EventSeries      Repetition data.
    action              string           What was done, e.g. Binding.
    related             ObjectReference  A second object involved.
    reportingComponent  string           Controller that reported it, e.g. kubelet.
    reportingInstance   string           Instance of that controller.
""")

define(CORE + "EventSource", "Who reported an event.", """
    component  string  Component name.
    host       string  Node name.
""")

define(CORE + "EventSeries", "How often an event repeated.", """
    count             integer    Occurrences so far.
    lastObservedTime  MicroTime  Latest occurrence.
""")

# --- storage -------------------------------------------------------------------------

kind("", "v1", "PersistentVolume", "A piece of storage in the cluster.", """
    spec    PersistentVolumeSpec    Size, access modes and source.
    status  PersistentVolumeStatus  Available, Bound, Released or Failed.
""")

define(CORE + "PersistentVolumeStatus", "The observed state of a volume.", """
    phase                    string  Pending, Available, Bound, Released or Failed.
    message                  string  Details.
    reason                   string  One-word reason.
    lastPhaseTransitionTime  Time    When phase last changed.
""")

kind("", "v1", "PersistentVolumeClaim", "A request for storage by a user.", """
    spec    PersistentVolumeClaimSpec    What is asked for.
    status  PersistentVolumeClaimStatus  Pending, Bound or Lost.
""")

define(CORE + "PersistentVolumeClaimStatus", "The observed state of a claim.", """
    phase                             string
        Pending, Bound or Lost.
    accessModes                       [string]
        Access modes of the bound volume.
    capacity                          map[Quantity]
        Size of the bound volume.
    conditions                        [PersistentVolumeClaimCondition]
        Resize progress.
    allocatedResources                map[Quantity]
        Size allocated while resizing.
    allocatedResourceStatuses         map[string]
        Resize state per resource.
    currentVolumeAttributesClassName  string
        VolumeAttributesClass in use.
    modifyVolumeStatus                ModifyVolumeStatus
        Progress of a class change.
""")

define(CORE + "PersistentVolumeClaimCondition", "One condition of a claim.", """
    type!               string  Resizing, FileSystemResizePending, ...
    status!             string  True, False or Unknown.
    reason              string  One-word reason.
    message             string  Details.
    lastProbeTime       Time    When it was last checked.
    lastTransitionTime  Time    When status last changed.
""")

define(CORE + "ModifyVolumeStatus", "Progress of a VolumeAttributesClass change.", """
    status!                          string  Pending, InProgress or Infeasible.
    targetVolumeAttributesClassName  string  The class being applied.
""")
