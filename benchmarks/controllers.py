"""Controller benchmark: a big Deployment converging, a rolling update, a node failure.

The whole stack as `minik8s up` runs it — the HTTP API server over sqlite, the
scheduler and controller-manager as Ray actors, simulated kubelets in host actors
(`--runtime simulated`), demo timers — measured from outside through the API:

1. one Deployment of 1000 replicas on 100 nodes: time from create to
   `status.availableReplicas == 1000`; pods/s, against kwok's published 20 pods/s
   (a kind/kwok cluster creating pods on fake nodes) and the issue's goal of 100;
2. a rolling update of a 100-replica Deployment (maxSurge 25 %, maxUnavailable 25 %):
   time from the image change to the rollout being complete;
3. a node killed (`chaos kill-node`): time until every pod of that Deployment runs
   on other nodes; goal <= 10 s with the demo timers (DefaultTolerationSeconds 5 s).

    python benchmarks/controllers.py            # full: 1000 replicas on 100 nodes
    python benchmarks/controllers.py --quick    # 200 replicas on 20 nodes
"""
from __future__ import annotations

import os
import pathlib
import shutil
import sys
import tempfile

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks._common import Report, finish, machine, minik8s_cli, now, parser  # noqa: E402
from minik8s.api.clock import RealClock  # noqa: E402
from minik8s.client.http import HTTPClient  # noqa: E402
from minik8s.cluster.processes import read_json  # noqa: E402

SIZES = {"quick": dict(replicas=200, nodes=20, rolling=50),
         "full": dict(replicas=1000, nodes=100, rolling=100)}
KWOK = 20.0
CLOCK = RealClock()


def deployment(name: str, replicas: int, image: str = "minik8s/hello:v1") -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": "25%",
                                                    "maxUnavailable": "25%"}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def wait(predicate, timeout: float, what: str) -> float:
    t0 = now()
    while now() - t0 < timeout:
        if predicate():
            return now() - t0
        CLOCK.sleep(0.05)
    raise SystemExit(f"timed out after {timeout:g} s: {what}")


def complete(client, name: str, replicas: int) -> bool:
    d = client.get("deployments", name, "default")
    st = d.get("status") or {}
    return (st.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and st.get("updatedReplicas") == replicas
            and st.get("availableReplicas") == replicas and st.get("replicas") == replicas)


def running_off(client, app: str, node: str) -> int:
    return sum(1 for p in client.list("pods", "default", label_selector=f"app={app}").items
               if p["spec"].get("nodeName") != node and not p["metadata"].get("deletionTimestamp")
               and (p.get("status") or {}).get("phase") == "Running")


def main() -> int:
    args = parser(__doc__, "controllers").parse_args()
    mode = "quick" if args.quick else "full"
    size = SIZES[mode]
    report = Report("controllers", mode, args.results, save=not args.no_save)
    report.header(f"minik8s controller benchmark ({mode}; {machine()})")
    root = tempfile.mkdtemp(prefix="mk8s-bench-")
    data = os.path.join(root, "data")
    try:
        t0 = now()
        out = minik8s_cli("up", "--nodes", str(size["nodes"]), "--runtime", "simulated",
                      "--port", "0", "--data-dir", data, "--kubeconfig",
                      os.path.join(root, "kubeconfig"))
        if out.returncode != 0:
            raise SystemExit(out.stdout + out.stderr)
        report.figure("up.seconds", f"up --nodes {size['nodes']} (simulated)", now() - t0, "s")
        client = HTTPClient(read_json(os.path.join(data, "state.json"))["url"], timeout=30)

        n = size["replicas"]
        report.section(f"one Deployment of {n} replicas on {size['nodes']} nodes")
        client.create(deployment("big", n), "default")
        seconds = wait(lambda: complete(client, "big", n), 600, "big to be available")
        rate = n / seconds
        report.figure("big.seconds", "create -> availableReplicas", seconds, "s")
        report.figure("big.pods_per_s", "pods available per second", rate, "pods/s", ".0f")
        report.target("pods/s to available", rate, 100.0, "pods/s", higher_is_better=True)
        report.reference("pods/s to available", rate, KWOK, "pods/s", "kwok, 20 pods/s")
        client.delete("deployments", "big", "default")

        r = size["rolling"]
        report.section(f"rolling update of {r} replicas (25 % / 25 %)")
        client.create(deployment("roll", r), "default")
        wait(lambda: complete(client, "roll", r), 300, "roll to be available")
        t0 = now()
        client.patch("deployments", "roll", {"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "minik8s/hello:v2"}]}}}}, "default",
            patch_type="strategic")
        seconds = wait(lambda: complete(client, "roll", r), 300, "the rollout")
        report.figure("roll.seconds", "image change -> rollout complete", seconds, "s")

        report.section("node killed -> its pods Running elsewhere")
        pods = client.list("pods", "default", label_selector="app=roll").items
        counts: dict = {}
        for p in pods:
            counts[p["spec"]["nodeName"]] = counts.get(p["spec"]["nodeName"], 0) + 1
        node = max(counts, key=counts.get)
        t0 = now()
        out = minik8s_cli("chaos", "kill-node", node, "--data-dir", data)
        if out.returncode != 0:
            raise SystemExit(out.stdout + out.stderr)
        wait(lambda: running_off(client, "roll", node) == r, 120, "replacement pods")
        seconds = now() - t0             # from before the chaos command
        report.figure("nodekill.pods", f"pods on {node}", counts[node], "", ".0f")
        report.figure("nodekill.seconds", "kill-node -> all pods Running elsewhere",
                      seconds, "s")
        report.target("node failure -> replaced", seconds, 10.0, "s", higher_is_better=False)
    finally:
        minik8s_cli("down", "--data-dir", data)
        shutil.rmtree(root, ignore_errors=True)
    return finish(report)


if __name__ == "__main__":
    sys.exit(main())
