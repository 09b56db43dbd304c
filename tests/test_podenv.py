"""Container environment and volumes, as the kubelet builds them.

ConfigMaps and Secrets are real objects created through the in-process client (so a
Secret's stringData is folded into base64 data exactly as the API server does), and
`lookup` reads them the way the kubelet's object cache does.
"""
import os
import stat

import pytest

from minik8s.node.podenv import (CreateContainerConfigError, VolumeError, build_env, expand,
                                 mapping_for, mounts_for, prepare_volumes)


@pytest.fixture
def lookup(client):
    client.create({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "cfg", "namespace": "default"},
                   "data": {"color": "blue", "size": "L", "1st": "one"}})
    client.create({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "creds", "namespace": "default"},
                   "stringData": {"password": "s3cr3t", "user": "admin"}})
    return lambda kind, ns, name: client.get(kind, name, ns)


def make_pod(env=None, env_from=None, **extra):
    container = {"name": "app", "image": "busybox", "env": env or [], "envFrom": env_from or []}
    container.update(extra)
    return {"metadata": {"name": "web-1", "namespace": "default", "uid": "uid-1",
                         "labels": {"app": "web", "tier": "front"},
                         "annotations": {"note": 'say "hi"'}},
            "spec": {"containers": [container], "nodeName": "node-1",
                     "serviceAccountName": "default"},
            "status": {"podIP": "127.128.0.2", "hostIP": "127.128.0.1"}}


def env_of(pod, lookup, **kw):
    return dict(build_env(pod, pod["spec"]["containers"][0], lookup, **kw))


@pytest.mark.parametrize("text,want", [
    ("$(VAR_A)", "A"),
    ("___$(VAR_B)___", "___B___"),
    ("$(VAR_A)-$(VAR_A)", "A-A"),
    ("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"),
    ("$$(VAR_B)_$$(VAR_A)", "$(VAR_B)_$(VAR_A)"),
    ("f000-$$VAR_A", "f000-$VAR_A"),
    ("foo\\$(VAR_C)bar", "foo\\Cbar"),
    ("$(VAR_A", "$(VAR_A"),
    ("$VAR_A", "$VAR_A"),
    ("$(VAR_A)$", "A$"),
    ("$()", "$()"),
    ("$$$$$$(VAR_A)", "$$$(VAR_A)"),
    ("$(UNKNOWN)", "$(UNKNOWN)"),
    ("$(VAR_EMPTY)x", "x"),
])
def test_expansion_follows_kubernetes(text, want):
    mapping = mapping_for({"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_EMPTY": ""})
    assert expand(text, mapping) == want


def test_values_expand_only_earlier_variables(lookup):
    pod = make_pod(env=[{"name": "A", "value": "a"},
                        {"name": "B", "value": "$(A)-$(C)"},
                        {"name": "C", "value": "c"},
                        {"name": "D", "value": "$(color)/$$(A)"}],
                   env_from=[{"configMapRef": {"name": "cfg"}}])
    env = env_of(pod, lookup)
    assert env["B"] == "a-$(C)"
    assert env["D"] == "blue/$(A)"


def test_env_from_with_prefix_and_env_overrides_it(lookup):
    pod = make_pod(env=[{"name": "CFG_color", "value": "red"}],
                   env_from=[{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"},
                             {"secretRef": {"name": "creds"}}])
    env = env_of(pod, lookup)
    assert env["CFG_color"] == "red" and env["CFG_size"] == "L"
    assert env["password"] == "s3cr3t" and env["user"] == "admin"
    # RelaxedEnvironmentVariableValidation (1.32): a name may start with a digit.
    assert env["CFG_1st"] == "one"


def test_key_refs_and_optional_sources(lookup):
    pod = make_pod(env=[
        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
        {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
        {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k",
                                                          "optional": True}}},
        {"name": "OPTKEY", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k",
                                                          "optional": True}}},
        {"name": "LITERAL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "size"}}}],
        env_from=[{"configMapRef": {"name": "missing", "optional": True}}])
    env = env_of(pod, lookup)
    assert env == {"COLOR": "blue", "PW": "s3cr3t", "LITERAL": "L"}


