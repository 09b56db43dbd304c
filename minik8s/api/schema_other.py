"""Schemas of the remaining kinds: autoscaling/v2 HorizontalPodAutoscaler,
coordination.k8s.io/v1 Lease, networking.k8s.io/v1 Ingress, the four
rbac.authorization.k8s.io/v1 kinds, and autoscaling/v1 Scale (the body of every
/scale subresource).

Field names and types are k8s.io/api at v1.32. (DSL: see schema.py.)
"""
from __future__ import annotations

from .schema import define, kind, package

HPA = package("autoscaling", "v2")
NET = package("networking.k8s.io", "v1")
RBAC = package("rbac.authorization.k8s.io", "v1")
COORD = package("coordination.k8s.io", "v1")
SCALE = package("autoscaling", "v1")

# --- autoscaling/v2 --------------------------------------------------------------------

kind("autoscaling", "v2", "HorizontalPodAutoscaler",
     "Scales a workload's replicas to keep metrics near their targets.", """
    spec    HorizontalPodAutoscalerSpec    Target, bounds, metrics and scaling behavior.
    status  HorizontalPodAutoscalerStatus  Current metrics and replica counts.
""")

define(HPA + "HorizontalPodAutoscalerSpec", "The desired state of an autoscaler.", """
    scaleTargetRef!  CrossVersionObjectReference
        The workload to scale (its /scale subresource).
    minReplicas      integer
        Lower bound (default 1).
    maxReplicas!     integer
        Upper bound.
    metrics          [MetricSpec]
        What to measure; 80% average CPU by default.
    behavior         HorizontalPodAutoscalerBehavior
        How fast to scale up and down.
""")

define(HPA + "CrossVersionObjectReference", "Names an object of a given kind.", """
    kind!       string  Kind, e.g. Deployment.
    name!       string  Name.
    apiVersion  string  API version, e.g. apps/v1.
""")

define(HPA + "HorizontalPodAutoscalerBehavior", "Scaling speed in each direction.", """
    scaleUp    HPAScalingRules  Rules for scaling up.
    scaleDown  HPAScalingRules  Rules for scaling down.
""")

define(HPA + "HPAScalingRules", "Limits on how fast to scale in one direction.", """
    stabilizationWindowSeconds  integer             Look back this long before acting.
    selectPolicy                string              Max (default), Min or Disabled.
    policies                    [HPAScalingPolicy]  Allowed changes per period.
""")

define(HPA + "HPAScalingPolicy", "An allowed change within a period.", """
    type!           string   Pods or Percent.
    value!          integer  Amount of change.
    periodSeconds!  integer  Length of the period.
""")

define(HPA + "MetricSpec", "One metric to scale on (type says which source).", """
    type!              string
        Resource, ContainerResource, Pods, Object or External.
    resource           ResourceMetricSource
        A resource of the pods, e.g. cpu.
    containerResource  ContainerResourceMetricSource
        A resource of one container.
    pods               PodsMetricSource
        A custom metric averaged over the pods.
    object             ObjectMetricSource
        A metric of another object.
    external           ExternalMetricSource
        A metric from outside the cluster.
""")

define(HPA + "ResourceMetricSource", "A resource metric of the pods.", """
    name!    string        Resource name: cpu or memory.
    target!  MetricTarget  The target value.
""")

define(HPA + "ContainerResourceMetricSource", "A resource metric of one container.", """
    name!       string        Resource name.
    container!  string        Container name.
    target!     MetricTarget  The target value.
""")

define(HPA + "PodsMetricSource", "A custom metric of the pods.", """
    metric!  MetricIdentifier  The metric.
    target!  MetricTarget      The target value.
""")

define(HPA + "ObjectMetricSource", "A metric describing another object.", """
    describedObject!  CrossVersionObjectReference  The object.
    metric!           MetricIdentifier             The metric.
    target!           MetricTarget                 The target value.
""")

define(HPA + "ExternalMetricSource", "A metric from outside the cluster.", """
    metric!  MetricIdentifier  The metric.
    target!  MetricTarget      The target value.
""")

define(HPA + "MetricIdentifier", "Names a metric.", """
    name!     string         Metric name.
    selector  LabelSelector  Narrows the metric by labels.
""")

