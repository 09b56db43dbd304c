"""The kubelet's HTTP server and the API server's pods/log proxy to it, over real HTTP.

First against a fake kubelet object (what the server sends, how errors and streams
look), then the API server's node proxy against that server (kube-apiserver's error
texts), and finally the whole path with real processes: the HTTP API server, a
kubelet on a thread with the process runtime serving its HTTP on the node's address,
and the real kubectl (`logs`, `-c`, `--tail`, `--previous`, `-f`).
"""
import http.client
import json
import os
import queue
import random
import shutil
import subprocess
import threading
import time

import pytest

from minik8s.api import errors
from minik8s.api.clock import RealClock
from minik8s.apiserver.nodeproxy import make_node_proxy
from minik8s.apiserver.server import APIServer
from minik8s.client.inprocess import InProcessClient
from minik8s.node.server import KubeletServer
from minik8s.store.memory import MemoryStore

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web", "namespace": "default", "uid": "u-1"},
       "spec": {"nodeName": "node-1",
                "containers": [{"name": "app", "image": "busybox"},
                               {"name": "side", "image": "busybox"}]}}


class FakeKubelet:
    """Answers like the kubelet: logs of web/app, a waiting web/side, nothing else."""

    def __init__(self):
        self.calls = []
        self.follow_chunks = queue.Queue()     # what follow_logs yields; None ends it
        self.follow_closed = threading.Event()

    def pods(self):
        return [POD]

    def _check(self, namespace, pod, container):
        if (namespace, pod) != ("default", "web"):
            raise errors.NotFound(f'pod "{pod}" does not exist')
        if container == "side":
            raise errors.BadRequest('container "side" in pod "web" is waiting to start: '
                                    "ContainerCreating")

    def container_logs(self, namespace, pod, container, **options):
        self._check(namespace, pod, container)
        self.calls.append(options)
        lines = [b"previous\n"] if options["previous"] else [b"one\n", b"two\n", b"three\n"]
        if options["tail_lines"] is not None:
            lines = lines[len(lines) - options["tail_lines"]:]
        return b"".join(lines)

    def follow_logs(self, namespace, pod, container, **options):
        self._check(namespace, pod, container)
        self.calls.append(options)

        def stream():
            try:
                while (chunk := self.follow_chunks.get(timeout=5)) is not None:
                    yield chunk
            finally:
                self.follow_closed.set()
        return stream()


@pytest.fixture
def kubelet_server():
    kubelet = FakeKubelet()
    server = KubeletServer(kubelet, "127.0.0.1", 0).start()
    yield server
    kubelet.follow_chunks.put(None)
    server.stop()


def get(server, path):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.getheader("Content-Type"), body


def test_healthz_and_pods(kubelet_server):
    assert get(kubelet_server, "/healthz")[::2] == (200, b"ok")
    status, ctype, body = get(kubelet_server, "/pods")
    assert status == 200 and ctype == "application/json"
    doc = json.loads(body)
    assert doc["kind"] == "PodList" and doc["items"][0]["metadata"]["name"] == "web"


def test_container_logs_with_options(kubelet_server):
    status, ctype, body = get(kubelet_server, "/containerLogs/default/web/app?tailLines=2"
                                              "&timestamps=true&sinceSeconds=60&limitBytes=9")
    assert (status, ctype, body) == (200, "text/plain", b"two\nthree\n")
    assert kubelet_server.kubelet.calls[-1] == {
        "previous": False, "tail_lines": 2, "timestamps": True, "since_seconds": 60,
        "limit_bytes": 9}
    assert get(kubelet_server, "/containerLogs/default/web/app?previous=true")[2] == b"previous\n"


def test_container_log_errors_are_plain_text(kubelet_server):
    assert get(kubelet_server, "/containerLogs/default/nope/app")[::2] == \
        (404, b'pod "nope" does not exist')
    assert get(kubelet_server, "/containerLogs/default/web/side")[::2] == \
        (400, b'container "side" in pod "web" is waiting to start: ContainerCreating')
    assert get(kubelet_server, "/containerLogs/default/web/app?tailLines=x")[0] == 400
    assert get(kubelet_server, "/nothing")[0] == 404


