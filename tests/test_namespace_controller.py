"""The namespace controller: a deleted namespace is emptied, then finalized, then gone.

The API server marks the namespace (deletionTimestamp, phase Terminating, the
`kubernetes` finalizer still in spec.finalizers); these tests step the controller under
the fake clock and check what Kubernetes promises: everything inside is deleted, the
namespace waits for what is still terminating and says so in its conditions, and only an
empty namespace is finalized.
"""
from __future__ import annotations

import pytest

from minik8s.api.errors import NotFound
from minik8s.client.inprocess import InProcessClient
from minik8s.client.wrappers import RecordingClient
from minik8s.controllers.namespace import NamespaceController, deletion_conditions

from builders import deployment, pod


def in_ns(obj, ns="team"):
    obj["metadata"]["namespace"] = ns
    return obj


def gone(client, resource, name, ns=None):
    try:
        client.get(resource, name, ns)
    except NotFound:
        return True
    return False


def conditions(ns: dict) -> dict:
    return {c["type"]: c for c in (ns.get("status") or {}).get("conditions") or []}


@pytest.fixture
def team(client):
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    client.create(in_ns({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}))
    client.create(in_ns(deployment("web")))
    client.create(in_ns(pod("unscheduled")))
    return client


def test_a_namespace_that_is_not_being_deleted_is_left_alone(team, clock):
    rec = RecordingClient(team)
    nc = NamespaceController(rec, clock)
    nc.step()
    clock.advance(10)
    nc.step()
    assert rec.writes() == [] and not gone(team, "configmaps", "cfg", "team")


def test_a_deleted_namespace_is_emptied_then_finalized(team, clock):
    rec = RecordingClient(team)
    nc = NamespaceController(rec, clock)
    nc.step()
    team.delete("namespaces", "team")
    nc.step()
    assert rec.writes() == []                  # 5 s for every API server to see the mark
    clock.advance(5)
    nc.step()
    deletes = {(a.resource, a.name): a.options for a in rec.actions_of("delete")}
    assert deletes == {("configmaps", "cfg"): {"propagation_policy": "Background"},
                       ("deployments", "web"): {"propagation_policy": "Background"},
                       ("pods", "unscheduled"): {"propagation_policy": "Background"}}
    assert gone(team, "namespaces", "team")


def test_content_with_finalizers_holds_the_namespace_and_is_reported(team, clock):
    team.patch("configmaps", "cfg", {"metadata": {"finalizers": ["example.com/keep"]}}, "team")
    nc = NamespaceController(team, clock, deletion_grace_period=0)
    nc.step()
    team.delete("namespaces", "team")
    assert nc.step() == pytest.approx(15)      # finalizers get the default estimate
    ns = team.get("namespaces", "team")
    assert ns["status"]["phase"] == "Terminating"
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    cond = conditions(ns)
    assert (cond["NamespaceContentRemaining"]["status"],
            cond["NamespaceContentRemaining"]["reason"],
            cond["NamespaceContentRemaining"]["message"]) == (
        "True", "SomeResourcesRemain", "Some resources are remaining: configmaps. has 1 "
        "resource instances")
    assert cond["NamespaceFinalizersRemaining"]["message"] == \
        "Some content in the namespace has finalizers remaining: example.com/keep in 1 " \
        "resource instances"
    assert (cond["NamespaceDeletionContentFailure"]["status"],
            cond["NamespaceDeletionContentFailure"]["reason"]) == ("False", "ContentDeleted")
    assert gone(team, "deployments", "web", "team")
    # Its controller finishes: the namespace goes at the next look.
    team.patch("configmaps", "cfg", {"metadata": {"finalizers": None}}, "team")
    clock.advance(15)
    nc.step()
    assert gone(team, "namespaces", "team")


def test_bound_pods_hold_the_namespace_for_their_grace_period(team, clock):
    team.create(in_ns(pod("running", node="node-1")))
    nc = NamespaceController(team, clock, deletion_grace_period=0)
    nc.step()
    team.delete("namespaces", "team")
    assert nc.step() == pytest.approx(30)      # terminationGracePeriodSeconds
    running = team.get("pods", "running", "team")
    assert running["metadata"]["deletionTimestamp"]     # Terminating: its kubelet stops it
    assert not gone(team, "namespaces", "team")
    team.delete("pods", "running", "team", grace_period_seconds=0)   # ...the kubelet's final delete
    clock.advance(30)
    nc.step()
    assert gone(team, "namespaces", "team")


def test_a_pod_still_there_after_its_grace_period_is_a_content_failure(team, clock):
    team.create(in_ns(pod("stuck", node="dead-node")))
    nc = NamespaceController(team, clock, deletion_grace_period=0)
    nc.step()
    team.delete("namespaces", "team")
    nc.step()
    clock.advance(31)                          # its grace is over and no kubelet finished it
    nc.step()
    cond = conditions(team.get("namespaces", "team"))
    assert cond["NamespaceDeletionContentFailure"]["status"] == "True"
    assert cond["NamespaceDeletionContentFailure"]["message"] == (
        "Failed to delete all resource types, 1 remaining: unexpected items still remain in "
        "namespace: team for gvr: /v1, Resource=pods")
    assert nc.queue.num_requeues("team") == 1  # retried with backoff, at most a minute apart


def test_condition_transition_times_move_only_with_the_status():
    first = deletion_conditions([], [], {"pods.": 2}, {}, "2026-01-01T00:00:00Z")
    again = deletion_conditions(first, [], {"pods.": 1}, {}, "2026-01-01T00:00:10Z")
    by_type = {c["type"]: c for c in again}
    assert by_type["NamespaceContentRemaining"]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert by_type["NamespaceContentRemaining"]["message"] == \
        "Some resources are remaining: pods. has 1 resource instances"
    done = {c["type"]: c for c in deletion_conditions(again, [], {}, {}, "2026-01-01T00:00:20Z")}
    assert (done["NamespaceContentRemaining"]["status"],
            done["NamespaceContentRemaining"]["reason"],
            done["NamespaceContentRemaining"]["lastTransitionTime"]) == (
        "False", "ContentRemoved", "2026-01-01T00:00:20Z")


def test_kubectl_delete_namespace_returns_once_the_controller_emptied_it(kubectl, http_server):
    """The session a student types: `kubectl delete namespace` waits until the namespace
    is really gone, which takes the namespace controller (here over HTTP, on a thread)."""
    import threading

    from minik8s.api.clock import RealClock
    from minik8s.client.http import HTTPClient
    setup = InProcessClient(http_server.api)
    setup.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns-ctl"}})
    setup.create(in_ns({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}},
                       "ns-ctl"))
    with HTTPClient(http_server.url) as http:
        nc = NamespaceController(http, RealClock(), deletion_grace_period=0)
        stop = threading.Event()
        worker = threading.Thread(target=nc.run, args=(stop, 0.05), daemon=True)
        worker.start()
        try:
            result = kubectl("delete", "namespace", "ns-ctl", "--timeout=20s")
        finally:
            stop.set()
            worker.join(5)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'namespace "ns-ctl" deleted'
    assert gone(setup, "namespaces", "ns-ctl") and gone(setup, "configmaps", "cfg", "ns-ctl")
