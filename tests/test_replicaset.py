"""The ReplicaSet controller, sample-controller style: a seeded state in the API server,
one reconcile through a RecordingClient, and the exact API actions it issued.

No kubelets and no scheduler: pods' nodes and statuses are written by the tests, and
time moves only when a test advances the FakeClock.
"""
import random

import pytest

from minik8s.api.errors import Forbidden
from minik8s.api.meta import rfc3339
from minik8s.client.events import EventRecorder
from minik8s.client.wrappers import FaultClient, RecordingClient
from minik8s.controllers.podutil import pods_to_delete
from minik8s.controllers.replicaset import ReplicaSetController

NS = "default"
LABELS = {"app": "web"}


def make_rs(client, name="web", replicas=3, labels=LABELS, min_ready=0):
    return client.create({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                 "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels),
                                           "annotations": {"note": "from-template"}},
                              "spec": {"containers": [{"name": "web",
                                                       "image": "minik8s/hello:v1"}]}}}}, NS)


def make_pod(client, clock, name, labels=LABELS, owner=None, node=None, phase=None,
             ready=None, restarts=0, annotations=None):
    """A pod as the tests need it; `ready` is the time (epoch s) Ready turned True."""
    meta = {"name": name, "namespace": NS, "labels": dict(labels)}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                    "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"], "controller": True,
                                    "blockOwnerDeletion": True}]
    if annotations:
        meta["annotations"] = annotations
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
           "spec": {"containers": [{"name": "web", "image": "minik8s/hello:v1"}]}}
    if node:
        pod["spec"]["nodeName"] = node
    pod = client.create(pod, NS)
    if phase or ready is not None or restarts:
        pod["status"]["phase"] = phase or "Pending"
        conds = [{"type": "Ready", "status": "True" if ready is not None else "False",
                  "lastTransitionTime": rfc3339(ready if ready is not None else clock.now())}]
        pod["status"]["conditions"] = conds
        pod["status"]["containerStatuses"] = [{"name": "web", "restartCount": restarts,
                                               "ready": ready is not None}]
        pod = client.update_status(pod)
    return pod


@pytest.fixture
def rec(client):
    return RecordingClient(client)


@pytest.fixture
def controller(rec, client, clock):
    """A ReplicaSetController over the recording client; events go straight to the
    API server (not recorded) so actions show only what the controller itself did."""
    def build(over=None):
        c = ReplicaSetController(over or rec, clock, rng=random.Random(1),
                                 recorder=EventRecorder(client, clock, "replicaset-controller"))
        c.informers.step()
        rec.clear()
        return c
    return build


def writes(rec):
    return [(a.verb, a.resource, a.subresource) for a in rec.writes()]


def events(client, reason=None):
    return [e["message"] for e in client.list("events", NS).items
            if reason is None or e["reason"] == reason]


def test_replicaset_creates_missing_pods_from_its_template(client, clock, rec, controller):
    rs = make_rs(client, replicas=3)
    c = controller()
    c.reconcile(f"{NS}/web")
    assert writes(rec) == [("create", "pods", "")] * 3 + [("update", "replicasets", "status")]
    for a in rec.actions_of("create", "pods"):
        meta = a.body["metadata"]
        assert meta["generateName"] == "web-"
        assert meta["labels"] == LABELS
        assert meta["annotations"] == {"note": "from-template"}
        assert meta["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                            "name": "web", "uid": rs["metadata"]["uid"],
                                            "controller": True, "blockOwnerDeletion": True}]
    # Status is computed from what was there before the creations (like Kubernetes).
    status = rec.actions_of("update", "replicasets")[0].body["status"]
    assert status["replicas"] == 0 and status["observedGeneration"] == 1
    names = sorted(p["metadata"]["name"] for p in client.list("pods", NS).items)
    assert len(names) == 3 and all(n.startswith("web-") for n in names)
    assert sorted(events(client, "SuccessfulCreate")) == sorted(f"Created pod: {n}" for n in names)


def test_expectations_hold_back_a_second_create_until_the_pods_are_seen(client, rec, controller):
    make_rs(client, replicas=2)
    c = controller()
    c.reconcile(f"{NS}/web")
    assert len(rec.actions_of("create", "pods")) == 2
    rec.clear()
    c.reconcile(f"{NS}/web")              # the informer has not seen the two pods yet
    assert rec.actions_of("create", "pods") == []
    c.informers.step()                    # now it has: expectations are met
    assert c.expectations.satisfied(f"{NS}/web")
    rec.clear()
    c.reconcile(f"{NS}/web")
    assert rec.actions_of("create", "pods") == []
    assert len(client.list("pods", NS).items) == 2


