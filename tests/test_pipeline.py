"""The request pipeline through the in-process client: Kubernetes' object semantics."""
import json
import random

import pytest

from minik8s.api import errors
from minik8s.api.clock import FakeClock
from minik8s.apiserver.server import APIServer
from minik8s.client.inprocess import InProcessClient
from minik8s.store.memory import MemoryStore

from builders import deployment, pod


def test_create_fills_server_fields_and_defaults(client):
    d = client.create(deployment())
    meta = d["metadata"]
    assert meta["namespace"] == "default"
    assert len(meta["uid"]) == 36 and meta["creationTimestamp"] == "2026-01-01T00:00:00Z"
    assert isinstance(meta["resourceVersion"], str) and int(meta["resourceVersion"]) > 0
    assert meta["generation"] == 1
    assert d["spec"]["strategy"] == {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    tmpl = d["spec"]["template"]["spec"]
    assert tmpl["restartPolicy"] == "Always" and tmpl["dnsPolicy"] == "ClusterFirst"
    assert tmpl["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert client.get("deploy", "web", "default") == d


def test_stale_update_is_a_conflict_and_loses_nothing(client):
    d = client.create(deployment())
    watch = client.watch("deployments", "default", resource_version=d["metadata"]["resourceVersion"])
    first = json.loads(json.dumps(d))
    first["spec"]["replicas"] = 5
    updated = client.update(first)
    assert updated["spec"]["replicas"] == 5
    assert int(updated["metadata"]["resourceVersion"]) > int(d["metadata"]["resourceVersion"])
    stale = json.loads(json.dumps(d))
    stale["spec"]["replicas"] = 1
    with pytest.raises(errors.Conflict) as e:
        client.update(stale)
    assert e.value.code == 409
    assert "the object has been modified" in e.value.message
    assert client.get("deployments", "web", "default")["spec"]["replicas"] == 5
    events = watch.poll()
    assert [(ev.type, ev.object["spec"]["replicas"]) for ev in events] == [("MODIFIED", 5)]


def test_generation_counts_spec_changes_only(client):
    d = client.create(deployment())
    d["metadata"]["labels"]["extra"] = "yes"
    d = client.update(d)
    assert d["metadata"]["generation"] == 1
    d["spec"]["replicas"] = 3
    d = client.update(d)
    assert d["metadata"]["generation"] == 2
    d["status"] = {"observedGeneration": 2, "replicas": 3}
    d = client.update_status(d)
    assert d["metadata"]["generation"] == 2 and d["status"]["replicas"] == 3


def test_unchanged_update_writes_nothing(client, store):
    d = client.create(deployment())
    rev = store.revision
    again = client.update(d)
    assert again["metadata"]["resourceVersion"] == d["metadata"]["resourceVersion"]
    assert store.revision == rev


def test_status_is_only_written_through_the_status_subresource(client):
    d = client.create(deployment())
    d["status"] = {"replicas": 99}
    d["spec"]["replicas"] = 4
    d = client.update(d)
    assert d["spec"]["replicas"] == 4 and d["status"].get("replicas") is None
    d["status"] = {"replicas": 4}
    d["spec"]["replicas"] = 10
    d = client.update_status(d)
    assert d["status"]["replicas"] == 4 and d["spec"]["replicas"] == 4


def test_already_exists_and_generate_name(client):
    client.create(deployment())
    with pytest.raises(errors.AlreadyExists) as e:
        client.create(deployment())
    assert e.value.message == 'deployments.apps "web" already exists'
    p = pod()
    del p["metadata"]["name"]
    p["metadata"]["generateName"] = "web-"
    a, b = client.create(p), client.create(p)
    assert a["metadata"]["name"].startswith("web-") and len(a["metadata"]["name"]) == 9
    assert a["metadata"]["name"] != b["metadata"]["name"]


def test_invalid_object_is_rejected_with_field_causes_and_nothing_written(client, store):
    rev = store.revision
    with pytest.raises(errors.Invalid) as e:
        client.create(deployment(replicas=-1))
    assert e.value.code == 422
    assert any(c.field == "spec.replicas" for c in e.value.causes)
    assert store.revision == rev
    with pytest.raises(errors.NotFound):
        client.get("deployments", "web", "default")


def test_body_in_another_namespace_is_a_bad_request(client):
    p = pod()
    p["metadata"]["namespace"] = "kube-system"
    with pytest.raises(errors.BadRequest):
        client._do("create", "pods", namespace="default", body=p)


def test_not_found_message_names_the_resource(client):
    with pytest.raises(errors.NotFound) as e:
        client.get("deployments", "nope", "default")
    assert e.value.message == 'deployments.apps "nope" not found'
    assert e.value.to_status()["details"] == {"name": "nope", "group": "apps",
                                               "kind": "deployments"}


def test_list_selectors_and_resource_version(client, store):
    client.create(pod("a", {"app": "web", "tier": "fe"}))
    client.create(pod("b", {"app": "web"}, node="n1"))
    client.create(pod("c", {"app": "db"}))
    lst = client.list("pods", "default", label_selector="app=web")
    assert [p["metadata"]["name"] for p in lst.items] == ["a", "b"]
    assert lst.resource_version == str(store.revision) and lst.kind == "PodList"
    assert [p["metadata"]["name"] for p in
            client.list("pods", "default", label_selector="app in (web,db),!tier").items] == ["b", "c"]
    assert [p["metadata"]["name"] for p in
            client.list("pods", None, field_selector="spec.nodeName=n1").items] == ["b"]
    assert [p["metadata"]["name"] for p in
            client.list("pods", field_selector="spec.nodeName=").items] == ["a", "c"]
    with pytest.raises(errors.BadRequest):
        client.list("pods", field_selector="spec.bogus=1")


def test_list_pages_with_limit_and_continue(client):
    for i in range(5):
        client.create(pod(f"p{i}"))
    first = client.list("pods", "default", limit=2)
    assert [p["metadata"]["name"] for p in first.items] == ["p0", "p1"] and first.continue_token
    client.create(pod("p9"))      # written after page one: not seen by the same list
    second = client.list("pods", "default", limit=10, continue_token=first.continue_token)
    assert [p["metadata"]["name"] for p in second.items] == ["p2", "p3", "p4"]
    assert not second.continue_token


def test_finalizers_hold_an_object_until_removed(client):
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "c", "finalizers": ["example.com/hold"]}, "data": {"a": "1"}}
    client.create(cm)
    marked = client.delete("configmaps", "c", "default")
    assert marked["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:00Z"
    live = client.get("configmaps", "c", "default")
    assert live["metadata"]["finalizers"] == ["example.com/hold"]
    live["metadata"]["finalizers"].append("another")
    with pytest.raises(errors.Invalid):
        client.update(live)
    client.patch("configmaps", "c", {"metadata": {"finalizers": None}}, "default")
    with pytest.raises(errors.NotFound):
        client.get("configmaps", "c", "default")


def test_bound_pods_are_deleted_gracefully_unbound_at_once(client, clock):
    client.create(pod("unbound"))
    gone = client.delete("pods", "unbound", "default")
    assert "deletionTimestamp" not in gone["metadata"]
    with pytest.raises(errors.NotFound):
        client.get("pods", "unbound", "default")
    client.create(pod("bound", node="n1"))
    marked = client.delete("pods", "bound", "default")
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert marked["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:30Z"
    assert client.get("pods", "bound", "default")["metadata"]["deletionTimestamp"]
    client.delete("pods", "bound", "default", grace_period_seconds=0)   # what the kubelet does
    with pytest.raises(errors.NotFound):
        client.get("pods", "bound", "default")


def test_propagation_policy_is_recorded_as_finalizers(client):
    client.create(deployment("fg"))
    client.create(deployment("or"))
    fg = client.delete("deployments", "fg", "default", propagation_policy="Foreground")
    orph = client.delete("deployments", "or", "default", propagation_policy="Orphan")
    assert fg["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert orph["metadata"]["finalizers"] == ["orphan"]
    assert fg["metadata"]["generation"] == 2      # marking counts as a change, as in k8s
    client.create(deployment("bg"))
    assert "deletionTimestamp" not in client.delete("deployments", "bg", "default")["metadata"]


def test_delete_preconditions(client):
    d = client.create(deployment())
    with pytest.raises(errors.Conflict):
        client.delete("deployments", "web", "default", preconditions={"uid": "other"})
    client.delete("deployments", "web", "default", preconditions={"uid": d["metadata"]["uid"]})
    with pytest.raises(errors.NotFound):
        client.get("deployments", "web", "default")


def test_namespace_lifecycle(client):
    assert {n["metadata"]["name"] for n in client.list("namespaces").items} == {
        "default", "kube-system", "kube-public", "kube-node-lease"}
    with pytest.raises(errors.NotFound) as e:
        client.create(pod(), "missing")
    assert e.value.message == 'namespaces "missing" not found'
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    client.create(pod(), "team")
    ns = client.delete("namespaces", "team")
    assert ns["status"]["phase"] == "Terminating"
    with pytest.raises(errors.Forbidden) as e:
        client.create(pod("q"), "team")
    assert "because it is being terminated" in e.value.message
    with pytest.raises(errors.Forbidden):
        client.delete("namespaces", "default")
    # The namespace controller empties it, then finalizes: then it is gone.
    client.delete("pods", "p", "team")
    client._do("update", "namespaces", name="team", subresource="finalize",
               body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"},
                     "spec": {"finalizers": []}})
    with pytest.raises(errors.NotFound):
        client.get("namespaces", "team")


def service(name, stype="ClusterIP", ports=((80, None),)):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": stype, "selector": {"app": name},
                     "ports": [dict({"port": p}, **({"nodePort": n} if n else {}))
                               for p, n in ports]}}


