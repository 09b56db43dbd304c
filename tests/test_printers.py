"""Server-side printing: the Table `kubectl get` prints, cell for cell as Kubernetes."""
import pytest

from minik8s.api.errors import BadRequest
from minik8s.api.meta import parse_time, rfc3339
from minik8s.api.printers import PRINTERS, columns_for, human_duration, row_for, table

NOW = parse_time("2024-05-01T12:00:00Z")


def ago(seconds: float) -> str:
    return rfc3339(NOW - seconds)


def meta(name, age_s=10, **extra):
    return {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "7",
            "creationTimestamp": ago(age_s), "labels": {"app": "web"}, **extra}


# ------------------------------------------------------------------ human_duration
@pytest.mark.parametrize("seconds, text", [
    (0, "0s"), (0.9, "0s"), (-1, "0s"), (-1.9, "0s"), (-2, "<invalid>"),
    (10, "10s"), (119, "119s"), (120, "2m"), (200, "3m20s"), (599, "9m59s"),
    (600, "10m"), (179 * 60 + 59, "179m"), (3 * 3600, "3h"), (3 * 3600 + 300, "3h5m"),
    (7 * 3600 + 59 * 60 + 59, "7h59m"), (8 * 3600 + 300, "8h"), (47 * 3600, "47h"),
    (48 * 3600, "2d"), (2 * 86400 + 3 * 3600, "2d3h"), (7 * 86400 + 23 * 3600, "7d23h"),
    (8 * 86400, "8d"), (729 * 86400, "729d"), (730 * 86400, "2y"), (733 * 86400, "2y3d"),
    (8 * 365 * 86400, "8y"), (20 * 365 * 86400 + 5 * 86400, "20y"),
])
def test_human_duration_table(seconds, text):
    assert human_duration(seconds) == text


# ------------------------------------------------------------------ pods
def pod(phase="Running", statuses=(), init=(), init_statuses=(), conditions=(), age_s=10,
        containers=("app",), **extra):
    p = {"apiVersion": "v1", "kind": "Pod", "metadata": meta("web-1", age_s),
         "spec": {"containers": [{"name": c, "image": "nginx"} for c in containers],
                  "initContainers": list(init)},
         "status": {"phase": phase, "containerStatuses": list(statuses),
                    "initContainerStatuses": list(init_statuses), "conditions": list(conditions)}}
    for key, value in extra.items():
        p[key].update(value)
    return p


def running(name="app", ready=True, restarts=0, **extra):
    return {"name": name, "ready": ready, "restartCount": restarts,
            "state": {"running": {"startedAt": ago(60)}}, **extra}


def waiting(reason, name="app", restarts=0, **extra):
    return {"name": name, "ready": False, "restartCount": restarts,
            "state": {"waiting": {"reason": reason}}, **extra}


def terminated(reason="", code=0, name="app", signal=0):
    t = {"exitCode": code, "reason": reason} if reason else {"exitCode": code}
    if signal:
        t["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": t}}


def cells(obj):
    return row_for(obj, NOW)


def test_running_pod_row_matches_the_contract_example():
    p = pod(statuses=[running()], spec={"nodeName": "node-1"},
            status={"podIP": "10.244.0.2", "podIPs": [{"ip": "10.244.0.2"}]})
    assert cells(p) == ["web-1", "1/1", "Running", "0", "10s", "10.244.0.2", "node-1",
                        "<none>", "<none>"]


