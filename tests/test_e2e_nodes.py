"""End to end: `minik8s up --nodes 3` on Ray, driven by the real kubectl.

One cluster for the module (the `ray_cluster` fixture: the session's private Ray head,
three node actors with the process runtime, the scheduler as a restartable actor). The
tests run in file order and the later ones break things on purpose (a node killed, the
control plane killed), so each states what it needs.
"""
from __future__ import annotations

import os
import urllib.request

import yaml

from e2e import wait_for
from minik8s.cluster import raynodes
from minik8s.cluster.processes import process_alive

PODS = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {GREETING: bonjour, app.conf: "mode=demo\\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {PASSWORD: hunter2}
---
apiVersion: v1
kind: Pod
metadata: {name: hello, labels: {app: hello}}
spec:
  containers:
  - {name: web, image: "minik8s/hello:v1", ports: [{containerPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: pinned}
spec:
  nodeSelector: {kubernetes.io/hostname: node-2}
  containers:
  - {name: web, image: "minik8s/hello:v2", ports: [{containerPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: duo}
spec:
  containers:
  - {name: web, image: "minik8s/hello:v1", ports: [{containerPort: 8080}]}
  - name: sidecar
    image: busybox
    command: ["sh", "-c", "echo sidecar up; while true; do sleep 1; done"]
---
apiVersion: v1
kind: Pod
metadata: {name: configured}
spec:
  restartPolicy: Never
  containers:
  - name: show
    image: busybox
    command: ["sh", "-c", "echo greeting=$GREETING password=$PASSWORD; cat /etc/app/app.conf"]
    env:
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: creds, key: PASSWORD}}
    envFrom:
    - configMapRef: {name: settings}
    volumeMounts:
    - {name: conf, mountPath: /etc/app}
  volumes:
  - name: conf
    configMap: {name: settings}
"""


def test_up_registers_three_ready_nodes_on_ray(ray_cluster):
    import ray
    nodes = ray_cluster.client().list("nodes").items
    assert sorted(n["metadata"]["name"] for n in nodes) == ["node-1", "node-2", "node-3"]
    # The session's Ray cluster has two Ray nodes: node actors are spread over both.
    ray_nodes = {n["metadata"]["labels"][raynodes.RAY_NODE_LABEL] for n in nodes}
    assert len(ray_nodes) == 2 and ray_nodes <= {n["NodeID"] for n in ray.nodes()}
    for n in nodes:
        ready = [c for c in n["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True"
        assert n["metadata"]["labels"][raynodes.RAY_NODE_LABEL]       # which Ray node
        assert n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] > 0
    names = ray_cluster.actor_names()
    assert {"node-node-1", "node-node-2", "node-node-3", "scheduler-0"} <= set(names)


def test_pods_run_and_kubectl_shows_their_logs(ray_cluster):
    ray_cluster.kubectl("apply", "-f", "-", input=PODS)
    hello = ray_cluster.wait_phase("hello")
    pinned = ray_cluster.wait_phase("pinned")
    assert pinned["spec"]["nodeName"] == "node-2"
    ray_cluster.wait_phase("duo")
    ray_cluster.wait_phase("configured", ("Succeeded",))

    # The hello server answers on its own pod IP.
    ip = hello["status"]["podIP"]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    body = opener.open(f"http://{ip}:8080/", timeout=5).read().decode()
    assert "Version: v1" in body and "Pod: hello" in body and ip in body

    out = ray_cluster.kubectl("logs", "configured")
    assert "greeting=bonjour password=hunter2" in out and "mode=demo" in out
    assert wait_for(lambda: "sidecar up" in ray_cluster.kubectl("logs", "duo", "-c", "sidecar"),
                    what="the sidecar's log")
    assert "listening on" in ray_cluster.kubectl("logs", "duo", "-c", "web")
    r = ray_cluster.kubectl("logs", "duo", check=False)      # kubectl picks the first
    assert r.returncode == 0 and 'Defaulted container "web" out of: web, sidecar' in r.stderr
    assert "listening on" in r.stdout


def _waiting_reason(cluster, name):
    statuses = (cluster.pod(name).get("status") or {}).get("containerStatuses") or []
    return statuses and (statuses[0]["state"].get("waiting") or {}).get("reason")


def test_a_crashing_pod_backs_off_and_shows_its_last_words(ray_cluster):
    ray_cluster.kubectl("run", "crasher", "--image=busybox", "--",
                        "sh", "-c", "echo last words before exit; exit 3")
    wait_for(lambda: _waiting_reason(ray_cluster, "crasher") == "CrashLoopBackOff",
             25, "CrashLoopBackOff")
    st = ray_cluster.pod("crasher")["status"]["containerStatuses"][0]
    assert st["restartCount"] >= 1
    assert st["lastState"]["terminated"]["exitCode"] == 3
    assert "last words before exit" in ray_cluster.kubectl("logs", "crasher", "--previous")
    assert "CrashLoopBackOff" in ray_cluster.kubectl("get", "pod", "crasher")


def test_an_unknown_image_cannot_be_pulled(ray_cluster):
    ray_cluster.kubectl("run", "nosuch", "--image=example.com/no/such:v9")
    reason = wait_for(lambda: _waiting_reason(ray_cluster, "nosuch") in
                      ("ErrImagePull", "ImagePullBackOff") and _waiting_reason(ray_cluster,
                                                                               "nosuch"),
                      what="ErrImagePull")
    assert reason in ("ErrImagePull", "ImagePullBackOff")


def _containers_by_pod(cluster) -> dict:
    out = {}
    for name in cluster.actor_names():
        if name.startswith("node-"):
            try:
                out.update(cluster.actor_info(name)["containers"])
            except Exception:
                pass                    # a killed node
    return out


def test_deleting_a_pod_ends_its_processes(ray_cluster):
    pids = wait_for(lambda: _containers_by_pod(ray_cluster).get("default/duo"),
                    what="duo's container pids")
    assert len(pids) == 2 and all(process_alive(p) for p in pids)
    ray_cluster.kubectl("delete", "pod", "duo", "--wait=true", timeout=40)
    wait_for(lambda: not any(process_alive(p) for p in pids), 10, "duo's processes to end")


def _renew_time(client, node):
    return client.get("leases", node, "kube-node-lease")["spec"]["renewTime"]


def test_control_plane_restart_keeps_pods_running(ray_cluster):
    before = ray_cluster.pod("hello")
    pids = _containers_by_pod(ray_cluster)["default/hello"]
    host = ray_cluster.state["pid"]
    from minik8s.cluster.bringup import chaos_kill
    assert chaos_kill(ray_cluster.data_dir, "apiserver") == 0
    assert not process_alive(host)
    assert ray_cluster.up() == 0                       # same data dir, same port
    assert ray_cluster.state["pid"] != host
    client = ray_cluster.client()
    renewed = {n: _renew_time(client, n) for n in ("node-1", "node-2", "node-3")}
    wait_for(lambda: all(_renew_time(client, n) != t for n, t in renewed.items()), 15,
             "every kubelet to renew its Lease with the new API server")
    after = ray_cluster.pod("hello")
    assert after["status"]["phase"] == "Running"
    assert after["status"]["containerStatuses"][0]["restartCount"] == \
        before["status"]["containerStatuses"][0]["restartCount"]
    assert _containers_by_pod(ray_cluster)["default/hello"] == pids      # same processes
    assert all(process_alive(p) for p in pids)
    # ... and the new API server schedules onto them again.
    ray_cluster.kubectl("run", "after-restart", "--image=minik8s/hello:v1")
    ray_cluster.wait_phase("after-restart")


def test_killing_a_node_stops_its_lease_and_its_containers(ray_cluster):
    node = ray_cluster.pod("pinned")["spec"]["nodeName"]
    pids = _containers_by_pod(ray_cluster)["default/pinned"]
    handle = raynodes.RayNodeLookup(ray_cluster.namespace)(node)
    assert handle.ping(5) == "Alive"
    from minik8s.cluster.bringup import chaos_kill_node
    assert chaos_kill_node(ray_cluster.data_dir, node) == 0
    wait_for(lambda: not any(process_alive(p) for p in pids), 10, "the node's containers to die")
    # The lookup pings all nodes in one batch at most once a second: Dead within ~1 s.
    wait_for(lambda: handle.ping(5) == "Dead", 5, "the handle to report Dead")
    client = ray_cluster.client()
    frozen = _renew_time(client, node)
    other = "node-1" if node != "node-1" else "node-3"
    first = _renew_time(client, other)
    # A live node renews within one heartbeat period (2 s); the dead one never again.
    wait_for(lambda: _renew_time(client, other) != first, 15, "another node's renewal")
    assert _renew_time(client, node) == frozen


def test_chaos_kill_scheduler_is_restarted_by_ray(ray_cluster, capsys):
    before = ray_cluster.actor_info("scheduler-0")["pid"]
    from minik8s.cluster.bringup import chaos_kill
    assert chaos_kill(ray_cluster.data_dir, "scheduler") == 0
    assert "Ray restarted scheduler-0" in capsys.readouterr().out
    assert ray_cluster.actor_info("scheduler-0")["pid"] != before
    ray_cluster.kubectl("run", "after-scheduler-crash", "--image=minik8s/hello:v1")
    ray_cluster.wait_phase("after-scheduler-crash", timeout=30)


def test_status_lists_components_and_nodes(ray_cluster, capsys):
    from minik8s.cluster.bringup import status
    assert status(ray_cluster.data_dir) == 0
    out = capsys.readouterr().out
    assert "scheduler-0" in out and "leader" in out
    assert "node-1" in out and "Ready" in out


def test_down_leaves_no_process_behind(ray_cluster):
    actors = {n: ray_cluster.actor_info(n)["pid"] for n in ray_cluster.actor_names()}
    containers = [p for pids in _containers_by_pod(ray_cluster).values() for p in pids]
    host = ray_cluster.state["pid"]
    assert containers and all(process_alive(p) for p in containers)
    assert ray_cluster.down() == 0
    wait_for(lambda: not any(process_alive(p) for p in [host, *actors.values(), *containers]), 15,
             "every process of the cluster to exit")
    assert not os.path.exists(os.path.join(ray_cluster.data_dir, "state.json"))
    assert raynodes.named_actors(ray_cluster.namespace) == []
    with open(ray_cluster.kubeconfig) as f:
        assert "minik8s" not in [c["name"] for c in (yaml.safe_load(f) or {}).get("contexts")
                                 or []]