define(HPA + "MetricTarget", "The value a metric should have.", """
    type!               string    Utilization, Value or AverageValue.
    value               Quantity  Target value.
    averageValue        Quantity  Target average over the pods.
    averageUtilization  integer   Target percent of the requests.
""")

define(HPA + "HorizontalPodAutoscalerStatus", "The observed state of an autoscaler.", """
    observedGeneration  integer
        The generation the controller last acted on.
    lastScaleTime       Time
        When it last changed the replica count.
    currentReplicas     integer
        Replicas now.
    desiredReplicas!    integer
        Replicas it wants.
    currentMetrics      [MetricStatus]
        Last measured values.
    conditions          [HorizontalPodAutoscalerCondition]
        AbleToScale, ScalingActive, ScalingLimited.
""")

define(HPA + "HorizontalPodAutoscalerCondition", "One condition of an autoscaler.", """
    type!               string  AbleToScale, ScalingActive or ScalingLimited.
    status!             string  True, False or Unknown.
    reason              string  One-word reason.
    message             string  Details.
    lastTransitionTime  Time    When status last changed.
""")

define(HPA + "MetricStatus", "The measured value of one metric.", """
    type!              string
        Resource, ContainerResource, Pods, Object or External.
    resource           ResourceMetricStatus
        A resource of the pods.
    containerResource  ContainerResourceMetricStatus
        A resource of one container.
    pods               PodsMetricStatus
        A custom metric of the pods.
    object             ObjectMetricStatus
        A metric of another object.
    external           ExternalMetricStatus
        A metric from outside the cluster.
""")

define(HPA + "ResourceMetricStatus", "A measured resource metric.", """
    name!     string             Resource name.
    current!  MetricValueStatus  The value.
""")

define(HPA + "ContainerResourceMetricStatus", "A measured container resource metric.", """
    name!       string             Resource name.
    container!  string             Container name.
    current!    MetricValueStatus  The value.
""")

define(HPA + "PodsMetricStatus", "A measured custom metric of the pods.", """
    metric!   MetricIdentifier   The metric.
    current!  MetricValueStatus  The value.
""")

define(HPA + "ObjectMetricStatus", "A measured metric of another object.", """
    metric!           MetricIdentifier             The metric.
    current!          MetricValueStatus            The value.
    describedObject!  CrossVersionObjectReference  The object.
""")

define(HPA + "ExternalMetricStatus", "A measured external metric.", """
    metric!   MetricIdentifier   The metric.
    current!  MetricValueStatus  The value.
""")

define(HPA + "MetricValueStatus", "A measured value.", """
    value               Quantity  Total value.
    averageValue        Quantity  Average over the pods.
    averageUtilization  integer   Average percent of the requests.
""")

# --- autoscaling/v1 Scale: the /scale subresource -------------------------------------

kind("autoscaling", "v1", "Scale", "The replica count of a scalable resource (/scale).", """
    spec    ScaleSpec    Desired replicas.
    status  ScaleStatus  Current replicas and the pod selector.
""")

define(SCALE + "ScaleSpec", "The desired scale.", """
    replicas  integer  Desired number of replicas.
""")

define(SCALE + "ScaleStatus", "The observed scale.", """
    replicas!  integer  Current number of replicas.
    selector   string   Label selector of the pods, in string form.
""")

# --- coordination.k8s.io/v1 ------------------------------------------------------------

kind("coordination.k8s.io", "v1", "Lease", "A lock with a holder and an expiry (leader election, "
     "node heartbeats).", """
    spec  LeaseSpec  Holder and timing.
""")

define(COORD + "LeaseSpec", "Who holds a lease and until when.", """
    holderIdentity        string     Current holder.
    leaseDurationSeconds  integer    Seconds a holder may wait before renewing.
    acquireTime           MicroTime  When the holder acquired it.
    renewTime             MicroTime  When the holder last renewed it.
    leaseTransitions      integer    Times it changed holders.
    strategy              string     How the next holder is chosen (coordinated election).
    preferredHolder       string     Who should hold it next (coordinated election).
""")

# --- networking.k8s.io/v1 --------------------------------------------------------------

kind("networking.k8s.io", "v1", "Ingress", "HTTP routing from outside to services.", """
    spec    IngressSpec    Routing rules and TLS.
    status  IngressStatus  Where the ingress controller exposes it.
""")

