"""End to end: a simulated-runtime cluster on Ray, brought up by the `minik8s` command.

`minik8s up --runtime simulated --nodes 30 --control-plane-replicas 2 --address <head>`
runs as a child process that exits (the cluster must survive the shell that started
it); the nodes live as kubelets inside a host actor, the schedulers as two
leader-elected actors. Checks: batched handles (kill one hosted node: only it dies;
pause/resume), the HA pair (one leader; killing it hands over), `down`.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from e2e import wait_for
from minik8s.cluster import bringup, rayhead, raynodes

NODES = 30


@pytest.fixture(scope="module")
def sim(ray_address, tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    data = str(root / "data")
    env = dict(os.environ, KUBECONFIG=str(root / "kubeconfig"))
    out = subprocess.run(
        [sys.executable, "-m", "minik8s.cli.main", "up", "--nodes", str(NODES), "--runtime",
         "simulated", "--control-plane-replicas", "2", "--address", ray_address,
         "--port", "0", "--data-dir", data], capture_output=True, text=True, env=env,
        timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"all {NODES} nodes Ready" in out.stdout and "Ready (" in out.stdout
    rayhead.connect(ray_address)
    yield data, rayhead.namespace_for(os.path.abspath(data)), out.stdout
    bringup.down(data)


def _client(data):
    from minik8s.client.http import HTTPClient
    from minik8s.cluster.processes import read_json
    return HTTPClient(read_json(os.path.join(data, "state.json"))["url"], timeout=10)


def test_the_cluster_outlives_the_command_that_started_it(sim):
    data, ns, _ = sim
    names = raynodes.named_actors(ns)
    assert "nodehost-0" in names and "scheduler-0" in names and "scheduler-1" in names
    assert not any(n.startswith("node-") for n in names)         # no actor per node
    nodes = _client(data).list("nodes").items
    assert len(nodes) == NODES
    assert all(n["metadata"]["labels"].get(raynodes.RAY_NODE_LABEL) for n in nodes)


def test_pods_run_on_simulated_nodes(sim):
    data, _, _ = sim
    client = _client(data)
    for i in range(5):
        client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}"},
                       "spec": {"containers": [{"name": "c", "image": "minik8s/hello:v1"}]}},
                      "default")
    wait_for(lambda: all((client.get("pods", f"p{i}", "default").get("status") or {})
                         .get("phase") == "Running" for i in range(5)), 20, "5 pods Running")


def test_killing_one_hosted_node_kills_that_node_only(sim):
    data, ns, _ = sim
    lookup = raynodes.RayNodeLookup(ns, refresh=0.0)
    victim, other = lookup("node-7"), lookup("node-8")
    assert victim.hosted and victim.actor._actor_id == other.actor._actor_id
    states = raynodes.ping_many({n: lookup(n) for n in ("node-7", "node-8", "node-9")}, 5)
    assert set(states.values()) == {"Alive"}
    assert bringup.chaos_kill_node(data, "node-7") == 0
    assert victim.ping(5) == "Dead"
    assert other.ping(5) == "Alive"
    assert victim.running_pods() == []


def test_pause_makes_a_node_hung_until_resumed(sim):
    _, ns, _ = sim
    handle = raynodes.RayNodeLookup(ns, refresh=0.0)("node-3")
    handle.pause()
    assert handle.ping(5) == "Hung"
    handle.resume()
    assert handle.ping(5) == "Alive"


def _leaders(ns):
    infos = {n: raynodes.call(raynodes.get_actor(n, ns), "info")
             for n in ("scheduler-0", "scheduler-1")}
    return [n for n, i in infos.items() if i["leader"]], infos


def test_two_schedulers_one_leader_and_a_handover(sim, capsys):
    data, ns, _ = sim
    leaders, _ = wait_for(lambda: (r := _leaders(ns)) and len(r[0]) == 1 and r, 20,
                          "exactly one scheduler leader")
    assert bringup.chaos_kill(data, "scheduler") == 0
    assert f"killed {leaders[0]}" in capsys.readouterr().out
    # Either replica may lead afterwards (the restarted one keeps its identity), but
    # never both, and pods still get scheduled.
    wait_for(lambda: len(_leaders(ns)[0]) == 1, 30, "one leader again")
    client = _client(data)
    client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "after"},
                   "spec": {"containers": [{"name": "c", "image": "minik8s/hello:v1"}]}},
                  "default")
    wait_for(lambda: client.get("pods", "after", "default")["spec"].get("nodeName"), 30,
             "the pod to be scheduled after the handover")


def test_down_removes_every_actor(sim):
    data, ns, _ = sim
    assert bringup.down(data) == 0
    assert raynodes.named_actors(ns) == []
