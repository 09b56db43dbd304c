"""Watch streams: store events turned into Kubernetes watch events.

etcd reports PUT and DELETE on keys; a Kubernetes watch reports ADDED, MODIFIED and
DELETED objects *as seen through the watcher's filter*. The difference matters with
selectors: when a pod's label changes so that it stops matching `app=web`, a watcher
of `app=web` must see DELETED (the object left its view), and one that starts
matching is ADDED — the apiserver's cacher does exactly this by evaluating the filter
on both the previous and the new object. Every event carries prev_kv for that reason.

Streams are pull-based (DESIGN.md §7): `poll()` converts whatever the store watcher
has queued and never blocks, so the simulator decides when a component sees an event.
A stream ends when closed, when its `timeout_seconds` pass on the clock, or after a
410 ERROR event. With `allow_bookmarks`, a quiet stream reports the store's progress
as a BOOKMARK now and then, so a resumed watch need not replay what it already skipped.
"""
from __future__ import annotations

import json

from minik8s.api.wire import ADDED, BOOKMARK, DELETED, ERROR, MODIFIED, WatchEvent
from minik8s.store.types import DELETE

BOOKMARK_INTERVAL = 60.0   # seconds of quiet before a bookmark, as kube-apiserver (about 1/min)


def _decode(value: bytes, revision: int) -> dict:
    obj = json.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj


class ObjectWatch:
    """A WatchStream over one store watcher. `match(obj) -> bool` is the filter
    (label selector, field selector, name); `initial` objects are sent first as ADDED."""

    def __init__(self, rt, watcher, *, initial=(), match=None, clock=None,
                 timeout_seconds=None, allow_bookmarks=False, current_revision=None):
        self._rt = rt
        self._watcher = watcher
        self._match = match or (lambda obj: True)
        self._filtered = match is not None   # unfiltered: a PUT's old state is never read
        self._clock = clock
        self._pending = [WatchEvent(ADDED, o) for o in initial if self._match(o)]
        self._deadline = None
        if timeout_seconds and clock is not None:
            self._deadline = clock.monotonic() + timeout_seconds
        self._bookmarks = allow_bookmarks
        self._current_revision = current_revision     # callable -> store revision
        self._last_rv = 0
        self._last_sent_at = clock.monotonic() if clock else 0.0
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed and not self._pending

    def close(self) -> None:
        self._closed = True
        self._watcher.close()

    def poll(self) -> list:
        if self._closed:
            out, self._pending = self._pending, []
            return out
        out, self._pending = self._pending, []
        # Read the store's revision *before* draining: every write up to it has been
        # queued on our watcher already (the store queues events under its write
        # lock), so a bookmark at that revision can never skip an undelivered event.
        seen_upto = self._current_revision() if self._current_revision else 0
        for ev in self._watcher.poll():
            converted = self._convert(ev)
            if converted is not None:
                out.append(converted)
            self._last_rv = ev.revision
        now = self._clock.monotonic() if self._clock else 0.0
        if out:
            self._last_sent_at = now
        elif self._bookmarks and now - self._last_sent_at >= BOOKMARK_INTERVAL:
            out.append(self._bookmark(max(seen_upto, self._last_rv)))
            self._last_sent_at = now
        if self._deadline is not None and now >= self._deadline:
            self.close()
        return out

    def wait(self, timeout) -> list:
        out = self.poll()
        if out or self._closed:
            return out
        self._pending.extend(self._convert_all(self._watcher.wait(timeout)))
        return self.poll()

    def _convert_all(self, events):
        out = []
        for ev in events:
            c = self._convert(ev)
            if c is not None:
                out.append(c)
            self._last_rv = ev.revision
        return out

    def _convert(self, ev):
        """Store event -> watch event as seen through the filter (None: not visible)."""
        rev = ev.revision
        if not self._filtered and ev.type != DELETE:
            # Without a filter only "was there an old state?" matters: skip decoding it
            # (half the JSON parsing of a busy unfiltered watch).
            new = _decode(ev.kv.value, rev)
            return WatchEvent(MODIFIED if ev.prev_kv else ADDED, new)
        old = _decode(ev.prev_kv.value, ev.prev_kv.mod_revision) if ev.prev_kv else None
        old_in = old is not None and self._match(old)
        if ev.type == DELETE:
            if not old_in:
                return None
            old["metadata"]["resourceVersion"] = str(rev)
            return WatchEvent(DELETED, old)
        new = _decode(ev.kv.value, rev)
        new_in = self._match(new)
        if new_in and old_in:
            return WatchEvent(MODIFIED, new)
        if new_in:
            return WatchEvent(ADDED, new)
        if old_in:
            # It left the view: the watcher gets the new state as a DELETED event.
            return WatchEvent(DELETED, new)
        return None

    def _bookmark(self, rev: int) -> WatchEvent:
        return WatchEvent(BOOKMARK, {"kind": self._rt.kind, "apiVersion": self._rt.api_version,
                                     "metadata": {"resourceVersion": str(rev)}})


class ErrorWatch:
    """A stream that delivers one ERROR event (e.g. 410 Expired) and ends."""

    def __init__(self, status: dict):
        self._events = [WatchEvent(ERROR, status)]

    @property
    def closed(self) -> bool:
        return not self._events

    def poll(self) -> list:
        out, self._events = self._events, []
        return out

    def wait(self, timeout) -> list:
        return self.poll()

    def close(self) -> None:
        self._events = []
