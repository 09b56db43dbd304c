"""The rolling-update promise, checked on the in-process cluster under hypothesis.

Kubernetes promises that a RollingUpdate, from a fully available start and while
replicas and strategy stay the same, never runs more than replicas + maxSurge pods
(terminating ones not counted) and never has fewer than replicas - maxUnavailable
pods available (surge rounds up, unavailable rounds down; if both come out 0,
unavailable is 1). These tests draw replicas / maxSurge / maxUnavailable /
minReadySeconds, run a whole LocalCluster (API server, scheduler, controller-manager,
kubelets on the simulated runtime) under a FakeClock, and check the bounds on *every*
change of every pod (a watch from before the update replays them all), then that the
rollout ends with every pod on the new template — and that `kubectl rollout undo`
(done here exactly as kubectl does it) goes back to the old ReplicaSet.
"""
import copy
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minik8s.api.meta import get_path, parse_time
from minik8s.cluster.local import LocalCluster
from minik8s.controllers.deployutil import POD_TEMPLATE_HASH, REVISION

NS = "default"


def deployment(replicas, surge, unavailable, min_ready):
    labels = {"app": "web"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                     "selector": {"matchLabels": labels},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": surge,
                                                    "maxUnavailable": unavailable}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web",
                                                           "image": "minik8s/hello:v1"}]}}}}


def bound(value, replicas, round_up):
    """The fencepost as the Kubernetes documentation states it (not the controller's code)."""
    if isinstance(value, str):
        exact = int(value[:-1]) * replicas / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return value


def fenceposts(replicas, surge, unavailable):
    s, u = bound(surge, replicas, True), bound(unavailable, replicas, False)
    return s, (1 if s == 0 and u == 0 else min(u, replicas))


class PodLedger:
    """Every pod of the Deployment, kept up to date from a watch opened before the
    update, so the bounds are checked after every single change."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.pods = {p["metadata"]["name"]: p for p in cluster.client.list("pods", NS).items}
        self.watch = cluster.client.watch("pods", NS, resource_version=str(
            max([int(p["metadata"]["resourceVersion"]) for p in self.pods.values()] or [0])))

    def drain(self, check):
        for ev in self.watch.poll():
            name = ev.object["metadata"]["name"]
            if ev.type == "DELETED":
                self.pods.pop(name, None)
            else:
                self.pods[name] = ev.object
            check(self)

    def live(self):
        return [p for p in self.pods.values() if not get_path(p, "metadata", "deletionTimestamp")]

    def available(self, min_ready):
        now = self.cluster.clock.now()
        out = 0
        for p in self.live():
            ready = next((c for c in get_path(p, "status", "conditions") or []
                          if c["type"] == "Ready" and c["status"] == "True"), None)
            if ready and (min_ready == 0 or
                          parse_time(ready["lastTransitionTime"]) + min_ready < now):
                out += 1
        return out


def images(ledger):
    return sorted(p["spec"]["containers"][0]["image"] for p in ledger.live())


def converged(cluster, replicas, image):
    d = cluster.client.get("deployments", "web", NS)
    s = d.get("status") or {}
    pods = [p for p in cluster.client.list("pods", NS).items]
    return (s.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and s.get("updatedReplicas", 0) == replicas == s.get("replicas", 0)
            and s.get("availableReplicas", 0) == replicas
            and len(pods) == replicas
            and all(p["spec"]["containers"][0]["image"] == image for p in pods))


def run_checked(cluster, ledger, check, predicate, max_steps=400):
    def done():
        ledger.drain(check)
        return predicate()
    cluster.run_until(done, max_steps=max_steps, advance=0.5)


def undo_like_kubectl(client, to_rs):
    """kubectl 1.32 rollout undo: the ReplicaSet's template minus pod-template-hash,
    with the nulls and empty maps kubectl's encoding adds, written into the Deployment."""
    template = copy.deepcopy(to_rs["spec"]["template"])
    template["metadata"]["labels"].pop(POD_TEMPLATE_HASH)
    template["metadata"]["creationTimestamp"] = None
    template["spec"]["containers"][0]["resources"] = {}
    patch = [{"op": "replace", "path": "/spec/template", "value": template}]
    client.patch("deployments", "web", patch, NS, patch_type="json")


surges = st.one_of(st.integers(0, 3), st.sampled_from(["0%", "25%", "50%", "100%"]))
unavails = st.one_of(st.integers(0, 3), st.sampled_from(["0%", "25%", "50%", "100%"]))


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(replicas=st.integers(1, 5), surge=surges, unavailable=unavails,
       min_ready=st.integers(0, 2), seed=st.integers(0, 3))
def test_rollout_never_exceeds_surge_nor_drops_below_availability(replicas, surge, unavailable,
                                                                  min_ready, seed):
    if surge in (0, "0%") and unavailable in (0, "0%"):
        unavailable = 1            # validation forbids both being zero
    max_surge, max_unavailable = fenceposts(replicas, surge, unavailable)
    with LocalCluster(nodes=3, seed=seed) as cluster:
        client = cluster.client
        client.create(deployment(replicas, surge, unavailable, min_ready), NS)
        cluster.run_until(lambda: converged(cluster, replicas, "minik8s/hello:v1"), max_steps=400,
                          advance=0.5)
        old_rs = next(rs for rs in client.list("replicasets", NS).items)
        violations = []

        def check(ledger):
            live, avail = len(ledger.live()), ledger.available(min_ready)
            if live > replicas + max_surge:
                violations.append(f"{live} live pods > {replicas} + {max_surge}: {images(ledger)}")
            if avail < replicas - max_unavailable:
                violations.append(f"{avail} available < {replicas} - {max_unavailable}")

        # `kubectl set image`: a new template.
        ledger = PodLedger(cluster)
        client.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "minik8s/hello:v2"}]}}}}, NS, patch_type="strategic")
        run_checked(cluster, ledger, check, lambda: converged(cluster, replicas, "minik8s/hello:v2"))
        assert violations == []
        assert images(ledger) == ["minik8s/hello:v2"] * replicas

        # `kubectl rollout undo`: back to the first ReplicaSet, which becomes revision 3.
        undo_like_kubectl(client, old_rs)
        run_checked(cluster, ledger, check, lambda: converged(cluster, replicas, "minik8s/hello:v1"))
        assert violations == []
        rss = {rs["metadata"]["name"]: rs for rs in client.list("replicasets", NS).items}
        assert len(rss) == 2, "undo must re-use the old ReplicaSet, not make a third"
        back = rss[old_rs["metadata"]["name"]]
        assert back["spec"]["replicas"] == replicas
        assert back["metadata"]["annotations"][REVISION] == "3"
        d = client.get("deployments", "web", NS)
        assert d["metadata"]["annotations"][REVISION] == "3"
        for pod in client.list("pods", NS).items:
            assert pod["metadata"]["ownerReferences"][0]["uid"] == back["metadata"]["uid"]


def test_writes_stop_once_a_rollout_converged():
    with LocalCluster(nodes=3, seed=1) as cluster:
        client = cluster.client
        client.create(deployment(3, 1, 0, 1), NS)
        cluster.run_until(lambda: converged(cluster, 3, "minik8s/hello:v1"), max_steps=400,
                          advance=0.5)
        watches = [client.watch(r, NS, resource_version=client.list(r, NS).resource_version)
                   for r in ("deployments", "replicasets")]
        for _ in range(60):
            cluster.step()
            cluster.clock.advance(1)
        assert [ev for w in watches for ev in w.poll()] == []
