"""PATCH bodies as kube-apiserver applies them: RFC 7386 merge patch, RFC 6902 JSON
patch, and strategic merge patch with the exact patches kubectl 1.32 was measured
sending (shared/kubectl-contract.md §3.5). Every case checks the whole result and
that neither input was changed."""
import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minik8s.api.errors import BadRequest, Invalid, UnsupportedMediaType
from minik8s.api.patch import (APPLY_PATCH, JSONPatchError, apply_patch, json_equal,
                               json_patch, merge_patch, server_side_apply,
                               strategic_merge_patch)

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def smp(target, patch, kind="Deployment"):
    """Strategic merge, asserting the inputs are untouched and no directive leaks."""
    before = copy.deepcopy((target, patch))
    result = strategic_merge_patch(target, patch, kind)
    assert (target, patch) == before, "inputs were mutated"
    assert "$" not in json.dumps(result), f"a directive leaked into {result}"
    return result


def pure(fn, target, patch, *args):
    before = copy.deepcopy((target, patch))
    result = fn(target, patch, *args)
    assert (target, patch) == before, "inputs were mutated"
    return result


def container(name, image, **extra):
    return {"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
            "terminationMessagePath": "/dev/termination-log", "resources": {}, **extra}


def deployment(containers, **spec):
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "u-1",
                     "resourceVersion": "1007", "generation": 1,
                     "labels": {"app": "web"},
                     "annotations": {LAST_APPLIED: "{\"old\":true}\n"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": containers, "restartPolicy": "Always"}},
                 **spec},
        "status": {"replicas": 2, "observedGeneration": 1},
    }


# --- RFC 7386 Appendix A ------------------------------------------------------------

RFC7386 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize("target,patch,expected", RFC7386)
def test_merge_patch_rfc7386_appendix_a(target, patch, expected):
    assert pure(merge_patch, target, patch) == expected


def test_merge_patch_result_shares_nothing_with_the_patch():
    patch = {"metadata": {"labels": {"x": "y"}}}
    result = merge_patch({}, patch)
    result["metadata"]["labels"]["x"] = "changed"
    assert patch == {"metadata": {"labels": {"x": "y"}}}


nested = st.recursive(
    st.one_of(st.integers(), st.text(max_size=3), st.booleans()),
    lambda children: st.dictionaries(st.sampled_from("abcde"), children, max_size=4),
    max_leaves=12)
docs = st.dictionaries(st.sampled_from("abcde"), nested, max_size=5)


@given(docs, docs)
@settings(max_examples=100, deadline=None)
def test_merge_patch_without_nulls_is_idempotent(target, patch):
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once


scalars = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.booleans())
with_nulls = st.dictionaries(st.sampled_from("abcde"), st.recursive(
    st.one_of(scalars, st.lists(scalars, max_size=3)),
    lambda children: st.dictionaries(st.sampled_from("abcde"), children, max_size=4),
    max_leaves=12), max_size=5)


@given(with_nulls, with_nulls)
@settings(max_examples=100, deadline=None)
def test_strategic_merge_without_directives_or_keyed_lists_is_a_merge_patch(target, patch):
    # With no merge keys in play (these field names are in no struct table) a strategic
    # merge patch is exactly RFC 7386.
    assert strategic_merge_patch(target, patch, "ConfigMap") == merge_patch(target, patch)


# --- RFC 6902 Appendix A ------------------------------------------------------------