@pytest.mark.parametrize("var,message", [
    ({"configMapKeyRef": {"name": "nope", "key": "k"}}, 'configmap "nope" not found'),
    ({"secretKeyRef": {"name": "nope", "key": "k"}}, 'secret "nope" not found'),
    ({"configMapKeyRef": {"name": "cfg", "key": "k"}},
     "couldn't find key k in ConfigMap default/cfg"),
    ({"secretKeyRef": {"name": "creds", "key": "k"}},
     "couldn't find key k in Secret default/creds"),
])
def test_missing_sources_are_create_container_config_errors(lookup, var, message):
    pod = make_pod(env=[{"name": "X", "valueFrom": var}])
    with pytest.raises(CreateContainerConfigError) as e:
        env_of(pod, lookup)
    assert str(e.value) == message
    assert e.value.reason == "CreateContainerConfigError"


def test_missing_env_from_source_fails_too(lookup):
    pod = make_pod(env_from=[{"secretRef": {"name": "gone"}}])
    with pytest.raises(CreateContainerConfigError, match='^secret "gone" not found$'):
        env_of(pod, lookup)


def test_field_refs_are_the_downward_api(lookup):
    paths = {"NAME": "metadata.name", "NS": "metadata.namespace", "UID": "metadata.uid",
             "IP": "status.podIP", "HOST": "status.hostIP", "NODE": "spec.nodeName",
             "SA": "spec.serviceAccountName", "APP": "metadata.labels['app']",
             "NONE": "metadata.labels['none']", "LABELS": "metadata.labels",
             "NOTES": "metadata.annotations"}
    pod = make_pod(env=[{"name": k, "valueFrom": {"fieldRef": {"fieldPath": v}}}
                        for k, v in paths.items()])
    env = env_of(pod, lookup)
    assert env["NAME"] == "web-1" and env["NS"] == "default" and env["UID"] == "uid-1"
    assert env["IP"] == "127.128.0.2" and env["HOST"] == "127.128.0.1"
    assert env["NODE"] == "node-1" and env["SA"] == "default"
    assert env["APP"] == "web" and env["NONE"] == ""
    assert env["LABELS"] == 'app="web"\ntier="front"'
    assert env["NOTES"] == 'note="say \\"hi\\""'
    # The kubelet knows the pod IP before the status says it.
    env = env_of(pod, lookup, pod_ip="127.128.0.9")
    assert env["IP"] == "127.128.0.9"


