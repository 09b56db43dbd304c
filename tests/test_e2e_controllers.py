"""End to end: the controller-manager on `minik8s up --nodes 3`, driven by real kubectl.

The course's core promise, on the session's Ray cluster: declare a Deployment and the
cluster converges to it and keeps it — a deleted pod is replaced, `scale` scales, a new
image rolls out and `rollout undo` rolls back to the old ReplicaSet, a killed node's
pods come back on the others, `delete deploy` leaves nothing, `delete ns` empties and
removes the namespace, and a crashed controller-manager resumes from the cluster state.
The tests run in file order and share one cluster.
"""
from __future__ import annotations

import pathlib


from e2e import wait_for

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "rolling-update.yaml"
DEPLOY = "web-rolling"
SELECTOR = "app=web-rolling"


def pods(cluster, namespace="default", selector=SELECTOR) -> list:
    return cluster.client().list("pods", namespace, label_selector=selector).items


def running(cluster, namespace="default") -> list:
    return [p for p in pods(cluster, namespace)
            if (p.get("status") or {}).get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")]


def images(cluster) -> set:
    return {p["spec"]["containers"][0]["image"] for p in running(cluster)}


def rollout_status(cluster):
    out = cluster.kubectl("rollout", "status", f"deploy/{DEPLOY}", "--timeout=60s", timeout=70)
    assert "successfully rolled out" in out


def test_apply_and_rollout_status(ray_cluster):
    # A namespace with a Deployment inside, deleted at the end (its controller waits
    # 5 s after the mark, as Kubernetes' does: start it early, check it last).
    ray_cluster.kubectl("create", "namespace", "doomed")
    ray_cluster.kubectl("create", "deployment", "inside", "--image=minik8s/hello:v1",
                        "--replicas=2", "-n", "doomed")
    ray_cluster.kubectl("apply", "-f", str(EXAMPLE))
    rollout_status(ray_cluster)
    assert len(running(ray_cluster)) == 3 and images(ray_cluster) == {"minik8s/hello:v1"}
    rs = ray_cluster.client().list("replicasets", "default").items
    assert len(rs) == 1 and rs[0]["metadata"]["name"].startswith(f"{DEPLOY}-")
    wait_for(lambda: len(running(ray_cluster, "doomed")) == 0 and
             len(pods(ray_cluster, "doomed", "app=inside")) == 2 and
             all(p["status"].get("phase") == "Running"
                 for p in pods(ray_cluster, "doomed", "app=inside")), 20, "doomed/inside")
    ray_cluster.kubectl("delete", "namespace", "doomed", "--wait=false")


def test_a_deleted_pod_is_replaced(ray_cluster):
    victim = running(ray_cluster)[0]["metadata"]
    ray_cluster.kubectl("delete", "pod", victim["name"], "--wait=false")
    wait_for(lambda: len(running(ray_cluster)) == 3 and
             victim["uid"] not in {p["metadata"]["uid"] for p in running(ray_cluster)},
             20, "a replacement pod")


def test_scale(ray_cluster):
    ray_cluster.kubectl("scale", f"deploy/{DEPLOY}", "--replicas=4")
    wait_for(lambda: len(running(ray_cluster)) == 4, 20, "4 running pods")
    ray_cluster.kubectl("scale", f"deploy/{DEPLOY}", "--replicas=3")
    wait_for(lambda: len(pods(ray_cluster)) == 3, 20, "back to 3 pods")


def test_roll_forward_history_and_undo(ray_cluster):
    v2 = EXAMPLE.read_text().replace("minik8s/hello:v1", "minik8s/hello:v2")
    ray_cluster.kubectl("apply", "-f", "-", input=v2)
    rollout_status(ray_cluster)
    wait_for(lambda: images(ray_cluster) == {"minik8s/hello:v2"} and
             len(pods(ray_cluster)) == 3, 20, "only v2 pods")
    history = ray_cluster.kubectl("rollout", "history", f"deploy/{DEPLOY}")
    revisions = [line.split()[0] for line in history.splitlines()[2:] if line.strip()]
    assert revisions == ["1", "2"]
    old_rs = {r["metadata"]["name"] for r in ray_cluster.client().list("replicasets",
                                                                      "default").items}
    ray_cluster.kubectl("rollout", "undo", f"deploy/{DEPLOY}")
    rollout_status(ray_cluster)
    wait_for(lambda: images(ray_cluster) == {"minik8s/hello:v1"} and
             len(pods(ray_cluster)) == 3, 20, "back on v1")
    # The old ReplicaSet is re-used (no third one), now as revision 3.
    rs = ray_cluster.client().list("replicasets", "default").items
    assert {r["metadata"]["name"] for r in rs} == old_rs
    active = [r for r in rs if r["spec"]["replicas"] == 3]
    assert active[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


def test_delete_namespace_removes_it(ray_cluster):
    from minik8s.api.errors import NotFound
    client = ray_cluster.client()

    def gone():
        try:
            client.get("namespaces", "doomed")
        except NotFound:
            return True
        return False
    wait_for(gone, 30, "namespace doomed to disappear")
    assert not client.list("deployments", "doomed").items
    assert not client.list("pods", "doomed").items


def test_a_killed_nodes_pods_come_back_on_the_others(ray_cluster):
    by_node: dict = {}
    for p in running(ray_cluster):
        by_node.setdefault(p["spec"]["nodeName"], []).append(p["metadata"]["uid"])
    node = max(by_node, key=lambda n: len(by_node[n]))
    from minik8s.cluster.bringup import chaos_kill_node
    assert chaos_kill_node(ray_cluster.data_dir, node) == 0
    wait_for(lambda: len([p for p in running(ray_cluster)
                          if p["spec"]["nodeName"] != node]) == 3, 30,
             f"3 pods running off {node}")
    node_obj = ray_cluster.client().get("nodes", node)
    taints = {t["key"] for t in node_obj["spec"].get("taints") or []}
    assert "node.kubernetes.io/unreachable" in taints


def test_a_crashed_controller_manager_resumes(ray_cluster, capsys):
    from minik8s.cluster.bringup import chaos_kill
    assert chaos_kill(ray_cluster.data_dir, "controller-manager") == 0
    assert "Ray restarted controller-manager-0" in capsys.readouterr().out
    ray_cluster.kubectl("scale", f"deploy/{DEPLOY}", "--replicas=4")
    wait_for(lambda: len(running(ray_cluster)) == 4, 30, "4 running pods after the restart")


def test_delete_deployment_leaves_nothing(ray_cluster):
    ray_cluster.kubectl("delete", f"deploy/{DEPLOY}", "--wait=false")
    client = ray_cluster.client()
    dead = {n["metadata"]["name"] for n in client.list("nodes").items
            if "node.kubernetes.io/unreachable" in {t["key"] for t in
                                                    n["spec"].get("taints") or []}}
    # Pods of the killed node stay Terminating, as in Kubernetes, until its Node object
    # is deleted (the cloud-provider grace, 30 s here) and pod GC removes them.
    wait_for(lambda: not client.list("replicasets", "default").items and
             all(p["metadata"].get("deletionTimestamp") and p["spec"]["nodeName"] in dead
                 for p in pods(ray_cluster)), 30, "no ReplicaSet and no live pod left")


