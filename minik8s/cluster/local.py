"""LocalCluster: a whole cluster in one process, stepped by hand.

Kubernetes has no such thing built in; projects test controllers against envtest (a
real API server, no nodes) or kind (real nodes in containers). minik8s can do better
because every component is a plain object on the seam (client, clock, rng) with a
non-blocking `step()`: this harness builds the request pipeline over an in-memory
store, the scheduler, and N kubelets (node-1 ... node-N), each with its own runtime,
and steps them in a fixed order — scheduler, controller-manager, then the kubelets by
name — under a FakeClock that moves only when nothing is ready. The controller-manager
(ReplicaSet, Deployment, garbage collector, namespace, node lifecycle, pod GC; leave it
out with `controllers=False`) is why Deployments roll out and dead nodes' pods are
replaced. So a test reads like a story:

    cluster = LocalCluster(nodes=3)
    cluster.client.create(pod)
    cluster.run_until(lambda: phase(cluster, "web") == "Running")

and the same seed gives the same run. `run_until` advances the clock to the next
thing some component is waiting for (at most `advance` seconds at a time) and raises
`StepBudgetExhausted`, listing every pod's phase and reason, when the budget runs out.

Nodes are reached through `handles` (LocalNodeHandle: kill, pause, resume,
running_pods), as the node lifecycle controller and chaos tests will. `pods/log` works
in process: the API server's node proxy calls the node's kubelet object directly.

`runtime="process"` runs real processes under a real clock; with `serve_http=True` the
API server and every kubelet also serve HTTP (kubectl works, logs go through the
kubelets' HTTP servers) and `start_threads()` runs each component on its own thread.
"""
from __future__ import annotations

import logging
import random
import shutil
import tempfile
import threading
from typing import Callable, Optional

from minik8s.api import errors
from minik8s.api.clock import FakeClock, RealClock
from minik8s.apiserver.nodeproxy import kubelet_error, make_node_proxy, validate_container
from minik8s.apiserver.server import APIServer
from minik8s.client.inprocess import InProcessClient
from minik8s.controllers.manager import ControllerManager
from minik8s.node.handle import LocalNodeHandle
from minik8s.node.kubelet import Kubelet
from minik8s.node.runtime_sim import SimulatedRuntime
from minik8s.scheduler.scheduler import Scheduler
from minik8s.store.memory import MemoryStore

log = logging.getLogger(__name__)


class StepBudgetExhausted(AssertionError):
    """run_until gave up: the message says what every pod was doing."""