RFC6902 = [
    ("A.1 add object member", {"foo": "bar"},
     [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
    ("A.2 add array element", {"foo": ["bar", "baz"]},
     [{"op": "add", "path": "/foo/1", "value": "qux"}], {"foo": ["bar", "qux", "baz"]}),
    ("A.3 remove object member", {"baz": "qux", "foo": "bar"},
     [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ("A.4 remove array element", {"foo": ["bar", "qux", "baz"]},
     [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    ("A.5 replace a value", {"baz": "qux", "foo": "bar"},
     [{"op": "replace", "path": "/baz", "value": "boo"}], {"baz": "boo", "foo": "bar"}),
    ("A.6 move a value", {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
     [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
     {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
    ("A.7 move an array element", {"foo": ["all", "grass", "cows", "eat"]},
     [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
     {"foo": ["all", "cows", "eat", "grass"]}),
    ("A.8 test success", {"baz": "qux", "foo": ["a", 2, "c"]},
     [{"op": "test", "path": "/baz", "value": "qux"},
      {"op": "test", "path": "/foo/1", "value": 2}], {"baz": "qux", "foo": ["a", 2, "c"]}),
    ("A.10 add nested member object", {"foo": "bar"},
     [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
     {"foo": "bar", "child": {"grandchild": {}}}),
    ("A.11 ignore unrecognized members", {"foo": "bar"},
     [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}], {"foo": "bar", "baz": "qux"}),
    ("A.14 ~ escape ordering", {"/": 9, "~1": 10},
     [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    ("A.16 add an array value", {"foo": ["bar"]},
     [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
     {"foo": ["bar", ["abc", "def"]]}),
    ("copy", {"a": {"b": [1]}}, [{"op": "copy", "from": "/a/b", "path": "/c"}],
     {"a": {"b": [1]}, "c": [1]}),
    ("~1 in a label key", {"metadata": {"labels": {"app.kubernetes.io/name": "x"}}},
     [{"op": "replace", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "y"}],
     {"metadata": {"labels": {"app.kubernetes.io/name": "y"}}}),
    ("add replaces an existing member", {"a": 1}, [{"op": "add", "path": "/a", "value": 2}],
     {"a": 2}),
    ("insert at the end index", {"a": [1]}, [{"op": "add", "path": "/a/1", "value": 2}],
     {"a": [1, 2]}),
    ("numbers compare by value", {"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}],
     {"a": 1}),
]


@pytest.mark.parametrize("name,target,ops,expected", RFC6902, ids=[c[0] for c in RFC6902])
def test_json_patch_rfc6902_appendix_a(name, target, ops, expected):
    assert pure(json_patch, target, ops) == expected


RFC6902_ERRORS = [
    ("A.9 test error", {"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}],
     "testing value /baz failed: test failed"),
    ("A.12 add to a nonexistent target", {"foo": "bar"},
     [{"op": "add", "path": "/baz/bat", "value": "qux"}],
     'add operation does not apply: doc is missing path: "/baz/bat": missing value'),
    ("A.15 string is not a number", {"/": 9, "~1": 10},
     [{"op": "test", "path": "/~01", "value": "10"}], "testing value /~01 failed"),
    ("remove a missing member", {"a": 1}, [{"op": "remove", "path": "/b"}],
     "Unable to remove nonexistent key: b: missing value"),
    ("replace a missing member", {"a": 1}, [{"op": "replace", "path": "/b", "value": 2}],
     "replace operation does not apply: doc is missing key: /b: missing value"),
    ("index past the end", {"a": [1]}, [{"op": "add", "path": "/a/3", "value": 2}],
     "Unable to access invalid index: 3"),
    ("leading zero index", {"a": [1, 2]}, [{"op": "remove", "path": "/a/01"}],
     "not a proper array index"),
    ("- only when adding", {"a": [1]}, [{"op": "remove", "path": "/a/-"}],
     "not a proper array index"),
    ("move into its own child", {"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": "/a/c"}],
     "is a prefix of"),
    ("move from a missing path", {}, [{"op": "move", "from": "/x", "path": "/y"}],
     "move operation does not apply: doc is missing from path: /x"),
    ("test a missing path", {}, [{"op": "test", "path": "/x", "value": None}],
     "test operation does not apply: is missing path: /x"),
    ("true is not 1", {"a": 1}, [{"op": "test", "path": "/a", "value": True}], "test failed"),
    ("unknown op", {}, [{"op": "frobnicate", "path": "/a"}], "Unexpected kind: frobnicate"),
    ("op missing", {}, [{"path": "/a", "value": 1}], "Unexpected kind: unknown"),
    ("value missing", {}, [{"op": "add", "path": "/a"}], "missing value field"),
]


@pytest.mark.parametrize("name,target,ops,why", RFC6902_ERRORS, ids=[c[0] for c in RFC6902_ERRORS])
def test_json_patch_that_does_not_apply_is_422_with_kubernetes_message(name, target, ops, why):
    before = copy.deepcopy((target, ops))
    with pytest.raises(Invalid) as exc:
        json_patch(target, ops)
    assert (target, ops) == before
    # kube-apiserver's NewGenericServerResponse: the fixed message, the reason as a cause.
    status = exc.value.to_status()
    causes = status.pop("details")["causes"]
    assert status == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server rejected our request due to an error in our request",
        "reason": "Invalid", "code": 422}
    assert len(causes) == 1 and causes[0]["reason"] == "UnexpectedServerResponse"
    assert why in causes[0]["message"]
    assert isinstance(exc.value.__cause__, JSONPatchError)
    assert why in str(exc.value.__cause__)


def test_json_patch_is_all_or_nothing():
    target = {"a": 1}
    with pytest.raises(Invalid):
        json_patch(target, [{"op": "replace", "path": "/a", "value": 2},
                            {"op": "test", "path": "/a", "value": 3}])
    assert target == {"a": 1}


@pytest.mark.parametrize("body,message", [
    ({"op": "add"}, "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
    (["add"], "json: cannot unmarshal string into Go value of type jsonpatch.Operation"),
])
def test_malformed_json_patch_document_is_400(body, message):
    with pytest.raises(BadRequest, match=message):
        json_patch({}, body)


def test_rollout_undo_json_patch_puts_back_the_old_template():
    live = deployment([container("nginx", "nginx:1.26")])
    old_template = {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [container("nginx", "nginx:1.25")]}}
    annotations = {"deployment.kubernetes.io/revision": "1"}
    result = pure(apply_patch, live, [
        {"op": "replace", "path": "/spec/template", "value": old_template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations}],
        "application/json-patch+json", "Deployment")
    expected = copy.deepcopy(live)
    expected["spec"]["template"] = old_template
    expected["metadata"]["annotations"] = annotations
    assert result == expected


def test_json_equal_follows_json_not_python():
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal(1, True) and not json_equal(0, False) and not json_equal("1", 1)
    assert not json_equal({"a": 1}, {"a": 1, "b": None})


# --- strategic merge patch: what kubectl sends (contract §3.5) ----------------------

def test_second_apply_changes_image_and_replicas():
    live = deployment([container("nginx", "nginx:1.25",
                                 ports=[{"containerPort": 80, "protocol": "TCP"}])])
    new_config = "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}\n"
    patch = {"metadata": {"annotations": {LAST_APPLIED: new_config}},
             "spec": {"replicas": 3, "template": {"spec": {
                 "$setElementOrder/containers": [{"name": "nginx"}],
                 "containers": [{"image": "nginx:1.26", "name": "nginx"}]}}}}
    expected = copy.deepcopy(live)
    expected["metadata"]["annotations"][LAST_APPLIED] = new_config
    expected["spec"]["replicas"] = 3
    expected["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    assert smp(live, patch) == expected


def test_apply_removing_things_measured_patch():
    live = deployment([
        container("a", "img:1", args=["x", "y"],
                  env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                  ports=[{"containerPort": 80, "protocol": "TCP"},
                         {"containerPort": 443, "protocol": "TCP"}]),
        container("b", "img:2")])
    live["metadata"]["labels"] = {"app": "web", "tier": "frontend"}
    live["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    patch = {"metadata": {"labels": {"tier": None}},
             "spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": None,
                                   "type": "Recreate"},
                      "template": {"spec": {
                          "$setElementOrder/containers": [{"name": "a"}],
                          "containers": [{"$setElementOrder/env": [{"name": "A"}],
                                          "$setElementOrder/ports": [{"containerPort": 80}],
                                          "args": ["z"],
                                          "env": [{"$patch": "delete", "name": "B"}],
                                          "name": "a",
                                          "ports": [{"$patch": "delete", "containerPort": 443}]},
                                         {"$patch": "delete", "name": "b"}],
                          "volumes": None}}}}
    expected = copy.deepcopy(live)
    expected["metadata"]["labels"] = {"app": "web"}
    expected["spec"]["strategy"] = {"type": "Recreate"}
    pod_spec = expected["spec"]["template"]["spec"]
    del pod_spec["volumes"]
    pod_spec["containers"] = [container("a", "img:1", args=["z"],
                                        env=[{"name": "A", "value": "1"}],
                                        ports=[{"containerPort": 80, "protocol": "TCP"}])]
    assert smp(live, patch) == expected


def test_set_image_touches_only_the_named_container():
    live = deployment([container("nginx", "nginx:1.26"), container("sidecar", "envoy:1")])
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
        "containers": [{"image": "nginx:1.27", "name": "nginx"}]}}}}
    expected = copy.deepcopy(live)
    expected["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    assert smp(live, patch) == expected


def test_rollout_restart_adds_the_template_annotation():
    live = deployment([container("nginx", "nginx:1.26")])
    patch = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2025-01-01T10:00:00Z"}}}}}
    expected = copy.deepcopy(live)
    expected["spec"]["template"]["metadata"] = {
        "labels": {"app": "web"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T10:00:00Z"}}
    assert smp(live, patch) == expected


def test_rollout_pause_then_resume_round_trips():
    live = deployment([container("nginx", "nginx:1.26")])
    paused = smp(live, {"spec": {"paused": True}})
    expected = copy.deepcopy(live)
    expected["spec"]["paused"] = True
    assert paused == expected
    assert smp(paused, {"spec": {"paused": None}}) == live


def configmap(finalizers):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default", "finalizers": finalizers},
            "data": {"k": "v"}}


def test_finalizer_removed_with_delete_from_primitive_list():
    live = configmap(["example.com/a", "example.com/b"])
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"],
                          "$setElementOrder/finalizers": ["example.com/b"]}}
    assert smp(live, patch, "ConfigMap") == configmap(["example.com/b"])


def test_finalizers_are_a_set_union_and_new_ones_go_first():
    # apimachinery's order rule: patch items new to the list land before live-only ones.
    live = configmap(["example.com/a", "example.com/b"])
    result = smp(live, {"metadata": {"finalizers": ["example.com/b", "example.com/c"]}},
                 "ConfigMap")
    assert result == configmap(["example.com/a", "example.com/b", "example.com/c"])
    result = smp(live, {"metadata": {"finalizers": ["example.com/c"]}}, "ConfigMap")
    assert result == configmap(["example.com/c", "example.com/a", "example.com/b"])
    ordered = {"metadata": {"$setElementOrder/finalizers": ["example.com/a", "example.com/b",
                                                            "example.com/c"],
                            "finalizers": ["example.com/c"]}}
    assert smp(live, ordered, "ConfigMap") == configmap(
        ["example.com/a", "example.com/b", "example.com/c"])


def service(ports):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "ports": ports,
                     "selector": {"app": "web"}}}


def test_service_ports_merge_by_port():
    http = {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}
    https = {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}
    patch = {"spec": {"$setElementOrder/ports": [{"port": 80}, {"port": 443}],
                      "ports": [{"port": 80, "targetPort": 9090}]}}
    assert smp(service([http, https]), patch, "Service") == service(
        [{**http, "targetPort": 9090}, https])
    with pytest.raises(BadRequest, match="does not contain declared merge key: port"):
        smp(service([http]), {"spec": {"ports": [{"containerPort": 80}]}}, "Service")


def test_pod_container_ports_merge_by_container_port():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [container("app", "img", ports=[
               {"containerPort": 80, "protocol": "TCP"}])]}}
    patch = {"spec": {"containers": [{"name": "app", "ports": [
        {"containerPort": 80, "name": "web"}]}]}}
    expected = copy.deepcopy(pod)
    expected["spec"]["containers"][0]["ports"] = [
        {"containerPort": 80, "protocol": "TCP", "name": "web"}]
    assert smp(pod, patch, "Pod") == expected
    with pytest.raises(BadRequest, match="does not contain declared merge key: containerPort"):
        smp(pod, {"spec": {"containers": [{"name": "app", "ports": [{"port": 80}]}]}}, "Pod")


def test_pod_status_conditions_merge_by_type():
    def cond(kind, status, t="T1"):
        return {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": t}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "status": {"phase": "Pending", "conditions": [
               cond("Initialized", "True"), cond("Ready", "False"),
               cond("ContainersReady", "False"), cond("PodScheduled", "True")]}}
    patch = {"status": {
        "$setElementOrder/conditions": [{"type": "Initialized"}, {"type": "Ready"},
                                        {"type": "ContainersReady"}, {"type": "PodScheduled"}],
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "T2"},
                       {"type": "ContainersReady", "status": "True",
                        "lastTransitionTime": "T2"}],
        "phase": "Running"}}
    # `lastProbeTime: null` in the live object is data, not a patch: it stays.
    assert smp(pod, patch, "Pod")["status"] == {"phase": "Running", "conditions": [
        cond("Initialized", "True"), cond("Ready", "True", "T2"),
        cond("ContainersReady", "True", "T2"), cond("PodScheduled", "True")]}


def test_node_conditions_and_addresses_merge_by_type_but_taints_are_replaced():
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
            "spec": {"taints": [{"key": "a", "effect": "NoSchedule"},
                                {"key": "b", "effect": "NoExecute"}]},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                      {"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.1"},
                                     {"type": "Hostname", "address": "n1"}]}}
    patch = {"spec": {"taints": [{"key": "c", "effect": "NoSchedule"}]},
             "status": {"conditions": [{"type": "Ready", "status": "Unknown",
                                        "reason": "NodeStatusUnknown"}],
                        "addresses": [{"type": "InternalIP", "address": "10.0.0.9"}]}}
    assert smp(node, patch, "Node") == {
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "spec": {"taints": [{"key": "c", "effect": "NoSchedule"}]},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                  {"type": "Ready", "status": "Unknown",
                                   "reason": "NodeStatusUnknown"}],
                   "addresses": [{"type": "InternalIP", "address": "10.0.0.9"},
                                 {"type": "Hostname", "address": "n1"}]}}


