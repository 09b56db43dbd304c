"""LocalNodeHandle: the "cloud provider" view of an in-process node.

In Kubernetes the node lifecycle controller learns about a node from its heartbeats
and from the cloud provider ("does this VM still exist?"); chaos tools kill VMs. The
NodeHandle protocol (minik8s.api.nodehandle) is that second channel. This is its
in-process implementation, for the simulator and the local cluster harness, where a
node is a Kubelet object plus its runtime, stepped by whoever owns them:

- `kill()` is a crash: the kubelet stops stepping (no more Lease renewals, no status
  writes, no clean-up of pods in the API) and every container dies with the runtime
  (`runtime.shutdown()`); its HTTP server, if any, goes too. A dead node stays dead.
- `pause()` is a hang or a network partition: the kubelet stops stepping, so its Lease
  goes stale, but its containers keep running; `resume()` picks up where it stopped.
- `running_pods()` asks the runtime, not the API, what really runs.

The harness steps a node through `handle.step()` (or runs it on a thread with
`handle.run(stop_event)`), so pausing and killing work the same in both modes.
"""
from __future__ import annotations

import threading
from typing import Optional

from minik8s.api.nodehandle import ALIVE, DEAD, HUNG, RunningPod
from .runtime import RUNNING


class LocalNodeHandle:
    def __init__(self, kubelet, runtime, *, server=None):
        self.kubelet = kubelet
        self.runtime = runtime
        self.server = server            # the node's KubeletServer, stopped on kill
        self.name = kubelet.node_name
        self._state = ALIVE
        self._lock = threading.Lock()

    # --- NodeHandle --------------------------------------------------------------

    def ping(self, timeout: float) -> str:
        return self._state

    def kill(self) -> None:
        with self._lock:
            if self._state == DEAD:
                return
            self._state = DEAD
        self.kubelet.stop()
        if self.server is not None:
            self.server.stop()
        self.runtime.shutdown()

    def pause(self) -> None:
        with self._lock:
            if self._state == ALIVE:
                self._state = HUNG

    def resume(self) -> None:
        with self._lock:
            if self._state == HUNG:
                self._state = ALIVE

    def running_pods(self) -> list[RunningPod]:
        """Pods with at least one running container, by the runtime's own account —
        which may differ from the API's (that difference is what self-healing repairs)."""
        if self._state == DEAD:
            return []
        out = {RunningPod(s.pod_namespace, s.pod_name, s.pod_uid)
               for s in self.runtime.list() if s.state == RUNNING}
        return sorted(out, key=lambda p: (p.namespace, p.name, p.uid))

    # --- for the harness ------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._state == ALIVE

    def step(self) -> Optional[float]:
        """One kubelet step, unless the node is paused or dead (then None)."""
        if self._state != ALIVE:
            return None
        return self.kubelet.step()

    def run(self, stop_event: threading.Event, idle: float = 0.2) -> None:
        """Step until stop_event is set or the node dies, waiting on the kubelet's
        clock in between (a real clock: this is for threads, not the simulator)."""
        clock = self.kubelet.clock
        while not stop_event.is_set() and self._state != DEAD:
            delay = self.step()
            clock.wait(stop_event, idle if delay is None else min(max(delay, 0.01), idle))
