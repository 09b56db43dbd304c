"""The scheduling cycle (cycle.py) with tiny fake plugins, and profiles (config.py).

The fakes make each extension point visible: which plugin ran on which node, what it
answered. The real plugins have their own tables in test_scheduler_plugins.py.
"""
import random
from collections import Counter

import pytest

from minik8s.scheduler import cycle
from minik8s.scheduler.cycle import (
    NO_NODES_AVAILABLE, Framework, Profile, ScheduleResult, fit_error_message,
    num_feasible_nodes_to_find, select_host)
from minik8s.scheduler.framework import (
    ERROR, OK, SKIPPED, SUCCESS, UNRESOLVABLE, UNSCHEDULABLE, NodeInfo, Status)

POD = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": {}}
TAINT = "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"


def nodes(n):
    return [NodeInfo({"metadata": {"name": f"node-{i:04d}"}}) for i in range(n)]


class Filter:
    """Fails the nodes in `fails` ({name: reasons}) with `code`; logs every call."""

    def __init__(self, name, fails=None, code=UNSCHEDULABLE, pre=None):
        self.name, self.fails, self.code, self.calls = name, fails or {}, code, []
        if pre is not None:
            self.pre_filter = lambda state, pod, nodes: pre

    def filter(self, state, pod, node):
        self.calls.append(node.name)
        reasons = self.fails.get(node.name)
        return OK if reasons is None else Status(self.code, tuple(reasons))


class Scorer:
    """Scores nodes from a table (default 0); optional normalize and pre_score."""

    def __init__(self, name, table=None, normalize=None, pre=None):
        self.name, self.table, self.calls = name, table or {}, []
        if normalize is not None:
            self.normalize_score = normalize
        if pre is not None:
            self.pre_score = lambda state, pod, nodes: pre

    def score(self, state, pod, node):
        self.calls.append(node.name)
        return self.table.get(node.name, 0)


def framework(*plugins, pct=0, seed=0, explain=False):
    entries = [p if isinstance(p, tuple) else (p, 1) for p in plugins]
    return Framework(Profile(entries, percentage_of_nodes_to_score=pct, explain=explain),
                     random.Random(seed))


# -- PreFilter -------------------------------------------------------------------------

def test_prefilter_skip_means_the_plugins_filter_does_not_run():
    skipped = Filter("NodeAffinity", fails={"node-0000": ["nope"]}, pre=SKIPPED)
    other = Filter("NodeResourcesFit", pre=OK)
    result = framework(skipped, other, Scorer("S")).schedule(POD, nodes(3))
    assert skipped.calls == [] and len(other.calls) == 3
    assert result.feasible == 3 and result.node is not None


def test_an_unschedulable_prefilter_rejects_every_node_without_filtering():
    rejecting = Filter("InterPodAffinity", pre=Status.unschedulable(
        "node(s) didn't match pod affinity rules"))
    result = framework(rejecting).schedule(POD, nodes(3))
    assert result.node is None and result.code == UNSCHEDULABLE
    assert rejecting.calls == [] and result.evaluated == 0
    assert result.message == "0/3 nodes are available: node(s) didn't match pod affinity rules."
    assert result.unschedulable_plugins == {"InterPodAffinity"}
    assert result.statuses == {}          # said once in the message, not per node


def test_prefilter_rejection_is_listed_per_node_when_explaining():
    rejecting = Filter("X", pre=Status.unschedulable("no", unresolvable=True))
    result = framework(rejecting, explain=True).schedule(POD, nodes(2))
    assert set(result.statuses) == {"node-0000", "node-0001"}
    assert result.statuses["node-0000"].plugin == "X"


def test_a_prefilter_error_is_a_scheduling_error():
    broken = Filter("Broken", pre=Status(ERROR, ("boom",)))
    result = framework(broken).schedule(POD, nodes(2))
    assert (result.code, result.message) == (ERROR, 'running PreFilter plugin "Broken": boom')


# -- Filter ----------------------------------------------------------------------------

def test_filter_stops_at_the_first_failing_plugin_of_a_node():
    first = Filter("NodeUnschedulable", fails={"node-0001": ["node(s) were unschedulable"]})
    second = Filter("NodeResourcesFit", fails={n.name: ["Insufficient cpu"] for n in nodes(3)})
    result = framework(first, second).schedule(POD, nodes(3))
    assert "node-0001" not in second.calls          # never asked: node-0001 already failed
    assert result.statuses["node-0001"] == Status(
        UNSCHEDULABLE, ("node(s) were unschedulable",), "NodeUnschedulable")
    assert result.statuses["node-0000"].plugin == "NodeResourcesFit"
    assert result.message == ("0/3 nodes are available: 1 node(s) were unschedulable, "
                              "2 Insufficient cpu.")
    assert result.unschedulable_plugins == {"NodeUnschedulable", "NodeResourcesFit"}


