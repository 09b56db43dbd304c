"""The kubelet, stepped by hand over the in-process API with the simulated runtime and
a fake clock: registration and heartbeats, the pod lifecycle, restart policies,
CrashLoopBackOff timing, probes, init containers, env/volumes, image pulls, graceful
deletion, status-write economy. Pods are bound with client.bind (no scheduler).
The pure decisions of podsync.py are table-tested at the end."""
import random

import pytest

from minik8s.api.errors import NotFound
from minik8s.api.meta import micro_time, parse_time
from minik8s.client.wrappers import RecordingClient
from minik8s.node import podsync
from minik8s.node.kubelet import Kubelet
from minik8s.node.nodestatus import PodCIDR
from minik8s.node.podsync import (ALWAYS, FAILED, KEEP, KILL, NEVER, ON_FAILURE, PENDING,
                                  RUNNING_PHASE, START, SUCCEEDED, WAIT, Backoff)
from minik8s.node.runtime import CREATED, EXITED, RUNNING, ContainerStatus
from minik8s.node.runtime_sim import SimulatedRuntime

NODE = "node-1"
S = "sim.minik8s.io/"


@pytest.fixture
def runtime(clock):
    return SimulatedRuntime(clock, random.Random(1))


@pytest.fixture
def kubelet(client, clock, runtime, tmp_path):
    k = Kubelet(client, clock, runtime, node_name=NODE, rng=random.Random(3),
                pod_root=str(tmp_path), kubelet_port=10250)
    k.step()
    yield k
    k.stop()


def make_pod(client, name="web", *, containers=None, init=None, annotations=None,
             restart=ALWAYS, bind=True, **spec):
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "default",
                        "annotations": dict(annotations or {})},
           "spec": {"restartPolicy": restart,
                    "containers": containers or [{"name": "c", "image": "nginx:1.27"}],
                    **spec}}
    if init:
        pod["spec"]["initContainers"] = init
    created = client.create(pod)
    if bind:
        client.bind("default", name, NODE)
    return created


def run_until(kubelet, clock, t):
    """Step the kubelet at every time it asks for, up to monotonic time t."""
    for _ in range(10000):
        due = kubelet.step()
        now = clock.monotonic()
        if now >= t:
            return
        clock.advance(min(t - now, due if due is not None else t - now))
    raise AssertionError("the kubelet never got to t")


def pod_of(client, name="web"):
    return client.get("pods", name, "default")


def cstatus(client, name="web", container="c", init=False):
    key = "initContainerStatuses" if init else "containerStatuses"
    return next(s for s in pod_of(client, name)["status"][key] if s["name"] == container)


def condition(pod, ctype):
    return next(c for c in pod["status"]["conditions"] if c["type"] == ctype)


def events(client, reason=None):
    return [e for e in client.list("events", "default").items
            if reason is None or e["reason"] == reason]


# --- the node -------------------------------------------------------------------------

