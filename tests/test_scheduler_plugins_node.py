"""The node-local plugins — TaintToleration, NodeUnschedulable, NodeName, NodePorts,
NodeAffinity, ImageLocality — one table per plugin, with Kubernetes' reason strings
and hand-computed normalised scores. Builders come from test_scheduler_plugins.py.
"""
import pytest

from minik8s.scheduler.framework import OK, SKIP, UNRESOLVABLE, UNSCHEDULABLE, CycleState
from minik8s.scheduler.plugins.basic import (ImageLocality, NodeName, NodePorts,
                                             NodeUnschedulable, TaintToleration,
                                             default_normalize_score, find_untolerated_taint,
                                             host_ports, normalized_image_name, tolerates)
from minik8s.scheduler.plugins.nodeaffinity import NodeAffinity, parse_int64
from minik8s.scheduler.plugins.noderesources import new_node_info
from test_scheduler_plugins import MI, container, node, pod, run_filter, run_score


# ---------------------------------------------------------------- TaintToleration
T_GPU = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


@pytest.mark.parametrize("toleration, taint, ok", [
    ({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}, T_GPU, True),
    ({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}, T_GPU, True),   # no operator = Equal
    ({"key": "dedicated", "operator": "Equal", "value": "cpu"}, T_GPU, False),
    ({"key": "dedicated", "operator": "Exists"}, T_GPU, True),
    ({"key": "other", "operator": "Exists"}, T_GPU, False),
    ({"operator": "Exists"}, T_GPU, True),                                         # empty key: all
    ({"operator": "Exists"}, {"key": "x", "effect": "NoExecute"}, True),
    ({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}, T_GPU, False),
    ({"key": "dedicated", "operator": "Exists", "effect": ""}, T_GPU, True),         # empty effect: all
    ({"key": "k", "operator": "Equal"}, {"key": "k", "effect": "NoSchedule"}, True),  # "" == ""
    ({"key": "dedicated", "operator": "Gt", "value": "gpu"}, T_GPU, False),
    ({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
      "tolerationSeconds": 300}, {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}, True),
], ids=["equal", "default-op", "value-differs", "exists", "key-differs", "empty-key",
        "empty-key-noexecute", "effect-differs", "empty-effect", "empty-values",
        "bad-operator", "toleration-seconds"])
def test_tolerates(toleration, taint, ok):
    assert tolerates(toleration, taint) is ok


NOT_READY = "node.kubernetes.io/not-ready"
DEFAULT_TOLERATIONS = [{"key": k, "operator": "Exists", "effect": "NoExecute",
                        "tolerationSeconds": 300}
                       for k in (NOT_READY, "node.kubernetes.io/unreachable")]


@pytest.mark.parametrize("taints, tolerations, reason", [
    ([], [], None),
    ([T_GPU], [], "node(s) had untolerated taint {dedicated: gpu}"),
    ([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}], [],
     "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
    ([{"key": "a", "value": "1", "effect": "PreferNoSchedule"}], [], None),
    ([{"key": "a", "value": "1", "effect": "NoExecute"}], [], "node(s) had untolerated taint {a: 1}"),
    ([{"key": "a", "value": "1", "effect": "NoSchedule"}, T_GPU], [{"key": "a", "operator": "Exists"}],
     "node(s) had untolerated taint {dedicated: gpu}"),
    ([{"key": "a", "effect": "NoSchedule"}, T_GPU], [], "node(s) had untolerated taint {a: }"),
    # a not-ready node: the default NoExecute tolerations do not cover the NoSchedule twin
    ([{"key": NOT_READY, "effect": "NoSchedule"}, {"key": NOT_READY, "effect": "NoExecute"}],
     DEFAULT_TOLERATIONS, f"node(s) had untolerated taint {{{NOT_READY}: }}"),
    ([{"key": NOT_READY, "effect": "NoExecute"}], DEFAULT_TOLERATIONS, None),
    ([T_GPU, {"key": NOT_READY, "effect": "NoSchedule"}], [{"operator": "Exists"}], None),
], ids=["none", "noschedule", "no-value", "prefer-only", "noexecute", "second-untolerated",
        "first-reported", "not-ready", "not-ready-noexecute-only", "tolerate-all"])
