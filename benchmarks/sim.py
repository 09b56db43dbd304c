"""Simulator benchmark: how fast the deterministic simulator steps, and how big a
cluster it holds in 8 GiB.

The simulator (minik8s.sim) runs the real components — API server pipeline,
scheduler, controller-manager, one kubelet per node on the simulated runtime — in one
process, one seeded decision per step. Two things decide what property tests and
demos can afford:

- **steps per second** at 10, 100 and 1000 nodes: bring-up (every node Ready), a
  Deployment of one replica per node rolled out to availability, then one simulated
  minute of a converged cluster (heartbeats only). A step is one harness decision:
  one component stepped once. Also the simulated seconds per wall second of the idle
  minute, and the CPU a 3-node cluster needs to roll out 3 replicas (the issue's
  budget: well under 0.1 s). Up to 100 nodes both ways of feeding kubelets are
  measured: one pod watch per kubelet (as real kubelets; the API server then decodes
  every pod event once per node) and one shared pod informer for all of them (what
  `NodeHost` does for Ray clusters, and the only way 1000 nodes are practical).
- **capacity**: N nodes brought up, then P pods (pre-bound to nodes round-robin, so
  the scheduler's own throughput — benchmarks/scheduler.py — does not dominate; the
  scheduler still caches every pod) run until every one is Running; the store is then
  compacted, as kube-apiserver does every 5 minutes. Resident memory per node and per
  pod gives how many of each fit in 8 GiB, compared with Kubernetes' scalability
  thresholds (5000 nodes, 150,000 pods: the goal) and kwok's claim (1000 nodes,
  100,000 pods on a laptop).

    python benchmarks/sim.py              # full: 10/100/1000 nodes, capacity 1000:30000
    python benchmarks/sim.py --quick      # CI smoke, seconds
    python benchmarks/sim.py --capacity 5000:150000   # try the thresholds for real
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import pathlib
import subprocess
import sys

if __package__ in (None, ""):            # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks._common import Report, cpu_seconds, machine, now, parser
from minik8s.sim import SimCluster

SIZES = {
    "quick": dict(nodes=(10, 50), own_watch_upto=100, capacity=(50, 1000)),
    "full": dict(nodes=(10, 100, 1000), own_watch_upto=100, capacity=(1000, 30_000)),
}
GIB = 2 ** 30
BUDGET = 8 * GIB
K8S_NODES, K8S_PODS = 5000, 150_000
K8S_SOURCE = "Kubernetes scalability thresholds (sig-scalability)"
KWOK_NODES, KWOK_PODS = 1000, 100_000
KWOK_SOURCE = "kwok: 1k nodes / 100k pods on a laptop"


def deployment(name: str, replicas: int) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "app", "image": "minik8s/hello:1",
                          "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}}


def available(sim, name: str = "web") -> int:
    d = sim._reader.get("deployments", name, "default")
    return (d.get("status") or {}).get("availableReplicas") or 0


def rss() -> int:
    """Resident memory of this process, bytes (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(pathlib.Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


# --- steps per second ----------------------------------------------------------------------

def measure_steps(report: Report, n: int, shared: bool) -> None:
    mode = "shared" if shared else "own"
    label = f"{n} nodes, {'shared pod informer' if shared else 'a pod watch per kubelet'}"
    t0 = now()
    sim = SimCluster(seed=0, nodes=n, shared_pod_informer=shared, trace_deliveries=False)
    try:
        up = now() - t0
        report.figure(f"{n}n.{mode}.bringup_s", f"{label}: bring-up", up, "s")
        report.figure(f"{n}n.{mode}.bringup_steps_per_s", "  steps/s while nodes register",
                      sim.steps / up, "steps/s", ".0f")

        steps, t0 = sim.steps, now()
        sim.client.create(deployment("web", n))
        sim.run_until(lambda: available(sim) == n, max_steps=50 * n + 1000)
        took = now() - t0
        report.figure(f"{n}n.{mode}.rollout_s", f"  rollout of {n} replicas", took, "s")
        report.figure(f"{n}n.{mode}.rollout_steps_per_s", "  steps/s during the rollout",
                      (sim.steps - steps) / took, "steps/s", ".0f")

        steps, start, t0 = sim.steps, sim.clock.monotonic(), now()
        sim.run_until(lambda: sim.clock.monotonic() >= start + 60, max_steps=200 * n + 1000)
        took = now() - t0
        report.figure(f"{n}n.{mode}.idle_steps_per_s", "  steps/s, converged (1 simulated min)",
                      (sim.steps - steps) / took, "steps/s", ".0f")
        report.figure(f"{n}n.{mode}.speedup", "  simulated seconds per wall second",
                      60 / took, "x", ".1f")
    finally:
        sim.close()


def measure_small_rollout(report: Report) -> None:
    """The issue's budget: 3 nodes, a Deployment of 3, converged in well under 0.1 s CPU."""
    cpu = []
    for seed in range(5):
        sim = SimCluster(seed=seed, nodes=3)
        c0 = cpu_seconds()
        sim.client.create(deployment("web", 3))
        sim.run_until(lambda: available(sim) == 3, max_steps=1000)
        cpu.append(cpu_seconds() - c0)
        sim.close()
    best = min(cpu)
    report.figure("3n.rollout_cpu_ms", "3 nodes, rollout of 3 replicas (CPU, best of 5)",
                  best * 1e3, "ms", ".1f")
    report.target("rollout CPU, 3 nodes / 3 replicas", best * 1e3, 100, "ms",
                  higher_is_better=False)


# --- capacity --------------------------------------------------------------------------------

def pod(i: int, node: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"pod-{i:06d}", "namespace": "default",
                         "labels": {"app": "capacity"}},
            "spec": {"nodeName": node, "containers": [
                {"name": "app", "image": "minik8s/hello:1",
                 "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}


def measure_capacity(report: Report, n_nodes: int, n_pods: int) -> None:
    """Runs in a child process (`--capacity-child`): memory freed by the earlier
    measurements would otherwise be reused and hide what the cluster costs."""
    cmd = [sys.executable, str(pathlib.Path(__file__).resolve()),
           "--capacity-child", f"{n_nodes}:{n_pods}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the capacity run failed:\n{done.stderr[-3000:]}")
    r = json.loads(done.stdout.strip().splitlines()[-1])
    base, with_nodes, with_pods = r["base"], r["with_nodes"], r["with_pods"]
    up, created, running = r["up"], r["created"], r["running"]
    per_node = max(with_nodes - base, 1) / n_nodes
    per_pod = max(with_pods - with_nodes, 1) / n_pods
    label = f"{n_nodes} nodes, {n_pods} pods"
    report.figure("capacity.bringup_s", f"{label}: bring-up", up, "s", ".1f")
    report.figure("capacity.create_pods_per_s", "  pods created (API, pre-bound)",
                  n_pods / created, "pods/s", ".0f")
    report.figure("capacity.running_s", "  until every pod is Running", running, "s", ".1f")
    report.figure("capacity.rss_mib", "  resident memory, all held",
                  (with_pods - base) / 2 ** 20, "MiB", ".0f")
    report.figure("capacity.kib_per_node", "  memory per node (kubelet, Node, Lease...)",
                  per_node / 1024, "KiB", ".0f")
    report.figure("capacity.kib_per_pod", "  memory per pod (store, caches, runtime...)",
                  per_pod / 1024, "KiB", ".1f")
    nodes_fit = (BUDGET - base) / per_node
    pods_fit = (BUDGET - base - K8S_NODES * per_node) / per_pod
    report.figure("capacity.nodes_in_8gib", "  nodes in 8 GiB (no pods; extrapolated)",
                  nodes_fit, "nodes", ".0f")
    report.figure("capacity.pods_in_8gib", f"  pods in 8 GiB with {K8S_NODES} nodes "
                  "(extrapolated)", pods_fit, "pods", ".0f")
    report.target("nodes held in 8 GiB", nodes_fit, K8S_NODES, "nodes", higher_is_better=True,
                  note="extrapolated from the measured cost per node")
    report.target("pods held in 8 GiB beside 5000 nodes", pods_fit, K8S_PODS, "pods",
                  higher_is_better=True, note="extrapolated from the measured cost per pod")
    report.reference("nodes in 8 GiB", nodes_fit, K8S_NODES, "nodes", K8S_SOURCE)
    report.reference("pods in 8 GiB", pods_fit, K8S_PODS, "pods", K8S_SOURCE)
    report.reference("pods in 8 GiB vs kwok", pods_fit, KWOK_PODS, "pods", KWOK_SOURCE)


def capacity_child(n_nodes: int, n_pods: int) -> None:
    """The capacity run itself; prints its measurements as one JSON line."""
    logging.disable(logging.WARNING)
    gc.collect()
    base = rss()
    t0 = now()
    sim = SimCluster(seed=0, nodes=n_nodes, shared_pod_informer=True, trace_deliveries=False,
                     node_cpu="64", node_memory="256Gi")
    try:
        up = now() - t0
        gc.collect()
        with_nodes = rss()
        names = sorted(sim.handles)
        t0 = now()
        for i in range(n_pods):
            sim.harness_client.create(pod(i, names[i % len(names)]))
        created = now() - t0

        def all_running() -> bool:
            phases = [p["status"].get("phase") for p in sim._reader.list(
                "pods", "default", label_selector="app=capacity").items]
            return len(phases) == n_pods and all(ph == "Running" for ph in phases)
        t0 = now()
        while not all_running():      # check rarely: a list of every pod is not free
            sim.run(20 * n_nodes)
        running = now() - t0
        sim.store.compact(sim.store.revision)     # kube-apiserver compacts every 5 min
        gc.collect()
        with_pods = rss()
    finally:
        sim.close()
    print(json.dumps({"base": base, "with_nodes": with_nodes, "with_pods": with_pods,
                      "up": up, "created": created, "running": running}))


def main(argv=None) -> int:
    p = parser(__doc__, "sim")
    p.add_argument("--nodes", help="comma-separated node counts (default 10,100,1000)")
    p.add_argument("--capacity", metavar="NODES:PODS", help="the capacity run's size "
                   "(default 1000:30000; quick 50:1000)")
    p.add_argument("--capacity-child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.capacity_child:
        capacity_child(*(int(x) for x in args.capacity_child.split(":")))
        return 0
    logging.disable(logging.WARNING)
    mode = "quick" if args.quick else "full"
    size = SIZES[mode]
    counts = [int(x) for x in args.nodes.split(",")] if args.nodes else size["nodes"]
    cap = tuple(int(x) for x in args.capacity.split(":")) if args.capacity \
        else size["capacity"]
    custom = bool(args.nodes or args.capacity)
    report = Report("sim", mode, args.results, save=not (args.no_save or custom))
    report.header(f"minik8s simulator benchmark ({mode}; {machine()})\n"
                  "a step = one component stepped once; kubelets on the simulated runtime;"
                  f"\n'prev xN' = this run / the previous {mode} run")
    t_start = now()
    report.section("a small cluster")
    measure_small_rollout(report)
    for n in counts:
        report.section(f"{n} nodes")
        if n <= size["own_watch_upto"]:
            measure_steps(report, n, shared=False)
        measure_steps(report, n, shared=True)
    report.section(f"capacity: {cap[0]} nodes, {cap[1]} pods")
    measure_capacity(report, *cap)
    report.figure("total_seconds", "benchmark wall time", now() - t_start, "s", ".1f")
    if report.targets_missed:
        print("\ntargets missed: " + "; ".join(report.targets_missed))
    report.save(mode=mode, capacity=list(cap))
    return 0


if __name__ == "__main__":
    sys.exit(main())
