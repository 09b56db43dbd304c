"""The node-local scheduler plugins: NodeName, NodeUnschedulable, NodePorts,
TaintToleration and ImageLocality (NodeAffinity has its own module).

In kube-scheduler each is a package under `framework/plugins/`; each looks at one pod
and one node at a time. Here each is a small class with the extension points it uses
(see framework.py), and the decisions are pure functions (`tolerates`,
`find_untolerated_taint`, `ports_conflict`) that tests and labs call directly. Reasons are
Kubernetes' own strings, so the FailedScheduling message reads as kube-scheduler's.

Status codes follow Kubernetes: a node that cannot become feasible by evicting pods
(wrong name, cordoned, untolerated taint, affinity mismatch) is
UnschedulableAndUnresolvable; a port conflict is only Unschedulable (preemption could
free the port).

Not-ready and unreachable nodes: kube-scheduler has no node-condition filter; the node
lifecycle controller taints such a node `node.kubernetes.io/not-ready` (or
`unreachable`) with *both* NoSchedule and NoExecute, and TaintToleration does the
rest. Every pod carries NoExecute tolerations for those keys (the
DefaultTolerationSeconds admission plugin adds them with `tolerationSeconds: 300`), and
for filtering a toleration's tolerationSeconds does not matter — it tolerates — so the
NoExecute taint alone would let new pods in. The NoSchedule twin is what keeps them out.
"""
from __future__ import annotations

from minik8s.scheduler.framework import (MAX_NODE_SCORE, OK, SKIPPED, Status, UNRESOLVABLE,
                                         UNSCHEDULABLE)

NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE = "NoSchedule", "PreferNoSchedule", "NoExecute"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"


def _spec(obj: dict) -> dict:
    return obj.get("spec") or {}


def default_normalize_score(scores: dict, reverse: bool = False) -> None:
    """helper.DefaultNormalizeScore: scale {node: score} to 0..100 by the maximum,
    in place, integer arithmetic; `reverse` turns "fewer is better" into a score."""
    top = max(scores.values(), default=0)
    for name, score in scores.items():
        if top == 0:
            score = MAX_NODE_SCORE if reverse else score
        else:
            score = MAX_NODE_SCORE * score // top
            score = MAX_NODE_SCORE - score if reverse else score
        scores[name] = score


# ---------------------------------------------------------------- NodeName
class NodeName:
    """A pod with spec.nodeName only fits the node of that name."""
    name = "NodeName"
    REASON = "node(s) didn't match the requested node name"

    def __init__(self, args: dict | None = None):
        pass

    def filter(self, state, pod, node) -> Status:
        wanted = _spec(pod).get("nodeName")
        if not wanted or wanted == node.name:
            return OK
        return Status(UNRESOLVABLE, (self.REASON,), self.name)


# ---------------------------------------------------------------- TaintToleration
def tolerates(toleration: dict, taint: dict) -> bool:
    """Toleration.ToleratesTaint, from k8s.io/api/core/v1."""
    # BEGIN LAB 03: TaintToleration — does one toleration tolerate one taint?
    # Outline: an effect, if set, must equal the taint's; a key, if set, must equal the
    # taint's; then operator Exists tolerates any value, Equal (or no operator) needs
    # the same value; any other operator tolerates nothing.
    # Pitfall: an *empty* key or effect is a wildcard — `{operator: Exists}` tolerates
    # every taint. tolerationSeconds plays no part here: it only bounds how long a
    # NoExecute taint is tolerated once the pod runs (the taint manager's business).
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False
    # END LAB 03


def find_untolerated_taint(taints: list, tolerations: list) -> dict | None:
    """The first NoSchedule/NoExecute taint no toleration tolerates, or None."""
    # BEGIN LAB 03: TaintToleration — the filter loop
    # Outline: walk the node's taints in order; skip PreferNoSchedule (it only lowers
    # the score); return the first taint that no toleration of the pod tolerates.
    # Pitfall: NoExecute filters too, not only NoSchedule — a pod that does not
    # tolerate it would be evicted right after it started.
    for taint in taints:
        if taint.get("effect") not in (NO_SCHEDULE, NO_EXECUTE):
            continue
        if not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None
    # END LAB 03


class TaintToleration:
    """Filter: every NoSchedule/NoExecute taint tolerated. Score: fewer untolerated
    PreferNoSchedule taints is better (normalised, reversed)."""
    name = "TaintToleration"
    _PRE_SCORE = "PreScoreTaintToleration"

    def __init__(self, args: dict | None = None):
        pass

    def filter(self, state, pod, node) -> Status:
        taint = find_untolerated_taint(_spec(node.node).get("taints") or (),
                                       _spec(pod).get("tolerations") or ())
        if taint is None:
            return OK
        # Kubernetes <= 1.34 wording; 1.35 shortened it to "untolerated taint(s)".
        key, value = taint.get("key") or "", taint.get("value") or ""
        reason = f"node(s) had untolerated taint {{{key}: {value}}}"
        return Status(UNRESOLVABLE, (reason,), self.name)

    @staticmethod
    def _prefer_tolerations(pod: dict) -> list:
        # Only tolerations that can apply to PreferNoSchedule: that effect, or none.
        return [t for t in _spec(pod).get("tolerations") or ()
                if t.get("effect") in (None, "", PREFER_NO_SCHEDULE)]

    def pre_score(self, state, pod, nodes) -> Status:
        state[self._PRE_SCORE] = self._prefer_tolerations(pod)
        return OK

    def score(self, state, pod, node) -> int:
        tolerations = state.get(self._PRE_SCORE)
        if tolerations is None:
            tolerations = self._prefer_tolerations(pod)
        return sum(1 for taint in _spec(node.node).get("taints") or ()
                   if taint.get("effect") == PREFER_NO_SCHEDULE
                   and not any(tolerates(t, taint) for t in tolerations))

    def normalize_score(self, state, pod, scores: dict) -> None:
        default_normalize_score(scores, reverse=True)


