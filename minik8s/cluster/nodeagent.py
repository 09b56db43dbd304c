"""What runs inside a node's Ray actor: a kubelet, its runtime, its HTTP server.

In Kubernetes a node is a machine running the kubelet (and a container runtime); the
kubelet talks to kube-apiserver over HTTPS and serves port 10250 for logs and exec. In
minik8s a node is a Ray actor, and this module is the plain Python inside it (Ray is
only the wrapper, in `raynodes.py`, so this runs and is tested without Ray):

- `NodeAgent`: one node. Its kubelet reaches the API server over HTTP
  (`HTTPClient`), runs containers with the process runtime (or the simulated one),
  and — once registered, when its Node has a podCIDR and so an address — serves the
  kubelet API on that address (the API server proxies `kubectl logs` there). One
  thread steps the kubelet. API errors never end that thread: when the API server is
  gone (crashed, restarting) each step fails fast, the loop backs off (≤ 2 s) and
  tries again, so the kubelet **reconnects** by itself, with its containers and its
  memory of them untouched.
- `NodeHost`: many simulated nodes in one actor (1000-node clusters: an actor costs
  ~50 MB, a simulated kubelet a few hundred KB). They share one HTTP client and one
  pod informer (one watch instead of one per node); one loop steps them all, each
  round on 8 threads (mostly waiting on HTTP: 88 -> 106 pods/s in the benchmark).
  Killing one node of a host kills that node only.

Both answer the NodeHandle questions (`ping`, `pause`, `resume`, `running_pods`) —
the Ray handle forwards them — and `info()` reports pids so `minik8s down` can be
checked to leave no process behind.
"""
from __future__ import annotations

import logging
import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from minik8s.api.clock import Clock, RealClock
from minik8s.api.nodehandle import DEAD
from minik8s.client.http import HTTPClient
from minik8s.node.handle import LocalNodeHandle
from minik8s.node.kubelet import Kubelet
from minik8s.node.podindex import PodsByNode
from minik8s.node.runtime import RUNNING
from minik8s.node.runtime_sim import SimulatedRuntime

log = logging.getLogger(__name__)

MAX_BACKOFF = 2.0        # seconds between attempts while the API server is away
IDLE = 0.2               # the longest a loop waits without looking again
STEP_THREADS = 8         # threads a NodeHost steps its kubelets on


def _step(handle) -> Optional[float]:
    """One kubelet's step in a host; its failure is its own (logged, retried soon)."""
    try:
        return handle.step()
    except Exception as e:
        log.warning("node %s: step failed: %s: %s", handle.name, type(e).__name__, e)
        return MAX_BACKOFF


def _backoff(failures: int) -> float:
    return min(0.1 * 2 ** min(failures, 5), MAX_BACKOFF)


class NodeAgent:
    """One node: `NodeAgent(name, server_url, root_dir=...)` starts stepping at once."""

    def __init__(self, name: str, server: str, *, root_dir: str, runtime: str = "process",
                 cpu: str = "4", memory: str = "8Gi", pods: int = 110,
                 labels: Optional[dict] = None, heartbeat_period: float = 10,
                 lease_duration: int = 40, seed: Optional[int] = None,
                 clock: Optional[Clock] = None, client=None, serve: bool = True):
        self.name = name
        self.clock = clock or RealClock()
        self.client = client or HTTPClient(server, timeout=10)
        rng = random.Random(seed if seed is not None else f"{name}/{os.getpid()}")
        root = os.path.join(root_dir, name)
        if runtime == "process":
            from minik8s.node.runtime_process import ProcessRuntime
            self.runtime = ProcessRuntime(os.path.join(root, "runtime"), self.clock)
        elif runtime == "simulated":
            self.runtime = SimulatedRuntime(self.clock, rng)
        else:
            raise ValueError(f"unknown runtime {runtime!r}: process or simulated")
        self.kubelet = Kubelet(self.client, self.clock, self.runtime, node_name=name,
                               cpu=cpu, memory=memory, pods=pods, labels=labels, rng=rng,
                               pod_root=os.path.join(root, "kubelet"),
                               heartbeat_period=heartbeat_period,
                               lease_duration=lease_duration)
        self.server = None
        self._serve = serve
        self.handle = LocalNodeHandle(self.kubelet, self.runtime)
        self.failures = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"kubelet-{name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set() and self.handle.ping(0) != DEAD:
            try:
                delay = self.handle.step()
                self._maybe_serve()
                self.failures, self.last_error = 0, ""
            except Exception as e:          # the API server is away, or a bug: keep going
                self.failures += 1
                self.last_error = f"{type(e).__name__}: {e}"
                delay = _backoff(self.failures)
                if self.failures in (1, 10) or self.failures % 100 == 0:
                    log.warning("node %s: step failed (%d in a row): %s", self.name,
                                self.failures, self.last_error)
            self.clock.wait(self._stop, IDLE if delay is None else min(max(delay, 0.01), IDLE))

    def _maybe_serve(self) -> None:
        """Serve the kubelet API once the Node has an address (its podCIDR's .1)."""
        if self._serve and self.server is None and self.kubelet.node_ip:
            from minik8s.node.server import KubeletServer
            self.server = KubeletServer(self.kubelet, self.kubelet.node_ip, 0).start()
            self.handle.server = self.server
            self.kubelet.kubelet_port = self.server.port

    # --- what the Ray handle forwards ---------------------------------------------------
    def ping(self) -> str:
        return self.handle.ping(0)

    def pause(self) -> None:
        self.handle.pause()

    def resume(self) -> None:
        self.handle.resume()

    def running_pods(self) -> list:
        return [(p.namespace, p.name, p.uid) for p in self.handle.running_pods()]

    def info(self) -> dict:
        return {"name": self.name, "pid": os.getpid(), "state": self.handle.ping(0),
                "registered": self.kubelet.node_ip != "", "nodeIP": self.kubelet.node_ip,
                "kubeletPort": self.server.port if self.server else 0,
                "containers": self._container_pids(),
                "failures": self.failures, "lastError": self.last_error}

    def _container_pids(self) -> dict:
        """{"namespace/pod": [pid, ...]} of the running containers, by the runtime."""
        out: dict = {}
        for st in self.runtime.list():
            if st.state == RUNNING and st.pid:
                out.setdefault(f"{st.pod_namespace}/{st.pod_name}", []).append(st.pid)
        return out

    def ready(self) -> bool:
        """Registered and serving (what `minik8s up` waits for)."""
        return bool(self.kubelet.node_ip) and (self.server is not None or not self._serve)

    def shutdown(self) -> None:
        """A clean stop (`minik8s down`): the kubelet stops, every container is killed,
        the server closes. A crash is `kill()` on the handle, or killing the actor."""
        self._stop.set()
        self._thread.join(5)
        self.handle.kill()