@pytest.mark.parametrize("the_pod, ready, status", [
    (pod(phase="Pending", statuses=[]), "0/1", "Pending"),
    (pod(phase="Pending", statuses=[waiting("ContainerCreating")]), "0/1", "ContainerCreating"),
    (pod(statuses=[waiting("CrashLoopBackOff", restarts=3)]), "0/1", "CrashLoopBackOff"),
    (pod(phase="Pending", statuses=[waiting("ErrImagePull")]), "0/1", "ErrImagePull"),
    (pod(phase="Succeeded", statuses=[terminated("Completed")]), "0/1", "Completed"),
    (pod(phase="Failed", statuses=[terminated("Error", 1)]), "0/1", "Error"),
    (pod(phase="Failed", statuses=[terminated(code=137)]), "0/1", "ExitCode:137"),
    (pod(phase="Failed", statuses=[terminated(code=0, signal=9)]), "0/1", "Signal:9"),
    (pod(statuses=[running(ready=False)]), "0/1", "Running"),
    # the first container's reason wins: containers are read last to first
    (pod(containers=("a", "b"), statuses=[waiting("ImagePullBackOff", "a"), running("b")]),
     "1/2", "ImagePullBackOff"),
    # one container completed, another still running: Running if the pod is Ready
    (pod(containers=("a", "b"), statuses=[terminated("Completed", name="a"), running("b")],
         conditions=[{"type": "Ready", "status": "True"}]), "1/2", "Running"),
    (pod(containers=("a", "b"), statuses=[terminated("Completed", name="a"), running("b")]),
     "1/2", "NotReady"),
    (pod(phase="Pending", conditions=[{"type": "PodScheduled", "status": "False",
                                       "reason": "SchedulingGated"}]), "0/1", "SchedulingGated"),
    (pod(phase="Failed", status={"reason": "Evicted"}), "0/1", "Evicted"),
])
def test_pod_status_is_reason_aware(the_pod, ready, status):
    row = cells(the_pod)
    assert (row[1], row[2]) == (ready, status)


INIT = [{"name": "setup", "image": "busybox"}, {"name": "migrate", "image": "busybox"}]


@pytest.mark.parametrize("init_statuses, status", [
    ([waiting("PodInitializing", "setup"), waiting("PodInitializing", "migrate")], "Init:0/2"),
    ([running("setup", ready=False), waiting("PodInitializing", "migrate")], "Init:0/2"),
    ([terminated("Completed", name="setup"), running("migrate", ready=False)], "Init:1/2"),
    ([terminated("Error", 1, "setup"), waiting("PodInitializing", "migrate")], "Init:Error"),
    ([terminated(code=2, name="setup"), waiting("PodInitializing", "migrate")], "Init:ExitCode:2"),
    ([waiting("CrashLoopBackOff", "setup", restarts=4)], "Init:CrashLoopBackOff"),
])
def test_init_containers_name_the_status(init_statuses, status):
    p = pod(phase="Pending", init=INIT, init_statuses=init_statuses,
            statuses=[waiting("PodInitializing")])
    assert cells(p)[2] == status
    assert cells(p)[1] == "0/1"


def test_after_init_the_app_containers_decide():
    done = [terminated("Completed", name="setup"), terminated("Completed", name="migrate")]
    p = pod(phase="Pending", init=INIT, init_statuses=done, statuses=[waiting("PodInitializing")])
    assert cells(p)[2] == "PodInitializing"
    p = pod(init=INIT, init_statuses=done, statuses=[running()])
    assert cells(p)[1:3] == ["1/1", "Running"]


def test_started_sidecar_counts_as_a_container():
    init = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
    p = pod(init=init, init_statuses=[running("proxy", started=True)], statuses=[running()],
            conditions=[{"type": "Initialized", "status": "True"}])
    assert cells(p)[1:3] == ["2/2", "Running"]