def test_cluster_ips_and_node_ports_are_unique_and_in_range(client):
    ips, node_ports = set(), set()
    for i in range(40):
        s = client.create(service(f"s{i}", "NodePort" if i % 2 else "ClusterIP"))
        ip = s["spec"]["clusterIP"]
        assert ip.startswith("127.") and 96 <= int(ip.split(".")[1]) <= 111
        assert s["spec"]["clusterIPs"] == [ip]
        ips.add(ip)
        port = s["spec"]["ports"][0]
        assert port["targetPort"] == 80 and port["protocol"] == "TCP"
        if i % 2:
            assert 30000 <= port["nodePort"] <= 32767
            node_ports.add(port["nodePort"])
        else:
            assert "nodePort" not in port
    assert len(ips) == 40 and len(node_ports) == 20
    taken = client.get("services", "s1", "default")["spec"]["ports"][0]["nodePort"]
    with pytest.raises(errors.Invalid):
        client.create(service("dup", "NodePort", ((80, taken),)))
    # An update that leaves clusterIP out keeps it.
    s = client.get("services", "s0", "default")
    del s["spec"]["clusterIP"], s["spec"]["clusterIPs"]
    assert client.update(s)["spec"]["clusterIP"] in ips


def test_nodes_get_distinct_pod_cidrs(client):
    cidrs = [client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"n{i}"}})
             ["spec"]["podCIDR"] for i in range(5)]
    assert cidrs == [f"127.128.{i}.0/24" for i in range(5)]
    client.delete("nodes", "n1")
    # A rolling offset, as Kubernetes' range allocator: the freed /24 waits for the wrap.
    assert client.create({"apiVersion": "v1", "kind": "Node",
                          "metadata": {"name": "n9"}})["spec"]["podCIDR"] == "127.128.5.0/24"


