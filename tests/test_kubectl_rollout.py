"""Real kubectl driving Deployments on a running minik8s: rollout status / history / undo /
pause / resume / restart, set image and scale, as a student types them.

One LocalCluster for the module: the API server over HTTP, the scheduler, the
controller-manager and two kubelets (simulated runtime) each on its own thread under
the real clock. Each test uses its own Deployment. Nothing sleeps: `kubectl rollout
status` itself waits (watching the Deployment) until the controller reports the
rollout done.
"""
import os
import shutil
import subprocess

import pytest

from minik8s.api.clock import RealClock
from minik8s.cluster.local import LocalCluster

NS = "default"


def manifest(name, image="minik8s/hello:v1", replicas=2, extra="", change_cause=""):
    annotations = f"\n  annotations: {{kubernetes.io/change-cause: {change_cause}}}" if change_cause else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}{annotations}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: "100%", maxUnavailable: 0}}
{extra}  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: web
        image: {image}
"""


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster(nodes=2, clock=RealClock(), serve_http=True, seed=5)
    c.start_threads()
    yield c
    c.close()


@pytest.fixture(scope="module")
def kubectl(cluster, tmp_path_factory):
    exe = shutil.which("kubectl")
    if exe is None:
        pytest.skip("kubectl is not installed")
    home = tmp_path_factory.mktemp("kubectl-rollout")
    (home / "config").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: m\n"
        f"clusters: [{{name: m, cluster: {{server: '{cluster.url}'}}}}]\n"
        "users: [{name: m, user: {}}]\n"
        "contexts: [{name: m, context: {cluster: m, user: m, namespace: default}}]\n")
    env = dict(os.environ, HOME=str(home), KUBECONFIG=str(home / "config"))

    def run(*args, input=None, ok=True):
        r = subprocess.run([exe, f"--cache-dir={home / 'cache'}", *args], input=input, text=True,
                           capture_output=True, env=env, timeout=60)
        if ok:
            assert r.returncode == 0, f"kubectl {' '.join(args)}: {r.stdout}{r.stderr}"
        return r
    return run


def replicasets(cluster, app):
    """name -> (spec.replicas, revision, image) of the app's ReplicaSets."""
    out = {}
    for rs in cluster.client.list("replicasets", NS, label_selector=f"app={app}").items:
        out[rs["metadata"]["name"]] = (
            rs["spec"]["replicas"], rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            rs["spec"]["template"]["spec"]["containers"][0]["image"])
    return out


def test_set_image_rollout_status_history_and_undo(cluster, kubectl):
    kubectl("apply", "-f", "-", input=manifest("roll"))
    out = kubectl("rollout", "status", "deploy/roll", "--timeout=30s").stdout
    assert 'deployment "roll" successfully rolled out' in out
    kubectl("set", "image", "deploy/roll", "web=minik8s/hello:v2")
    out = kubectl("rollout", "status", "deploy/roll", "--timeout=30s").stdout
    assert "new replicas have been updated" in out and "successfully rolled out" in out
    history = kubectl("rollout", "history", "deploy/roll").stdout.split()
    assert history[history.index("CHANGE-CAUSE") + 1:] == ["1", "<none>", "2", "<none>"]
    v2 = kubectl("rollout", "history", "deploy/roll", "--revision=2").stdout
    assert "minik8s/hello:v2" in v2

    before = replicasets(cluster, "roll")
    (first,) = [n for n, (_, rev, _) in before.items() if rev == "1"]
    assert "rolled back" in kubectl("rollout", "undo", "deploy/roll").stdout
    kubectl("rollout", "status", "deploy/roll", "--timeout=30s")
    after = replicasets(cluster, "roll")
    assert set(after) == set(before)                  # the old ReplicaSet came back
    assert after[first] == (2, "3", "minik8s/hello:v1")
    history = kubectl("rollout", "history", "deploy/roll").stdout.split()
    assert history[history.index("CHANGE-CAUSE") + 1:] == ["2", "<none>", "3", "<none>"]
    pods = kubectl("get", "pods", "-l", "app=roll", "-o",
                   "jsonpath={.items[*].spec.containers[0].image}").stdout.split()
    assert pods == ["minik8s/hello:v1"] * 2

    (second,) = [n for n, (_, rev, _) in after.items() if rev == "2"]
    kubectl("rollout", "undo", "deploy/roll", "--to-revision=2")
    kubectl("rollout", "status", "deploy/roll", "--timeout=30s")
    assert replicasets(cluster, "roll")[second] == (2, "4", "minik8s/hello:v2")


