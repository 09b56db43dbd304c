"""The insides of node actors, without Ray: NodeAgent (one node) and NodeHost (many
simulated nodes sharing one pod informer), over an in-process API server under a
real clock. Conditions are waited on with deadlines, never by fixed sleeps."""
from __future__ import annotations

import random

import pytest

from e2e import wait_for
from minik8s.api import errors
from minik8s.api.clock import RealClock
from minik8s.apiserver.server import APIServer
from minik8s.client.inprocess import InProcessClient
from minik8s.client.wrappers import FaultClient
from minik8s.cluster.nodeagent import NodeAgent, NodeHost, _backoff
from minik8s.store.memory import MemoryStore


@pytest.fixture
def api():
    store = MemoryStore()
    yield APIServer(store, RealClock(), random.Random(3))
    store.close()


def pod(name, node):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox",
                                                       "command": ["sleep", "60"]}]}}


def phase(client, name):
    return (client.get("pods", name, "default").get("status") or {}).get("phase")


def test_a_host_runs_each_nodes_pods_and_kills_one_node_only(api):
    client = InProcessClient(api)
    host = NodeHost("unused", client=client, heartbeat_period=1)
    try:
        host.add(["n1", "n2", "n3"])
        wait_for(lambda: host.ready() == 3, 10, "three registered nodes")
        assert sorted(n["metadata"]["name"] for n in client.list("nodes").items) == \
            ["n1", "n2", "n3"]
        for name, node in (("a", "n1"), ("b", "n2"), ("c", "n2")):
            client.create(pod(name, node), "default")
        wait_for(lambda: all(phase(client, p) == "Running" for p in "abc"), 10, "Running")
        # One shared watch: each kubelet saw only its own node's pods.
        assert [p[1] for p in host.running_pods("n2")] == ["b", "c"]
        assert [p[1] for p in host.running_pods("n1")] == ["a"]
        host.kill("n2")
        assert host.ping() == {"n1": "Alive", "n2": "Dead", "n3": "Alive"}
        assert host.running_pods("n2") == []
        host.pause("n3")
        assert host.ping(["n3", "nope"]) == {"n3": "Hung", "nope": "Dead"}
        host.resume("n3")
        client.create(pod("d", "n1"), "default")     # the others keep working
        wait_for(lambda: phase(client, "d") == "Running", 10, "a new pod on n1")
    finally:
        host.shutdown()


def test_an_agent_keeps_trying_while_the_api_server_is_away(api):
    faulty = FaultClient(InProcessClient(api))
    agent = NodeAgent("solo", "unused", root_dir="/unused", runtime="simulated",
                      client=faulty, heartbeat_period=0.2, serve=False)
    try:
        wait_for(agent.ready, 10, "registration")
        lease = lambda: faulty.get("leases", "solo", "kube-node-lease")["spec"]["renewTime"]
        # The API server goes away: every call fails as a refused connection would.
        faulty.fail_randomly(1.0, errors.ServiceUnavailable("connection refused"))
        wait_for(lambda: faulty.injected >= 5, 10, "the kubelet to keep trying")
        assert agent.ping() == "Alive"            # the loop did not die
        seen = InProcessClient(api).get("leases", "solo", "kube-node-lease")["spec"]["renewTime"]
        faulty.clear_faults()
        wait_for(lambda: lease() != seen, 10, "a renewal after the API came back")
        assert agent.failures == 0
    finally:
        agent.shutdown()
    assert agent.ping() == "Dead"


def test_backoff_grows_and_is_capped():
    delays = [_backoff(n) for n in range(1, 10)]
    assert delays == sorted(delays) and delays[0] == 0.2 and max(delays) == 2.0