def test_deployment_status_conditions_merge_by_type():
    live = deployment([container("nginx", "nginx:1.26")])
    live["status"]["conditions"] = [{"type": "Available", "status": "False"},
                                    {"type": "Progressing", "status": "True"}]
    result = smp(live, {"status": {"conditions": [{"type": "Available", "status": "True"}]}})
    assert result["status"]["conditions"] == [{"type": "Available", "status": "True"},
                                              {"type": "Progressing", "status": "True"}]


def test_owner_references_merge_by_uid():
    rs1 = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs1", "uid": "u1",
           "controller": True}
    rs2 = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs2", "uid": "u2"}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "ownerReferences": [rs1]}}
    updated = smp(pod, {"metadata": {"ownerReferences": [{"uid": "u1",
                                                          "blockOwnerDeletion": True}]}}, "Pod")
    assert updated["metadata"]["ownerReferences"] == [{**rs1, "blockOwnerDeletion": True}]
    swapped = smp(pod, {"metadata": {"ownerReferences": [rs2, {"$patch": "delete",
                                                               "uid": "u1"}]}}, "Pod")
    assert swapped == {**pod, "metadata": {"name": "p", "ownerReferences": [rs2]}}


def test_patch_replace_on_a_map_and_on_a_list():
    live = deployment([container("a", "img:1"), container("b", "img:2")])
    replaced_map = smp(live, {"spec": {"selector": {"$patch": "replace",
                                                    "matchLabels": {"tier": "x"}}}})
    expected = copy.deepcopy(live)
    expected["spec"]["selector"] = {"matchLabels": {"tier": "x"}}
    assert replaced_map == expected

    only = {"name": "only", "image": "img:3"}
    replaced_list = smp(live, {"spec": {"template": {"spec": {
        "containers": [{"$patch": "replace"}, only]}}}})
    expected = copy.deepcopy(live)
    expected["spec"]["template"]["spec"]["containers"] = [only]
    assert replaced_list == expected


