"""The simulated runtime: scripted containers on a fake clock, as the kubelet sees them."""
import dataclasses
import random

import pytest

from minik8s.api.clock import FAKE_EPOCH, FakeClock
from minik8s.node.runtime import (CREATED, EXITED, RUNNING, ContainerConfig,
                                  ContainerNotFound, ImagePullError)
from minik8s.node.runtime_sim import SimulatedRuntime, image_reference, parse_script

S = "sim.minik8s.io/"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def rt(clock):
    return SimulatedRuntime(clock, random.Random(1))


def config(name="main", image="nginx", uid="uid-1", attempt=0, labels=None, **kw):
    return ContainerConfig(pod_uid=uid, pod_namespace="default", pod_name="web-0", name=name,
                           image=image, attempt=attempt, labels=labels or {}, **kw)


def run(rt, **kw):
    cid = rt.create(config(**kw))
    rt.start(cid)
    return cid


def state(rt, cid):
    s = rt.status(cid)
    return s.state, s.exit_code


def busybox(rt, *command, args=(), **kw):
    return run(rt, image="busybox", command=command, args=args, **kw)


# --- the interface --------------------------------------------------------------------

def test_implements_every_runtime_method():
    for method in ("pull", "create", "start", "stop", "remove", "status", "list", "logs",
                   "probe", "usage", "shutdown"):
        assert callable(getattr(SimulatedRuntime, method))
    assert SimulatedRuntime.name == "simulated"
    assert SimulatedRuntime.version == "minik8s-simulated://0.1"


def test_container_ids_are_derived_from_pod_name_and_attempt(rt):
    assert rt.create(config()) == "sim://uid-1/main/0"
    assert rt.create(config(attempt=1)) == "sim://uid-1/main/1"
    # The same attempt created twice (a retried create) still gets a fresh id.
    assert rt.create(config()) == "sim://uid-1/main/0-1"


def test_unknown_id_raises_container_not_found(rt):
    for call in (rt.status, rt.start, rt.logs, rt.crash):
        with pytest.raises(ContainerNotFound):
            call("sim://nope/x/0")
    with pytest.raises(ContainerNotFound):
        rt.stop("sim://nope/x/0", 30)


# --- images ---------------------------------------------------------------------------

@pytest.mark.parametrize("image,ref", [
    ("nginx", "docker.io/library/nginx:latest"),
    ("nginx:1.27", "docker.io/library/nginx:1.27"),
    ("bitnami/redis", "docker.io/bitnami/redis:latest"),
    ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
    ("localhost:5000/app", "localhost:5000/app:latest"),
    ("busybox@sha256:abc", "docker.io/library/busybox@sha256:abc"),
])
def test_image_references_are_normalised_like_containerd(image, ref):
    assert image_reference(image) == ref


def test_pull_resolves_any_image_to_a_stable_digest(rt, clock):
    image_id = rt.pull("nginx:1.27")
    assert image_id.startswith("docker.io/library/nginx@sha256:") and len(image_id) == 31 + 64
    assert SimulatedRuntime(clock).pull("nginx:1.27") == image_id
    assert rt.pull("nginx:1.26") != image_id


@pytest.mark.parametrize("image", ["doesnotexist", "example.com/nonexistent:v1",
                                   "unknown-image:latest", "NonExistent"])
def test_unknown_images_cannot_be_pulled(rt, image):
    with pytest.raises(ImagePullError, match="failed to pull and unpack image"):
        rt.pull(image)
    with pytest.raises(ImagePullError):
        rt.create(config(image=image))


def test_forbidden_images_fail_with_every_tag(rt):
    rt.forbid_image("registry.example.com/app")
    with pytest.raises(ImagePullError, match='"registry.example.com/app:v2"'):
        rt.pull("registry.example.com/app:v2")
    rt.pull("registry.example.com/other:v2")


# --- lifecycle and scripted behaviour --------------------------------------------------