def test_pause_resume_and_restart(cluster, kubectl):
    kubectl("apply", "-f", "-", input=manifest("paused"))
    kubectl("rollout", "status", "deploy/paused", "--timeout=30s")
    kubectl("rollout", "pause", "deploy/paused")
    kubectl("set", "image", "deploy/paused", "web=minik8s/hello:v2")
    # Paused: the controller sees the new template (observedGeneration) but does not roll.
    kubectl("wait", "--for=jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}"
            "=DeploymentPaused", "deploy/paused", "--timeout=30s")
    assert [img for _, _, img in replicasets(cluster, "paused").values()] == ["minik8s/hello:v1"]
    kubectl("rollout", "resume", "deploy/paused")
    kubectl("rollout", "status", "deploy/paused", "--timeout=30s")
    assert sorted(img for _, _, img in replicasets(cluster, "paused").values()) == \
        ["minik8s/hello:v1", "minik8s/hello:v2"]
    kubectl("rollout", "restart", "deploy/paused")
    kubectl("rollout", "status", "deploy/paused", "--timeout=30s")
    rss = replicasets(cluster, "paused")
    assert len(rss) == 3 and sorted(r for r, _, _ in rss.values()) == [0, 0, 2]
    d = cluster.client.get("deployments", "paused", NS)
    assert "kubectl.kubernetes.io/restartedAt" in d["spec"]["template"]["metadata"]["annotations"]


def test_scale_and_the_columns_kubectl_prints(cluster, kubectl):
    kubectl("apply", "-f", "-", input=manifest("scaled", replicas=1, change_cause="first-try"))
    kubectl("rollout", "status", "deploy/scaled", "--timeout=30s")
    # The Deployment's annotations are copied onto its ReplicaSet: CHANGE-CAUSE.
    history = kubectl("rollout", "history", "deploy/scaled").stdout.split()
    assert history[history.index("CHANGE-CAUSE") + 1:] == ["1", "first-try"]
    kubectl("scale", "deploy/scaled", "--replicas=3")
    kubectl("rollout", "status", "deploy/scaled", "--timeout=30s")
    row = kubectl("get", "deploy", "scaled", "--no-headers").stdout.split()
    assert row[:4] == ["scaled", "3/3", "3", "3"]
    (rs,) = replicasets(cluster, "scaled")
    row = kubectl("get", "rs", rs, "--no-headers").stdout.split()
    assert row[:4] == [rs, "3", "3", "3"]
    describe = kubectl("describe", "deploy", "scaled").stdout
    assert "3 desired | 3 updated | 3 total | 3 available | 0 unavailable" in describe
    assert f"NewReplicaSet:   {rs} (3/3 replicas created)" in describe


def test_rollout_status_reports_an_exceeded_progress_deadline(cluster, kubectl):
    # A pod whose readiness probe never passes (the simulated runtime's script).
    text = manifest("stuck", replicas=1, extra="  progressDeadlineSeconds: 1\n").replace(
        "      labels: {app: stuck}\n",
        "      labels: {app: stuck}\n      annotations: {sim.minik8s.io/ready: \"false\"}\n")
    text += "        readinessProbe: {httpGet: {path: /ready, port: 8080}}\n"
    kubectl("apply", "-f", "-", input=text)
    r = kubectl("rollout", "status", "deploy/stuck", "--timeout=30s", ok=False)
    assert r.returncode != 0
    assert 'deployment "stuck" exceeded its progress deadline' in r.stderr
