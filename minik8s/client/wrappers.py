"""Client wrappers for tests: one that records every call, one that injects faults.

In Kubernetes, controller unit tests (sample-controller's `controller_test.go`) run a
controller against client-go's *fake* clientset and then assert the list of actions it
issued: "reconcile of foo created one Deployment and updated foo's status". And
robustness tests break the network under a controller: requests fail, watches are
cut, caches lag behind. These two wrappers give minik8s both, over *any* client (so
over the real API server pipeline, not a hand-written fake):

- `RecordingClient` forwards every call and appends an `Action` to `.actions` first
  (so failed calls are recorded too). Reads are recorded as well; filter with
  `actions_of(verb, resource)`. Verbs are client-go's: get, list, watch, create,
  update, patch, delete; subresources appear as e.g. ("create", "pods", "binding").
- `FaultClient` can fail the next N matching calls with a typed error, hold or delay
  the events of its watch streams, serve reads from a snapshot frozen in the past
  (stale caches), and break its open watches (plainly, or with a 410 so the consumer
  must relist).

Both are Clients themselves, so they stack: RecordingClient(FaultClient(client)).
"""
from __future__ import annotations

import copy
import random
import threading
from dataclasses import dataclass
from typing import Optional

from ..api.errors import APIError, Gone, NotFound, not_found
from ..api.meta import get_path
from ..api.registry import REGISTRY
from ..api.selectors import parse_field_selector, parse_label_selector
from .interface import ERROR, ListResult, WatchEvent


@dataclass(frozen=True)
class Action:
    verb: str                 # get | list | watch | create | update | patch | delete
    resource: str             # plural: "pods", "deployments"
    namespace: str = ""       # "" for cluster-scoped objects and all-namespace lists
    name: str = ""
    subresource: str = ""     # "status", "scale", "binding", "eviction", "log"
    body: object = None       # the object or patch sent (a deep copy)
    options: Optional[dict] = None   # patch_type, selectors, delete options, ...


def plural_of(resource: str) -> str:
    try:
        return REGISTRY.lookup(resource).plural
    except NotFound:
        return resource


def _plural_for(obj: dict) -> str:
    try:
        return REGISTRY.for_object(obj).plural
    except NotFound:
        return (obj.get("kind") or "").lower() + "s"


def _opts(**kw) -> Optional[dict]:
    # Keep what was actually asked for; 0 can be meaningful (grace_period_seconds=0).
    kept = {k: v for k, v in kw.items() if not (v is None or v is False or v == "")}
    return kept or None