def test_created_container_waits_for_start_then_runs_until_stopped(rt, clock):
    cid = rt.create(config())
    clock.advance(3)
    assert state(rt, cid) == (CREATED, None)
    rt.start(cid)
    s = rt.status(cid)
    assert (s.state, s.created_at, s.started_at) == (RUNNING, FAKE_EPOCH, FAKE_EPOCH + 3)
    assert s.image == "docker.io/library/nginx:latest" and s.image_id == rt.pull("nginx")
    clock.advance(10**6)
    assert state(rt, cid) == (RUNNING, None)


def test_starting_twice_is_an_error(rt):
    cid = run(rt)
    with pytest.raises(RuntimeError):
        rt.start(cid)


def test_start_delay_keeps_the_container_created(rt, clock):
    cid = run(rt, labels={S + "start-delay": "5"})
    clock.advance(4.9)
    assert rt.status(cid).state == CREATED
    clock.advance(0.1)
    s = rt.status(cid)
    assert (s.state, s.started_at) == (RUNNING, FAKE_EPOCH + 5)


def test_exit_after_with_exit_code(rt, clock):
    cid = run(rt, labels={S + "start-delay": "2", S + "exit-after": "10", S + "exit-code": "3"})
    clock.advance(11.9)
    assert state(rt, cid) == (RUNNING, None)
    clock.advance(0.1)
    s = rt.status(cid)
    assert (s.state, s.exit_code, s.reason) == (EXITED, 3, "Error")
    assert (s.started_at, s.finished_at) == (FAKE_EPOCH + 2, FAKE_EPOCH + 12)


def test_exit_code_zero_is_completed(rt, clock):
    cid = run(rt, labels={S + "exit-after": "1"})
    clock.advance(1)
    s = rt.status(cid)
    assert (s.state, s.exit_code, s.reason) == (EXITED, 0, "Completed")


def test_per_container_annotations_override_pod_wide_ones(rt, clock):
    labels = {S + "exit-after": "5", S + "exit-code": "1", S + "web.exit-code": "7",
              S + "web.exit-after": "2"}
    web, sidecar = run(rt, name="web", labels=labels), run(rt, name="sidecar", labels=labels)
    clock.advance(2)
    assert (state(rt, web), state(rt, sidecar)) == ((EXITED, 7), (RUNNING, None))
    clock.advance(3)
    assert state(rt, sidecar) == (EXITED, 1)


def test_exit_attempts_limits_the_crash_loop(rt, clock):
    labels = {S + "exit-after": "0", S + "exit-code": "1", S + "exit-attempts": "2"}
    ids = [run(rt, attempt=a, labels=labels) for a in range(3)]
    assert [state(rt, i) for i in ids] == [(EXITED, 1), (EXITED, 1), (RUNNING, None)]


def test_invalid_annotation_is_refused_at_create(rt):
    with pytest.raises(ValueError, match="sim.minik8s.io/exit-after"):
        rt.create(config(labels={S + "exit-after": "soon"}))


def test_parse_script_reads_every_annotation():
    script = parse_script({S + "ready": "False", S + "ignore-sigterm": "true",
                           S + "ready-after": "3", S + "log": "hi", S + "c.cpu": "1"}, "c")
    assert (script.ready, script.ignore_sigterm, script.ready_after) == (False, True, 3.0)
    assert (script.log, script.cpu, script.exit_after) == ("hi", "1", None)


# --- busybox commands -----------------------------------------------------------------

