"""The image catalogue (DESIGN.md §7): every image name resolves, and every program
does what its line in the table says.

Each program runs as the process runtime runs it — argv and env from the catalogue —
as a real subprocess on 127.0.0.1 with a free high port (through `MINIK8S_PORTS`, the
way a containerPort reaches it). Nothing sleeps blindly: readiness is the program's
own "listening" log line, everything else is a condition polled under a deadline.
"""
import hashlib
import http.client
import io
import json
import os
import pathlib
import re
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from waiting import wait_for
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minik8s import images
from minik8s.api.clock import FakeClock
from minik8s.images import peers, redis as redis_server
from minik8s.images.resp import (Client, Error, Simple, encode, encode_command,
                                  read_command)

ROOT = pathlib.Path(__file__).resolve().parent.parent


# --- harness ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Program:
    """One container of `image`, started as the process runtime would start it."""

    def __init__(self, image: str, args=(), env=None, port=None, ready="listening|Ready"):
        spec = images.resolve(image)
        self.port = port if port is not None else free_port()
        environ = dict(spec.env, HOSTNAME="test-pod", MINIK8S_PORTS=str(self.port))
        environ.update(env or {})
        self.proc = subprocess.Popen(spec.argv(args=list(args)), env=environ,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines, self.changed = [], threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()
        if ready:
            try:
                self.wait_for(ready)
            except BaseException:
                self.stop()                              # leave nothing running
                raise

    def _pump(self):
        for raw in self.proc.stdout:
            with self.changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append(None)                     # end of output
            self.changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 5.0) -> str:
        """The first output line matching `pattern`, waiting for it up to `timeout`."""
        def first_match():
            for line in self.lines:
                if line is None:
                    return "<exited>"
                if re.search(pattern, line):
                    return line
        with self.changed:
            found = self.changed.wait_for(first_match, timeout)
        if found in (None, "<exited>"):
            pytest.fail(f"no {pattern!r} in the output ({found or 'timed out'}):\n"
                        + "\n".join(filter(None, self.lines)))
        return found

    def http(self, method: str, path: str, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture
def run():
    """Start programs; every one still running is stopped at the end of the test."""
    started = []

    def start(*a, **kw):
        started.append(Program(*a, **kw))
        return started[-1]
    yield start
    for p in started:
        p.stop()


@pytest.fixture(scope="module")
def redis_port():
    program = Program("redis")
    yield program.port
    program.stop()


@pytest.fixture
def rds(redis_port):
    client = Client("127.0.0.1", redis_port)
    client.command("FLUSHALL")
    yield client
    client.close()


# --- the catalogue ---------------------------------------------------------------------

CONTRACT = {
    "minik8s/stress": "minik8s.images.stress",
    "dockercoins/rng:v0.1": "minik8s.images.dockercoins_rng",
    "dockercoins/hasher:v0.1": "minik8s.images.dockercoins_hasher",
    "dockercoins/worker:v0.1": "minik8s.images.dockercoins_worker",
    "dockercoins/webui:v0.1": "minik8s.images.dockercoins_webui",
    "redis": "minik8s.images.redis",
    "redis:7.2": "minik8s.images.redis",
}


@pytest.mark.parametrize("image,module", CONTRACT.items())
def test_every_image_of_the_design_resolves_to_its_program(image, module):
    assert images.resolve(image).argv()[1:] == ["-m", module]


def test_image_names_normalise_like_containerd():
    assert images.resolve("dockercoins/rng:v0.1").repository == "docker.io/dockercoins/rng"
    assert images.resolve("redis").reference == "docker.io/library/redis:latest"


def test_the_dockercoins_example_uses_catalogue_images_and_the_real_ports():
    docs = list(yaml.safe_load_all((ROOT / "examples" / "dockercoins.yaml").read_text()))
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    assert set(deployments) == {"rng", "hasher", "worker", "webui", "redis"}
    assert set(services) == {"rng", "hasher", "webui", "redis"}
    for d in deployments.values():
        for c in d["spec"]["template"]["spec"]["containers"]:
            images.resolve(c["image"])
    for name, svc in services.items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= labels.items()
        assert svc["spec"]["ports"][0]["targetPort"] == (6379 if name == "redis" else 80)


# --- peers: where a program listens and finds the others -------------------------------

def test_a_program_listens_on_its_pod_ip_and_first_container_port():
    env = {"POD_IP": "127.128.0.7", "MINIK8S_PORTS": "8081,9090"}
    assert peers.listen_address(80, env=env) == ("127.128.0.7", 8081)
    assert peers.listen_address(80, env={**env, "PORT": "7000"}) == ("127.128.0.7", 7000)
    assert peers.listen_address(80, cli_port=7001, env={**env, "PORT": "7000"})[1] == 7001
    assert peers.listen_address(6379, env={}) == ("127.0.0.1", 6379)


def test_peers_resolve_override_then_service_variables_then_dns():
    service = {"RNG_SERVICE_HOST": "127.96.0.9", "RNG_SERVICE_PORT": "80"}
    assert peers.peer_url("rng", 80, env={}) == "http://rng:80"
    assert peers.peer_url("rng", 80, env=service) == "http://127.96.0.9:80"
    assert peers.peer_url("rng", 80, env={**service, "RNG_URL": "http://127.0.0.1:5/"}) \
        == "http://127.0.0.1:5"
    assert peers.peer_url("my-rng", 80, env={"MY_RNG_SERVICE_HOST": "fd00::1"}) \
        == "http://[fd00::1]:80"


def test_redis_ignores_the_docker_link_variable_kubernetes_sets_for_a_redis_service():
    env = {"REDIS_SERVICE_HOST": "127.96.0.5", "REDIS_SERVICE_PORT": "6379",
           "REDIS_PORT": "tcp://127.96.0.5:6379"}
    assert peers.peer_address("redis", 6379, env=env) == ("127.96.0.5", 6379)
    assert peers.peer_address("redis", 6379, env={"REDIS_URL": "redis://10.1.2.3:7000"}) \
        == ("10.1.2.3", 7000)
    assert peers.peer_address("redis", 6379, env={}) == ("redis", 6379)


# --- RESP and the redis image ----------------------------------------------------------

def raw(port: int, data: bytes) -> bytes:
    """Send raw bytes to redis and read until it has answered (or hung up)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: s.recv(65536), b""))


binary = st.binary(max_size=64)


@given(st.lists(binary, min_size=1, max_size=6))
def test_resp_commands_round_trip_through_the_codec(args):
    assert read_command(io.BytesIO(encode_command(*args))) == args


def test_resp_replies_encode_as_redis_writes_them():
    assert encode(Simple("OK")) == b"+OK\r\n"
    assert encode([3, b"a\r\nb", None]) == b"*3\r\n:3\r\n$4\r\na\r\nb\r\n$-1\r\n"
    assert encode(Error("ERR no")) == b"-ERR no\r\n"


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=binary, value=binary, field=binary)
def test_redis_stores_any_bytes_in_strings_and_hashes(rds, key, value, field):
    assert rds.command("SET", key, value) == "OK"
    assert rds.command("GET", key) == value
    hkey = b"h:" + key
    rds.command("DEL", hkey)
    assert rds.command("HSET", hkey, field, value) == 1
    assert rds.command("HGETALL", hkey) == [field, value]


def test_redis_speaks_resp_as_redis_does(redis_port, rds):
    assert raw(redis_port, b"*1\r\n$4\r\nPING\r\n") == b"+PONG\r\n"
    assert raw(redis_port, b"PING\r\n") == b"+PONG\r\n"            # inline, as nc sends
    assert raw(redis_port, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n"
                           b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") == b"+OK\r\n$4\r\na\r\nb\r\n"
    assert raw(redis_port, b"*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\n") == b"$-1\r\n"
    assert raw(redis_port, b"*1\r\nPING\r\n") == b"-ERR Protocol error: expected '$', got 'P'\r\n"


def test_redis_counts_and_hashes_like_dockercoins_needs(rds):
    assert rds.command("EXISTS", "hashes") == 0
    assert rds.command("INCRBY", "hashes", 5) == 5
    assert rds.command("INCR", "hashes") == 6
    assert rds.command("GET", "hashes") == b"6"
    assert rds.command("HSET", "wallet", "00ab", b"\x00\r\n", "00cd", b"x") == 2
    assert rds.command("HSET", "wallet", "00ab", b"again") == 0
    assert rds.command("HLEN", "wallet") == 2
    assert rds.command("HGET", "wallet", "00ab") == b"again"
    assert rds.command("EXISTS", "hashes", "wallet", "nope") == 2
    assert rds.command("TYPE", "wallet") == "hash"
    assert rds.command("DEL", "wallet", "hashes", "nope") == 2
    assert rds.command("DBSIZE") == 0


@pytest.mark.parametrize("argv,message", [
    (["FLY", "to", "moon"], "ERR unknown command 'FLY', with args beginning with: 'to' 'moon' "),
    (["GET"], "ERR wrong number of arguments for 'get' command"),
    (["HSET", "h", "f"], "ERR wrong number of arguments for 'hset' command"),
    (["INCRBY", "n", "1.5"], "ERR value is not an integer or out of range"),
    (["SET", "k", "v", "SOON"], "ERR syntax error"),
])
def test_redis_rejects_bad_commands_with_redis_messages(rds, argv, message):
    with pytest.raises(Error) as e:
        rds.command(*argv)
    assert str(e.value) == message


def test_redis_type_and_overflow_errors(rds):
    rds.command("HSET", "h", "f", "v")
    with pytest.raises(Error, match="^WRONGTYPE Operation against a key holding the wrong"):
        rds.command("GET", "h")
    rds.command("SET", "n", str(2**63 - 1))
    with pytest.raises(Error, match="^ERR increment or decrement would overflow$"):
        rds.command("INCR", "n")


def test_redis_keys_expire_on_the_clock():
    clock = FakeClock()
    ks = redis_server.Keyspace(clock)
    run_ = lambda *a: redis_server.execute(ks, [x.encode() for x in a])  # noqa: E731
    assert run_("SET", "session", "x", "EX", "10") == "OK"
    assert run_("TTL", "session") == 10
    clock.advance(9.9)
    assert run_("GET", "session") == b"x"
    clock.advance(0.1)
    assert run_("GET", "session") is None and run_("TTL", "session") == -2
    assert run_("SET", "lock", "1", "NX") == "OK" and run_("SET", "lock", "2", "NX") is None


# --- DockerCoins -----------------------------------------------------------------------

def test_rng_answers_n_random_bytes_after_a_tenth_of_a_second(run):
    rng = run("dockercoins/rng:v0.1")
    started = time.monotonic()
    status, headers, body = rng.http("GET", "/32")
    assert time.monotonic() - started >= 0.1
    assert (status, headers["Content-Type"], len(body)) == (200, "application/octet-stream", 32)
    assert rng.http("GET", "/32")[2] != body
    assert rng.http("GET", "/")[2] == b"RNG running on test-pod\n"
    assert rng.http("GET", "/lots")[0] == 404


def test_hasher_answers_the_sha256_of_the_body_after_a_tenth_of_a_second(run):
    port = free_port()
    hasher = run("dockercoins/hasher:v0.1", args=["--port", str(port)])
    assert hasher.wait_for("listening").endswith(f":{port}")   # --port beats containerPort
    hasher.port = port
    body = bytes(range(256)) + b"\r\n\x00"
    started = time.monotonic()
    status, headers, answer = hasher.http("POST", "/", body,
                                          {"Content-Type": "application/octet-stream"})
    assert time.monotonic() - started >= 0.1
    assert (status, answer.decode()) == (200, hashlib.sha256(body).hexdigest())
    assert headers["Content-Type"].startswith("text/plain")
    assert hasher.http("GET", "/")[2] == b"HASHER running on test-pod\n"


def test_worker_mines_through_rng_and_hasher_found_by_their_service_variables(run,
                                                                             redis_port, rds):
    rng, hasher = run("dockercoins/rng:v0.1"), run("dockercoins/hasher:v0.1")
    env = {f"{name}_SERVICE_HOST": "127.0.0.1" for name in ("RNG", "HASHER", "REDIS")}
    env.update(RNG_SERVICE_PORT=str(rng.port), HASHER_SERVICE_PORT=str(hasher.port),
               REDIS_SERVICE_PORT=str(redis_port),
               REDIS_PORT=f"tcp://127.0.0.1:{redis_port}")   # Kubernetes sets it too
    worker = run("dockercoins/worker:v0.1", env=env, ready="mining")
    worker.wait_for(r"0 units of work done, updating hash counter")
    hashes = wait_for(lambda: int(rds.command("GET", "hashes") or 0), 5, "hashes >= 1")
    assert 1 <= hashes <= 5                    # ~3/s: 0.1 s sleep + rng + hasher
    worker.wait_for(rf"{hashes} units of work done, updating hash counter")
    wallet = rds.command("HGETALL", "wallet")   # a coin is luck (1 in 16): check any found
    for coin, data in zip(wallet[::2], wallet[1::2]):
        assert coin.decode() == hashlib.sha256(data).hexdigest() and coin.startswith(b"0")
    assert worker.stop() == 0


class LuckyHasher(BaseHTTPRequestHandler):
    """A hasher stub whose every hash is a coin: 0000 + the real hash's tail."""
    seen: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        LuckyHasher.seen.append(body)
        answer = ("0000" + hashlib.sha256(body).hexdigest()[4:]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def test_worker_stores_each_coin_in_the_wallet_with_its_random_bytes(run, redis_port, rds):
    rng = run("dockercoins/rng:v0.1")
    stub = ThreadingHTTPServer(("127.0.0.1", 0), LuckyHasher)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    try:
        run("dockercoins/worker:v0.1", ready="mining",
            env={"RNG_URL": f"http://127.0.0.1:{rng.port}",
                 "HASHER_URL": f"http://127.0.0.1:{stub.server_port}/",
                 "REDIS_URL": f"redis://127.0.0.1:{redis_port}"}).wait_for("Coin found: 0000")
        wallet = wait_for(lambda: rds.command("HGETALL", "wallet"), 5, "a coin")
    finally:
        stub.shutdown()
        stub.server_close()
    coin, data = wallet[0], wallet[1]
    assert len(data) == 32 and data in LuckyHasher.seen
    assert coin.decode() == "0000" + hashlib.sha256(data).hexdigest()[4:]


def test_worker_crashes_when_redis_is_unreachable(run):
    worker = run("dockercoins/worker:v0.1", ready="mining",
                 env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}"})
    assert worker.proc.wait(timeout=5) == 1
    worker.wait_for("ERROR:__main__:giving up")


def test_webui_serves_its_page_and_the_wallet_as_json(run, redis_port, rds):
    webui = run("dockercoins/webui:v0.1", env={"REDIS_URL": f"redis://127.0.0.1:{redis_port}"})
    status, _, body = webui.http("GET", "/json")
    assert status == 200 and json.loads(body)["hashes"] is None   # no worker yet
    rds.command("INCRBY", "hashes", 42)
    rds.command("HSET", "wallet", "0abc", b"\x01" * 32, "0def", b"\x02" * 32)
    status, headers, body = webui.http("GET", "/json")
    data = json.loads(body)
    assert (status, data["coins"], data["hashes"]) == (200, 2, "42")
    assert abs(data["now"] - time.time()) < 5 and headers["Content-Type"].startswith(
        "application/json")
    status, headers, _ = webui.http("GET", "/")
    assert (status, headers["Location"]) == (302, "/index.html")
    status, _, page = webui.http("GET", "/index.html")
    assert status == 200 and b"DockerCoin Miner WebUI" in page and b'fetch("json")' in page
    assert not re.search(rb"https?://|<script src", page)           # nothing external


def test_webui_reports_an_unreachable_redis_as_a_server_error(run):
    webui = run("dockercoins/webui:v0.1", env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}"})
    status, _, body = webui.http("GET", "/json")
    assert status == 500 and "redis" in json.loads(body)["error"]


# --- minik8s/stress --------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc/<pid>/stat."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_stress_burns_the_cpus_it_is_told_to_for_the_timeout(run):
    busy = run("minik8s/stress", args=["--cpus", "2", "--timeout", "0.6s"])
    idle = run("minik8s/stress", args=["--timeout", "0.6s"])     # the same, minus the hogs
    used = {}
    for name, program in (("busy", busy), ("idle", idle)):
        _, status, usage = os.wait4(program.proc.pid, 0)       # usage includes its workers
        program.proc.returncode = os.waitstatus_to_exitcode(status)
        assert program.proc.returncode == 0
        program.wait_for(r"successful run completed in \d+\.\ds")
        used[name] = usage.ru_utime + usage.ru_stime
    # 2 workers x 0.6 s = 1.2 CPU-seconds on an idle machine; 0.25 even when shared.
    assert used["busy"] - used["idle"] >= 0.25, used


def test_stress_requests_each_burn_cpu_like_php_apache(run):
    busy, idle = run("minik8s/stress"), run("minik8s/stress")
    before = {p: cpu_seconds(p.proc.pid) for p in (busy, idle)}
    for _ in range(6):
        assert busy.http("GET", "/")[::2] == (200, b"OK!")
        assert idle.http("GET", "/healthz")[::2] == (200, b"ok\n")   # probes burn nothing
    spent = {p: cpu_seconds(p.proc.pid) - before[p] for p in (busy, idle)}
    assert spent[busy] - spent[idle] >= 0.1, spent           # ~0.03 s of CPU per request


@pytest.mark.parametrize("image", ["dockercoins/rng:v0.1", "dockercoins/hasher:v0.1",
                                   "dockercoins/webui:v0.1", "redis", "minik8s/stress"])
def test_servers_exit_0_promptly_on_sigterm(run, image):
    program = run(image, args=["--cpus", "1"] if image == "minik8s/stress" else [])
    started = time.monotonic()
    assert program.stop() == 0
    assert time.monotonic() - started < 2
