"""Scheduler benchmark: pods per second onto many simulated nodes, in-process.

What kube-scheduler is judged by: scheduling throughput (pods bound per second) and
the latency of each pod's cycle. Kubernetes' own benchmark, scheduler_perf, runs
`SchedulingBasic` — pods with cpu/memory requests and nothing else, onto fake nodes
(4 cpu, 32Gi, 110 pods; no kubelets) — and CI fails below a floor: 680 pods/s for
5000Nodes_10000Pods (a Go scheduler on a large machine). This script does the same
for minik8s:

- N Node objects (scheduler_perf's node-default: 4 cpu, 32Gi, 110 pods, Ready) and
  P pending pods (pod-default: 100m cpu, 500Mi) are created through the in-process
  API server (no HTTP, no kubelets);
- the real Scheduler component (informers, queue, cache, plugins of the default
  profile, binding through `pods/binding`, a `Scheduled` Event per pod) is stepped
  until every pod is bound and the informer has seen every binding;
- pods/s = P / wall time of that; per-pod latency = one `schedule_one` (cycle +
  assume + bind + event), p50/p99;
- for 500, 1000 and 5000 nodes, with Kubernetes' adaptive percentageOfNodesToScore
  (`0`: 50 - n/125 %, at least 5 % and 100 nodes) and with 100 (score every node).

The ratio to 680 pods/s is printed as a reference, not a target: the goal is to see
how close Python gets on a small machine, and `--profile` says where the time goes.

    python benchmarks/scheduler.py              # full: 10,000 pods x 6 configurations
    python benchmarks/scheduler.py --quick      # CI smoke, a few seconds
    python benchmarks/scheduler.py --profile 5000:100   # cProfile one configuration
"""
from __future__ import annotations

import dataclasses
import pathlib
import random
import sys

if __package__ in (None, ""):            # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks._common import Report, Stats, machine, now, parser, percentile
from minik8s.api.clock import RealClock
from minik8s.apiserver.server import APIServer
from minik8s.client.inprocess import InProcessClient
from minik8s.scheduler import config
from minik8s.scheduler.scheduler import Scheduler
from minik8s.store.memory import MemoryStore

SIZES = {
    "quick": dict(pods=300, nodes=(50, 200)),
    "full": dict(pods=10_000, nodes=(500, 1000, 5000)),
}
PERCENTAGES = (0, 100)           # 0 = Kubernetes' adaptive default; 100 = score all
NAMESPACE = "bench"

# scheduler_perf's CI floor for SchedulingBasic/5000Nodes_10000Pods (pods/s), from
# kubernetes/kubernetes test/integration/scheduler_perf/misc/performance-config.yaml
# (threshold of the SchedulingThroughput metric).
K8S_FLOOR = 680.0
K8S_SOURCE = "scheduler_perf SchedulingBasic 5000Nodes_10000Pods CI floor"


def node(i: int) -> dict:
    alloc = {"cpu": "4", "memory": "32Gi", "pods": "110"}
    # Each node brings its own pod CIDR (as kwok's nodes do): the API server's
    # allocator would otherwise read every Node per create, O(n^2) for 5000 nodes.
    cidr = f"127.{128 + i // 256}.{i % 256}.0/24"
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"node-{i:05d}",
                         "labels": {"kubernetes.io/hostname": f"node-{i:05d}"}},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
            "status": {"capacity": dict(alloc), "allocatable": alloc,
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def pod(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"pod-{i:05d}", "namespace": NAMESPACE},
            "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                                     "resources": {"requests": {"cpu": "100m",
                                                                "memory": "500Mi"}}}]}}


@dataclasses.dataclass
class Run:
    stats: Stats
    evaluated: float        # nodes evaluated per pod (filtered), on average
    bound: int


