"""The Deployment controller, sample-controller style: a seeded state (a Deployment and
the ReplicaSets it owns, their statuses written by the test as the ReplicaSet
controller would), one reconcile through a RecordingClient, and the exact API actions.
Plus the pure decisions underneath (pod-template-hash, rollout steps, proportional
scaling) as tables."""
import copy
import random

import pytest

from minik8s.api.defaults import apply_defaults
from minik8s.api.errors import AlreadyExists
from minik8s.client.events import EventRecorder
from minik8s.client.wrappers import RecordingClient
from minik8s.controllers import deployutil as du
from minik8s.controllers.deployment import DeploymentController
from minik8s.controllers.rollout import Scale, proportional_scale, rolling_update_step

NS = "default"
KEY = f"{NS}/web"
LABELS = {"app": "web"}


def make_deployment(client, replicas=3, surge=1, unavailable=0, image="minik8s/hello:v1",
                    **spec):
    strategy = ({"type": "Recreate"} if surge is None else
                {"type": "RollingUpdate",
                 "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
    return client.create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(LABELS)},
                 "strategy": strategy,
                 "template": {"metadata": {"labels": dict(LABELS)},
                              "spec": {"containers": [{"name": "web", "image": image}]}},
                 **spec}}, NS)


def make_rs(client, clock, d, image, replicas, revision, available=None):
    """A ReplicaSet as the Deployment controller would have made it for `image`, with
    the status the ReplicaSet controller would report (`available` of `replicas`)."""
    template = copy.deepcopy(d["spec"]["template"])
    template["spec"]["containers"][0]["image"] = image
    pth = du.pod_template_hash(template)
    template["metadata"]["labels"][du.POD_TEMPLATE_HASH] = pth
    rs = client.create({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"web-{pth}", "namespace": NS,
                     "labels": dict(template["metadata"]["labels"]),
                     "annotations": {du.REVISION: str(revision),
                                     du.DESIRED_REPLICAS: str(d["spec"]["replicas"]),
                                     du.MAX_REPLICAS: str(d["spec"]["replicas"] + 1)},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                          "name": "web", "uid": d["metadata"]["uid"],
                                          "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(template["metadata"]["labels"])},
                 "template": template}}, NS)
    clock.advance(1)                       # ReplicaSets made later are newer
    return set_rs_status(client, rs["metadata"]["name"], replicas,
                         replicas if available is None else available)


def set_rs_status(client, name, replicas, available):
    rs = client.get("replicasets", name, NS)
    rs["status"] = {"replicas": replicas, "readyReplicas": available,
                    "availableReplicas": available, "fullyLabeledReplicas": replicas,
                    "observedGeneration": rs["metadata"]["generation"]}
    return client.update_status(rs)


def set_image(client, image):
    return client.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": image}]}}}}, NS, patch_type="strategic")


@pytest.fixture
def rec(client):
    return RecordingClient(client)


@pytest.fixture
def sync(rec, client, clock):
    """sync() -> one reconcile of default/web by a fresh controller over the recorded
    client (its caches filled first); returns what reconcile returned."""
    state = {}

    def run():
        if "c" not in state:
            state["c"] = DeploymentController(rec, clock, rng=random.Random(1), recorder=EventRecorder(
                client, clock, "deployment-controller"))
        c = state["c"]
        c.informers.step()
        rec.clear()
        return c.reconcile(KEY)
    return run


def writes(rec):
    return [(a.verb, a.resource, a.name, a.subresource) for a in rec.writes()]


def scaling_events(client):
    return [e["message"] for e in client.list("events", NS).items if e["reason"] == "ScalingReplicaSet"]


def condition(client, type):
    d = client.get("deployments", "web", NS)
    return next(c for c in d["status"]["conditions"] if c["type"] == type)


# --- the pod-template-hash ---------------------------------------------------------------

def test_template_hash_is_stable_and_spelled_like_kubernetes():
    d = {"kind": "Deployment", "spec": {"template": {"metadata": {"labels": LABELS},
                                                     "spec": {"containers": [{"name": "w", "image": "a:1"}]}}}}
    apply_defaults(d)
    t = d["spec"]["template"]
    h = du.pod_template_hash(t)
    assert h == du.pod_template_hash(copy.deepcopy(t))
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789") and 1 <= len(h) <= 10
    # What `kubectl rollout undo` writes back: the hash label gone, nulls and {} added.
    undo = copy.deepcopy(t)
    undo["metadata"]["labels"][du.POD_TEMPLATE_HASH] = h
    undo["metadata"]["creationTimestamp"] = None
    undo["spec"]["containers"][0]["resources"] = {}
    assert du.pod_template_hash(undo) == h and du.equal_ignore_hash(undo, t)
    other = copy.deepcopy(t)
    other["spec"]["containers"][0]["image"] = "a:2"
    assert du.pod_template_hash(other) != h
    assert du.pod_template_hash(t, collision_count=1) != h