def test_expectations_expire_so_a_lost_event_cannot_wedge_a_replicaset(client, clock, rec,
                                                                       controller):
    make_rs(client, replicas=1)
    c = controller()
    c.expectations.expect(f"{NS}/web", adds=1)       # a create whose event never comes
    c.reconcile(f"{NS}/web")
    assert rec.actions_of("create", "pods") == []
    clock.advance(301)
    c.reconcile(f"{NS}/web")
    assert len(rec.actions_of("create", "pods")) == 1


def test_failed_creates_stop_the_slow_start_and_are_not_expected(client, clock, controller):
    make_rs(client, replicas=4)
    faults = FaultClient(client)
    rec = RecordingClient(faults)
    c = controller(rec)
    faults.fail_next(1, Forbidden('pods "web-" is forbidden: exceeded quota'),
                     verbs=["create"], resource="pods")
    with pytest.raises(Forbidden):
        c.reconcile(f"{NS}/web")
    # Batch 1 failed: the other three were never attempted, nor are they awaited.
    assert len(rec.actions_of("create", "pods")) == 1
    assert c.expectations.satisfied(f"{NS}/web")
    rs = client.get("replicasets", "web", NS)
    failure = rs["status"]["conditions"][0]
    assert (failure["type"], failure["status"], failure["reason"]) == \
        ("ReplicaFailure", "True", "FailedCreate")
    assert events(client, "FailedCreate") == [
        'Error creating: pods "web-" is forbidden: exceeded quota']
    c.reconcile(f"{NS}/web")             # the next try succeeds and clears the condition
    assert len(client.list("pods", NS).items) == 4
    assert "conditions" not in client.get("replicasets", "web", NS)["status"]


class FailNthCreate(RecordingClient):
    """Fails the n-th pod create (counting from 1), records every call."""

    def __init__(self, inner, n):
        super().__init__(inner)
        self.n, self.seen = n, 0

    def create(self, obj, namespace=None, **kw):
        if obj.get("kind") == "Pod":
            self.seen += 1
            if self.seen == self.n:
                raise Forbidden("no")
        return super().create(obj, namespace, **kw)


def test_slow_start_batches_double_and_stop_after_a_failing_batch(client, controller):
    make_rs(client, replicas=10)
    rec = FailNthCreate(client, 5)           # batches 1, 2, 4, ...: the 5th is in the third
    c = controller(rec)
    with pytest.raises(Forbidden):
        c.reconcile(f"{NS}/web")
    # The batch of four completes (3 made, 1 failed); the batch of three never starts.
    assert rec.seen == 7
    assert len(client.list("pods", NS).items) == 6
    assert c.expectations.pending(f"{NS}/web") == (6, 0)   # only the made ones are awaited


def test_replicaset_deletes_unscheduled_pods_first(client, clock, rec, controller):
    rs = make_rs(client, replicas=2)
    make_pod(client, clock, "running", owner=rs, node="node-1", phase="Running", ready=clock.now())
    make_pod(client, clock, "unscheduled", owner=rs)
    make_pod(client, clock, "pending", owner=rs, node="node-2", phase="Pending")
    uid = client.get("pods", "unscheduled", NS)["metadata"]["uid"]
    c = controller()
    c.reconcile(f"{NS}/web")
    deletes = rec.actions_of("delete", "pods")
    assert [a.name for a in deletes] == ["unscheduled"]
    assert deletes[0].options == {"preconditions": {"uid": uid}}     # by uid, never by name
    assert events(client, "SuccessfulDelete") == ["Deleted pod: unscheduled"]


def test_deletion_order_follows_active_pods_with_ranks(client, clock):
    t0 = clock.now()
    base = dict(client=client, clock=clock)
    pods = {
        "unassigned": make_pod(name="unassigned", **base),
        "pending": make_pod(name="pending", node="n1", phase="Pending", **base),
        "not-ready": make_pod(name="not-ready", node="n1", phase="Running", **base),
        "cheap": make_pod(name="cheap", node="n2", phase="Running", ready=t0 - 4000,
                          annotations={"controller.kubernetes.io/pod-deletion-cost": "-5"}, **base),
        "doubled": make_pod(name="doubled", node="n3", phase="Running", ready=t0 - 4000, **base),
        "young": make_pod(name="young", node="n4", phase="Running", ready=t0 - 10, **base),
        "restarted": make_pod(name="restarted", node="n5", phase="Running", ready=t0 - 4000,
                              restarts=3, **base),
        "old": make_pod(name="old", node="n6", phase="Running", ready=t0 - 4000, **base),
    }
    sibling = make_pod(name="sibling", node="n3", phase="Running", ready=t0, **base)
    related = list(pods.values()) + [sibling]
    order = [p["metadata"]["name"]
             for p in pods_to_delete(list(reversed(pods.values())), related, 7, clock.now())]
    assert order == ["unassigned", "pending", "not-ready", "cheap", "doubled", "young", "restarted"]


