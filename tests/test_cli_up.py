"""`minik8s up --nodes 0 / down / status / chaos`, with real processes.

What an instructor types before a demo, and what must hold: `up` returns once the API
answers and kubectl has a `minik8s` context; a second `up` changes nothing; `down`
leaves no process; a control plane killed -9 comes back with every object it
acknowledged, at the same resourceVersion; a failed `up` leaves nothing running.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys

import pytest
import requests
import yaml

from minik8s.api import errors
from minik8s.api.clock import RealClock
from minik8s.apiserver.request import Request
from minik8s.cli.main import main
from minik8s.cluster import controlplane, processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hosts_of(data_dir) -> list:
    """Pids of every process whose command line names this data directory."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            args = processes.cmdline(int(entry)) or []
            if str(data_dir) in args and processes.process_alive(int(entry)):
                found.append(int(entry))
    return found


def state(data_dir) -> dict:
    return processes.read_json(os.path.join(data_dir, "state.json"))


def up(data_dir, kubeconfig, port, *extra):
    return main(["up", "--nodes", "0", "--port", str(port), "--data-dir", str(data_dir),
                 "--kubeconfig", str(kubeconfig), *extra])


def session():
    s = requests.Session()
    s.trust_env = False                 # no proxy from the environment for loopback
    return s


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One control plane for the read-only checks, torn down by `minik8s down`."""
    base = tmp_path_factory.mktemp("cluster")
    data_dir, kubeconfig = base / "data", base / "kube" / "config"
    assert up(data_dir, kubeconfig, free_port()) == 0
    yield data_dir, kubeconfig, state(data_dir)
    main(["down", "--data-dir", str(data_dir)])
    for pid in hosts_of(data_dir):      # only if down failed: do not leak a host
        processes.kill_hard(pid, RealClock())


def test_up_returns_once_the_api_answers_and_kubeconfig_has_the_context(cluster):
    data_dir, kubeconfig, st = cluster
    # No waiting here: `up` has returned, so the API must answer now.
    assert session().get(st["url"] + "/healthz", timeout=2).text == "ok"
    assert hosts_of(data_dir) == [st["pid"]]
    config = yaml.safe_load(kubeconfig.read_text())
    assert config["current-context"] == "minik8s"
    assert {"name": "minik8s", "cluster": {"server": st["url"]}} in config["clusters"]
    [ctx] = [c for c in config["contexts"] if c["name"] == "minik8s"]
    assert ctx["context"] == {"cluster": "minik8s", "user": "minik8s", "namespace": "default"}


def test_status_says_what_runs(cluster, capsys):
    data_dir, _, st = cluster
    assert main(["status", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert f"running (pid {st['pid']}" in out and "healthy" in out
    assert st["url"] in out and str(data_dir / "store.db") in out
    assert "nodes: none" in out


def test_kubectl_lists_the_system_namespaces(cluster, tmp_path):
    _, kubeconfig, _ = cluster
    exe = shutil.which("kubectl")
    if exe is None:
        pytest.skip("kubectl is not installed")
    r = subprocess.run([exe, "--kubeconfig", str(kubeconfig), f"--cache-dir={tmp_path}",
                        "--context", "minik8s", "get", "ns", "-o", "name"],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, HOME=str(tmp_path)))
    assert r.returncode == 0, r.stderr
    assert set(r.stdout.split()) >= {"namespace/default", "namespace/kube-system",
                                     "namespace/kube-public", "namespace/kube-node-lease"}


def test_a_second_up_while_running_changes_nothing(cluster, capsys):
    data_dir, kubeconfig, st = cluster
    assert up(data_dir, kubeconfig, st["port"]) == 0
    assert "already running" in capsys.readouterr().out
    assert state(data_dir) == st
    assert hosts_of(data_dir) == [st["pid"]]


def test_a_crashed_control_plane_comes_back_with_every_object(tmp_path, capsys):
    data_dir, kubeconfig, port = tmp_path / "data", tmp_path / "kubeconfig", free_port()
    assert up(data_dir, kubeconfig, port) == 0
    url, first = state(data_dir)["url"], state(data_dir)["pid"]
    http = session()
    assert http.post(f"{url}/api/v1/namespaces", json={
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "durable"}}).ok
    written = {}
    for i in range(50):
        r = http.post(f"{url}/api/v1/namespaces/durable/configmaps", json={
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"},
            "data": {"i": str(i)}})
        assert r.status_code == 201, r.text
        written[f"cm-{i}"] = r.json()["metadata"]["resourceVersion"]

    # A crash: SIGKILL, no clean shutdown. The stale state.json stays behind.
    assert main(["chaos", "kill", "apiserver", "--data-dir", str(data_dir)]) == 0
    assert not processes.process_alive(first) and hosts_of(data_dir) == []
    assert main(["status", "--data-dir", str(data_dir)]) == 3
    assert "crashed or was killed" in capsys.readouterr().out

    assert up(data_dir, kubeconfig, port) == 0
    assert state(data_dir)["pid"] != first
    items = http.get(f"{url}/api/v1/namespaces/durable/configmaps").json()["items"]
    assert {cm["metadata"]["name"]: cm["metadata"]["resourceVersion"] for cm in items} \
        == written
    assert all(cm["data"] == {"i": cm["metadata"]["name"][3:]} for cm in items)
    # The revision counter goes on from where it was: no resourceVersion is reused.
    r = http.post(f"{url}/api/v1/namespaces/durable/configmaps", json={
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}})
    assert int(r.json()["metadata"]["resourceVersion"]) > max(map(int, written.values()))

    # down: no process left, no context left, the store kept.
    pid = state(data_dir)["pid"]
    assert main(["down", "--data-dir", str(data_dir)]) == 0
    assert not processes.process_alive(pid) and hosts_of(data_dir) == []
    assert not (data_dir / "state.json").exists() and (data_dir / "store.db").exists()
    config = yaml.safe_load(kubeconfig.read_text())
    assert all(c["name"] != "minik8s" for c in config.get("contexts") or [])
    assert main(["status", "--data-dir", str(data_dir)]) == 3


def test_up_on_a_busy_port_fails_clearly_and_starts_nothing(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert up(tmp_path / "data", tmp_path / "kubeconfig", port) == 1
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err
    assert hosts_of(tmp_path / "data") == []
    assert not (tmp_path / "data" / "state.json").exists()
    assert not (tmp_path / "kubeconfig").exists()


def test_a_host_that_cannot_start_is_reported_and_nothing_is_left(tmp_path, capsys):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "store.db").write_bytes(b"this is not a database" * 100)
    assert up(data_dir, tmp_path / "kubeconfig", free_port()) == 1
    err = capsys.readouterr().err
    assert "exited during start-up" in err and "nothing is left running" in err
    assert "not a database" in err                 # the end of the log, shown
    assert hosts_of(data_dir) == [] and not (data_dir / "state.json").exists()
    assert not (tmp_path / "kubeconfig").exists()


@pytest.mark.parametrize("argv, code, message", [
    (["up", "--nodes", "0", "--store", "etcd"], 2, "etcd store is not available yet"),
    (["up", "--nodes", "-1"], 2, "--nodes must be 0 or more"),
    (["up", "--nodes", "0", "--control-plane-replicas", "5"], 2,
     "--control-plane-replicas must be 1, 2 or 3"),
    (["chaos", "kill", "scheduler"], 2, "a thread of the control-plane host"),
    (["chaos", "kill-node", "node-1"], 3, "this cluster has no nodes"),
])
def test_what_cannot_be_done_is_refused_clearly(argv, code, message, tmp_path, capsys):
    assert main([*argv, "--data-dir", str(tmp_path / "data")]) == code
    assert message in capsys.readouterr().err
    assert hosts_of(tmp_path / "data") == []


def test_down_and_status_when_nothing_runs(tmp_path, capsys):
    assert main(["down", "--data-dir", str(tmp_path)]) == 0
    assert "nothing is running" in capsys.readouterr().out
    assert main(["status", "--data-dir", str(tmp_path)]) == 3
    assert main(["chaos", "kill", "apiserver", "--data-dir", str(tmp_path)]) == 3


def test_down_never_signals_a_recycled_pid(tmp_path, capsys):
    # state.json names a live process that is not our host (the pid was reused).
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        (tmp_path / "state.json").write_text(f'{{"pid": {other.pid}, "url": "x"}}')
        assert main(["status", "--data-dir", str(tmp_path)]) == 3
        assert main(["down", "--data-dir", str(tmp_path)]) == 0
        assert "no longer a minik8s control plane" in capsys.readouterr().out
        assert other.poll() is None and not (tmp_path / "state.json").exists()
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()


def test_version():
    assert main(["version"]) == 0


def test_a_host_that_does_not_answer_in_time_is_killed(tmp_path, capsys):
    from minik8s.cluster import bringup
    data_dir, before = tmp_path / "data", set(processes.STARTED)
    assert bringup.up(str(data_dir), free_port(), kubeconfig=str(tmp_path / "kc"),
                      timeout=0) == 1
    assert "did not answer within 0 s; nothing is left running" in capsys.readouterr().err
    assert hosts_of(data_dir) == [] and set(processes.STARTED) == before
    assert not (data_dir / "state.json").exists()


def test_a_kubeconfig_that_cannot_be_written_undoes_the_up(tmp_path, capsys):
    data_dir, kubeconfig = tmp_path / "data", tmp_path / "kubeconfig"
    kubeconfig.mkdir()                             # a directory: merging must fail
    assert up(data_dir, kubeconfig, free_port()) == 1
    err = capsys.readouterr().err
    assert f"could not write the kubeconfig {kubeconfig}" in err
    assert "nothing is left running" in err
    assert hosts_of(data_dir) == [] and not (data_dir / "state.json").exists()


def test_the_host_starts_its_components_after_the_api_and_stops_them_first(tmp_path,
                                                                          monkeypatch):
    from minik8s.cluster import controlplane
    seen = []

    class Scheduler:
        name = "scheduler"

        def stop(self):
            seen.append(("stop", host.httpd is not None))     # the API still serves

    def start_scheduler(api, clock, rng):
        seen.append(("start", api.read("namespaces", "kube-system")["metadata"]["name"]))
        return Scheduler()
    monkeypatch.setattr(controlplane, "COMPONENTS", [start_scheduler])
    host = controlplane.ControlPlaneHost(str(tmp_path), port=0, store="memory")
    host.start()
    st = state(tmp_path)
    assert st["pid"] == os.getpid() and st["port"] == host.httpd.server_address[1] != 0
    assert st["components"] == ["apiserver", "scheduler"] and st["storeFile"] is None
    assert processes.healthy(st["url"])
    host.stop()
    assert seen == [("start", "kube-system"), ("stop", True)]
    assert not processes.healthy(st["url"]) and not (tmp_path / "state.json").exists()


def test_the_host_sends_pod_logs_to_the_pods_kubelet(tmp_path, monkeypatch):
    # No kubelet runs at the Node's address: the answer is kube-apiserver's dial error,
    # which shows the host proxies to kubelets (and is not "no kubelet connection").
    monkeypatch.setattr(controlplane, "COMPONENTS", [])
    host = controlplane.ControlPlaneHost(str(tmp_path), port=0, store="memory")
    host.start()
    try:
        api = host.api
        api.handle(Request("create", "nodes", body={
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": _free_port()}}}}))
        api.handle(Request("create", "pods", namespace="default", body={
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]}}))
        with pytest.raises(errors.APIError) as e:
            api.handle(Request("get", "pods", namespace="default", name="p", subresource="log",
                               params={"container": "c"}))
        assert not isinstance(e.value, errors.ServiceUnavailable)
        assert "127.0.0.1" in e.value.message
    finally:
        host.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_ray_address_fails_clearly_and_leaves_nothing(tmp_path, capsys):
    # ray.init would retry such an address for minutes; `up` asks the port first.
    closed = free_port()                  # nothing listens there
    data_dir = tmp_path / "data"
    assert main(["up", "--nodes", "1", "--address", f"127.0.0.1:{closed}", "--port", "0",
                 "--data-dir", str(data_dir), "--kubeconfig",
                 str(tmp_path / "kubeconfig")]) == 1
    err = capsys.readouterr().err
    assert f"no Ray cluster answers at 127.0.0.1:{closed}" in err
    assert "nothing is left running" in err
    assert hosts_of(data_dir) == [] and not (data_dir / "state.json").exists()
    assert not (data_dir / "ray.json").exists()
    assert not (tmp_path / "kubeconfig").exists()


def test_chaos_when_the_recorded_ray_is_gone_says_so(tmp_path, capsys):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    closed = free_port()
    (data_dir / "ray.json").write_text(f'{{"address": "127.0.0.1:{closed}", "started": false}}')
    assert main(["chaos", "kill-node", "node-1", "--data-dir", str(data_dir)]) == 3
    assert main(["chaos", "kill", "scheduler", "--data-dir", str(data_dir)]) == 3
    err = capsys.readouterr().err
    assert err.count(f"no Ray cluster answers at 127.0.0.1:{closed}") == 2
    assert "Traceback" not in err
