"""One API request, as the pipeline sees it: no HTTP in it.

kube-apiserver turns every HTTP request into "request info" (verb, resource,
namespace, name, subresource) plus options, then runs the same chain for all of them:
authenticate -> authorize -> admission -> storage. The HTTP layer (next issue) builds
a `Request` from a URL; the in-process client builds one directly. Either way the
pipeline below answers it the same way, which is why an in-process test shows exactly
what kubectl will see.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

# Kubernetes' verbs (the RBAC vocabulary): "update" is PUT, "patch" is PATCH.
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple = ()
    uid: str = ""


ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))
ADMIN = UserInfo("minik8s-admin", ("system:masters", "system:authenticated"))


@dataclass
class Request:
    verb: str
    resource: str                      # the plural ("pods") or any name kubectl accepts
    namespace: Optional[str] = None
    name: str = ""
    subresource: str = ""
    group: Optional[str] = None        # None: resolve the resource by name alone
    body: Any = None
    # list / watch options
    label_selector: str = ""
    field_selector: str = ""
    resource_version: str = ""
    limit: int = 0
    continue_token: str = ""
    allow_bookmarks: bool = False
    timeout_seconds: Optional[int] = None
    # write options
    patch_type: str = ""               # merge | json | strategic | apply
    dry_run: bool = False
    field_manager: str = ""
    # delete options (DeleteOptions)
    propagation_policy: str = ""       # Background | Foreground | Orphan
    grace_period_seconds: Optional[int] = None
    preconditions: Optional[dict] = None
    # authentication
    token: str = ""
    user: Optional[UserInfo] = None
    # anything a subresource needs (log: container, tailLines, ...)
    params: dict = field(default_factory=dict)
