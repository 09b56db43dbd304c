"""The controller-manager: every controller in one component.

In Kubernetes, kube-controller-manager is one binary running dozens of controllers
(replicaset, deployment, garbagecollector, namespace, nodelifecycle, podgc, ...) that
share one informer factory, so each kind is listed and watched once however many
controllers read it. With `--leader-elect` (the default there) several copies run for
high availability and only the holder of the Lease kube-system/kube-controller-manager
reconciles; the others keep their caches warm and wait.

This ControllerManager does the same with the controllers of minik8s.controllers:
one InformerSet for all of them, one EventRecorder per controller (so `kubectl get
events` shows e.g. `replicaset-controller` as the source), and an optional
LeaderElector. `step()` steps the informers (always), the elector, and then — when
leading — each controller's queue; it returns when something is next due. `run()`
loops around `step()` on a thread; under the simulator nothing else ever waits.

Controllers are imported lazily from `CONTROLLERS`, so a controller module that
fails to import only loses that controller (it is logged and listed in `failed`).
`options` carries keyword options (node_monitor_grace_period, dead_node_grace,
terminated_pod_gc_threshold, ...) to the controllers whose constructors take them.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import socket
import threading
from typing import Callable, Optional

from ..api.meta import new_uid
from ..client.events import EventRecorder
from ..client.leaderelection import LeaderElector
from .base import InformerSet

log = logging.getLogger(__name__)

LEASE_NAME, LEASE_NAMESPACE = "kube-controller-manager", "kube-system"


def _lazy(module: str, cls: str) -> Callable[[], type]:
    return lambda: getattr(importlib.import_module(f"minik8s.controllers.{module}"), cls)


# name -> a function returning the controller class (imported only when asked for).
CONTROLLERS: dict = {
    "replicaset": _lazy("replicaset", "ReplicaSetController"),
    "deployment": _lazy("deployment", "DeploymentController"),
    "garbagecollector": _lazy("garbagecollector", "GarbageCollector"),
    "namespace": _lazy("namespace", "NamespaceController"),
    "nodelifecycle": _lazy("nodelifecycle", "NodeLifecycleController"),
    "podgc": _lazy("podgc", "PodGCController"),
}

# The event source each controller signs with in Kubernetes (`kubectl get events`).
EVENT_SOURCES = {"nodelifecycle": "node-controller",
                 "garbagecollector": "garbage-collector-controller",
                 "podgc": "pod-garbage-collector"}


class ControllerManager:
    poll_interval = 0.05    # run(): the longest a thread sleeps before looking again

    def __init__(self, client, clock, rng, *, controllers: Optional[list] = None,
                 leader_elect: bool = False, identity: Optional[str] = None,
                 node_lookup=None, options: Optional[dict] = None):
        self.client, self.clock, self.rng = client, clock, rng
        self.informers = InformerSet(client, clock)
        self.controllers: dict = {}           # name -> controller, in CONTROLLERS order
        self.failed: dict = {}                # name -> why it could not be started
        options = dict(options or {})
        used: set = set()
        names = list(CONTROLLERS) if controllers is None else list(controllers)
        for name in names:
            if name not in CONTROLLERS:
                raise ValueError(f"unknown controller {name!r}; known: {', '.join(CONTROLLERS)}")
            try:
                cls = CONTROLLERS[name]()
            except ImportError as e:
                if controllers is not None:
                    raise                     # asked for by name: say so loudly
                log.error("controller %s is not available: %s", name, e)
                self.failed[name] = e
                continue
            kwargs = {"informers": self.informers, "rng": rng,
                      "recorder": EventRecorder(client, clock,
                                                EVENT_SOURCES.get(name, f"{name}-controller"))}
            accepted = inspect.signature(cls).parameters
            if "node_lookup" in accepted:
                kwargs["node_lookup"] = node_lookup
            for key, value in options.items():
                if key in accepted:
                    kwargs[key] = value
                    used.add(key)
            self.controllers[name] = cls(client, clock, **kwargs)
        for key in sorted(set(options) - used):
            log.warning("controller-manager option %s is taken by no running controller", key)
        self.elector: Optional[LeaderElector] = None
        if leader_elect:
            self.elector = LeaderElector(
                client, clock, name=LEASE_NAME, namespace=LEASE_NAMESPACE,
                identity=identity or f"{socket.gethostname()}_{new_uid(rng)}")

    @property
    def is_leader(self) -> bool:
        return self.elector is None or self.elector.is_leader

    def step(self) -> Optional[float]:
        """Informers catch up; when leading (and every cache has synced), every
        controller reconciles what is ready. Seconds until something is due, or None."""
        dues = [self.informers.step()]
        if self.elector is not None:
            dues.append(self.elector.step())
        # WaitForCacheSync: acting on a half-filled cache would, e.g., create pods that
        # exist but were not listed yet.
        if self.is_leader and self.informers.has_synced():
            for controller in self.controllers.values():
                dues.append(controller.step())
        dues = [d for d in dues if d is not None]
        return max(0.0, min(dues)) if dues else None

    def run(self, stop_event: threading.Event) -> None:
        """Step until `stop_event` is set; release the Lease on the way out so a
        standby takes over at once."""
        try:
            while not stop_event.is_set():
                due = self.step()
                wait = self.poll_interval if due is None else min(due, self.poll_interval)
                if wait > 0 and not stop_event.is_set():
                    self.clock.wait(stop_event, wait)
        finally:
            if self.elector is not None:
                self.elector.release()

    def __getitem__(self, name: str):
        return self.controllers[name]
