"""Informers: a component's local, always-catching-up copy of one kind of object.

In Kubernetes a controller never polls the API server. client-go's SharedIndexInformer
*lists* the objects once, remembers the list's resourceVersion, then *watches* from
that version, applying every ADDED/MODIFIED/DELETED event to a local cache and telling
registered handlers (which, in a controller, only enqueue keys). Reads go to the cache.
When the watch ends it resumes from the last resourceVersion it saw; when the server
says that version is too old (410 Gone: history was compacted) it lists again
("relist") and works out what changed while it was not looking.

This version keeps exactly that: list, watch, resume, relist on 410, periodic resync,
handlers, and a cache keyed `namespace/name`. It is one class with no threads:
`step()` does what is ready now (the simulator calls it), `run(stop_event)` loops
around it for a thread. Left out: the DeltaFIFO between watch and cache (handlers are
called directly, in event order), indexers other than the key, sharing one informer
between controllers (the factory), paginated lists, and reflector jitter.

Differences worth knowing:
- on relist, objects whose resourceVersion did not change get no on_update (client-go
  sends one for every object); objects that vanished while we were not watching get
  on_delete with the *last state we saw*. client-go wraps that object in a
  `DeletedFinalStateUnknown` tombstone; here handlers get the plain object, which may
  be stale — a handler should only take its key.
- a handler added after the informer synced is sent on_add for every cached object,
  as client-go does, so late handlers do not miss the initial state.

!! THE CACHE IS SHARED. `get`, `list` and every handler receive the cached dicts
!! themselves, not copies (copying every object on every read is what makes real
!! informers slow). Never mutate one: deep-copy (`minik8s.api.meta.deepcopy`) first.

Invariant: after each step, the cache equals the server's state at
`last_sync_resource_version` as seen through the selectors (events are applied in
resourceVersion order, and a relist replaces the cache wholesale).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable, Optional

from ..api.clock import Clock
from ..api.errors import APIError, Gone
from ..api.meta import get_path, key_of
from ..api.selectors import parse_label_selector, selector_from_dict, selector_from_set
from .interface import ADDED, BOOKMARK, DELETED, ERROR, MODIFIED, Client

log = logging.getLogger(__name__)

# client-go's reflector backs off list/watch failures from 800 ms up to 30 s.
BACKOFF_INITIAL = 0.8
BACKOFF_MAX = 30.0


@dataclass(frozen=True)
class Handler:
    on_add: Optional[Callable] = None         # on_add(obj)
    on_update: Optional[Callable] = None      # on_update(old, new)
    on_delete: Optional[Callable] = None      # on_delete(obj)


class Informer:
    """A list+watch cache of one resource (optionally one namespace, filtered by
    selectors), telling handlers about every change."""

    poll_interval = 1.0   # run(): the longest a thread blocks before checking stop_event

    def __init__(self, client: Client, resource: str, namespace: Optional[str] = None, *,
                 label_selector: str = "", field_selector: str = "",
                 resync_period: Optional[float] = None, clock: Clock):
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resync_period = resync_period or None
        self.clock = clock
        self._lock = threading.Lock()      # guards _cache against readers in other threads
        self._cache: dict = {}             # key -> object (shared, never mutated)
        self._handlers: list = []
        self._watch = None
        self._rv = ""                      # last resourceVersion seen (list, event, bookmark)
        self._synced = False
        self._need_relist = True
        self._next_resync: Optional[float] = None
        self._retry_at: Optional[float] = None
        self._failures = 0
        self.last_error: Optional[BaseException] = None
        self.relists = 0                   # how many lists were made (1 = only the first)

    # --- handlers ---------------------------------------------------------------------
    def add_handler(self, on_add=None, on_update=None, on_delete=None) -> Handler:
        h = Handler(on_add, on_update, on_delete)
        self._handlers.append(h)
        if self._synced and on_add:
            for obj in self._snapshot():
                on_add(obj)
        return h

    def _notify_add(self, obj):
        for h in self._handlers:
            if h.on_add:
                h.on_add(obj)

    def _notify_update(self, old, new):
        for h in self._handlers:
            if h.on_update:
                h.on_update(old, new)

    def _notify_delete(self, obj):
        for h in self._handlers:
            if h.on_delete:
                h.on_delete(obj)

    # --- the list/watch loop ------------------------------------------------------------
    def step(self) -> Optional[float]:
        """Do everything that is ready now; return seconds until the next thing
        (resync or a retry after a failure), or None if only new events can wake us."""
        if self._retry_at is None or self.clock.monotonic() >= self._retry_at:
            self._retry_at = None
            self._sync_with_server()
        self._maybe_resync()
        return self._next_wakeup()

    def _sync_with_server(self, first_events: Optional[list] = None) -> None:
        # A few rounds: a watch that ended (cleanly, or with 410 -> relist) is replaced
        # at once and may already hold events; the bound keeps a stream that always
        # ends at once from spinning forever inside one step.
        for _ in range(5):
            if self._need_relist and not self._relist():
                return
            if self._watch is None and not self._open_watch():
                if self._need_relist:
                    continue               # the watch said 410: relist right away
                return
            try:
                events = first_events if first_events is not None else self._watch.poll()
            except APIError as e:          # an HTTP stream can fail mid-read
                self._drop_watch()
                self._failed("watch", e)
                return
            first_events = None
            if not self._apply_events(events):
                return
            if self._watch is not None and not self._watch.closed:
                return
            self._watch = None             # it ended: resume from self._rv, or relist

    def _relist(self) -> bool:
        self._drop_watch()
        try:
            result = self.client.list(self.resource, self.namespace,
                                      label_selector=self.label_selector,
                                      field_selector=self.field_selector)
        except APIError as e:
            self._failed("list", e)
            return False
        self.relists += 1
        self._need_relist = False
        self._rv = result.resource_version
        self._replace(result.items)
        if not self._synced:
            self._synced = True
            if self.resync_period:
                self._next_resync = self.clock.monotonic() + self.resync_period
        self._succeeded()
        return True

    def _replace(self, items: list) -> None:
        """Swap in a fresh list and tell handlers what changed since the old cache."""
        fresh = {key_of(obj): obj for obj in items}
        with self._lock:
            old, self._cache = self._cache, fresh
        for key, obj in fresh.items():
            before = old.get(key)
            if before is None:
                self._notify_add(obj)
            elif _rv_of(before) != _rv_of(obj):
                self._notify_update(before, obj)
        for key, before in old.items():
            if key not in fresh:
                self._notify_delete(before)     # the last state we saw (a tombstone)

    def _open_watch(self) -> bool:
        try:
            self._watch = self.client.watch(self.resource, self.namespace,
                                            resource_version=self._rv,
                                            label_selector=self.label_selector,
                                            field_selector=self.field_selector,
                                            allow_bookmarks=True)
        except Gone:
            self._expired("watch raised Gone")
            return False
        except APIError as e:
            self._failed("watch", e)
            return False
        return True

    def _apply_events(self, events: list) -> bool:
        """Apply events to the cache in order. False if the watch failed."""
        for ev in events:
            if ev.type == ERROR:
                return self._watch_error(ev.object)
            obj = ev.object
            rv = _rv_of(obj)
            if rv:
                self._rv = rv
            if ev.type == BOOKMARK:
                continue
            key = key_of(obj)
            if ev.type in (ADDED, MODIFIED):
                with self._lock:
                    old = self._cache.get(key)
                    self._cache[key] = obj
                if old is None:
                    self._notify_add(obj)
                else:
                    self._notify_update(old, obj)
            elif ev.type == DELETED:
                with self._lock:
                    self._cache.pop(key, None)
                self._notify_delete(obj)
        if events:
            self._succeeded()              # a watch that delivers resets the backoff
        return True

    def _watch_error(self, status: dict) -> bool:
        self._drop_watch()
        if status.get("code") == 410:
            self._expired(status.get("message", ""))
            return True
        self._failed("watch", APIError.from_status(status))
        return False

    def _expired(self, why: str) -> None:
        # Our resourceVersion was compacted away: only a fresh list can catch up.
        log.info("informer %s: watch expired (%s); relisting", self.resource, why)
        self._drop_watch()
        self._need_relist = True

    def _drop_watch(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def _failed(self, what: str, err: BaseException) -> None:
        self.last_error = err
        self._failures += 1
        delay = min(BACKOFF_INITIAL * 2 ** min(self._failures - 1, 16), BACKOFF_MAX)
        self._retry_at = self.clock.monotonic() + delay
        log.warning("informer %s: %s failed (%s); retrying in %.1fs",
                    self.resource, what, err, delay)

    def _succeeded(self) -> None:
        self._failures = 0

    # --- resync -------------------------------------------------------------------------
    def _maybe_resync(self) -> None:
        now = self.clock.monotonic()
        if self._next_resync is None or now < self._next_resync:
            return
        # A late step resyncs once, then keeps the period (no burst of catch-ups).
        self._next_resync += self.resync_period
        if self._next_resync <= now:
            self._next_resync = now + self.resync_period
        for obj in self._snapshot():
            self._notify_update(obj, obj)

    def _next_wakeup(self) -> Optional[float]:
        now = self.clock.monotonic()
        times = [t - now for t in (self._next_resync, self._retry_at) if t is not None]
        return max(min(times), 0.0) if times else None

    def run(self, stop_event: threading.Event) -> None:
        """Step until `stop_event` is set, blocking on the watch in between."""
        while not stop_event.is_set():
            delay = self.step()
            if stop_event.is_set():
                break
            timeout = self.poll_interval if delay is None else min(delay, self.poll_interval)
            if self._watch is not None and self._retry_at is None:
                events = self._watch.wait(timeout)
                if events:
                    self._sync_with_server(first_events=events)
            else:
                self.clock.wait(stop_event, timeout)

    # --- reading the cache --------------------------------------------------------------
    def has_synced(self) -> bool:
        """True once the first list is in the cache and handlers have seen it."""
        return self._synced

    @property
    def last_sync_resource_version(self) -> str:
        return self._rv

    def get(self, key: str) -> Optional[dict]:
        """The cached object for `namespace/name` (or `name`), or None. Do not mutate."""
        with self._lock:
            return self._cache.get(key)

    def get_by_name(self, namespace: Optional[str], name: str) -> Optional[dict]:
        return self.get(f"{namespace}/{name}" if namespace else name)

    def list(self, namespace: Optional[str] = None, selector=None) -> list:
        """Cached objects, optionally in one namespace and matching a label selector
        (a string like "app=web,tier!=db", a LabelSelector dict with matchLabels /
        matchExpressions, a plain label map, or a parsed selector). Do not mutate
        what you get."""
        sel = _selector(selector)
        out = []
        for obj in self._snapshot():
            if namespace and (obj.get("metadata") or {}).get("namespace") != namespace:
                continue
            if sel is not None and not sel.matches(get_path(obj, "metadata", "labels") or {}):
                continue
            out.append(obj)
        return out

    def keys(self) -> list:
        with self._lock:
            return list(self._cache)

    def _snapshot(self) -> list:
        with self._lock:
            return list(self._cache.values())

    def __len__(self) -> int:
        return len(self._cache)


def _rv_of(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("resourceVersion") or ""


def _selector(selector):
    if selector is None or selector == "":
        return None
    if hasattr(selector, "matches"):
        return selector
    if isinstance(selector, str):
        return parse_label_selector(selector)
    if isinstance(selector, dict):
        # A LabelSelector ({matchLabels, matchExpressions}) or a plain map ({"app": "web"},
        # as a Service's spec.selector): both mean "these labels".
        if selector and set(selector) <= {"matchLabels", "matchExpressions"}:
            return selector_from_dict(selector)
        return selector_from_set(selector)
    raise TypeError(f"not a label selector: {selector!r}")
