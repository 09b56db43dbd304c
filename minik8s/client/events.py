"""The event recorder: how components tell humans what they did (`kubectl get events`).

In Kubernetes a component records an Event (core/v1) about an object — "Scheduled",
"Pulling", "FailedScheduling", "ScalingReplicaSet" — through client-go's
`EventRecorder`. Events are named `<object name>.<hex nanoseconds>`, live in the
object's namespace (cluster-scoped objects such as Nodes put theirs in "default"), and
carry `involvedObject`, `reason`, `message`, `type` (Normal or Warning), `source` and
a `count` with `firstTimestamp`/`lastTimestamp`. The EventCorrelator keeps an LRU of
recent events: when an *identical* one (same object, type, reason, message, source)
happens again it PATCHes the existing Event's count and lastTimestamp instead of
creating another, which is why `kubectl describe` shows "(x12 over 3m)". If that Event
was deleted meanwhile (events expire after an hour), the patch fails NotFound and the
recorder creates it anew.

This version keeps that, synchronously (client-go queues events to a goroutine and
retries up to 12 times). Left out: the aggregator that folds 10+ *similar* events
with different messages into one "(combined from similar events)", the spam filter's
token bucket, and the events.k8s.io/v1 API.

Recording must never break a controller: every error is swallowed and logged, and
counted in `errors` so tests can see it. Timestamps come from the Clock, so a run under
a FakeClock writes byte-identical events.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Optional

from ..api.clock import Clock
from ..api.errors import AlreadyExists, NotFound
from ..api.meta import rfc3339
from .interface import Client

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"
LRU_SIZE = 4096          # client-go's maxLruCacheEntries


class EventRecorder:
    def __init__(self, client: Client, clock: Clock, component: str, host: str = "",
                 *, cache_size: int = LRU_SIZE):
        self.client = client
        self.clock = clock
        self.component = component
        self.host = host
        self.cache_size = cache_size
        # identity key -> the Event as last written (its name, count, firstTimestamp)
        self._cache: OrderedDict = OrderedDict()
        self._last_nanos = 0
        self.errors = 0                         # recording failures swallowed so far
        self.last_error: Optional[BaseException] = None

    def event(self, obj: dict, type: str, reason: str, message: str) -> Optional[dict]:
        """Record that `reason: message` happened to `obj`. Returns the Event as
        written, or None if recording failed (which is logged, never raised)."""
        try:
            if type not in (NORMAL, WARNING):
                raise ValueError(f"unsupported event type: {type!r}")
            return self._record(obj, type, reason, message)
        except Exception as e:  # noqa: BLE001 - recording must never break the caller
            self.errors += 1
            self.last_error = e
            log.warning("%s: could not record event %s/%s on %s: %s", self.component,
                        type, reason, (obj.get("metadata") or {}).get("name"), e)
            return None

    def eventf(self, obj: dict, type: str, reason: str, fmt: str, *args) -> Optional[dict]:
        return self.event(obj, type, reason, fmt % args if args else fmt)

    # --- the correlator ---------------------------------------------------------------
    def _record(self, obj: dict, type: str, reason: str, message: str) -> dict:
        ref = involved_object(obj)
        namespace = ref.get("namespace") or "default"
        key = (self.component, self.host, ref.get("apiVersion"), ref.get("kind"), namespace,
               ref.get("name"), ref.get("uid"), type, reason, message)
        now = rfc3339(self.clock.now())
        seen = self._cache.get(key)
        if seen is not None:
            count = seen["count"] + 1
            try:
                written = self.client.patch("events", seen["metadata"]["name"],
                                            {"count": count, "lastTimestamp": now},
                                            namespace, patch_type="merge")
            except NotFound:
                # Expired or deleted: create it again, keeping its name and history.
                written = self._create(dict(seen, count=count, lastTimestamp=now),
                                       namespace, fresh_name=False)
        else:
            written = self._create(self._new_event(ref, namespace, type, reason, message, now),
                                   namespace, fresh_name=True)
        self._remember(key, written)
        return written

    def _new_event(self, ref, namespace, type, reason, message, now) -> dict:
        return {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": self._event_name(ref.get("name", "")), "namespace": namespace},
            "involvedObject": ref,
            "reason": reason, "message": message, "type": type,
            "count": 1, "firstTimestamp": now, "lastTimestamp": now,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }

    def _create(self, event: dict, namespace: str, fresh_name: bool) -> dict:
        event = dict(event, metadata={"name": event["metadata"]["name"], "namespace": namespace})
        for _ in range(10):
            try:
                return self.client.create(event, namespace)
            except AlreadyExists:
                if not fresh_name:
                    raise
                # Two events about one object at the same (fake) nanosecond, maybe from
                # two recorders: Kubernetes never sees this with a real clock. Move on by 1 ns.
                event["metadata"]["name"] = self._event_name(event["involvedObject"]["name"])
        raise AlreadyExists(f'events "{event["metadata"]["name"]}" already exists')

    def _event_name(self, obj_name: str) -> str:
        # `%v.%x` of UnixNano, as client-go. Names this recorder hands out strictly
        # increase, so one recorder never collides with itself under a FakeClock.
        nanos = max(int(self.clock.now() * 1e9), self._last_nanos + 1)
        self._last_nanos = nanos
        return f"{obj_name}.{nanos:016x}"

    def _remember(self, key: tuple, written: dict) -> None:
        self._cache[key] = written
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)


def involved_object(obj: dict) -> dict:
    """An ObjectReference to `obj` (what `kubectl describe` matches events on)."""
    meta = obj.get("metadata") or {}
    ref = {"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""),
           "name": meta.get("name", "")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    if meta.get("uid"):
        ref["uid"] = meta["uid"]
    if meta.get("resourceVersion"):
        ref["resourceVersion"] = meta["resourceVersion"]
    return ref