@pytest.mark.parametrize("command,args,seconds,code", [
    (("sleep", "5"), (), 5, 0),
    ((), ("sleep", "3"), 3, 0),                 # args alone: busybox has no ENTRYPOINT
    (("sleep", "1m"), (), 60, 0),
    (("sh", "-c", "exit 3"), (), 0, 3),
    (("/bin/sh", "-c"), ("sleep 2; exit 4",), 2, 4),
    (("true",), (), 0, 0),
    (("false",), (), 0, 1),
    (("echo", "hello"), (), 0, 0),              # any plain command succeeds at once
    ((), (), 0, 0),                             # the default `sh` without stdin
    (("sh", "-c", "sleep 2 && false || exit 9"), (), 2, 9),
    (("sh", "-c", "false && sleep 100"), (), 0, 1),
    (("sh", "-c", "sleep abc"), (), 0, 1),
    (("sh", "-c", "exit 300"), (), 0, 44),      # exit codes are taken mod 256
    (("sh", "-c", "echo a\nsleep 4\nexit 2"), (), 4, 2),
])
def test_busybox_commands_run_for_their_time_and_exit_code(rt, clock, command, args,
                                                           seconds, code):
    cid = busybox(rt, *command, args=args)
    if seconds:
        clock.advance(seconds - 0.5)
        assert rt.status(cid).state == RUNNING
        clock.advance(0.5)
    assert state(rt, cid) == (EXITED, code)
    assert rt.status(cid).finished_at == FAKE_EPOCH + seconds


@pytest.mark.parametrize("script", ["sleep infinity", "while true; do sleep 1; done",
                                    "echo up; sleep 3600; sleep 3600"])
def test_long_running_busybox_commands(rt, clock, script):
    cid = run(rt, image="alpine:3.20", command=("sh", "-c", script))
    clock.advance(3000)
    assert rt.status(cid).state == RUNNING


def test_annotations_override_the_command(rt, clock):
    cid = busybox(rt, "sleep", "3600", labels={S + "exit-after": "2", S + "exit-code": "5"})
    clock.advance(2)
    assert state(rt, cid) == (EXITED, 5)


# --- probes ---------------------------------------------------------------------------

HTTP = {"httpGet": {"path": "/healthz", "port": 8080}}
TCP = {"tcpSocket": {"port": 6379}}
EXEC = {"exec": {"command": ["redis-cli", "ping"]}}


def test_probes_succeed_while_running_and_fail_otherwise(rt, clock):
    cid = rt.create(config())
    assert rt.probe(cid, HTTP, "127.128.0.2").message == "container is not running"
    rt.start(cid)
    assert rt.probe(cid, HTTP, "127.128.0.2").success
    rt.crash(cid)
    assert not rt.probe(cid, HTTP, "127.128.0.2").success


def test_not_ready_container_fails_every_kind_of_probe(rt):
    cid = run(rt, labels={S + "ready": "false"})
    answers = [rt.probe(cid, p, "127.128.0.2") for p in (HTTP, TCP, EXEC)]
    assert [a.success for a in answers] == [False, False, False]
    assert answers[0].message == "HTTP probe failed with statuscode: 503"
    assert answers[1].message == "dial tcp 127.128.0.2:6379: connect: connection refused"
    assert "redis-cli" in answers[2].message


def test_ready_after_counts_from_running_not_from_start(rt, clock):
    cid = run(rt, labels={S + "start-delay": "2", S + "ready-after": "5"})
    clock.advance(6.9)
    assert not rt.probe(cid, HTTP, "").success
    clock.advance(0.1)
    assert rt.probe(cid, HTTP, "").success


def test_unhealthy_after_turns_probes_into_failures(rt, clock):
    cid = run(rt, labels={S + "unhealthy-after": "20"})
    clock.advance(19)
    assert rt.probe(cid, TCP, "").success
    clock.advance(1)
    assert not rt.probe(cid, TCP, "").success
    assert rt.status(cid).state == RUNNING      # hung, not dead: liveness must notice


def test_exec_probe_sees_files_the_busybox_script_writes(rt, clock):
    # The liveness example from the Kubernetes docs (exec-liveness.yaml).
    cid = busybox(rt, "/bin/sh", "-c",
                  args=("touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600",))
    probe = {"exec": {"command": ["cat", "/tmp/healthy"]}}
    clock.advance(29)
    assert rt.probe(cid, probe, "").success
    clock.advance(1)
    result = rt.probe(cid, probe, "")
    assert not result.success
    assert result.message == "cat: can't open '/tmp/healthy': No such file or directory"


