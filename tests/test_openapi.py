"""OpenAPI v3 documents, schemas and server-side field validation.

What kubectl needs (contract §3.3): a root index of group-versions, one document per
group-version whose PATCH operations declare `fieldValidation` (so `apply -f` validates
on the server) and whose `components.schemas` let `kubectl explain` walk every field.
Then field validation as kube-apiserver does it: Strict rejects unknown fields with
their paths, Warn drops them with a warning, Ignore drops them silently.
"""
import copy
import glob
import json
import os
import re
import uuid

import pytest
import yaml

from minik8s.api import errors, schema
from minik8s.api.registry import REGISTRY, Registry, ResourceType
from minik8s.apiserver import openapi
from minik8s.apiserver.request import Request

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def deployment(**spec):
    s = {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
         "template": {"metadata": {"labels": {"app": "web"}},
                      "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}
    s.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}}, "spec": s}


def refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for v in node.values():
            yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


# --- the documents ----------------------------------------------------------------------

def test_root_lists_every_group_version_with_a_hashed_url():
    root = openapi.document(REGISTRY, [])
    gvs = {f"apis/{t.group}/{t.version}" if t.group else "api/v1" for t in REGISTRY.all()}
    assert set(root["paths"]) == gvs
    for gv, entry in root["paths"].items():
        assert re.fullmatch(rf"/openapi/v3/{gv}\?hash=[0-9A-F]+", entry["serverRelativeURL"])
    assert openapi.document(REGISTRY, []) == root          # stable: kubectl caches by URL


def test_unknown_group_version_has_no_document():
    assert openapi.document(REGISTRY, ["apis", "nope.example.com", "v1"]) is None


def test_every_kind_has_a_patch_operation_declaring_field_validation():
    for rt in REGISTRY.all():
        gv = f"apis/{rt.group}/{rt.version}" if rt.group else "api/v1"
        doc = openapi.document(REGISTRY, gv.split("/"))
        ns = "namespaces/{namespace}/" if rt.namespaced else ""
        op = doc["paths"][f"/{gv}/{ns}{rt.plural}/{{name}}"]["patch"]
        assert "fieldValidation" in [p["name"] for p in op["parameters"]]
        assert op["x-kubernetes-group-version-kind"] == {
            "group": rt.group, "version": rt.version, "kind": rt.kind}
        # With SMP listed, kubectl would build apply's patches from our schemas.
        assert "application/strategic-merge-patch+json" not in json.dumps(op)


def test_every_kind_schema_carries_its_gvk_and_every_ref_resolves():
    for gv, entry in openapi.document(REGISTRY, [])["paths"].items():
        doc = openapi.document(REGISTRY, gv.split("/"))
        schemas = doc["components"]["schemas"]
        for op in (p["patch"] for p in doc["paths"].values()):
            gvk = op["x-kubernetes-group-version-kind"]
            tops = [s for s in schemas.values()
                    if gvk in s.get("x-kubernetes-group-version-kind", [])]
            assert len(tops) == 1, gvk
            top = tops[0]
            assert top["x-kubernetes-group-version-kind"] == [
                {"group": gvk["group"], "kind": gvk["kind"], "version": gvk["version"]}]
            assert top["type"] == "object" and top["description"]
            assert {"apiVersion", "kind", "metadata"} <= set(top["properties"])
        for ref in refs(doc):           # each document stands alone
            assert ref.startswith("#/components/schemas/")
            assert ref.rsplit("/", 1)[1] in schemas, (gv, ref)


def test_nested_types_are_allof_refs_with_required_fields():
    doc = openapi.document(REGISTRY, ["apis", "apps", "v1"])
    schemas = doc["components"]["schemas"]
    dep = schemas["io.k8s.api.apps.v1.Deployment"]
    assert dep["properties"]["spec"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]
    assert dep["properties"]["spec"]["description"]
    spec = schemas["io.k8s.api.apps.v1.DeploymentSpec"]
    assert set(spec["required"]) == {"selector", "template"}
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["type"] == "array"
    assert containers["items"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}]
    assert schemas["io.k8s.api.core.v1.Container"]["required"] == ["name"]
    assert "io.k8s.api.autoscaling.v1.Scale" in schemas      # the /scale body


