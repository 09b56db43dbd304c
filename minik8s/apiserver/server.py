"""The API server's request pipeline: authenticate -> authorize -> admit -> store.

kube-apiserver is the only component that talks to etcd. Every request, whatever
its transport, goes through the same chain: who are you (authentication), may you
do this (authorization, RBAC), is the object acceptable and what must be filled in
(admission: defaulting, allocation, validation), and finally the REST storage of the
resource, which turns the request into etcd transactions.

This module is that chain with no HTTP in it: `APIServer.handle(Request)` returns an
object, a ListResult or a WatchStream, or raises a typed error from
`minik8s.api.errors`. The in-process client calls it directly; the HTTP layer maps
URLs to `Request`s and errors to `Status` bodies. So a test through the in-process
client exercises exactly the code kubectl reaches.

Determinism: uids, generated names and allocations come from `rng`, timestamps from
`clock`; the same seed and the same calls give byte-identical objects.
"""
from __future__ import annotations

import random
import threading

from minik8s.api import errors
from minik8s.api.clock import RealClock
from minik8s.api.meta import random_suffix
from minik8s.api.patch import apply_patch
from minik8s.api.registry import REGISTRY
from minik8s.api.selectors import check_field_selector, parse_field_selector, parse_label_selector

from . import allocators, auth, deletion, subresources
from .admission import Admission, admit
from .request import Request
from .storage import ObjectStorage, parse_rv
from .strategy import (bump_generation, prepare_for_create, prepare_for_status_update,
                       prepare_for_update)
from .watch import ErrorWatch, ObjectWatch

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
MAX_CONFLICT_RETRIES = 5   # PATCH re-reads and retries on Conflict, as kube-apiserver does


