"""The in-process cluster harness: API pipeline + scheduler + kubelets on the simulated
runtime, stepped under a FakeClock. Each test reads like what a user would see with
kubectl: pods scheduled and Running, an image that cannot be pulled, a graceful
delete, a node that dies."""
import ipaddress

import pytest

from minik8s.api import errors
from minik8s.api.meta import parse_time
from minik8s.api.nodehandle import ALIVE, DEAD, HUNG
from minik8s.cluster.local import LocalCluster, StepBudgetExhausted


def pod(name, image="minik8s/hello:1", annotations=None, **spec):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default",
                         "annotations": annotations or {}},
            "spec": {"containers": [{"name": "app", "image": image}], **spec}}


def get(cluster, name):
    return cluster.client.get("pods", name, "default")


def phase(cluster, name):
    return (get(cluster, name).get("status") or {}).get("phase")


def waiting_reason(cluster, name):
    statuses = (get(cluster, name).get("status") or {}).get("containerStatuses") or []
    return statuses and (statuses[0]["state"].get("waiting") or {}).get("reason")


def gone(cluster, name):
    try:
        get(cluster, name)
        return False
    except errors.NotFound:
        return True


def lease_renewed(cluster, node):
    lease = cluster.client.get("leases.coordination.k8s.io", node, "kube-node-lease")
    return lease["spec"]["renewTime"]


def test_pods_are_scheduled_and_run(local_cluster):
    c = local_cluster
    for i in range(5):
        c.client.create(pod(f"web-{i}"))
    c.run_until(lambda: all(phase(c, f"web-{i}") == "Running" for i in range(5)))
    nodes = {n["metadata"]["name"]: n for n in c.client.list("nodes").items}
    assert sorted(nodes) == ["node-1", "node-2", "node-3"]
    ips = set()
    for i in range(5):
        p = get(c, f"web-{i}")
        node = nodes[p["spec"]["nodeName"]]
        internal = next(a["address"] for a in node["status"]["addresses"]
                        if a["type"] == "InternalIP")
        assert p["status"]["hostIP"] == internal
        assert ipaddress.ip_address(p["status"]["podIP"]) in \
            ipaddress.ip_network(node["spec"]["podCIDR"])
        ips.add(p["status"]["podIP"])
        assert "running" in p["status"]["containerStatuses"][0]["state"]
        ready = {x["type"]: x["status"] for x in p["status"]["conditions"]}
        assert ready["Ready"] == "True" and ready["PodScheduled"] == "True"
    assert len(ips) == 5
    assert {p.name for h in c.handles.values() for p in h.running_pods()} == \
        {f"web-{i}" for i in range(5)}


def test_same_seed_same_placement():
    def placement():
        with LocalCluster(nodes=3, seed=7) as c:
            for i in range(6):
                c.client.create(pod(f"p-{i}"))
            c.run_until(lambda: all(phase(c, f"p-{i}") == "Running" for i in range(6)))
            return [(get(c, f"p-{i}")["spec"]["nodeName"], get(c, f"p-{i}")["status"]["podIP"],
                     get(c, f"p-{i}")["metadata"]["uid"]) for i in range(6)]
    assert placement() == placement()


def test_unknown_image_is_err_image_pull_then_back_off(local_cluster):
    c = local_cluster
    c.client.create(pod("bad", image="registry.example/doesnotexist:1"))
    c.run_until(lambda: waiting_reason(c, "bad") == "ErrImagePull")
    c.run_until(lambda: waiting_reason(c, "bad") == "ImagePullBackOff")
    status = get(c, "bad")["status"]
    assert status["phase"] == "Pending"
    # Since 1.30 the back-off message carries the last pull error after a colon.
    assert status["containerStatuses"][0]["state"]["waiting"]["message"].startswith(
        'Back-off pulling image "registry.example/doesnotexist:1": ErrImagePull: ')
    # kubectl logs on it: the API server relays the kubelet's answer.
    with pytest.raises(errors.BadRequest) as e:
        c.client.log("default", "bad")
    assert e.value.message == ('container "app" in pod "bad" is waiting to start: '
                               "trying and failing to pull image")