def test_a_kind_without_a_schema_gets_an_open_one():
    crd = ResourceType("stable.example.com", "v1", "CronTab", "crontabs")
    reg = Registry(list(REGISTRY.all()) + [crd])
    root = openapi.document(reg, [])
    assert "apis/stable.example.com/v1" in root["paths"]
    doc = openapi.document(reg, ["apis", "stable.example.com", "v1"])
    top = doc["components"]["schemas"]["com.example.stable.v1.CronTab"]
    assert top["x-kubernetes-preserve-unknown-fields"] is True
    assert top["x-kubernetes-group-version-kind"] == [
        {"group": "stable.example.com", "kind": "CronTab", "version": "v1"}]
    # The other group-versions' documents (and so their hashes) do not change.
    assert root["paths"]["apis/apps/v1"] == openapi.document(REGISTRY, [])["paths"]["apis/apps/v1"]
    assert openapi.unknown_fields("crontabs", "stable.example.com",
                                  {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                                   "spec": {"anything": 1}}) == []


# --- unknown fields ---------------------------------------------------------------------

def test_unknown_fields_are_reported_with_their_paths_in_document_order():
    d = deployment(bogus=1)
    c = d["spec"]["template"]["spec"]["containers"]
    c.append({"name": "side", "image": "busybox", "imagee": "x",
              "ports": [{"containerPort": 80, "hostport": 8080}],
              "livenessProbe": {"httpGet": {"port": 80, "pth": "/"}}})
    d["spec"]["template"]["spec"]["volumes"] = [{"name": "cfg", "configMap": {"nme": "c"}}]
    d["metadata"]["lables"] = {"a": "b"}
    assert openapi.unknown_fields("deployments", "apps", d) == [
        "metadata.lables",
        "spec.template.spec.containers[1].imagee",
        "spec.template.spec.containers[1].ports[0].hostport",
        "spec.template.spec.containers[1].livenessProbe.httpGet.pth",
        "spec.template.spec.volumes[0].configMap.nme",
        "spec.bogus"]


def test_open_types_never_report_unknown_fields():
    d = deployment()
    d["metadata"]["annotations"] = {"anything/goes": "x"}
    pod = d["spec"]["template"]["spec"]
    pod["nodeSelector"] = {"disk": "ssd"}
    pod["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": 1, "cpu": "500m"}}
    pod["volumes"] = [{"name": "ebs", "awsElasticBlockStore": {"volumeID": "v", "new": 1}},
                      {"name": "csi", "csi": {"driver": "d", "volumeAttributes": {"k": "v"}}}]
    d["metadata"]["managedFields"] = [{"manager": "m", "fieldsV1": {"f:spec": {}}}]
    assert openapi.unknown_fields("deployments", "apps", d) == []
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
          "data": {"any.key": "v"}, "binaryData": {"b": "eA=="}}
    assert openapi.unknown_fields("configmaps", "", cm) == []
    cm["spec"] = {}
    assert openapi.unknown_fields("configmaps", "", cm) == ["spec"]
    rev = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"},
           "revision": 1, "data": {"spec": {"template": {"whatever": 1}}}}
    assert openapi.unknown_fields("controllerrevisions", "apps", rev) == []


def test_nulls_and_wrong_types_are_not_unknown_fields():
    # kubectl run/expose send `creationTimestamp: null`, `resources: {}`; a wrong type is
    # a decoding or validation error, not an unknown field.
    d = deployment(strategy=None)
    d["metadata"]["creationTimestamp"] = None
    d["spec"]["template"]["spec"]["containers"][0]["resources"] = {}
    d["spec"]["template"]["spec"]["tolerations"] = "not-a-list"
    assert openapi.unknown_fields("deployments", "apps", d) == []


def test_a_body_is_checked_against_the_kind_it_names():
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"},
             "spec": {"replicas": 3, "bogus": 1}}
    assert openapi.unknown_fields("deployments", "apps", scale) == ["spec.bogus"]
    # Without apiVersion/kind the resource decides.
    assert openapi.unknown_fields("services", "", {"spec": {"ports": [{"port": 80,
                                                                       "prt": 1}]}}) \
        == ["spec.ports[0].prt"]