def test_restarts_show_when_the_last_one_was():
    crash = waiting("CrashLoopBackOff", restarts=3)
    crash["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ago(120)}}
    assert cells(pod(statuses=[crash]))[3] == "3 (2m ago)"
    assert cells(pod(statuses=[running(restarts=2)]))[3] == "2"     # no lastState: no "ago"


def test_restarts_sum_over_containers_and_take_the_latest_restart():
    a, b = running("a", restarts=1), running("b", restarts=2)
    a["lastState"] = {"terminated": {"finishedAt": ago(3600 * 5)}}
    b["lastState"] = {"terminated": {"finishedAt": ago(200)}}
    assert cells(pod(containers=("a", "b"), statuses=[a, b]))[3] == "3 (3m20s ago)"


def test_deleted_pods_read_terminating_unless_finished():
    deleting = {"metadata": {"deletionTimestamp": ago(1)}}
    assert cells(pod(statuses=[running()], **deleting))[2] == "Terminating"
    assert cells(pod(phase="Succeeded", statuses=[terminated("Completed")], **deleting))[2] == "Completed"
    lost = pod(statuses=[running()], status={"reason": "NodeLost"}, **deleting)
    assert cells(lost)[2] == "Unknown"


def test_pod_wide_cells():
    p = pod(statuses=[running()], spec={"readinessGates": [{"conditionType": "a"},
                                                           {"conditionType": "b"}]},
            status={"nominatedNodeName": "node-2"},
            conditions=[{"type": "a", "status": "True"}, {"type": "b", "status": "False"}])
    assert cells(p)[5:] == ["<none>", "<none>", "node-2", "1/2"]


# ------------------------------------------------------------------ services, endpoints
def service(type_="ClusterIP", ports=({"port": 80, "protocol": "TCP"},), **spec):
    return {"kind": "Service", "metadata": meta("web", 300),
            "spec": {"type": type_, "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                     "ports": list(ports), "selector": {"app": "web", "tier": "fe"}, **spec}}


def test_service_rows():
    assert cells(service()) == ["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "5m",
                                "app=web,tier=fe"]
    node_port = service("NodePort", [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                                     {"port": 53, "protocol": "UDP"}])
    assert cells(node_port)[4] == "80:30080/TCP,53/UDP"
    assert cells(service(ports=[]))[4] == "<none>"
    assert cells(service(externalIPs=["1.2.3.4"]))[3] == "1.2.3.4"
    assert cells(service("LoadBalancer"))[3] == "<pending>"
    lb = service("LoadBalancer")
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}]}}
    assert cells(lb)[3] == "5.6.7.8"
    assert cells(service("ExternalName", externalName="db.example.com"))[3] == "db.example.com"
    headless = service(clusterIP="None", clusterIPs=["None"], selector={})
    assert cells(headless)[2] == "None" and cells(headless)[6] == "<none>"


def endpoints(*subsets):
    return {"kind": "Endpoints", "metadata": meta("web"), "subsets": list(subsets)}


def test_endpoints_rows():
    assert cells(endpoints())[1] == "<none>"
    two = {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 8080}]}
    assert cells(endpoints(two))[1] == "10.0.0.1:8080,10.0.0.2:8080"
    many = {"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 6)], "ports": [{"port": 80}]}
    assert cells(endpoints(many))[1] == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more..."
    headless = {"addresses": [{"ip": "10.0.0.1"}]}
    assert cells(endpoints(headless))[1] == "10.0.0.1"
    v6 = {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}
    assert cells(endpoints(v6))[1] == "[fd00::1]:80"


# ------------------------------------------------------------------ nodes
def node(ready="True", unschedulable=False, labels=None):
    n = {"kind": "Node", "metadata": {"name": "node-1", "creationTimestamp": ago(3 * 86400),
                                      "labels": labels or {}},
         "spec": {"unschedulable": unschedulable} if unschedulable else {},
         "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}],
                    "nodeInfo": {"kubeletVersion": "v1.32.0-minik8s"},
                    "addresses": [{"type": "InternalIP", "address": "127.0.0.2"}]}}
    if ready is not None:
        n["status"]["conditions"].append({"type": "Ready", "status": ready})
    return n


@pytest.mark.parametrize("the_node, status", [
    (node("True"), "Ready"),
    (node("False"), "NotReady"),
    (node("Unknown"), "NotReady"),          # a lost heartbeat prints NotReady, as in kubectl
    (node(None), "Unknown"),
    (node("True", unschedulable=True), "Ready,SchedulingDisabled"),
    (node("Unknown", unschedulable=True), "NotReady,SchedulingDisabled"),
])
def test_node_status(the_node, status):
    assert cells(the_node)[1] == status


def test_node_roles_version_and_wide_cells():
    labels = {"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "",
              "node-role.kubernetes.io/": "", "kubernetes.io/role": "infra"}
    row = cells(node(labels=labels))
    assert row[:5] == ["node-1", "Ready", "control-plane,infra,worker", "3d", "v1.32.0-minik8s"]
    assert row[5:] == ["127.0.0.2", "<none>", "<unknown>", "<unknown>", "<unknown>"]
    assert cells(node())[2] == "<none>"


