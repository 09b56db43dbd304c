"""Shared fixtures: an API server pipeline over an in-memory store, under a fake clock.

Everything here is deterministic: a FakeClock that moves only when a test advances
it, and a random.Random with a fixed seed, so objects (uids, names, ClusterIPs,
timestamps) are the same on every run.
"""
import os
import random

import pytest
from hypothesis import HealthCheck, settings

# Profiles of the cluster property tests (tests/test_property_cluster.py): "ci" is
# derandomized and bounded (CI's budget), "thorough" searches for real. Choose with
# MINIK8S_HYPOTHESIS_PROFILE=thorough or pytest --hypothesis-profile=thorough.
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", derandomize=True, max_examples=6, stateful_step_count=14,
                          deadline=None, database=None, suppress_health_check=_HEALTH,
                          print_blob=False)
settings.register_profile("thorough", max_examples=2000, stateful_step_count=40,
                          deadline=None, suppress_health_check=_HEALTH)

from minik8s.api.clock import FakeClock
from minik8s.apiserver.server import APIServer
from minik8s.client.inprocess import InProcessClient
from minik8s.store.memory import MemoryStore


@pytest.fixture
def quiet_logs():
    """Silence warnings for a test (injected faults log warnings by design)."""
    import logging
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store():
    s = MemoryStore()
    yield s
    s.close()


@pytest.fixture
def api(store, clock):
    return APIServer(store, clock, random.Random(42))


@pytest.fixture
def client(api):
    return InProcessClient(api)


# --- a real HTTP API server, for kubectl and the official Python client ------------

@pytest.fixture(scope="session")
def http_server(tmp_path_factory):
    """One API server over HTTP for the session (RealClock, in-memory store), serving
    on a free loopback port. Tests share it: each uses its own namespace or names."""
    from minik8s.api.clock import RealClock
    from minik8s.apiserver.http import serve
    api = APIServer(MemoryStore(), RealClock(), random.Random(7))
    httpd = serve(api, "127.0.0.1", 0)
    yield httpd
    httpd.stopping.set()
    httpd.shutdown()


@pytest.fixture(scope="session")
def kubeconfig(http_server, tmp_path_factory):
    """A kubeconfig file pointing at http_server, context `minik8s`."""
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: minik8s\n"
        f"clusters: [{{name: minik8s, cluster: {{server: '{http_server.url}'}}}}]\n"
        "users: [{name: minik8s, user: {}}]\n"
        "contexts: [{name: minik8s, context: {cluster: minik8s, user: minik8s, namespace: default}}]\n")
    return str(path)


@pytest.fixture(scope="session")
def kubectl(kubeconfig, tmp_path_factory):
    """Run the real kubectl against http_server: kubectl("get", "pods", "-n", "x") ->
    CompletedProcess (text). A private discovery cache so no stale cache interferes."""
    import shutil
    import subprocess
    exe = shutil.which("kubectl")
    if exe is None:
        pytest.skip("kubectl is not installed")
    cache = tmp_path_factory.mktemp("kubecache")
    env = dict(os.environ, HOME=str(cache), KUBECONFIG=kubeconfig)

    def run(*args, input=None, timeout=30):
        return subprocess.run([exe, f"--cache-dir={cache}", *args], input=input, text=True,
                              capture_output=True, env=env, timeout=timeout)
    return run


# === issue 5: the in-process cluster harness (minik8s.cluster.local) =================

@pytest.fixture
def local_cluster():
    """A 3-node cluster in this process: the API pipeline, the scheduler and three
    kubelets on the simulated runtime, under a FakeClock, seed 0. Step it with
    `local_cluster.step()` / `run_until(predicate)`; closed after the test."""
    from minik8s.cluster.local import LocalCluster
    cluster = LocalCluster(nodes=3, seed=0)
    yield cluster
    cluster.close()

# === end of issue 5's harness section ==================================================


# === issue 6: one private Ray head per test session, clusters brought up on it =========

@pytest.fixture(scope="session")
def ray_address(tmp_path_factory):
    """The address of a private Ray cluster started once for the whole test run: a head
    and one more Ray node (a second "machine" on this one, so node actors really
    spread), ≈ 4 s. End-to-end tests bring clusters up on it with `minik8s up
    --address`, which saves a head per cluster. Stopped by process group at the end
    (never `ray stop`)."""
    from minik8s.api.clock import RealClock
    from minik8s.cluster import rayhead
    clock = RealClock()
    logs = tmp_path_factory.mktemp("ray")
    head = rayhead.start_head(str(logs / "head.log"), clock)
    try:
        worker = rayhead.start_worker(head["address"], str(logs / "worker.log"), clock)
    except BaseException:
        rayhead.stop_head(head, clock)
        raise
    import ray
    rayhead.connect(head["address"])
    deadline = clock.monotonic() + 30
    while sum(1 for n in ray.nodes() if n.get("Alive")) < 2:
        assert clock.monotonic() < deadline, "the second Ray node did not join"
        clock.sleep(0.1)
    yield head["address"]
    rayhead.disconnect()
    rayhead.stop_head(worker, clock, timeout=0.5)      # no actors left: no need to drain
    rayhead.stop_head(head, clock, timeout=0.5)


@pytest.fixture(scope="module")
def ray_cluster(ray_address, tmp_path_factory, request):
    """`minik8s up --nodes 3 --address <session head>` for one test module (override the
    arguments with `@pytest.mark.cluster_args(nodes=..., runtime=...)` on the module:
    `pytestmark = pytest.mark.cluster_args(...)`). Yields a tests.e2e.E2ECluster; `down`
    at the end of the module."""
    from e2e import E2ECluster
    marker = request.node.get_closest_marker("cluster_args")
    kwargs = dict(marker.kwargs) if marker else {}
    cluster = E2ECluster(tmp_path_factory.mktemp("cluster"), ray_address, **kwargs)
    yield cluster
    cluster.down()

# === end of issue 6's section ===========================================================