def test_prune_drops_exactly_the_unknown_fields():
    d = deployment(bogus=1)
    d["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x"
    before = copy.deepcopy(d)
    pruned = openapi.prune_unknown("deployments", "apps", d)
    assert d == before                                  # the input is not changed
    assert openapi.unknown_fields("deployments", "apps", pruned) == []
    assert pruned == deployment()


def test_course_manifests_have_no_unknown_fields():
    from test_validation import SEED_BLOCKS, SEED_REASSEMBLED
    docs = [(f"seed {k}", yaml.safe_load(v)) for k, v in sorted(SEED_BLOCKS.items())]
    docs += [("reassembled", d) for d in yaml.safe_load_all(SEED_REASSEMBLED)]
    for path in sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml"))):
        docs += [(path, d) for d in yaml.safe_load_all(open(path)) if d]
    assert len(docs) > 15
    for where, doc in docs:
        rt = REGISTRY.by_kind(doc["kind"])
        found = openapi.unknown_fields(rt.plural, rt.group, doc)
        # The one slide whose words extraction scrambled really has a stray field.
        assert found == (["spec.version"] if where == "seed ('000', 94)" else []), where


# --- Strict, Warn, Ignore ---------------------------------------------------------------

def create(resource="deployments", group="apps"):
    return Request("create", resource, namespace="default", group=group)


def test_strict_message_is_kubernetes_text():
    d = deployment(bogus=1)
    assert openapi.strict_message(create(), d, ["spec.bogus"]) == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding '
        'error: unknown field "spec.bogus"')
    assert openapi.strict_message(create("pods", ""), {}, ["spec.a", "spec.b"]) == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
        'unknown field "spec.a", unknown field "spec.b"')


def test_strict_create_fails_with_400_and_every_unknown_field():
    d = deployment(bogus=1)
    d["spec"]["template"]["spec"]["containers"][0]["imagee"] = "x"
    with pytest.raises(errors.BadRequest) as e:
        openapi.validate_fields(create(), d, "Strict")
    assert e.value.code == 400
    assert e.value.message.endswith(          # in document order: bogus comes last
        'strict decoding error: unknown field "spec.template.spec.containers[0].imagee", '
        'unknown field "spec.bogus"')


@pytest.mark.parametrize("directive,warned", [("Warn", True), ("", True), ("Ignore", False)])
def test_warn_and_ignore_drop_unknown_fields(directive, warned):
    body, warnings = openapi.validate_fields(create(), deployment(bogus=1), directive)
    assert body == deployment()
    assert warnings == (['unknown field "spec.bogus"'] if warned else [])


def test_a_clean_body_passes_unchanged():
    d = deployment()
    assert openapi.validate_fields(create(), d, "Strict") == (d, [])


def test_strict_patch_with_unknown_fields_is_invalid_on_the_patch_field():
    req = Request("patch", "deployments", namespace="default", name="web", group="apps",
                  patch_type="strategic")
    patch = {"spec": {"bogus": 1, "replicas": 3}}
    with pytest.raises(errors.Invalid) as e:
        openapi.validate_fields(req, patch, "Strict")
    assert e.value.code == 422
    assert e.value.message == (' "" is invalid: patch: Invalid value: '
                               '"map[spec:map[bogus:1 replicas:3]]": strict decoding error: '
                               'unknown field "spec.bogus"')
    assert [(c.field, c.reason) for c in e.value.causes] == [("patch", "FieldValueInvalid")]


def test_patch_directives_and_deletions_are_not_unknown_fields():
    # What kubectl apply sends when a manifest drops a field and reorders containers.
    req = Request("patch", "deployments", namespace="default", name="web", group="apps",
                  patch_type="strategic")
    patch = {"metadata": {"labels": {"tier": None}},
             "spec": {"bogus": None,
                      "strategy": {"$retainKeys": ["type"], "rollingUpdate": None,
                                   "type": "Recreate"},
                      "template": {"spec": {"$setElementOrder/containers": [{"name": "a"}],
                                            "containers": [{"$patch": "delete",
                                                            "name": "b"}]}}}}
    assert openapi.validate_fields(req, patch, "Strict") == (patch, [])
    merge = Request("patch", "deployments", namespace="default", name="web", group="apps",
                    patch_type="merge")
    assert openapi.validate_fields(merge, {"spec": {"replicas": 3, "x": 1}}, "Warn") == (
        {"spec": {"replicas": 3}}, ['unknown field "spec.x"'])