def measure(n_nodes: int, n_pods: int, percentage: int, seed: int = 0) -> Run:
    """One configuration on a fresh API server: nodes, then pending pods, then the
    scheduler until every pod is bound and every binding is back in its cache."""
    clock, rng = RealClock(), random.Random(seed)
    client = InProcessClient(APIServer(MemoryStore(), clock, rng))
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    for i in range(n_nodes):
        client.create(node(i))
    profile = dataclasses.replace(config.load_profile(None, rng=random.Random(seed)),
                                  percentage_of_nodes_to_score=percentage)
    s = Scheduler(client, clock, random.Random(seed), profile=profile)
    s.step()                              # informers synced: the nodes are in the cache
    for i in range(n_pods):
        client.create(pod(i))

    latencies, evaluated = [], []
    inner_schedule = s.framework.schedule

    def counted_schedule(p, nodes, **kw):
        result = inner_schedule(p, nodes, **kw)
        evaluated.append(result.evaluated)
        return result
    s.framework.schedule = counted_schedule
    inner_one = s.schedule_one

    def timed_one(qp):
        t = now()
        try:
            return inner_one(qp)
        finally:
            latencies.append(now() - t)
    s.schedule_one = timed_one

    t0 = now()
    while s.scheduled < n_pods:
        before = s.scheduled
        s.step()
        if s.scheduled == before:
            break                         # a step that binds nothing: some pod did not fit
    s.step()                              # the informer catches up with every binding
    seconds = now() - t0
    # rate = pods bound / wall time (not cycles run: a failed cycle binds nothing)
    stats = Stats(s.scheduled, seconds, percentile(latencies, 50), percentile(latencies, 99))
    return Run(stats, sum(evaluated) / max(len(evaluated), 1), s.scheduled)


def label_of(percentage: int) -> str:
    return "adaptive %" if percentage == 0 else f"{percentage}% scored"


def profile_one(n_nodes: int, n_pods: int, percentage: int) -> None:
    import cProfile
    import pstats
    prof = cProfile.Profile()
    prof.enable()
    run = measure(n_nodes, n_pods, percentage)
    prof.disable()
    print(f"\n{n_nodes} nodes, {label_of(percentage)}: {run.stats.rate:.0f} pods/s "
          f"under the profiler ({run.bound} bound)", file=sys.stderr)
    stats = pstats.Stats(prof, stream=sys.stderr)
    print("\n== by own time", file=sys.stderr)
    stats.sort_stats("tottime").print_stats(30)
    print("== by cumulative time", file=sys.stderr)
    stats.sort_stats("cumulative").print_stats(45)


def main(argv=None) -> int:
    p = parser(__doc__, "scheduler")
    p.add_argument("--pods", type=int, help="pending pods per configuration")
    p.add_argument("--nodes", help="comma-separated node counts (default 500,1000,5000)")
    p.add_argument("--percentage", help="comma-separated percentageOfNodesToScore values "
                   "(default 0,100; 0 = adaptive)")
    p.add_argument("--profile", metavar="NODES:PERCENT",
                   help="cProfile one configuration and print where the time goes "
                        "(to stderr; nothing is saved)")
    args = p.parse_args(argv)

    mode = "quick" if args.quick else "full"
    size = SIZES[mode]
    n_pods = args.pods or size["pods"]
    if args.profile:
        nodes, _, pct = args.profile.partition(":")
        profile_one(int(nodes), n_pods, int(pct or 0))
        return 0
    node_counts = [int(x) for x in args.nodes.split(",")] if args.nodes else size["nodes"]
    percentages = [int(x) for x in args.percentage.split(",")] if args.percentage \
        else PERCENTAGES
    custom = bool(args.pods or args.nodes or args.percentage)
    report = Report("scheduler", mode, args.results, save=not (args.no_save or custom))
    report.header(f"minik8s scheduler benchmark ({mode}; {machine()})\n"
                  f"{n_pods} pending pods (100m, 500Mi) onto N nodes (4 cpu, 32Gi, 110 pods),"
                  f" in-process; default profile; one bind + one Event per pod;\n"
                  f"latency = one pod's cycle + assume + bind + event; "
                  f"'prev xN' = this run / the previous {mode} run")
    t_start = now()
    runs = {}
    for n in node_counts:
        report.section(f"{n} nodes")
        for pct in percentages:
            run = measure(n, n_pods, pct)
            runs[(n, pct)] = run
            key = f"{n}n.{'adaptive' if pct == 0 else f'p{pct}'}"
            report.stats(key, f"{label_of(pct)}", run.stats, unit="pods/s")
            report.figure(f"{key}.evaluated", "  nodes filtered per pod (mean)",
                          run.evaluated, "nodes", ".0f")
            if run.bound < n_pods:
                print(f"  !! only {run.bound} of {n_pods} pods were bound")
    report.section("reference: kube-scheduler (ratio = ours / theirs)")
    for (n, pct), run in runs.items():
        report.reference(f"pods/s, {n} nodes, {label_of(pct)}", run.stats.rate, K8S_FLOOR,
                         "pods/s", K8S_SOURCE)
    report.figure("total_seconds", "benchmark wall time", now() - t_start, "s", ".1f")
    report.save(mode=mode, pods=n_pods)
    return 0


if __name__ == "__main__":
    sys.exit(main())