# --- creating and rolling -------------------------------------------------------------------

def test_new_deployment_creates_its_replicaset(client, rec, sync):
    d = make_deployment(client, replicas=3)
    assert sync() is None
    pth = du.pod_template_hash(d["spec"]["template"])
    assert writes(rec) == [("create", "replicasets", f"web-{pth}", ""),
                           ("update", "deployments", "web", ""),          # revision annotation
                           ("update", "deployments", "web", "status"),    # NewReplicaSetCreated
                           ("update", "deployments", "web", "status")]    # counts, Available
    rs = rec.actions_of("create", "replicasets")[0].body
    assert rs["spec"]["replicas"] == 3
    assert rs["metadata"]["labels"] == rs["spec"]["selector"]["matchLabels"] == \
        rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", du.POD_TEMPLATE_HASH: pth}
    assert rs["metadata"]["ownerReferences"] == [{
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": d["metadata"]["uid"],
        "controller": True, "blockOwnerDeletion": True}]
    assert rs["metadata"]["annotations"] == {du.REVISION: "1", du.DESIRED_REPLICAS: "3",
                                             du.MAX_REPLICAS: "4"}
    d = client.get("deployments", "web", NS)
    assert d["metadata"]["annotations"][du.REVISION] == "1"
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"]
    assert condition(client, "Progressing")["reason"] == "NewReplicaSetCreated"
    assert condition(client, "Available")["status"] == "False"
    assert scaling_events(client) == [f"Scaled up replica set web-{pth} to 3"]


def test_a_new_template_gets_a_new_replicaset_within_the_surge(client, clock, rec, sync):
    d = make_deployment(client, replicas=3, surge=1, unavailable=0)
    old = make_rs(client, clock, d, "minik8s/hello:v1", 3, revision=1)
    set_image(client, "minik8s/hello:v2")
    sync()
    created = rec.actions_of("create", "replicasets")[0].body
    assert created["spec"]["replicas"] == 1                     # 3 old + 1 new = 3 + maxSurge
    assert created["metadata"]["annotations"][du.REVISION] == "2"
    assert rec.actions_of("update", "replicasets") == []        # nothing may go yet
    assert client.get("replicasets", old["metadata"]["name"], NS)["spec"]["replicas"] == 3


def test_old_replicaset_shrinks_once_new_pods_are_available(client, clock, rec, sync):
    d = make_deployment(client, replicas=3, surge=1, unavailable=0)
    old = make_rs(client, clock, d, "minik8s/hello:v1", 3, revision=1)
    new = make_rs(client, clock, d, "minik8s/hello:v2", 1, revision=2, available=0)
    set_image(client, "minik8s/hello:v2")
    sync()
    assert rec.actions_of("update", "replicasets") == []        # the new pod is not available
    set_rs_status(client, new["metadata"]["name"], 1, 1)
    sync()
    scaled = rec.actions_of("update", "replicasets")
    assert [(a.name, a.body["spec"]["replicas"]) for a in scaled] == [(old["metadata"]["name"], 2)]
    sync()                                                      # now there is room again
    assert [(a.name, a.body["spec"]["replicas"]) for a in rec.actions_of("update", "replicasets")] \
        == [(new["metadata"]["name"], 2)]
    assert scaling_events(client) == [f"Scaled down replica set {old['metadata']['name']} to 2 from 3",
                                      f"Scaled up replica set {new['metadata']['name']} to 2 from 1"]