def test_server_side_apply_words_it_as_a_schema_error():
    req = Request("patch", "deployments", namespace="default", name="web", group="apps",
                  patch_type="apply")
    with pytest.raises(errors.BadRequest) as e:
        openapi.validate_fields(req, deployment(bogus=1), "Strict")
    assert e.value.message == ("failed to create typed patch object (default/web; "
                               "apps/v1, Kind=Deployment): .spec.bogus: field not declared "
                               "in schema")


# --- every field of Kubernetes v1.32, checked against the official client's models --------

# Fields the `kubernetes` Python client (a newer Kubernetes) has and v1.32 does not.
NEWER_THAN_1_32 = {
    "V1PodSpec": {"evictionResponders", "hostnameOverride", "schedulingGroup"},
    "V1Container": {"restartPolicyRules"}, "V1EphemeralContainer": {"restartPolicyRules"},
    "V1Lifecycle": {"stopSignal"}, "V1EnvVarSource": {"fileKeyRef"},
    "V1VolumeMount": {"bindMountOptions"}, "V1HTTPGetAction": {"protocol"},
    "V1GRPCAction": {"mode"}, "V1EmptyDirVolumeSource": {"mode"},
    "V1ConfigMapVolumeSource": {"defaultUser"}, "V1SecretVolumeSource": {"defaultUser"},
    "V1DownwardAPIVolumeSource": {"defaultUser"}, "V1ProjectedVolumeSource": {"defaultUser"},
    "V1KeyToPath": {"user"}, "V1DownwardAPIVolumeFile": {"user"},
    "V1ServiceAccountTokenProjection": {"user"}, "V1VolumeProjection": {"podCertificate"},
    "V1PodStatus": {"allocatedResources", "extendedResourceClaimStatus", "observedGeneration",
                    "nodeAllocatableResourceClaimStatuses", "resources", "volumeHealth"},
    "V1PodCondition": {"observedGeneration"}, "V1ContainerStatus": {"stopSignal"},
    "V1VolumeMountStatus": {"volumeStatus"}, "V1ResourceHealth": {"message"},
    "V1NodeSpec": {"podPreemptionPolicy"}, "V1NodeStatus": {"declaredFeatures"},
    "V1NodeSystemInfo": {"runningInUserNamespace", "swap"},
    "V1PersistentVolumeClaimStatus": {"healthStatus"},
    "V1DeploymentStatus": {"terminatingReplicas"}, "V1ReplicaSetStatus": {"terminatingReplicas"},
    "V1JobSpec": {"scheduling"}, "V2HPAScalingRules": {"tolerance"},
    "V2HorizontalPodAutoscalerCondition": {"observedGeneration"},
}

CLIENT_ROOTS = {"V1Namespace": "Namespace", "V1Node": "Node", "V1Pod": "Pod",
                "V1Service": "Service", "V1Endpoints": "Endpoints", "V1ConfigMap": "ConfigMap",
                "V1Secret": "Secret", "CoreV1Event": "Event",
                "V1ServiceAccount": "ServiceAccount", "V1PersistentVolume": "PersistentVolume",
                "V1PersistentVolumeClaim": "PersistentVolumeClaim",
                "V1Deployment": "Deployment", "V1ReplicaSet": "ReplicaSet",
                "V1StatefulSet": "StatefulSet", "V1DaemonSet": "DaemonSet",
                "V1ControllerRevision": "ControllerRevision", "V1Job": "Job",
                "V1CronJob": "CronJob", "V2HorizontalPodAutoscaler": "HorizontalPodAutoscaler",
                "V1Lease": "Lease", "V1Ingress": "Ingress", "V1Role": "Role",
                "V1RoleBinding": "RoleBinding", "V1ClusterRole": "ClusterRole",
                "V1ClusterRoleBinding": "ClusterRoleBinding"}

