"""What every minik8s benchmark shares: timing, percentiles, printing, the last run.

A benchmark here is a script that prints figures, each with what it is compared to:
a target from the issue that asked for it, a published figure of the real system
(etcd, Kubernetes' SLOs), and the previous run on this machine. A missed target is
printed, never raised: the exit status only says whether the benchmark itself ran.

Timing reads the real clock through `minik8s.api.clock.RealClock`, like every
component of minik8s: only clock.py touches `time`.

Results of the last run live in `benchmarks/results/<name>.json`, one entry per mode
("quick", "full"), so a quick smoke run is never compared with a full one.

The API server under load runs in a child process (`ServerProcess`), so that client
threads and server do not share one GIL — kubectl and kube-apiserver are different
processes too. `ServerThread` is the same server in a thread of the benchmark itself.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import random
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Optional

from minik8s.api.clock import RealClock

REPO = pathlib.Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"
_CLOCK = RealClock()


def now() -> float:
    """Monotonic seconds, for intervals (time.monotonic is nanosecond-resolution on Linux)."""
    return _CLOCK.monotonic()


def wall() -> float:
    """Seconds since the epoch, to date a run."""
    return _CLOCK.now()


def percentile(samples, q: float) -> float:
    """The q-th percentile (0..100), interpolating between the two nearest ranks
    (numpy's default), so p50 of [1, 2] is 1.5. Empty samples give nan."""
    xs = sorted(samples)
    if not xs:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not in 0..100")
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Stats:
    """One measured phase: `count` operations in `seconds` of wall time."""
    count: int
    seconds: float
    p50: float          # seconds
    p99: float          # seconds

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else math.nan

    @classmethod
    def of(cls, latencies, seconds: float) -> "Stats":
        return cls(len(latencies), seconds, percentile(latencies, 50),
                   percentile(latencies, 99))


def cpu_seconds(pid: Optional[int] = None) -> Optional[float]:
    """CPU time (user + system) used so far by this process, or by process `pid`
    (Linux /proc only; None elsewhere). Tells whether the server or the client was
    the one saturated."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks   # utime, stime
    except (OSError, ValueError, IndexError):
        return None


def parser(doc: str, name: str) -> argparse.ArgumentParser:
    """The flags every benchmark has: --quick, --results, --no-save."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small counts (CI smoke, seconds)")
    p.add_argument("--results", help="file of the previous run's figures "
                   f"(default benchmarks/results/{name}.json)")
    p.add_argument("--no-save", action="store_true", help="do not record this run")
    return p


def machine() -> str:
    return (f"python {platform.python_version()}, {os.cpu_count()} cpus, "
            f"{platform.system()} {platform.machine()}")


def _ratio(value: float, other: float) -> str:
    if not other or math.isnan(value) or math.isnan(other):
        return "  n/a"
    return f"x{value / other:.2f}"


