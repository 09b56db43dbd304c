"""Same seed, same actions -> the same run, exactly: the property every replay, every
shrunk hypothesis example and every timeline a student reads depends on.

The proof compares complete event logs (every write, watch event delivered, crash,
restart, fault and node event, with step numbers, simulated times, uids and
resourceVersions) of runs made in separate processes with PYTHONHASHSEED fixed —
two runs of the same scenario, and the replay of one run's saved script through the
one command a failing test prints."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Every kind of fault at once, on a durable store (so the API server can restart), so
# that any hidden source of nondeterminism in any of them shows up in the log.
SCENARIO = r'''
import logging, sys
logging.disable(logging.WARNING)
from minik8s.sim import SimCluster

def deployment(name, replicas):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app",
                                                           "image": "minik8s/hello:1"}]}}}}

sim = SimCluster(seed=21, nodes=3, durable=True, interleave_events=True,
                 default_toleration_seconds=5,
                 controller_options={"node_monitor_grace_period": 20.0,
                                     "node_monitor_period": 2.0})
sim.client.create(deployment("web", 4))
f = sim.faults
f.crash_controller.on(after_writes=3, repeat=True)
f.request_failures.on("scheduler", p=0.2)
f.delay_watch.on("controller-manager", k=1)
f.pod_monkey.on(0.05)
f.container_crashes.on(0.05)
sim.run(100)
f.kill_node.on()
f.stale_reads.on("scheduler")
f.break_watches.on("controller-manager", gone=True)
f.second_controller_manager.on()
f.restart_apiserver.on()
sim.client.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
    {"name": "app", "image": "minik8s/hello:2"}]}}}}, "default", patch_type="strategic")
sim.run(100)
f.off()
sim.settle(horizon=40)
if len(sys.argv) > 1:
    sim.save_script(sys.argv[1])
print("\n".join(sim.trace.lines()))
sim.close()
'''


def _env(hashseed="0"):
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _finish(proc):
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    return out.splitlines()


def test_two_processes_with_the_same_seed_log_the_same_run(tmp_path):
    script = tmp_path / "run.json"
    runs = [subprocess.Popen([sys.executable, "-c", SCENARIO, *args], cwd=ROOT, env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for args in ([str(script)], [])]
    first, second = (_finish(p) for p in runs)
    assert len(first) > 500
    kinds = {line.split()[3] for line in first}
    assert {"write", "event", "crash", "restart", "fault", "node"} <= kinds
    assert first == second

    # ... and the command a failing test prints replays it, again in a new process
    log = tmp_path / "replayed.log"
    command = [sys.executable, "-m", "minik8s.sim.replay", str(script), "--log", str(log)]
    done = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "(matches)" in done.stderr
    assert log.read_text().splitlines() == first
