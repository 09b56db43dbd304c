"""InterPodAffinity and PodTopologySpread, table-driven, as kube-scheduler defines them.

Each case builds a small cluster by hand (nodes with zone/hostname labels, pods on them),
runs the plugin's PreFilter + Filter (or PreScore + Score + NormalizeScore) the way the
framework does, and compares per-node results with what Kubernetes would say.
"""
import pytest

from minik8s.scheduler.framework import (SKIP, SUCCESS, UNRESOLVABLE, UNSCHEDULABLE,
                                         CycleState, NodeInfo)
from minik8s.scheduler.plugins import DEFAULT_PROFILE, PLUGINS
from minik8s.scheduler.plugins.interpodaffinity import InterPodAffinity
from minik8s.scheduler.plugins.podtopologyspread import PodTopologySpread

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
AFF = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"
SPREAD = "node(s) didn't match pod topology spread constraints"
MISSING = "node(s) didn't match pod topology spread constraints (missing required label)"


# ---------------------------------------------------------------- builders

def node(name, zone=None, taints=None, **labels):
    labels = {HOST: name, **labels, **({ZONE: zone} if zone else {})}
    return {"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints or []}}


def pod(name, ns="default", deleting=False, **labels):
    meta = {"name": name, "namespace": ns, "labels": labels,
            **({"deletionTimestamp": "2024-01-01T00:00:00Z"} if deleting else {})}
    return {"metadata": meta, "spec": {}}


def term(key, match, **extra):
    return {"labelSelector": {"matchLabels": match}, "topologyKey": key, **extra}


def with_affinity(p, affinity=(), anti=(), pref=(), pref_anti=()):
    def block(required, preferred):
        return {"requiredDuringSchedulingIgnoredDuringExecution": list(required),
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": w, "podAffinityTerm": t} for w, t in preferred]}
    p["spec"]["affinity"] = {"podAffinity": block(affinity, pref),
                             "podAntiAffinity": block(anti, pref_anti)}
    return p


def spread(p, *constraints):
    p["spec"]["topologySpreadConstraints"] = list(constraints)
    return p


def tsc(key, max_skew=1, when="DoNotSchedule", match=None, **extra):
    return {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": match if match is not None else {"app": "web"}},
            **extra}


def cluster(layout):
    """layout: [(node, [pods...]), ...] -> [NodeInfo]."""
    return [NodeInfo(node=n, pods=list(pods)) for n, pods in layout]


def run_filter(plugin, p, nodes):
    """{node: "ok" | (code, reason)}; "skip" for every node when PreFilter skips."""
    state = CycleState()
    st = plugin.pre_filter(state, p, nodes)
    if st.code == SKIP:
        return {ni.name: "skip" for ni in nodes}
    assert st.code == SUCCESS, st
    results = {ni.name: plugin.filter(state, p, ni) for ni in nodes}
    return {n: "ok" if s.ok else (s.code, s.reasons[0]) for n, s in results.items()}


def run_score(plugin, p, nodes):
    """Normalized scores as the framework computes them; None when PreScore skips."""
    state = CycleState()
    plugin.pre_filter(state, p, nodes)
    if plugin.pre_score(state, p, nodes).code == SKIP:
        return None
    scores = {ni.name: plugin.score(state, p, ni) for ni in nodes}
    plugin.normalize_score(state, p, scores)
    return scores


A1, A2, B1, NOZONE = node("a1", "a"), node("a2", "a"), node("b1", "b"), node("x")
UNRES_AFF, UNS_ANTI, UNS_EXISTING = (UNRESOLVABLE, AFF), (UNSCHEDULABLE, ANTI), \
    (UNSCHEDULABLE, EXISTING)


# ---------------------------------------------------------------- InterPodAffinity filter

def web_wants(*terms_, anti=()):
    return with_affinity(pod("new", app="web"), affinity=terms_, anti=anti)


def loner(key, ns="default"):
    """An existing pod that wants no web pod in its `key` domain."""
    return with_affinity(pod("loner", ns=ns, app="db"), anti=[term(key, {"app": "web"})])


AFFINITY_CASES = [
    # (case, incoming pod, layout, expected per node)
    ("affinity on hostname: only the node running a db",
     web_wants(term(HOST, {"app": "db"})), [(A1, [pod("db", app="db")]), (A2, [])],
     {"a1": "ok", "a2": UNRES_AFF}),
    ("affinity on zone: any node of the db's zone; a node without the zone label fails",
     web_wants(term(ZONE, {"app": "db"})),
     [(A1, [pod("db", app="db")]), (A2, []), (B1, []), (NOZONE, [])],
     {"a1": "ok", "a2": "ok", "b1": UNRES_AFF, "x": UNRES_AFF}),
    ("one pod must match ALL affinity terms (two partial matches are not enough)",
     web_wants(term(ZONE, {"app": "db"}), term(ZONE, {"tier": "cache"})),
     [(A1, [pod("db", app="db"), pod("c", tier="cache")]),
      (B1, [pod("both", app="db", tier="cache")])],
     {"a1": UNRES_AFF, "b1": "ok"}),
    ("anti-affinity on hostname spreads one per node",
     web_wants(anti=[term(HOST, {"app": "web"})]),
     [(A1, [pod("w1", app="web")]), (A2, []), (B1, [])], {"a1": UNS_ANTI, "a2": "ok", "b1": "ok"}),
    ("anti-affinity on zone: the whole zone is out; a node without the key is fine",
     web_wants(anti=[term(ZONE, {"app": "web"})]),
     [(A1, [pod("w1", app="web")]), (A2, []), (B1, []), (NOZONE, [])],
     {"a1": UNS_ANTI, "a2": UNS_ANTI, "b1": "ok", "x": "ok"}),
    ("a terminating pod still counts for anti-affinity",
     web_wants(anti=[term(HOST, {"app": "web"})]),
     [(A1, [pod("w1", deleting=True, app="web")]), (A2, [])], {"a1": UNS_ANTI, "a2": "ok"}),
    ("symmetry: an existing pod's anti-affinity keeps the newcomer off its node",
     pod("new", app="web"), [(A1, [loner(HOST)]), (A2, []), (B1, [])],
     {"a1": UNS_EXISTING, "a2": "ok", "b1": "ok"}),
    ("symmetry on zone: the existing pod's whole zone",
     pod("new", app="web"), [(A1, [loner(ZONE)]), (A2, []), (B1, [])],
     {"a1": UNS_EXISTING, "a2": UNS_EXISTING, "b1": "ok"}),
    ("first pod of a group: its affinity selects itself and no pod matches yet",
     with_affinity(pod("c0", app="cache"), affinity=[term(ZONE, {"app": "cache"})]),
     [(A1, []), (B1, []), (NOZONE, [])], {"a1": "ok", "b1": "ok", "x": UNRES_AFF}),
    ("second pod of the group must join the first one's zone",
     with_affinity(pod("c1", app="cache"), affinity=[term(ZONE, {"app": "cache"})]),
     [(A1, [pod("c0", app="cache")]), (A2, []), (B1, [])],
     {"a1": "ok", "a2": "ok", "b1": UNRES_AFF}),
    ("no first-pod exception when the affinity does not select the pod itself",
     web_wants(term(ZONE, {"app": "db"})), [(A1, []), (B1, [])],
     {"a1": UNRES_AFF, "b1": UNRES_AFF}),
    ("PreFilter skips: no pod anywhere has pod affinity", pod("new", app="web"),
     [(A1, [pod("db", app="db")])], {"a1": "skip"}),
    ("PreFilter skips: the existing anti-affinity is not about this pod", pod("new", app="web"),
     [(A1, [with_affinity(pod("l"), anti=[term(HOST, {"app": "db"})])])], {"a1": "skip"}),
    ("existing anti-affinity only sees its own namespace by default", pod("new", app="web"),
     [(A1, [loner(HOST, ns="other")])], {"a1": "skip"}),
    ("affinity checked before anti-affinity: the first failing rule is reported",
     web_wants(term(HOST, {"app": "db"}), anti=[term(HOST, {"app": "web"})]),
     [(A1, [pod("db", app="db"), pod("w", app="web")]), (A2, [pod("w2", app="web")])],
     {"a1": UNS_ANTI, "a2": UNRES_AFF}),
]


@pytest.mark.parametrize("case,incoming,layout,want", AFFINITY_CASES,
                         ids=[c[0] for c in AFFINITY_CASES])
def test_inter_pod_affinity_filter(case, incoming, layout, want):
    assert run_filter(InterPodAffinity({}), incoming, cluster(layout)) == want


def teams(ns):
    """A namespace_labels lookup as the scheduler's Namespace informer would give it."""
    return {"kubernetes.io/metadata.name": ns, **({"team": "storage"} if ns == "other" else {})}


NAMESPACE_CASES = [
    # (term extras, namespace_labels lookup, expected on a1: the db pod is in "other")
    ({}, None, UNRES_AFF),                                  # own namespace only
    ({"namespaces": ["other"]}, None, "ok"),
    ({"namespaces": ["third"]}, None, UNRES_AFF),
    ({"namespaceSelector": {}}, None, "ok"),                # {} = every namespace
    ({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}}, None, "ok"),
    ({"namespaceSelector": {"matchLabels": {"team": "storage"}}}, None, UNRES_AFF),
    ({"namespaceSelector": {"matchLabels": {"team": "storage"}}}, teams, "ok"),
]


@pytest.mark.parametrize("extra,lookup,want", NAMESPACE_CASES)
def test_affinity_terms_select_namespaces_as_kubernetes_does(extra, lookup, want):
    plugin = InterPodAffinity({}, **({"namespace_labels": lookup} if lookup else {}))
    nodes = cluster([(A1, [pod("db", ns="other", app="db")])])
    incoming = web_wants(term(HOST, {"app": "db"}, **extra))
    assert run_filter(plugin, incoming, nodes) == {"a1": want}


# ---------------------------------------------------------------- InterPodAffinity score

SCORE_CASES = [
    ("preferred affinity to the db's zone, weight 80",
     with_affinity(pod("new"), pref=[(80, term(ZONE, {"app": "db"}))]),
     [(A1, [pod("db", app="db")]), (A2, []), (B1, [])], {"a1": 100, "a2": 100, "b1": 0}),
    ("preferred anti-affinity: min-max maps -50..0 onto 0..100",
     with_affinity(pod("new"), pref_anti=[(50, term(HOST, {"app": "web"}))]),
     [(A1, [pod("w", app="web")]), (A2, []), (B1, [])], {"a1": 0, "a2": 100, "b1": 100}),
    ("weights add up per topology pair: 10 (zone) - 5 (host)",
     with_affinity(pod("new"), pref=[(10, term(ZONE, {"app": "db"}))],
                   pref_anti=[(5, term(HOST, {"app": "web"}))]),
     [(A1, [pod("db", app="db")]), (A2, [pod("w", app="web")]), (B1, [])],
     {"a1": 100, "a2": 50, "b1": 0}),
    ("scores truncate like Go's int64(): 2/3 of 100 is 66",
     with_affinity(pod("new"), pref=[(1, term(HOST, {"app": "db"}))]),
     [(A1, [pod(f"d{i}", app="db") for i in range(2)]), (A2, [pod("d", app="db")] * 3), (B1, [])],
     {"a1": 66, "a2": 100, "b1": 0}),
    ("all nodes equal: min-max has no range, every node 0",
     with_affinity(pod("new"), pref=[(80, term(ZONE, {"app": "db"}))]),
     [(A1, [pod("db", app="db")]), (A2, [])], {"a1": 0, "a2": 0}),
    ("nothing preferred anywhere: PreScore skips", pod("new"),
     [(A1, [pod("db", app="db")]), (B1, [])], None),
]


@pytest.mark.parametrize("case,incoming,layout,want", SCORE_CASES,
                         ids=[c[0] for c in SCORE_CASES])
def test_inter_pod_affinity_score(case, incoming, layout, want):
    assert run_score(InterPodAffinity({}), incoming, cluster(layout)) == want


FAN = with_affinity(pod("fan"), affinity=[term(HOST, {"app": "web"})])
SHY = with_affinity(pod("shy"), pref_anti=[(30, term(HOST, {"app": "web"}))])


@pytest.mark.parametrize("args,existing,want", [  # symmetry: the existing pods' terms
    ({}, FAN, {"a1": 100, "b1": 0}),                      # their required affinity: weight 1
    ({"hardPodAffinityWeight": 5}, FAN, {"a1": 100, "b1": 0}),
    ({"hardPodAffinityWeight": 0}, FAN, None),           # existing required affinity ignored
    ({}, SHY, {"a1": 0, "b1": 100}),
    ({"ignorePreferredTermsOfExistingPods": True}, SHY, None),  # we have no preferences
])
def test_inter_pod_affinity_args(args, existing, want):
    layout = [(A1, [existing]), (B1, [])]
    assert run_score(InterPodAffinity(args), pod("new", app="web"), cluster(layout)) == want


# ---------------------------------------------------------------- PodTopologySpread filter

def webs(n, prefix="w", **kw):
    return [pod(f"{prefix}{i}", app="web", **kw) for i in range(n)]


ZA, ZB, ZC = node("za", "a"), node("zb", "b"), node("zc", "c")
UNS_SPREAD, UNRES_MISSING = (UNSCHEDULABLE, SPREAD), (UNRESOLVABLE, MISSING)
TAINTED_ZC = node("zc", "c", taints=[{"key": "k", "effect": "NoSchedule"}])

SPREAD_CASES = [
    # (case, constraints, layout, expected)
    ("maxSkew 1 over 3 zones holding 2/1/0: only the empty zone",
     [tsc(ZONE)], [(ZA, webs(2)), (ZB, webs(1)), (ZC, [])],
     {"za": UNS_SPREAD, "zb": UNS_SPREAD, "zc": "ok"}),
    ("2/1/1: the two lighter zones", [tsc(ZONE)], [(ZA, webs(2)), (ZB, webs(1)), (ZC, webs(1))],
     {"za": UNS_SPREAD, "zb": "ok", "zc": "ok"}),
    ("maxSkew 2 tolerates 2/1/0 on the middle zone",
     [tsc(ZONE, max_skew=2)], [(ZA, webs(2)), (ZB, webs(1)), (ZC, [])],
     {"za": UNS_SPREAD, "zb": "ok", "zc": "ok"}),
    ("a node without the topology label", [tsc(ZONE)], [(ZA, []), (node("x"), [])],
     {"za": "ok", "x": UNRES_MISSING}),
    ("a node without the key is not a domain: the minimum comes from the others",
     [tsc(ZONE)], [(ZA, webs(1)), (ZB, webs(1)), (node("x"), [])],
     {"za": "ok", "zb": "ok", "x": UNRES_MISSING}),
    ("terminating pods do not count", [tsc(ZONE)],
     [(ZA, webs(2, deleting=True)), (ZB, webs(1))], {"za": "ok", "zb": UNS_SPREAD}),
    ("pods of other namespaces do not count", [tsc(ZONE)],
     [(ZA, webs(2, ns="other")), (ZB, webs(1))], {"za": "ok", "zb": UNS_SPREAD}),
    ("the pod not matching its own selector adds nothing to the skew",
     [tsc(ZONE, match={"app": "db"})], [(ZA, [pod("d", app="db")]), (ZB, [])],
     {"za": "ok", "zb": "ok"}),
    ("ScheduleAnyway never filters", [tsc(ZONE, when="ScheduleAnyway")],
     [(ZA, webs(5)), (ZB, [])], {"za": "skip", "zb": "skip"}),
    ("minDomains 3 with 2 domains: the global minimum is 0",
     [tsc(ZONE, minDomains=3)], [(ZA, webs(1)), (ZB, webs(1))],
     {"za": UNS_SPREAD, "zb": UNS_SPREAD}),
    ("minDomains 2 with 2 domains: the real minimum (1)",
     [tsc(ZONE, minDomains=2)], [(ZA, webs(1)), (ZB, webs(1))], {"za": "ok", "zb": "ok"}),
    ("two constraints: zone and hostname must both hold",
     [tsc(ZONE), tsc(HOST)], [(A1, webs(1)), (A2, []), (B1, [])],
     {"a1": UNS_SPREAD, "a2": UNS_SPREAD, "b1": "ok"}),
    ("nodeTaintsPolicy Ignore (default): a tainted empty zone is still the minimum",
     [tsc(ZONE)], [(ZA, webs(1)), (ZB, webs(1)), (TAINTED_ZC, [])],
     {"za": UNS_SPREAD, "zb": UNS_SPREAD, "zc": "ok"}),
    ("nodeTaintsPolicy Honor: the tainted zone is not a domain",
     [tsc(ZONE, nodeTaintsPolicy="Honor")], [(ZA, webs(1)), (ZB, webs(1)), (TAINTED_ZC, [])],
     {"za": "ok", "zb": "ok", "zc": "ok"}),
    ("no constraints at all: PreFilter skips", [], [(ZA, webs(3))], {"za": "skip"}),
    ("matchLabelKeys: only pods of the same revision count",
     [tsc(ZONE, matchLabelKeys=["rev"])],
     [(ZA, [pod(f"o{i}", app="web", rev="1") for i in range(3)]), (ZB, [])],
     {"za": "ok", "zb": "ok"}),
]


@pytest.mark.parametrize("case,constraints,layout,want", SPREAD_CASES,
                         ids=[c[0] for c in SPREAD_CASES])
def test_pod_topology_spread_filter(case, constraints, layout, want):
    incoming = spread(pod("new", app="web", rev="2"), *constraints)
    assert run_filter(PodTopologySpread({}), incoming, cluster(layout)) == want


ONLY_ZONES_A_B = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [
        {"key": ZONE, "operator": "In", "values": ["a", "b"]}]}]}}}


