"""Records that cross the component seam: watch events and list results.

The API server returns them and every client hands them to components, so they live
at the bottom layer with the other shared vocabulary (errors, clock). A list result
carries the list's resourceVersion: the revision to start a watch from so that
nothing is missed and nothing is seen twice.
"""
from __future__ import annotations

from dataclasses import dataclass

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"


@dataclass(frozen=True)
class WatchEvent:
    type: str            # ADDED | MODIFIED | DELETED | BOOKMARK | ERROR
    object: dict         # the object (for ERROR: a Status dict, e.g. 410 Expired)


@dataclass(frozen=True)
class ListResult:
    items: list
    resource_version: str     # the list's metadata.resourceVersion: watch from here
    kind: str = ""            # e.g. "PodList"
    api_version: str = ""
    continue_token: str = ""

    def to_dict(self) -> dict:
        meta = {"resourceVersion": self.resource_version}
        if self.continue_token:
            meta["continue"] = self.continue_token
        return {"kind": self.kind, "apiVersion": self.api_version, "metadata": meta,
                "items": self.items}