# ---------------------------------------------------------------- NodeUnschedulable
class NodeUnschedulable:
    """A cordoned node (spec.unschedulable) takes only pods that tolerate the
    `node.kubernetes.io/unschedulable:NoSchedule` taint (DaemonSet pods do)."""
    name = "NodeUnschedulable"
    REASON = "node(s) were unschedulable"
    _TAINT = {"key": TAINT_UNSCHEDULABLE, "effect": NO_SCHEDULE}

    def __init__(self, args: dict | None = None):
        pass

    def filter(self, state, pod, node) -> Status:
        if not _spec(node.node).get("unschedulable"):
            return OK
        if any(tolerates(t, self._TAINT) for t in _spec(pod).get("tolerations") or ()):
            return OK
        return Status(UNRESOLVABLE, (self.REASON,), self.name)


# ---------------------------------------------------------------- NodePorts
ALL_IPS = "0.0.0.0"


def host_ports(pod: dict) -> list:
    """The (protocol, hostIP, hostPort) the pod binds on its node: regular containers
    and sidecars (schedutil.GetHostPorts). Empty hostIP = all IPs, protocol TCP."""
    spec = _spec(pod)
    containers = [c for c in spec.get("initContainers") or () if c.get("restartPolicy") == "Always"]
    containers += spec.get("containers") or []
    return [(p.get("protocol") or "TCP", p.get("hostIP") or ALL_IPS, int(p["hostPort"]))
            for c in containers for p in c.get("ports") or () if (p.get("hostPort") or 0) > 0]


def ports_conflict(used: set, protocol: str, ip: str, port: int) -> bool:
    """HostPortInfo.CheckConflict: 0.0.0.0 clashes with the same protocol/port on any
    IP; a specific IP clashes with itself and with 0.0.0.0."""
    if ip == ALL_IPS:
        return any(p == protocol and n == port for p, _, n in used)
    return (protocol, ip, port) in used or (protocol, ALL_IPS, port) in used


class NodePorts:
    """Filter: the pod's hostPorts must be free on the node."""
    name = "NodePorts"
    REASON = "node(s) didn't have free ports for the requested pod ports"
    _PRE_FILTER = "PreFilterNodePorts"

    def __init__(self, args: dict | None = None):
        pass

    def pre_filter(self, state, pod, nodes) -> Status:
        ports = host_ports(pod)
        if not ports:
            return SKIPPED
        state[self._PRE_FILTER] = ports
        return OK

    def filter(self, state, pod, node) -> Status:
        ports = state.get(self._PRE_FILTER)
        if ports is None:
            ports = host_ports(pod)
        if any(ports_conflict(node.used_ports, *p) for p in ports):
            return Status(UNSCHEDULABLE, (self.REASON,), self.name)
        return OK


# ---------------------------------------------------------------- ImageLocality
MB = 1024 * 1024
MIN_THRESHOLD, MAX_CONTAINER_THRESHOLD = 23 * MB, 1000 * MB


def normalized_image_name(image: str) -> str:
    """`nginx` -> `nginx:latest`, as the node lists it (a registry port is not a tag)."""
    return image if image.rfind(":") > image.rfind("/") else image + ":latest"


def _node_images(node: dict) -> dict:
    return {name: image.get("sizeBytes") or 0
            for image in (node.get("status") or {}).get("images") or ()
            for name in image.get("names") or ()}


class ImageLocality:
    """Score: prefer nodes that already have the pod's images, weighted by image size
    and by how few nodes have it (an image everywhere says nothing). Each image counts
    size * (nodes having it / nodes), clamped to 23MB..1000MB per container.
    The node count is over the nodes given to PreScore (Kubernetes: all nodes)."""
    name = "ImageLocality"
    _PRE_SCORE = "PreScoreImageLocality"

    def __init__(self, args: dict | None = None):
        pass

    def pre_score(self, state, pod, nodes) -> Status:
        spread: dict = {}
        for info in nodes:
            for image in _node_images(info.node):
                spread[image] = spread.get(image, 0) + 1
        spec = _spec(pod)
        containers = list(spec.get("initContainers") or ()) + list(spec.get("containers") or ())
        if not any(normalized_image_name(c.get("image") or "") in spread for c in containers):
            # No node has any of its images: every node would score 0, which changes no
            # choice; skipping saves a Score call per node (minik8s-only shortcut).
            return SKIPPED
        state[self._PRE_SCORE] = (spread, max(len(nodes), 1))
        return OK

    def score(self, state, pod, node) -> int:
        spread, total = state.get(self._PRE_SCORE) or ({}, 1)
        have = _node_images(node.node)
        containers = list(_spec(pod).get("initContainers") or ()) + list(_spec(pod).get("containers") or ())
        size = 0
        for c in containers:
            image = normalized_image_name(c.get("image") or "")
            if image in have:
                size += int(have[image] * (spread.get(image, 1) / total))
        top = MAX_CONTAINER_THRESHOLD * len(containers)
        size = min(max(size, MIN_THRESHOLD), top)
        if top <= MIN_THRESHOLD:
            return 0
        return MAX_NODE_SCORE * (size - MIN_THRESHOLD) // (top - MIN_THRESHOLD)