def test_patch_delete_on_a_map_leaves_an_empty_map():
    # apimachinery's handleDirectiveInMergeMap returns {}: the key stays.
    live = deployment([container("a", "img:1")])
    expected = copy.deepcopy(live)
    expected["spec"]["strategy"] = {}
    assert smp(live, {"spec": {"strategy": {"$patch": "delete"}}}) == expected
    assert smp(live, {"$patch": "replace", "kind": "Deployment"}) == {"kind": "Deployment"}


def names(obj):
    return [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]]


def test_set_element_order_reorders_the_merged_list():
    live = deployment([container("a", "1"), container("b", "2"), container("c", "3")])
    order = [{"name": "c"}, {"name": "a"}, {"name": "b"}]
    result = smp(live, {"spec": {"template": {"spec": {"$setElementOrder/containers": order}}}})
    expected = copy.deepcopy(live)
    cs = expected["spec"]["template"]["spec"]["containers"]
    expected["spec"]["template"]["spec"]["containers"] = [cs[2], cs[0], cs[1]]
    assert result == expected
    # An element the order does not name keeps its place relative to its live
    # neighbours: b was before c, so it stays before c.
    partial = smp(live, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}]}}}})
    assert names(partial) == ["b", "c", "a"]


def test_order_without_set_element_order_follows_apimachinery():
    live = deployment([container("1", "i"), container("2", "b"), container("3", "i")])
    # "preserve the order from the patch in a merging list 2" (apimachinery tests)
    result = smp(live, {"spec": {"template": {"spec": {"containers": [
        {"name": "3", "image": "c"}, {"name": "1", "image": "a"}]}}}})
    assert names(result) == ["2", "3", "1"]
    assert [c["image"] for c in result["spec"]["template"]["spec"]["containers"]] == \
        ["b", "c", "a"]
    # A new element lands before the live-only ones.
    added = smp(live, {"spec": {"template": {"spec": {"containers": [{"name": "4"}]}}}})
    assert names(added) == ["4", "1", "2", "3"]