class _Forwarding:
    """Every Client method, described as an Action and passed to `_call`."""

    def __init__(self, inner):
        self.inner = inner

    def _call(self, action: Action, fn):
        return fn()

    def __getattr__(self, name):       # anything beyond the protocol (e.g. .server)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def get(self, resource, name, namespace=None):
        return self._call(Action("get", plural_of(resource), namespace or "", name),
                          lambda: self.inner.get(resource, name, namespace))

    def list(self, resource, namespace=None, *, label_selector="", field_selector="",
             resource_version="", limit=0, continue_token=""):
        act = Action("list", plural_of(resource), namespace or "", options=_opts(
            label_selector=label_selector, field_selector=field_selector,
            resource_version=resource_version, limit=limit or None,
            continue_token=continue_token))
        return self._call(act, lambda: self.inner.list(
            resource, namespace, label_selector=label_selector, field_selector=field_selector,
            resource_version=resource_version, limit=limit, continue_token=continue_token))

    def watch(self, resource, namespace=None, *, resource_version="", label_selector="",
              field_selector="", allow_bookmarks=False, timeout_seconds=None):
        act = Action("watch", plural_of(resource), namespace or "", options=_opts(
            resource_version=resource_version, label_selector=label_selector,
            field_selector=field_selector, allow_bookmarks=allow_bookmarks,
            timeout_seconds=timeout_seconds))
        return self._call(act, lambda: self.inner.watch(
            resource, namespace, resource_version=resource_version,
            label_selector=label_selector, field_selector=field_selector,
            allow_bookmarks=allow_bookmarks, timeout_seconds=timeout_seconds))

    def create(self, obj, namespace=None, *, dry_run=False):
        meta = obj.get("metadata") or {}
        act = Action("create", _plural_for(obj), namespace or meta.get("namespace") or "",
                     meta.get("name") or "", body=copy.deepcopy(obj), options=_opts(dry_run=dry_run))
        return self._call(act, lambda: self.inner.create(obj, namespace, dry_run=dry_run))

    def update(self, obj, *, dry_run=False):
        return self._call(self._put_action(obj, "", dry_run),
                          lambda: self.inner.update(obj, dry_run=dry_run))

    def update_status(self, obj):
        return self._call(self._put_action(obj, "status", False),
                          lambda: self.inner.update_status(obj))

    def finalize(self, namespace):
        return self._call(self._put_action(namespace, "finalize", False),
                          lambda: self.inner.finalize(namespace))

    @staticmethod
    def _put_action(obj, subresource, dry_run):
        meta = obj.get("metadata") or {}
        return Action("update", _plural_for(obj), meta.get("namespace") or "",
                      meta.get("name") or "", subresource, copy.deepcopy(obj),
                      _opts(dry_run=dry_run))

    def patch(self, resource, name, patch, namespace=None, *, patch_type="merge",
              subresource="", dry_run=False):
        act = Action("patch", plural_of(resource), namespace or "", name, subresource,
                     copy.deepcopy(patch), _opts(patch_type=patch_type, dry_run=dry_run))
        return self._call(act, lambda: self.inner.patch(
            resource, name, patch, namespace, patch_type=patch_type,
            subresource=subresource, dry_run=dry_run))

    def delete(self, resource, name, namespace=None, *, propagation_policy="",
               grace_period_seconds=None, preconditions=None, dry_run=False):
        act = Action("delete", plural_of(resource), namespace or "", name, options=_opts(
            propagation_policy=propagation_policy, preconditions=preconditions,
            grace_period_seconds=grace_period_seconds, dry_run=dry_run))
        return self._call(act, lambda: self.inner.delete(
            resource, name, namespace, propagation_policy=propagation_policy,
            grace_period_seconds=grace_period_seconds, preconditions=preconditions,
            dry_run=dry_run))

    def bind(self, namespace, pod_name, node_name, *, pod_uid=""):
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": pod_name, "namespace": namespace,
                             **({"uid": pod_uid} if pod_uid else {})},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}
        return self._call(Action("create", "pods", namespace, pod_name, "binding", body),
                          lambda: self.inner.bind(namespace, pod_name, node_name,
                                                  pod_uid=pod_uid))

    def get_scale(self, resource, name, namespace):
        return self._call(Action("get", plural_of(resource), namespace, name, "scale"),
                          lambda: self.inner.get_scale(resource, name, namespace))

    def scale(self, resource, name, namespace, replicas):
        act = Action("patch", plural_of(resource), namespace, name, "scale",
                     {"spec": {"replicas": replicas}})
        return self._call(act, lambda: self.inner.scale(resource, name, namespace, replicas))

    def evict(self, namespace, pod_name, *, grace_period_seconds=None):
        act = Action("create", "pods", namespace, pod_name, "eviction",
                     options=_opts(grace_period_seconds=grace_period_seconds))
        return self._call(act, lambda: self.inner.evict(
            namespace, pod_name, grace_period_seconds=grace_period_seconds))

    def log(self, namespace, pod_name, *, container="", tail_lines=None, previous=False):
        act = Action("get", "pods", namespace, pod_name, "log",
                     options=_opts(container=container, tail_lines=tail_lines, previous=previous))
        return self._call(act, lambda: self.inner.log(
            namespace, pod_name, container=container, tail_lines=tail_lines, previous=previous))


class RecordingClient(_Forwarding):
    """Records every call as an Action (before forwarding it) in `.actions`."""

    def __init__(self, inner):
        super().__init__(inner)
        self.actions: list = []

    def _call(self, action, fn):
        self.actions.append(action)
        return fn()

    def clear(self) -> None:
        self.actions.clear()

    def actions_of(self, verb: Optional[str] = None, resource: Optional[str] = None,
                   subresource: Optional[str] = None) -> list:
        res = plural_of(resource) if resource else None
        return [a for a in self.actions
                if (verb is None or a.verb == verb) and (res is None or a.resource == res)
                and (subresource is None or a.subresource == subresource)]

    def writes(self) -> list:
        """Every action that could change something (not get/list/watch)."""
        return [a for a in self.actions if a.verb not in ("get", "list", "watch")]


# --- faults ---------------------------------------------------------------------------

@dataclass
class _Rule:
    remaining: Optional[int]     # None: unlimited (with a probability)
    error: object                # an APIError instance or class
    verbs: Optional[frozenset]
    resource: Optional[str]
    probability: float = 1.0

    def matches(self, action: Action) -> bool:
        return ((self.verbs is None or action.verb in self.verbs)
                and (self.resource is None or action.resource == self.resource))