def test_registers_node_with_capacity_addresses_and_ready(client, kubelet):
    node = client.get("nodes", NODE)
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == NODE
    assert node["metadata"]["labels"]["kubernetes.io/os"] == "linux"
    st = node["status"]
    assert st["capacity"]["cpu"] == "4" and st["capacity"]["memory"] == "8Gi"
    assert st["capacity"]["pods"] == "110" and st["allocatable"] == st["capacity"]
    cidr = node["spec"]["podCIDR"]
    assert cidr.endswith(".0/24")
    assert st["addresses"] == [{"type": "InternalIP", "address": cidr[:-5] + ".1"},
                               {"type": "Hostname", "address": NODE}]
    assert kubelet.node_ip == cidr[:-5] + ".1"
    assert st["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    assert st["nodeInfo"]["kubeletVersion"] == "v1.32.4-minik8s"
    assert st["nodeInfo"]["containerRuntimeVersion"] == "minik8s-simulated://0.1"
    ready = next(c for c in st["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == \
        ("True", "KubeletReady", "kubelet is posting ready status")
    assert [c["type"] for c in st["conditions"]] == \
        ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]


def test_registration_adopts_an_existing_node(client, clock, runtime):
    client.create({"apiVersion": "v1", "kind": "Node",
                   "metadata": {"name": NODE, "labels": {"disk": "ssd"}}})
    cidr = client.get("nodes", NODE)["spec"]["podCIDR"]
    k = Kubelet(client, clock, runtime, node_name=NODE, cpu="2", labels={"zone": "a"})
    k.step()
    node = client.get("nodes", NODE)
    assert node["spec"]["podCIDR"] == cidr
    assert node["metadata"]["labels"]["disk"] == "ssd"
    assert node["metadata"]["labels"]["zone"] == "a"
    assert node["status"]["capacity"]["cpu"] == "2"


def test_lease_is_renewed_every_heartbeat_period(client, clock, kubelet):
    lease = client.get("leases", NODE, "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == NODE
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["spec"]["renewTime"] == micro_time(clock.now())
    assert lease["metadata"]["ownerReferences"][0]["name"] == NODE
    first = lease["spec"]["renewTime"]
    clock.advance(5)
    assert kubelet.step() <= 5
    assert client.get("leases", NODE, "kube-node-lease")["spec"]["renewTime"] == first
    clock.advance(5)
    kubelet.step()
    renewed = client.get("leases", NODE, "kube-node-lease")["spec"]["renewTime"]
    assert parse_time(renewed) - parse_time(first) == pytest.approx(10)


def test_node_status_is_posted_on_change_or_every_five_minutes(client, clock, runtime):
    recording = RecordingClient(client)
    k = Kubelet(recording, clock, runtime, node_name=NODE)
    k.step()
    recording.clear()
    run_until(k, clock, 60)
    assert recording.actions_of("update", "nodes", "status") == []
    assert len(recording.actions_of("update", "leases")) == 6
    # The node lifecycle controller gave up on us: the next status check puts it right.
    node = client.get("nodes", NODE)
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    ready.update(status="Unknown", reason="NodeStatusUnknown",
                 message="Kubelet stopped posting node status.")
    client.update_status(node)
    run_until(k, clock, 70)
    ready = next(c for c in client.get("nodes", NODE)["status"]["conditions"]
                 if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
    assert ready["lastTransitionTime"] == ready["lastHeartbeatTime"] == "2026-01-01T00:01:10Z"
    recording.clear()
    run_until(k, clock, 365)
    assert recording.actions_of("update", "nodes", "status") == []
    run_until(k, clock, 371)
    assert len(recording.actions_of("update", "nodes", "status")) == 1
    ready = next(c for c in client.get("nodes", NODE)["status"]["conditions"]
                 if c["type"] == "Ready")
    assert ready["lastHeartbeatTime"] == "2026-01-01T00:06:10Z"
    assert ready["lastTransitionTime"] == "2026-01-01T00:01:10Z"


def test_kubelet_port_set_later_reaches_the_node(client, clock, runtime):
    k = Kubelet(client, clock, runtime, node_name=NODE)
    k.step()
    assert client.get("nodes", NODE)["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == 0
    k.kubelet_port = 34567
    k.step()
    assert client.get("nodes", NODE)["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] \
        == 34567


# --- phases and restart policies ----------------------------------------------------------

def test_phases_pending_running_succeeded(client, clock, kubelet):
    make_pod(client, annotations={S + "start-delay": "2", S + "exit-after": "5"}, restart=NEVER)
    assert pod_of(client)["status"]["phase"] == PENDING            # bound, not synced yet
    kubelet.step()
    pod = pod_of(client)
    assert pod["status"]["phase"] == PENDING
    assert cstatus(client)["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert pod["status"]["podIP"] == kubelet.node_ip[:-1] + "2"
    assert pod["status"]["hostIP"] == kubelet.node_ip
    assert pod["status"]["podIPs"] == [{"ip": pod["status"]["podIP"]}]
    run_until(kubelet, clock, 2)
    pod = pod_of(client)
    assert pod["status"]["phase"] == RUNNING_PHASE
    cs = cstatus(client)
    assert cs["state"]["running"]["startedAt"] == "2026-01-01T00:00:02Z"
    assert cs["ready"] and cs["started"] and cs["containerID"] and cs["imageID"]
    assert condition(pod, "Ready")["status"] == "True"
    run_until(kubelet, clock, 7)
    pod = pod_of(client)
    assert pod["status"]["phase"] == SUCCEEDED
    term = cstatus(client)["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed")
    assert condition(pod, "Ready") | {"lastTransitionTime": None} == {
        "type": "Ready", "status": "False", "reason": "PodCompleted", "lastProbeTime": None,
        "lastTransitionTime": None}
    assert pod["status"]["qosClass"] == "BestEffort"                 # kept from the server


def test_never_with_failing_container_is_failed_and_not_restarted(client, clock, kubelet, runtime):
    pod = make_pod(client, annotations={S + "exit-after": "1", S + "exit-code": "3"},
                   restart=NEVER)
    run_until(kubelet, clock, 100)
    assert pod_of(client)["status"]["phase"] == FAILED
    cs = cstatus(client)
    assert cs["state"]["terminated"]["exitCode"] == 3
    assert cs["state"]["terminated"]["reason"] == "Error"
    assert cs["restartCount"] == 0
    assert len(runtime.list(pod["metadata"]["uid"])) == 1          # never created again


@pytest.mark.parametrize("policy,code,restarts,phase", [
    (ALWAYS, 0, True, RUNNING_PHASE),
    (ALWAYS, 1, True, RUNNING_PHASE),
    (ON_FAILURE, 0, False, SUCCEEDED),
    (ON_FAILURE, 1, True, RUNNING_PHASE),
    (NEVER, 0, False, SUCCEEDED),
    (NEVER, 1, False, FAILED),
])
def test_restart_policies(client, clock, kubelet, policy, code, restarts, phase):
    make_pod(client, annotations={S + "exit-after": "3", S + "exit-code": str(code)},
             restart=policy)
    run_until(kubelet, clock, 30)
    assert (cstatus(client)["restartCount"] > 0) == restarts
    assert pod_of(client)["status"]["phase"] == phase


def test_crashloop_backoff_delays_are_kubernetes_exactly(client, clock, kubelet):
    pod = make_pod(client, annotations={S + "exit-after": "1", S + "exit-code": "1"})
    starts, messages = [], []
    for _ in range(400):
        due = kubelet.step()
        cs = cstatus(client)
        if "running" in cs["state"] and (not starts or starts[-1][1] != cs["restartCount"]):
            starts.append((clock.monotonic(), cs["restartCount"]))
        waiting = cs["state"].get("waiting") or {}
        if waiting.get("reason") == "CrashLoopBackOff" and waiting["message"] not in messages:
            messages.append(waiting["message"])
            assert pod_of(client)["status"]["phase"] == RUNNING_PHASE
        if len(starts) == 9:
            break
        clock.advance(due)
    # each attempt runs 1 s; the wait from its exit to the next start:
    delays = [b[0] - (a[0] + 1) for a, b in zip(starts, starts[1:])]
    assert delays == [0, 10, 20, 40, 80, 160, 300, 300]
    assert [s[1] for s in starts] == list(range(9))
    suffix = f"restarting failed container=c pod=web_default({pod['metadata']['uid']})"
    assert messages == [f"back-off {d} {suffix}" for d in
                        ("10s", "20s", "40s", "1m20s", "2m40s", "5m0s", "5m0s")][:len(messages)]
    assert len(messages) == 6          # the two 5m0s waits read the same
    backoff = events(client, "BackOff")
    assert backoff[0]["type"] == "Warning" and backoff[0]["count"] == 7
    assert backoff[0]["message"] == \
        f"Back-off restarting failed container c in pod web_default({pod['metadata']['uid']})"


@pytest.mark.parametrize("ran,next_wait", [(601, 10), (599, 80)])
def test_backoff_resets_after_ten_minutes_running(client, clock, kubelet, runtime, ran,
                                                   next_wait):
    make_pod(client, annotations={S + "exit-after": "100000"})

    def crash_and_time_restart():
        runtime.crash(cstatus(client)["containerID"], 1)
        crashed, before = clock.monotonic(), cstatus(client)["restartCount"]
        while True:
            due = kubelet.step()
            if cstatus(client)["restartCount"] != before:
                return clock.monotonic() - crashed
            clock.advance(due or 1)

    run_until(kubelet, clock, 1)
    waits = [crash_and_time_restart()]          # 0: the first restart is immediate
    run_until(kubelet, clock, clock.monotonic() + 1)
    waits.append(crash_and_time_restart())      # 10
    run_until(kubelet, clock, clock.monotonic() + 1)
    waits.append(crash_and_time_restart())      # 20
    run_until(kubelet, clock, clock.monotonic() + ran)
    waits.append(crash_and_time_restart())      # reset -> 0, else 40
    run_until(kubelet, clock, clock.monotonic() + 1)
    waits.append(crash_and_time_restart())
    assert waits == [0, 10, 20, 0 if ran > 600 else 40, next_wait]


# --- probes ----------------------------------------------------------------------------

def test_liveness_failure_kills_and_restarts_the_container(client, clock, kubelet):
    probe = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 2,
             "failureThreshold": 2}
    make_pod(client, annotations={S + "unhealthy-after": "5"},
             containers=[{"name": "c", "image": "nginx:1.27", "livenessProbe": probe}])
    run_until(kubelet, clock, 5)
    assert cstatus(client)["restartCount"] == 0
    run_until(kubelet, clock, 12)
    cs = cstatus(client)
    assert cs["restartCount"] == 1
    assert "running" in cs["state"]
    assert cs["lastState"]["terminated"]["exitCode"] == 143        # SIGTERM
    assert events(client, "Unhealthy")[0]["message"] == \
        "Liveness probe failed: HTTP probe failed with statuscode: 503"
    assert [e["message"] for e in events(client, "Killing")] == \
        ["Container c failed liveness probe, will be restarted"]


def test_readiness_drives_ready_condition_and_back(client, clock, kubelet):
    probe = {"tcpSocket": {"port": 8080}, "periodSeconds": 1, "failureThreshold": 1}
    make_pod(client, annotations={S + "ready-after": "3", S + "unhealthy-after": "10"},
             containers=[{"name": "c", "image": "nginx:1.27", "readinessProbe": probe}])
    run_until(kubelet, clock, 1)
    pod = pod_of(client)
    assert pod["status"]["phase"] == RUNNING_PHASE
    assert {k: condition(pod, "ContainersReady")[k] for k in ("status", "reason", "message")} \
        == {"status": "False", "reason": "ContainersNotReady",
            "message": "containers with unready status: [c]"}
    assert condition(pod, "Ready")["status"] == "False"
    run_until(kubelet, clock, 5)
    pod = pod_of(client)
    assert condition(pod, "Ready")["status"] == "True"
    assert cstatus(client)["ready"] is True
    became_ready = condition(pod, "Ready")["lastTransitionTime"]
    run_until(kubelet, clock, 8)
    assert condition(pod_of(client), "Ready")["lastTransitionTime"] == became_ready
    run_until(kubelet, clock, 13)
    pod = pod_of(client)
    assert condition(pod, "Ready")["status"] == "False"
    assert cstatus(client)["restartCount"] == 0                   # readiness never restarts


# --- init containers -------------------------------------------------------------------------

def busybox(name, script):
    return {"name": name, "image": "busybox:1.36", "command": ["sh", "-c", script]}


def test_init_containers_run_in_order_then_the_containers(client, clock, kubelet):
    make_pod(client, init=[busybox("init-a", "sleep 3"), busybox("init-b", "sleep 2")])
    kubelet.step()
    pod = pod_of(client)
    assert pod["status"]["phase"] == PENDING
    assert "running" in cstatus(client, container="init-a", init=True)["state"]
    assert cstatus(client, container="init-b", init=True)["state"] == \
        {"waiting": {"reason": "PodInitializing"}}
    assert cstatus(client)["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert condition(pod, "Initialized")["message"] == \
        "containers with incomplete status: [init-a init-b]"
    run_until(kubelet, clock, 3)
    assert cstatus(client, container="init-a", init=True)["state"]["terminated"]["reason"] \
        == "Completed"
    assert cstatus(client, container="init-a", init=True)["ready"] is True
    assert "running" in cstatus(client, container="init-b", init=True)["state"]
    assert "waiting" in cstatus(client)["state"]
    run_until(kubelet, clock, 5)
    pod = pod_of(client)
    assert pod["status"]["phase"] == RUNNING_PHASE
    assert condition(pod, "Initialized")["status"] == "True"
    started = [e["message"] for e in sorted(events(client, "Started"),
                                            key=lambda e: e["metadata"]["name"])]
    assert started == ["Started container init-a", "Started container init-b",
                       "Started container c"]


def test_failing_init_container_is_retried_with_backoff(client, clock, kubelet, runtime):
    pod = make_pod(client, init=[busybox("init", "exit 1")])
    run_until(kubelet, clock, 35)
    cs = cstatus(client, container="init", init=True)
    # started at 0 and exits at once; the next relist (t=1) restarts it at once,
    # then it waits 10 s and 20 s from each exit: restarts at 1, 11, 31.
    assert cs["restartCount"] == 3
    assert pod_of(client)["status"]["phase"] == PENDING
    assert all(s.name == "init" for s in runtime.list(pod["metadata"]["uid"]))


def test_failing_init_container_under_never_fails_the_pod(client, clock, kubelet, runtime):
    pod = make_pod(client, init=[busybox("init", "exit 2")], restart=NEVER)
    run_until(kubelet, clock, 30)
    assert pod_of(client)["status"]["phase"] == FAILED
    assert cstatus(client, container="init", init=True)["restartCount"] == 0
    assert [s.name for s in runtime.list(pod["metadata"]["uid"])] == ["init"]


# --- env, volumes, images -----------------------------------------------------------------

def test_env_and_volumes_reach_the_runtime(client, clock, kubelet, runtime, monkeypatch):
    client.create({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "cfg", "namespace": "default"},
                   "data": {"greeting": "hello", "mode": "fast"}})
    seen = []
    original = runtime.create
    monkeypatch.setattr(runtime, "create", lambda cfg: seen.append(cfg) or original(cfg))
    container = {
        "name": "c", "image": "nginx:1.27", "command": ["serve", "$(GREETING)"],
        "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg",
                                                                      "key": "greeting"}}},
                {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "PLAIN", "value": "x-$(GREETING)"}],
        "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "cfg"}}],
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"},
                         {"name": "scratch", "mountPath": "/tmp/work"}]}
    make_pod(client, containers=[container],
             volumes=[{"name": "config", "configMap": {"name": "cfg"}},
                      {"name": "scratch", "emptyDir": {}}])
    kubelet.step()
    (cfg,) = seen
    pod_ip = pod_of(client)["status"]["podIP"]
    env = dict(cfg.env)
    assert env["GREETING"] == "hello" and env["MY_POD"] == "web" and env["MY_IP"] == pod_ip
    assert env["PLAIN"] == "x-hello" and env["CFG_mode"] == "fast"
    assert cfg.command == ("serve", "hello")
    assert cfg.pod_ip == pod_ip and cfg.attempt == 0
    mounts = {m.container_path: m.host_path for m in cfg.mounts}
    with open(f"{mounts['/etc/app']}/greeting") as f:
        assert f.read() == "hello"
    assert set(mounts) == {"/etc/app", "/tmp/work"}


def test_missing_configmap_volume_keeps_the_pod_container_creating(client, clock, kubelet):
    make_pod(client, volumes=[{"name": "config", "configMap": {"name": "absent"}}],
             containers=[{"name": "c", "image": "nginx:1.27",
                          "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}]}])
    run_until(kubelet, clock, 3)
    assert cstatus(client)["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert events(client, "FailedMount")[0]["message"] == \
        'MountVolume.SetUp failed for volume "config" : configmap "absent" not found'
    client.create({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "absent", "namespace": "default"}, "data": {"a": "1"}})
    run_until(kubelet, clock, 6)
    assert "running" in cstatus(client)["state"]


def test_unknown_image_is_err_image_pull_then_image_pull_backoff(client, clock, kubelet):
    image = "example.com/doesnotexist:1.0"
    make_pod(client, containers=[{"name": "c", "image": image}])
    kubelet.step()
    waiting = cstatus(client)["state"]["waiting"]
    assert waiting["reason"] == "ErrImagePull"
    clock.advance(1)
    kubelet.step()
    waiting = cstatus(client)["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"
    assert waiting["message"].startswith(f'Back-off pulling image "{image}": ErrImagePull: ')
    assert pod_of(client)["status"]["phase"] == PENDING
    assert events(client, "Pulling")[0]["count"] == 1
    run_until(kubelet, clock, 10)                   # back-off over: pulled again, failed again
    assert events(client, "Pulling")[0]["count"] == 2
    run_until(kubelet, clock, 29)
    assert events(client, "Pulling")[0]["count"] == 2      # now 20 s
    run_until(kubelet, clock, 30)
    assert events(client, "Pulling")[0]["count"] == 3
    failed = {e["message"] for e in events(client, "Failed")}
    assert "Error: ErrImagePull" in failed and "Error: ImagePullBackOff" in failed
    assert any(m.startswith(f'Failed to pull image "{image}": ') for m in failed)
    assert events(client, "BackOff")[0]["message"] == f'Back-off pulling image "{image}"'


def test_a_container_without_probes_is_ready_in_the_first_running_status(client, kubelet):
    make_pod(client)
    kubelet.step()
    pod = pod_of(client)
    assert pod["status"]["phase"] == RUNNING_PHASE
    assert condition(pod, "Ready")["status"] == "True"
    assert condition(pod, "ContainersReady")["status"] == "True"
    assert condition(pod, "PodScheduled")["status"] == "True"         # the binding's, kept


def test_events_of_a_normal_start(client, clock, kubelet):
    make_pod(client)
    kubelet.step()
    reasons = {e["reason"]: e for e in events(client)}
    assert reasons["Pulling"]["message"] == 'Pulling image "nginx:1.27"'
    assert reasons["Pulled"]["message"].startswith('Successfully pulled image "nginx:1.27"')
    assert reasons["Created"]["message"] == "Created container: c"
    assert reasons["Started"]["message"] == "Started container c"
    assert reasons["Started"]["source"] == {"component": "kubelet", "host": NODE}


# --- deletion, orphans, terminal pods, IPs ---------------------------------------------------

def test_graceful_deletion_stops_containers_then_deletes_the_pod(client, clock, kubelet,
                                                                 runtime):
    pod = make_pod(client, annotations={S + "ignore-sigterm": "true"},
                   terminationGracePeriodSeconds=5)
    run_until(kubelet, clock, 2)
    client.delete("pods", "web", "default")
    marked = pod_of(client)
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 5
    run_until(kubelet, clock, 6)
    assert pod_of(client)["metadata"]["deletionTimestamp"]      # still terminating
    assert [e["message"] for e in events(client, "Killing")] == ["Stopping container c"]
    run_until(kubelet, clock, 8)
    with pytest.raises(NotFound):
        pod_of(client)
    assert runtime.list(pod["metadata"]["uid"]) == []            # containers removed
    make_pod(client, "next")
    kubelet.step()
    assert pod_of(client, "next")["status"]["podIP"] == marked["status"]["podIP"]  # reused


def test_a_pod_marked_failed_by_someone_else_is_stopped(client, clock, kubelet, runtime):
    pod = make_pod(client, containers=[{"name": "a", "image": "nginx:1.27"},
                                       {"name": "b", "image": "nginx:1.27"}])
    kubelet.step()
    evicted = pod_of(client)
    evicted["status"].update(phase=FAILED, reason="Evicted", message="The node was low on memory.")
    client.update_status(evicted)
    run_until(kubelet, clock, 60)
    assert {s.state for s in runtime.list(pod["metadata"]["uid"])} == {EXITED}
    assert len(runtime.list(pod["metadata"]["uid"])) == 2           # stopped, never restarted
    status = pod_of(client)["status"]
    assert (status["phase"], status["reason"]) == (FAILED, "Evicted")
    assert all(s["state"]["terminated"]["exitCode"] == 143 for s in status["containerStatuses"])


def test_orphaned_containers_are_stopped_and_removed(client, clock, kubelet, runtime):
    pod = make_pod(client)
    kubelet.step()
    assert len(runtime.list(pod["metadata"]["uid"])) == 1
    client.delete("pods", "web", "default", grace_period_seconds=0)   # force: gone at once
    run_until(kubelet, clock, 2)
    assert runtime.list(pod["metadata"]["uid"]) == []


def test_a_restarted_kubelet_adopts_its_pods_and_containers(client, clock, runtime, kubelet):
    pod = make_pod(client, annotations={S + "exit-after": "2", S + "exit-code": "1"})
    run_until(kubelet, clock, 3)                    # exited at 2, restarted at once
    before = pod_of(client)["status"]
    assert cstatus(client)["restartCount"] == 1
    kubelet.stop()
    recording = RecordingClient(client)
    again = Kubelet(recording, clock, runtime, node_name=NODE, rng=random.Random(4))
    again.step()
    assert pod_of(client)["status"] == before       # same IP, same containers, same counts
    assert recording.actions_of("update", "pods", "status") == []
    statuses = runtime.list(pod["metadata"]["uid"])
    assert sorted(s.state for s in statuses) == [EXITED, RUNNING]   # nothing started twice


def test_pod_ips_come_from_the_node_cidr_in_order(client, clock, kubelet):
    for name in ("a", "b", "c"):
        make_pod(client, name)
    kubelet.step()
    base = kubelet.node_ip[:-1]
    assert [pod_of(client, n)["status"]["podIP"] for n in "abc"] == \
        [base + "2", base + "3", base + "4"]


def test_pod_cidr_hands_out_lowest_free_ips_and_says_when_full():
    cidr = PodCIDR("127.128.5.0/29")            # .2 to .6: .1 is the node, .7 broadcast
    assert [cidr.allocate(u) for u in "abcde"] == [f"127.128.5.{i}" for i in range(2, 7)]
    assert cidr.allocate("a") == "127.128.5.2"          # idempotent per pod
    with pytest.raises(RuntimeError, match="no IP addresses available in range set: "
                                           "127.128.5.2-127.128.5.6"):
        cidr.allocate("f")
    cidr.release("b")
    assert cidr.allocate("f") == "127.128.5.3"
    assert not cidr.adopt("g", "127.128.5.2")            # taken by a
    assert not cidr.adopt("g", "127.128.5.1")            # the node's own address
    assert not cidr.adopt("g", "10.0.0.9")               # not ours
    cidr.release("c")
    assert cidr.adopt("g", "127.128.5.4")


def test_no_status_write_when_nothing_changed(client, clock, runtime):
    recording = RecordingClient(client)
    k = Kubelet(recording, clock, runtime, node_name=NODE)
    make_pod(client, bind=False)
    make_pod(client, "job", annotations={S + "exit-after": "1"}, restart=NEVER)
    k.step()
    client.bind("default", "web", NODE)
    run_until(k, clock, 3)
    assert pod_of(client)["status"]["phase"] == RUNNING_PHASE
    assert pod_of(client, "job")["status"]["phase"] == SUCCEEDED
    recording.clear()
    clock.advance(1)
    k.step()
    assert recording.actions_of("update", "pods", "status") == []
    assert recording.writes() == []


# --- podsync: the pure decisions -------------------------------------------------------------

@pytest.mark.parametrize("restarts,delay", [
    (0, 0), (1, 10), (2, 20), (3, 40), (4, 80), (5, 160), (6, 300), (7, 300), (50, 300)])
def test_crashloop_delay_table(restarts, delay):
    assert podsync.crashloop_delay(restarts) == delay


@pytest.mark.parametrize("policy,code,expected", [
    (ALWAYS, 0, True), (ALWAYS, 1, True), (ON_FAILURE, 0, False), (ON_FAILURE, 2, True),
    (ON_FAILURE, None, True), (NEVER, 0, False), (NEVER, 1, False)])
def test_should_restart_table(policy, code, expected):
    assert podsync.should_restart(policy, code) is expected


def _st(state, code=None):
    return ContainerStatus(id="x", name="c", state=state, exit_code=code)


@pytest.mark.parametrize("status,policy,backoff,now,exited_at,liveness,kind", [
    (None, NEVER, Backoff(), 0, None, False, START),
    (_st(CREATED), ALWAYS, Backoff(), 0, None, False, KEEP),
    (_st(RUNNING), ALWAYS, Backoff(), 0, None, False, KEEP),
    (_st(RUNNING), ALWAYS, Backoff(), 0, None, True, KILL),
    (_st(EXITED, 0), ON_FAILURE, Backoff(), 5, 5, False, KEEP),
    (_st(EXITED, 1), NEVER, Backoff(), 5, 5, False, KEEP),
    (_st(EXITED, 1), ALWAYS, Backoff(), 5, 5, False, START),           # first: at once
    (_st(EXITED, 0), ALWAYS, Backoff(1, 0), 5, 5, False, WAIT),        # then 10 s
    (_st(EXITED, 0), ALWAYS, Backoff(1, 0), 15, 5, False, START),
    (_st(EXITED, 1), ALWAYS, Backoff(3, 0), 44, 5, False, WAIT),       # 40 s from exit
    (_st(EXITED, 1), ALWAYS, Backoff(3, 0), 45, 5, False, START),
    (_st(EXITED, 1), ALWAYS, Backoff(6, 0), 601, 601, False, START),   # ran > 10 min
    (_st(EXITED, 1), ALWAYS, Backoff(6, 0), 601, 600, False, WAIT),    # exactly 10: not
])
def test_container_action_table(status, policy, backoff, now, exited_at, liveness, kind):
    action = podsync.container_action({"name": "c"}, status, policy, backoff, now,
                                      liveness, exited_at)
    assert action.kind == kind


def test_wait_action_says_until_when():
    action = podsync.container_action({"name": "c"}, _st(EXITED, 1), ALWAYS, Backoff(2, 0),
                                      now=3, exited_at=2)
    assert (action.kind, action.delay, action.until) == (WAIT, 20, 22)


def test_record_restart_counts_and_resets():
    b = podsync.record_restart(Backoff(), 5, 5)
    assert b == Backoff(1, 5)
    assert podsync.record_restart(b, 20, 21) == Backoff(2, 21)
    assert podsync.record_restart(Backoff(5, 21), 700, 700) == Backoff(1, 700)


def _cs(name, state, last=None):
    return {"name": name, "state": state, "lastState": last or {}}


RUN = {"running": {"startedAt": "t"}}
WAITING = {"waiting": {"reason": "ContainerCreating"}}
BACKOFF = {"waiting": {"reason": "CrashLoopBackOff"}}


def term(code):
    return {"terminated": {"exitCode": code}}


@pytest.mark.parametrize("policy,init,statuses,init_statuses,terminal,phase", [
    (ALWAYS, [], [], [], False, PENDING),
    (ALWAYS, [], [_cs("a", WAITING)], [], False, PENDING),
    (ALWAYS, [], [_cs("a", RUN)], [], False, RUNNING_PHASE),
    (ALWAYS, [], [_cs("a", RUN), _cs("b", WAITING)], [], False, PENDING),
    (ALWAYS, [], [_cs("a", BACKOFF, term(1))], [], False, RUNNING_PHASE),
    (ALWAYS, [], [_cs("a", term(0))], [], False, RUNNING_PHASE),
    (ALWAYS, [], [_cs("a", term(0))], [], True, SUCCEEDED),
    (ALWAYS, [], [_cs("a", term(143))], [], True, FAILED),
    (ON_FAILURE, [], [_cs("a", term(0))], [], False, SUCCEEDED),
    (ON_FAILURE, [], [_cs("a", term(1))], [], False, RUNNING_PHASE),
    (NEVER, [], [_cs("a", term(0)), _cs("b", term(1))], [], False, FAILED),
    (NEVER, [], [_cs("a", term(0)), _cs("b", RUN)], [], False, RUNNING_PHASE),
    (ALWAYS, ["i"], [_cs("a", WAITING)], [_cs("i", RUN)], False, PENDING),
    (NEVER, ["i"], [_cs("a", WAITING)], [_cs("i", term(1))], False, FAILED),
    (ALWAYS, ["i"], [_cs("a", WAITING)], [_cs("i", BACKOFF, term(1))], False, PENDING),
    (ALWAYS, ["i"], [_cs("a", RUN)], [_cs("i", term(0))], False, RUNNING_PHASE),
])
def test_pod_phase_table(policy, init, statuses, init_statuses, terminal, phase):
    spec = {"restartPolicy": policy, "containers": [{"name": s["name"]} for s in statuses]
            or [{"name": "a"}], "initContainers": [{"name": n} for n in init]}
    assert podsync.pod_phase(spec, statuses, init_statuses, terminal) == phase


def test_next_init_container_goes_in_order():
    inits = [{"name": "a"}, {"name": "b"}]
    assert podsync.next_init_container(inits, {})["name"] == "a"
    assert podsync.next_init_container(inits, {"a": _st(RUNNING)})["name"] == "a"
    assert podsync.next_init_container(inits, {"a": _st(EXITED, 1)})["name"] == "a"
    assert podsync.next_init_container(inits, {"a": _st(EXITED, 0)})["name"] == "b"
    assert podsync.next_init_container(inits, {"a": _st(EXITED, 0), "b": _st(EXITED, 0)}) is None


@pytest.mark.parametrize("policy,present,backoff,now,expected", [
    ("IfNotPresent", True, Backoff(), 0, podsync.PRESENT),
    ("IfNotPresent", False, Backoff(), 0, podsync.PULL),
    ("Always", True, Backoff(), 0, podsync.PULL),
    ("Never", False, Backoff(), 0, podsync.NEVER_PULL),
    ("IfNotPresent", False, Backoff(1, 0), 9, podsync.PULL_BACKOFF),
    ("IfNotPresent", False, Backoff(1, 0), 10, podsync.PULL),
    ("IfNotPresent", False, Backoff(2, 10), 29, podsync.PULL_BACKOFF),
])
def test_image_pull_action_table(policy, present, backoff, now, expected):
    assert podsync.image_pull_action(policy, present, backoff, now) == expected


@pytest.mark.parametrize("seconds,text", [(10, "10s"), (80, "1m20s"), (160, "2m40s"),
                                          (300, "5m0s"), (3600, "1h0m0s")])
def test_go_duration(seconds, text):
    assert podsync.go_duration(seconds) == text