def test_default_toleration_seconds(store, clock):
    client = InProcessClient(APIServer(store, clock, random.Random(1),
                                       default_toleration_seconds=5))
    p = client.create(pod())
    assert p["spec"]["tolerations"] == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 5},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 5}]
    own = pod("own")
    own["spec"]["tolerations"] = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                   "effect": "NoExecute", "tolerationSeconds": 1}]
    tol = client.create(own)["spec"]["tolerations"]
    assert [t.get("tolerationSeconds") for t in tol] == [1, 5]


def test_binding_sets_node_once(client):
    p = client.create(pod())
    assert p["status"]["phase"] == "Pending" and p["status"]["qosClass"] == "BestEffort"
    client.bind("default", "p", "n1", pod_uid=p["metadata"]["uid"])
    bound = client.get("pods", "p", "default")
    assert bound["spec"]["nodeName"] == "n1"
    assert [c["type"] for c in bound["status"]["conditions"]] == ["PodScheduled"]
    with pytest.raises(errors.Conflict) as e:
        client.bind("default", "p", "n2")
    assert 'already assigned to node "n1"' in e.value.message
    bound["spec"]["nodeName"] = "n2"
    with pytest.raises(errors.Invalid):
        client.update(bound)          # nodeName changes only through binding


def test_eviction_deletes_the_pod(client):
    client.create(pod())
    client.evict("default", "p")
    with pytest.raises(errors.NotFound):
        client.get("pods", "p", "default")


