"""The official `kubernetes` Python client against minik8s.

The generated client is strict in its own ways (contract §6): it sends JSON bodies
without a Content-Type, `propagationPolicy` as a query parameter, watches with no
resourceVersion (so the server must replay existing objects as ADDED), and decodes
every answer into typed models — a wrong field type or kind fails here first.
"""
from __future__ import annotations

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client, watch  # noqa: E402


@pytest.fixture(scope="module")
def api_client(http_server):
    with client.ApiClient(client.Configuration(host=http_server.url)) as c:
        yield c


@pytest.fixture(scope="module")
def core(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="module")
def apps(api_client):
    return client.AppsV1Api(api_client)


def deployment(name: str, replicas: int = 2) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "hello",
                                                           "image": "minik8s/hello:v1"}]}}}}


def test_deployment_lifecycle(core, apps):
    ns = "py-deploy"
    core.create_namespace({"metadata": {"name": ns}})
    created = apps.create_namespaced_deployment(ns, deployment("web"))
    assert isinstance(created, client.V1Deployment)
    assert created.metadata.generation == 1 and created.metadata.uid
    assert created.spec.strategy.type == "RollingUpdate"          # server-side defaults
    assert created.metadata.creation_timestamp.tzinfo is not None
    apps.create_namespaced_deployment(ns, deployment("db"))
    listed = apps.list_namespaced_deployment(ns, label_selector="app=web")
    assert [d.metadata.name for d in listed.items] == ["web"]
    assert listed.metadata.resource_version
    assert apps.read_namespaced_deployment("db", ns).spec.replicas == 2
    # a dict body is a strategic merge patch: containers merge by name
    patched = apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "hello", "image": "minik8s/hello:v2"}]}}}})
    assert [c.image for c in patched.spec.template.spec.containers] == ["minik8s/hello:v2"]
    assert patched.metadata.generation == 2
    scale = apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 4}})
    assert isinstance(scale, client.V1Scale) and scale.spec.replicas == 4
    assert scale.status.selector == "app=web"
    assert apps.read_namespaced_deployment_scale("web", ns).spec.replicas == 4
    # Foreground: the owner stays, marked, until the garbage collector has removed its
    # dependents (the API server only records the choice as a finalizer).
    apps.delete_namespaced_deployment("web", ns, propagation_policy="Foreground")
    marked = apps.read_namespaced_deployment("web", ns)
    assert marked.metadata.deletion_timestamp is not None
    assert marked.metadata.finalizers == ["foregroundDeletion"]
    # Background: gone at once, answered with a Status (this client returns delete
    # answers as plain dicts: the body may be a Status or the object)
    status = apps.delete_namespaced_deployment("db", ns)
    assert (status["kind"], status["status"]) == ("Status", "Success")
    assert status["details"]["name"] == "db" and status["details"]["kind"] == "deployments"
    assert [d.metadata.name for d in apps.list_namespaced_deployment(ns).items] == ["web"]


def pod(name: str) -> dict:
    return {"metadata": {"name": name, "labels": {"app": "w"}},
            "spec": {"containers": [{"name": "c", "image": "minik8s/hello:v1"}]}}


def test_watch_replays_existing_objects_then_streams_changes(core):
    ns = "py-watch"
    core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_pod(ns, pod("old"))
    w = watch.Watch()
    seen = []
    # No resourceVersion on the first watch: existing pods arrive as synthetic ADDED.
    for event in w.stream(core.list_namespaced_pod, ns, timeout_seconds=2):
        seen.append((event["type"], event["object"].metadata.name))
        assert isinstance(event["object"], client.V1Pod)
        if len(seen) == 1:
            core.create_namespaced_pod(ns, pod("new"))
            core.patch_namespaced_pod("old", ns, {"metadata": {"labels": {"x": "y"}}})
        if len(seen) == 3:
            w.stop()
    assert seen == [("ADDED", "old"), ("ADDED", "new"), ("MODIFIED", "old")]


def test_errors_are_api_exceptions_with_kubernetes_codes(core, apps):
    ns = "py-errors"
    core.create_namespace({"metadata": {"name": ns}})
    with pytest.raises(client.ApiException) as e:
        apps.read_namespaced_deployment("nope", ns)
    assert e.value.status == 404
    assert '"reason":"NotFound"' in e.value.body
    with pytest.raises(client.ApiException) as e:
        core.create_namespace({"metadata": {"name": ns}})
    assert e.value.status == 409 and '"reason":"AlreadyExists"' in e.value.body
    with pytest.raises(client.ApiException) as e:
        apps.create_namespaced_deployment(ns, deployment("bad", replicas=-1))
    assert e.value.status == 422 and '"field":"spec.replicas"' in e.value.body