def test_taint_toleration_filter(taints, tolerations, reason):
    info = new_node_info(node(taints=taints))
    status = run_filter(TaintToleration(), pod(tolerations=tolerations), info)
    assert (find_untolerated_taint(taints, tolerations) is None) == (reason is None)
    assert status.reasons == ((reason,) if reason else ())
    assert status.code == (UNRESOLVABLE if reason else OK.code)


def test_taint_toleration_score_counts_prefer_no_schedule_reversed():
    prefer = [{"key": k, "value": "v", "effect": "PreferNoSchedule"} for k in ("a", "b")]
    infos = [new_node_info(node("two", taints=prefer)), new_node_info(node("one", taints=prefer[:1])),
             new_node_info(node("zero", taints=[T_GPU]))]
    # counts 2, 1, 0 -> 100 - 100*c//2
    assert run_score(TaintToleration(), pod(), infos) == {"two": 0, "one": 50, "zero": 100}
    # tolerating "a" (effect PreferNoSchedule or empty) removes it from the count
    for effect in ("PreferNoSchedule", None):
        t = [{"key": "a", "operator": "Exists", **({"effect": effect} if effect else {})}]
        assert run_score(TaintToleration(), pod(tolerations=t), infos) == {"two": 0, "one": 100, "zero": 100}
    # nothing untolerated anywhere: every node gets the maximum
    assert run_score(TaintToleration(), pod(tolerations=[{"operator": "Exists"}]), infos) == \
        {"two": 100, "one": 100, "zero": 100}


# ---------------------------------------------------------------- NodeUnschedulable, NodeName
@pytest.mark.parametrize("cordoned, tolerations, ok", [
    (False, [], True),
    (True, [], False),
    (True, [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}], True),
    (True, [{"operator": "Exists"}], True),
    (True, [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoExecute"}], False),
])
def test_node_unschedulable(cordoned, tolerations, ok):
    status = run_filter(NodeUnschedulable(), pod(tolerations=tolerations),
                        new_node_info(node(unschedulable=cordoned)))
    assert status.ok is ok
    if not ok:
        assert (status.code, status.reasons) == (UNRESOLVABLE, ("node(s) were unschedulable",))


@pytest.mark.parametrize("name, ok", [(None, True), ("n1", True), ("n2", False)])
def test_node_name(name, ok):
    status = run_filter(NodeName(), pod(node_name=name), new_node_info(node("n1")))
    assert status.ok is ok
    if not ok:
        assert (status.code, status.reasons) == \
            (UNRESOLVABLE, ("node(s) didn't match the requested node name",))


# ---------------------------------------------------------------- NodePorts
def _port_pod(port, protocol=None, ip=None, uid="new"):
    p = {"containerPort": port, "hostPort": port, **({"protocol": protocol} if protocol else {}),
         **({"hostIP": ip} if ip else {})}
    return pod(containers=[container(ports=[p])], uid=uid)


@pytest.mark.parametrize("used, want, conflict", [
    (_port_pod(80, uid="old"), _port_pod(81), False),
    (_port_pod(80, uid="old"), _port_pod(80), True),
    (_port_pod(80, uid="old"), _port_pod(80, "UDP"), False),
    (_port_pod(80, ip="10.0.0.1", uid="old"), _port_pod(80, ip="10.0.0.2"), False),
    (_port_pod(80, ip="10.0.0.1", uid="old"), _port_pod(80, ip="10.0.0.1"), True),
    (_port_pod(80, uid="old"), _port_pod(80, ip="10.0.0.1"), True),        # used on 0.0.0.0
    (_port_pod(80, ip="10.0.0.1", uid="old"), _port_pod(80), True),        # want 0.0.0.0
    (_port_pod(80, ip="10.0.0.1", uid="old"), _port_pod(80, ip="0.0.0.0"), True),
    (pod(init=[container(ports=[{"containerPort": 80, "hostPort": 80}], restart="Always")],
         uid="old"), _port_pod(80), True),                                 # a sidecar holds it
    (pod(init=[container(ports=[{"containerPort": 80, "hostPort": 80}])], uid="old"),
     _port_pod(80), False),                                                # init: done before
], ids=["other-port", "same", "other-protocol", "other-ip", "same-ip", "used-wildcard",
        "want-wildcard", "explicit-wildcard", "sidecar", "plain-init"])
def test_node_ports(used, want, conflict):
    status = run_filter(NodePorts(), want, new_node_info(node(), [used]))
    assert status.ok is not conflict
    if conflict:
        assert (status.code, status.reasons) == \
            (UNSCHEDULABLE, ("node(s) didn't have free ports for the requested pod ports",))


def test_node_ports_skips_pods_without_host_ports():
    p = pod(containers=[container(ports=[{"containerPort": 80}])])
    assert host_ports(p) == [] and NodePorts().pre_filter(CycleState(), p, []).code == SKIP


# ---------------------------------------------------------------- NodeAffinity
def required(*terms):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                             {"nodeSelectorTerms": list(terms)}}}


