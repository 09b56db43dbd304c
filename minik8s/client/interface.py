"""The Client protocol: how every component talks to the API server.

In Kubernetes, components never touch etcd; they use client-go against the API
server and meet each other only through API objects. minik8s keeps that rule. A
component is constructed with a `Client`, a `Clock` and a `random.Random`; which
client it gets decides where it runs:

- `InProcessClient` calls the API server's request pipeline directly (same
  defaulting, validation, admission and typed errors; no sockets). Tests and the
  simulator use it.
- `HTTPClient` speaks the REST API over HTTP (a real cluster).
- wrappers (`RecordingClient`, `FaultClient`) sit in front of either.

`resource` arguments accept anything kubectl would: "pods", "pod", "po", "Pod",
"deployments.apps". Objects are plain dicts; the client never returns an object
another caller also holds (each call decodes fresh), but informer caches do share.

Watches are pull-based (`WatchStream.poll()` never blocks), so whoever runs the
component decides when it sees each event: a thread's `run()` loop, or the
simulator's harness.
"""
from __future__ import annotations

from typing import Optional, Protocol, runtime_checkable

# The records that cross the seam live at the bottom layer (the API server returns
# them too); they are re-exported here for components.
from minik8s.api.wire import (ADDED, BOOKMARK, DELETED, ERROR, MODIFIED,  # noqa: F401
                              ListResult, WatchEvent)


@runtime_checkable
class WatchStream(Protocol):
    """Events in resourceVersion order. A 410 shows up as one ERROR event whose object
    is a Status with code 410, after which the stream is closed: relist."""

    def poll(self) -> list:
        """Every event available now (maybe none). Never blocks."""

    def wait(self, timeout: Optional[float]) -> list:
        """Block up to `timeout` for at least one event. Only for run() loops.
        It waits in real time even under a FakeClock (the in-process stream waits on the
        store's condition); simulated runs call poll() from step() instead."""

    def close(self) -> None: ...

    @property
    def closed(self) -> bool: ...


@runtime_checkable
class Client(Protocol):
    def get(self, resource: str, name: str, namespace: Optional[str] = None) -> dict: ...

    def list(self, resource: str, namespace: Optional[str] = None, *,
             label_selector: str = "", field_selector: str = "",
             resource_version: str = "", limit: int = 0, continue_token: str = "") -> ListResult:
        """namespace=None lists across all namespaces (kubectl -A)."""

    def create(self, obj: dict, namespace: Optional[str] = None, *,
               dry_run: bool = False) -> dict:
        """The resource comes from obj's apiVersion/kind. Honours metadata.generateName."""

    def update(self, obj: dict, *, dry_run: bool = False) -> dict:
        """PUT. metadata.resourceVersion, when set, is a precondition (else Conflict)."""

    def update_status(self, obj: dict) -> dict:
        """PUT on the status subresource: only `status` changes."""

    def finalize(self, namespace: dict) -> dict:
        """PUT namespaces/<name>/finalize: only `spec.finalizers` changes (the
        namespace controller's last step)."""

    def patch(self, resource: str, name: str, patch, namespace: Optional[str] = None, *,
              patch_type: str = "merge", subresource: str = "", dry_run: bool = False) -> dict:
        """patch_type: "merge" (RFC 7386), "json" (RFC 6902, a list of ops),
        "strategic" (Kubernetes strategic merge patch), "apply" (server-side apply)."""

    def delete(self, resource: str, name: str, namespace: Optional[str] = None, *,
               propagation_policy: str = "", grace_period_seconds: Optional[int] = None,
               preconditions: Optional[dict] = None, dry_run: bool = False) -> dict:
        """What kube-apiserver answers: the object as it is now when it is still there
        (marked with deletionTimestamp: finalizers, a pod's grace period); once removed,
        the object's last state for pods, services, serviceaccounts and namespaces, and a
        `Status` (status: Success, details: name/kind/uid) for every other resource."""

    def watch(self, resource: str, namespace: Optional[str] = None, *,
              resource_version: str = "", label_selector: str = "", field_selector: str = "",
              allow_bookmarks: bool = False, timeout_seconds: Optional[int] = None) -> WatchStream:
        """resource_version "" = synthetic ADDED for every existing object, then live;
        "N" = every change after N (410 ERROR event if N was compacted)."""

    # --- subresources ---------------------------------------------------------
    def bind(self, namespace: str, pod_name: str, node_name: str, *,
             pod_uid: str = "") -> None:
        """pods/binding: sets spec.nodeName once (Conflict if already bound)."""

    def get_scale(self, resource: str, name: str, namespace: str) -> dict: ...

    def scale(self, resource: str, name: str, namespace: str, replicas: int) -> dict:
        """Set spec.replicas through the scale subresource; returns the Scale."""

    def evict(self, namespace: str, pod_name: str, *,
              grace_period_seconds: Optional[int] = None) -> None:
        """pods/eviction: a delete that respects disruption budgets."""

    def log(self, namespace: str, pod_name: str, *, container: str = "",
            tail_lines: Optional[int] = None, previous: bool = False) -> str: ...


# --- bodies of the subresource requests, shared by every Client implementation -----

def binding_body(namespace: str, pod_name: str, node_name: str, pod_uid: str = "") -> dict:
    """A core/v1 Binding: what the scheduler POSTs to pods/<name>/binding."""
    body = {"apiVersion": "v1", "kind": "Binding",
            "metadata": {"name": pod_name, "namespace": namespace},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}
    if pod_uid:
        body["metadata"]["uid"] = pod_uid
    return body


def eviction_body(namespace: str, pod_name: str, grace_period_seconds=None) -> dict:
    """A policy/v1 Eviction: what `kubectl drain` POSTs to pods/<name>/eviction."""
    body = {"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": pod_name, "namespace": namespace}}
    if grace_period_seconds is not None:
        body["deleteOptions"] = {"gracePeriodSeconds": grace_period_seconds}
    return body