def test_a_filter_answering_anything_but_success_or_unschedulable_is_an_error():
    broken = Filter("Broken", fails={"node-0000": ["boom"]}, code=ERROR)
    result = framework(broken).schedule(POD, nodes(2))
    assert (result.code, result.message) == (ERROR, 'running "Broken" filter plugin: boom')


@pytest.mark.parametrize("fails, expected", [
    # the issue's example: counted per reason, sorted
    ({"node-0000": ["Insufficient cpu"], "node-0001": [TAINT], "node-0002": [TAINT]},
     f"0/3 nodes are available: 1 Insufficient cpu, 2 {TAINT}."),
    # a node with two reasons counts for both
    ({"node-0000": ["Insufficient cpu", "Insufficient memory"],
      "node-0001": ["Insufficient cpu"], "node-0002": ["Insufficient memory"]},
     "0/3 nodes are available: 2 Insufficient cpu, 2 Insufficient memory."),
    # sorted as strings, like Go's sort.Strings: "10 ..." before "2 ..."
    ({**{f"node-{i:04d}": ["node(s) didn't match Pod's node affinity/selector"] for i in range(10)},
      "node-0010": ["Too many pods"], "node-0011": ["Too many pods"]},
     "0/12 nodes are available: 10 node(s) didn't match Pod's node affinity/selector, "
     "2 Too many pods."),
])
def test_fit_error_message_counts_and_sorts_reasons_like_kubernetes(fails, expected):
    result = framework(Filter("F", fails=fails)).schedule(POD, nodes(len(fails)))
    assert result.node is None and result.message == expected


def test_fit_error_message_helper_and_the_no_nodes_case():
    assert fit_error_message(5, {}, "pod has unbound immediate PersistentVolumeClaims") == (
        "0/5 nodes are available: pod has unbound immediate PersistentVolumeClaims.")
    assert fit_error_message(2, {}) == "0/2 nodes are available:"
    result = framework(Filter("F")).schedule(POD, [])
    assert result == ScheduleResult(None, message=NO_NODES_AVAILABLE, code=UNRESOLVABLE)
    assert NO_NODES_AVAILABLE == "no nodes available to schedule pods"


# -- percentageOfNodesToScore ---------------------------------------------------------

@pytest.mark.parametrize("n, pct, expected", [
    (50, 0, 50), (100, 0, 100), (500, 0, 230), (1000, 0, 420), (5000, 0, 500),
    (6000, 0, 300),                   # 50 - 48 = 2 % -> floor 5 % = 300
    (20000, 0, 1000),                 # floor 5 %
    (5000, 100, 5000), (5000, 30, 1500), (5000, 1, 100),   # at least 100
    (99, 10, 99),                     # below 100 nodes: all of them
])
def test_num_feasible_nodes_to_find_matches_kubernetes(n, pct, expected):
    assert num_feasible_nodes_to_find(pct, n) == expected


@pytest.mark.parametrize("n, expected", [(50, 50), (100, 100), (500, 230), (1000, 420),
                                         (5000, 500)])
def test_the_cycle_stops_filtering_once_enough_feasible_nodes_are_found(n, expected):
    passing, scorer = Filter("F"), Scorer("S")
    result = framework(passing, scorer).schedule(POD, nodes(n))
    assert (result.feasible, result.evaluated, len(passing.calls)) == (expected,) * 3
    assert len(scorer.calls) == expected


def test_percentage_100_filters_every_node():
    passing = Filter("F")
    result = framework(passing, Scorer("S"), pct=100).schedule(POD, nodes(1000))
    assert result.feasible == 1000 == len(passing.calls)


def test_each_cycle_starts_where_the_last_one_stopped():
    passing = Filter("F")
    fw = framework(passing, Scorer("S"))
    all_nodes = nodes(1000)                  # 420 per cycle
    starts = []
    for _ in range(3):
        passing.calls.clear()
        fw.schedule(POD, all_nodes)
        starts.append(passing.calls[0])
    assert starts == ["node-0000", "node-0420", "node-0840"]
    assert fw.next_start_node_index == (3 * 420) % 1000