class Report:
    """Prints figures as they are measured and remembers them for the next run.

    Every figure has a key ("sqlite.create.8t.p99"); a figure also present in the
    previous run of the same mode gets "prev x<now/previous>" appended (for a rate,
    above 1 is better; for a latency, below 1 is better).
    """

    def __init__(self, name: str, mode: str, results_path=None, *, save: bool = True):
        self.name, self.mode, self.save_results = name, mode, save
        self.path = pathlib.Path(results_path) if results_path else RESULTS_DIR / f"{name}.json"
        self.figures: dict = {}
        self.targets_missed: list = []
        self._all = self._load()
        self.previous = (self._all.get(mode) or {}).get("figures", {})

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _prev(self, key: str, value: float) -> str:
        old = self.previous.get(key)
        return f"   prev {_ratio(value, old)}" if isinstance(old, (int, float)) else ""

    # --- printing ----------------------------------------------------------

    def header(self, text: str) -> None:
        print(text, flush=True)

    def section(self, title: str) -> None:
        print(f"\n== {title}", flush=True)

    def stats(self, key: str, label: str, s: Stats, unit: str = "req/s") -> None:
        """One line: rate, p50, p99 (and the ratio of each to the previous run)."""
        rate, p50, p99 = s.rate, s.p50 * 1e3, s.p99 * 1e3
        self.figures.update({f"{key}.rate": rate, f"{key}.p50": p50, f"{key}.p99": p99})
        prev = ""
        if f"{key}.rate" in self.previous:
            prev = (f"   prev rate {_ratio(rate, self.previous[f'{key}.rate'])}"
                    f" p99 {_ratio(p99, self.previous.get(f'{key}.p99'))}")
        print(f"  {label:<38} {rate:9.0f} {unit:<7} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"
              f"   (n={s.count}){prev}", flush=True)

    def latency(self, key: str, label: str, samples) -> None:
        """Percentiles of latencies with no rate (e.g. write -> watch event)."""
        p50, p99 = percentile(samples, 50) * 1e3, percentile(samples, 99) * 1e3
        self.figures.update({f"{key}.p50": p50, f"{key}.p99": p99})
        prev = ""
        if f"{key}.p99" in self.previous:
            prev = (f"   prev p50 {_ratio(p50, self.previous[f'{key}.p50'])}"
                    f" p99 {_ratio(p99, self.previous[f'{key}.p99'])}")
        print(f"  {label:<38} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   max "
              f"{max(samples) * 1e3:7.2f} ms   (n={len(samples)}){prev}", flush=True)

    def figure(self, key: str, label: str, value: float, unit: str, fmt: str = ".2f") -> None:
        self.figures[key] = value
        print(f"  {label:<38} {value:{fmt}} {unit}{self._prev(key, value)}", flush=True)

    def target(self, label: str, value: float, target: float, unit: str, *,
               higher_is_better: bool, note: str = "") -> None:
        """A figure against the target an issue set: ratio = figure / target."""
        met = value >= target if higher_is_better else value <= target
        if not met:
            self.targets_missed.append(label + (f" ({note})" if note else ""))
        sign = ">=" if higher_is_better else "<="
        print(f"  target {label:<46} {value:9.2f} {unit:<6} {sign} {target:g} {unit:<6}"
              f" ratio {value / target:6.2f}   {'met' if met else 'MISSED'}"
              f"{'   ' + note if note else ''}", flush=True)

    def reference(self, label: str, value: float, theirs: float, unit: str, source: str) -> None:
        """A figure next to a published one of the real system (ratio = ours / theirs)."""
        print(f"  reference {label:<43} {value:9.2f} {unit:<6} vs {theirs:g} {unit:<6}"
              f" ratio {value / theirs:6.2f}   [{source}]", flush=True)

    # --- the last run ------------------------------------------------------

    def save(self, **info) -> None:
        """Write this run's figures (under its mode) for the next run to compare with."""
        if not self.save_results:
            return
        self._all[self.mode] = {"date": wall(), "machine": machine(), **info,
                                "figures": {k: (None if isinstance(v, float) and math.isnan(v)
                                                else v) for k, v in self.figures.items()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._all, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.path)
        print(f"\nresults saved to {self.path}", flush=True)


def finish(report: "Report") -> int:
    """Save the run, list the targets it missed; the exit status of a benchmark."""
    report.save()
    if report.targets_missed:
        print("targets missed: " + "; ".join(report.targets_missed))
    return 0


def minik8s_cli(*args, env=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the `minik8s` command (as a user would: a child process) from the repo."""
    return subprocess.run([sys.executable, "-m", "minik8s.cli.main", *args], cwd=REPO,
                          capture_output=True, text=True, env=env, timeout=timeout)


# --- an API server to load ----------------------------------------------------------

def serve_forever(spec: str, profile: bool = False) -> None:
    """`--serve SPEC`: an API server over `open_store(SPEC)` on a free loopback port.
    Prints the port on one line, then serves until stdin is closed (so it can never
    outlive the benchmark that started it, even if that one is killed)."""
    from minik8s.apiserver.http import serve
    from minik8s.apiserver.server import APIServer
    from minik8s.store import open_store
    profiles = _profile_connections() if profile else None
    store = open_store(spec)
    httpd = serve(APIServer(store, RealClock(), random.Random(0)), "127.0.0.1", 0)
    print(httpd.server_address[1], flush=True)
    sys.stdin.read()
    if profiles is not None:
        _print_profile(*profiles)
    httpd.stopping.set()
    httpd.shutdown()
    store.close()


def _profile_connections():
    """Profile every connection thread of the HTTP server (cProfile sees one thread
    only, and the server runs one thread per connection), in CPU time."""
    import cProfile
    import time     # the profiler's timer only: minik8s's Clock has no per-thread CPU clock
    from minik8s.apiserver.http import APIHTTPServer
    done, active = [], threading.Condition()
    active.count = 0
    inner = APIHTTPServer.process_request_thread

    def profiled(self, request, client_address):
        # CPU time of this thread, not wall time: with wall time, waiting for the GIL
        # or for a lock is charged to whatever function happened to be running.
        prof = cProfile.Profile(time.thread_time)
        with active:
            active.count += 1
        prof.enable()
        try:
            inner(self, request, client_address)
        finally:
            prof.disable()
            with active:
                done.append(prof)
                active.count -= 1
                active.notify_all()
    APIHTTPServer.process_request_thread = profiled
    return done, active


def _print_profile(done, active) -> None:
    import pstats
    with active:      # the client closed its connections: let their threads finish
        active.wait_for(lambda: active.count == 0, timeout=5)
        profs = list(done)
    if not profs:
        return
    stats = pstats.Stats(profs[0], stream=sys.stderr)
    for p in profs[1:]:
        stats.add(p)
    print("\n== server profile (CPU time of all connection threads), by own time",
          file=sys.stderr)
    stats.sort_stats("tottime").print_stats(25)
    print("== by cumulative time", file=sys.stderr)
    stats.sort_stats("cumulative").print_stats(40)


class ServerProcess:
    """The API server in a child process (`python -m benchmarks._common --serve SPEC`):
    its own interpreter, so its own GIL, as kube-apiserver is its own process.
    `profile=True` prints where its CPU time went (to stderr) when it stops."""

    def __init__(self, spec: str, profile: bool = False):
        cmd = [sys.executable, "-m", "benchmarks._common", "--serve", spec]
        if profile:
            cmd.append("--profile")
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            raise RuntimeError(f"the API server did not start (it printed {line!r})")
        self.url = f"http://127.0.0.1:{int(line)}"
        self.pid = self.proc.pid

    def close(self) -> None:
        self.proc.stdin.close()          # serve_forever's cue to stop
        self.proc.stdout.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ServerThread:
    """The API server in a thread of this process: it shares the GIL with the clients."""

    def __init__(self, spec: str, profile: bool = False):
        from minik8s.apiserver.http import serve
        from minik8s.apiserver.server import APIServer
        from minik8s.store import open_store
        self.store = open_store(spec)
        self.httpd = serve(APIServer(self.store, RealClock(), random.Random(0)),
                           "127.0.0.1", 0)
        self.url, self.pid = self.httpd.url, None

    def close(self) -> None:
        self.httpd.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.store.close()


if __name__ == "__main__":
    if sys.argv[1:2] != ["--serve"] or len(sys.argv) < 3:
        sys.exit("usage: python -m benchmarks._common --serve STORE_SPEC [--profile]")
    serve_forever(sys.argv[2], profile="--profile" in sys.argv[3:])
