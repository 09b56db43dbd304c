"""The controller-manager: every controller over one set of informers, options handed
to the controllers that take them, leader election on Lease
kube-system/kube-controller-manager, and the LocalCluster that steps it."""
import logging
import random
import threading

import pytest

from minik8s.api.clock import FakeClock
from minik8s.apiserver.server import APIServer
from minik8s.client.inprocess import InProcessClient
from minik8s.cluster.local import LocalCluster
from minik8s.controllers import manager as manager_module
from minik8s.controllers.manager import CONTROLLERS, ControllerManager

NS = "default"


def replicaset(name="web", replicas=2):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}


def test_the_agreed_controller_names():
    assert list(CONTROLLERS) == ["replicaset", "deployment", "garbagecollector", "namespace",
                                 "nodelifecycle", "podgc"]


def test_every_controller_runs_over_one_set_of_informers(client, clock):
    m = ControllerManager(client, clock, random.Random(1))
    assert set(m.controllers) | set(m.failed) == set(CONTROLLERS)
    assert {"replicaset", "deployment"} <= set(m.controllers)
    assert all(c.informers is m.informers for c in m.controllers.values())
    # replicaset and deployment both read pods and replicasets: listed once each.
    assert m["replicaset"].pods is m["deployment"].pods
    client.create(replicaset(), NS)
    m.step()
    assert len(client.list("pods", NS).items) == 2
    sources = {e["source"]["component"] for e in client.list("events", NS).items}
    assert "replicaset-controller" in sources


def test_only_the_named_controllers_run_and_unknown_names_are_refused(client, clock):
    m = ControllerManager(client, clock, random.Random(1), controllers=["replicaset"])
    assert list(m.controllers) == ["replicaset"]
    with pytest.raises(ValueError):
        ControllerManager(client, clock, random.Random(1), controllers=["replicaset", "nope"])


def test_options_go_to_the_controllers_that_take_them(client, clock, caplog):
    lookups = []

    def node_lookup(name):
        lookups.append(name)
        return None
    with caplog.at_level(logging.WARNING, logger="minik8s.controllers.manager"):
        m = ControllerManager(client, clock, random.Random(1), node_lookup=node_lookup,
                              options={"burst_replicas": 7, "no_such_option": 1})
    assert m["replicaset"].burst_replicas == 7
    assert "no_such_option" in caplog.text
    if "nodelifecycle" in m.controllers:
        assert m["nodelifecycle"].node_lookup is node_lookup


def test_a_controller_that_cannot_be_imported_is_only_skipped(client, clock, monkeypatch):
    def broken():
        raise ImportError("no module named minik8s.controllers.podgc")
    monkeypatch.setitem(manager_module.CONTROLLERS, "podgc", broken)
    m = ControllerManager(client, clock, random.Random(1))
    assert "podgc" in m.failed and "podgc" not in m.controllers
    assert "replicaset" in m.controllers
    with pytest.raises(ImportError):           # asked for by name: an error
        ControllerManager(client, clock, random.Random(1), controllers=["podgc"])


def test_only_the_leader_reconciles_and_a_standby_takes_over(client, clock):
    a = ControllerManager(client, clock, random.Random(1), controllers=["replicaset"],
                          leader_elect=True, identity="cm-a")
    b = ControllerManager(client, clock, random.Random(2), controllers=["replicaset"],
                          leader_elect=True, identity="cm-b")
    a.step()
    b.step()
    assert a.is_leader and not b.is_leader
    lease = client.get("leases", "kube-controller-manager", "kube-system")
    assert lease["spec"]["holderIdentity"] == "cm-a"
    client.create(replicaset(replicas=1), NS)
    b.step()
    a.step()
    assert b["replicaset"].reconciles == 0 and a["replicaset"].reconciles >= 1
    assert len(client.list("pods", NS).items) == 1
    # a stops (a crash: no release). After the lease runs out, b takes over and acts.
    clock.advance(16)
    b.step()
    assert b.is_leader and not a.is_leader
    client.scale("replicasets", "web", NS, 2)
    b.step()
    assert b["replicaset"].reconciles >= 1
    assert len(client.list("pods", NS).items) == 2


class StopAfter(FakeClock):
    """A FakeClock whose n-th wait sets the stop event: run() then returns by itself."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def wait(self, event, timeout):
        self.n -= 1
        if self.n <= 0:
            event.set()
        return super().wait(event, timeout)


def test_run_steps_until_stopped_and_releases_the_lease(store):
    clock = StopAfter(3)
    client = InProcessClient(APIServer(store, clock, random.Random(1)))
    client.create(replicaset(replicas=1), NS)
    m = ControllerManager(client, clock, random.Random(1), controllers=["replicaset"],
                          leader_elect=True, identity="cm-a")
    m.run(threading.Event())
    assert len(client.list("pods", NS).items) == 1
    lease = client.get("leases", "kube-controller-manager", "kube-system")
    assert lease["spec"]["holderIdentity"] == ""


def test_local_cluster_rolls_out_a_deployment_end_to_end():
    with LocalCluster(nodes=2, seed=3) as cluster:
        assert cluster.controller_manager is not None
        cluster.client.create({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web",
                                                           "image": "minik8s/hello:v1"}]}}}}, NS)

        def available():
            s = cluster.client.get("deployments", "web", NS).get("status") or {}
            return s.get("availableReplicas") == 3
        cluster.run_until(available, max_steps=200)
        pods = cluster.client.list("pods", NS).items
        assert len(pods) == 3 and all(p["status"]["phase"] == "Running" for p in pods)


def test_local_cluster_without_controllers_leaves_replicasets_alone():
    with LocalCluster(nodes=1, controllers=False) as cluster:
        assert cluster.controller_manager is None
        cluster.client.create(replicaset(), NS)
        for _ in range(5):
            cluster.step()
        assert cluster.client.list("pods", NS).items == []
