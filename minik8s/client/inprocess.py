"""The in-process client: the Client protocol over the API server's request pipeline.

client-go talks HTTP to kube-apiserver. Inside one Python process there is no need:
this client builds the same `Request` the HTTP layer would and hands it to
`APIServer.handle`, so a component gets exactly the defaulting, validation,
admission and typed errors it would get over the wire, in microseconds and without
sockets. The simulator runs a whole cluster this way.

Each call returns freshly decoded objects: a caller may change what it got without
affecting anyone else. (Informer caches are different: they share.)
"""
from __future__ import annotations

import copy
from typing import Optional

from minik8s.api.registry import REGISTRY

from minik8s.apiserver.request import Request

from .interface import ListResult, WatchStream, binding_body, eviction_body

PATCH_TYPES = ("merge", "json", "strategic", "apply")


class InProcessClient:
    def __init__(self, server, *, token: str = "", user=None):
        self.server = server
        self.token = token
        self.user = user

    def _do(self, verb: str, resource: str, **kw):
        # The pipeline may change the body it is given (defaulting, allocation); the
        # caller's dict must stay as it was, as it would over HTTP.
        if kw.get("body") is not None:
            kw["body"] = copy.deepcopy(kw["body"])
        return self.server.handle(Request(verb, resource, token=self.token, user=self.user, **kw))

    # --- reads -------------------------------------------------------------

    def get(self, resource: str, name: str, namespace: Optional[str] = None) -> dict:
        return self._do("get", resource, namespace=namespace, name=name)

    def list(self, resource: str, namespace: Optional[str] = None, *, label_selector: str = "",
             field_selector: str = "", resource_version: str = "", limit: int = 0,
             continue_token: str = "") -> ListResult:
        return self._do("list", resource, namespace=namespace, label_selector=label_selector,
                        field_selector=field_selector, resource_version=resource_version,
                        limit=limit, continue_token=continue_token)

    def watch(self, resource: str, namespace: Optional[str] = None, *,
              resource_version: str = "", label_selector: str = "", field_selector: str = "",
              allow_bookmarks: bool = False, timeout_seconds: Optional[int] = None) -> WatchStream:
        return self._do("watch", resource, namespace=namespace,
                        resource_version=resource_version, label_selector=label_selector,
                        field_selector=field_selector, allow_bookmarks=allow_bookmarks,
                        timeout_seconds=timeout_seconds)

    # --- writes ------------------------------------------------------------

    def create(self, obj: dict, namespace: Optional[str] = None, *, dry_run: bool = False) -> dict:
        rt = REGISTRY.for_object(obj)
        ns = namespace or (obj.get("metadata") or {}).get("namespace") or "default"
        return self._do("create", rt.plural, group=rt.group, namespace=ns, body=obj,
                        dry_run=dry_run)

    def update(self, obj: dict, *, dry_run: bool = False) -> dict:
        return self._put(obj, "", dry_run)

    def update_status(self, obj: dict) -> dict:
        return self._put(obj, "status", False)

    def finalize(self, namespace: dict) -> dict:
        return self._put(namespace, "finalize", False)

    def _put(self, obj: dict, subresource: str, dry_run: bool) -> dict:
        rt = REGISTRY.for_object(obj)
        meta = obj.get("metadata") or {}
        return self._do("update", rt.plural, group=rt.group,
                        namespace=meta.get("namespace") or "default", name=meta.get("name", ""),
                        subresource=subresource, body=obj, dry_run=dry_run)

    def patch(self, resource: str, name: str, patch, namespace: Optional[str] = None, *,
              patch_type: str = "merge", subresource: str = "", dry_run: bool = False) -> dict:
        return self._do("patch", resource, namespace=namespace, name=name, body=patch,
                        patch_type=patch_type, subresource=subresource, dry_run=dry_run)

    def delete(self, resource: str, name: str, namespace: Optional[str] = None, *,
               propagation_policy: str = "", grace_period_seconds: Optional[int] = None,
               preconditions: Optional[dict] = None, dry_run: bool = False) -> dict:
        return self._do("delete", resource, namespace=namespace, name=name,
                        propagation_policy=propagation_policy,
                        grace_period_seconds=grace_period_seconds,
                        preconditions=preconditions, dry_run=dry_run)

    # --- subresources ------------------------------------------------------

    def bind(self, namespace: str, pod_name: str, node_name: str, *, pod_uid: str = "") -> None:
        body = binding_body(namespace, pod_name, node_name, pod_uid)
        self._do("create", "pods", namespace=namespace, name=pod_name, subresource="binding",
                 body=body)

    def get_scale(self, resource: str, name: str, namespace: str) -> dict:
        return self._do("get", resource, namespace=namespace, name=name, subresource="scale")

    def scale(self, resource: str, name: str, namespace: str, replicas: int) -> dict:
        return self._do("patch", resource, namespace=namespace, name=name, subresource="scale",
                        body={"spec": {"replicas": replicas}}, patch_type="merge")

    def evict(self, namespace: str, pod_name: str, *,
              grace_period_seconds: Optional[int] = None) -> None:
        body = eviction_body(namespace, pod_name, grace_period_seconds)
        self._do("create", "pods", namespace=namespace, name=pod_name, subresource="eviction",
                 body=body)

    def log(self, namespace: str, pod_name: str, *, container: str = "",
            tail_lines: Optional[int] = None, previous: bool = False) -> str:
        params = {"container": container, "tailLines": tail_lines, "previous": previous}
        # tailLines=0 means "no lines": keep it; only leave out what was not given.
        return self._do("get", "pods", namespace=namespace, name=pod_name, subresource="log",
                        params={k: v for k, v in params.items() if v is not None})
