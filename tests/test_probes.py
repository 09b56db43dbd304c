"""The prober, as Kubernetes' prober workers behave, on a fake clock with a fake runtime.

The runtime here answers each probe by its httpGet path ("/start", "/live", "/ready")
from a script the test changes, and records when it was asked; containers are
ContainerStatus records the test writes.
"""
import concurrent.futures
import threading

import pytest

from minik8s.api.clock import FakeClock
from minik8s.node.probes import ProbeManager
from minik8s.node.runtime import CREATED, EXITED, RUNNING, ContainerStatus, ProbeResult


class FakeRuntime:
    name = "fake"

    def __init__(self, clock):
        self.clock = clock
        self.answers = {"/start": True, "/live": True, "/ready": True}
        self.calls = []            # (monotonic time, container id, path)

    def probe(self, container_id, probe, pod_ip):
        path = probe["httpGet"]["path"]
        self.calls.append((self.clock.monotonic(), container_id, path))
        answer = self.answers[path]
        if isinstance(answer, Exception):
            raise answer
        return ProbeResult(answer, "" if answer else f"HTTP probe failed with statuscode: 500")

    def times(self, path):
        return [t for t, _, p in self.calls if p == path]


def probe(path, **timing):
    return {"httpGet": {"path": path, "port": 8080}, **timing}


def make_pod(uid="u1", restart_policy="Always", **probes):
    container = {"name": "web", "image": "minik8s/hello:1"}
    container.update(probes)
    return {"metadata": {"name": "p", "namespace": "default", "uid": uid},
            "spec": {"containers": [container], "restartPolicy": restart_policy},
            "status": {"phase": "Running", "podIP": "127.128.0.2"}}


def running(cid="c1", started_at=None, clock=None):
    return ContainerStatus(id=cid, name="web", state=RUNNING,
                           started_at=started_at if started_at is not None else clock.now())


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def rt(clock):
    return FakeRuntime(clock)


@pytest.fixture
def mgr(rt, clock):
    m = ProbeManager(rt, clock)
    yield m
    m.close()


def run_for(mgr, clock, pod, status, seconds, step=1.0):
    """Sync the pod once per simulated second, as a kubelet stepping would."""
    out = []
    for _ in range(int(seconds / step)):
        mgr.update(pod, {"web": status} if status else {})
        out.append((clock.monotonic(), mgr.results("u1", "web")))
        clock.advance(step)
    return out


def test_without_probes_a_running_container_is_started_and_ready(mgr, clock):
    pod = make_pod()
    mgr.update(pod, {"web": ContainerStatus(id="c1", name="web", state=CREATED)})
    state = mgr.results("u1", "web")
    assert (state.started, state.ready, state.liveness_failed) == (False, False, False)
    mgr.update(pod, {"web": running(clock=clock)})
    state = mgr.results("u1", "web")
    assert (state.started, state.ready) == (True, True)
    assert mgr.next_due() is None


def test_readiness_waits_for_initial_delay_then_the_next_tick(mgr, rt, clock):
    pod = make_pod(readinessProbe=probe("/ready", initialDelaySeconds=5, periodSeconds=10))
    mgr.update(pod, {})                      # the pod is added at t=0: ticks at 0, 10, 20
    clock.advance(3)
    history = run_for(mgr, clock, pod, running(clock=clock), 15)   # started at t=3
    ready_at = [t for t, s in history if s.ready]
    assert ready_at[0] == 10                 # int(10 - 3) >= 5 on the t=10 tick
    assert rt.times("/ready") == [10]
    assert all(s.started for _, s in history)


def test_readiness_runs_at_once_when_a_container_starts(mgr, rt, clock):
    pod = make_pod(readinessProbe=probe("/ready", periodSeconds=10))
    mgr.update(pod, {"web": ContainerStatus(id="c1", name="web", state=CREATED)})
    clock.advance(2)
    mgr.update(pod, {"web": running(clock=clock)})
    assert mgr.results("u1", "web").ready      # the sync on start triggered the probe
    assert rt.times("/ready")[0] == 2


