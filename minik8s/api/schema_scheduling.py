"""Schemas of a pod's placement rules: tolerations, topology spread constraints and
node / pod (anti-)affinity.

The scheduler reads these from PodSpec (schema_pod.py): `tolerations`,
`topologySpreadConstraints` and `affinity`. Field names and types are
k8s.io/api/core/v1 at v1.32. (DSL: see schema.py.)
"""
from __future__ import annotations

from .schema import CORE, define

define(CORE + "Toleration", "Lets a pod run on nodes that have a matching taint.", """
    key                string   Taint key; empty with Exists matches every taint.
    operator           string   Equal (default) or Exists.
    value              string   Taint value, for Equal.
    effect             string   NoSchedule, PreferNoSchedule or NoExecute; empty matches all.
    tolerationSeconds  integer  For NoExecute: how long the pod stays after the taint appears.
""")

define(CORE + "TopologySpreadConstraint", "Spread matching pods evenly over topology domains.", """
    maxSkew!            integer
        Largest allowed difference in pod count between domains.
    topologyKey!        string
        Node label defining the domains, e.g. topology.kubernetes.io/zone.
    whenUnsatisfiable!  string
        DoNotSchedule or ScheduleAnyway.
    labelSelector       LabelSelector
        Which pods are counted.
    matchLabelKeys      [string]
        Pod label keys whose values are added to the selector.
    minDomains          integer
        Minimum number of eligible domains.
    nodeAffinityPolicy  string
        Honor or Ignore the pod's node affinity when counting.
    nodeTaintsPolicy    string
        Honor or Ignore node taints when counting.
""")

define(CORE + "Affinity", "Scheduling rules relative to nodes and to other pods.", """
    nodeAffinity     NodeAffinity     Which nodes the pod may or prefers to run on.
    podAffinity      PodAffinity      Run near pods matching a selector.
    podAntiAffinity  PodAntiAffinity  Stay away from pods matching a selector.
""")

define(CORE + "NodeAffinity", "Node selection by node labels and fields.", """
    requiredDuringSchedulingIgnoredDuringExecution   NodeSelector
        Hard rule: nodes must match.
    preferredDuringSchedulingIgnoredDuringExecution  [PreferredSchedulingTerm]
        Soft rules.
""")

define(CORE + "NodeSelector", "Terms ORed together; a node must match one.", """
    nodeSelectorTerms!  [NodeSelectorTerm]  The terms.
""")

define(CORE + "NodeSelectorTerm", "Requirements ANDed together.", """
    matchExpressions  [NodeSelectorRequirement]  Requirements on node labels.
    matchFields       [NodeSelectorRequirement]  Requirements on node fields (metadata.name).
""")

define(CORE + "NodeSelectorRequirement", "One requirement on a node label or field.", """
    key!       string    Label key or field name.
    operator!  string    In, NotIn, Exists, DoesNotExist, Gt or Lt.
    values     [string]  Values to compare with.
""")

define(CORE + "PreferredSchedulingTerm", "A weighted preference for some nodes.", """
    weight!      integer           1-100; added to a node's score when it matches.
    preference!  NodeSelectorTerm  The nodes preferred.
""")

define(CORE + "PodAffinity", "Co-locate with pods matching a selector.", """
    requiredDuringSchedulingIgnoredDuringExecution   [PodAffinityTerm]          Hard rules.
    preferredDuringSchedulingIgnoredDuringExecution  [WeightedPodAffinityTerm]  Soft rules.
""")

define(CORE + "PodAntiAffinity", "Keep away from pods matching a selector.", """
    requiredDuringSchedulingIgnoredDuringExecution   [PodAffinityTerm]          Hard rules.
    preferredDuringSchedulingIgnoredDuringExecution  [WeightedPodAffinityTerm]  Soft rules.
""")

define(CORE + "PodAffinityTerm", "Pods matching a selector, within a topology domain.", """
    topologyKey!       string         Node label defining "near", e.g. kubernetes.io/hostname.
    labelSelector      LabelSelector  Which pods count.
    namespaces         [string]       Namespaces to look in; the pod's own by default.
    namespaceSelector  LabelSelector  Namespaces to look in, by label.
    matchLabelKeys     [string]       Pod label keys whose values join the selector.
    mismatchLabelKeys  [string]       Pod label keys whose values are excluded.
""")

define(CORE + "WeightedPodAffinityTerm", "A weighted pod (anti-)affinity preference.", """
    weight!           integer          1-100; added to a node's score when it matches.
    podAffinityTerm!  PodAffinityTerm  The term.
""")
