"""The simulator (minik8s.sim): the real components in one process, one seeded decision
per step, time moving only when the harness says so — and what it records: the trace,
the text and HTML timelines, the replay script."""
import json

import pytest

from builders import deployment
from minik8s.api.nodehandle import ALIVE, DEAD, HUNG
from minik8s.controllers.replicaset import ReplicaSetController
from minik8s.sim import SimBudgetExhausted, SimCluster
from minik8s.sim import replay as replay_mod


pytestmark = pytest.mark.usefixtures("quiet_logs")   # tests/conftest.py


@pytest.fixture
def sim():
    s = SimCluster(seed=1, nodes=3)
    yield s
    s.close()


def available(sim, name="web"):
    d = sim.state(["deployments"])["deployments"]
    d = next((x for x in d if x["metadata"]["name"] == name), None)
    return ((d or {}).get("status") or {}).get("availableReplicas") or 0


def live_pods(sim):
    return [p for p in sim.state(["pods"]).pods if not p["metadata"].get("deletionTimestamp")]


# --- bring-up and stepping ------------------------------------------------------------

def test_a_new_cluster_has_every_component_and_ready_nodes(sim):
    assert sorted(sim.components) == ["controller-manager", "kubelet/node-1",
                                      "kubelet/node-2", "kubelet/node-3", "scheduler"]
    assert sim.nodes_ready()
    assert sorted(sim.handles) == ["node-1", "node-2", "node-3"]
    assert all(h.ping(0) == ALIVE for h in sim.handles.values())
    assert sim.clock.monotonic() == 0.0          # bring-up takes no simulated time


def test_a_deployment_converges_in_few_steps(sim):
    sim.client.create(deployment(replicas=3))
    iterations = sim.run_until(lambda: available(sim) == 3, max_steps=200)
    assert iterations < 100
    pods = live_pods(sim)
    assert len(pods) == 3 and all(p["status"]["phase"] == "Running" for p in pods)
    # what really runs (the handles) agrees with the API
    running = {r.name for rs in sim.state().running.values() for r in rs}
    assert running == {p["metadata"]["name"] for p in pods}


def test_each_step_steps_exactly_one_component(sim):
    sim.client.create(deployment(replicas=3))
    sim.run(60)
    by_step = {}
    for e in sim.trace.select(kind="write"):
        if e.component not in ("user", "harness"):
            by_step.setdefault(e.step, set()).add(e.component)
    assert by_step and all(len(c) == 1 for c in by_step.values())


def test_time_moves_only_when_the_harness_advances_it(sim):
    sim.client.create(deployment(replicas=2))
    before = sim.clock.monotonic()
    while sim.step():
        assert sim.clock.monotonic() == before       # stepping never moves the clock
    assert sim.runnable() == []
    due = sim.next_due()
    assert due is not None and due > before
    assert sim.advance() == pytest.approx(due - before)
    assert sim.clock.monotonic() == pytest.approx(due)
    assert sim.runnable()                            # whoever asked for that time
    sim.advance(2.5)
    assert sim.clock.monotonic() == pytest.approx(due + 2.5)


def test_an_idle_cluster_only_heartbeats_and_settle_says_so(sim):
    sim.client.create(deployment(replicas=2))
    sim.settle(horizon=30)
    mark = len(sim.trace)
    sim.advance(45)
    sim.settle(horizon=30)
    later = [e for e in sim.trace.events[mark:] if e.kind == "write"]
    assert later, "kubelets keep renewing their Leases"
    assert all(e.is_heartbeat() for e in later), [e.line() for e in later if not e.is_heartbeat()]


def test_run_until_gives_up_and_says_what_every_pod_was_doing(sim):
    sim.client.create(deployment(replicas=2, image="doesnotexist/app:1"))
    with pytest.raises(SimBudgetExhausted) as info:
        sim.run_until(lambda: available(sim) == 2, max_steps=150)
    text = str(info.value)
    assert "condition not met after 150 iterations" in text
    assert "ErrImagePull" in text or "ImagePullBackOff" in text
    assert "node node-1: Ready=True" in text


def test_settle_raises_when_writes_never_stop():
    with SimCluster(seed=2, nodes=1) as sim:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "crashy", "annotations": {"sim.minik8s.io/exit-after": "1",
                                              "sim.minik8s.io/exit-code": "1"}},
            "spec": {"containers": [{"name": "c", "image": "minik8s/hello:1"}]}}
        sim.client.create(pod)
        # CrashLoopBackOff caps at 5 minutes: a horizon beyond it never sees quiet
        with pytest.raises(SimBudgetExhausted, match="not quiescent"):
            sim.settle(max_steps=2000, horizon=400)


# --- nodes -------------------------------------------------------------------------------

