"""What stands between each simulated component and the API server.

In a real cluster every component has its own connection to kube-apiserver: its own
watch streams, its own failures, its own lag. The simulator reproduces that by giving
each component its own client stack, outermost first:

    SimClient   traces every write (and, optionally, every read and every watch event
                delivered), counts writes down to an injected crash, and wraps watch
                streams in SimWatch so the harness can see which component has events
                waiting;
    FaultClient (minik8s.client.wrappers) fails requests, holds/delays watch events,
                serves frozen reads, breaks watches — switched by `sim.faults`;
    InProcessClient over a ServerProxy, whose target is the *current* APIServer: an
                API server restart swaps the target once for every component.

A crash is a `ComponentCrashed`, a BaseException: a controller's `except Exception`
(which turns reconcile errors into retries) must not swallow it. It is raised right
after the k-th write returns, so the write happened and the next one never will —
the component dies mid-reconcile, between two of its writes, as a killed process does.
"""
from __future__ import annotations

import copy
from typing import Optional

from minik8s.api.errors import APIError
from minik8s.api.registry import REGISTRY
from minik8s.client.wrappers import Action, _Forwarding

from .trace import DELIVERY, READ, WRITE, TraceEvent

READS = ("get", "list")


class ComponentCrashed(BaseException):
    """Raised inside a component's step to kill it (never caught by the component)."""


class ServerProxy:
    """Stands for "the API server" in every client; `target` is swapped on restart."""

    def __init__(self, target):
        self.target = target

    def handle(self, request):
        return self.target.handle(request)

    def __getattr__(self, name):
        if name == "target":
            raise AttributeError(name)
        return getattr(self.target, name)


class SimClient(_Forwarding):
    """Traces what one component (`name`) does. `sim` supplies the trace, the step
    number and the crash countdown (see the module docstring)."""

    def __init__(self, direct, sim, name: str, fault_client=None):
        super().__init__(direct)
        self.sim, self.name = sim, name
        # Requests go straight to `direct` (the InProcessClient) while no request or
        # read fault is on for us, through `fault_client` otherwise (route()); watches
        # always go through it, so they can be held, delayed and broken at any time.
        self.direct, self.fault_client = direct, fault_client
        self.streams: list = []           # open SimWatch streams, in opening order
        self.crash_after: Optional[int] = None
        self._opened = 0

    def _call(self, action: Action, fn):
        if action.verb in READS:
            if not self.sim.trace.reads:
                return fn()
        elif action.verb == "watch":
            self._opened += 1
            return self._watch(action, fn)
        if action.verb not in READS:
            for hook in self.sim.before_write:
                hook(self.name, action)
        try:
            result = fn()
        except APIError as e:
            self._trace(action, None, e.reason or type(e).__name__)
            self._count_write(action)
            raise
        self._trace(action, result, "ok")
        self._count_write(action)
        return result

    def route(self, through_faults: bool) -> None:
        self.inner = self.fault_client if through_faults and self.fault_client else self.direct

    def watch(self, resource, namespace=None, **kw):
        inner, self.inner = self.inner, self.fault_client or self.direct
        try:
            return super().watch(resource, namespace, **kw)
        finally:
            self.inner = inner

    # Writes without _Forwarding's deep copy of the body: the Action lives only for
    # the trace and the hooks, during the call (the InProcessClient copies anyway).
    def create(self, obj, namespace=None, *, dry_run=False):
        meta = obj.get("metadata") or {}
        act = Action("create", REGISTRY.for_object(obj).plural,
                     namespace or meta.get("namespace") or "", meta.get("name") or "",
                     body=obj, options={"dry_run": True} if dry_run else None)
        return self._call(act, lambda: self.inner.create(obj, namespace, dry_run=dry_run))

    def update(self, obj, *, dry_run=False):
        return self._call(self._put(obj, "", dry_run),
                          lambda: self.inner.update(obj, dry_run=dry_run))

    def update_status(self, obj):
        return self._call(self._put(obj, "status", False),
                          lambda: self.inner.update_status(obj))

    @staticmethod
    def _put(obj, subresource, dry_run):
        meta = obj.get("metadata") or {}
        return Action("update", REGISTRY.for_object(obj).plural, meta.get("namespace") or "",
                      meta.get("name") or "", subresource, obj,
                      {"dry_run": True} if dry_run else None)

    def _trace(self, action: Action, result, outcome: str) -> None:
        sim = self.sim
        meta = (result.get("metadata") or {}) if isinstance(result, dict) else {}
        if isinstance(result, dict) and result.get("kind") == "Status":
            meta = {"uid": (result.get("details") or {}).get("uid", "")}
        body = action.body if isinstance(action.body, dict) else {}
        body_meta = body.get("metadata") or {}
        detail = ""
        if action.subresource == "binding":     # where the scheduler put the pod
            detail = f"node={(body.get('target') or {}).get('name', '')}"
        kind = READ if action.verb in READS else WRITE
        event = TraceEvent(sim.steps, sim.clock.monotonic(), self.name, kind, action.verb,
                           action.resource + (f"/{action.subresource}" if action.subresource
                                              else ""),
                           action.namespace or meta.get("namespace") or
                           body_meta.get("namespace", ""),
                           action.name or body_meta.get("name", ""),
                           meta.get("uid") or body_meta.get("uid", ""),
                           meta.get("resourceVersion", ""), outcome, detail)
        sim.trace.record(event)
        if kind == WRITE:
            # A failed attempt counts as activity too: a component retrying forever
            # has not converged.
            if not event.is_heartbeat():
                sim.note_change()
            for hook in sim.after_write:
                hook(event, action, result)

    def _count_write(self, action: Action) -> None:
        if action.verb in READS or self.crash_after is None:
            return
        self.crash_after -= 1
        if self.crash_after <= 0:
            self.crash_after = None
            raise ComponentCrashed(f"{self.name} crashed after {action.verb} "
                                   f"{action.resource} {action.name}".strip())

    def _watch(self, action: Action, fn):
        opts = action.options or {}
        sel = ",".join(opts[k] for k in ("label_selector", "field_selector") if opts.get(k))
        label = f"{action.resource}{'?' + sel if sel else ''}#{self._opened}"
        try:
            inner = fn()
        except APIError as e:
            self._trace(action, None, e.reason or type(e).__name__)
            raise
        stream = SimWatch(inner, self, label)
        self.streams = [s for s in self.streams if not s.consumer_closed] + [stream]
        return stream

    def close_streams(self) -> None:
        for s in self.streams:
            s.close()
        self.streams = []

    def has_events(self) -> bool:
        """True when one of our streams has events (or an end) for the consumer."""
        return any(s.pump() for s in self.streams if not s.consumer_closed)


