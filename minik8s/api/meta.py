"""Object metadata helpers shared by every layer.

API objects are plain dicts in Kubernetes' JSON shape. These helpers read and build
the parts every component touches: names and keys, timestamps in the wire formats
Kubernetes uses, uids and `generateName` suffixes drawn from a seeded random source
(so a seeded run is byte-identical), and owner references.
"""
from __future__ import annotations

import copy
import random
import uuid
from datetime import datetime, timezone

# Kubernetes' random-suffix alphabet (k8s.io/apimachinery/pkg/util/rand): no vowels, no
# confusable characters, so generated names never spell words.
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def rfc3339(t: float) -> str:
    """`metav1.Time` on the wire: second precision, UTC, `Z`."""
    return datetime.fromtimestamp(int(t), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(t: float) -> str:
    """`metav1.MicroTime` (Lease renewTime, Event eventTime): microseconds, UTC."""
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(s: str | None) -> float | None:
    """Parse either wire format back to epoch seconds."""
    if not s:
        return None
    s = s.replace("Z", "+00:00")
    return datetime.fromisoformat(s).timestamp()


def new_uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def random_suffix(rng: random.Random, n: int = 5) -> str:
    return "".join(rng.choice(_ALPHANUMS) for _ in range(n))


def name_of(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def namespace_of(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("namespace", "")


def key_of(obj: dict) -> str:
    """The work-queue key: `namespace/name`, or `name` for cluster-scoped objects."""
    ns, name = namespace_of(obj), name_of(obj)
    return f"{ns}/{name}" if ns else name


def split_key(key: str) -> tuple:
    """Inverse of key_of: (namespace or None, name)."""
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else (None, ns)


def deepcopy(obj):
    """Objects from an informer cache are shared: copy before you change one."""
    return copy.deepcopy(obj)


def owner_reference(owner: dict, controller: bool = True, block: bool = True) -> dict:
    m = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": m["name"],
            "uid": m["uid"], "controller": controller, "blockOwnerDeletion": block}


def controller_of(obj: dict) -> dict | None:
    """The ownerReference with controller=true, if any (at most one may exist)."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def get_path(obj, *path, default=None):
    """obj["a"]["b"][0]... without KeyErrors: get_path(pod, "spec", "nodeName")."""
    cur = obj
    for p in path:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and isinstance(p, int) and -len(cur) <= p < len(cur):
            cur = cur[p]
        else:
            return default
    return cur
