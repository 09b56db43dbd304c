"""The real kubectl against minik8s: the session a student types in the first lab.

Every test drives the kubectl 1.32 on this machine (through the session's HTTP API
server, tests/conftest.py) and checks both what kubectl prints and what was stored.
The API server runs no controllers here, so a Deployment stays at 0 ready replicas and
`rollout ...` commands (which wait for the deployment controller) are not exercised.
Each test works in its own namespace: the server is shared by the whole session.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time

import pytest
import yaml

from minik8s.client.inprocess import InProcessClient


def ok(result) -> str:
    assert result.returncode == 0, f"rc={result.returncode}\n{result.stderr}"
    return result.stdout


def table(out: str) -> list:
    """`kubectl get` output as rows of cells (kubectl separates columns by 3+ spaces)."""
    return [[c.strip() for c in line.split("   ") if c.strip()] for line in out.splitlines()
            if line.strip()]


def manifest(ns: str, *, replicas=2, image="minik8s/hello:v1", color="blue",
             password="hunter2", port=80, with_namespace=True) -> str:
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}] \
        if with_namespace else []
    docs += [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web", "tier": "front"}},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "hello", "image": image,
                                                        "ports": [{"containerPort": 8080}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": port, "targetPort": 8080}]}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": ns},
         "data": {"color": color}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pw", "namespace": ns},
         "stringData": {"password": password}},
    ]
    return yaml.safe_dump_all(docs)


@pytest.fixture(scope="module")
def cluster(http_server):
    return InProcessClient(http_server.api)


def test_version_and_api_resources(kubectl):
    assert "Server Version: v1.32.4-minik8s" in ok(kubectl("version"))
    rows = {r[0]: r[1:] for r in table(ok(kubectl("api-resources")))}
    assert rows["NAME"] == ["SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert rows["pods"] == ["po", "v1", "true", "Pod"]
    assert rows["deployments"] == ["deploy", "apps/v1", "true", "Deployment"]
    assert rows["namespaces"] == ["ns", "v1", "false", "Namespace"]
    assert rows["services"] == ["svc", "v1", "true", "Service"]


def test_create_generators_are_decoded_from_protobuf(kubectl, cluster):
    ns = "kc-create"
    assert ok(kubectl("create", "namespace", ns)) == f"namespace/{ns} created\n"
    ok(kubectl("create", "configmap", "cfg", "-n", ns, "--from-literal=color=blue",
               "--from-literal=empty="))
    ok(kubectl("create", "secret", "generic", "pw", "-n", ns, "--from-literal=password=hunter2"))
    ok(kubectl("create", "deployment", "web", "-n", ns, "--image=minik8s/hello:v1",
               "--replicas=0", "--port=8080"))
    ok(kubectl("create", "service", "nodeport", "web", "-n", ns, "--tcp=80:8080",
               "--node-port=30913"))
    ok(kubectl("create", "serviceaccount", "robot", "-n", ns))
    ok(kubectl("create", "job", "once", "-n", ns, "--image=busybox", "--", "echo", "hi"))
    assert cluster.get("namespaces", ns)["status"]["phase"] == "Active"
    assert cluster.get("configmaps", "cfg", ns)["data"] == {"color": "blue", "empty": ""}
    secret = cluster.get("secrets", "pw", ns)
    assert (secret["data"], secret["type"]) == ({"password": "aHVudGVyMg=="}, "Opaque")
    deploy = cluster.get("deployments", "web", ns)
    assert deploy["spec"]["replicas"] == 0          # a pointer field: an explicit 0 is kept
    assert deploy["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 8080, "protocol": "TCP"}]
    port = cluster.get("services", "web", ns)["spec"]["ports"][0]
    assert (port["port"], port["targetPort"], port["nodePort"]) == (80, 8080, 30913)
    assert cluster.get("serviceaccounts", "robot", ns)["metadata"]["name"] == "robot"
    job = cluster.get("jobs", "once", ns)
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]
    # A generator outside the decoded subset fails with advice, not with garbage.
    r = kubectl("create", "role", "reader", "-n", ns, "--verb=get", "--resource=pods")
    assert r.returncode == 1
    assert "Error from server (UnsupportedMediaType)" in r.stderr
    assert "--dry-run=client -o yaml | kubectl apply -f -" in r.stderr


def test_apply_twice_lands_the_change_then_delete(kubectl, cluster):
    ns = "kc-apply"
    out = ok(kubectl("apply", "-f", "-", input=manifest(ns)))
    assert out.splitlines() == [f"namespace/{ns} created", "deployment.apps/web created",
                                "service/web created", "configmap/cfg created",
                                "secret/pw created"]
    changed = manifest(ns, replicas=3, image="minik8s/hello:v2", color="red",
                       password="s3cret", port=8081)
    out = ok(kubectl("apply", "-f", "-", input=changed)).splitlines()
    assert out[:4] == [f"namespace/{ns} unchanged", "deployment.apps/web configured",
                       "service/web configured", "configmap/cfg configured"]
    deploy = cluster.get("deployments", "web", ns)
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "minik8s/hello:v2"
    assert deploy["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in deploy["metadata"]["annotations"]
    assert [p["port"] for p in cluster.get("services", "web", ns)["spec"]["ports"]] == [8081]
    assert cluster.get("configmaps", "cfg", ns)["data"] == {"color": "red"}
    assert cluster.get("secrets", "pw", ns)["data"] == {"password": "czNjcmV0"}
    # Applying the same file again changes nothing (stringData is write-only, so the
    # Secret is re-sent every time — as in Kubernetes).
    out = ok(kubectl("apply", "-f", "-", input=changed)).splitlines()
    assert out[1:4] == ["deployment.apps/web unchanged", "service/web unchanged",
                        "configmap/cfg unchanged"]
    # delete -f (without the Namespace: its deletion waits for the namespace controller)
    out = ok(kubectl("delete", "-f", "-", input=manifest(ns, with_namespace=False)))
    assert out.splitlines() == ['deployment.apps "web" deleted', 'service "web" deleted',
                                'configmap "cfg" deleted', 'secret "pw" deleted']
    assert cluster.list("deployments", ns).items == []
    assert cluster.list("configmaps", ns).items == []


def test_apply_of_an_invalid_deployment_is_refused_with_the_field(kubectl):
    bad = manifest("kc-invalid", replicas=-1)
    r = kubectl("apply", "-f", "-", input=bad)
    assert r.returncode == 1
    # kubectl prints an Invalid Status with causes as "The <Kind> <name> is invalid: ..."
    assert ('The Deployment "web" is invalid: spec.replicas: Invalid value: -1: '
            'must be greater than or equal to 0') in r.stderr
    assert "namespace/kc-invalid created" in r.stdout      # the valid documents went in


def test_get_in_every_output_format(kubectl, cluster):
    ns = "kc-get"
    ok(kubectl("apply", "-f", "-", input=manifest(ns)))
    rows = table(ok(kubectl("get", "deploy", "-n", ns)))
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[1][:4] == ["web", "0/2", "0", "0"]
    rows = table(ok(kubectl("get", "deployments", "-n", ns, "-o", "wide")))
    assert rows[0][5:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert rows[1][5:] == ["hello", "minik8s/hello:v1", "app=web"]
    rows = table(ok(kubectl("get", "svc", "web", "-n", ns, "-o", "wide")))
    assert rows[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    assert rows[1][1] == "ClusterIP" and rows[1][4] == "80/TCP" and rows[1][6] == "app=web"
    as_yaml = yaml.safe_load(ok(kubectl("get", "deploy", "web", "-n", ns, "-o", "yaml")))
    assert as_yaml["kind"] == "Deployment"
    assert isinstance(as_yaml["metadata"]["resourceVersion"], str)
    as_json = json.loads(ok(kubectl("get", "cm", "-n", ns, "-o", "json")))
    assert as_json["kind"] == "List" and as_json["items"][0]["data"] == {"color": "blue"}
    assert ok(kubectl("get", "deploy", "web", "-n", ns, "-o",
                      "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}")) \
        == "2 minik8s/hello:v1"
    rows = table(ok(kubectl("get", "deploy", "-n", ns, "-l", "app=web", "--show-labels")))
    assert rows[0][-1] == "LABELS" and rows[1][-1] == "app=web,tier=front"
    r = kubectl("get", "deploy", "-n", ns, "-l", "app=nope")
    assert (r.returncode, r.stdout) == (0, "")
    assert r.stderr.strip() == f"No resources found in {ns} namespace."
    out = ok(kubectl("get", "all", "-n", ns))
    assert "service/web" in out and "deployment.apps/web" in out
    r = kubectl("get", "pod", "nope", "-n", ns)
    assert r.returncode == 1
    assert r.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'


def pod(name: str, ns: str, labels=None) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {"app": "w"}},
            "spec": {"containers": [{"name": "c", "image": "minik8s/hello:v1"}]}}


def test_get_all_namespaces_fills_the_namespace_column(kubectl, cluster):
    for ns in ("kc-all-a", "kc-all-b"):
        cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        cluster.create(pod("p", ns, {"kc-all": "yes"}))
    rows = table(ok(kubectl("get", "pods", "-A", "-l", "kc-all=yes")))
    assert rows[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [r[:4] for r in rows[1:]] == [["kc-all-a", "p", "0/1", "Pending"],
                                         ["kc-all-b", "p", "0/1", "Pending"]]
    rows = table(ok(kubectl("get", "pods", "-n", "kc-all-a", "-o", "wide")))
    assert rows[0][5:] == ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]


def test_describe(kubectl):
    ns = "kc-describe"
    ok(kubectl("apply", "-f", "-", input=manifest(ns)))
    out = ok(kubectl("describe", "deployment", "web", "-n", ns))
    for line in ("Name:                   web", f"Namespace:              {ns}",
                 "Selector:               app=web",
                 "Replicas:               2 desired | 0 updated | 0 total | 0 available | "
                 "0 unavailable", "StrategyType:           RollingUpdate",
                 "    Image:         minik8s/hello:v1", "    Port:          8080/TCP"):
        assert line in out.splitlines(), out
    out = ok(kubectl("describe", "svc", "web", "-n", ns))
    assert "Type:                     ClusterIP" in out
    assert "TargetPort:               8080/TCP" in out
    out = ok(kubectl("describe", "namespace", ns))
    assert "Status:       Active" in out
    assert f"kubernetes.io/metadata.name={ns}" in out


def test_scale_label_annotate_set_image_and_patch(kubectl, cluster):
    ns = "kc-edit"
    ok(kubectl("apply", "-f", "-", input=manifest(ns)))
    d = ("deploy/web", "-n", ns)
    assert ok(kubectl("scale", *d, "--replicas=5")) == "deployment.apps/web scaled\n"
    assert cluster.get("deployments", "web", ns)["spec"]["replicas"] == 5
    # --current-replicas: GET /scale, then a PUT /scale sent without a Content-Type
    ok(kubectl("scale", *d, "--current-replicas=5", "--replicas=6"))
    r = kubectl("scale", *d, "--current-replicas=2", "--replicas=7")
    assert r.returncode == 1 and "Expected replicas to be 2, was 6" in r.stderr
    ok(kubectl("label", *d, "env=prod"))
    r = kubectl("label", *d, "env=dev")
    assert r.returncode == 1 and "'env' already has a value (prod)" in r.stderr
    ok(kubectl("annotate", *d, "owner=ana"))
    assert ok(kubectl("set", "image", *d, "hello=minik8s/hello:v3")) == \
        "deployment.apps/web image updated\n"
    got = cluster.get("deployments", "web", ns)
    assert got["spec"]["replicas"] == 6
    assert got["metadata"]["labels"]["env"] == "prod"
    assert got["metadata"]["annotations"]["owner"] == "ana"
    assert got["spec"]["template"]["spec"]["containers"][0]["image"] == "minik8s/hello:v3"
    # patch: strategic (the default) merges containers by name; merge; json
    ok(kubectl("patch", *d, "-p", '{"spec":{"template":{"spec":{"containers":'
                                  '[{"name":"side","image":"busybox"}]}}}}'))
    ok(kubectl("patch", *d, "--type", "merge", "-p", '{"spec":{"minReadySeconds":4}}'))
    ok(kubectl("patch", *d, "--type", "json", "-p",
               '[{"op":"replace","path":"/spec/replicas","value":1}]'))
    got = cluster.get("deployments", "web", ns)
    assert [c["name"] for c in got["spec"]["template"]["spec"]["containers"]] == ["side", "hello"]
    assert (got["spec"]["minReadySeconds"], got["spec"]["replicas"]) == (4, 1)
    r = kubectl("patch", *d, "--type", "json", "-p", '[{"op":"test","path":"/spec/replicas",'
                                                     '"value":9}]')
    assert r.returncode == 1 and r.stderr.startswith("The request is invalid")


def test_get_watch_prints_a_pod_created_later(kubeconfig, cluster, tmp_path):
    ns = "kc-watch"
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    cluster.create(pod("first", ns))
    env = dict(os.environ, HOME=str(tmp_path), KUBECONFIG=kubeconfig)
    proc = subprocess.Popen([shutil.which("kubectl"), f"--cache-dir={tmp_path}", "get",
                             "pods", "-w", "-n", ns], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        lines = _read_lines(proc, until="first")         # from the initial list
        assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        cluster.create(pod("second", ns))                  # arrives through the watch
        row = _read_lines(proc, until="second")[-1].split()
        assert row[:3] == ["second", "0/1", "Pending"]
    finally:
        proc.kill()
        proc.wait()


def _read_lines(proc, *, until: str, deadline_s: float = 10.0) -> list:
    """Lines from proc.stdout up to the first containing `until` (or fail at the deadline).
    Reads the raw fd: a buffered readline could hold a line that select() cannot see."""
    fd, lines = proc.stdout.fileno(), []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], end - time.monotonic())
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            break
        proc.pending = getattr(proc, "pending", b"") + chunk
        *complete, proc.pending = proc.pending.split(b"\n")
        lines += [line.decode() for line in complete]
        if any(until in line for line in lines):
            return lines
    pytest.fail(f"kubectl printed no line with {until!r}: {lines}")


def test_get_pages_long_lists_by_the_continue_token(kubectl):
    # kubectl asks for 500 at a time and follows metadata.continue, in the Table too.
    ok(kubectl("create", "namespace", "paging"))
    for i in range(7):
        ok(kubectl("create", "configmap", f"cm-{i}", "-n", "paging"))
    rows = table(ok(kubectl("get", "configmaps", "-n", "paging", "--chunk-size=3",
                            "--no-headers")))
    names = sorted(r[0] for r in rows if r[0].startswith("cm-"))
    assert names == [f"cm-{i}" for i in range(7)]