class SimWatch:
    """A watch stream the harness can look into: `pump()` pulls what the layers below
    let through (FaultClient's hold/delay apply) into a buffer without delivering it;
    the component's own `poll()` delivers the buffer, each event traced."""

    def __init__(self, inner, owner: SimClient, label: str):
        self._inner, self._owner, self.label = inner, owner, label
        self._buffer: list = []
        self.consumer_closed = False

    def pump(self) -> bool:
        if not self._inner.closed:
            self._buffer.extend(self._inner.poll())
        return bool(self._buffer) or self._inner.closed

    def poll(self) -> list:
        self.pump()
        sim = self._owner.sim
        if sim.interleave_events and len(self._buffer) > 1:
            n = sim.delivery_rng.randint(1, len(self._buffer))
            out, self._buffer = self._buffer[:n], self._buffer[n:]
        else:
            out, self._buffer = self._buffer, []
        if self._inner.closed and not self._buffer:
            # The consumer now sees the end; informers drop an ended stream without
            # closing it, and an end must wake the consumer once, not forever.
            self.consumer_closed = True
        if out and sim.trace.deliveries:
            for ev in out:
                meta = (ev.object or {}).get("metadata") or {}
                sim.trace.record(TraceEvent(
                    sim.steps, sim.clock.monotonic(), self._owner.name, DELIVERY, ev.type,
                    self.label.partition("?")[0].partition("#")[0], meta.get("namespace", ""),
                    meta.get("name", ""), meta.get("uid", ""),
                    meta.get("resourceVersion", ""), detail=self.label))
        return out

    def wait(self, timeout) -> list:
        return self.poll()      # simulated components never block

    @property
    def closed(self) -> bool:
        return self._inner.closed and not self._buffer

    def close(self) -> None:
        self.consumer_closed = True
        self._buffer = []
        self._inner.close()


class ScriptedClient:
    """The test's own client ("user"): every write is also appended to the replay
    script (method, args, kwargs), so a run can be replayed from its script alone."""

    WRITES = frozenset({"create", "update", "update_status", "patch", "delete", "bind",
                        "scale", "evict"})

    def __init__(self, inner: SimClient, script):
        self._inner, self._script = inner, script

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if name not in self.WRITES:
            return attr

        def recorded(*args, **kwargs):
            self._script.add("client", name, copy.deepcopy(list(args)),
                             copy.deepcopy(kwargs))
            return attr(*args, **kwargs)
        return recorded