_SCALARS = {"str": ("string", "Quantity"), "int": ("integer",), "bool": ("boolean",),
            "float": ("number",), "datetime": ("Time", "MicroTime"), "bytes": ("byte",),
            "object": ("IntOrString", "object")}


def _shape(s: dict) -> str:
    """What one of our property schemas is: a type name, or array / map / object."""
    if "allOf" in s:
        target = schema._target(s)
        if "properties" in target or target.get("x-kubernetes-preserve-unknown-fields"):
            return "struct"
        return s["allOf"][0]["$ref"]                    # Quantity, IntOrString, Time
    if s.get("format") == "byte":
        return "byte"
    if s.get("x-kubernetes-preserve-unknown-fields"):
        return "object"
    return {"array": "array"}.get(s.get("type"), "map" if "additionalProperties" in s
                                  else s.get("type"))


def test_schemas_have_exactly_the_fields_of_kubernetes_1_32():
    client = pytest.importorskip("kubernetes.client")
    problems, seen = [], set()

    def check_type(model: str, ours: dict):
        if (model, id(ours)) in seen:
            return
        seen.add((model, id(ours)))
        ours = schema._target(ours)
        if ours.get("x-kubernetes-preserve-unknown-fields"):
            return                                      # knowingly open: not checked
        cls, props = getattr(client, model), ours.get("properties", {})
        theirs = {cls.attribute_map[a]: t for a, t in cls.openapi_types.items()}
        newer = NEWER_THAN_1_32.get(model, set())
        for field, typ in theirs.items():
            if field in newer:
                if field in props:
                    problems.append(f"{model}.{field} is newer than v1.32")
            elif field not in props:
                problems.append(f"{model}.{field} is missing")
            else:
                check_field(f"{model}.{field}", typ, props[field])
        problems.extend(f"{model}.{f} is not a Kubernetes field" for f in props
                        if f not in theirs)

    def check_field(where: str, typ: str, ours: dict):
        shape = _shape(ours)
        if typ.startswith("List["):
            return check_field(where + "[]", typ[5:-1], ours["items"]) if shape == "array" \
                else problems.append(f"{where}: {shape}, not a list")
        if typ.startswith("Dict[str, "):
            return check_field(where + "{}", typ[10:-1], ours["additionalProperties"]) \
                if shape == "map" else problems.append(f"{where}: {shape}, not a map")
        if typ in _SCALARS:
            if shape not in _SCALARS[typ]:
                problems.append(f"{where}: {shape}, not {typ}")
        elif shape == "struct":
            check_type(typ, ours)
        elif shape != "object":
            problems.append(f"{where}: {shape}, not {typ}")

    for model, kind in CLIENT_ROOTS.items():
        rt = REGISTRY.by_kind(kind)
        check_type(model, schema.SCHEMAS[schema.for_kind(rt.group, rt.version, kind)])
    check_type("V1Scale", schema.SCHEMAS[schema.for_kind("autoscaling", "v1", "Scale")])
    assert problems == []
    assert len(seen) > 200                               # the walk went everywhere


# --- the real kubectl ---------------------------------------------------------------------

@pytest.fixture
def namespace(kubectl):
    name = "oa-" + uuid.uuid4().hex[:8]
    r = kubectl("apply", "-f", "-", input=f"apiVersion: v1\nkind: Namespace\n"
                                          f"metadata:\n  name: {name}\n")
    assert r.returncode == 0, r.stderr
    return name


def manifest(name, image="nginx:1.27", extra_spec="", extra_container=""):
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n"
            f"  replicas: 1\n{extra_spec}"
            f"  selector:\n    matchLabels: {{app: {name}}}\n"
            f"  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n"
            f"      containers:\n      - name: web\n        image: {image}\n{extra_container}")


