"""Safety invariants about histories: what may happen from one write to the next.

Some Kubernetes promises are not about a state but about how states follow each
other: a pod is bound once; an object with finalizers is not removed; within one
watch stream events come in resourceVersion order; a write based on a stale
resourceVersion is rejected. Checking them needs every write, in order — a snapshot
per simulator step is not enough, since one step of a controller makes many writes.

The `Observer` provides that history. It lists and watches every resource it is
told to through its own client (so the faults injected into components do not touch
it), merges the streams by resourceVersion — the store has one revision counter, so
this *is* the order of the writes — and yields one `Change` per write, with the
object before and after, keeping a mirror of the cluster up to date as it goes.
The checks below are pure functions of one Change (or of a list of records), so a
test can hand them a made-up change and see the violation reported.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional

from minik8s.api.errors import APIError, Gone
from minik8s.api.meta import get_path, key_of

from .invariants import Violation
from .state import ClusterState, ref_of, uid_of, untolerated_taints

# What the Observer mirrors by default: what the safety and liveness checks read.
# (Leases and Events change all the time and no safety check reads them.)
OBSERVED = ("namespaces", "nodes", "pods", "replicasets", "deployments", "statefulsets",
            "services", "endpoints")


@dataclass(frozen=True)
class Change:
    type: str                   # ADDED | MODIFIED | DELETED
    resource: str               # plural
    old: Optional[dict]         # the object before the write (None: created)
    new: Optional[dict]         # after it (for DELETED: its last state, as the event has it)
    rv: int                     # the write's resourceVersion (store revision)
    relisted: bool = False      # made up from a relist after 410: steps may be missing


# --- a pod is bound once, never to a node whose taints it does not tolerate -------------

def check_bound_once_and_tolerated(change: Change,
                                   node_view: Callable[[str], Optional[dict]]) -> list:
    """A pod is bound once, never to a node carrying — in the scheduler's view at
    decision time — a NoSchedule or NoExecute taint the pod does not tolerate.

    Kubernetes: the pods/binding subresource sets spec.nodeName once ("pod %s is
    already assigned to node %s" otherwise; the field is immutable afterwards), and
    "Taints and Tolerations": a node's NoSchedule/NoExecute taints keep off every pod
    that does not tolerate them (the TaintToleration filter of kube-scheduler). The
    scheduler decides on its cache, which may lag the API: a taint it had not seen yet
    is not its fault, so `node_view(name)` should return the Node *as the scheduler
    saw it* (the Checker passes the scheduler's cache right after its step); with only
    the API's view the check is stricter than Kubernetes. Holds: always.
    """
    if (change.resource != "pods" or change.old is None or change.new is None
            or change.relisted or uid_changed(change)):
        return []
    before = get_path(change.old, "spec", "nodeName")
    after = get_path(change.new, "spec", "nodeName")
    if before and after != before:
        return [Violation("bound_once", f"{ref_of(change.new)} was bound to {before}, then "
                          f"to {after or 'nothing'} (rv {change.rv})", [ref_of(change.new)])]
    if before or not after:
        return []
    node = node_view(after)
    if node is None:
        return []
    bad = untolerated_taints(change.new, node)
    if not bad:
        return []
    taints = ", ".join(f"{t.get('key')}:{t.get('effect')}" for t in bad)
    return [Violation("tolerated_binding", f"{ref_of(change.new)} was bound to {after}, which "
                      f"has taints it does not tolerate: {taints} (rv {change.rv})",
                      [ref_of(change.new), f"nodes/{after}"])]


# --- a ReplicaSet never creates more pods than it was asked for ------------------------

class ReplicaSetCeiling:
    """A ReplicaSet's controller never creates a pod when the ReplicaSet already has
    as many live pods as it was ever asked for.

    Kubernetes: the ReplicaSet controller "creates and deletes Pods as needed to reach
    the desired number" ("ReplicaSet"), and since its informer cache may not show the
    pods it just created, it keeps expectations (client-go ControllerExpectations:
    "track ... creates/deletes a controller has issued, so it does not create or
    delete more than it needs while its cache catches up"). A cache may be old, so
    the replicas it acted on may be any value the ReplicaSet had; the bound is
    therefore the largest spec.replicas the ReplicaSet ever had: a new pod beyond it
    is a pod no one asked for. Holds: unless the controller restarts (expectations
    lost) while its reads are stale — a restarted controller whose first list is old
    re-creates pods it made before; Kubernetes has the same hole (a reflector's first
    LIST at resourceVersion "0" may come from a lagging watch cache) and relies on the
    surplus deletion that follows (found by the property tests; the Checker skips the
    check while both faults are on). Feed it every Change in order.
    """

    def __init__(self):
        self.ceiling: dict = {}          # ReplicaSet uid -> largest spec.replicas seen

    def observe(self, change: Change, pods: Iterable[dict]) -> list:
        """`pods`: every pod after the change (the Observer's mirror)."""
        obj = change.new
        if change.resource == "replicasets" and obj is not None and change.type != "DELETED":
            uid = uid_of(obj)
            replicas = get_path(obj, "spec", "replicas")
            replicas = 1 if replicas is None else replicas
            self.ceiling[uid] = max(self.ceiling.get(uid, 0), replicas)
            return []
        if change.resource != "pods" or change.type != "ADDED" or change.relisted:
            return []
        rs_uid = next((r.get("uid") for r in get_path(obj, "metadata", "ownerReferences") or []
                       if r.get("controller") and r.get("kind") == "ReplicaSet"), None)
        if rs_uid is None or rs_uid not in self.ceiling:
            return []
        live = [p for p in pods if not get_path(p, "metadata", "deletionTimestamp")
                and get_path(p, "status", "phase") not in ("Succeeded", "Failed")
                and any(r.get("uid") == rs_uid and r.get("controller")
                        for r in get_path(p, "metadata", "ownerReferences") or [])]
        if len(live) <= self.ceiling[rs_uid]:
            return []
        owner = next(r.get("name") for r in obj["metadata"]["ownerReferences"]
                     if r.get("uid") == rs_uid)
        return [Violation("replicaset_ceiling", f"{ref_of(obj)} was created for ReplicaSet "
                          f"{owner}, which now has {len(live)} live pods but was never asked "
                          f"for more than {self.ceiling[rs_uid]} (rv {change.rv})",
                          [ref_of(obj)])]


# --- an object with finalizers is not removed ----------------------------------------

def check_removal(change: Change, removed_by: Optional[str] = None) -> list:
    """An object with finalizers is not removed.

    Kubernetes: "Finalizers" (concepts/overview/working-with-objects/finalizers):
    "When you tell Kubernetes to delete an object that has finalizers specified for
    it, the Kubernetes API marks the object for deletion by populating
    .metadata.deletionTimestamp ... The target object remains in a terminating state
    while the control plane, or other components, take the actions defined by the
    finalizers", and only when the list is empty is the object removed. So a removal
    must be preceded by a state with a deletionTimestamp, and the write that removes
    a marked object whose last state still lists finalizers must be the one that
    empties the list (an update or patch), never a DELETE. `removed_by` is the verb of
    the removing request when known (from the simulator's trace). Holds: always.
    """
    if change.type != "DELETED" or change.old is None or change.relisted:
        return []
    finalizers = get_path(change.old, "metadata", "finalizers") or []
    if not finalizers:
        return []
    if not get_path(change.old, "metadata", "deletionTimestamp"):
        return [Violation("finalizers_respected",
                          f"{ref_of(change.old)} was removed with finalizers {finalizers} "
                          f"and without being marked for deletion first (rv {change.rv})",
                          [ref_of(change.old)])]
    if removed_by == "delete":
        return [Violation("finalizers_respected",
                          f"{ref_of(change.old)} was removed by a DELETE while its "
                          f"finalizers {finalizers} were still set (rv {change.rv})",
                          [ref_of(change.old)])]
    return []


# --- watch order ----------------------------------------------------------------------

class WatchOrder:
    """Within one watch stream, events arrive in resourceVersion order.

    Kubernetes: "API Concepts" — Efficient detection of changes: a watch delivers
    every change after the given resourceVersion, in order; clients resume from the
    last resourceVersion they saw, which is only sound if versions only go up within a
    stream (etcd's revision order). Bookmarks carry a version too and may repeat the
    last one. Holds: always. Feed it (stream, event type, resourceVersion) triples;
    `reset(prefix)` forgets streams that ended (e.g. a component restarted and
    reopened streams with the same names).
    """

    def __init__(self):
        self.last: dict = {}            # stream -> last resourceVersion (int)

    def feed(self, stream: str, type: str, rv) -> list:
        if type == "ERROR" or rv in (None, ""):
            return []
        rv = int(rv)
        prev = self.last.get(stream)
        self.last[stream] = rv if prev is None else max(prev, rv)
        if prev is None or rv > prev or (type == "BOOKMARK" and rv == prev):
            return []
        return [Violation("watch_order", f"watch stream {stream}: {type} at resourceVersion "
                          f"{rv} after {prev}", [stream])]

    def reset(self, prefix: str = "") -> None:
        for s in [s for s in self.last if s.startswith(prefix)]:
            del self.last[s]


def check_watch_order(deliveries: Iterable[tuple]) -> list:
    """WatchOrder over a whole list of (stream, type, resourceVersion) triples."""
    order, out = WatchOrder(), []
    for stream, type, rv in deliveries:
        out.extend(order.feed(stream, type, rv))
    return out


# --- no lost update ---------------------------------------------------------------------

@dataclass(frozen=True)
class WriteRecord:
    resource: str               # plural
    key: str                    # namespace/name (or name)
    verb: str                   # update | patch | delete ...
    precondition: str           # the resourceVersion the request carried ("" = none)
    rv: str                     # the resourceVersion it produced ("" when it failed)
    ok: bool


def check_no_lost_update(writes: Iterable[WriteRecord], versions: dict) -> list:
    """A write with a stale resourceVersion is rejected (no lost update).

    Kubernetes: API conventions, "Concurrency Control and Consistency": "all
    resources have a resourceVersion ... when a client submits an update with a
    resourceVersion that does not match the current one, the server rejects it with
    409 Conflict" — optimistic concurrency, which is what keeps two writers from
    silently overwriting each other. `versions[(resource, key)]` is the ordered list
    of resourceVersions the object went through (from the Observer); a successful
    write that carried a precondition must have been based on the version right
    before the one it produced. Holds: always.
    """
    out = []
    for w in writes:
        if not (w.ok and w.precondition and w.rv) or w.rv == w.precondition:
            continue            # failed, unconditional, or changed nothing (no new version)
        seen = [v for v in versions.get((w.resource, w.key), ()) if v < int(w.rv)]
        if seen and seen[-1] != int(w.precondition):
            out.append(Violation("no_lost_update",
                                 f"{w.verb} of {w.resource}/{w.key} based on resourceVersion "
                                 f"{w.precondition} succeeded, but the object was at "
                                 f"{seen[-1]} (the write at {seen[-1]} was lost)",
                                 [f"{w.resource}/{w.key}"]))
    return out


# --- the Observer -------------------------------------------------------------------------

class Observer:
    """Lists and watches `resources` through `client` and yields every write in
    order (see the module docstring). `connect(client)` moves it to a new API server
    (after a restart) without losing its place: it resumes each watch from the last
    version it saw, and relists — reporting what changed meanwhile — on 410 Gone."""

    def __init__(self, client, resources: Iterable[str] = OBSERVED):
        self.resources = tuple(resources)
        self.mirror: dict = {r: {} for r in self.resources}   # plural -> key -> object
        self.versions: dict = {}          # (plural, key) -> resourceVersions seen, in order
        self.order = WatchOrder()
        self.problems: list = []          # watch-order violations of our own streams
        self._rv: dict = {}               # plural -> last resourceVersion applied
        self._streams: dict = {}
        self._pending: list = []          # changes from relists, not yet yielded
        self._epoch = 0
        self.client = None
        self.connect(client)

    def connect(self, client) -> None:
        for s in self._streams.values():
            s.close()
        self.client, self._streams = client, {}
        self._epoch += 1
        for plural in self.resources:
            self._open(plural)

    def _open(self, plural: str) -> None:
        try:
            if plural not in self._rv:
                self._relist(plural)
            self._streams[plural] = self._watch(plural)
        except Gone:
            self._relist(plural)
            self._streams[plural] = self._watch(plural)
        except APIError:
            self._streams.pop(plural, None)          # an unknown resource: not mirrored

    def _watch(self, plural: str):
        return self.client.watch(plural, resource_version=str(self._rv[plural]))

    def _relist(self, plural: str) -> None:
        result = self.client.list(plural)
        rv = int(result.resource_version or 0)
        fresh = {key_of(o): o for o in result.items}
        cache = self.mirror[plural]
        for key in sorted(set(cache) - set(fresh)):
            self._pending.append(Change("DELETED", plural, cache[key], cache[key], rv,
                                        relisted=True))
        for key in sorted(fresh):
            old = cache.get(key)
            if old is None or get_path(old, "metadata", "resourceVersion") != \
                    get_path(fresh[key], "metadata", "resourceVersion"):
                self._pending.append(Change("MODIFIED" if old else "ADDED", plural, old,
                                            fresh[key], rv, relisted=True))
        self.mirror[plural] = fresh
        for key, obj in fresh.items():
            self._note_version(plural, key, obj)
        self._rv[plural] = rv

    def _note_version(self, plural: str, key: str, obj: dict) -> None:
        rv = get_path(obj, "metadata", "resourceVersion")
        if rv:
            seen = self.versions.setdefault((plural, key), [])
            if not seen or seen[-1] < int(rv):
                seen.append(int(rv))

    def changes(self) -> Iterator[Change]:
        """Every write since the last call, in resourceVersion order; the mirror is
        updated before each Change is yielded."""
        pending, self._pending = self._pending, []
        yield from pending
        events = []
        for plural in self.resources:
            stream = self._streams.get(plural)
            if stream is None:
                continue
            for ev in stream.poll():
                if ev.type == "ERROR":
                    self._relist(plural)
                    continue
                rv = get_path(ev.object, "metadata", "resourceVersion")
                self.problems.extend(self.order.feed(f"observer/{self._epoch}/{plural}",
                                                     ev.type, rv))
                if ev.type != "BOOKMARK":
                    events.append((int(rv), plural, ev))
            if stream.closed:
                self._open(plural)
        pending, self._pending = self._pending, []
        yield from pending
        for rv, plural, ev in sorted(events, key=lambda e: e[0]):
            key = key_of(ev.object)
            cache = self.mirror[plural]
            old = cache.get(key)
            if ev.type == "DELETED":
                cache.pop(key, None)
            else:
                cache[key] = ev.object
                self._note_version(plural, key, ev.object)
            self._rv[plural] = max(self._rv.get(plural, 0), rv)
            if ev.type == "DELETED":
                self.versions.setdefault((plural, key), []).append(rv)
            yield Change(ev.type, plural, old, ev.object, rv)

    def state(self, **kw) -> ClusterState:
        """The mirror as a ClusterState (objects sorted by key); `kw` fills the rest."""
        return ClusterState(objects={p: tuple(objs[k] for k in sorted(objs))
                                     for p, objs in self.mirror.items()}, **kw)

    def close(self) -> None:
        for s in self._streams.values():
            s.close()
        self._streams = {}


def uid_changed(change: Change) -> bool:
    """A write that replaced an object by a new one of the same name."""
    return bool(change.old and change.new and uid_of(change.old) != uid_of(change.new))