def test_failed_nodes_count_as_processed_for_the_start_index():
    failing = Filter("F", fails={f"node-{i:04d}": ["no"] for i in range(50)})
    fw = framework(failing, Scorer("S"))
    result = fw.schedule(POD, nodes(200))     # 100 to find; 50 fail first
    assert (result.feasible, result.evaluated) == (100, 150)
    assert fw.next_start_node_index == 150


def test_without_score_plugins_the_first_feasible_node_is_enough():
    passing = Filter("F")
    result = framework(passing).schedule(POD, nodes(300))
    assert (result.node, result.feasible, len(passing.calls)) == ("node-0000", 1, 1)


# -- Score -----------------------------------------------------------------------------

def test_weights_multiply_each_plugins_score():
    a = Scorer("A", {"node-0000": 100, "node-0001": 0})
    b = Scorer("B", {"node-0000": 0, "node-0001": 40})
    result = framework((a, 1), (b, 3)).schedule(POD, nodes(2))
    assert (result.node, result.code) == ("node-0001", SUCCESS)   # 120 beats 100
    assert result.scores == {"node-0000": {"A": 100, "B": 0},
                             "node-0001": {"A": 0, "B": 120}}
    result = framework((a, 1), (b, 2)).schedule(POD, nodes(2))
    assert result.node == "node-0000"                       # 100 beats 80


def test_weight_zero_does_not_score():
    zero = Scorer("Z", {"node-0000": 100})
    result = framework((zero, 0), (Scorer("S"), 1)).schedule(POD, nodes(2))
    assert zero.calls == [] and "Z" not in result.scores["node-0000"]


def double_to_max(state, pod, scores):
    top = max(scores.values()) or 1
    for name in scores:
        scores[name] = scores[name] * 100 // top


def test_normalize_score_rescales_before_weighting():
    s = Scorer("S", {"node-0000": 5, "node-0001": 10, "node-0002": 2}, normalize=double_to_max)
    result = framework((s, 2)).schedule(POD, nodes(3))
    assert {n: v["S"] for n, v in result.scores.items()} == {
        "node-0000": 100, "node-0001": 200, "node-0002": 40}
    assert result.node == "node-0001"


def test_a_plugin_without_normalize_keeps_its_raw_scores_which_must_be_in_range():
    raw = Scorer("Raw", {"node-0000": 7})
    assert framework(raw).schedule(POD, nodes(2)).scores["node-0000"] == {"Raw": 7}
    bad = Scorer("Bad", {"node-0001": 150})
    result = framework(bad).schedule(POD, nodes(2))
    assert result.code == ERROR and result.node is None
    assert result.message == (
        'applying score defaultWeights on Score plugins: plugin "Bad" returns an invalid '
        'score 150, it should in the range of [0, 100] after normalizing')


def test_scores_out_of_range_after_normalizing_are_an_error():
    negative = Scorer("Neg", {"node-0000": 5}, normalize=lambda s, p, scores: scores.update(
        {"node-0000": -1}))
    assert framework(negative).schedule(POD, nodes(2)).code == ERROR


def test_prescore_skip_skips_that_plugins_score():
    skipped = Scorer("PodTopologySpread", {"node-0000": 100}, pre=SKIPPED)
    other = Scorer("S", {"node-0001": 1})
    result = framework(skipped, other).schedule(POD, nodes(2))
    assert skipped.calls == [] and result.node == "node-0001"
    broken = Scorer("B", pre=Status(ERROR, ("boom",)))
    assert framework(broken).schedule(POD, nodes(2)).message == (
        'running PreScore plugin "B": boom')


def test_a_single_feasible_node_is_chosen_without_scoring():
    only = Filter("F", fails={"node-0000": ["no"], "node-0002": ["no"]})
    scorer = Scorer("S", pre=OK)
    result = framework(only, scorer, explain=True).schedule(POD, nodes(3))
    assert (result.node, result.feasible, result.evaluated) == ("node-0001", 1, 3)
    assert scorer.calls == [] and result.scores == {}


def test_scores_are_kept_only_when_explaining_or_few():
    many = nodes(cycle.EXPLAIN_SCORES_UP_TO + 1)
    assert framework(Scorer("S")).schedule(POD, many).scores == {}
    explained = framework(Scorer("S"), explain=True).schedule(POD, many)
    assert len(explained.scores) == len(many)
    assert len(framework(Scorer("S")).schedule(POD, many, explain=True).scores) == len(many)