def test_set_element_order_must_agree_with_the_patch_list():
    live = deployment([container("a", "1"), container("b", "2")])
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
        "containers": [{"name": "b", "image": "x"}, {"name": "a", "image": "y"}]}}}}
    with pytest.raises(BadRequest, match="doesn't match \\$setElementOrder list"):
        smp(live, patch)


def test_an_empty_list_does_not_clear_a_merge_list_but_null_does():
    live = deployment([container("a", "1")])
    assert smp(live, {"spec": {"template": {"spec": {"containers": []}}}}) == live
    cleared = smp(live, {"spec": {"template": {"spec": {"containers": None}}}})
    assert "containers" not in cleared["spec"]["template"]["spec"]


def test_lists_without_merge_key_are_replaced_whole():
    live = deployment([container("nginx", "nginx:1", command=["nginx", "-g"],
                                 envFrom=[{"configMapRef": {"name": "x"}}])],)
    live["spec"]["template"]["spec"]["tolerations"] = [{"key": "a", "operator": "Exists"}]
    patch = {"spec": {"template": {"spec": {
        "tolerations": [{"key": "b", "operator": "Exists"}],
        "containers": [{"name": "nginx", "command": ["sh"],
                        "envFrom": [{"secretRef": {"name": "y"}}]}]}}}}
    expected = copy.deepcopy(live)
    pod_spec = expected["spec"]["template"]["spec"]
    pod_spec["tolerations"] = [{"key": "b", "operator": "Exists"}]
    pod_spec["containers"][0]["command"] = ["sh"]
    pod_spec["containers"][0]["envFrom"] = [{"secretRef": {"name": "y"}}]
    assert smp(live, patch) == expected