def test_adopts_a_matching_orphan_after_a_fresh_read_of_itself(client, clock, rec, controller):
    rs = make_rs(client, replicas=1)
    make_pod(client, clock, "orphan")
    c = controller()
    c.reconcile(f"{NS}/web")
    assert [(a.verb, a.resource, a.name) for a in rec.actions
            if a.resource in ("replicasets", "pods")][:2] == \
        [("get", "replicasets", "web"), ("patch", "pods", "orphan")]
    patch = rec.actions_of("patch", "pods")[0]
    assert patch.options == {"patch_type": "strategic"}
    assert patch.body["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
    assert rec.actions_of("create", "pods") == []        # the orphan fills the one replica
    owner = client.get("pods", "orphan", NS)["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["controller"]) == ("ReplicaSet", True)


def test_relabelled_pod_is_released_and_replaced(client, clock, rec, controller):
    rs = make_rs(client, replicas=1)
    make_pod(client, clock, "quarantined", labels={"app": "debug"}, owner=rs)
    c = controller()
    c.reconcile(f"{NS}/web")
    assert writes(rec) == [("patch", "pods", ""), ("create", "pods", ""),
                           ("update", "replicasets", "status")]
    release = rec.actions_of("patch", "pods")[0].body["metadata"]["ownerReferences"]
    assert release == [{"$patch": "delete", "uid": rs["metadata"]["uid"]}]
    assert not client.get("pods", "quarantined", NS)["metadata"].get("ownerReferences")


def test_pods_owned_by_another_controller_are_never_touched(client, clock, rec, controller):
    make_rs(client, replicas=0)
    other = make_rs(client, name="other", replicas=5, labels={"app": "web", "x": "y"})
    make_pod(client, clock, "theirs", owner=other)
    c = controller()
    c.reconcile(f"{NS}/web")
    assert rec.actions_of("delete", "pods") == [] and rec.actions_of("patch", "pods") == []


def test_available_replicas_wait_for_min_ready_seconds(client, clock, rec, controller):
    rs = make_rs(client, replicas=2, min_ready=10)
    make_pod(client, clock, "a", owner=rs, node="n1", phase="Running", ready=clock.now())
    make_pod(client, clock, "b", owner=rs, node="n2", phase="Running")
    c = controller()
    after = c.reconcile(f"{NS}/web")
    status = client.get("replicasets", "web", NS)["status"]
    assert (status["replicas"], status["readyReplicas"], status.get("availableReplicas", 0)) == \
        (2, 1, 0)
    assert status["fullyLabeledReplicas"] == 2
    assert 10 <= after <= 10.01                 # look again when "a" turns available
    clock.advance(after)
    c.reconcile(f"{NS}/web")
    assert client.get("replicasets", "web", NS)["status"]["availableReplicas"] == 1


def test_status_is_not_rewritten_when_nothing_changed(client, clock, rec, controller):
    rs = make_rs(client, replicas=1)
    make_pod(client, clock, "a", owner=rs, node="n1", phase="Running", ready=clock.now())
    c = controller()
    c.reconcile(f"{NS}/web")
    c.informers.step()
    rec.clear()
    c.reconcile(f"{NS}/web")
    assert rec.writes() == []


def test_a_deleted_replicaset_forgets_its_expectations(client, clock, rec, controller):
    make_rs(client, replicas=1)
    c = controller()
    c.reconcile(f"{NS}/web")
    assert not c.expectations.satisfied(f"{NS}/web")      # one create not yet seen
    client.delete("replicasets", "web", NS)
    c.informers.step()
    assert c.reconcile(f"{NS}/web") is None
    assert c.expectations.pending(f"{NS}/web") == (0, 0)


def test_deletions_are_expected_by_pod_and_seen_once(client, clock, rec, controller):
    rs = make_rs(client, replicas=1)
    for name in ("a", "b", "c"):
        make_pod(client, clock, name, owner=rs, node="n1", phase="Running", ready=clock.now())
    c = controller()
    c.reconcile(f"{NS}/web")
    assert len(rec.actions_of("delete", "pods")) == 2
    assert c.expectations.pending(f"{NS}/web") == (0, 2)
    c.informers.step()                    # both deletions seen (pods go at once: no node)
    assert c.expectations.satisfied(f"{NS}/web")
    rec.clear()
    c.reconcile(f"{NS}/web")
    assert rec.actions_of("delete", "pods") == []


def test_step_reconciles_after_pod_events(client, clock):
    """End to end through step(): handlers enqueue, step reconciles, a deleted pod is
    replaced."""
    make_rs(client, replicas=2)
    c = ReplicaSetController(client, clock)
    c.step()
    c.step()
    pods = client.list("pods", NS).items
    assert len(pods) == 2
    client.delete("pods", pods[0]["metadata"]["name"], NS)
    c.step()
    c.step()
    assert len(client.list("pods", NS).items) == 2
    assert client.get("replicasets", "web", NS)["status"]["replicas"] == 2