class LocalCluster:
    def __init__(self, nodes: int = 3, *, runtime: str = "simulated", clock=None,
                 seed: int = 0, node_cpu: str = "4", node_memory: str = "8Gi",
                 default_toleration_seconds: int = 300, serve_http: bool = False,
                 controllers: bool = True, controller_options: Optional[dict] = None):
        if runtime not in ("simulated", "process"):
            raise ValueError(f"unknown runtime {runtime!r}: simulated or process")
        # Real processes run in real time; everything else under simulated time.
        self.clock = clock or (RealClock() if runtime == "process" else FakeClock())
        self.seed = seed
        self.runtime_kind = runtime
        self.node_cpu, self.node_memory = node_cpu, node_memory
        self.store = MemoryStore()
        self.api = APIServer(self.store, self.clock, random.Random(seed),
                             default_toleration_seconds=default_toleration_seconds)
        self.client = InProcessClient(self.api)
        self.scheduler = Scheduler(self.client, self.clock, random.Random(seed + 1))
        self.controller_manager: Optional[ControllerManager] = None
        if controllers:
            self.controller_manager = ControllerManager(
                self.client, self.clock, random.Random(seed + 2),
                node_lookup=self.node_lookup, options=controller_options)
        self.kubelets: dict = {}          # node name -> Kubelet
        self.runtimes: dict = {}          # node name -> runtime
        self.handles: dict = {}           # node name -> LocalNodeHandle
        self.servers: dict = {}           # node name -> KubeletServer (serve_http)
        self._root = tempfile.mkdtemp(prefix="minik8s-local-")
        self._serial = 0
        self._threads: list = []
        self._stop = threading.Event()
        self.httpd = None
        if serve_http:
            from minik8s.apiserver.http import serve
            self.api.node_proxy = make_node_proxy(self.api)
            self.httpd = serve(self.api, "127.0.0.1", 0)
        else:
            self.api.node_proxy = self._in_process_logs
        for _ in range(nodes):
            self.add_node()

    @property
    def url(self) -> str:
        """The HTTP API server's URL (serve_http=True only)."""
        if self.httpd is None:
            raise RuntimeError("this LocalCluster does not serve HTTP (serve_http=False)")
        return self.httpd.url

    # --- nodes ---------------------------------------------------------------------

    def add_node(self, name: Optional[str] = None, **kubelet_options) -> Kubelet:
        """Start one more node (registered at once). Options go to Kubelet()."""
        self._serial += 1
        name = name or f"node-{self._serial}"
        if name in self.kubelets:
            raise ValueError(f"node {name} already exists")
        rng = random.Random(f"{self.seed}/{name}")
        if self.runtime_kind == "process":
            from minik8s.node.runtime_process import ProcessRuntime
            runtime = ProcessRuntime(f"{self._root}/{name}/runtime", self.clock)
        else:
            runtime = SimulatedRuntime(self.clock, rng)
        options = {"cpu": self.node_cpu, "memory": self.node_memory, "rng": rng,
                   "pod_root": f"{self._root}/{name}/kubelet", **kubelet_options}
        kubelet = Kubelet(self.client, self.clock, runtime, node_name=name, **options)
        kubelet.register()
        server = None
        if self.httpd is not None:
            from minik8s.node.server import KubeletServer
            server = KubeletServer(kubelet, kubelet.node_ip or "127.0.0.1", 0).start()
            kubelet.kubelet_port = server.port
            self.servers[name] = server
        self.kubelets[name], self.runtimes[name] = kubelet, runtime
        self.handles[name] = LocalNodeHandle(kubelet, runtime, server=server)
        if self._threads:
            self._start_thread(f"kubelet-{name}", self.handles[name].run)
        return kubelet

    def remove_node(self, name: str) -> None:
        """Take a node away for good: its kubelet and containers stop, and its Node
        object is deleted (a scaled-down node pool, not a crash: use kill for that)."""
        handle = self.handles.pop(name)
        handle.kill()
        self.kubelets.pop(name)
        self.runtimes.pop(name)
        self.servers.pop(name, None)
        try:
            self.client.delete("nodes", name)
        except errors.NotFound:
            pass

    def node_lookup(self, name: str):
        """The NodeLookup the controller-manager gets: node name -> handle or None."""
        return self.handles.get(name)

    # --- stepping ------------------------------------------------------------------

    def step(self) -> Optional[float]:
        """Step every component once: the scheduler, the controller-manager, then each
        live kubelet by name. Returns the seconds until one of them next needs a step,
        or None."""
        dues = [self.scheduler.step()]
        if self.controller_manager is not None:
            dues.append(self.controller_manager.step())
        for name in sorted(self.handles):
            dues.append(self.handles[name].step())
        dues = [d for d in dues if d is not None]
        return max(0.0, min(dues)) if dues else None

    def run_until(self, predicate: Callable[[], bool], max_steps: int = 1000,
                  advance: float = 1.0) -> int:
        """Step until predicate() holds; returns the number of steps taken. When no
        component has work now, the clock moves to the next due time, at most
        `advance` seconds (a real clock sleeps instead)."""
        if predicate():
            return 0
        start = self.clock.monotonic()
        for steps in range(1, max_steps + 1):
            due = self.step()
            if predicate():
                return steps
            if due is None or due > 0:
                self.clock.sleep(advance if due is None else min(due, advance))
        raise StepBudgetExhausted(
            f"condition not met after {max_steps} steps "
            f"({self.clock.monotonic() - start:g}s of clock time); {self.describe()}")

    def describe(self) -> str:
        """Every pod with its node, phase and the reasons its containers wait, and
        every node's handle state: what a failing test needs to know."""
        lines = []
        for pod in self.client.list("pods").items:
            meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
            why = sorted({(cs.get("state") or {}).get("waiting", {}).get("reason", "")
                          for cs in status.get("containerStatuses") or []} - {""})
            deleting = " (terminating)" if meta.get("deletionTimestamp") else ""
            lines.append(f"{meta.get('namespace')}/{meta['name']}: "
                         f"{status.get('phase', 'Pending')}{deleting} on "
                         f"{spec.get('nodeName') or '<unscheduled>'}"
                         + (f" [{', '.join(why)}]" if why else ""))
        nodes = ", ".join(f"{n}={h.ping(0)}" for n, h in sorted(self.handles.items()))
        return "pods: " + ("; ".join(lines) or "none") + f"; nodes: {nodes or 'none'}"

    # --- threads (real clock) ------------------------------------------------------

    def start_threads(self) -> None:
        """Run the scheduler, the controller-manager and every kubelet on its own
        thread (RealClock only)."""
        if isinstance(self.clock, FakeClock):
            raise RuntimeError("threads need a real clock: a FakeClock only moves in step()")
        if self._threads:
            return
        self._start_thread("scheduler", self.scheduler.run)
        if self.controller_manager is not None:
            self._start_thread("controller-manager", self.controller_manager.run)
        for name, handle in sorted(self.handles.items()):
            self._start_thread(f"kubelet-{name}", handle.run)

    def _start_thread(self, name: str, target) -> None:
        t = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def close(self) -> None:
        """Stop every thread, kubelet, container and server; remove the files."""
        self._stop.set()
        for t in self._threads:
            t.join(5)
        self._threads = []
        for name in sorted(self.handles):
            self.kubelets[name].stop()
            if name in self.servers:
                self.servers[name].stop()
            self.runtimes[name].shutdown()
        if self.httpd is not None:
            self.httpd.stopping.set()
            self.httpd.shutdown()
            self.httpd.server_close()
        self.store.close()
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> "LocalCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- pods/log without HTTP ---------------------------------------------------------

    def _in_process_logs(self, pod: dict, what: str, options: dict):
        """The node proxy of an in-process cluster: the kubelet object answers, and its
        errors become what kube-apiserver would make of the kubelet's HTTP answer."""
        if what != "log":
            raise errors.MethodNotAllowed(f"{what} is not supported by the kubelet proxy")
        container = validate_container(options.get("container") or "", pod)
        node = pod["spec"]["nodeName"]
        handle = self.handles.get(node)
        if handle is None or not handle.alive:
            raise _unreachable(node)
        kubelet = self.kubelets[node]
        meta = pod["metadata"]
        kwargs = {"previous": bool(options.get("previous")),
                  "tail_lines": options.get("tailLines"),
                  "since_seconds": options.get("sinceSeconds"),
                  "timestamps": bool(options.get("timestamps")),
                  "limit_bytes": options.get("limitBytes")}
        try:
            if options.get("follow"):
                return kubelet.follow_logs(meta["namespace"], meta["name"], container, **kwargs)
            data = kubelet.container_logs(meta["namespace"], meta["name"], container, **kwargs)
        except errors.APIError as e:
            raise kubelet_error(e.code, e.message, meta["name"]) from None
        return data.decode("utf-8", "replace")


def _unreachable(node: str) -> errors.APIError:
    err = errors.InternalError(f'Get "http://{node}/containerLogs": dial tcp {node}: '
                               "connect: connection refused")
    err.reason = "Unknown"
    return err