def test_follow_streams_until_the_kubelet_ends_it(kubelet_server):
    feed = kubelet_server.kubelet.follow_chunks
    feed.put(b"first\n")
    conn = http.client.HTTPConnection("127.0.0.1", kubelet_server.port, timeout=5)
    conn.request("GET", "/containerLogs/default/web/app?follow=true")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Transfer-Encoding") == "chunked"
    assert resp.read1(100) == b"first\n"
    feed.put(b"second\n")                 # written while the client is reading
    assert resp.read1(100) == b"second\n"
    feed.put(None)                        # the container exited
    assert resp.read() == b""             # the terminating chunk
    conn.close()
    assert kubelet_server.kubelet.follow_closed.wait(5)


def test_a_follower_that_leaves_closes_the_kubelet_stream(kubelet_server):
    feed = kubelet_server.kubelet.follow_chunks
    conn = http.client.HTTPConnection("127.0.0.1", kubelet_server.port, timeout=5)
    conn.request("GET", "/containerLogs/default/web/app?follow=true")
    feed.put(b"x\n")
    resp = conn.getresponse()
    assert resp.read1(100) == b"x\n"
    conn.close()
    resp.close()
    feed.put(b"")                         # the kubelet's idle tick: is anyone there?
    assert kubelet_server.kubelet.follow_closed.wait(5)


# --- the API server's side: pods/log through the node proxy --------------------------

