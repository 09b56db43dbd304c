"""The program behind the `minik8s/stress` image: burns the CPU it is told to.

Autoscaling demos need pods that use CPU on demand. Kubernetes' own material uses two
kinds of image, and this one is both:

- a **CPU hog**, like `stress` / `stress-ng` (Kubernetes' resource-management pages
  run `stress --cpu 2`): it starts N busy-loop workers, each a separate process so
  they really use N CPUs (threads would share one, because of Python's GIL);
- a **web server whose requests cost CPU**, like the `php-apache` image of the
  HorizontalPodAutoscaler walkthrough: every `GET /` runs its fixed loop of one million
  square roots (~0.03 s of CPU here) and answers "OK!", so a load generator
  (`while true; do wget -q -O- http://stress; done`) drives its CPU use up.

Flags (each has an env equivalent, used when the flag is absent):

    --cpu N, --cpus N, -c N   busy workers to start (STRESS_CPUS; default 0: none)
    --cpu-load P              percent of a CPU each worker uses, 1-100, by working P ms
                              of every 100 ms (STRESS_CPU_LOAD, as stress-ng's flag;
                              default 100)
    --timeout T, -t T         stop after T (a number, with s/m/h suffix: 30, 1.5s, 2m;
                              STRESS_TIMEOUT). As stress(1) does, the whole program
                              then exits 0 ("successful run completed"); without it,
                              the workers burn until the container is stopped.
    --port N                  HTTP port (else env PORT, the first containerPort, 8080)

Also `GET /healthz` answers "ok" without burning anything (for probes). SIGTERM stops
the workers and exits 0. Other stress(1) hogs (--io, --vm, --hdd) are not implemented.
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from http.server import ThreadingHTTPServer

from minik8s.api.clock import RealClock
from minik8s.images import peers

CLOCK = RealClock()
DEFAULT_PORT = 8080
REQUEST_LOOPS = 1_000_000        # php-apache's index.php: a million sqrt per request
SLICE = 0.1                      # seconds: --cpu-load P means busy P% of every slice


def burn_loops(loops: int) -> float:
    """A fixed amount of CPU work (php-apache's loop); returns its result so the work
    cannot be skipped."""
    x = 0.0001
    for _ in range(loops):
        x += math.sqrt(x)
    return x


def parse_duration(text: str) -> float:
    """stress(1)'s timeout syntax: seconds, or a number with s/m/h/d suffix."""
    text = text.strip().lower()
    scale = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1:], None)
    value = float(text[:-1] if scale else text) * (scale or 1)
    if value < 0:
        raise ValueError(f"negative timeout: {text}")
    return value


def hog(load: float, until) -> None:
    """One busy worker: spin `load` of every SLICE until `until` (None: forever)."""
    while until is None or CLOCK.monotonic() < until:
        start = CLOCK.monotonic()
        while CLOCK.monotonic() - start < SLICE * load:
            burn_loops(1000)
        if load < 1:
            CLOCK.sleep(SLICE * (1 - load))


def start_hogs(pids: list, cpus: int, load: float, until, listener=None) -> None:
    """Fork `cpus` worker processes, adding each pid to `pids` at once (so a SIGTERM in
    the middle still finds every worker to stop). Forked before any thread exists: a
    fork copies only the calling thread, so forking a threaded process is unsafe."""
    for _ in range(cpus):
        pid = os.fork()
        if pid == 0:                                   # the child: burn, then leave
            code = 0
            try:
                if listener is not None:
                    listener.close()                   # the port is the parent's alone
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                hog(load, until)
            except BaseException:
                code = 1
            os._exit(code)                             # never return into the parent's code
        pids.append(pid)


def stop_hogs(pids: list) -> None:
    """Kill and reap the workers (reaping also adds their CPU time to ours)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


class Handler(peers.Handler):
    server_name = "Apache/2.4 (minik8s stress)"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            return self.answer(200, "ok\n")
        if path not in ("/", "/index.php"):
            return self.answer(404, "not found\n")
        burn_loops(REQUEST_LOOPS)
        self.answer(200, "OK!", "text/html; charset=UTF-8")


def options(argv) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="stress", description="burns the CPU it is told to")
    parser.add_argument("-c", "--cpu", "--cpus", dest="cpus", type=int,
                        default=int(env.get("STRESS_CPUS") or 0))
    parser.add_argument("--cpu-load", type=int, default=int(env.get("STRESS_CPU_LOAD") or 100))
    parser.add_argument("-t", "--timeout", type=parse_duration,
                        default=parse_duration(env["STRESS_TIMEOUT"])
                        if env.get("STRESS_TIMEOUT") else None)
    parser.add_argument("--port", type=int, default=0)
    opts = parser.parse_args(argv)
    if opts.cpus < 0 or not 1 <= opts.cpu_load <= 100:
        parser.error("--cpu must be >= 0 and --cpu-load between 1 and 100")
    return opts


def main(argv=None) -> int:
    opts = options(argv)
    host, port = peers.listen_address(DEFAULT_PORT, opts.port)
    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as e:
        print(f"stress: FAIL: cannot listen on {host}:{port}: {e}", file=sys.stderr, flush=True)
        return 1
    server.daemon_threads = True
    started = CLOCK.monotonic()
    until = None if opts.timeout is None else started + opts.timeout
    pids, serving = [], threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    peers.exit_on_sigterm()          # first: a SIGTERM from now on is a clean stop
    try:
        start_hogs(pids, opts.cpus, opts.cpu_load / 100, until, server.socket)
        serving.start()
        print(f"stress: info: [{os.getpid()}] dispatching hogs: {opts.cpus} cpu "
              f"({opts.cpu_load}% each), 0 io, 0 vm, 0 hdd; listening on http://{host}:{port}",
              flush=True)
        while until is None:
            signal.pause()                             # until SIGTERM
        CLOCK.sleep(until - CLOCK.monotonic())
        print(f"stress: info: [{os.getpid()}] successful run completed in "
              f"{CLOCK.monotonic() - started:.1f}s", flush=True)
    except SystemExit:
        print(f"stress: info: [{os.getpid()}] received SIGTERM, stopping", flush=True)
    finally:
        stop_hogs(pids)
        if serving.is_alive():
            server.shutdown()        # waits for serve_forever: only if it is running
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