def test_nodes_join_die_hang_return_and_leave(sim):
    name = sim.add_node()
    assert name == "node-4" and "kubelet/node-4" in sim.components
    sim.run_until(sim.nodes_ready, max_steps=50)

    sim.kill_node("node-4")
    assert sim.handles["node-4"].ping(0) == DEAD
    assert sim.components["kubelet/node-4"].state == "dead"
    sim.restart_node("node-4")
    assert sim.handles["node-4"].ping(0) == ALIVE
    assert sim.components["kubelet/node-4"].incarnation == 2

    sim.pause_node("node-3")
    assert sim.handles["node-3"].ping(0) == HUNG
    assert "kubelet/node-3" not in {c.name for c in sim.runnable()}
    sim.resume_node("node-3")
    assert "kubelet/node-3" in {c.name for c in sim.runnable()}

    sim.remove_node("node-4")
    assert "node-4" not in sim.handles and "kubelet/node-4" not in sim.components
    assert "node-4" not in {n["metadata"]["name"] for n in sim.state(["nodes"]).nodes}


# --- snapshot ------------------------------------------------------------------------

def test_state_is_a_snapshot_of_api_and_nodes_and_changes_nothing(sim):
    sim.client.create(deployment(replicas=2))
    sim.run_until(lambda: available(sim) == 2, max_steps=200)
    events, steps = len(sim.trace), sim.steps
    snap = sim.state()
    assert (len(sim.trace), sim.steps) == (events, steps)
    assert len(snap.deployments) == 1 and len(snap.replicasets) == 1
    assert {n["metadata"]["name"] for n in snap.nodes} == {"node-1", "node-2", "node-3"}
    assert snap.node_states == {"node-1": ALIVE, "node-2": ALIVE, "node-3": ALIVE}
    assert sum(len(r) for r in snap.running.values()) == 2
    assert snap.faults == frozenset() and snap.step == steps
    assert snap.components["scheduler"] == "running"


# --- the trace and timelines ---------------------------------------------------------------

def test_the_trace_records_writes_with_their_results(sim):
    sim.client.create(deployment(replicas=1))
    sim.run_until(lambda: available(sim) == 1, max_steps=200)
    user = sim.trace.writes("user")
    assert [(e.verb, e.resource, e.object, e.result) for e in user] == [
        ("create", "deployments", "default/web", "ok")]
    assert user[0].uid and user[0].rv
    binds = [e for e in sim.trace.writes("scheduler") if e.resource == "pods/binding"]
    assert len(binds) == 1 and binds[0].detail.startswith("node=node-")
    # a failed write carries its reason
    with pytest.raises(Exception):
        sim.client.create(deployment(replicas=1))
    assert sim.trace.writes("user")[-1].result == "AlreadyExists"


def test_watch_events_are_delivered_in_resource_version_order_per_stream(sim):
    sim.client.create(deployment(replicas=3))
    sim.run_until(lambda: available(sim) == 3, max_steps=300)
    streams = {}
    for e in sim.trace.select(kind="event"):
        if e.rv:
            streams.setdefault((e.component, e.detail), []).append(int(e.rv))
    assert any(c == "controller-manager" for c, _ in streams)
    assert all(rvs == sorted(rvs) for rvs in streams.values())


def test_text_and_html_timelines(sim, tmp_path):
    sim.client.create(deployment(replicas=2))
    sim.faults.crash_controller.on(after_writes=1)
    sim.run_until(lambda: available(sim) == 2, max_steps=300)
    text = sim.trace.text()
    assert "t=0.000s" in text and "create deployments default/web" in text
    assert "!!" in text and "CRASH controller-manager crashed after" in text
    assert "~~" in text and "crash_controller on" in text
    page = sim.trace.html(title="two replicas")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    header = page[page.index("<thead>"):page.index("</thead>")]
    for lane in ("user", "faults", "scheduler", "controller-manager", "kubelet/node-1"):
        assert f"<th>{lane}</th>" in header
    assert header.index("<th>scheduler</th>") < header.index("<th>kubelet/node-1</th>")
    assert "<script" not in page and "http" not in page.split("<body>")[0]
    assert "class='ev crash'" in page


def test_lines_are_stable_and_carry_no_memory_addresses(sim):
    sim.client.create(deployment(replicas=2))
    sim.run(80)
    lines = sim.trace.lines()
    assert lines and not any("0x" in line for line in lines)
    assert sim.trace.digest() == sim.trace.digest()


# --- determinism and replay -------------------------------------------------------------

def scenario(seed, **kw):
    sim = SimCluster(seed=seed, nodes=3, **kw)
    sim.client.create(deployment(replicas=3))
    sim.run(30)
    sim.faults.pod_monkey.on(0.2)
    sim.run(50)
    sim.faults.off()
    sim.settle(horizon=15)
    return sim