# ------------------------------------------------------------------ workloads and the rest
def test_deployment_and_replicaset_rows():
    tmpl = {"spec": {"containers": [{"name": "a", "image": "nginx:1.25"},
                                    {"name": "b", "image": "busybox"}]}}
    d = {"kind": "Deployment", "metadata": meta("web", 3600),
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": tmpl},
         "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert cells(d) == ["web", "2/3", 3, 2, "60m", "a,b", "nginx:1.25,busybox", "app=web"]
    rs = {"kind": "ReplicaSet", "metadata": meta("web-abc"),
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": tmpl},
          "status": {"replicas": 3}}
    assert cells(rs) == ["web-abc", 3, 3, 0, "10s", "a,b", "nginx:1.25,busybox", "app=web"]


@pytest.mark.parametrize("conditions, deleting, status", [
    ([{"type": "Complete", "status": "True"}], False, "Complete"),
    ([{"type": "Failed", "status": "True"}], False, "Failed"),
    ([], True, "Terminating"),
    ([{"type": "Suspended", "status": "True"}], False, "Suspended"),
    ([{"type": "Complete", "status": "False"}], False, "Running"),
])
def test_job_status(conditions, deleting, status):
    job = {"kind": "Job", "metadata": meta("pi", deletionTimestamp=ago(1)) if deleting else meta("pi"),
           "spec": {"completions": 1}, "status": {"conditions": conditions}}
    assert cells(job)[1] == status


def test_job_completions_and_duration():
    job = {"kind": "Job", "metadata": meta("pi"), "spec": {"completions": 3, "parallelism": 2},
           "status": {"succeeded": 1, "startTime": ago(300), "completionTime": ago(100)}}
    assert cells(job)[2:4] == ["1/3", "3m20s"]
    job["spec"] = {"parallelism": 4}
    job["status"] = {"startTime": ago(30)}
    assert cells(job)[2:4] == ["0/1 of 4", "30s"]
    job["status"] = {}
    assert cells(job)[3] == ""


def test_event_row_and_wide_cells():
    ev = {"kind": "Event", "metadata": meta("web-1.17f3"), "type": "Normal", "reason": "Pulled",
          "message": " Successfully pulled image\n", "firstTimestamp": ago(600),
          "lastTimestamp": ago(30), "count": 4,
          "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
          "source": {"component": "kubelet", "host": "node-1"}}
    assert cells(ev) == ["30s", "Normal", "Pulled", "pod/web-1", "spec.containers{app}",
                         "kubelet, node-1", "Successfully pulled image", "10m", 4, "web-1.17f3"]
    new_api = {"kind": "Event", "metadata": meta("x"), "eventTime": rfc3339(NOW - 5),
               "reportingComponent": "scheduler", "involvedObject": {"kind": "Node"}}
    row = cells(new_api)
    assert (row[0], row[3], row[5], row[7], row[8]) == ("5s", "node", "scheduler", "5s", 1)


def test_config_and_misc_rows():
    cm = {"kind": "ConfigMap", "metadata": meta("cfg"), "data": {"a": "1", "b": "2"},
          "binaryData": {"c": "AA=="}}
    assert cells(cm) == ["cfg", 3, "10s"]
    secret = {"kind": "Secret", "metadata": meta("s"), "type": "Opaque", "data": {"k": "dg=="}}
    assert cells(secret) == ["s", "Opaque", 1, "10s"]
    ns = {"kind": "Namespace", "metadata": meta("dev"), "status": {"phase": "Active"}}
    assert cells(ns) == ["dev", "Active", "10s"]
    lease = {"kind": "Lease", "metadata": meta("node-1"), "spec": {"holderIdentity": "node-1"}}
    assert cells(lease) == ["node-1", "node-1", "10s"]
    rb = {"kind": "RoleBinding", "metadata": meta("rb"), "roleRef": {"kind": "Role", "name": "r"},
          "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                       {"kind": "ServiceAccount", "name": "ci", "namespace": "build"},
                       {"kind": "User", "name": "bob"}]}
    assert cells(rb) == ["rb", "Role/r", "10s", "alice, bob", "devs", "build/ci"]
    cr = {"kind": "ControllerRevision", "metadata": meta("web-7c9", ownerReferences=[
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": True}]),
        "revision": 2}
    assert cells(cr) == ["web-7c9", "statefulset.apps/web", 2, "10s"]


def test_hpa_targets():
    hpa = {"kind": "HorizontalPodAutoscaler", "metadata": meta("web"),
           "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5,
                    "minReplicas": 1, "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "target": {
                            "type": "Utilization", "averageUtilization": 50}}}]},
           "status": {"currentReplicas": 2}}
    assert cells(hpa) == ["web", "Deployment/web", "cpu: <unknown>/50%", "1", 5, 2, "10s"]
    hpa["status"]["currentMetrics"] = [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 12, "averageValue": "120m"}}}]
    assert cells(hpa)[2] == "cpu: 12%/50%"