def test_readiness_failure_and_success_thresholds(mgr, rt, clock):
    pod = make_pod(readinessProbe=probe("/ready", periodSeconds=10, failureThreshold=3,
                                        successThreshold=2))
    status = running(clock=clock)
    run_for(mgr, clock, pod, status, 1)
    assert not mgr.results("u1", "web").ready          # one success of the two needed
    history = run_for(mgr, clock, pod, status, 10)
    assert history[-1][1].ready                        # the second success, t=10
    rt.answers["/ready"] = False
    history = run_for(mgr, clock, pod, status, 40)
    unready = [t for t, s in history if not s.ready]
    assert unready[0] == 40                            # failures at 20, 30, 40
    assert mgr.results("u1", "web").message == "HTTP probe failed with statuscode: 500"
    rt.answers["/ready"] = True
    history = run_for(mgr, clock, pod, status, 30)
    assert [t for t, s in history if s.ready][0] == 70  # successes at 60 and 70


def test_liveness_failure_holds_until_the_container_is_replaced(mgr, rt, clock):
    pod = make_pod(livenessProbe=probe("/live", periodSeconds=5, failureThreshold=2))
    rt.answers["/live"] = False
    history = run_for(mgr, clock, pod, running(clock=clock), 20)
    failed_at = [t for t, s in history if s.liveness_failed]
    assert failed_at[0] == 5                           # failures at 0 and 5
    assert rt.times("/live") == [0, 5]                 # on hold: no probe at 10, 15
    state = mgr.results("u1", "web")
    assert state.failed_probe == "liveness"
    assert [e.message for e in mgr.pop_events()] == [
        "Liveness probe failed: HTTP probe failed with statuscode: 500"] * 2
    assert mgr.pop_events() == []
    # The kubelet restarted it: a new container id resumes probing from scratch.
    rt.answers["/live"] = True
    history = run_for(mgr, clock, pod, running("c2", clock=clock), 6)
    assert not any(s.liveness_failed for _, s in history)
    assert rt.times("/live")[2:] == [20, 25]


def test_startup_probe_gates_liveness_and_readiness(mgr, rt, clock):
    pod = make_pod(startupProbe=probe("/start", periodSeconds=10, failureThreshold=30),
                   livenessProbe=probe("/live", periodSeconds=10),
                   readinessProbe=probe("/ready", periodSeconds=10))
    rt.answers["/start"] = False
    status = running(clock=clock)
    history = run_for(mgr, clock, pod, status, 25)
    assert not any(s.started or s.ready for _, s in history)
    assert rt.times("/live") == [] and rt.times("/ready") == []
    rt.answers["/start"] = True
    history = run_for(mgr, clock, pod, status, 10)
    started = [t for t, s in history if s.started]
    assert started[0] == 30
    # Started in this sync: readiness ran at once, liveness waits for its own tick.
    assert rt.times("/ready")[0] == 30 and mgr.results("u1", "web").ready
    assert rt.times("/start") == [0, 10, 20, 30]      # no startup probes once started


def test_startup_probe_failure_restarts_the_container(mgr, rt, clock):
    pod = make_pod(startupProbe=probe("/start", periodSeconds=1, failureThreshold=3))
    rt.answers["/start"] = False
    history = run_for(mgr, clock, pod, running(clock=clock), 5)
    failed = [t for t, s in history if s.liveness_failed]
    assert failed[0] == 2
    assert mgr.results("u1", "web").failed_probe == "startup"
    assert rt.times("/start") == [0, 1, 2]


def test_a_container_that_is_not_running_is_not_ready_and_not_probed(mgr, rt, clock):
    pod = make_pod(readinessProbe=probe("/ready", periodSeconds=1))
    status = running(clock=clock)
    run_for(mgr, clock, pod, status, 2)
    assert mgr.results("u1", "web").ready
    exited = ContainerStatus(id="c1", name="web", state=EXITED, exit_code=1)
    calls = len(rt.calls)
    run_for(mgr, clock, pod, exited, 3)
    assert not mgr.results("u1", "web").ready
    assert len(rt.calls) == calls


