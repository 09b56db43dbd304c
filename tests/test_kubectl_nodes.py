"""kubectl cordon / uncordon / drain, and a lost node, as the real kubectl 1.32 sees them.

The session's HTTP API server (tests/conftest.py) runs no kubelet and no controller:
each test creates its own Node objects (labelled, so the node lifecycle controller it
steps sees only those nodes, not the other tests' ones) and, where the story needs
it, steps a NodeLifecycleController over the same server in-process.
"""
from __future__ import annotations

import pytest

from minik8s.api.clock import RealClock
from minik8s.api.errors import AlreadyExists, NotFound
from minik8s.api.registry import REGISTRY
from minik8s.client.inprocess import InProcessClient
from minik8s.controllers.nodelifecycle import NodeLifecycleController
from minik8s.node.nodestatus import node_conditions

NS = "kubectl-nodes"
SCOPE = "minik8s.test/kubectl-nodes"


def ok(result) -> str:
    assert result.returncode == 0, f"rc={result.returncode}\n{result.stderr}"
    return result.stdout


class Scoped:
    """The shared server, with node lists and watches limited to one test's nodes."""

    def __init__(self, inner, scope):
        self.inner, self.selector = inner, f"{SCOPE}={scope}"

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def _scope(self, resource, kw):
        if REGISTRY.lookup(resource).plural == "nodes":
            kw["label_selector"] = self.selector
        return kw

    def list(self, resource, namespace=None, **kw):
        return self.inner.list(resource, namespace, **self._scope(resource, kw))

    def watch(self, resource, namespace=None, **kw):
        return self.inner.watch(resource, namespace, **self._scope(resource, kw))


@pytest.fixture(scope="module")
def api(http_server):
    client = InProcessClient(http_server.api)
    try:
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    except AlreadyExists:
        pass
    return client


def add_node(api, name):
    api.create({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {SCOPE: name}}})
    node = api.get("nodes", name)
    now = RealClock().now()
    node["status"] = {"conditions": node_conditions([], now, now)}
    api.update_status(node)


def add_pod(api, name, node, owner=None):
    meta = {"name": name, "namespace": NS}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"], "controller": True}]
    api.create({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}})


def taint_keys(api, name):
    return {(t["key"], t["effect"]) for t in api.get("nodes", name)["spec"].get("taints") or []}


def test_cordon_and_uncordon(kubectl, api):
    add_node(api, "kn-cordon")
    nlc = NodeLifecycleController(Scoped(api, "kn-cordon"), RealClock())
    nlc.step()
    assert ok(kubectl("cordon", "kn-cordon")).strip() == "node/kn-cordon cordoned"
    assert api.get("nodes", "kn-cordon")["spec"]["unschedulable"] is True
    row = ok(kubectl("get", "node", "kn-cordon", "--no-headers")).split()
    assert row[:2] == ["kn-cordon", "Ready,SchedulingDisabled"]
    nlc.step()
    assert taint_keys(api, "kn-cordon") == {("node.kubernetes.io/unschedulable", "NoSchedule")}
    assert ok(kubectl("cordon", "kn-cordon")).strip() == "node/kn-cordon already cordoned"
    assert ok(kubectl("uncordon", "kn-cordon")).strip() == "node/kn-cordon uncordoned"
    nlc.step()
    assert taint_keys(api, "kn-cordon") == set()
    assert ok(kubectl("get", "node", "kn-cordon", "--no-headers")).split()[1] == "Ready"


def test_drain_refuses_unmanaged_and_daemonset_pods_without_the_flags(kubectl, api):
    add_node(api, "kn-refuse")
    add_pod(api, "bare-refuse", "kn-refuse")
    result = kubectl("drain", "kn-refuse", "--timeout=10s")
    assert result.returncode != 0
    assert "cannot delete Pods that declare no controller (use --force to override): " \
        f"{NS}/bare-refuse" in result.stderr
    assert api.get("pods", "bare-refuse", NS)          # nothing was evicted
    assert api.get("nodes", "kn-refuse")["spec"]["unschedulable"] is True   # but cordoned


def test_drain_evicts_through_the_eviction_subresource(kubectl, api):
    add_node(api, "kn-drain")
    rs = api.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                     "metadata": {"name": "web", "namespace": NS},
                     "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                              "template": {"metadata": {"labels": {"app": "web"}},
                                           "spec": {"containers": [{"name": "c",
                                                                    "image": "busybox"}]}}}})
    ds = api.create({"apiVersion": "apps/v1", "kind": "DaemonSet",
                     "metadata": {"name": "agent", "namespace": NS},
                     "spec": {"selector": {"matchLabels": {"app": "agent"}},
                              "template": {"metadata": {"labels": {"app": "agent"}},
                                           "spec": {"containers": [{"name": "c",
                                                                    "image": "busybox"}]}}}})
    add_pod(api, "web-abcde", "kn-drain", rs)
    add_pod(api, "agent-xyz", "kn-drain", ds)
    add_pod(api, "bare", "kn-drain")
    refused = kubectl("drain", "kn-drain", "--force", "--timeout=10s")
    assert refused.returncode != 0
    assert "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): " \
        f"{NS}/agent-xyz" in refused.stderr
    result = kubectl("drain", "kn-drain", "--force", "--ignore-daemonsets",
                     "--grace-period=0", "--timeout=20s", "-v=6")
    out = ok(result)
    assert "node/kn-drain drained" in out
    assert f"evicting pod {NS}/web-abcde" in out and f"evicting pod {NS}/bare" in out
    for name in ("web-abcde", "bare"):
        assert f"/api/v1/namespaces/{NS}/pods/{name}/eviction 201" in result.stderr
        with pytest.raises(NotFound):
            api.get("pods", name, NS)
    assert api.get("pods", "agent-xyz", NS)            # DaemonSet pods stay
    assert api.get("nodes", "kn-drain")["spec"]["unschedulable"] is True


def test_a_lost_node_shows_not_ready_and_its_taints(kubectl, api):
    add_node(api, "kn-lost")
    # Grace 0: a node is lost as soon as it is seen (no kubelet renews anything here).
    nlc = NodeLifecycleController(Scoped(api, "kn-lost"), RealClock(),
                                  node_monitor_grace_period=0)
    nlc.step()
    nlc.step()
    row = ok(kubectl("get", "node", "kn-lost", "--no-headers")).split()
    assert row[1] == "NotReady"
    described = ok(kubectl("describe", "node", "kn-lost"))
    assert "node.kubernetes.io/unreachable:NoSchedule" in described
    assert "NodeStatusUnknown" in described and "Kubelet stopped posting node status." in described
