"""Garbage collector: deletes dependents whose owners are gone.

In Kubernetes an object names its owners in `metadata.ownerReferences` (apiVersion,
kind, name, **uid**, controller, blockOwnerDeletion): a ReplicaSet owns its pods, a
Deployment its ReplicaSets, a Node its Lease. The garbage collector watches every
resource, keeps a graph of who owns whom, and acts on each DELETE's propagationPolicy,
which the API server only records (minik8s/apiserver/deletion.py):

- Background (the default): the owner goes at once; each dependent whose owners are
  all gone ("dangling" references: no object with that uid) is then deleted.
- Foreground: the owner stays, Terminating, with the `foregroundDeletion` finalizer;
  the collector deletes its dependents (foreground again if they own things too) and
  removes the finalizer once no dependent with `blockOwnerDeletion: true` is left.
- Orphan: the owner stays with the `orphan` finalizer while the collector removes the
  ownerReference from every dependent, then removes the finalizer.

A dependent with another owner that still exists ("solid") is never deleted: the
references to the gone owners are removed instead. An owner is identified by uid, never
by name: a new object with the old name is not the old owner.

This version keeps the graph as an index (owner uid -> dependents) over shared
informers of every kind in minik8s.api.registry (Events excepted, as in Kubernetes) and
one work queue of "<resource>/<namespace>/<name>" keys; reconcile reads the current
object, never the event. Owners are looked up in the informer caches first and, when
the cache does not show them, with a live GET (Kubernetes GETs every time; a cache hit
is enough to prove an owner exists). Writes carry a uid or resourceVersion
precondition. Left out: discovering kinds registered later, and the cycle breaker for
owners that own each other.

Invariant: an object is deleted only after a live read showed none of its owners exists
(or every remaining one is being deleted in the foreground).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Optional

from ..api.errors import Conflict, NotFound
from ..api.meta import get_path, key_of
from ..api.registry import REGISTRY
from .base import Controller, Permanent, Retry

log = logging.getLogger(__name__)

FOREGROUND, ORPHAN = "foregroundDeletion", "orphan"
IGNORED = {("", "events"), ("events.k8s.io", "events")}   # DefaultIgnoredResources
ABSENT_OWNER_CACHE_SIZE = 500


def collected_types() -> list:
    """Every kind the collector watches: listable, watchable, deletable, not ignored."""
    return [rt for rt in REGISTRY.all() if (rt.group, rt.plural) not in IGNORED
            and {"list", "watch", "delete"} <= set(rt.verbs)]


def owner_refs(obj: Optional[dict]) -> list:
    return get_path(obj or {}, "metadata", "ownerReferences") or []


def finalizers(obj: dict) -> list:
    return get_path(obj, "metadata", "finalizers") or []


def is_deleting_dependents(obj: dict) -> bool:
    """Being deleted in the foreground: it waits for its blocking dependents."""
    return bool(get_path(obj, "metadata", "deletionTimestamp")) and FOREGROUND in finalizers(obj)


class GarbageCollector(Controller):
    name = "garbagecollector"

    def setup(self) -> None:
        self._types: dict = {}            # qualified resource -> (ResourceType, Informer)
        self._dependents: dict = {}       # owner uid -> {item key}
        self._by_uid: dict = {}           # uid -> item key, for every object we know
        self._absent: OrderedDict = OrderedDict()   # owner uids proven gone (an LRU)
        for rt in collected_types():
            inf = self.informer(rt.plural)
            self._types[rt.qualified] = (rt, inf)
            inf.add_handler(on_add=lambda o, rt=rt: self._changed(rt, None, o),
                            on_update=lambda old, new, rt=rt: self._changed(rt, old, new),
                            on_delete=lambda o, rt=rt: self._changed(rt, o, None))

    # --- the graph ---------------------------------------------------------------------
    def item_key(self, rt, obj: dict) -> str:
        return f"{rt.qualified}/{key_of(obj)}"

    def _changed(self, rt, old: Optional[dict], new: Optional[dict]) -> None:
        """Keep the owner index; enqueue whatever may have something to do now. (What
        Kubernetes' GraphBuilder does with its event queue.)"""
        obj = new if new is not None else old
        key, uid = self.item_key(rt, obj), obj["metadata"].get("uid")
        before = {r.get("uid") for r in owner_refs(old)}
        after = {r.get("uid") for r in owner_refs(new)}
        for owner in before - after:
            deps = self._dependents.get(owner, set())
            deps.discard(key)
            if not deps:
                self._dependents.pop(owner, None)
        for owner in after:
            self._dependents.setdefault(owner, set()).add(key)
        if new is None:
            self._by_uid.pop(uid, None)
            # Its dependents may be dangling now; foreground owners may be unblocked.
            for dep in sorted(self._dependents.get(uid, ())):
                self.queue.add(dep)
            self._enqueue_waiting_owners(before)
            return
        self._by_uid[uid] = key
        if old is None:
            if after or (get_path(new, "metadata", "deletionTimestamp") and
                         {ORPHAN, FOREGROUND} & set(finalizers(new))):
                self.queue.add(key)
            return
        if owner_refs(old) != owner_refs(new) or finalizers(old) != finalizers(new) or \
                get_path(old, "metadata", "deletionTimestamp") != \
                get_path(new, "metadata", "deletionTimestamp"):
            self.queue.add(key)
            self._enqueue_waiting_owners(before)

    def _enqueue_waiting_owners(self, owner_uids) -> None:
        for uid in owner_uids:
            key = self._by_uid.get(uid)
            owner = self._cached(key) if key else None
            if owner is not None and get_path(owner, "metadata", "deletionTimestamp"):
                self.queue.add(key)

    def _cached(self, key: str) -> Optional[dict]:
        qualified, _, obj_key = key.partition("/")
        entry = self._types.get(qualified)
        return entry[1].get(obj_key) if entry else None

    def dependents(self, owner: dict) -> list:
        """(key, object) of every cached object whose ownerReferences name `owner`."""
        out = []
        for key in sorted(self._dependents.get(owner["metadata"]["uid"], ())):
            obj = self._cached(key)
            if obj is not None:
                out.append((key, obj))
        return out

    # --- reconcile ---------------------------------------------------------------------
    def reconcile(self, key: str) -> Optional[float]:
        qualified = key.partition("/")[0]
        if qualified not in self._types:
            raise Permanent(f"not a collected resource: {key}")
        rt = self._types[qualified][0]
        obj = self._cached(key)
        if obj is None:
            return None        # gone: its delete event already enqueued its dependents
        if get_path(obj, "metadata", "deletionTimestamp"):
            if ORPHAN in finalizers(obj):
                self.orphan_dependents(rt, obj)
            elif FOREGROUND in finalizers(obj):
                self.process_deleting_dependents(rt, obj)
            return None        # otherwise someone else is deleting it: wait
        if not owner_refs(obj):
            return None
        self.attempt_to_delete(rt, obj)
        return None

    def attempt_to_delete(self, rt, obj: dict) -> None:
        """attemptToDeleteItem: sort the references, then keep, trim or delete `obj`."""
        solid, dangling, waiting = self.classify_references(rt, obj)
        if solid:
            if dangling or waiting:
                # Still owned: only drop the references to owners that are going away.
                gone = {r["uid"] for r in dangling + waiting}
                self._patch_owner_refs(rt, obj, [r for r in owner_refs(obj)
                                                 if r.get("uid") not in gone])
            return
        if waiting and self.dependents(obj):
            # A blocking dependent of a foreground deletion that owns things itself:
            # delete it in the foreground too, so the wait cascades down the tree.
            self._delete(rt, obj, "Foreground")
            return
        # No owner left (or only owners waiting for us): it is garbage. Its own
        # finalizers say how its dependents go.
        policy = ("Orphan" if ORPHAN in finalizers(obj) else
                  "Foreground" if FOREGROUND in finalizers(obj) else "Background")
        self._delete(rt, obj, policy)

    def classify_references(self, rt, obj: dict) -> tuple:
        """(solid, dangling, waiting): references to owners that exist, that do not
        (no object with that uid), and that exist but wait for their dependents."""
        solid, dangling, waiting = [], [], []
        for ref in owner_refs(obj):
            owner = self.find_owner(rt, obj, ref)
            if owner is None:
                dangling.append(ref)
            elif is_deleting_dependents(owner):
                waiting.append(ref)
            else:
                solid.append(ref)
        return solid, dangling, waiting

    def find_owner(self, rt, obj: dict, ref: dict) -> Optional[dict]:
        """The owner `ref` names, if an object with its uid exists (isDangling)."""
        uid = ref.get("uid")
        if uid in self._absent:
            return None
        try:
            owner_rt = REGISTRY.for_object({"apiVersion": ref.get("apiVersion", ""),
                                            "kind": ref.get("kind", "")})
        except NotFound:
            raise Retry(f"unable to get REST mapping for {ref.get('apiVersion')}/"
                        f"{ref.get('kind')}") from None
        namespace = get_path(obj, "metadata", "namespace") or None
        if owner_rt.namespaced and namespace is None:
            # A cluster-scoped object cannot be owned by a namespaced one.
            self.event(obj, "Warning", "OwnerRefInvalidNamespace",
                       f"ownerRef [{ref.get('apiVersion')}/{ref.get('kind')}, namespace: , "
                       f"name: {ref.get('name')}, uid: {uid}] does not exist in namespace \"\"")
            raise Permanent(f"cluster-scoped {rt.kind} has a namespaced owner {ref}")
        ns = namespace if owner_rt.namespaced else None
        entry = self._types.get(owner_rt.qualified)
        cached = entry[1].get(f"{ns}/{ref.get('name')}" if ns else ref.get("name", "")) \
            if entry else None
        if cached is not None and cached["metadata"].get("uid") == uid:
            return cached
        # The cache does not show it: it may only lag behind. Ask the API server.
        try:
            live = self.client.get(owner_rt.plural, ref.get("name", ""), ns)
        except NotFound:
            live = None
        if live is None or live["metadata"].get("uid") != uid:
            self._absent[uid] = True
            while len(self._absent) > ABSENT_OWNER_CACHE_SIZE:
                self._absent.popitem(last=False)
            return None
        return live

    def process_deleting_dependents(self, rt, owner: dict) -> None:
        """An owner deleted in the foreground: drop the finalizer once no blocking
        dependent is left; until then make sure each of them is being worked on."""
        uid = owner["metadata"]["uid"]
        blocking = [(key, dep) for key, dep in self.dependents(owner)
                    if any(r.get("uid") == uid and r.get("blockOwnerDeletion")
                           for r in owner_refs(dep))]
        if not blocking:
            self._remove_finalizer(rt, owner, FOREGROUND)
            return
        for key, dep in blocking:
            if not is_deleting_dependents(dep):
                self.queue.add(key)

    def orphan_dependents(self, rt, owner: dict) -> None:
        """An owner deleted with propagationPolicy=Orphan: its dependents lose the
        reference to it (and live on), then the owner loses its finalizer."""
        uid, failed = owner["metadata"]["uid"], []
        for key, dep in self.dependents(owner):
            dep_rt = self._types[key.partition("/")[0]][0]
            try:
                self._patch_owner_refs(dep_rt, dep, [r for r in owner_refs(dep)
                                                     if r.get("uid") != uid])
            except Conflict:
                failed.append(key)            # changed meanwhile: retry with the new one
        if failed:
            raise Retry(f"could not orphan {', '.join(failed)}")
        self._remove_finalizer(rt, owner, ORPHAN)

    # --- writes ------------------------------------------------------------------------
    def _delete(self, rt, obj: dict, policy: str) -> None:
        meta = obj["metadata"]
        log.info("garbage collector: deleting %s %s/%s (%s)", rt.kind, meta.get("namespace", ""),
                 meta["name"], policy)
        try:
            self.client.delete(rt.plural, meta["name"], meta.get("namespace"),
                               propagation_policy=policy, preconditions={"uid": meta["uid"]})
        except NotFound:
            pass     # gone already
        except Conflict as e:
            # A new object under this name (uid precondition), or a transient 409:
            # look again later with fresh state, as Kubernetes' attemptToDelete does.
            raise Retry(f"deleting {meta['name']}: {e}") from None

    def _patch_owner_refs(self, rt, obj: dict, refs: list) -> None:
        """A JSON merge patch of the remaining references, guarded by the
        resourceVersion we decided on (deleteOwnerRefJSONMergePatch)."""
        meta = obj["metadata"]
        patch = {"metadata": {"ownerReferences": refs or None,
                              "resourceVersion": meta["resourceVersion"]}}
        try:
            self.client.patch(rt.plural, meta["name"], patch, meta.get("namespace"))
        except NotFound:
            pass

    def _remove_finalizer(self, rt, obj: dict, finalizer: str) -> None:
        meta = obj["metadata"]
        rest = [f for f in finalizers(obj) if f != finalizer]
        patch = {"metadata": {"finalizers": rest or None,
                              "resourceVersion": meta["resourceVersion"]}}
        try:
            self.client.patch(rt.plural, meta["name"], patch, meta.get("namespace"))
        except NotFound:
            pass