def test_scale_subresource(client):
    client.create(deployment())
    scale = client.get_scale("deployments", "web", "default")
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 2} and scale["status"]["selector"] == "app=web"
    out = client.scale("deployments", "web", "default", 5)
    assert out["spec"]["replicas"] == 5
    d = client.get("deployments", "web", "default")
    assert d["spec"]["replicas"] == 5 and d["metadata"]["generation"] == 2
    with pytest.raises(errors.Invalid):
        client.scale("deployments", "web", "default", -1)


def test_patch_kinds(client):
    client.create(deployment())
    client.patch("deployments", "web", {"metadata": {"labels": {"x": "y"}}}, "default")
    client.patch("deployments", "web", {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}],
        "containers": [{"name": "web", "image": "minik8s/hello:v2"}]}}}}, "default",
        patch_type="strategic")
    d = client.patch("deployments", "web", [{"op": "replace", "path": "/spec/replicas",
                                             "value": 7}], "default", patch_type="json")
    assert d["metadata"]["labels"] == {"app": "web", "x": "y"}
    c = d["spec"]["template"]["spec"]["containers"]
    assert len(c) == 1 and c[0]["image"] == "minik8s/hello:v2" and c[0]["name"] == "web"
    assert d["spec"]["replicas"] == 7 and d["metadata"]["generation"] == 3


def test_watch_from_a_revision_and_selector_transitions(client):
    start = client.list("pods", "default").resource_version
    w_all = client.watch("pods", "default", resource_version=start)
    w_web = client.watch("pods", "default", resource_version=start, label_selector="app=web")
    client.create(pod("a", {"app": "web"}))
    client.patch("pods", "a", {"metadata": {"labels": {"app": "db"}}}, "default")
    client.patch("pods", "a", {"metadata": {"labels": {"app": "web"}}}, "default")
    client.delete("pods", "a", "default")
    assert [e.type for e in w_all.poll()] == ["ADDED", "MODIFIED", "MODIFIED", "DELETED"]
    assert [e.type for e in w_web.poll()] == ["ADDED", "DELETED", "ADDED", "DELETED"]
    # No resourceVersion: current objects first, as synthetic ADDED events.
    client.create(pod("b"))
    fresh = client.watch("pods", "default")
    assert [(e.type, e.object["metadata"]["name"]) for e in fresh.poll()] == [("ADDED", "b")]


def test_watch_resumes_without_gap_and_gets_410_after_compaction(client, store):
    client.create(pod("a"))
    rv = client.get("pods", "a", "default")["metadata"]["resourceVersion"]
    client.create(pod("b"))
    client.create(pod("c"))
    resumed = client.watch("pods", "default", resource_version=rv)
    assert [e.object["metadata"]["name"] for e in resumed.poll()] == ["b", "c"]
    store.compact(store.revision)
    gone = client.watch("pods", "default", resource_version=rv)
    [ev] = gone.poll()
    assert ev.type == "ERROR" and ev.object["code"] == 410 and ev.object["reason"] == "Expired"
    assert gone.closed


def test_watch_timeout_and_bookmarks(client, clock):
    w = client.watch("pods", "default", resource_version="1", allow_bookmarks=True,
                     timeout_seconds=300)
    client.create(pod("a"))
    assert [e.type for e in w.poll()] == ["ADDED"]
    client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    clock.advance(61)
    [bm] = w.poll()
    assert bm.type == "BOOKMARK"
    assert int(bm.object["metadata"]["resourceVersion"]) == int(
        client.get("configmaps", "x", "default")["metadata"]["resourceVersion"])
    clock.advance(300)
    w.poll()
    assert w.closed


def run_script(seed):
    store = MemoryStore()
    c = InProcessClient(APIServer(store, FakeClock(), random.Random(seed)))
    out = [c.create(deployment()), c.create(service("s", "NodePort"))]
    p = pod()
    del p["metadata"]["name"]
    p["metadata"]["generateName"] = "x-"
    out.append(c.create(p))
    out.append(c.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}))
    out.append(c.scale("deployments", "web", "default", 3))
    return json.dumps(out, sort_keys=False).encode()