class NodeHost:
    """Many simulated nodes in one process, stepped by one thread."""

    def __init__(self, server: str, *, cpu: str = "4", memory: str = "8Gi", pods: int = 110,
                 labels: Optional[dict] = None, heartbeat_period: float = 10,
                 lease_duration: int = 40, seed: int = 0, clock: Optional[Clock] = None,
                 client=None):
        self.clock = clock or RealClock()
        self.client = client or HTTPClient(server, timeout=10)
        self.options = dict(cpu=cpu, memory=memory, pods=pods, labels=labels,
                            heartbeat_period=heartbeat_period, lease_duration=lease_duration)
        self.seed = seed
        self._lock = threading.Lock()
        self.handles: dict = {}               # node name -> LocalNodeHandle
        self.pods = PodsByNode(self.client, self.clock)   # one watch for every node
        self.failures = 0
        self._steppers = ThreadPoolExecutor(max_workers=STEP_THREADS,
                                            thread_name_prefix="kubelet-step")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="node-host", daemon=True)
        self._thread.start()

    def add(self, names: list) -> None:
        """Start nodes `names` (registered by the loop, one API call each)."""
        with self._lock:
            for name in names:
                if name in self.handles:
                    continue
                rng = random.Random(f"{self.seed}/{name}")
                runtime = SimulatedRuntime(self.clock, rng)
                kubelet = Kubelet(self.client, self.clock, runtime, node_name=name, rng=rng,
                                  informer=self.pods.view(name),
                                  **self.options)
                self.handles[name] = LocalNodeHandle(kubelet, runtime)

    def _loop(self) -> None:
        while not self._stop.is_set():
            dues = []
            try:
                dues.append(self.pods.step())
                with self._lock:
                    handles = list(self.handles.values())
                # Kubelets are independent: step them on a few threads, so one node's
                # HTTP round trips overlap another's (the work is mostly waiting).
                dues.extend(self._steppers.map(_step, handles))
                self.failures = 0
            except Exception as e:
                self.failures += 1
                dues = [_backoff(self.failures)]
                if self.failures in (1, 10):
                    log.warning("node host: step failed: %s: %s", type(e).__name__, e)
            dues = [d for d in dues if d is not None]
            self.clock.wait(self._stop, min(max(min(dues, default=IDLE), 0.01), IDLE))

    # --- per node, for the handles -------------------------------------------------------
    def names(self) -> list:
        return sorted(self.handles)

    def ping(self, names: Optional[list] = None) -> dict:
        """{name: state} for `names` (all by default): one call for a whole host."""
        return {n: (self.handles[n].ping(0) if n in self.handles else DEAD)
                for n in (names if names is not None else self.names())}

    def kill(self, name: str) -> None:
        self.handles[name].kill()

    def pause(self, name: str) -> None:
        self.handles[name].pause()

    def resume(self, name: str) -> None:
        self.handles[name].resume()

    def running_pods(self, name: str) -> list:
        return [(p.namespace, p.name, p.uid) for p in self.handles[name].running_pods()]

    def ready(self) -> int:
        """How many of its nodes are registered."""
        return sum(1 for h in list(self.handles.values()) if h.kubelet.node_ip)

    def info(self) -> dict:
        return {"pid": os.getpid(), "nodes": len(self.handles), "ready": self.ready(),
                "failures": self.failures}

    def shutdown(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._steppers.shutdown(wait=False)
        for h in list(self.handles.values()):
            h.kill()