# --- stop, crash, remove, shutdown -----------------------------------------------------

def test_stop_well_behaved_container_exits_at_once_with_143(rt, clock):
    cid = run(rt)
    clock.advance(5)
    rt.stop(cid, 30)
    s = rt.status(cid)
    assert (s.state, s.exit_code, s.reason, s.finished_at) == (EXITED, 143, "Error",
                                                               FAKE_EPOCH + 5)


def test_stop_container_ignoring_sigterm_is_killed_at_grace_with_137(rt, clock):
    cid = run(rt, labels={S + "ignore-sigterm": "true"})
    rt.stop(cid, 30)
    clock.advance(29.9)
    assert rt.status(cid).state == RUNNING
    clock.advance(0.1)
    assert state(rt, cid) == (EXITED, 137)
    assert rt.status(cid).finished_at == FAKE_EPOCH + 30


def test_second_stop_may_shorten_but_not_extend_the_grace(rt, clock):
    cid = run(rt, labels={S + "ignore-sigterm": "true"})
    rt.stop(cid, 30)
    rt.stop(cid, 60)
    rt.stop(cid, 10)
    clock.advance(10)
    assert state(rt, cid) == (EXITED, 137)


def test_natural_exit_within_grace_wins(rt, clock):
    cid = run(rt, labels={S + "ignore-sigterm": "true", S + "exit-after": "5"})
    rt.stop(cid, 30)
    clock.advance(5)
    assert state(rt, cid) == (EXITED, 0)


def test_stop_with_zero_grace_is_sigkill(rt):
    cid = run(rt)
    rt.stop(cid, 0)
    assert state(rt, cid) == (EXITED, 137)


def test_stop_does_not_touch_created_or_exited_containers(rt, clock):
    created, exited = rt.create(config(name="a")), busybox(rt, "false", name="b")
    rt.stop(created, 30)
    rt.stop(exited, 30)
    assert (state(rt, created), state(rt, exited)) == ((CREATED, None), (EXITED, 1))


def test_stop_during_start_delay_never_runs(rt, clock):
    cid = run(rt, labels={S + "start-delay": "10"})
    clock.advance(1)
    rt.stop(cid, 30)
    s = rt.status(cid)
    assert (s.state, s.exit_code, s.started_at) == (EXITED, 143, None)
    clock.advance(20)
    assert rt.logs(cid) == b""


def test_crash_kills_a_running_container_with_the_given_code(rt, clock):
    a, b, created = run(rt, name="a"), run(rt, name="b"), rt.create(config(name="c"))
    clock.advance(4)
    rt.crash(a)
    rt.crash(b, exit_code=139)
    rt.crash(created)
    assert (state(rt, a), state(rt, b)) == ((EXITED, 1), (EXITED, 139))
    assert rt.status(a).finished_at == FAKE_EPOCH + 4
    assert state(rt, created) == (CREATED, None)
    rt.crash(a, exit_code=2)            # already dead: nothing changes
    assert state(rt, a) == (EXITED, 1)


def test_remove_forgets_the_container_and_is_idempotent(rt):
    cid = busybox(rt, "true")
    rt.remove(cid)
    rt.remove(cid)
    with pytest.raises(ContainerNotFound):
        rt.status(cid)
    with pytest.raises(ContainerNotFound):
        rt.logs(cid)
    assert rt.list() == [] and rt.list("uid-1") == []


def test_list_per_pod_in_creation_order(rt):
    a1, b1, a2 = run(rt, name="x"), run(rt, uid="uid-2"), rt.create(config(name="y"))
    assert [s.id for s in rt.list("uid-1")] == [a1, a2]
    assert [s.id for s in rt.list("uid-2")] == [b1]
    assert [s.id for s in rt.list()] == [a1, b1, a2]
    assert [s.state for s in rt.list("uid-1")] == [RUNNING, CREATED]
    assert rt.list("uid-3") == []