@pytest.mark.parametrize("how", ["nodeAffinity", "nodeSelector"])
@pytest.mark.parametrize("policy,want_za", [("Honor", "ok"), ("Ignore", UNS_SPREAD)])
def test_node_affinity_policy_decides_whether_excluded_nodes_are_domains(how, policy, want_za):
    # The pod may only run in zones a and b, so zone c (empty) is no domain under Honor.
    incoming = spread(pod("new", app="web"), tsc(ZONE, nodeAffinityPolicy=policy))
    if how == "nodeAffinity":
        incoming["spec"]["affinity"] = ONLY_ZONES_A_B
    else:
        incoming["spec"]["nodeSelector"] = {"disk": "ssd"}
    za, zb = node("za", "a", disk="ssd"), node("zb", "b", disk="ssd")
    nodes = cluster([(za, webs(1)), (zb, webs(1)), (node("zc", "c", disk="hdd"), [])])
    assert run_filter(PodTopologySpread({}), incoming, nodes)["za"] == want_za


# ---------------------------------------------------------------- PodTopologySpread score

SOFT = dict(when="ScheduleAnyway")
SPREAD_SCORE_CASES = [
    # Zones a (2 nodes) and b (1 node): weight log(2 domains + 2) = 1.386 per pod.
    ("the emptier zone wins: raw 2 * 1.386 -> 3 vs 0", [tsc(ZONE, **SOFT)],
     [(A1, webs(2)), (A2, []), (B1, [])], {"a1": 0, "a2": 0, "b1": 100}),
    ("maxSkew 3 adds 2 to every raw score: 100 * (5 + 2 - 5) // 5 = 40",
     [tsc(ZONE, max_skew=3, **SOFT)], [(A1, webs(2)), (A2, []), (B1, [])],
     {"a1": 40, "a2": 40, "b1": 100}),
    # zone (weight log 4) + hostname (3 scored nodes: log 5): a1 = 1.386 + 1.609 -> 3,
    # a2 = 1.386 -> 1, b1 = 0; x lacks the zone key: ignored, 0.
    ("hostname counts per node; nodes without a key score 0",
     [tsc(ZONE, **SOFT), tsc(HOST, **SOFT)], [(A1, webs(1)), (A2, []), (B1, []), (NOZONE, [])],
     {"a1": 0, "a2": 100 * (3 + 0 - 1) // 3, "b1": 100, "x": 0}),
    ("all equal: all 100", [tsc(ZONE, **SOFT)], [(A1, []), (B1, [])], {"a1": 100, "b1": 100}),
    ("no soft constraint: PreScore skips", [tsc(ZONE)], [(A1, []), (B1, [])], None),
]


@pytest.mark.parametrize("case,constraints,layout,want", SPREAD_SCORE_CASES,
                         ids=[c[0] for c in SPREAD_SCORE_CASES])
def test_pod_topology_spread_score(case, constraints, layout, want):
    incoming = spread(pod("new", app="web"), *constraints)
    assert run_score(PodTopologySpread({}), incoming, cluster(layout)) == want


def test_a_framework_supplied_list_of_nodes_with_affinity_pods_is_trusted():
    # kube-scheduler's snapshot keeps HavePodsWithAffinityList; ours may pass it in.
    from minik8s.scheduler.plugins.interpodaffinity import NODES_WITH_AFFINITY_PODS
    nodes = cluster([(A1, [loner(HOST)]), (A2, [])])
    state = CycleState({NODES_WITH_AFFINITY_PODS: []})    # "nobody has affinity"
    assert InterPodAffinity({}).pre_filter(state, pod("new", app="web"), nodes).code == SKIP
    state, plugin = CycleState({NODES_WITH_AFFINITY_PODS: nodes[:1]}), InterPodAffinity({})
    assert plugin.pre_filter(state, pod("new", app="web"), nodes).ok
    assert plugin.filter(state, pod("new", app="web"), nodes[0]).reasons == (EXISTING,)


# ---------------------------------------------------------------- through the framework

def _schedule_all(pods, nodes):
    """Schedule pods one by one through the real cycle, placing each where it lands."""
    from minik8s.scheduler.cycle import Framework, Profile
    fw = Framework(Profile([(PodTopologySpread({}), 2), (InterPodAffinity({}), 2)]))
    by_name, results = {ni.name: ni for ni in nodes}, []
    for p in pods:
        results.append(fw.schedule(p, nodes))
        if results[-1].node:
            by_name[results[-1].node].pods.append(p)
    return results


def test_hard_spread_over_three_zones_ends_even():
    nodes = cluster([(node(f"{z}{i}", z), []) for z in "abc" for i in range(2)])
    pods = [spread(pod(f"w{i}", app="web"), tsc(ZONE)) for i in range(6)]
    assert all(r.node for r in _schedule_all(pods, nodes))
    assert [len(nodes[i].pods) + len(nodes[i + 1].pods) for i in (0, 2, 4)] == [2, 2, 2]


def test_anti_affinity_leaves_the_extra_replica_pending_with_kubernetes_message():
    nodes = cluster([(A1, []), (A2, []), (B1, [])])
    pods = [with_affinity(pod(f"w{i}", app="web"), anti=[term(HOST, {"app": "web"})])
            for i in range(4)]
    *placed, extra = _schedule_all(pods, nodes)
    assert sorted(r.node for r in placed) == ["a1", "a2", "b1"] and extra.node is None
    assert extra.message == \
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."


def test_spread_message_counts_missing_labels_separately():
    nodes = cluster([(ZA, webs(1)), (ZB, webs(1)), (node("x"), [])])
    r = _schedule_all([spread(pod("new", app="web"), tsc(ZONE, minDomains=3))], nodes)[0]
    assert r.message == ("0/3 nodes are available: 1 node(s) didn't match pod topology spread "
                         "constraints (missing required label), 2 node(s) didn't match pod "
                         "topology spread constraints.")


def test_both_plugins_are_registered_in_the_default_profile_with_weight_2():
    assert isinstance(PLUGINS["InterPodAffinity"]({}), InterPodAffinity)
    assert isinstance(PLUGINS["PodTopologySpread"]({}), PodTopologySpread)
    weights = {name: w for name, w, _ in DEFAULT_PROFILE}
    assert weights["InterPodAffinity"] == 2 and weights["PodTopologySpread"] == 2