def test_rollout_complete_sets_new_replicaset_available_and_cleans_history(client, clock, rec, sync):
    d = make_deployment(client, replicas=2, revisionHistoryLimit=1)
    oldest = make_rs(client, clock, d, "minik8s/hello:v0", 0, revision=1)
    old = make_rs(client, clock, d, "minik8s/hello:v1", 0, revision=2)
    new = make_rs(client, clock, d, "minik8s/hello:v2", 2, revision=3)
    set_image(client, "minik8s/hello:v2")
    sync()                                    # status: complete
    assert condition(client, "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert condition(client, "Progressing")["message"] == \
        f'ReplicaSet "{new["metadata"]["name"]}" has successfully progressed.'
    assert condition(client, "Available")["reason"] == "MinimumReplicasAvailable"
    sync()                                    # complete: history beyond the limit goes
    deletes = rec.actions_of("delete", "replicasets")
    assert [a.name for a in deletes] == [oldest["metadata"]["name"]]
    assert deletes[0].options == {"preconditions": {"uid": oldest["metadata"]["uid"]}}
    assert client.get("replicasets", old["metadata"]["name"], NS)


def test_rollback_reuses_the_old_replicaset_as_the_newest_revision(client, clock, rec, sync):
    d = make_deployment(client, replicas=2)
    first = make_rs(client, clock, d, "minik8s/hello:v1", 0, revision=1)
    make_rs(client, clock, d, "minik8s/hello:v2", 2, revision=2)
    # kubectl rollout undo: the old template (no hash label), spelled with nulls.
    template = copy.deepcopy(first["spec"]["template"])
    del template["metadata"]["labels"][du.POD_TEMPLATE_HASH]
    template["metadata"]["creationTimestamp"] = None
    client.patch("deployments", "web", [{"op": "replace", "path": "/spec/template",
                                         "value": template}], NS, patch_type="json")
    sync()
    name = first["metadata"]["name"]
    assert rec.actions_of("create", "replicasets") == []
    assert [w for w in writes(rec) if w[1] == "replicasets"] == [
        ("update", "replicasets", name, ""),       # revision 1 -> 3
        ("update", "replicasets", name, "")]       # then scaled up 0 -> 1, within the surge
    revised, scaled = rec.actions_of("update", "replicasets")
    assert revised.body["metadata"]["annotations"][du.REVISION] == "3"
    assert revised.body["metadata"]["annotations"][du.REVISION_HISTORY] == "1"
    assert scaled.body["spec"]["replicas"] == 1
    assert client.get("deployments", "web", NS)["metadata"]["annotations"][du.REVISION] == "3"


def test_paused_deployment_does_not_roll_out(client, clock, rec, sync):
    d = make_deployment(client, replicas=2)
    make_rs(client, clock, d, "minik8s/hello:v1", 2, revision=1)
    sync()
    client.patch("deployments", "web", {"spec": {"paused": True}}, NS)
    set_image(client, "minik8s/hello:v2")
    sync()
    assert rec.actions_of("create", "replicasets") == []
    cond = condition(client, "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == \
        ("Unknown", "DeploymentPaused", "Deployment is paused")
    client.patch("deployments", "web", {"spec": {"paused": None}}, NS)
    sync()
    statuses = [a.body["status"] for a in rec.actions_of("update", "deployments")
                if a.subresource == "status"]
    progressing = [c for c in statuses[0]["conditions"] if c["type"] == "Progressing"]
    assert [(c["status"], c["reason"]) for c in progressing] == [("Unknown", "DeploymentResumed")]
    assert len(rec.actions_of("create", "replicasets")) == 1    # and the rollout goes on
    assert condition(client, "Progressing")["reason"] == "NewReplicaSetCreated"


def test_scaling_mid_rollout_is_proportional(client, clock, rec, sync):
    d = make_deployment(client, replicas=3, surge=1, unavailable=0)
    old = make_rs(client, clock, d, "minik8s/hello:v1", 3, revision=1)
    new = make_rs(client, clock, d, "minik8s/hello:v2", 1, revision=2, available=0)
    set_image(client, "minik8s/hello:v2")
    client.patch("deployments", "web", {"spec": {"replicas": 6}}, NS)
    sync()
    sizes = {a.name: a.body["spec"]["replicas"] for a in rec.actions_of("update", "replicasets")}
    # 7 allowed (6 + surge 1) = 4 + 3: old gets round(3 * 7 / 4) - 3 = 2, new the last 1.
    assert sizes == {old["metadata"]["name"]: 5, new["metadata"]["name"]: 2}
    for a in rec.actions_of("update", "replicasets"):
        assert a.body["metadata"]["annotations"][du.DESIRED_REPLICAS] == "6"
        assert a.body["metadata"]["annotations"][du.MAX_REPLICAS] == "7"


def test_recreate_waits_for_old_pods_to_be_gone(client, clock, rec, sync):
    d = make_deployment(client, replicas=2, surge=None)
    old = make_rs(client, clock, d, "minik8s/hello:v1", 2, revision=1)
    set_image(client, "minik8s/hello:v2")
    sync()
    assert writes(rec)[0] == ("update", "replicasets", old["metadata"]["name"], "")
    assert rec.actions_of("create", "replicasets") == []
    sync()                                     # spec 0, but the status still shows 2 pods
    assert rec.actions_of("create", "replicasets") == []
    set_rs_status(client, old["metadata"]["name"], 0, 0)
    sync()
    created = rec.actions_of("create", "replicasets")
    assert len(created) == 1 and created[0].body["spec"]["replicas"] == 2


def test_a_stuck_rollout_exceeds_its_progress_deadline(client, clock, rec, sync):
    d = make_deployment(client, replicas=1, progressDeadlineSeconds=30)
    make_rs(client, clock, d, "minik8s/hello:v1", 1, revision=1)
    set_image(client, "minik8s/hello:v2")
    sync()                                     # new ReplicaSet, whose pod never gets ready
    sync()
    after = sync()
    assert after is not None and 29 <= after <= 32   # look again when the deadline passes
    clock.advance(after)
    sync()
    cond = condition(client, "Progressing")
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert cond["message"].endswith("has timed out progressing.")


def test_a_hash_collision_bumps_collision_count_and_rehashes(client, clock, rec, sync):
    d = make_deployment(client, replicas=1)
    pth = du.pod_template_hash(d["spec"]["template"])
    client.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",      # someone else's
                   "metadata": {"name": f"web-{pth}", "namespace": NS},
                   "spec": {"replicas": 0, "selector": {"matchLabels": {"other": "x"}},
                            "template": {"metadata": {"labels": {"other": "x"}},
                                         "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}},
                  NS)
    with pytest.raises(AlreadyExists):
        sync()
    assert client.get("deployments", "web", NS)["status"]["collisionCount"] == 1
    sync()
    (created,) = rec.actions_of("create", "replicasets")
    assert created.name == f"web-{du.pod_template_hash(d['spec']['template'], 1)}" != f"web-{pth}"


def test_adopts_an_orphan_replicaset_that_matches(client, clock, rec, sync):
    d = make_deployment(client, replicas=1)
    rs = make_rs(client, clock, d, "minik8s/hello:v1", 1, revision=1)
    client.patch("replicasets", rs["metadata"]["name"], {"metadata": {"ownerReferences": None}}, NS)
    sync()
    patch = rec.actions_of("patch", "replicasets")[0]
    assert patch.body["metadata"]["ownerReferences"][0]["uid"] == d["metadata"]["uid"]
    assert rec.actions_of("get", "deployments")          # a fresh read before adopting
    assert rec.actions_of("create", "replicasets") == []  # it is the new ReplicaSet


# --- the decisions, as tables ---------------------------------------------------------------

def rs(name, spec, available, created=0, replicas=None):
    return {"metadata": {"name": name, "uid": name, "creationTimestamp": f"2026-01-01T00:00:{created:02d}Z",
                         "annotations": {du.DESIRED_REPLICAS: "10", du.MAX_REPLICAS: "13"}},
            "spec": {"replicas": spec},
            "status": {"replicas": spec if replicas is None else replicas,
                       "availableReplicas": available}}


def deploy(replicas, surge, unavailable):
    return {"metadata": {"name": "web"}, "spec": {"replicas": replicas, "strategy": {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}},
        "status": {"replicas": 13}}


@pytest.mark.parametrize("case,old,new,plan", [
    ("fresh: scale new up to the surge", [rs("o", 10, 10)], rs("n", 0, 0, 1), [Scale("n", 0, 3)]),
    ("surge used: old down within maxUnavailable", [rs("o", 10, 10)], rs("n", 3, 0, 1),
     [Scale("o", 10, 8)]),
    ("unhealthy old pods go first", [rs("o1", 5, 2), rs("o2", 5, 5, 2)], rs("n", 3, 3, 3),
     [Scale("o1", 5, 2), Scale("o1", 2, 0)]),
    ("new not available: nothing may go", [rs("o", 8, 8)], rs("n", 5, 0, 1), []),
    ("new too big: scale it down first", [], rs("n", 12, 12), [Scale("n", 12, 10)]),
    ("all done", [rs("o", 0, 0)], rs("n", 10, 10, 1), []),
])
def test_rolling_update_step(case, old, new, plan):
    # replicas 10, maxSurge 25% -> 3 (rounded up), maxUnavailable 25% -> 2 (rounded down)
    assert rolling_update_step(deploy(10, "25%", "25%"), new, old) == plan, case


def test_fenceposts_round_surge_up_unavailable_down_and_never_both_zero():
    assert du.resolve_fenceposts("25%", "25%", 10) == (3, 2)
    assert du.resolve_fenceposts("0%", "10%", 5) == (0, 1)
    assert du.resolve_fenceposts(2, 0, 3) == (2, 0)


def test_proportional_scale_shares_new_replicas_by_size():
    d = deploy(20, 3, 0)                                  # allowed 23, had max 13
    plan = proportional_scale(d, rs("n", 3, 0, 1), [rs("o", 10, 10)])
    assert plan == [Scale("o", 10, 18), Scale("n", 3, 5)]