# -- select_host -----------------------------------------------------------------------

def test_select_host_picks_the_highest_total():
    assert select_host({"a": 10, "b": 30, "c": 20}, random.Random(1)) == "b"
    with pytest.raises(ValueError):
        select_host({}, random.Random(1))


def test_ties_are_broken_uniformly_at_random():
    rng = random.Random(7)
    picks = Counter(select_host({"a": 5, "b": 9, "c": 9, "d": 9, "e": 9}, rng)
                    for _ in range(4000))
    assert set(picks) == {"b", "c", "d", "e"}
    assert all(850 <= picks[n] <= 1150 for n in "bcde"), picks     # 1000 expected each


def test_tied_nodes_all_get_chosen_by_the_framework():
    fw = framework(Scorer("S"), seed=3)           # every node scores 0: a 5-way tie
    picks = Counter(fw.schedule(POD, nodes(5)).node for _ in range(1000))
    assert len(picks) == 5 and min(picks.values()) > 150, picks


def test_the_same_seed_makes_the_same_choices():
    def picks(seed):
        fw = framework(Scorer("S"), seed=seed)
        return [fw.schedule(POD, nodes(5)).node for _ in range(20)]
    assert picks(11) == picks(11)


# -- profiles: config.py ----------------------------------------------------------------

from minik8s.scheduler import config, plugins as registry          # noqa: E402
from minik8s.scheduler.config import (                              # noqa: E402
    ConfigError, default_profile, load_profile, load_profiles, profile_from_code)


class Fake:
    """A registry plugin for config tests: implements the points in `points`."""

    def __init__(self, name, points, args):
        self.name, self.args = name, args
        for point in points:
            setattr(self, point, (lambda *a: 0) if point == "score" else (lambda *a: OK))


FAKES = {"A": ("pre_filter", "filter", "score"), "B": ("filter",), "C": ("score",),
         "D": ("filter", "score")}


@pytest.fixture
def fake_registry(monkeypatch):
    monkeypatch.setattr(registry, "PLUGINS", {
        name: (lambda args, name=name: Fake(name, FAKES[name], args)) for name in FAKES})
    monkeypatch.setattr(registry, "DEFAULT_PROFILE", [
        ("A", 2, {"mode": "default", "keep": 1}), ("B", 0, {}), ("C", 1, {})])


def at(profile, point):
    """[(name, weight)] of the plugins run at one extension point, in order."""
    method = config.POINTS[point][0]
    return [(p.name, w) for p, w in profile.plugins if hasattr(p, method)
            and (point != "score" or w)]


def v1(**profile):
    return {"apiVersion": config.API_VERSION, "kind": config.KIND, "profiles": [profile]}


def test_the_default_profile_is_kube_schedulers():
    names = [(p.name, w) for p, w in default_profile().plugins]
    assert names == [(n, w) for n, w, _ in registry.DEFAULT_PROFILE]
    assert ("TaintToleration", 3) in names and ("NodeAffinity", 2) in names
    assert load_profile(None).scheduler_name == "default-scheduler"
    fw = Framework(default_profile(), random.Random(0))
    assert [n for n, _ in fw.filters][:2] == ["NodeUnschedulable", "NodeName"]


def test_an_empty_configuration_gives_the_defaults(fake_registry):
    profile = load_profile(v1())
    assert at(profile, "filter") == [("A", 0), ("B", 0)]
    assert at(profile, "score") == [("A", 2), ("C", 1)]
    assert at(profile, "preFilter") == [("A", 0)]
    assert profile.percentage_of_nodes_to_score == 0


def test_disabling_plugins_per_point_and_all_with_a_star(fake_registry):
    profile = load_profile(v1(plugins={"score": {"disabled": [{"name": "C"}]},
                                       "filter": {"disabled": [{"name": "*"}],
                                                  "enabled": [{"name": "D"}]}}))
    assert at(profile, "score") == [("A", 2)]
    assert at(profile, "filter") == [("D", 0)]
    assert at(profile, "preFilter") == [("A", 0)]        # only filter was disabled
    gone = load_profile(v1(plugins={"multiPoint": {"disabled": [{"name": "A"}]}}))
    assert at(gone, "filter") == [("B", 0)] and at(gone, "score") == [("C", 1)]