def test_kubectl_apply_validates_on_the_server(kubectl, namespace):
    r = kubectl("apply", "-n", namespace, "-f", "-", input=manifest("web"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "deployment.apps/web created"
    r = kubectl("apply", "-n", namespace, "-f", "-", input=manifest("web", "nginx:1.28"))
    assert (r.returncode, r.stdout.strip()) == (0, "deployment.apps/web configured"), r.stderr


def test_kubectl_apply_rejects_unknown_fields(kubectl, namespace):
    r = kubectl("apply", "-n", namespace, "-f", "-",
                input=manifest("bad", extra_spec="  bogus: 1\n",
                               extra_container="        imagee: x\n"))
    assert r.returncode == 1
    assert ('Deployment in version "v1" cannot be handled as a Deployment: strict decoding '
            'error: unknown field "spec.bogus", unknown field '
            '"spec.template.spec.containers[0].imagee"') in r.stderr
    assert kubectl("get", "deployment", "bad", "-n", namespace).returncode == 1


def test_kubectl_validate_false_drops_unknown_fields(kubectl, namespace):
    r = kubectl("apply", "--validate=false", "-n", namespace, "-f", "-",
                input=manifest("loose", extra_spec="  bogus: 1\n"))
    assert r.returncode == 0, r.stderr
    stored = json.loads(kubectl("get", "deployment", "loose", "-n", namespace,
                                "-o", "json").stdout)
    assert "bogus" not in stored["spec"] and stored["spec"]["replicas"] == 1


def test_kubectl_validate_warn_prints_a_warning_per_dropped_field(kubectl, namespace):
    r = kubectl("apply", "--validate=warn", "-n", namespace, "-f", "-",
                input=manifest("warned", extra_spec="  bogus: 1\n"))
    assert r.returncode == 0, r.stderr
    assert 'Warning: unknown field "spec.bogus"' in r.stderr


def test_kubectl_apply_of_a_changed_manifest_with_unknown_field_is_invalid(kubectl, namespace):
    # The second apply is a strategic-merge PATCH with fieldValidation=Strict: 422, on
    # the field `patch`, quoting the patch as Go prints a map.
    assert kubectl("apply", "-n", namespace, "-f", "-", input=manifest("p")).returncode == 0
    r = kubectl("apply", "-n", namespace, "-f", "-",
                input=manifest("p", "nginx:1.28", extra_spec="  bogus: 1\n"))
    assert r.returncode == 1
    assert "The request is invalid: patch: Invalid value: \"map[" in r.stderr
    assert r.stderr.rstrip().endswith('": strict decoding error: unknown field "spec.bogus"')


def test_kubectl_patch_warns_and_drops_unknown_fields(kubectl, namespace):
    # `kubectl patch` sends no fieldValidation: the server's default is Warn.
    assert kubectl("apply", "-n", namespace, "-f", "-", input=manifest("q")).returncode == 0
    r = kubectl("patch", "deployment", "q", "-n", namespace, "-p", '{"spec":{"bogus":1}}')
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == 'Warning: unknown field "spec.bogus"'
    assert r.stdout.strip() == "deployment.apps/q patched (no change)"


def test_kubectl_explain_field(kubectl):
    r = kubectl("explain", "deployment.spec.strategy")
    assert r.returncode == 0, r.stderr
    assert "FIELD: strategy <DeploymentStrategy>" in r.stdout
    assert re.search(r"^  rollingUpdate\t<RollingUpdateDeployment>$", r.stdout, re.M)
    assert re.search(r"^  type\t<string>$", r.stdout, re.M)


def test_kubectl_explain_containers(kubectl):
    r = kubectl("explain", "deployment.spec.template.spec.containers")
    assert r.returncode == 0, r.stderr
    assert "FIELD: containers <[]Container>" in r.stdout
    assert re.search(r"^  image\t<string>$", r.stdout, re.M)
    assert re.search(r"^  name\t<string> -required-$", r.stdout, re.M)


def test_kubectl_explain_recursive(kubectl):
    r = kubectl("explain", "pods", "--recursive")
    assert r.returncode == 0, r.stderr
    assert "KIND:       Pod" in r.stdout
    assert re.search(r"^      image\t<string>$", r.stdout, re.M)     # spec.containers.image
    assert re.search(r"^    phase\t<string>$", r.stdout, re.M)       # status.phase


def test_kubectl_explain_unknown_field(kubectl):
    r = kubectl("explain", "deployment.spec.bogus")
    assert r.returncode == 1
    assert 'field "bogus" does not exist' in r.stderr
