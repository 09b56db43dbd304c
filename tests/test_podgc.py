"""Pod GC: the pods no kubelet will ever finish are force-deleted; the others are not.

Pods are bound by the test (no kubelet runs), nodes are plain Node objects; the
controller's pass is stepped under the fake clock.
"""
from __future__ import annotations

import pytest

from minik8s.client.wrappers import FaultClient, RecordingClient
from minik8s.controllers.podgc import PodGCController, terminated_to_delete

from builders import pod


def add_node(client, name, ready="True", taints=None):
    client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                   "spec": {"taints": taints or []}})
    node = client.get("nodes", name)
    node["status"] = {"conditions": [{"type": "Ready", "status": ready}]}
    client.update_status(node)


def add_pod(client, name, node=None, phase=None):
    p = pod(name)
    p["metadata"]["namespace"] = "default"
    client.create(p)
    if node:
        client.bind("default", name, node)
    if phase:
        current = client.get("pods", name, "default")
        current["status"]["phase"] = phase
        client.update_status(current)
    return client.get("pods", name, "default")


def names(client):
    return sorted(p["metadata"]["name"] for p in client.list("pods", "default").items)


def test_pods_of_a_deleted_node_are_failed_and_force_deleted_after_the_quarantine(client, clock):
    add_node(client, "n1")
    add_node(client, "n2")
    orphan = add_pod(client, "orphan", "n1")
    add_pod(client, "fine", "n2")
    rec = RecordingClient(client)
    gc = PodGCController(rec, clock)
    client.delete("nodes", "n1")
    gc.step()
    assert rec.writes() == [] and names(client) == ["fine", "orphan"]   # quarantined
    clock.advance(40)
    rec.clear()
    gc.step()
    got = [(a.verb, a.resource, a.name, a.subresource) for a in rec.actions
           if a.verb not in ("list", "watch")]
    assert got == [("get", "nodes", "n1", ""),                       # really gone?
                   ("patch", "pods", "orphan", "status"),
                   ("delete", "pods", "orphan", "")]
    status = rec.actions[-2].body["status"]
    assert status["phase"] == "Failed"
    assert [(c["type"], c["status"], c["reason"], c["message"]) for c in status["conditions"]
            if c["type"] == "DisruptionTarget"] == [
        ("DisruptionTarget", "True", "DeletionByPodGC", "PodGC: node no longer exists")]
    assert rec.actions[-1].options == {"grace_period_seconds": 0,
                                       "preconditions": {"uid": orphan["metadata"]["uid"]}}
    assert names(client) == ["fine"]


def test_a_node_missing_only_from_a_lagging_cache_is_not_believed_gone(client, clock):
    add_pod(client, "early", "n1")                      # bound before its Node registered
    lagging = FaultClient(client)
    gc = PodGCController(lagging, clock)
    gc.step()
    lagging.hold_watches()                              # the informers fall behind...
    add_node(client, "n1")                              # ...and miss the Node
    clock.advance(40)
    gc.step()
    assert "n1" not in {n["metadata"]["name"] for n in gc.nodes.list()}
    assert names(client) == ["early"]                   # the live GET found it


def test_terminating_pods_on_an_out_of_service_node_are_force_deleted(client, clock):
    oos = [{"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown",
            "effect": "NoExecute"}]
    add_node(client, "down", ready="Unknown", taints=oos)
    add_node(client, "partitioned", ready="Unknown")
    for name, node in (("a", "down"), ("b", "partitioned")):
        add_pod(client, name, node)
        client.delete("pods", name, "default")          # graceful: Terminating
    add_pod(client, "c", "down")                        # not terminating: left alone
    gc = PodGCController(client, clock)
    gc.step()
    # A partition may still run the containers: that pod stays Terminating.
    assert names(client) == ["b", "c"]
    assert client.get("pods", "b", "default")["metadata"]["deletionTimestamp"]


def test_unscheduled_terminating_pods_are_deleted(client, clock):
    p = pod("held")
    p["metadata"].update(namespace="default", finalizers=["example.com/x"])
    client.create(p)
    client.delete("pods", "held", "default")            # held by its finalizer
    rec = RecordingClient(client)
    gc = PodGCController(rec, clock)
    gc.step()
    assert [(a.verb, a.name, a.options) for a in rec.actions_of("delete")] == [
        ("delete", "held", {"grace_period_seconds": 0,
                            "preconditions": {"uid": client.get("pods", "held", "default")[
                                "metadata"]["uid"]}})]


def test_terminated_pods_beyond_the_threshold_go_oldest_first(client, clock):
    add_node(client, "n1")
    for i in range(4):
        add_pod(client, f"done-{i}", "n1", phase="Succeeded")
        clock.advance(1)
    add_pod(client, "evicted", "n1", phase="Failed")
    current = client.get("pods", "evicted", "default")
    current["status"]["reason"] = "Evicted"
    client.update_status(current)
    add_pod(client, "running", "n1", phase="Running")
    gc = PodGCController(client, clock, terminated_pod_gc_threshold=2)
    gc.step()
    # Evicted pods first, then by creationTimestamp; running pods never count.
    assert names(client) == ["done-2", "done-3", "running"]
    gc2 = PodGCController(client, clock, terminated_pod_gc_threshold=0)   # 0 = disabled
    gc2.step()
    assert names(client) == ["done-2", "done-3", "running"]


def test_the_pass_repeats_every_gc_check_period(client, clock):
    gc = PodGCController(client, clock, gc_check_period=20, terminated_pod_gc_threshold=1)
    assert gc.step() == pytest.approx(20)
    add_pod(client, "old", phase="Succeeded")
    clock.advance(1)
    add_pod(client, "new", phase="Succeeded")
    gc.step()
    assert names(client) == ["new", "old"]              # not before the next pass
    clock.advance(19)
    gc.step()
    assert names(client) == ["new"]


def test_terminated_to_delete_keeps_the_newest():
    def p(name, ts, phase="Succeeded"):
        return {"metadata": {"name": name, "creationTimestamp": ts}, "status": {"phase": phase}}
    pods = [p("new", "2026-01-03T00:00:00Z"), p("old", "2026-01-01T00:00:00Z"),
            p("mid", "2026-01-02T00:00:00Z"), p("live", "2026-01-01T00:00:00Z", "Running")]
    assert [x["metadata"]["name"] for x in terminated_to_delete(pods, 1)] == ["old", "mid"]
    assert terminated_to_delete(pods, 3) == []
