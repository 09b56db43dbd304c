"""The process runtime, for real: containers are OS processes on pod loopback IPs.

No mocks: every test starts real processes (the hello image is a Python HTTP server,
busybox runs the host's sh) and waits for conditions with a deadline on the clock.
Every process is killed in teardown (`shutdown`), and some tests check that the kernel
agrees (`alive(pid)` reads /proc).
"""
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

import waiting

from minik8s import images
from minik8s.api.clock import FakeClock, RealClock
from minik8s.node.runtime import (CREATED, EXITED, RUNNING, ContainerConfig,
                                  ContainerNotFound, ImagePullError, Mount)
from minik8s.node.container_fs import ContainerView
from minik8s.node.crilog import CriLogWriter, MAX_ENTRY, read_cri_log, rfc3339nano
from minik8s.node.runtime_process import ProcessRuntime

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="pod IPs in 127/8 and PDEATHSIG are Linux")
CLOCK = RealClock()
# A /24 of its own per test run, so a concurrent run (or another suite) binding
# 127.128.x.y:8080 does not collide with ours.
NET = f"127.128.{200 + os.getpid() % 50}"


def wait_for(predicate, timeout=3.0, what="condition"):
    return waiting.wait_for(predicate, timeout, what, interval=0.01)


def alive(pid: int) -> bool:
    """Is `pid` a live process (not gone, not a zombie waiting to be reaped)?"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def group_members(pgid: int) -> list:
    pids = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            pids.append(int(name))
    return pids


def config(name="c", image="busybox", command=(), args=(), *, uid="pod-1", ip="",
           ports=(), attempt=0, env=(), mounts=(), pod_name="web-1"):
    return ContainerConfig(pod_uid=uid, pod_namespace="default", pod_name=pod_name,
                           name=name, image=image, command=tuple(command), args=tuple(args),
                           env=tuple(env), mounts=tuple(mounts), pod_ip=ip,
                           ports=tuple(ports), attempt=attempt)


def run(rt, cfg):
    cid = rt.create(cfg)
    rt.start(cid)
    return cid


def sh(rt, script, **kw):
    return run(rt, config(command=["sh", "-c", script], **kw))


def exited(rt, cid, timeout=3.0):
    return wait_for(lambda: (s := rt.status(cid)).state == EXITED and s, timeout,
                    f"container {cid[:12]} to exit")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def answers(url):
    def probe():
        try:
            return get(url)
        except OSError:
            return None
    return wait_for(probe, what=f"{url} to answer")


@pytest.fixture
def rt(tmp_path):
    runtime = ProcessRuntime(str(tmp_path / "node"), CLOCK)
    yield runtime
    runtime.shutdown()


@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    """One hello pod for the read-only checks: (runtime, container id, pod IP)."""
    runtime = ProcessRuntime(str(tmp_path_factory.mktemp("hello")), CLOCK)
    ip = f"{NET}.2"
    cid = run(runtime, config("hello", "minik8s/hello:v1", uid="hello-uid", ip=ip,
                              ports=(8080,), pod_name="hello-7f9c"))
    answers(f"http://{ip}:8080/healthz")
    yield runtime, cid, ip
    runtime.shutdown()


# --- images ----------------------------------------------------------------------------

def test_every_spelling_of_an_image_resolves_to_one_id():
    spellings = ["busybox", "busybox:latest", "library/busybox", "docker.io/library/busybox"]
    specs = [images.resolve(s) for s in spellings]
    assert {s.reference for s in specs} == {"docker.io/library/busybox:latest"}
    assert len({s.id for s in specs}) == 1 and specs[0].id.startswith("sha256:")
    assert images.resolve("busybox:1.36").id != specs[0].id
    hello = images.resolve("minik8s/hello:v2")
    assert hello.reference == "docker.io/minik8s/hello:v2"
    assert ("HELLO_VERSION", "v2") in hello.env
    assert hello.repo_digest == "docker.io/minik8s/hello@" + hello.id


def test_command_replaces_entrypoint_and_args_replace_cmd():
    hello, busybox = images.resolve("minik8s/hello:v1"), images.resolve("busybox")
    assert hello.argv() == [sys.executable, "-m", "minik8s.images.hello"]
    assert hello.argv(args=["--port", "9000"])[-2:] == ["--port", "9000"]
    assert hello.argv(command=["sh", "-c", "true"]) == ["sh", "-c", "true"]
    assert busybox.argv() == ["sh"]
    assert busybox.argv(args=["echo", "hi"]) == ["echo", "hi"]
    assert busybox.argv(command=["echo"], args=["hi"]) == ["echo", "hi"]


def test_an_unknown_image_fails_like_a_registry_miss(rt):
    with pytest.raises(ImagePullError, match=r'"docker.io/library/doesnotexist:v1".*not found'):
        rt.pull("doesnotexist:v1")
    with pytest.raises(ImagePullError):
        rt.create(config(image="example.com/nope/nothing"))
    assert rt.list() == []


# --- network ---------------------------------------------------------------------------

def test_hello_answers_on_its_pod_ip_with_its_version_and_name(hello):
    runtime, cid, ip = hello
    status, body = get(f"http://{ip}:8080/")
    assert status == 200
    assert "Version: v1" in body and "Pod: hello-7f9c" in body and f"Pod IP: {ip}" in body
    s = runtime.status(cid)
    assert s.state == RUNNING and alive(s.pid)
    assert s.image == "docker.io/minik8s/hello:v1"


def test_two_pods_listen_on_the_same_port_on_different_ips(rt):
    ips = [f"{NET}.10", f"{NET}.11"]
    for n, ip in enumerate(ips):
        run(rt, config("web", f"minik8s/hello:v{n}", uid=f"pod-{n}", ip=ip, ports=(8080,)))
    assert "Version: v0" in answers(f"http://{ips[0]}:8080/")[1]
    assert "Version: v1" in answers(f"http://{ips[1]}:8080/")[1]


def test_nginx_answers_with_its_welcome_page(rt):
    ip = f"{NET}.12"
    run(rt, config("nginx", "nginx:1.27", ip=ip, ports=(8081,)))
    status, body = answers(f"http://{ip}:8081/")
    assert status == 200 and "Welcome to nginx!" in body
    assert get(f"http://{ip}:8081/missing")[0] == 404


# --- logs and exits --------------------------------------------------------------------

def test_output_is_captured_and_read_like_kubectl_logs(rt):
    out = sh(rt, "echo one; echo two; echo three")
    err = sh(rt, "echo oops >&2; printf no-newline >&2", uid="pod-2")
    exited(rt, out), exited(rt, err)
    assert rt.logs(out) == b"one\ntwo\nthree\n"
    assert rt.logs(err) == b"oops\nno-newline"           # byte for byte
    assert rt.logs(out, tail_lines=2) == b"two\nthree\n"
    assert rt.logs(out, tail_lines=0) == b""
    assert rt.logs(out, limit_bytes=5) == b"one\nt"
    assert rt.logs(out, since=CLOCK.now() + 60) == b""
    stamped = rt.logs(out, timestamps=True).decode().splitlines()
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (one|two|three)", line)
               for line in stamped) and len(stamped) == 3
    assert rt.logs(out, since=rt.status(out).created_at - 1) == b"one\ntwo\nthree\n"


def test_previous_attempt_logs_are_kept_until_its_container_is_removed(rt):
    first = sh(rt, "echo first attempt", attempt=0)
    exited(rt, first)
    second = sh(rt, "echo second attempt", attempt=1)
    exited(rt, second)
    assert rt.logs(first) == b"first attempt\n"
    assert rt.logs(second) == b"second attempt\n"
    rt.remove(first)
    with pytest.raises(ContainerNotFound):
        rt.logs(first)
    assert [s.id for s in rt.list("pod-1")] == [second]


def test_exit_codes_and_reasons_are_reported(rt):
    failed, done = sh(rt, "exit 3"), sh(rt, "exit 0", uid="pod-2")
    s = exited(rt, failed)
    assert (s.exit_code, s.reason) == (3, "Error")
    assert s.started_at <= s.finished_at and s.pid is None
    s = exited(rt, done)
    assert (s.exit_code, s.reason) == (0, "Completed")


def test_a_command_that_cannot_run_is_a_start_error(rt):
    cid = rt.create(config(command=["no-such-program-here"]))
    assert rt.status(cid).state == CREATED
    rt.start(cid)
    s = rt.status(cid)
    assert (s.state, s.exit_code, s.reason) == (EXITED, 128, "StartError")
    assert "executable file not found" in s.message


def test_env_has_pod_ip_and_hostname_and_the_spec_env_wins(rt):
    cid = sh(rt, 'echo "$POD_IP $HOSTNAME $GREETING $MINIK8S_PORTS"', ip=f"{NET}.20",
             ports=(80, 443), env=[("GREETING", "hi"), ("HOSTNAME", "custom")])
    exited(rt, cid)
    assert rt.logs(cid) == f"{NET}.20 custom hi 80,443\n".encode()


def test_volumes_appear_at_their_mount_paths(rt, tmp_path):
    config_dir, data_dir = tmp_path / "cm", tmp_path / "empty"
    config_dir.mkdir(), data_dir.mkdir()
    (config_dir / "key").write_text("value\n")
    mounts = [Mount(str(config_dir), "/etc/config", read_only=True),
              Mount(str(data_dir), "/data")]
    cid = sh(rt, "cat /etc/config/key; echo written > /data/out; "
                 "cat $MINIK8S_ROOT/etc/config/key", mounts=mounts)
    assert exited(rt, cid).exit_code == 0
    assert rt.logs(cid) == b"value\nvalue\n"
    assert (data_dir / "out").read_text() == "written\n"


# --- stopping --------------------------------------------------------------------------

def test_stop_sends_sigterm_first(rt):
    cid = sh(rt, "sleep 100")
    rt.stop(cid, grace_seconds=10)
    s = exited(rt, cid)
    assert (s.exit_code, s.reason) == (128 + signal.SIGTERM, "Error")


def test_a_container_ignoring_sigterm_is_killed_at_the_grace_deadline(rt):
    cid = sh(rt, "trap '' TERM; echo trapped; sleep 100")
    wait_for(lambda: rt.logs(cid) == b"trapped\n", what="the trap")
    stopped_at = CLOCK.monotonic()
    rt.stop(cid, grace_seconds=0.3)
    assert rt.status(cid).state == RUNNING               # SIGTERM is ignored
    s = exited(rt, cid)
    assert CLOCK.monotonic() - stopped_at >= 0.3
    assert (s.exit_code, s.reason) == (137, "Error")


def test_hello_exits_zero_promptly_on_sigterm(hello, rt):
    ip = f"{NET}.21"
    cid = run(rt, config("web", "minik8s/hello:v3", ip=ip, ports=(8080,)))
    answers(f"http://{ip}:8080/healthz")
    rt.stop(cid, grace_seconds=30)
    assert exited(rt, cid, timeout=2).reason == "Completed"
    assert b'"GET /healthz HTTP/1.1" 200' in rt.logs(cid)   # one access-log line per request


def test_a_containers_children_die_with_it(rt):
    cid = sh(rt, "sleep 100 & sleep 100")
    pgid = rt.status(cid).pid
    children = wait_for(lambda: len(group_members(pgid)) >= 2 and group_members(pgid))
    rt.stop(cid, grace_seconds=5)
    exited(rt, cid)
    wait_for(lambda: not any(alive(p) for p in children), what="the children to die")


def test_when_the_main_process_exits_the_rest_of_the_container_goes(rt):
    cid = sh(rt, "sleep 100 & echo $!; exit 0")
    assert exited(rt, cid).reason == "Completed"
    background = int(rt.logs(cid))
    wait_for(lambda: not alive(background), what="the background sleep to die")


OWNER = """
import sys
from minik8s.api.clock import RealClock
from minik8s.node.runtime import ContainerConfig
from minik8s.node.runtime_process import ProcessRuntime
rt = ProcessRuntime(sys.argv[1], RealClock())
cid = rt.create(ContainerConfig("uid", "default", "p", "c", "busybox", command=sys.argv[2:]))
rt.start(cid)
print(rt.status(cid).pid, rt._watchdog.pid, flush=True)
sys.stdin.read()
"""


@pytest.fixture
def owner(tmp_path):
    """Start a runtime in a process of its own that runs one container; returns
    (owner Popen, container pid, watchdog pid). The owner is SIGKILLed in teardown."""
    procs = []

    def start(*command):
        proc = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path), *command],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                cwd=os.path.dirname(os.path.dirname(__file__)))
        procs.append(proc)
        container, watchdog = map(int, proc.stdout.readline().split())
        return proc, container, watchdog
    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def test_no_container_outlives_the_runtimes_owner(owner):
    proc, pgid, _ = owner("sh", "-c", "sleep 100 & sleep 100")
    members = wait_for(lambda: len(group_members(pgid)) >= 2 and group_members(pgid))
    proc.kill()                                         # SIGKILL: no cleanup code runs
    proc.wait()
    wait_for(lambda: not any(alive(p) for p in members),
             what="the container and its children to die")


def test_pdeathsig_alone_kills_the_container_when_its_owner_dies(owner):
    # The watchdog dies first (as if killed with its owner's whole process tree), so
    # only the parent-death signal set at fork can take the container down.
    proc, container, watchdog = owner("sleep", "100")
    os.kill(watchdog, signal.SIGKILL)
    wait_for(lambda: not alive(watchdog), what="the watchdog to die")
    assert alive(container)
    proc.kill()
    proc.wait()
    wait_for(lambda: not alive(container), what="PDEATHSIG to kill the container")


def test_the_grace_deadline_is_on_the_runtimes_clock(tmp_path):
    fake = FakeClock()
    runtime = ProcessRuntime(str(tmp_path), fake)
    try:
        cid = sh(runtime, "trap '' TERM; echo trapped; sleep 100")
        wait_for(lambda: runtime.logs(cid) == b"trapped\n", what="the trap")
        runtime.stop(cid, grace_seconds=30)
        fake.advance(29)
        assert runtime.status(cid).state == RUNNING
        fake.advance(1)
        assert exited(runtime, cid).exit_code == 137
    finally:
        runtime.shutdown()


def test_shutdown_kills_every_container(tmp_path):
    runtime = ProcessRuntime(str(tmp_path), CLOCK)
    pids = [runtime.status(sh(runtime, "sleep 100", uid=f"p{n}")).pid for n in range(2)]
    runtime.shutdown()
    assert not any(alive(p) for p in pids)
    assert {s.state for s in runtime.list()} == {EXITED}


# --- probes and usage ------------------------------------------------------------------

def test_http_probe_against_healthz_succeeds_and_fails_when_told(hello):
    runtime, cid, ip = hello
    healthz = {"httpGet": {"path": "/healthz", "port": 8080}, "timeoutSeconds": 1}
    ready = {"httpGet": {"path": "/ready", "port": "8080"}}
    assert runtime.probe(cid, healthz, ip).success
    assert runtime.probe(cid, ready, ip).success
    urllib.request.urlopen(urllib.request.Request(f"http://{ip}:8080/fail/ready", method="POST"),
                           timeout=1).close()
    try:
        result = runtime.probe(cid, ready, ip)
        assert not result.success
        assert result.message == "HTTP probe failed with statuscode: 503"
    finally:
        urllib.request.urlopen(urllib.request.Request(f"http://{ip}:8080/recover/ready",
                                                      method="POST"), timeout=1).close()
    assert runtime.probe(cid, ready, ip).success


def test_probes_against_a_closed_port_fail_within_their_timeout(hello):
    runtime, cid, ip = hello
    started = CLOCK.monotonic()
    http = runtime.probe(cid, {"httpGet": {"path": "/", "port": 9}, "timeoutSeconds": 1}, ip)
    tcp = runtime.probe(cid, {"tcpSocket": {"port": 9}, "timeoutSeconds": 1}, ip)
    assert CLOCK.monotonic() - started < 2
    assert not http.success and "connection refused" in http.message
    assert not tcp.success and tcp.message == f"dial tcp {ip}:9: connect: connection refused"
    assert runtime.probe(cid, {"tcpSocket": {"port": 8080}}, ip).success


def test_exec_probe_runs_in_the_containers_private_tmp(rt, tmp_path):
    cid = sh(rt, "sleep 100", uid="pod-x")
    flag = {"exec": {"command": ["test", "-f", "/tmp/x"]}, "timeoutSeconds": 1}
    assert not rt.probe(cid, flag, "").success
    assert rt.probe(cid, {"exec": {"command": ["touch", "/tmp/x"]}}, "").success
    assert rt.probe(cid, flag, "").success
    assert (tmp_path / "node/pods/pod-x/c-0/root/tmp/x").exists()
    other = sh(rt, "sleep 100", uid="pod-y")
    assert not rt.probe(other, flag, "").success        # /tmp is per container
    slow = rt.probe(cid, {"exec": {"command": ["sleep", "5"]}, "timeoutSeconds": 0.2}, "")
    assert (slow.success, slow.message) == (False, 'command "sleep 5" timed out')


def test_usage_reports_the_memory_of_a_running_pod(hello):
    runtime, _, _ = hello
    usage = runtime.usage("hello-uid")
    assert usage["memory"] > 1_000_000 and usage["cpu"] >= 0
    assert runtime.usage("no-such-pod") == {"cpu": 0, "memory": 0}


# --- the pieces: log format and filesystem view -----------------------------------------

def test_cri_log_lines_round_trip_long_lines_and_missing_newlines(tmp_path):
    fake, path = FakeClock(), str(tmp_path / "0.log")
    writer = CriLogWriter(path, fake)
    long_line = b"x" * (MAX_ENTRY * 2 + 10)
    writer.feed("stdout", b"short\n" + long_line[:100])
    writer.feed("stdout", long_line[100:] + b"\nlast")
    fake.advance(1.5)
    writer.feed("stderr", b"later\n")
    writer.close()
    assert b" stdout P " in open(path, "rb").read()     # split as containerd does
    # "last" never got its newline: it is written when the stream ends, byte for byte.
    assert read_cri_log(path) == b"short\n" + long_line + b"\nlater\nlast"
    assert read_cri_log(path, tail_lines=2) == b"later\nlast"
    assert read_cri_log(path, since=fake.now()) == b"later\nlast"
    assert read_cri_log(path, timestamps=True).startswith(b"2026-01-01T00:00:00Z short\n")
    assert rfc3339nano(1767225600.25) == "2026-01-01T00:00:00.25Z"


def test_container_view_maps_whole_mount_paths_only(tmp_path):
    data, sub = tmp_path / "data", tmp_path / "sub"
    view = ContainerView(str(tmp_path / "root"),
                         (Mount(str(data), "/data"), Mount(str(sub), "/data/sub/")))
    assert view.map("cat /data/x /data/sub/y") == f"cat {data}/x {sub}/y"
    assert view.map("ls /database /x/data /tmpx") == "ls /database /x/data /tmpx"
    assert view.map("--dir=/tmp") == f"--dir={tmp_path}/root/tmp"
    assert os.readlink(tmp_path / "root/data") == str(data)
    assert not os.path.lexists(data / "sub")            # no link inside the volume
    assert view.workdir("/app") == f"{tmp_path}/root/app" and (tmp_path / "root/app").is_dir()


def test_hello_readiness_can_be_delayed_or_failed_by_a_flag_file(monkeypatch, tmp_path):
    from minik8s.images import hello as server
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert server.healthy("ready") and server.healthy("healthz")
    (tmp_path / "fail-healthz").touch()
    assert not server.healthy("healthz") and server.healthy("ready")
    monkeypatch.setenv("READY_AFTER", "3600")
    assert not server.healthy("ready")
    monkeypatch.setenv("PORT", "")
    monkeypatch.setenv("MINIK8S_PORTS", "9090,9091")
    assert server.listen_port(0) == 9090 and server.listen_port(7000) == 7000
