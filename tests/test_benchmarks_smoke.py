"""The benchmarks still run: `benchmarks/apiserver.py --quick` end to end, and the
shared helpers (percentiles, the comparison with the previous run) on known numbers.

A benchmark is not a test of speed — no figure is asserted here, only that every
measurement is made and printed, and that the figures recorded for the next run are
the ones printed.
"""
import json
import math
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import Report, Stats, percentile  # noqa: E402


# --- the API server benchmark, end to end ---------------------------------------------

@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    results = tmp_path_factory.mktemp("bench") / "apiserver.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "apiserver.py"),
                           "--quick", "--results", str(results)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    return proc, results


def test_quick_apiserver_benchmark_exits_zero(quick_run):
    proc, _ = quick_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr


def test_it_prints_every_measurement(quick_run):
    out = quick_run[0].stdout
    for section in ("request pipeline alone", "memory store over HTTP, server in subprocess",
                    "sqlite store over HTTP, server in subprocess", "targets (issue 3)",
                    "published references"):
        assert f"== {section}" in out, section
    for client in ("requests", "http.client"):
        assert f"-- client: {client}" in out
    for verb in ("create", "get", "update", "list (20 items)"):
        for threads in ("1 thread ", "8 threads "):
            # once per store and client: 2 x 2
            assert out.count(f"  {verb}, {threads}") == 4, (verb, threads)
        assert f"{verb}, memory, 1 thread" in out and f"{verb}, sqlite, 1 thread" in out
    assert out.count("watch latency (write sent -> event)") == 2
    assert out.count("CPU, 8 threads") == 4
    assert out.count("target write p99 idle") == 4
    assert out.count("target durable writes/s") == 4
    assert "reference etcd writes/s" in out and "reference k8s SLO" in out


def test_the_recorded_figures_are_the_printed_ones(quick_run):
    proc, results = quick_run
    figures = json.loads(results.read_text())["quick"]["figures"]
    for store in ("memory", "sqlite"):
        for variant in ("http", "http-lean"):
            for verb in ("create", "get", "update", "list"):
                for t in (1, 8):
                    key = f"{store}.{variant}.{verb}.{t}t"
                    assert figures[f"{key}.rate"] > 0
                    assert 0 < figures[f"{key}.p50"] <= figures[f"{key}.p99"]
        watch = figures[f"{store}.http.watch.p99"]
        assert f"p99 {watch:7.2f} ms" in proc.stdout
    create = figures["sqlite.http-lean.create.8t.rate"]
    assert f"{create:9.0f} req/s" in proc.stdout


# --- the shared helpers ---------------------------------------------------------------

def test_percentile_interpolates_between_ranks_like_numpy():
    assert percentile([1, 2], 50) == 1.5
    assert percentile([5, 1, 3], 50) == 3
    assert percentile(range(1, 101), 99) == pytest.approx(99.01)
    assert percentile([7], 99) == 7
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_stats_rate_is_count_over_wall_time():
    s = Stats.of([0.001, 0.002, 0.003, 0.004], seconds=0.002)   # 4 in parallel
    assert s.rate == 2000
    assert s.p50 == 0.0025


def test_report_compares_with_the_previous_run_of_the_same_mode(tmp_path, capsys):
    path = tmp_path / "r.json"
    first = Report("x", "full", path)
    first.figure("a.rate", "a", 100.0, "req/s")
    first.save()
    capsys.readouterr()

    Report("x", "quick", path).figure("a.rate", "a", 50.0, "req/s")   # other mode
    assert "prev" not in capsys.readouterr().out

    second = Report("x", "full", path)
    second.stats("v", "verb", Stats(count=10, seconds=0.05, p50=0.001, p99=0.004))
    second.figure("a.rate", "a", 150.0, "req/s")
    assert "prev x1.50" in capsys.readouterr().out
    second.save()
    saved = json.loads(path.read_text())["full"]["figures"]
    assert saved["a.rate"] == 150.0 and saved["v.rate"] == 200 and saved["v.p99"] == 4.0


def test_a_missed_target_is_reported_not_raised(capsys):
    r = Report("x", "quick", save=False)
    r.target("writes/s", 1200, 1500, "req/s", higher_is_better=True)
    r.target("p99", 3.0, 10, "ms", higher_is_better=False)
    out = capsys.readouterr().out
    assert "ratio   0.80   MISSED" in out and "ratio   0.30   met" in out
    assert r.targets_missed == ["writes/s"]