def test_cronjob_containers_are_found_under_the_job_template():
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
               "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {
                   "spec": {"containers": [container("a", "1"), container("b", "2")],
                            "restartPolicy": "OnFailure"}}}}}}
    patch = {"spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "containers": [{"name": "a", "image": "9"}]}}}}}}
    expected = copy.deepcopy(cronjob)
    expected["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] = "9"
    assert smp(cronjob, patch, "CronJob") == expected


def test_retain_keys_switches_a_volume_source():
    live = deployment([container("a", "1")])
    live["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "emptyDir": {}},
                                                    {"name": "cfg", "configMap": {"name": "c"}}]
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/volumes": [{"name": "data"}, {"name": "cfg"}],
        "volumes": [{"$retainKeys": ["hostPath", "name"], "hostPath": {"path": "/tmp"},
                     "name": "data"}]}}}}
    result = smp(live, patch)
    assert result["spec"]["template"]["spec"]["volumes"] == [
        {"name": "data", "hostPath": {"path": "/tmp"}}, {"name": "cfg", "configMap": {"name": "c"}}]
    with pytest.raises(BadRequest, match="invalid patch format of retainKeys"):
        smp(live, {"spec": {"strategy": {"$retainKeys": ["type"],
                                         "rollingUpdate": {"maxSurge": 1}}}})


def test_directives_in_a_value_new_to_the_object_are_applied_not_stored():
    live = deployment([container("a", "1")])
    del live["spec"]["strategy"]
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": None,
                                   "type": "Recreate"},
                      "template": {"spec": {
                          "$setElementOrder/volumes": [{"name": "v"}],
                          "volumes": [{"name": "v", "emptyDir": {"medium": None}},
                                      {"$patch": "delete", "name": "gone"}]}}}}
    result = smp(live, patch)
    assert result["spec"]["strategy"] == {"type": "Recreate"}
    assert result["spec"]["template"]["spec"]["volumes"] == [{"name": "v", "emptyDir": {}}]