def expr(key, op, *values):
    return {"matchExpressions": [{"key": key, "operator": op, **({"values": list(values)} if values else {})}]}


LABELS = {"zone": "a", "gpus": "4", "odd": "1_0", "padded": "007"}
AFFINITY = "node(s) didn't match Pod's node affinity/selector"


@pytest.mark.parametrize("selector, affinity, ok", [
    ({"zone": "a"}, None, True),
    ({"zone": "b"}, None, False),
    ({"region": ""}, None, False),                                   # absent != empty value
    (None, required(expr("zone", "In", "a", "b")), True),
    (None, required(expr("zone", "In", "b")), False),
    (None, required(expr("region", "In", "x")), False),
    (None, required(expr("zone", "NotIn", "b")), True),
    (None, required(expr("zone", "NotIn", "a")), False),
    (None, required(expr("region", "NotIn", "x")), True),           # absent label: NotIn holds
    (None, required(expr("zone", "Exists")), True),
    (None, required(expr("region", "Exists")), False),
    (None, required(expr("region", "DoesNotExist")), True),
    (None, required(expr("zone", "DoesNotExist")), False),
    (None, required(expr("gpus", "Gt", "3")), True),
    (None, required(expr("gpus", "Gt", "4")), False),               # strictly greater
    (None, required(expr("gpus", "Lt", "5")), True),
    (None, required(expr("padded", "Lt", "8")), True),              # "007" is 7 to ParseInt
    (None, required(expr("zone", "Gt", "1")), False),               # "a" is not an integer
    (None, required(expr("odd", "Gt", "1")), False),                # nor is "1_0"
    (None, required(expr("region", "Lt", "100")), False),           # absent label
    (None, required(expr("gpus", "Gt", "3.5")), False),             # bad term: matches nothing
    (None, required(expr("gpus", "Gt", "3.5"), expr("zone", "In", "a")), True),   # ORed terms
    (None, required({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]},
                                          {"key": "gpus", "operator": "Gt", "values": ["8"]}]}), False),
    (None, required({}), False),                                    # empty term: nothing
    (None, required(), False),                                      # no terms: nothing
    (None, required(expr("zone", "Exists", "a")), False),           # Exists with values: invalid
    (None, required(expr("zone", "Near", "a")), False),
    (None, required({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}), True),
    (None, required({"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}]}), False),
    (None, required({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1", "n2"]}]}), False),
    ({"zone": "a"}, required(expr("gpus", "Gt", "8")), False),      # both must hold
    ({"zone": "a"}, required(expr("gpus", "Gt", "1")), True),
], ids=["sel", "sel-value", "sel-absent", "in", "in-miss", "in-absent", "notin", "notin-miss",
        "notin-absent", "exists", "exists-miss", "dne", "dne-miss", "gt", "gt-equal", "lt",
        "lt-leading-zeros", "gt-label-not-int", "gt-label-underscore", "lt-absent",
        "gt-value-not-int", "or", "and", "empty-term", "no-terms", "exists-values",
        "bad-operator", "field-in", "field-notin", "field-two-values", "sel-and-aff",
        "sel-and-aff-ok"])
def test_node_affinity_filter(selector, affinity, ok):
    status = run_filter(NodeAffinity(), pod(node_selector=selector, affinity=affinity),
                        new_node_info(node("n1", labels=LABELS)))
    assert status.ok is ok
    if not ok:
        assert (status.code, status.reasons) == (UNRESOLVABLE, (AFFINITY,))


def test_node_affinity_skips_pods_without_requirements_and_reports_conflicts():
    assert NodeAffinity().pre_filter(CycleState(), pod(), []).code == SKIP
    pinned = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [n]}
                              for n in ("n1", "n2")]}
    status = NodeAffinity().pre_filter(CycleState(), pod(affinity=required(pinned)), [])
    assert (status.code, status.reasons) == (UNRESOLVABLE, ("pod affinity terms conflict",))


def test_added_affinity_is_enforced_on_every_pod():
    plugin = NodeAffinity({"addedAffinity": required(expr("zone", "In", "b"))["nodeAffinity"]})
    status = run_filter(plugin, pod(), new_node_info(node(labels=LABELS)))
    assert status.reasons == ("node(s) didn't match scheduler-enforced node affinity",)


def test_parse_int64_is_go_strconv():
    assert [parse_int64(s) for s in ("42", "+7", "-3", "007", "9223372036854775807")] == \
        [42, 7, -3, 7, 2**63 - 1]
    assert {parse_int64(s) for s in ("1_0", " 5", "5.0", "", "9223372036854775808", None)} == {None}


def test_node_affinity_score_sums_weights_and_normalises():
    preferred = [{"weight": 5, "preference": expr("zone", "In", "a")},
                 {"weight": 3, "preference": expr("gpu", "Exists")},
                 {"weight": 0, "preference": expr("zone", "Exists")},      # weight 0: ignored
                 {"weight": 9, "preference": {}}]                           # empty: ignored
    p = pod(affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": preferred}})
    infos = [new_node_info(node("both", labels={"zone": "a", "gpu": "x"})),
             new_node_info(node("gpu", labels={"gpu": "x"})), new_node_info(node("none"))]
    # raw 8, 3, 0 -> 100*s//8
    assert run_score(NodeAffinity(), p, infos) == {"both": 100, "gpu": 37, "none": 0}
    assert run_score(NodeAffinity(), pod(), infos) is None                 # PreScore: Skip


def test_default_normalize_score():
    scores = {"a": 3, "b": 1, "c": 0}
    default_normalize_score(scores)
    assert scores == {"a": 100, "b": 33, "c": 0}
    zeros = {"a": 0, "b": 0}
    default_normalize_score(zeros, reverse=True)
    assert zeros == {"a": 100, "b": 100}


# ---------------------------------------------------------------- ImageLocality
def test_image_locality():
    assert normalized_image_name("nginx") == "nginx:latest"
    assert normalized_image_name("localhost:5000/nginx") == "localhost:5000/nginx:latest"
    assert normalized_image_name("nginx:1.25") == "nginx:1.25"
    images = [{"names": ["nginx:1.25"], "sizeBytes": 500 * MI}]
    infos = [new_node_info(node("has", images=images)), new_node_info(node("lacks"))]
    p = pod(containers=[container(image="nginx:1.25")])
    # 500MB * 1/2 nodes = 250MB -> 100 * (250 - 23) // (1000 - 23)
    assert run_score(ImageLocality(), p, infos) == {"has": 23, "lacks": 0}