class FaultClient(_Forwarding):
    """A client that misbehaves on request. See the module docstring."""

    def __init__(self, inner, rng: Optional[random.Random] = None):
        super().__init__(inner)
        self.rng = rng or random.Random(0)
        self._rules: list = []
        self._lock = threading.Lock()
        self._streams: list = []
        self._hold = False
        self._delay = 0
        self._frozen: Optional[dict] = None    # plural -> ListResult, while frozen
        self.injected = 0                      # how many calls were failed on purpose

    # --- failing requests -----------------------------------------------------------
    def fail_next(self, n: int, error, verbs=None, resource: Optional[str] = None) -> None:
        """Raise `error` (an APIError instance or class) for the next `n` calls that
        match `verbs` (a verb or list of verbs) and `resource`."""
        if n > 0:
            self._rules.append(_Rule(n, error, _verbs(verbs), resource and plural_of(resource)))

    def fail_randomly(self, probability: float, error, verbs=None,
                      resource: Optional[str] = None) -> None:
        """Fail each matching call with `probability`, drawn from `rng`, until cleared."""
        self._rules.append(_Rule(None, error, _verbs(verbs), resource and plural_of(resource),
                                 probability))

    def clear_faults(self) -> None:
        self._rules.clear()

    def _call(self, action, fn):
        with self._lock:                       # rules are shared by every thread
            for rule in self._rules:
                if not rule.matches(action):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    raise self._error(rule.error, action)
                if self.rng.random() < rule.probability:
                    raise self._error(rule.error, action)
        if self._frozen is not None and action.verb in ("get", "list") \
                and not action.subresource:
            return self._frozen_read(action)
        return fn()

    def _error(self, error, action: Action) -> APIError:
        self.injected += 1
        if isinstance(error, type):
            return error(f"injected fault: {action.verb} {action.resource} {action.name}".strip(),
                         kind=action.resource, name=action.name)
        return copy.copy(error)   # a fresh instance: raising one object twice chains tracebacks

    # --- stale reads ----------------------------------------------------------------
    def freeze_reads(self) -> None:
        """From now on get/list answer from a snapshot taken (per resource) at the
        first read after this call, as a lagging cache would. Writes go through."""
        self._frozen = {}

    def unfreeze_reads(self) -> None:
        self._frozen = None

    def _frozen_read(self, a: Action):
        if a.resource not in self._frozen:
            self._frozen[a.resource] = self.inner.list(a.resource)
        snap, opts = self._frozen[a.resource], a.options or {}
        items = [copy.deepcopy(o) for o in snap.items
                 if (not a.namespace or get_path(o, "metadata", "namespace") == a.namespace)
                 and (a.verb == "list" or get_path(o, "metadata", "name") == a.name)
                 and _labels_match(o, opts.get("label_selector"))
                 and _fields_match(o, opts.get("field_selector"))]
        if a.verb == "list":
            return ListResult(items, snap.resource_version, snap.kind, snap.api_version)
        if not items:
            raise not_found(a.resource, a.name)
        return items[0]

    # --- watches ----------------------------------------------------------------------
    def watch(self, resource, namespace=None, **kw):
        stream = _FaultWatch(super().watch(resource, namespace, **kw), self)
        self._streams = [s for s in self._streams if not s.closed] + [stream]
        return stream

    def hold_watches(self) -> None:
        """Keep every event of this client's watch streams back until released."""
        self._hold = True

    def delay_watch_events(self, k: int) -> None:
        """Deliver only events that have at least `k` newer events behind them: the
        consumer lags `k` events behind the server."""
        self._delay = max(int(k), 0)

    def release_watches(self) -> None:
        self._hold, self._delay = False, 0

    def break_watches(self, gone: bool = False) -> None:
        """End every open watch stream, dropping undelivered events. With gone=True
        each stream first delivers a 410 Expired ERROR event (the consumer must relist);
        otherwise it just closes (the consumer resumes from its last resourceVersion)."""
        for s in self._streams:
            s.break_(gone)
        self._streams = []


class _FaultWatch:
    def __init__(self, inner, owner: FaultClient):
        self._inner = inner
        self._owner = owner
        self._buffer: list = []        # events read from inner, not yet delivered
        self._final: list = []         # the 410 ERROR of a broken stream
        self._broken = False

    @property
    def closed(self) -> bool:
        if self._broken:
            return not self._final
        return self._inner.closed and not self._buffer

    def poll(self) -> list:
        if self._broken:
            out, self._final = self._final, []
            return out
        self._buffer.extend(self._inner.poll())
        return self._deliverable()

    def wait(self, timeout) -> list:
        out = self.poll()
        if out or self.closed:
            return out
        self._buffer.extend(self._inner.wait(timeout))
        return self._deliverable()

    def _deliverable(self) -> list:
        if self._owner._hold:
            return []
        n = len(self._buffer) - self._owner._delay
        if n <= 0:
            return []
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def close(self) -> None:
        self._inner.close()
        self._buffer, self._final = [], []
        self._broken = True

    def break_(self, gone: bool) -> None:
        self._inner.close()
        self._buffer = []
        self._broken = True
        if gone:
            status = Gone("too old resource version (watch broken by FaultClient)").to_status()
            self._final = [WatchEvent(ERROR, status)]


def _verbs(verbs) -> Optional[frozenset]:
    if verbs is None:
        return None
    return frozenset([verbs] if isinstance(verbs, str) else verbs)


def _labels_match(obj: dict, label_selector: str) -> bool:
    return not label_selector or parse_label_selector(label_selector).matches(
        get_path(obj, "metadata", "labels") or {})


def _fields_match(obj: dict, field_selector: str) -> bool:
    return not field_selector or parse_field_selector(field_selector).matches(obj)
