"""Defaulting, kind by kind, as Kubernetes' pkg/apis/*/v1/defaults.go does it.

Each test applies `apply_defaults` to a small manifest (what a student writes) and
checks the fields a real kube-apiserver would have filled in — and that values the
manifest does give are kept.
"""
import copy
import json

import pytest

from minik8s.api.defaults import apply_defaults, normalize_template
from minik8s.api.defaults_pod import image_tag


def defaulted(obj):
    obj = copy.deepcopy(obj)
    apply_defaults(obj)
    return obj


def pod(**spec):
    spec.setdefault("containers", [{"name": "web", "image": "nginx"}])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": spec}


def template(**spec):
    spec.setdefault("containers", [{"name": "web", "image": "nginx"}])
    return {"metadata": {"labels": {"app": "web"}}, "spec": spec}


def workload(kind, api="apps/v1", **spec):
    spec.setdefault("selector", {"matchLabels": {"app": "web"}})
    spec.setdefault("template", template())
    return {"apiVersion": api, "kind": kind, "metadata": {"name": "w", "namespace": "default"},
            "spec": spec}


# --- pod spec ------------------------------------------------------------------------

def test_pod_spec_defaults():
    spec = defaulted(pod())["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["securityContext"] == {}


def test_pod_spec_keeps_given_values():
    spec = defaulted(pod(restartPolicy="Never", dnsPolicy="Default", schedulerName="mine",
                         terminationGracePeriodSeconds=0))["spec"]
    assert (spec["restartPolicy"], spec["dnsPolicy"], spec["schedulerName"]) == \
        ("Never", "Default", "mine")
    assert spec["terminationGracePeriodSeconds"] == 0     # a pointer: 0 is a real value


def test_container_defaults():
    c = defaulted(pod(containers=[{"name": "c", "image": "nginx:1.25",
                                   "ports": [{"containerPort": 80}]}]))["spec"]["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"
    assert c["resources"] == {}
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


@pytest.mark.parametrize("image,policy", [
    ("nginx", "Always"),
    ("nginx:latest", "Always"),
    ("nginx:1.25", "IfNotPresent"),
    ("minik8s/hello:v1", "IfNotPresent"),
    ("localhost:5000/app", "Always"),          # the registry's port is not a tag
    ("localhost:5000/app:v2", "IfNotPresent"),
    ("myapp@sha256:abc", "IfNotPresent"),        # a digest and no tag
])
def test_image_pull_policy_follows_the_tag(image, policy):
    c = defaulted(pod(containers=[{"name": "c", "image": image}]))["spec"]["containers"][0]
    assert c["imagePullPolicy"] == policy


def test_image_pull_policy_given_is_kept():
    c = defaulted(pod(containers=[{"name": "c", "image": "nginx", "imagePullPolicy": "Never"}]))
    assert c["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_image_tag_parsing():
    assert image_tag("a/b/c:v1") == "v1"
    assert image_tag("host:1234/b") == "latest"
    assert image_tag("b@sha256:00") == ""


def test_probe_defaults():
    probe = {"httpGet": {"port": 8080}}
    c = defaulted(pod(containers=[{"name": "c", "image": "x", "livenessProbe": probe,
                                   "readinessProbe": {"tcpSocket": {"port": 80},
                                                      "timeoutSeconds": 0},
                                   "startupProbe": {"grpc": {"port": 9000}}}]))
    c = c["spec"]["containers"][0]
    assert c["livenessProbe"] == {"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
                                  "timeoutSeconds": 1, "periodSeconds": 10,
                                  "successThreshold": 1, "failureThreshold": 3}
    assert c["readinessProbe"]["timeoutSeconds"] == 1      # 0 is "unset" for Go ints
    assert c["startupProbe"]["grpc"] == {"port": 9000, "service": ""}


def test_lifecycle_http_hook_defaults():
    c = defaulted(pod(containers=[{"name": "c", "image": "x", "lifecycle": {
        "preStop": {"httpGet": {"port": 80}}}}]))["spec"]["containers"][0]
    assert c["lifecycle"]["preStop"]["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}


def test_env_field_ref_api_version():
    env = [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    c = defaulted(pod(containers=[{"name": "c", "image": "x", "env": env}]))
    assert c["spec"]["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"


def test_volume_defaults():
    vols = [{"name": "cfg", "configMap": {"name": "c"}},
            {"name": "sec", "secret": {"secretName": "s"}},
            {"name": "scratch"},
            {"name": "host", "hostPath": {"path": "/tmp"}},
            {"name": "mode", "configMap": {"name": "c", "defaultMode": 0o400}}]
    v = defaulted(pod(volumes=vols))["spec"]["volumes"]
    assert v[0]["configMap"]["defaultMode"] == 420
    assert v[1]["secret"]["defaultMode"] == 420
    assert v[2] == {"name": "scratch", "emptyDir": {}}
    assert v[3]["hostPath"] == {"path": "/tmp", "type": ""}
    assert v[4]["configMap"]["defaultMode"] == 0o400


def test_resource_quantities_are_stored_canonical():
    res = {"requests": {"cpu": 0.5, "memory": "1024Mi"}, "limits": {"cpu": 1}}
    c = defaulted(pod(containers=[{"name": "c", "image": "x", "resources": res}]))
    got = c["spec"]["containers"][0]["resources"]
    assert got["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert got["limits"] == {"cpu": "1"}


def test_pod_only_defaults():
    p = defaulted(pod(containers=[{"name": "c", "image": "x",
                                   "resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                                                 "requests": {"cpu": "500m"}}}]))
    spec = p["spec"]
    assert spec["enableServiceLinks"] is True
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    # requests default to limits, without overriding a given request
    assert spec["containers"][0]["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}


def test_host_network_pods_get_host_ports():
    p = defaulted(pod(hostNetwork=True, containers=[{"name": "c", "image": "x",
                                                     "ports": [{"containerPort": 80}]}]))
    assert p["spec"]["containers"][0]["ports"][0]["hostPort"] == 80


def test_service_account_mirrors_deprecated_field():
    assert defaulted(pod(serviceAccount="robot"))["spec"]["serviceAccountName"] == "robot"
    t = workload("Deployment", template=template(serviceAccountName="robot"))
    assert defaulted(t)["spec"]["template"]["spec"]["serviceAccount"] == "robot"


EXPECTED_TEMPLATE_SPEC = {
    "containers": [{"name": "web", "image": "nginx", "imagePullPolicy": "Always",
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File", "resources": {}}],
    "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
    "terminationGracePeriodSeconds": 30, "securityContext": {}}


@pytest.mark.parametrize("obj,get", [
    (workload("Deployment"), lambda o: o["spec"]["template"]),
    (workload("ReplicaSet"), lambda o: o["spec"]["template"]),
    (workload("StatefulSet"), lambda o: o["spec"]["template"]),
    (workload("DaemonSet"), lambda o: o["spec"]["template"]),
    (workload("Job", "batch/v1"), lambda o: o["spec"]["template"]),
    ({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
      "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template()}}}},
     lambda o: o["spec"]["jobTemplate"]["spec"]["template"]),
], ids=["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"])
def test_pod_templates_in_workloads_get_pod_spec_defaults(obj, get):
    spec = get(defaulted(obj))["spec"]
    assert spec == EXPECTED_TEMPLATE_SPEC
    # Pod-only defaults stay out of templates, as in Kubernetes.
    assert "enableServiceLinks" not in spec and "serviceAccountName" not in spec


# --- apps/v1 -------------------------------------------------------------------------

def test_deployment_defaults():
    spec = defaulted(workload("Deployment"))["spec"]
    assert spec["replicas"] == 1
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}


def test_deployment_recreate_gets_no_rolling_update():
    spec = defaulted(workload("Deployment", strategy={"type": "Recreate"}))["spec"]
    assert spec["strategy"] == {"type": "Recreate"}


def test_deployment_keeps_given_rolling_update_and_fills_the_other():
    spec = defaulted(workload("Deployment", replicas=0,
                              strategy={"rollingUpdate": {"maxSurge": 1}}))["spec"]
    assert spec["replicas"] == 0
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": "25%"}


def test_replicaset_defaults():
    assert defaulted(workload("ReplicaSet"))["spec"]["replicas"] == 1


def test_statefulset_defaults():
    sts = workload("StatefulSet", volumeClaimTemplates=[
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                "resources": {"requests": {"storage": "1Gi"}}}}])
    spec = defaulted(sts)["spec"]
    assert spec["replicas"] == 1
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain",
                                                            "whenScaled": "Retain"}
    claim = spec["volumeClaimTemplates"][0]
    assert claim["spec"]["volumeMode"] == "Filesystem"
    assert claim["status"] == {"phase": "Pending"}


def test_statefulset_explicit_rolling_update_type_gets_no_partition():
    spec = defaulted(workload("StatefulSet", updateStrategy={"type": "RollingUpdate"}))["spec"]
    assert spec["updateStrategy"] == {"type": "RollingUpdate"}


def test_daemonset_defaults():
    spec = defaulted(workload("DaemonSet"))["spec"]
    assert spec["updateStrategy"] == {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert spec["revisionHistoryLimit"] == 10
    on_delete = defaulted(workload("DaemonSet", updateStrategy={"type": "OnDelete"}))
    assert on_delete["spec"]["updateStrategy"] == {"type": "OnDelete"}


# --- batch/v1 ------------------------------------------------------------------------

def job(**spec):
    spec.setdefault("template", template(restartPolicy="Never"))
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default"}, "spec": spec}


def test_job_defaults():
    spec = defaulted(job())["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert spec["completionMode"] == "NonIndexed"
    assert spec["suspend"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert spec["template"]["spec"]["restartPolicy"] == "Never"   # kept, not "Always"


def test_job_with_only_parallelism_keeps_completions_unset():
    spec = defaulted(job(parallelism=3))["spec"]
    assert spec["parallelism"] == 3 and "completions" not in spec


def test_job_takes_template_labels():
    assert defaulted(job())["metadata"]["labels"] == {"app": "web"}


def test_job_selector_is_generated_from_uid():
    j = job()
    j["metadata"]["uid"] = "1234"
    j = defaulted(j)
    assert j["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "1234"}}
    labels = j["spec"]["template"]["metadata"]["labels"]
    assert labels["batch.kubernetes.io/job-name"] == "pi" and labels["controller-uid"] == "1234"
    assert labels["app"] == "web"


def test_job_selector_not_generated_without_uid_or_with_manual_selector():
    assert "selector" not in defaulted(job())["spec"]
    manual = job(manualSelector=True, selector={"matchLabels": {"app": "web"}})
    manual["metadata"]["uid"] = "1234"
    assert defaulted(manual)["spec"]["selector"] == {"matchLabels": {"app": "web"}}


def test_cronjob_defaults_and_job_template_is_not_job_defaulted():
    cj = defaulted({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                    "spec": {"schedule": "*/1 * * * *",
                             "jobTemplate": {"spec": {"template": template()}}}})
    spec = cj["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"]) == ("Allow", False)
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 1)
    assert "backoffLimit" not in spec["jobTemplate"]["spec"]


# --- core/v1 -------------------------------------------------------------------------

def service(**spec):
    spec.setdefault("ports", [{"port": 80}])
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"}, "spec": spec}


def test_service_defaults():
    spec = defaulted(service(selector={"app": "web"}))["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["ipFamilies"] == ["IPv4"]
    assert spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert "externalTrafficPolicy" not in spec
    assert "clusterIP" not in spec          # allocation is admission's job


def test_service_named_target_port_is_kept():
    spec = defaulted(service(ports=[{"port": 80, "targetPort": "http"}]))["spec"]
    assert spec["ports"][0]["targetPort"] == "http"


def test_nodeport_and_loadbalancer_service_defaults():
    spec = defaulted(service(type="NodePort"))["spec"]
    assert spec["externalTrafficPolicy"] == "Cluster"
    lb = defaulted(service(type="LoadBalancer"))["spec"]
    assert lb["allocateLoadBalancerNodePorts"] is True
    assert lb["externalTrafficPolicy"] == "Cluster"


def test_session_affinity_client_ip_timeout():
    spec = defaulted(service(sessionAffinity="ClientIP"))["spec"]
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_external_name_and_headless_services():
    ext = defaulted(service(type="ExternalName", externalName="example.com", ports=[]))["spec"]
    assert "ipFamilies" not in ext and "ipFamilyPolicy" not in ext
    headless = defaulted(service(clusterIP="None"))["spec"]
    assert headless["ipFamilyPolicy"] == "RequireDualStack"


def test_namespace_defaults():
    ns = defaulted({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}})
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "dev"}


def test_terminating_namespace_finalizer_stays_removed():
    ns = {"apiVersion": "v1", "kind": "Namespace",
          "metadata": {"name": "dev", "deletionTimestamp": "2025-01-01T00:00:00Z"},
          "spec": {}, "status": {"phase": "Terminating"}}
    ns = defaulted(ns)
    assert "finalizers" not in ns["spec"] and ns["status"]["phase"] == "Terminating"


def test_secret_defaults_and_string_data():
    s = defaulted({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "data": {"a": "eA=="}, "stringData": {"user": "fred", "a": "y"}})
    assert s["type"] == "Opaque"
    assert s["data"] == {"a": "eQ==", "user": "ZnJlZA=="}      # stringData wins
    assert "stringData" not in s


def test_persistent_volume_defaults():
    pv = defaulted({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"},
                    "spec": {"capacity": {"storage": "1024Mi"}, "hostPath": {"path": "/d"}}})
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["volumeMode"] == "Filesystem"
    assert pv["spec"]["capacity"] == {"storage": "1Gi"}
    assert pv["status"] == {"phase": "Pending"}


def test_persistent_volume_claim_defaults():
    pvc = defaulted({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": "c", "namespace": "default"}, "spec": {}})
    assert pvc["spec"]["volumeMode"] == "Filesystem"
    assert pvc["status"] == {"phase": "Pending"}


def test_endpoints_port_protocol():
    ep = defaulted({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "e"},
                    "subsets": [{"addresses": [{"ip": "127.0.0.2"}], "ports": [{"port": 80}]}]})
    assert ep["subsets"][0]["ports"][0]["protocol"] == "TCP"


def test_node_allocatable_defaults_to_capacity():
    node = defaulted({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
                      "status": {"capacity": {"cpu": "4", "pods": "110"}}})
    assert node["status"]["allocatable"] == {"cpu": "4", "pods": "110"}


# --- autoscaling, rbac, the rest -----------------------------------------------------

def test_hpa_defaults():
    hpa = defaulted({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                     "metadata": {"name": "h"}, "spec": {"maxReplicas": 5}})
    assert hpa["spec"]["minReplicas"] == 1
    assert hpa["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    assert "behavior" not in hpa["spec"]


def test_hpa_behavior_defaults_once_given():
    hpa = defaulted({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                     "metadata": {"name": "h"},
                     "spec": {"maxReplicas": 5, "behavior": {"scaleDown": {
                         "stabilizationWindowSeconds": 60}}}})
    b = hpa["spec"]["behavior"]
    assert b["scaleDown"] == {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                              "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert b["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert b["scaleUp"]["policies"][0] == {"type": "Pods", "value": 4, "periodSeconds": 15}


def test_rbac_binding_api_groups():
    rb = defaulted({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": "b"}, "roleRef": {"kind": "Role", "name": "r"},
                    "subjects": [{"kind": "User", "name": "jane"},
                                 {"kind": "ServiceAccount", "name": "default"}]})
    assert rb["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
    assert rb["subjects"][0]["apiGroup"] == "rbac.authorization.k8s.io"
    assert "apiGroup" not in rb["subjects"][1]


@pytest.mark.parametrize("obj", [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}},
    {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "involvedObject": {}},
    {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"},
     "spec": {}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
     "spec": {"rules": [{"http": {"paths": [{"path": "/"}]}}]}},
    {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}},
], ids=["ConfigMap", "Event", "Lease", "Ingress", "unknown-kind"])
def test_kinds_without_defaults_are_untouched(obj):
    assert defaulted(obj) == obj


ALL_KINDS = [pod(), workload("Deployment"), workload("ReplicaSet"), workload("StatefulSet"),
             workload("DaemonSet"), job(), service(type="NodePort"), service(clusterIP="None"),
             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}},
             {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "stringData": {"a": "b"}},
             {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
              "metadata": {"name": "h"}, "spec": {"behavior": {}}}]


@pytest.mark.parametrize("obj", ALL_KINDS, ids=lambda o: o["kind"])
def test_defaulting_is_idempotent(obj):
    once = defaulted(obj)
    assert defaulted(once) == once


@pytest.mark.parametrize("obj", [
    {"kind": "Pod", "spec": "oops"},
    {"kind": "Pod", "spec": {"containers": "oops", "volumes": [3]}},
    {"kind": "Deployment", "spec": {"template": [], "strategy": "fast"}},
    {"kind": "Service", "spec": {"ports": ["80"]}},
    {"kind": "Job", "metadata": {"uid": "u"}, "spec": {"template": {"metadata": []}}},
    "not an object",
])
def test_malformed_objects_do_not_raise(obj):
    apply_defaults(obj)


# --- normalize_template ----------------------------------------------------------------

def test_normalize_template_is_idempotent_and_pure():
    t = template(volumes=[{"name": "v"}])
    before = copy.deepcopy(t)
    n = normalize_template(t)
    assert t == before
    assert normalize_template(n) == n


def test_rollout_undo_shaped_template_normalises_like_the_original():
    original = template()
    stored = defaulted(workload("Deployment"))["spec"]["template"]
    stored["metadata"]["labels"]["pod-template-hash"] = "6d4cf56db6"
    # what `kubectl rollout undo` sends back: the RS template with nulls and empties
    undo = json.loads(json.dumps(stored))
    undo["metadata"]["creationTimestamp"] = None
    undo["spec"]["containers"][0]["resources"] = {}
    undo["spec"]["containers"][0]["env"] = []
    assert normalize_template(undo) == normalize_template(original)
    assert "pod-template-hash" not in normalize_template(undo)["metadata"]["labels"]


def test_normalize_template_sees_a_real_change():
    assert normalize_template(template()) != \
        normalize_template(template(containers=[{"name": "web", "image": "nginx:1.25"}]))
