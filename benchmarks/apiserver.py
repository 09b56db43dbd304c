"""API server benchmark: requests per second and latency per verb, over real HTTP.

What kube-apiserver is judged by (Kubernetes' SLOs): the latency of single-object
writes and reads, the latency of lists, and how fast a watcher hears of a change.
This script measures the same things for minik8s, on small ConfigMaps:

- create / get / update (PUT carrying the resourceVersion last seen) / list (a
  namespace of a fixed number of ConfigMaps) with 1 and with 8 client threads, each
  with its own keep-alive connection: req/s, p50, p99 — `--store memory|sqlite|both`
  (SQLite: the durable store, WAL mode, in a temporary file);
- watch latency: one client streams `?watch=true` in a thread while another creates
  objects one at a time; latency = event read by the watcher - write sent;
- the request pipeline alone (`APIServer.handle` through the in-process client, no
  HTTP), to show what the HTTP layer costs;
- CPU per request and busy share of server and client, to say which one ran out.

Two client libraries (`--client`): `requests.Session` (what a Python client of
Kubernetes pays: ~0.7-0.9 ms of CPU per request, so 8 threads of it in one process
saturate their GIL near 1,000 req/s, before the server does) and `http.client`
(~0.15 ms per request, so the server is what runs out). Throughput targets are only
meaningful on a "server-bound" line, and the target lines say which one each is.

The server runs in a subprocess (benchmarks/_common.py, `ServerProcess`), so client
and server do not share one GIL — kubectl and kube-apiserver are different processes.
`--server thread` also measures it in a thread of this process.

Targets (issue 3): single-object write p99 <= 10 ms on an idle server (one client),
>= 1,500 writes/s with the durable store. Missed targets are printed, not failures:
the exit status is non-zero only if the benchmark itself broke (e.g. a request was
answered with an unexpected status).

    python benchmarks/apiserver.py            # full, about a minute
    python benchmarks/apiserver.py --quick    # CI smoke, a few seconds
"""
from __future__ import annotations

import http.client
import json
import os
import pathlib
import random
import sys
import tempfile
import threading
import urllib.parse

if __package__ in (None, ""):            # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import requests

from benchmarks._common import (Report, ServerProcess, ServerThread, Stats, cpu_seconds, parser,
                                machine, now)
from minik8s.api.clock import RealClock

# How much each mode does. ops: requests per verb per phase, split over the threads.
SIZES = {
    "quick": dict(ops=120, list_ops=24, list_items=20, watch=40, inproc=200),
    "full": dict(ops=3000, list_ops=400, list_items=100, watch=500, inproc=3000),
}
THREADS = (1, 8)
NAMESPACE = "bench"
TIMEOUT = 30                     # seconds: no single request of a healthy server nears it

# Published figures shown next to ours (ratio = ours / theirs).
# etcd v3.2 on 3 members of 8 vCPUs each (GCE), 8-byte keys, 256-byte values:
#   "Average write QPS" 583 at 1 connection / 1 client (avg latency 1.6 ms),
#   44,341 at 100 connections / 1000 clients (avg 22 ms).
#   Source: https://etcd.io/docs/v3.5/op-guide/performance/ (section "Benchmarks").
ETCD_WRITES_1_CLIENT = 583.0
ETCD_WRITES_1000_CLIENTS = 44341.0
# Kubernetes' official API call latency SLOs (99th percentile per cluster-day):
#   mutating single-object calls <= 1 s; read-only, scope=resource <= 1 s,
#   scope=namespace <= 5 s. Source: kubernetes/community,
#   sig-scalability/slos/api_call_latency.md.
SLO_MUTATING_P99_MS = 1000.0
SLO_LIST_NAMESPACE_P99_MS = 5000.0

TARGET_WRITE_P99_MS = 10.0
TARGET_DURABLE_WRITES_PER_S = 1500.0


# --- the client side -----------------------------------------------------------------

def configmap(name: str, value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"app": "bench"}},
            "data": {"greeting": value, "color": "blue"}}


def check(method: str, path: str, status: int, raw: bytes, code: int) -> dict:
    """A benchmark that timed 404s would measure nothing: any other status is a crash."""
    if status != code:
        raise RuntimeError(f"{method} {path}: expected {code}, got {status}: {raw[:300]!r}")
    return json.loads(raw)


