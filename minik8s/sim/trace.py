"""The simulator's event log, and the timelines a student reads to understand a run.

Kubernetes has no such log: to learn why a cluster misbehaved one pieces together the
API server's audit log (every request with user, verb, resource, response code), the
components' logs and `kubectl get events`. A simulated run can do better, because
one harness sees everything. The Trace records, in order:

- every API write (and, with `reads=True`, every read) of every component: step
  number, simulated time, component, verb, resource[/subresource], namespace/name,
  uid, resourceVersion and result (`ok` or the error's reason, as the audit log's
  response code);
- with `deliveries=True`, every watch event handed to a component (which stream,
  event type, object, resourceVersion): what watch-order invariants are checked on;
- harness events: a component crashing and restarting, a fault switched on or off
  or firing, a node added, killed, revived or removed, the store compacted.

`lines()` is the log, one stable line per event (no memory addresses, nothing that
differs between two processes with the same seed), so `digest()` — a sha256 of the
lines — compares two runs. `text()` is a timeline grouped by simulated time; `html()`
(trace_html.py) a single self-contained page with one lane per component.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Optional

WRITE, READ, DELIVERY = "write", "read", "event"
CRASH, RESTART, FAULT, NODE, STORE = "crash", "restart", "fault", "node", "store"

# Writes that keep happening on a healthy, converged cluster: heartbeats (Leases, a
# Node's status) and Events (whose counts grow). DESIGN.md §9: "writes stop once
# converged (Leases, Node heartbeats and Event counts excepted)".
HEARTBEAT_RESOURCES = frozenset({"leases", "events"})


@dataclass(frozen=True)
class TraceEvent:
    step: int
    time: float               # simulated seconds since the cluster started (monotonic)
    component: str            # "user", "scheduler", "controller-manager", "kubelet/node-1", ...
    kind: str                 # write | read | event | crash | restart | fault | node | store
    verb: str = ""            # create, update, patch, delete, ... (a watch event: its type)
    resource: str = ""        # plural, with "/subresource" when there is one
    namespace: str = ""
    name: str = ""
    uid: str = ""
    rv: str = ""              # resourceVersion of the answer (or of the event)
    result: str = ""          # "ok" or the error reason, for requests
    detail: str = ""          # free text: the stream of a watch event, why a crash, ...

    @property
    def object(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def failed(self) -> bool:
        return self.kind in (WRITE, READ) and self.result != "ok"

    def is_heartbeat(self) -> bool:
        """A write a converged cluster keeps making (see HEARTBEAT_RESOURCES)."""
        base, _, sub = self.resource.partition("/")
        return base in HEARTBEAT_RESOURCES or (base == "nodes" and sub == "status")

    def line(self) -> str:
        head = f"{self.step:>6} {self.time:>10.3f} {self.component:<24} {self.kind:<7}"
        if self.kind in (WRITE, READ, DELIVERY):
            what = f"{self.verb} {self.resource} {self.object}".rstrip()
            tail = " ".join(x for x in (
                f"uid={self.uid[:8]}" if self.uid else "", f"rv={self.rv}" if self.rv else "",
                self.result, f"[{self.detail}]" if self.detail else "") if x)
            return f"{head} {what} {tail}".rstrip()
        return " ".join(x for x in (head, self.verb, self.detail) if x).rstrip()


class Trace:
    """The log of one simulated run (see the module docstring)."""

    def __init__(self, *, reads: bool = False, deliveries: bool = True):
        self.reads = reads
        self.deliveries = deliveries
        self.events: list = []

    def record(self, event: TraceEvent) -> None:
        self.events.append(event)

    def __len__(self) -> int:
        return len(self.events)

    def select(self, *, kind: Optional[str] = None, component: Optional[str] = None,
               resource: Optional[str] = None, since_step: int = 0) -> list:
        """Events matching every given filter (resource: plural, subresource ignored)."""
        return [e for e in self.events
                if (kind is None or e.kind == kind)
                and (component is None or e.component == component)
                and (resource is None or e.resource.partition("/")[0] == resource)
                and e.step >= since_step]

    def writes(self, component: Optional[str] = None) -> list:
        return self.select(kind=WRITE, component=component)

    # --- the log -------------------------------------------------------------------
    def lines(self, events: Optional[Iterable] = None) -> list:
        return [e.line() for e in (self.events if events is None else events)]

    def digest(self) -> str:
        h = hashlib.sha256()
        for line in self.lines():
            h.update(line.encode())
            h.update(b"\n")
        return h.hexdigest()

    # --- timelines -----------------------------------------------------------------
    def text(self, *, last: Optional[int] = None, deliveries: bool = False,
             components: Optional[Iterable] = None) -> str:
        """A readable timeline: one block per simulated instant, one line per event,
        crashes and faults marked so they stand out. `last`: only the last N events."""
        wanted = set(components) if components is not None else None
        events = [e for e in self.events
                  if (deliveries or e.kind != DELIVERY)
                  and (wanted is None or e.component in wanted)]
        if last is not None:
            events = events[-last:] if last > 0 else []
        out, at = [], None
        for e in events:
            if e.time != at:
                at = e.time
                out.append(f"t={e.time:.3f}s")
            mark = {CRASH: "!!", FAULT: "~~", NODE: "**", RESTART: "++", STORE: "**"}.get(
                e.kind, "x " if e.failed else "  ")
            out.append(f"  {mark} #{e.step:<5} {e.component:<22} " + _summary(e))
        return "\n".join(out)

    def excerpt(self, n: int = 40) -> str:
        """The last `n` events as a timeline: what an invariant failure prints."""
        return self.text(last=n)

    def html(self, *, title: str = "minik8s simulation", deliveries: bool = False,
             last: Optional[int] = None) -> str:
        from .trace_html import render
        events = [e for e in self.events if deliveries or e.kind != DELIVERY]
        if last is not None:
            events = events[-last:] if last > 0 else []
        return render(events, title=title)


def _summary(e: TraceEvent) -> str:
    if e.kind in (WRITE, READ, DELIVERY):
        parts = [e.verb, e.resource, e.object]
        if e.rv:
            parts.append(f"rv={e.rv}")
        parts.append(e.result if e.kind != DELIVERY else f"via {e.detail}")
        if e.kind != DELIVERY and e.detail:
            parts.append(f"({e.detail})")
        return " ".join(p for p in parts if p)
    return " ".join(x for x in (e.kind.upper(), e.verb, e.detail) if x)