define(NET + "IngressSpec", "The desired state of an ingress.", """
    ingressClassName  string          IngressClass (controller) that implements it.
    defaultBackend    IngressBackend  Where requests no rule matches go.
    rules             [IngressRule]   Host and path rules.
    tls               [IngressTLS]    TLS certificates per host.
""")

define(NET + "IngressBackend", "Where matching requests go (one of).", """
    service   IngressServiceBackend      A service port.
    resource  TypedLocalObjectReference  Another object, e.g. a storage bucket.
""")

define(NET + "IngressServiceBackend", "A service port as a backend.", """
    name!  string              Service name.
    port   ServiceBackendPort  Service port.
""")

define(NET + "ServiceBackendPort", "A service port, by name or number.", """
    name    string   Port name.
    number  integer  Port number.
""")

define(NET + "IngressRule", "Routing for one host.", """
    host  string                Host name; all hosts when empty. May start with *.
    http  HTTPIngressRuleValue  Path rules.
""")

define(NET + "HTTPIngressRuleValue", "HTTP path rules.", """
    paths!  [HTTPIngressPath]  The paths.
""")

define(NET + "HTTPIngressPath", "One path and its backend.", """
    path       string          Path to match, starting with /.
    pathType!  string          Exact, Prefix or ImplementationSpecific.
    backend!   IngressBackend  Where matching requests go.
""")

define(NET + "IngressTLS", "A TLS certificate for some hosts.", """
    hosts       [string]  Hosts the certificate covers.
    secretName  string    Secret holding the certificate and key.
""")

define(NET + "IngressStatus", "The observed state of an ingress.", """
    loadBalancer  IngressLoadBalancerStatus  Where it is exposed.
""")

define(NET + "IngressLoadBalancerStatus", "Ingress points of an ingress.", """
    ingress  [IngressLoadBalancerIngress]  IPs or host names.
""")

define(NET + "IngressLoadBalancerIngress", "One ingress point.", """
    ip        string               IP address.
    hostname  string               Host name.
    ports     [IngressPortStatus]  Status of each port.
""")

define(NET + "IngressPortStatus", "Status of one ingress port.", """
    port!      integer  Port number.
    protocol!  string   TCP, UDP or SCTP.
    error      string   Problem with the port, if any.
""")

# --- rbac.authorization.k8s.io/v1 ------------------------------------------------------

kind("rbac.authorization.k8s.io", "v1", "Role", "Permissions within one namespace.", """
    rules  [PolicyRule]  What the role allows.
""")

kind("rbac.authorization.k8s.io", "v1", "ClusterRole", "Permissions across the cluster.", """
    rules            [PolicyRule]     What the role allows.
    aggregationRule  AggregationRule  Build the rules from other ClusterRoles.
""")

define(RBAC + "PolicyRule", "Verbs allowed on some resources (or non-resource URLs).", """
    verbs!           [string]  get, list, watch, create, update, patch, delete, ... or *.
    apiGroups        [string]  API groups; "" is the core group.
    resources        [string]  Resources, e.g. pods or pods/log.
    resourceNames    [string]  Only these object names.
    nonResourceURLs  [string]  URL paths like /healthz (ClusterRoles only).
""")

define(RBAC + "AggregationRule", "Selects ClusterRoles whose rules are combined.", """
    clusterRoleSelectors  [LabelSelector]  ClusterRoles with matching labels.
""")

kind("rbac.authorization.k8s.io", "v1", "RoleBinding",
     "Grants a role to subjects in a namespace.", """
    subjects  [Subject]  Users, groups or service accounts.
    roleRef!  RoleRef    The Role or ClusterRole granted.
""")

kind("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding",
     "Grants a ClusterRole to subjects everywhere.", """
    subjects  [Subject]  Users, groups or service accounts.
    roleRef!  RoleRef    The ClusterRole granted.
""")

define(RBAC + "Subject", "Who a binding grants to.", """
    kind!      string  User, Group or ServiceAccount.
    name!      string  Name of the subject.
    namespace  string  Namespace, for service accounts.
    apiGroup   string  rbac.authorization.k8s.io for users and groups.
""")

define(RBAC + "RoleRef", "The role a binding grants.", """
    apiGroup!  string  rbac.authorization.k8s.io.
    kind!      string  Role or ClusterRole.
    name!      string  Name of the role.
""")