class RequestsClient:
    """One keep-alive `requests.Session`: what a Python client of Kubernetes pays."""
    name = "requests"

    def __init__(self, url: str):
        self.url, self.session = url, requests.Session()

    def call(self, method: str, path: str, body=None, code: int = 200) -> dict:
        r = self.session.request(method, self.url + path, json=body, timeout=TIMEOUT)
        return check(method, path, r.status_code, r.content, code)

    def close(self) -> None:
        self.session.close()


class LeanClient:
    """One keep-alive `http.client` connection: about a fifth of the CPU per request
    of `requests`, so with it the server, not the client, is what runs out first."""
    name = "http.client"

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)

    def call(self, method: str, path: str, body=None, code: int = 200) -> dict:
        data = None if body is None else json.dumps(body).encode()
        # Headers and body leave in one send() (http.client joins them for bytes
        # bodies), so Nagle's algorithm never delays the body.
        self.conn.request(method, path, body=data,
                          headers={"Content-Type": "application/json"} if data else {})
        r = self.conn.getresponse()
        return check(method, path, r.status, r.read(), code)

    def close(self) -> None:
        self.conn.close()


CLIENTS = {"requests": RequestsClient, "http.client": LeanClient}


class Clients:
    """`threads` client threads, each with its own keep-alive connection."""

    def __init__(self, url: str, threads: int, client_cls):
        self.threads = threads
        self.clients = [client_cls(url) for _ in range(threads)]
        for c in self.clients:            # open each connection before measuring
            c.call("GET", "/api/v1/namespaces/default")
        self.rvs: dict = {}               # name -> last resourceVersion seen

    def run(self, per_thread: int, request) -> Stats:
        """All threads at once, each calling `request(client, thread, i)` per_thread
        times; each call is timed. Wall time runs from the start line to the last
        thread done, so the rate is what the server sustained."""
        latencies = [[] for _ in range(self.threads)]
        errors, start = [], {}
        gate = threading.Barrier(self.threads, action=lambda: start.setdefault("t", now()))

        def work(t: int) -> None:
            c, mine = self.clients[t], latencies[t]
            try:
                gate.wait()
                for i in range(per_thread):
                    t0 = now()
                    request(c, t, i)
                    mine.append(now() - t0)
            except BaseException as e:     # re-raised below, in the main thread
                errors.append(e)
                gate.abort()
        workers = [threading.Thread(target=work, args=(t,)) for t in range(self.threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        end = now()
        if errors:
            raise errors[0]
        return Stats.of([x for xs in latencies for x in xs], end - start["t"])

    def close(self) -> None:
        for c in self.clients:
            c.close()


def measure_verbs(report: Report, key: str, url: str, client_cls, threads: int,
                  size: dict) -> dict:
    """create, get, update, list with `threads` clients; returns {verb: Stats}."""
    base = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
    list_path = f"/api/v1/namespaces/{NAMESPACE}-list/configmaps"
    clients = Clients(url, threads, client_cls)
    per = size["ops"] // threads
    tag = f"{client_cls.name.replace('.', '')}-t{threads}"   # unique names per phase

    def create(c, t, i):
        name = f"cm-{tag}-{t}-{i}"
        obj = c.call("POST", base, configmap(name, "hello"), 201)
        clients.rvs[name] = obj["metadata"]["resourceVersion"]

    def get(c, t, i):
        c.call("GET", f"{base}/cm-{tag}-{t}-{i}")

    def update(c, t, i):
        # PUT with the resourceVersion last seen, as `kubectl replace` does: the
        # server checks it (optimistic concurrency), so this is the full write path.
        name = f"cm-{tag}-{t}-{i}"
        body = configmap(name, "bonjour")
        body["metadata"]["resourceVersion"] = clients.rvs[name]
        obj = c.call("PUT", f"{base}/{name}", body)
        clients.rvs[name] = obj["metadata"]["resourceVersion"]

    def list_(c, t, i):
        items = c.call("GET", list_path)["items"]
        if len(items) != size["list_items"]:
            raise RuntimeError(f"list returned {len(items)} items, "
                               f"expected {size['list_items']}")

    results = {}
    try:
        for verb, fn, n in (("create", create, per), ("get", get, per),
                            ("update", update, per),
                            ("list", list_, max(1, size["list_ops"] // threads))):
            results[verb] = st = clients.run(n, fn)
            what = f"list ({size['list_items']} items)" if verb == "list" else verb
            report.stats(f"{key}.{verb}.{threads}t",
                         f"{what}, {threads} thread{'s' if threads > 1 else ''}", st)
    finally:
        clients.close()
    return results


def prepare(url: str, size: dict) -> None:
    """The namespaces, and the fixed-size namespace that `list` reads."""
    c = LeanClient(url)
    try:
        for ns in (NAMESPACE, f"{NAMESPACE}-list", f"{NAMESPACE}-watch"):
            c.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                  "metadata": {"name": ns}}, 201)
        for i in range(size["list_items"]):
            c.call("POST", f"/api/v1/namespaces/{NAMESPACE}-list/configmaps",
                   configmap(f"item-{i:04d}", "hello"), 201)
    finally:
        c.close()


def measure_watch(url: str, n: int):
    """Write -> event latency: create n ConfigMaps one at a time, each only after the
    watcher has read the previous one's event (so the server is otherwise idle).
    Returns (watch latencies, latencies of the writes themselves)."""
    path = f"/api/v1/namespaces/{NAMESPACE}-watch/configmaps"
    clock = RealClock()
    writer, watcher = RequestsClient(url), requests.Session()
    sent, got = [0.0] * n, [0.0] * n
    arrived = [threading.Event() for _ in range(n)]
    failure = []
    try:
        rv = writer.call("GET", path)["metadata"]["resourceVersion"]
        # Response headers come back only after the server registered the watch.
        stream = watcher.get(f"{url}{path}?watch=true&resourceVersion={rv}", stream=True,
                             timeout=(TIMEOUT, TIMEOUT))
        if stream.status_code != 200:
            raise RuntimeError(f"watch: expected 200, got {stream.status_code}")

        def read() -> None:
            buf, seen = b"", 0
            try:
                # chunk_size=None: each HTTP chunk as soon as it arrives (one event each).
                for chunk in stream.iter_content(chunk_size=None):
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        t = now()
                        ev = json.loads(line)
                        if ev["type"] != "ADDED":
                            raise RuntimeError(f"unexpected watch event {ev['type']}")
                        i = int(ev["object"]["metadata"]["name"].rsplit("-", 1)[1])
                        got[i] = t
                        arrived[i].set()
                        seen += 1
                    if seen == n:
                        return
            except Exception as e:   # noqa: BLE001 — reported by the writer
                failure.append(e)
                for a in arrived:
                    a.set()
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        writes = []
        for i in range(n):
            sent[i] = now()
            writer.call("POST", path, configmap(f"w-{i}", "hello"), 201)
            writes.append(now() - sent[i])
            if not clock.wait(arrived[i], TIMEOUT) or failure:
                raise RuntimeError(f"the watcher did not see event {i}: {failure}")
        reader.join(TIMEOUT)
        stream.close()
    finally:
        writer.close()
        watcher.close()
    return [g - s for g, s in zip(got, sent)], writes


def measure_inprocess(report: Report, store_name: str, spec: str, size: dict) -> None:
    """The pipeline with no HTTP: APIServer.handle through the in-process client."""
    from minik8s.apiserver.server import APIServer
    from minik8s.client.inprocess import InProcessClient
    from minik8s.store import open_store
    store = open_store(spec)
    try:
        client = InProcessClient(APIServer(store, RealClock(), random.Random(0)))
        for ns in (NAMESPACE, f"{NAMESPACE}-list"):
            client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for i in range(size["list_items"]):
            client.create(configmap(f"item-{i:04d}", "hello"), f"{NAMESPACE}-list")
        n, objs = size["inproc"], {}

        def timed(fn, count):
            lat, t0 = [], now()
            for i in range(count):
                t = now()
                fn(i)
                lat.append(now() - t)
            return Stats.of(lat, now() - t0)

        def create(i):
            objs[i] = client.create(configmap(f"cm-{i}", "hello"), NAMESPACE)

        def update(i):
            obj = configmap(f"cm-{i}", "bonjour")
            obj["metadata"].update(namespace=NAMESPACE,
                                   resourceVersion=objs[i]["metadata"]["resourceVersion"])
            client.update(obj)
        for verb, fn, count in (
                ("create", create, n),
                ("get", lambda i: client.get("configmaps", f"cm-{i}", NAMESPACE), n),
                ("update", update, n),
                ("list", lambda i: client.list("configmaps", f"{NAMESPACE}-list"),
                 size["list_ops"])):
            what = f"list ({size['list_items']} items)" if verb == "list" else verb
            report.stats(f"{store_name}.inproc.{verb}", f"{what}, {store_name}, 1 thread",
                         timed(fn, count), "ops/s")
    finally:
        store.close()


def measure_server(report: Report, args, store_name: str, placement: str, clients: tuple,
                   size: dict, tmpdir: str) -> dict:
    """Everything over HTTP for one store on a fresh server: {client: {threads: {verb:
    Stats}}}. Each client kind runs on the same server, with its own object names."""
    spec = "memory" if store_name == "memory" else \
        f"sqlite://{os.path.join(tmpdir, f'{store_name}-{placement}.db')}"
    where = "subprocess" if placement == "subprocess" else \
        "a thread of this process (shares the GIL with the clients)"
    report.section(f"{store_name} store over HTTP, server in {where}")
    server_cls = ServerProcess if placement == "subprocess" else ServerThread
    server = server_cls(spec, profile=args.profile and placement == "subprocess")
    out = {}
    try:
        prepare(server.url, size)
        for client in clients:
            key = f"{store_name}.{VARIANTS[placement, client]}"
            print(f"  -- client: {client}, one keep-alive connection per thread")
            out[client] = by_threads = {}
            for threads in THREADS:
                before = cpu_seconds(server.pid), cpu_seconds(), now()
                by_threads[threads] = measure_verbs(report, key, server.url,
                                                    CLIENTS[client], threads, size)
                report_cpu(report, f"{key}.{threads}t", server.pid, before,
                           sum(s.count for s in by_threads[threads].values()))
        print("  -- watch: one watcher streaming, one writer (requests)")
        watch, writes = measure_watch(server.url, size["watch"])
        key = f"{store_name}.{VARIANTS[placement, 'requests']}"
        report.latency(f"{key}.watch", "watch latency (write sent -> event)", watch)
        report.latency(f"{key}.create_watched", "create while watched, 1 thread", writes)
    finally:
        server.close()
    return out


# (server placement, client) -> the key of its figures
VARIANTS = {("subprocess", "requests"): "http", ("subprocess", "http.client"): "http-lean",
            ("thread", "requests"): "http-thread", ("thread", "http.client"): "http-thread-lean"}


def report_cpu(report: Report, key: str, server_pid, before: tuple, requests_done: int):
    """CPU per request and busy share (CPU / wall) of the server and the client process
    over one phase. One Python process cannot be much more than 100% busy (one GIL):
    the side nearer 100% is the one that limited the rate."""
    server0, client0, t0 = before
    server1, client1, elapsed = cpu_seconds(server_pid), cpu_seconds(), now() - t0
    parts = []
    for side, c0, c1 in (("server", server0, server1), ("client", client0, client1)):
        if server_pid is None and side == "server" or c0 is None or c1 is None:
            continue                 # the server in a thread: its CPU is the client's
        per, busy = (c1 - c0) / requests_done * 1e6, 100 * (c1 - c0) / elapsed
        report.figures.update({f"{key}.{side}_cpu_us": per, f"{key}.{side}_busy": busy})
        parts.append(f"{side} {per:4.0f} us/request, {busy:3.0f}% busy")
    threads = int(key.rsplit(".", 1)[1].rstrip("t"))
    label = f"CPU, {threads} thread{'s' if threads > 1 else ''}"
    print(f"  {label:<38} {';  '.join(parts)}", flush=True)


def bottleneck(report: Report, key: str) -> str:
    """Which side ran out first: a throughput figure only says something about the
    server if the client process was not the busier of the two."""
    client, server = report.figures.get(f"{key}.client_busy"), \
        report.figures.get(f"{key}.server_busy")
    if client is None or server is None:
        return ""
    side = "client-bound" if client > server else "server-bound"
    return f"{side}: client {client:.0f}% busy, server {server:.0f}%"


def report_targets(report: Report, results: dict) -> None:
    """results: {store: {client: {threads: {verb: Stats}}}}, subprocess server only."""
    report.section("targets (issue 3), server in a subprocess")
    for store_name, by_client in results.items():
        for client, by_threads in by_client.items():
            key, one = f"{store_name}.{VARIANTS['subprocess', client]}", by_threads[1]
            p99 = max(one["create"].p99, one["update"].p99) * 1e3
            report.target(f"write p99 idle, {store_name}, {client}", p99,
                          TARGET_WRITE_P99_MS, "ms", higher_is_better=False)
            if store_name == "sqlite":
                for verb in ("create", "update"):
                    report.target(f"durable writes/s, {verb} x8 threads, {client}",
                                  by_threads[8][verb].rate, TARGET_DURABLE_WRITES_PER_S,
                                  "req/s", higher_is_better=True,
                                  note=bottleneck(report, f"{key}.8t"))
    # References: the durable store, through the client that loads the server most.
    store_name = "sqlite" if "sqlite" in results else next(iter(results))
    by_client = results[store_name]
    client = "http.client" if "http.client" in by_client else next(iter(by_client))
    r = by_client[client]
    report.section(f"published references ({store_name}, {client}; ratio = ours / theirs)")
    report.reference("etcd writes/s, 1 client (create x1)", r[1]["create"].rate,
                     ETCD_WRITES_1_CLIENT, "req/s", "etcd v3.2, 3x8 vCPU")
    report.reference("etcd writes/s, 1000 clients (create x8)", r[8]["create"].rate,
                     ETCD_WRITES_1000_CLIENTS, "req/s", "etcd v3.2, 3x8 vCPU")
    report.reference("k8s SLO mutating p99 (update x8)", r[8]["update"].p99 * 1e3,
                     SLO_MUTATING_P99_MS, "ms", "api_call_latency SLO")
    report.reference("k8s SLO namespace list p99 (list x8)", r[8]["list"].p99 * 1e3,
                     SLO_LIST_NAMESPACE_P99_MS, "ms", "api_call_latency SLO")


def main(argv=None) -> int:
    p = parser(__doc__, "apiserver")
    p.add_argument("--store", choices=("memory", "sqlite", "both"), default="both")
    p.add_argument("--client", choices=("requests", "http.client", "both"), default="both",
                   help="HTTP client library of the client threads")
    p.add_argument("--server", choices=("subprocess", "thread", "both"), default="subprocess",
                   help="where the HTTP server runs (subprocess: its own GIL)")
    p.add_argument("--profile", action="store_true",
                   help="cProfile the subprocess server's connection threads and print "
                        "where the time goes (slows it: figures are not saved)")
    args = p.parse_args(argv)

    mode = "quick" if args.quick else "full"
    size = SIZES[mode]
    both = lambda choice, options: options if choice == "both" else (choice,)  # noqa: E731
    stores = both(args.store, ("memory", "sqlite"))
    clients = both(args.client, ("requests", "http.client"))
    placements = both(args.server, ("subprocess", "thread"))
    report = Report("apiserver", mode, args.results,
                    save=not (args.no_save or args.profile))
    report.header(f"minik8s API server benchmark ({mode}; {machine()})\n"
                  f"small ConfigMaps; {size['ops']} requests per verb and thread count; "
                  f"lists of {size['list_items']}; latencies in ms; "
                  f"'prev xN' = this run / the previous {mode} run")
    t_start = now()
    with tempfile.TemporaryDirectory(prefix="minik8s-bench-") as tmpdir:
        report.section("request pipeline alone (APIServer.handle via the in-process client)")
        for store_name in stores:
            spec = "memory" if store_name == "memory" else \
                f"sqlite://{os.path.join(tmpdir, 'inproc.db')}"
            measure_inprocess(report, store_name, spec, size)
        results = {}
        for placement in placements:
            for store_name in stores:
                r = measure_server(report, args, store_name, placement, clients, size, tmpdir)
                if placement == "subprocess":
                    results[store_name] = r
        if results:
            report_targets(report, results)
    report.figure("total_seconds", "benchmark wall time", now() - t_start, "s", ".1f")
    if report.targets_missed:
        print(f"targets missed: {'; '.join(report.targets_missed)}")
    report.save(mode=mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