def test_shutdown_kills_every_started_container(rt, clock):
    running, created = run(rt, name="a"), rt.create(config(name="b"))
    rt.shutdown()
    assert state(rt, running) == (EXITED, 137)
    assert state(rt, created) == (CREATED, None)
    with pytest.raises(RuntimeError):
        rt.create(config(name="c"))
    with pytest.raises(RuntimeError):
        rt.start(created)


# --- logs -----------------------------------------------------------------------------

def test_a_plain_image_logs_one_line_per_start(rt):
    first, second = run(rt, name="web"), run(rt, name="web", attempt=1)
    assert rt.logs(first) == b"nginx: started web #0\n"
    assert rt.logs(second) == b"nginx: started web #1\n"


def test_log_annotation_scripts_the_start_line(rt):
    cid = run(rt, labels={S + "log": "listening on :8080"})
    assert rt.logs(cid) == b"listening on :8080\n"


def test_busybox_echo_lines_appear_when_their_time_comes(rt, clock):
    cid = busybox(rt, "sh", "-c", "echo one; sleep 5; echo two; exit 1; echo never")
    assert rt.logs(cid) == b"one\n"
    clock.advance(5)
    assert rt.logs(cid) == b"one\ntwo\n"
    clock.advance(100)
    assert rt.logs(cid) == b"one\ntwo\n"


def test_nothing_is_logged_after_the_container_dies(rt, clock):
    cid = busybox(rt, "sh", "-c", "sleep 5; echo late; sleep 100")
    clock.advance(1)
    rt.crash(cid)
    clock.advance(10)
    assert rt.logs(cid) == b""


def test_log_options_tail_since_timestamps_limit(rt, clock):
    cid = busybox(rt, "sh", "-c", "echo a; sleep 1; echo b; sleep 1; echo c; sleep 9")
    clock.advance(2)
    assert rt.logs(cid, tail_lines=2) == b"b\nc\n"
    assert rt.logs(cid, tail_lines=0) == b""
    assert rt.logs(cid, tail_lines=10) == b"a\nb\nc\n"
    assert rt.logs(cid, since=FAKE_EPOCH + 1) == b"b\nc\n"
    assert rt.logs(cid, limit_bytes=3) == b"a\nb"
    assert rt.logs(cid, tail_lines=1, timestamps=True) == (
        b"2026-01-01T00:00:02.000000000Z c\n")


# --- usage and determinism -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ConfigWithResources(ContainerConfig):
    resources: dict = dataclasses.field(default_factory=dict)


def test_usage_counts_running_containers_only(rt, clock):
    run(rt, name="a", labels={S + "a.cpu": "250m", S + "a.memory": "64Mi"})
    run(rt, name="b")                       # no requests: small defaults
    rt.create(config(name="c"))             # never started: uses nothing
    busybox(rt, "true", name="d")           # exited: uses nothing
    assert rt.usage("uid-1") == {"cpu": 250 + 10, "memory": (64 + 32) * 2**20}
    assert rt.usage("uid-2") == {"cpu": 0, "memory": 0}


def test_usage_is_a_seeded_fraction_of_the_requests(clock):
    def usage(seed):
        rt = SimulatedRuntime(clock, random.Random(seed))
        rt.start(rt.create(ConfigWithResources(
            pod_uid="u", pod_namespace="default", pod_name="p", name="c", image="nginx",
            resources={"requests": {"cpu": "1", "memory": "1Gi"}})))
        return rt.usage("u")

    used = usage(7)
    assert 200 <= used["cpu"] <= 800 and 0.2 * 2**30 <= used["memory"] <= 0.8 * 2**30
    assert usage(7) == used and usage(8) != used


def test_the_same_calls_give_the_same_statuses():
    def scenario():
        clock = FakeClock()
        rt = SimulatedRuntime(clock, random.Random(3))
        for i in range(5):
            run(rt, name=f"c{i}", labels={S + "exit-after": str(i), S + "exit-code": "2"})
        clock.advance(2.5)
        return rt.list(), rt.usage("uid-1")

    assert scenario() == scenario()