def test_weights_come_from_score_then_multipoint_and_zero_means_one(fake_registry):
    profile = load_profile(v1(plugins={
        "score": {"enabled": [{"name": "C", "weight": 5}, {"name": "D"}]},
        "multiPoint": {"enabled": [{"name": "A", "weight": 7}]}}))
    # C named at score comes first, then the multiPoint plugins, then the rest.
    assert at(profile, "score") == [("C", 5), ("A", 7), ("D", 1)]
    with pytest.raises(ConfigError, match="weight"):
        load_profile(v1(plugins={"score": {"enabled": [{"name": "C", "weight": -1}]}}))


def test_plugin_config_args_are_laid_over_the_defaults(fake_registry):
    profile = load_profile(v1(pluginConfig=[{"name": "A", "args": {"mode": "custom"}},
                                            {"name": "D", "args": {"x": 1}}],
                              plugins={"filter": {"enabled": [{"name": "D"}]}}))
    plugins = {p.name: p.plugin for p, _ in profile.plugins}
    assert plugins["A"].args == {"mode": "custom", "keep": 1}
    assert plugins["D"].args == {"x": 1}
    with pytest.raises(ConfigError, match='duplicate args for plugin "A"'):
        load_profile(v1(pluginConfig=[{"name": "A"}, {"name": "A"}]))


def test_percentage_of_nodes_to_score_top_level_and_per_profile(fake_registry):
    cfg = {**v1(), "percentageOfNodesToScore": 30}
    assert load_profile(cfg).percentage_of_nodes_to_score == 30
    cfg["profiles"] = [{"percentageOfNodesToScore": 100}]
    assert load_profile(cfg).percentage_of_nodes_to_score == 100
    with pytest.raises(ConfigError, match=r"not in valid range \[0-100\]"):
        load_profile({**v1(), "percentageOfNodesToScore": 120})


def test_unknown_plugins_and_bad_configurations_are_clear_errors(fake_registry):
    with pytest.raises(ConfigError, match='plugin "Nope" does not exist; known plugins: A, B'):
        load_profile(v1(plugins={"filter": {"enabled": [{"name": "Nope"}]}}))
    with pytest.raises(ConfigError, match='plugin "Nope" does not exist'):
        load_profile(v1(pluginConfig=[{"name": "Nope", "args": {}}]))
    with pytest.raises(ConfigError, match='plugin "C" does not extend filter plugin'):
        load_profile(v1(plugins={"filter": {"enabled": [{"name": "C"}]}}))
    with pytest.raises(ConfigError, match='already registered'):
        load_profile(v1(plugins={"filter": {"enabled": [{"name": "D"}, {"name": "D"}]}}))
    with pytest.raises(ConfigError, match="apiVersion"):
        load_profile({"apiVersion": "kubescheduler.config.k8s.io/v1beta1"})
    with pytest.raises(ConfigError, match="unknown extension point"):
        load_profile(v1(plugins={"filters": {}}))
    with pytest.raises(ConfigError, match='plugin "Nope" does not exist'):
        profile_from_code([("Nope", 1)])


def test_profiles_from_a_yaml_file(fake_registry, tmp_path):
    path = tmp_path / "sched.yaml"
    path.write_text(f"""
apiVersion: {config.API_VERSION}
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 50
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packing
  plugins:
    score:
      disabled: [{{name: "*"}}]
      enabled: [{{name: D, weight: 4}}]
    queueSort:
      enabled: [{{name: PrioritySort}}]
""")
    default, packing = load_profiles(str(path))
    assert (default.scheduler_name, packing.scheduler_name) == ("default-scheduler", "bin-packing")
    assert at(packing, "score") == [("D", 4)] and packing.percentage_of_nodes_to_score == 50
    assert load_profile(path).scheduler_name == "default-scheduler"


def test_profile_from_code_with_registry_names_and_own_plugins(fake_registry):
    own = Scorer("Mine", {"node-0001": 100})
    profile = profile_from_code([("B", 0), ("C", 2, {"k": "v"}), (own, 3)],
                                percentage_of_nodes_to_score=100)
    assert [(plugin.name, w) for plugin, w in profile.plugins] == [("B", 0), ("C", 2), ("Mine", 3)]
    assert profile.plugins[1][0].args == {"k": "v"}
    defaulted = profile_from_code([("A", 1, {"mode": "x"})]).plugins[0][0]
    assert defaulted.args == {"mode": "x", "keep": 1}    # over the default profile's args
    assert Framework(profile).schedule(POD, nodes(2)).node == "node-0001"
