"""The scheduler benchmark still runs: `benchmarks/scheduler.py --quick` end to end.

No speed is asserted (a benchmark is not a test of speed): only that every
configuration is measured, every pod is bound, the figures are printed next to
kube-scheduler's floor, and the recorded figures are the printed ones.
"""
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    results = tmp_path_factory.mktemp("bench") / "scheduler.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scheduler.py"),
                           "--quick", "--results", str(results)],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    return proc, results


def test_quick_scheduler_benchmark_exits_zero(quick_run):
    proc, _ = quick_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "!!" not in proc.stdout


def test_it_measures_every_configuration_and_compares_with_kube_scheduler(quick_run):
    proc, results = quick_run
    out = proc.stdout
    for n in (50, 200):
        assert f"== {n} nodes" in out
        assert f"reference pods/s, {n} nodes, adaptive %" in out
        assert f"reference pods/s, {n} nodes, 100% scored" in out
    assert out.count("vs 680 pods/s") == 4
    figures = json.loads(results.read_text())["quick"]["figures"]
    for key in ("50n.adaptive", "50n.p100", "200n.adaptive", "200n.p100"):
        assert figures[f"{key}.rate"] > 0
        assert 0 < figures[f"{key}.p50"] <= figures[f"{key}.p99"]
        assert f"{figures[f'{key}.rate']:9.0f} pods/s" in out
    # Kubernetes' adaptive percentage looks at fewer nodes than "score all" once the
    # cluster has more than 100 nodes, and at all of them below.
    assert figures["200n.adaptive.evaluated"] < figures["200n.p100.evaluated"] == 200
    assert figures["50n.adaptive.evaluated"] == figures["50n.p100.evaluated"] == 50