def test_resource_field_refs_round_up_and_default_to_allocatable(lookup):
    pod = make_pod(env=[
        {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                              "divisor": "1Mi"}}},
        {"name": "CPU_M", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu",
                                                             "divisor": "1m"}}},
        {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu"}}},
        {"name": "CPU_LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}],
        resources={"requests": {"cpu": "250m"}, "limits": {"memory": "100M"}})
    env = env_of(pod, lookup, node_allocatable={"cpu": "4", "memory": "8Gi"})
    assert env == {"MEM_MI": "96", "CPU_M": "250", "CPU": "1", "CPU_LIMIT": "4"}


def volume_pod(*volumes):
    return {"metadata": {"name": "web-1", "namespace": "default", "uid": "uid-1"},
            "spec": {"volumes": list(volumes), "containers": []}}


def test_configmap_and_secret_volumes_are_files(lookup, tmp_path):
    pod = volume_pod({"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 0o600}},
                     {"name": "some", "configMap": {"name": "cfg", "items": [
                         {"key": "color", "path": "sub/colour", "mode": 0o400}]}},
                     {"name": "creds", "secret": {"secretName": "creds"}},
                     {"name": "scratch", "emptyDir": {}})
    paths = prepare_volumes(pod, str(tmp_path), lookup)
    assert sorted(os.listdir(paths["cfg"])) == ["1st", "color", "size"]
    assert open(os.path.join(paths["cfg"], "color")).read() == "blue"
    assert stat.S_IMODE(os.stat(os.path.join(paths["cfg"], "size")).st_mode) == 0o600
    colour = os.path.join(paths["some"], "sub", "colour")
    assert open(colour).read() == "blue" and stat.S_IMODE(os.stat(colour).st_mode) == 0o400
    assert sorted(os.listdir(paths["some"])) == ["sub"]
    assert open(os.path.join(paths["creds"], "password")).read() == "s3cr3t"
    assert stat.S_IMODE(os.stat(os.path.join(paths["creds"], "user")).st_mode) == 0o644
    assert os.path.isdir(paths["scratch"]) and paths["scratch"].startswith(str(tmp_path))


def test_volumes_refresh_and_keep_empty_dir_contents(client, lookup, tmp_path):
    pod = volume_pod({"name": "cfg", "configMap": {"name": "cfg"}},
                     {"name": "scratch", "emptyDir": {}})
    paths = prepare_volumes(pod, str(tmp_path), lookup)
    open(os.path.join(paths["scratch"], "state"), "w").write("kept")
    client.patch("configmaps", "cfg", {"data": {"size": None, "color": "green"}}, "default")
    assert prepare_volumes(pod, str(tmp_path), lookup) == paths
    assert sorted(os.listdir(paths["cfg"])) == ["1st", "color"]
    assert open(os.path.join(paths["cfg"], "color")).read() == "green"
    assert open(os.path.join(paths["scratch"], "state")).read() == "kept"


@pytest.mark.parametrize("volume,message", [
    ({"name": "v", "configMap": {"name": "nope"}},
     'MountVolume.SetUp failed for volume "v" : configmap "nope" not found'),
    ({"name": "v", "secret": {"secretName": "nope"}},
     'MountVolume.SetUp failed for volume "v" : secret "nope" not found'),
    ({"name": "v", "configMap": {"name": "cfg", "items": [{"key": "k", "path": "k"}]}},
     'MountVolume.SetUp failed for volume "v" : configmap references non-existent config '
     'key: k'),
    ({"name": "v", "secret": {"secretName": "creds", "items": [{"key": "k", "path": "k"}]}},
     'MountVolume.SetUp failed for volume "v" : references non-existent secret key: k'),
])
def test_missing_volume_sources_fail_the_mount(lookup, tmp_path, volume, message):
    with pytest.raises(VolumeError) as e:
        prepare_volumes(volume_pod(volume), str(tmp_path), lookup)
    assert str(e.value) == message and e.value.reason == "FailedMount"


def test_optional_missing_sources_mount_empty(lookup, tmp_path):
    pod = volume_pod({"name": "v", "secret": {"secretName": "nope", "optional": True}})
    paths = prepare_volumes(pod, str(tmp_path), lookup)
    assert os.listdir(paths["v"]) == []


def test_host_path_types(lookup, tmp_path):
    made = tmp_path / "made" / "here"
    pod = volume_pod({"name": "d", "hostPath": {"path": str(made), "type": "DirectoryOrCreate"}},
                     {"name": "any", "hostPath": {"path": "/nonexistent/whatever"}})
    paths = prepare_volumes(pod, str(tmp_path / "pod"), lookup)
    assert paths == {"d": str(made), "any": "/nonexistent/whatever"}
    assert made.is_dir()
    pod = volume_pod({"name": "f", "hostPath": {"path": str(made), "type": "File"}})
    with pytest.raises(VolumeError, match=f"hostPath type check failed: {made} is not a file"):
        prepare_volumes(pod, str(tmp_path / "pod"), lookup)


def test_mounts_with_sub_paths(lookup, tmp_path):
    pod = volume_pod({"name": "cfg", "configMap": {"name": "cfg"}},
                     {"name": "scratch", "emptyDir": {}})
    paths = prepare_volumes(pod, str(tmp_path), lookup)
    container = {"name": "app", "volumeMounts": [
        {"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True},
        {"name": "cfg", "mountPath": "/etc/color", "subPath": "color"},
        {"name": "scratch", "mountPath": "/data", "subPathExpr": "$(POD)"}]}
    mounts = mounts_for(container, paths, {"POD": "web-1"})
    assert [(m.host_path, m.container_path, m.read_only) for m in mounts] == [
        (paths["cfg"], "/etc/cfg", True),
        (os.path.join(paths["cfg"], "color"), "/etc/color", False),
        (os.path.join(paths["scratch"], "web-1"), "/data", False)]
    assert os.path.isdir(os.path.join(paths["scratch"], "web-1"))