def test_same_seed_same_calls_byte_identical_objects():
    assert run_script(7) == run_script(7)
    assert run_script(7) != run_script(8)


def test_replacing_with_the_same_undefaulted_manifest_is_no_spec_change(client, store):
    d = client.create(deployment())
    again = deployment()
    again["metadata"]["resourceVersion"] = d["metadata"]["resourceVersion"]
    rev = store.revision
    out = client.update(again)
    assert out["metadata"]["generation"] == 1 and store.revision == rev


def test_service_leaving_nodeport_drops_node_ports_and_traffic_policy(client):
    s = client.create(service("np", "NodePort"))
    assert s["spec"]["externalTrafficPolicy"] == "Cluster"
    s["spec"]["type"] = "ClusterIP"
    out = client.update(s)
    assert "nodePort" not in out["spec"]["ports"][0]
    assert "externalTrafficPolicy" not in out["spec"]


def test_the_callers_object_is_never_changed(client):
    d = deployment()
    before = json.dumps(d, sort_keys=True)
    client.create(d)
    client.patch("deployments", "web", {"spec": {"replicas": 4}}, "default")
    assert json.dumps(d, sort_keys=True) == before


def test_log_options_reach_the_node_proxy_typed_from_any_transport(store, clock):
    seen = []
    api = APIServer(store, clock, random.Random(3),
                    node_proxy=lambda pod, what, opts: seen.append(opts) or "line\n")
    c = InProcessClient(api)
    c.create(pod("p", node="n1"))
    assert c.log("default", "p", container="c", tail_lines=0) == "line\n"
    c._do("get", "pods", namespace="default", name="p", subresource="log",
          params={"container": "c", "tailLines": "0", "previous": "false"})
    assert seen[0] == seen[1] == {"container": "c", "follow": False, "previous": False,
                                  "timestamps": False, "tailLines": 0, "sinceSeconds": None,
                                  "limitBytes": None}
    with pytest.raises(errors.BadRequest):
        c._do("get", "pods", namespace="default", name="p", subresource="log",
              params={"tailLines": "x"})


def test_pod_cidr_index_follows_the_store_even_for_writes_it_did_not_see(client, api, store):
    client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a"}})
    # A Node written behind the pipeline's back (e.g. restored from a backup) still counts.
    store.put("/registry/nodes/b", json.dumps({"apiVersion": "v1", "kind": "Node",
              "metadata": {"name": "b"}, "spec": {"podCIDR": "127.128.1.0/24"}}).encode())
    c = client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "c"}})
    assert c["spec"]["podCIDR"] == "127.128.2.0/24"
    client.delete("nodes", "a")
    assert len(api.pod_cidrs) == 2
    api.next_pod_cidr = 0            # as after a restart: the scan starts over
    d = client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "d"}})
    assert d["spec"]["podCIDR"] == "127.128.0.0/24"     # a's, freed
    assert len(api.pod_cidrs) == 3


def test_a_uid_in_an_update_or_patch_is_a_precondition(client):
    # What controllers rely on when they adopt or release "this pod, uid X": a namesake
    # created since (another uid) must not be changed.
    p = client.create(pod("uidpre"), "default")
    uid = p["metadata"]["uid"]
    with pytest.raises(errors.Conflict) as e:
        client.patch("pods", "uidpre", {"metadata": {"uid": "other", "labels": {"a": "b"}}},
                     "default")
    assert e.value.message.endswith(f"Precondition failed: UID in precondition: other, "
                                    f"UID in object meta: {uid}")
    stale = dict(p, metadata=dict(p["metadata"], uid="other"))
    with pytest.raises(errors.Conflict):
        client.update(stale)
    assert "labels" not in client.get("pods", "uidpre", "default")["metadata"] or \
        client.get("pods", "uidpre", "default")["metadata"]["labels"].get("a") is None
    ok = client.patch("pods", "uidpre", {"metadata": {"uid": uid, "labels": {"a": "b"}}},
                      "default")
    assert ok["metadata"]["labels"]["a"] == "b"
