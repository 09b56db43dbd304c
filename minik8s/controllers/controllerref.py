"""Controller references: which objects a controller may call its own.

In Kubernetes an object's controller is the one ownerReference with
`controller: true` (a pod's ReplicaSet, a ReplicaSet's Deployment). A controller
lists candidates by its label selector, then *claims* them (client-go's
ControllerRefManager):

- owned by us and still matching the selector: ours;
- owned by us but no longer matching: *release* it (drop our ownerReference) — this
  is how relabelling a pod "quarantines" it: the ReplicaSet lets it go and makes a
  replacement, and the pod lives on for debugging;
- owned by someone else: never touched;
- an orphan that matches: *adopt* it (add our controller reference), unless it is
  being deleted, or we are — checked with a fresh GET of the owner first
  (RecheckDeletionTimestamp), since the cache may not show a deletion yet.

Adopt and release are strategic-merge patches on metadata.ownerReferences, whose
merge key is the owner's uid, with the object's own uid alongside (on kube-apiserver
a uid in the patch is a precondition). A NotFound means the object went away: skip it.
"""
from __future__ import annotations

from typing import Callable, Optional

from ..api.errors import APIError, NotFound
from ..api.meta import controller_of, get_path
from .base import Retry


def controller_ref(owner: dict, api_version: str, kind: str) -> dict:
    """metav1.NewControllerRef: the ownerReference a controller puts on what it makes."""
    return {"apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def owned_by(obj: dict, owner: dict) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == get_path(owner, "metadata", "uid")


class ControllerRefManager:
    """Claims `resource` objects for `owner` (kind `kind`, group-version `api_version`)."""

    def __init__(self, client, owner: dict, selector, resource: str, api_version: str,
                 kind: str, fetch_owner: Callable[[], dict]):
        self.client = client
        self.owner = owner
        self.selector = selector
        self.resource = resource
        self.api_version, self.kind = api_version, kind
        self.fetch_owner = fetch_owner
        self._can_adopt: Optional[Exception] = None   # why adoption is refused
        self._checked = False

    def claim(self, objects: list) -> list:
        """The objects that are ours after adopting and releasing. The first API error
        is raised after every object was looked at (as ClaimObject aggregates)."""
        claimed, errors = [], []
        owner_deleting = bool(get_path(self.owner, "metadata", "deletionTimestamp"))
        for obj in objects:
            labels = get_path(obj, "metadata", "labels") or {}
            matches = self.selector.matches(labels)
            ref = controller_of(obj)
            try:
                if ref is not None:
                    if ref.get("uid") != self.owner["metadata"]["uid"]:
                        continue                      # someone else's
                    if matches:
                        claimed.append(obj)
                    elif not owner_deleting:
                        self.release(obj)
                    continue
                if owner_deleting or not matches or get_path(obj, "metadata",
                                                             "deletionTimestamp"):
                    continue
                self.can_adopt()
                if self.adopt(obj):
                    claimed.append(obj)
            except (APIError, Retry) as e:            # Retry: the owner is gone or going
                errors.append(e)
        if errors:
            raise errors[0]
        return claimed

    def can_adopt(self) -> None:
        """RecheckDeletionTimestamp, done once per claim: the owner as the server has it
        now must be the same object (uid) and not being deleted."""
        if not self._checked:
            self._checked = True
            meta = self.owner["metadata"]
            try:
                fresh = self.fetch_owner()
            except APIError as e:
                self._can_adopt = e
            else:
                fm = fresh.get("metadata") or {}
                if fm.get("uid") != meta["uid"]:
                    self._can_adopt = Retry(
                        f"original {self.kind} {meta.get('namespace')}/{meta['name']} is gone: "
                        f"got uid {fm.get('uid')}, wanted {meta['uid']}")
                elif fm.get("deletionTimestamp"):
                    self._can_adopt = Retry(
                        f"{meta.get('namespace')}/{meta['name']} has just been deleted at "
                        f"{fm['deletionTimestamp']}")
        if self._can_adopt is not None:
            raise self._can_adopt

    def adopt(self, obj: dict) -> bool:
        meta = obj["metadata"]
        patch = {"metadata": {"ownerReferences": [controller_ref(self.owner, self.api_version,
                                                                 self.kind)],
                              "uid": meta["uid"]}}
        try:
            self.client.patch(self.resource, meta["name"], patch, meta.get("namespace"),
                              patch_type="strategic")
        except NotFound:
            return False
        return True

    def release(self, obj: dict) -> None:
        meta = obj["metadata"]
        patch = {"metadata": {"ownerReferences": [{"$patch": "delete",
                                                   "uid": self.owner["metadata"]["uid"]}],
                              "uid": meta["uid"]}}
        try:
            self.client.patch(self.resource, meta["name"], patch, meta.get("namespace"),
                              patch_type="strategic")
        except NotFound:
            pass                                      # gone already: nothing to release