@pytest.fixture
def proxied(kubelet_server):
    """An API server whose node-1 points at the fake kubelet's server."""
    api = APIServer(MemoryStore(), RealClock(), random.Random(1))
    api.node_proxy = make_node_proxy(api)
    client = InProcessClient(api)
    node = client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}})
    node["status"] = {"addresses": [{"type": "Hostname", "address": "node-1"},
                                    {"type": "InternalIP", "address": "127.0.0.1"}],
                      "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_server.port}}}
    client.update_status(node)
    client.create({k: v for k, v in POD.items() if k != "status"})
    return api, client


def test_log_through_the_proxy(proxied):
    api, client = proxied
    assert client.log("default", "web", container="app", tail_lines=1) == "three\n"
    assert client.log("default", "web", container="app", previous=True) == "previous\n"


def test_proxy_errors_read_like_kube_apiserver(proxied, kubelet_server):
    api, client = proxied
    with pytest.raises(errors.BadRequest) as e:
        client.log("default", "web", container="side")
    assert e.value.message == 'container "side" in pod "web" is waiting to start: ContainerCreating'
    with pytest.raises(errors.BadRequest) as e:
        client.log("default", "web")
    assert e.value.message == ("a container name must be specified for pod web, choose one "
                               "of: [app side]")
    with pytest.raises(errors.BadRequest, match="^container db is not valid for pod web$"):
        client.log("default", "web", container="db")
    port = kubelet_server.port
    kubelet_server.stop()                 # the node's kubelet is down
    with pytest.raises(errors.APIError) as e:
        client.log("default", "web", container="app")
    assert e.value.code == 500 and e.value.reason == "Unknown"
    assert e.value.message == (
        f'Get "http://127.0.0.1:{port}/containerLogs/default/web/app": dial tcp '
        f"127.0.0.1:{port}: connect: connection refused")


def test_follow_through_the_proxy_is_an_iterator(proxied, kubelet_server):
    api, _ = proxied
    feed = kubelet_server.kubelet.follow_chunks
    feed.put(b"a\n")
    pod = api.read("pods", "web", "default")
    chunks = api.node_proxy(pod, "log", {"container": "app", "follow": True})
    assert next(chunks) == b"a\n"
    feed.put(None)
    assert b"".join(chunks) == b""        # heartbeats (b"") at most, then the end
    assert kubelet_server.kubelet.follow_closed.wait(5)


# --- everything real: kubectl -> API server -> kubelet -> processes --------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """One node, process runtime, every component on a thread, HTTP everywhere; a
    kubectl with its own kubeconfig and discovery cache."""
    from minik8s.cluster.local import LocalCluster
    exe = shutil.which("kubectl")
    if exe is None:
        pytest.skip("kubectl is not installed")
    cluster = LocalCluster(nodes=1, runtime="process", serve_http=True)
    cluster.start_threads()
    home = tmp_path_factory.mktemp("kubectl-logs")
    config = home / "config"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: local\n"
        f"clusters: [{{name: local, cluster: {{server: '{cluster.url}'}}}}]\n"
        "users: [{name: local, user: {}}]\n"
        "contexts: [{name: local, context: {cluster: local, user: local, namespace: default}}]\n")
    env = dict(os.environ, HOME=str(home), KUBECONFIG=str(config))

    def kubectl(*args, timeout=20):
        return subprocess.run([exe, f"--cache-dir={home / 'cache'}", *args], text=True,
                              capture_output=True, env=env, timeout=timeout)
    def kubectl_popen(*args):
        return subprocess.Popen([exe, f"--cache-dir={home / 'cache'}", *args], text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    cluster.kubectl, cluster.kubectl_popen = kubectl, kubectl_popen
    yield cluster
    cluster.close()


def wait_for(cluster, predicate, timeout=10.0):
    """Block on the pods watch (no sleeping) until predicate() holds."""
    stream = cluster.client.watch("pods", "default")
    try:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out: {cluster.describe()}")
            stream.wait(deadline - time.monotonic())
    finally:
        stream.close()


def container(cluster, pod, name):
    status = cluster.client.get("pods", pod, "default").get("status") or {}
    return next((c for c in status.get("containerStatuses") or [] if c["name"] == name), {})


def test_kubectl_logs_for_real(live):
    live.client.create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "chatty", "namespace": "default"},
        "spec": {"volumes": [{"name": "data", "emptyDir": {}}], "containers": [
            # The first attempt says "first run" and fails; the restart stays up.
            {"name": "app", "image": "busybox", "volumeMounts": [{"name": "data",
                                                                  "mountPath": "/data"}],
             "command": ["sh", "-c", "if [ -e /data/ran ]; then echo second run; sleep 60; "
                                     "else touch /data/ran; echo first run; exit 3; fi"]},
            {"name": "side", "image": "busybox",
             "command": ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; sleep 60"]}]}})
    wait_for(live, lambda: container(live, "chatty", "app").get("restartCount") == 1 and
             "running" in container(live, "chatty", "app").get("state", {}) and
             "running" in container(live, "chatty", "side").get("state", {}))
    # The kubelet's own endpoint, straight (tailLines, previous).
    server = live.servers["node-1"]
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    conn.request("GET", "/containerLogs/default/chatty/side?tailLines=2")
    assert conn.getresponse().read() == b"line 4\nline 5\n"
    conn.request("GET", "/containerLogs/default/chatty/app?previous=true")
    assert conn.getresponse().read() == b"first run\n"
    conn.close()
    # And as a user sees it.
    out = live.kubectl("logs", "chatty", "-c", "app")
    assert (out.returncode, out.stdout) == (0, "second run\n"), out.stderr
    out = live.kubectl("logs", "chatty", "-c", "app", "--previous")
    assert (out.returncode, out.stdout) == (0, "first run\n"), out.stderr
    out = live.kubectl("logs", "chatty", "-c", "side", "--tail", "2")
    assert (out.returncode, out.stdout) == (0, "line 4\nline 5\n"), out.stderr
    out = live.kubectl("logs", "chatty")                  # defaults to the first container
    assert out.stdout == "second run\n" and 'Defaulted container "app"' in out.stderr
    out = live.kubectl("logs", "chatty", "-c", "nope")
    assert out.returncode == 1
    assert "container nope is not valid for pod chatty" in out.stderr


def test_kubectl_logs_follow_ends_when_the_container_exits(live):
    live.client.create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ticker", "namespace": "default"},
        "spec": {"restartPolicy": "Never", "containers": [
            {"name": "tick", "image": "busybox",
             "command": ["sh", "-c", "echo tick 1; sleep 1.5; echo tick 2; echo tick 3"]}]}})
    wait_for(live, lambda: "running" in container(live, "ticker", "tick").get("state", {}))
    started = time.monotonic()
    follow = live.kubectl_popen("logs", "-f", "ticker")
    try:
        assert follow.stdout.readline() == "tick 1\n"
        rest, err = follow.communicate(timeout=10)
    finally:
        follow.kill()
        follow.wait()
    assert (follow.returncode, rest) == (0, "tick 2\ntick 3\n"), err
    # It followed: it ended with the container, not with what was there at first.
    assert time.monotonic() - started >= 1.0
    wait_for(live, lambda: live.client.get("pods", "ticker", "default")["status"]["phase"]
             == "Succeeded")
    assert container(live, "ticker", "tick")["state"]["terminated"]["exitCode"] == 0