def test_pv_and_pvc_rows():
    pv = {"kind": "PersistentVolume", "metadata": meta("pv1"),
          "spec": {"capacity": {"storage": "1024Mi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                   "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "local",
                   "claimRef": {"namespace": "default", "name": "data"}},
          "status": {"phase": "Bound"}}
    assert cells(pv) == ["pv1", "1Gi", "RWO,RWX", "Retain", "Bound", "default/data", "local",
                         "<unset>", "", "10s", "<unset>"]
    pvc = {"kind": "PersistentVolumeClaim", "metadata": meta("data"),
           "spec": {"storageClassName": "local"}, "status": {"phase": "Pending"}}
    assert cells(pvc)[:6] == ["data", "Pending", "", "", "", "local"]


# ------------------------------------------------------------------ Table shape
def test_table_shape():
    pods = [pod(statuses=[running()]), pod(phase="Succeeded", statuses=[terminated("Completed")])]
    pods[1]["metadata"] = meta("web-2")
    t = table(pods, "pods", NOW, "1014")
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"] == {"resourceVersion": "1014"}
    names = [(c["name"], c["priority"]) for c in t["columnDefinitions"]]
    assert names == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0),
                     ("IP", 1), ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    assert set(t["columnDefinitions"][0]) == {"name", "type", "format", "description", "priority"}
    assert t["columnDefinitions"][0]["format"] == "name"
    row = t["rows"][0]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": pods[0]["metadata"]}
    assert "conditions" not in row
    assert t["rows"][1]["conditions"] == [{"type": "Completed", "status": "True",
                                           "reason": "Succeeded",
                                           "message": "The pod has completed successfully."}]
    row["object"]["metadata"]["labels"]["x"] = "y"          # the Table holds copies
    assert "x" not in pods[0]["metadata"]["labels"]


def test_include_object():
    p = pod(statuses=[running()])
    assert table([p], "Pod", NOW, "1", "Object")["rows"][0]["object"] == p
    assert "object" not in table([p], "Pod", NOW, "1", "None")["rows"][0]
    with pytest.raises(BadRequest):
        table([p], "Pod", NOW, "1", "Everything")


def test_kinds_without_a_printer_get_name_and_created_at():
    role = {"kind": "Role", "metadata": meta("reader", 100)}
    t = table([role], "roles", NOW, "3")
    assert [(c["name"], c["type"]) for c in t["columnDefinitions"]] == [("Name", "string"),
                                                                        ("Created At", "date")]
    assert t["rows"][0]["cells"] == ["reader", "2024-05-01T11:58:20Z"]
    assert columns_for("Widget") == columns_for("ClusterRole")


def test_kind_names_resolve_like_kubectl():
    assert columns_for("po") == columns_for("pods") == columns_for("Pod")
    assert columns_for("deployments.apps") == columns_for("Deployment")


@pytest.mark.parametrize("kind", sorted(PRINTERS))
def test_every_row_has_one_cell_per_column_even_for_a_bare_object(kind):
    bare = {"kind": kind, "metadata": {"name": "x"}}
    row = row_for(bare, NOW)
    assert len(row) == len(columns_for(kind))
    assert row[[c.name for c in columns_for(kind)].index("Name")] == "x"
    if "Age" in [c.name for c in columns_for(kind)]:
        assert "<unknown>" in row                         # no creationTimestamp