class APIServer:
    def __init__(self, store, clock=None, rng=None, *, registry=REGISTRY,
                 default_toleration_seconds: int = 300, authenticator=None, authorizer=None,
                 node_proxy=None):
        self.store = store
        self.clock = clock or RealClock()
        self.rng = rng or random.Random()
        self.registry = registry
        self.storage = ObjectStorage(store)
        self.default_toleration_seconds = default_toleration_seconds
        self.authenticate = authenticator or auth.allow_all_authenticator
        self.authorize = authorizer or auth.allow_all_authorizer
        self.node_proxy = node_proxy          # pods/log etc.: set by the bring-up layer
        # Allocation (ClusterIPs, NodePorts, pod CIDRs, generated names) reads the store
        # and then writes: one lock makes choose-then-write atomic across threads.
        self._write_lock = threading.RLock()
        self.pod_cidrs = allocators.UsedIndex(
            store, self.registry.lookup("nodes").prefix(),
            lambda node: (node.get("spec") or {}).get("podCIDR"))
        self.next_pod_cidr = 0       # the range allocator's rolling offset
        self._bootstrap()

    def _bootstrap(self) -> None:
        for ns in SYSTEM_NAMESPACES:
            try:
                self.handle(Request("create", "namespaces", body={
                    "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
            except errors.AlreadyExists:
                pass

    # --- helpers for admission and subresources (no auth: the server itself) ---

    def read(self, resource: str, name: str, namespace=None) -> dict:
        rt = self.registry.lookup(resource)
        return self.storage.get(rt, namespace if rt.namespaced else None, name)

    def list_all(self, resource: str) -> list:
        return self.storage.list(self.registry.lookup(resource), None).items

    # --- the pipeline ------------------------------------------------------

    def handle(self, req: Request):
        rt = self._resolve(req)
        user = req.user or self.authenticate(req)
        self.authorize(user, req, rt)
        if req.subresource:
            return subresources.handle(self, req, rt)
        verb = req.verb
        if verb == "get":
            return self.storage.get(rt, self._ns(rt, req), req.name)
        if verb == "list":
            return self._list(req, rt)
        if verb == "watch":
            return self._watch(req, rt)
        if verb == "create":
            return self.create(rt, req.body, self._ns(rt, req), dry_run=req.dry_run)
        if verb == "update":
            return self.update(rt, req.body, self._ns(rt, req), req.name, dry_run=req.dry_run)
        if verb == "patch":
            return self.patch(rt, req, self._ns(rt, req))
        if verb == "delete":
            return deletion.response(rt, deletion.delete(self, rt, self._ns(rt, req), req.name, req))
        if verb == "deletecollection":
            return deletion.delete_collection(self, rt, req, self._match(req, rt))
        raise errors.MethodNotAllowed(f"verb {verb!r} is not supported")

    def _resolve(self, req: Request):
        try:
            if req.group is not None:
                return self.registry.by_resource(req.resource, req.group)
            return self.registry.lookup(req.resource)
        except errors.NotFound as e:
            raise errors.NotFound(e.message) from None

    @staticmethod
    def _ns(rt, req: Request):
        if not rt.namespaced:
            return None
        if not req.namespace and req.verb not in ("list", "watch", "deletecollection"):
            raise errors.BadRequest("the namespace of the object is required for "
                                    f"{rt.plural}")
        return req.namespace or None

    def _match(self, req: Request, rt):
        """The filter of a list/watch: label selector AND field selector AND name."""
        labels = parse_label_selector(req.label_selector) if req.label_selector else None
        fields = parse_field_selector(req.field_selector) if req.field_selector else None
        if fields is not None:
            check_field_selector(rt.kind, fields)
        if labels is None and fields is None:
            return None

        def match(obj):
            if labels is not None and not labels.matches(obj["metadata"].get("labels") or {}):
                return False
            return fields is None or fields.matches(obj)
        return match

    def _list(self, req: Request, rt):
        if req.resource_version not in ("", "0"):
            parse_rv(req.resource_version)
        return self.storage.list(rt, self._ns(rt, req), match=self._match(req, rt),
                                 limit=req.limit, continue_token=req.continue_token)

    def _watch(self, req: Request, rt):
        match = self._match(req, rt)
        try:
            initial, watcher = self.storage.watch_from(rt, self._ns(rt, req),
                                                       req.resource_version)
        except errors.Gone as e:
            # A watch answers "too old" in-band, as one ERROR event, like kube-apiserver.
            return ErrorWatch(e.to_status())
        return ObjectWatch(rt, watcher, initial=initial, match=match, clock=self.clock,
                           timeout_seconds=req.timeout_seconds,
                           allow_bookmarks=req.allow_bookmarks,
                           current_revision=lambda: self.store.revision)

    # --- writes ------------------------------------------------------------

    def create(self, rt, body, namespace, *, dry_run: bool = False) -> dict:
        obj = self._check_body(rt, body, namespace)
        meta = obj["metadata"]
        with self._write_lock:
            if not meta.get("name"):
                if not meta.get("generateName"):
                    raise errors.invalid(rt.kind, "", [errors.Cause(
                        "metadata.name", "FieldValueRequired",
                        "Required value: name or generateName is required")], rt.group)
                meta["name"] = self._generate_name(rt, namespace, meta["generateName"])
            prepare_for_create(rt, obj, self.clock, self.rng)
            admit(Admission(self, "CREATE", rt, obj))
            if dry_run:
                return obj
            return self.storage.create(rt, obj)

    def _generate_name(self, rt, namespace, prefix: str) -> str:
        # Kubernetes appends 5 random characters and lets the create fail on a clash;
        # we hold the write lock, so we can simply pick one that is free.
        for _ in range(100):
            name = prefix[:58] + random_suffix(self.rng)
            try:
                self.storage.get(rt, namespace, name)
            except errors.NotFound:
                return name
        raise errors.ServerTimeout(f"could not generate a unique name from {prefix!r}")

    def update(self, rt, body, namespace, name, *, dry_run: bool = False,
               _status: bool = False) -> dict:
        """PUT: replace the object. The body's resourceVersion, if any, must be current."""
        obj = self._check_body(rt, body, namespace, name)
        rv = obj["metadata"].get("resourceVersion")
        with self._write_lock:
            old = self.storage.get(rt, namespace, name)
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, name, errors.STALE, rt.group)
            return self._store_update(rt, obj, old, dry_run=dry_run, status=_status)

    def _store_update(self, rt, obj, old, *, dry_run=False, status=False) -> dict:
        """Admit `obj` as the successor of `old` and write it guarded by old's rv. A
        uid in `obj` is a precondition (kube-apiserver's registry does the same): a
        controller patching "this pod, uid X" must not hit a namesake."""
        deletion._check_preconditions(rt, old, {"uid": obj["metadata"].get("uid")})
        if status:
            obj = prepare_for_status_update(rt, obj, old)
        else:
            prepare_for_update(rt, obj, old)
            admit(Admission(self, "UPDATE", rt, obj, old))
            bump_generation(rt, obj, old)
        obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if obj == old:
            return old      # nothing changed: no write, no new resourceVersion (as k8s)
        if dry_run:
            return obj
        expected = int(old["metadata"]["resourceVersion"])
        if deletion.ready_to_remove(obj):
            # The last finalizer is gone from an object being deleted: remove it now.
            return self.storage.delete(rt, obj["metadata"].get("namespace"),
                                       obj["metadata"]["name"], expected)
        return self.storage.update(rt, obj, expected)

    def patch(self, rt, req: Request, namespace, *, subresource: str = "") -> dict:
        for _ in range(MAX_CONFLICT_RETRIES):
            try:
                old = self.storage.get(rt, namespace, req.name)
            except errors.NotFound:
                if req.patch_type == "apply":       # server-side apply creates
                    return self.create(rt, req.body, namespace, dry_run=req.dry_run)
                raise
            new = apply_patch(old, req.body, req.patch_type or "merge", rt.kind)
            new.setdefault("metadata", {})
            # A resourceVersion inside the patch is a precondition (kubectl diff does it);
            # otherwise the patch applies to whatever is current.
            patch_meta = req.body.get("metadata") if isinstance(req.body, dict) else None
            wanted_rv = (patch_meta or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, req.name, errors.STALE, rt.group)
            deletion._check_preconditions(rt, old, {"uid": (patch_meta or {}).get("uid")})
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            for f in ("name", "namespace"):
                if new["metadata"].get(f) != old["metadata"].get(f):
                    raise errors.BadRequest(f"metadata.{f} cannot be changed by a patch")
            try:
                with self._write_lock:
                    return self._store_update(rt, new, old, dry_run=req.dry_run,
                                              status=subresource == "status")
            except errors.Conflict:
                if wanted_rv:
                    raise
        raise errors.conflict(rt.plural, req.name, errors.STALE, rt.group)

    def _wrong_kind(self, rt, kind, api_version) -> str:
        """kube-apiserver's decoding error for a body of another kind than the URL's."""
        head = f'{kind} in version "{api_version}" cannot be handled as a {rt.kind}'
        try:
            other = self.registry.for_object({"kind": kind, "apiVersion": api_version})
        except errors.NotFound:
            return f'{head}: no kind "{kind}" is registered for version "{api_version}"'
        return (f"{head}: converting ({other.version}.{other.kind}) to "
                f"({rt.group or 'core'}.{rt.kind}): unknown conversion")

    def _check_body(self, rt, body, namespace, name: str = "") -> dict:
        """The request body must be an object of this resource, in this namespace."""
        if not isinstance(body, dict):
            raise errors.BadRequest("the body of the request was in an unknown format: "
                                    "expected a JSON object")
        # The body is ours to change: HTTP decoded it for this request, and the
        # in-process client hands over a copy of its caller's dict.
        obj = body
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind is None and api_version is None:
            obj["kind"], obj["apiVersion"] = rt.kind, rt.api_version
        elif kind != rt.kind or api_version != rt.api_version:
            raise errors.BadRequest(self._wrong_kind(rt, kind, api_version))
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.BadRequest("metadata must be an object")
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise errors.BadRequest("the namespace of the provided object does not match "
                                        "the namespace sent on the request")
            meta["namespace"] = body_ns or namespace
        else:
            meta.pop("namespace", None)
        if name:
            if meta.get("name") and meta["name"] != name:
                raise errors.BadRequest("the name of the object "
                                        f"({meta['name']}) does not match the name on the URL ({name})")
            meta["name"] = name
        return obj