def test_a_probe_that_errors_changes_nothing(mgr, rt, clock):
    pod = make_pod(readinessProbe=probe("/ready", periodSeconds=1))
    status = running(clock=clock)
    run_for(mgr, clock, pod, status, 1)
    rt.answers["/ready"] = OSError("connection reset")
    run_for(mgr, clock, pod, status, 5)
    assert mgr.results("u1", "web").ready
    assert mgr.pop_events()[-1].message == "Readiness probe errored: connection reset"


def test_deletion_quiets_liveness_and_a_finished_pod_stops_every_worker(mgr, rt, clock):
    pod = make_pod(livenessProbe=probe("/live", periodSeconds=1),
                   readinessProbe=probe("/ready", periodSeconds=1))
    status = running(clock=clock)
    run_for(mgr, clock, pod, status, 2)
    pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    rt.answers["/live"] = False
    run_for(mgr, clock, pod, status, 5)
    assert not mgr.results("u1", "web").liveness_failed
    assert rt.times("/live") == [0, 1]
    pod["status"]["phase"] = "Succeeded"
    run_for(mgr, clock, pod, status, 2)
    assert mgr.next_due() is None


def test_restart_policy_never_stops_probing_an_exited_container(mgr, rt, clock):
    pod = make_pod(restart_policy="Never", readinessProbe=probe("/ready", periodSeconds=1))
    run_for(mgr, clock, pod, running(clock=clock), 1)
    run_for(mgr, clock, pod, ContainerStatus(id="c1", name="web", state=EXITED), 1)
    assert not mgr.results("u1", "web").ready
    assert mgr.next_due() == 0                 # the result changed: the pod syncs again
    mgr.update(pod, {"web": ContainerStatus(id="c1", name="web", state=EXITED)})
    assert mgr.next_due() is None


def test_next_due_counts_down_to_the_next_tick(mgr, clock):
    pod = make_pod(readinessProbe=probe("/ready", periodSeconds=10))
    mgr.update(pod, {"web": running(clock=clock)})
    mgr.update(pod, {"web": running(clock=clock)})     # the resync after the first result
    clock.advance(4)
    assert mgr.next_due() == pytest.approx(6)
    mgr.forget("u1")
    assert mgr.next_due() is None
    assert not mgr.results("u1", "web").started


def test_threaded_probes_apply_at_the_next_update(rt, clock):
    """Under a real clock a probe may block for timeoutSeconds: it runs on a thread and
    its outcome is applied by the first update() after it finished."""
    gate = threading.Event()
    answer = rt.probe

    def slow_probe(*args):
        gate.wait(5)
        return answer(*args)
    rt.probe = slow_probe
    mgr = ProbeManager(rt, clock, threaded=True)
    try:
        pod = make_pod(readinessProbe=probe("/ready", periodSeconds=10))
        mgr.update(pod, {"web": running(clock=clock)})
        mgr.update(pod, {"web": running(clock=clock)})   # no second probe while in flight
        assert not mgr.results("u1", "web").ready
        assert mgr.next_due() == pytest.approx(0.05)
        gate.set()
        pending = [w.pending for w in mgr._workers["u1"].values() if w.pending]
        concurrent.futures.wait(pending, timeout=5)
        mgr.update(pod, {"web": running(clock=clock)})
        assert mgr.results("u1", "web").ready
        assert len(rt.calls) == 1
    finally:
        gate.set()
        mgr.close()


def test_results_can_use_a_fresher_status_than_the_last_update(mgr, clock):
    pod = make_pod()
    mgr.update(pod, {})                              # the container is not created yet
    assert not mgr.results("u1", "web").started
    fresh = running(clock=clock)                     # the kubelet has just started it
    assert mgr.results("u1", "web", fresh).started and mgr.results("u1", "web", fresh).ready
    assert not mgr.results("u1", "web", None).started