def test_logs_through_the_node_proxy(local_cluster):
    c = local_cluster
    c.client.create(pod("talker", annotations={"sim.minik8s.io/log": "hello from talker"}))
    c.run_until(lambda: phase(c, "talker") == "Running")
    assert "hello from talker" in c.client.log("default", "talker", container="app")
    with pytest.raises(errors.BadRequest, match="^container nope is not valid for pod talker$"):
        c.client.log("default", "talker", container="nope")


def test_delete_waits_for_graceful_termination(local_cluster):
    c = local_cluster
    c.client.create(pod("slow", annotations={"sim.minik8s.io/ignore-sigterm": "true"},
                        terminationGracePeriodSeconds=5))
    c.run_until(lambda: phase(c, "slow") == "Running")
    node = get(c, "slow")["spec"]["nodeName"]
    c.client.delete("pods", "slow", "default")
    deleted_at = c.clock.monotonic()
    marked = get(c, "slow")
    assert marked["metadata"]["deletionTimestamp"]
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 5
    c.run_until(lambda: gone(c, "slow"))
    # It ignored SIGTERM: gone only once the 5 s grace ran out and SIGKILL came.
    assert c.clock.monotonic() - deleted_at >= 5
    assert c.handles[node].running_pods() == []


def test_a_killed_node_stops_renewing_its_lease(local_cluster):
    c = local_cluster
    c.client.create(pod("victim", nodeName="node-2"))
    c.run_until(lambda: phase(c, "victim") == "Running")
    before = {n: lease_renewed(c, n) for n in ("node-1", "node-2")}
    handle = c.handles["node-2"]
    assert [p.name for p in handle.running_pods()] == ["victim"]
    handle.kill()
    assert handle.ping(1) == DEAD and handle.running_pods() == []
    start = c.clock.monotonic()
    c.run_until(lambda: c.clock.monotonic() - start >= 60, max_steps=500)
    assert lease_renewed(c, "node-2") == before["node-2"]
    assert parse_time(lease_renewed(c, "node-1")) > parse_time(before["node-1"])
    handle.resume()                         # dead stays dead
    assert handle.ping(1) == DEAD


def test_a_paused_node_keeps_its_pods_and_resumes(local_cluster):
    c = local_cluster
    c.client.create(pod("sleeper", nodeName="node-3"))
    c.run_until(lambda: phase(c, "sleeper") == "Running")
    handle = c.handles["node-3"]
    handle.pause()
    assert handle.ping(1) == HUNG
    frozen = lease_renewed(c, "node-3")
    start = c.clock.monotonic()
    c.run_until(lambda: c.clock.monotonic() - start >= 30, max_steps=500)
    assert lease_renewed(c, "node-3") == frozen
    assert [p.name for p in handle.running_pods()] == ["sleeper"]    # still running
    handle.resume()
    assert handle.ping(1) == ALIVE
    c.run_until(lambda: lease_renewed(c, "node-3") != frozen, max_steps=50)


def test_add_and_remove_nodes(local_cluster):
    c = local_cluster
    c.add_node("extra")
    assert "extra" in {n["metadata"]["name"] for n in c.client.list("nodes").items}
    c.remove_node("extra")
    assert "extra" not in {n["metadata"]["name"] for n in c.client.list("nodes").items}
    assert c.node_lookup("extra") is None and c.node_lookup("node-1") is c.handles["node-1"]


def test_run_until_says_what_it_was_waiting_for(local_cluster):
    c = local_cluster
    c.client.create(pod("stuck", image="doesnotexist"))
    with pytest.raises(StepBudgetExhausted) as e:
        c.run_until(lambda: phase(c, "stuck") == "Running", max_steps=20)
    text = str(e.value)
    assert "condition not met after 20 steps" in text
    assert "default/stuck: Pending on node-" in text
    assert "ImagePullBackOff" in text or "ErrImagePull" in text
    assert "node-1=Alive" in text