def test_same_seed_same_run_and_another_seed_another():
    a, b, c = scenario(5), scenario(5), scenario(6)
    try:
        assert a.trace.lines() == b.trace.lines()
        assert a.trace.digest() != c.trace.digest()
    finally:
        for s in (a, b, c):
            s.close()


def test_a_saved_script_replays_exactly(tmp_path):
    sim = scenario(7)
    try:
        command = sim.save_script(str(tmp_path / "run.json"))
        assert command.startswith("PYTHONHASHSEED=0 python -m minik8s.sim.replay ")
        data = json.loads((tmp_path / "run.json").read_text())
        assert data["config"]["seed"] == 7 and data["digest"] == sim.trace.digest()
        again = replay_mod.replay(data)
        assert again.trace.lines() == sim.trace.lines()
        again.close()
        data["ops"] = [op for op in data["ops"] if op[0] != "client"]   # another run
        with pytest.raises(replay_mod.ReplayDiverged):
            replay_mod.replay(data).close()
    finally:
        sim.close()


def test_the_replay_command_writes_both_timelines(tmp_path, capsys):
    sim = scenario(8)
    sim.save_script(str(tmp_path / "run.json"))
    sim.close()
    code = replay_mod.main([str(tmp_path / "run.json"), "--text", str(tmp_path / "run.txt"),
                            "--html", str(tmp_path / "run.html")])
    assert code == 0
    assert "pod_monkey on" in (tmp_path / "run.txt").read_text()
    assert "<th>pod-monkey</th>" in (tmp_path / "run.html").read_text()
    assert "(matches)" in capsys.readouterr().err


# --- options ---------------------------------------------------------------------------------

class CountingReplicaSetController(ReplicaSetController):
    """A variant swapped in through controller_overrides (planted bugs use the same)."""
    built = 0

    def __init__(self, *args, **kw):
        type(self).built += 1
        super().__init__(*args, **kw)


def test_controller_overrides_are_used_and_survive_a_crash(tmp_path):
    CountingReplicaSetController.built = 0
    with SimCluster(seed=3, nodes=2, controller_overrides={
            "replicaset": CountingReplicaSetController}) as sim:
        sim.client.create(deployment(replicas=2))
        sim.run_until(lambda: available(sim) == 2, max_steps=300)
        cm = sim.components["controller-manager"].obj
        assert isinstance(cm.controllers["replicaset"], CountingReplicaSetController)
        assert list(cm.controllers)[:2] == ["replicaset", "deployment"]
        sim.crash("controller-manager")
        sim.client.scale("deployments", "web", "default", 3)
        sim.run_until(lambda: available(sim) == 3, max_steps=300)
        assert CountingReplicaSetController.built == 2
        # the script names the class, so a replay can import it
        sim.save_script(str(tmp_path / "o.json"))
        config = json.loads((tmp_path / "o.json").read_text())["config"]
        assert config["controller_overrides"] == {
            "replicaset": f"{__name__}:CountingReplicaSetController"}


@pytest.mark.parametrize("kw", [{"interleave_events": True}, {"shared_pod_informer": True},
                                {"durable": True}, {"leader_elect": True}])
def test_every_mode_converges(kw):
    with SimCluster(seed=4, nodes=3, **kw) as sim:
        sim.client.create(deployment(replicas=4))
        sim.run_until(lambda: available(sim) == 4, max_steps=600)
        if kw.get("shared_pod_informer"):
            assert "node-host" in sim.components
            assert not sim.components["kubelet/node-1"].client.streams


def test_the_store_is_compacted_every_five_simulated_minutes(sim):
    sim.client.create(deployment(replicas=1))
    sim.run_until(lambda: available(sim) == 1, max_steps=200)
    assert sim.store.compact_revision == 0
    sim.run_until(lambda: sim.clock.monotonic() >= 601, max_steps=5000)
    assert sim.store.compact_revision > 0
    assert [e.verb for e in sim.trace.select(kind="store")] == ["compact"]
    assert available(sim) == 1


def test_a_replay_reports_what_raised_and_carries_on():
    with SimCluster(seed=9, nodes=1) as sim:
        sim.client.create(deployment(replicas=1))
        sim.run(5)
        data = sim.script.to_json()
    data["ops"].insert(1, ["sim", "kill_node", ["node-9"], {}])     # no such node
    again = replay_mod.replay(data, check=False)
    try:
        assert [(i, error.split(":")[0]) for i, _, error in again.replay_errors] == [
            (1, "KeyError")]
        assert again.steps > 0                      # the operations after it ran
    finally:
        again.close()