@pytest.mark.parametrize("patch,message", [
    ({"spec": {"strategy": {"$patch": "frob"}}},
     "unknown patch type: frob in map: map\\[\\$patch:frob\\]"),
    ({"spec": {"template": {"spec": {"containers": [{"$patch": "merge"}]}}}},
     "merging lists cannot yet be specified in the patch"),
    ({"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}},
     "map: map\\[\\$patch:delete\\] does not contain declared merge key: name"),
    ({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
     "invalid patch format of primitive list"),
])
def test_malformed_strategic_patches_are_400(patch, message):
    with pytest.raises(BadRequest, match=message):
        smp(deployment([container("a", "1")]), patch)


def test_custom_resources_cannot_be_strategically_patched():
    with pytest.raises(UnsupportedMediaType) as exc:
        strategic_merge_patch({"kind": "Widget"}, {"spec": {"size": 2}}, "Widget")
    assert exc.value.code == 415
    assert exc.value.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")


# --- apply_patch: dispatch on the Content-Type --------------------------------------

@pytest.mark.parametrize("patch_type", ["merge", "application/merge-patch+json",
                                        "application/merge-patch+json; charset=utf-8"])
def test_kubectl_label_and_scale_are_merge_patches(patch_type):
    live = deployment([container("a", "1")])
    labelled = pure(apply_patch, live, {"metadata": {"labels": {"x": "y"}}}, patch_type,
                    "Deployment")
    assert labelled["metadata"]["labels"] == {"app": "web", "x": "y"}
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale",
             "metadata": {"name": "web"}, "spec": {"replicas": 2}}
    assert apply_patch(scale, {"spec": {"replicas": 3}}, patch_type, "Scale")["spec"] == \
        {"replicas": 3}


def test_merge_patch_replaces_lists_where_strategic_merges_them():
    live = deployment([container("a", "1"), container("b", "2")])
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "9"}]}}}}
    merged = apply_patch(live, patch, "merge", "Deployment")
    assert merged["spec"]["template"]["spec"]["containers"] == [{"name": "a", "image": "9"}]
    strategic = apply_patch(live, patch, "application/strategic-merge-patch+json", "Deployment")
    assert names(strategic) == ["a", "b"]


def test_unknown_patch_type_is_415_listing_the_accepted_types():
    with pytest.raises(UnsupportedMediaType) as exc:
        apply_patch({}, {}, "application/json", "Pod")
    assert exc.value.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json, application/apply-patch+yaml")


@pytest.mark.parametrize("patch_type,body,message", [
    ("merge", ["x"], "Invalid JSON Patch"),
    ("strategic", ["x"], "json: cannot unmarshal array into Go value of type "
                         "map\\[string\\]interface {}"),
])
def test_patch_body_of_the_wrong_shape_is_400(patch_type, body, message):
    with pytest.raises(BadRequest, match=message):
        apply_patch({}, body, patch_type, "Pod")


def test_server_side_apply_merges_the_manifest_without_tracking_ownership():
    live = deployment([container("nginx", "nginx:1.25"), container("sidecar", "envoy:1")])
    manifest = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"replicas": 5, "template": {"spec": {"containers": [
                    {"name": "nginx", "image": "nginx:1.26"}]}}}}
    result = pure(apply_patch, live, manifest, APPLY_PATCH, "Deployment")
    expected = copy.deepcopy(live)
    expected["spec"]["replicas"] = 5
    expected["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    # Real server-side apply would drop `sidecar` if this manager had applied it before;
    # without managedFields we cannot know, so it stays.
    assert result == expected
    assert apply_patch(None, manifest, "apply", "Deployment") == manifest


def test_server_side_apply_on_a_custom_resource_merges_maps_and_replaces_lists():
    live = {"apiVersion": "ex.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"size": 1, "parts": [{"name": "a"}, {"name": "b"}]}}
    manifest = {"spec": {"parts": [{"name": "c"}], "color": "red"}}
    assert server_side_apply(live, manifest, "Widget") == {
        "apiVersion": "ex.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"size": 1, "parts": [{"name": "c"}], "color": "red"}}
