"""Deployment helpers: the pod-template-hash, revisions, annotations and sizes.

In Kubernetes these are `pkg/controller/deployment/util/deployment_util.go` and
`controller.ComputeHash`. A Deployment never runs pods itself: it owns ReplicaSets,
one per pod template it has had, named `<deployment>-<pod-template-hash>`:

- the **pod-template-hash** is a hash of the template, added as a label to the
  ReplicaSet's template and selector so the ReplicaSets of one Deployment never
  select each other's pods. Kubernetes hashes the printed template with fnv32a (plus
  `status.collisionCount`); here fnv32a runs over canonical JSON of the *normalised*
  template (defaulted, without nulls, empty maps or the hash label), rendered the way
  Kubernetes renders it (its decimal digits in the alphabet "bcdfghjklmnpqrstvwxz2456789").
  So the template `kubectl rollout undo` writes back hashes to the old ReplicaSet's name;
- the **new ReplicaSet** is the oldest one whose template equals the Deployment's
  (ignoring the hash label); every other is **old**;
- `deployment.kubernetes.io/revision` counts templates: the new ReplicaSet gets
  max(old revisions) + 1 (so a rollback's re-used ReplicaSet moves to the top), and
  the Deployment carries its new ReplicaSet's revision;
- `desired-replicas` and `max-replicas` on each ReplicaSet remember the Deployment's
  size when it was last scaled, for proportional scaling.

All pure functions over plain dicts.
"""
from __future__ import annotations

import functools
import json
import struct
from typing import Optional

from ..api.defaults_pod import normalize_template
from ..api.intstr import scaled_value
from ..api.meta import get_path, parse_time

POD_TEMPLATE_HASH = "pod-template-hash"       # apps/v1 DefaultDeploymentUniqueLabelKey
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
# Deployment annotations never copied onto its ReplicaSets.
ANNOTATIONS_TO_SKIP = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS,
                                 MAX_REPLICAS, ROLLBACK_TO})
MAX_REV_HISTORY_CHARS = 2000

_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


# --- the pod-template-hash --------------------------------------------------------------

def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(s: str) -> str:
    """rand.SafeEncodeString: each character mapped into the no-vowel alphabet."""
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in s)


def pod_template_hash(template: dict, collision_count: Optional[int] = None) -> str:
    """controller.ComputeHash over the normalised template (and the collision count)."""
    canonical = json.dumps(normalize_template(template), sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False).encode()
    if collision_count is not None:
        canonical += struct.pack("<I", collision_count & 0xFFFFFFFF)
    return safe_encode(str(fnv32a(canonical)))


def equal_ignore_hash(t1: Optional[dict], t2: Optional[dict]) -> bool:
    """EqualIgnoreHash: the same pods, whatever the pod-template-hash label says (and
    however null/empty fields were spelled, e.g. by `kubectl rollout undo`)."""
    return normalize_template(t1 or {}) == normalize_template(t2 or {})


# --- finding and ordering ReplicaSets --------------------------------------------------------

def _created(rs: dict) -> float:
    return parse_time(get_path(rs, "metadata", "creationTimestamp")) or 0.0


def by_creation(rss: list) -> list:
    """ReplicaSetsByCreationTimestamp: oldest first, then by name."""
    return sorted(rss, key=lambda r: (_created(r), r["metadata"]["name"]))


def by_revision(rss: list) -> list:
    """ReplicaSetsByRevision: lowest revision first, then oldest."""
    return sorted(rss, key=lambda r: (revision_of(r), _created(r), r["metadata"]["name"]))


def by_size(rss: list, newer_first: bool) -> list:
    """ReplicaSetsBySizeNewer/Older: largest first; equal sizes newest (or oldest) first."""
    def cmp(a, b):
        ra, rb = replicas_of(a), replicas_of(b)
        if ra != rb:
            return -1 if ra > rb else 1
        ta, tb = _created(a), _created(b)
        if ta == tb:
            return 0
        return (-1 if ta > tb else 1) if newer_first else (-1 if ta < tb else 1)
    return sorted(rss, key=functools.cmp_to_key(cmp))


def find_new_replicaset(deployment: dict, rss: list) -> Optional[dict]:
    """The oldest ReplicaSet whose template is the Deployment's (ignoring the hash)."""
    template = get_path(deployment, "spec", "template")
    # BEGIN LAB 05: rollback — which ReplicaSet is the Deployment's current template?
    # After `kubectl rollout undo` the template is an old one again: its ReplicaSet,
    # not a fresh one, must be found (compare templates, not names or hashes).
    for rs in by_creation(rss):
        if equal_ignore_hash(get_path(rs, "spec", "template"), template):
            return rs
    return None
    # END LAB 05


def find_old_replicasets(deployment: dict, rss: list) -> tuple:
    """(old ReplicaSets with replicas > 0, all old ReplicaSets)."""
    new = find_new_replicaset(deployment, rss)
    all_old = [rs for rs in rss if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]]
    return [rs for rs in all_old if replicas_of(rs) != 0], all_old


def active(rss: list) -> list:
    """FilterActiveReplicaSets: those with spec.replicas > 0."""
    return [rs for rs in rss if rs is not None and replicas_of(rs) > 0]


def find_active_or_latest(new_rs: Optional[dict], old_rss: list) -> Optional[dict]:
    """The only active ReplicaSet, or the newest one if none is active; None when
    several are active (a rollout is under way)."""
    if new_rs is None and not old_rss:
        return None
    olds = list(reversed(by_creation(old_rss)))
    actives = active(olds + [new_rs])
    if not actives:
        return new_rs if new_rs is not None else olds[0]
    return actives[0] if len(actives) == 1 else None


# --- revisions and annotations ------------------------------------------------------------

def revision_of(obj: dict) -> int:
    raw = (get_path(obj, "metadata", "annotations") or {}).get(REVISION)
    try:
        return int(raw) if raw else 0
    except ValueError:
        return 0


def max_revision(rss: list) -> int:
    return max([revision_of(rs) for rs in rss] or [0])


def set_new_replicaset_annotations(deployment: dict, rs: dict, new_revision: int,
                                   exists: bool) -> bool:
    """SetNewReplicaSetAnnotations, in place: copy the Deployment's annotations, raise
    the revision to `new_revision` (never lower it), remember the revisions a re-used
    ReplicaSet had (revision-history), and on a new one set the replica annotations.
    True if anything changed."""
    annotations = rs["metadata"].setdefault("annotations", {})
    changed = copy_deployment_annotations(deployment, rs)
    old = annotations.get(REVISION)
    try:
        old_int = int(old) if old else 0
    except ValueError:
        return changed
    # BEGIN LAB 05: rollback — the re-used ReplicaSet becomes the newest revision
    # Never lower a revision; a ReplicaSet that had one (a rollback target) remembers
    # it in revision-history, so `kubectl rollout history` can still explain it.
    if old_int < new_revision:
        annotations[REVISION] = str(new_revision)
        changed = True
        if old:
            history = [h for h in annotations.get(REVISION_HISTORY, "").split(",") if h]
            while history and len(",".join(history + [old])) > MAX_REV_HISTORY_CHARS:
                history.pop(0)
            annotations[REVISION_HISTORY] = ",".join(history + [old])
    # END LAB 05
    if not exists and set_replicas_annotations(rs, replicas_of(deployment),
                                               replicas_of(deployment) + max_surge(deployment)):
        changed = True
    return changed


def copy_deployment_annotations(deployment: dict, rs: dict) -> bool:
    annotations = rs["metadata"].setdefault("annotations", {})
    changed = False
    for k, v in (get_path(deployment, "metadata", "annotations") or {}).items():
        if k in ANNOTATIONS_TO_SKIP or annotations.get(k) == v:
            continue
        annotations[k] = v
        changed = True
    return changed


def set_deployment_revision(deployment: dict, revision) -> bool:
    annotations = deployment["metadata"].setdefault("annotations", {})
    if revision is None or annotations.get(REVISION) == str(revision):
        return False
    annotations[REVISION] = str(revision)
    return True


def set_replicas_annotations(rs: dict, desired: int, maximum: int) -> bool:
    annotations = rs["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if annotations.get(key) != value:
            annotations[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: dict, desired: int, maximum: int) -> bool:
    annotations = get_path(rs, "metadata", "annotations") or {}
    return (annotations.get(DESIRED_REPLICAS) != str(desired)
            or annotations.get(MAX_REPLICAS) != str(maximum))


def desired_replicas_annotation(rs: dict) -> Optional[int]:
    """The Deployment size this ReplicaSet was last scaled for (None: unknown)."""
    return _int_annotation(rs, DESIRED_REPLICAS)


def _int_annotation(rs: dict, key: str) -> Optional[int]:
    raw = (get_path(rs, "metadata", "annotations") or {}).get(key)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


# --- sizes --------------------------------------------------------------------------------

def replicas_of(obj: Optional[dict]) -> int:
    return (get_path(obj, "spec", "replicas") or 0) if obj else 0


def status_count(rss: list, field: str) -> int:
    """Sum of status.<field> (replicas, readyReplicas, availableReplicas) over rss."""
    return sum(get_path(rs, "status", field) or 0 for rs in rss if rs is not None)


def spec_count(rss: list) -> int:
    """GetReplicaCountForReplicaSets: the pods the ReplicaSets are *asked* to have."""
    return sum(replicas_of(rs) for rs in rss if rs is not None)


def is_rolling_update(deployment: dict) -> bool:
    return get_path(deployment, "spec", "strategy", "type") == "RollingUpdate"


def resolve_fenceposts(max_surge, max_unavailable, desired: int) -> tuple:
    """(surge, unavailable) as pod counts: surge rounds up, unavailable rounds down,
    and if both come out 0, unavailable becomes 1 (or the rollout could never move)."""
    surge = scaled_value(0 if max_surge is None else max_surge, desired, True)
    unavailable = scaled_value(0 if max_unavailable is None else max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _fenceposts(deployment: dict) -> tuple:
    rolling = get_path(deployment, "spec", "strategy", "rollingUpdate") or {}
    return resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"),
                              replicas_of(deployment))


def max_surge(deployment: dict) -> int:
    return _fenceposts(deployment)[0] if is_rolling_update(deployment) else 0


def max_unavailable(deployment: dict) -> int:
    if not is_rolling_update(deployment) or replicas_of(deployment) == 0:
        return 0
    return min(_fenceposts(deployment)[1], replicas_of(deployment))


def new_rs_new_replicas(deployment: dict, all_rss: list, new_rs: dict) -> int:
    """NewRSNewReplicas: how big the new ReplicaSet may be now. Rolling: as big as the
    surge allows (all ReplicaSets together at most replicas + maxSurge), never above
    replicas. Recreate: replicas at once."""
    replicas = replicas_of(deployment)
    if get_path(deployment, "spec", "strategy", "type") == "Recreate":
        return replicas
    current = spec_count(all_rss)
    most = replicas + max_surge(deployment)
    if current >= most:
        return replicas_of(new_rs)                   # cannot scale up
    return replicas_of(new_rs) + min(most - current, replicas - replicas_of(new_rs))


def is_saturated(deployment: dict, rs: Optional[dict]) -> bool:
    """The new ReplicaSet has all the replicas, believes so, and all are available."""
    if rs is None:
        return False
    replicas = replicas_of(deployment)
    return (replicas_of(rs) == replicas and _int_annotation(rs, DESIRED_REPLICAS) == replicas
            and (get_path(rs, "status", "availableReplicas") or 0) == replicas)


def get_proportion(rs: dict, deployment: dict, to_add: int, added: int) -> int:
    """GetProportion: this ReplicaSet's share of `to_add` more (or fewer) replicas, in
    proportion to its size when the Deployment was max-replicas big."""
    if rs is None or replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _replicaset_fraction(rs, deployment)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _replicaset_fraction(rs: dict, deployment: dict) -> int:
    if replicas_of(deployment) == 0:
        return -replicas_of(rs)
    deployment_max = replicas_of(deployment) + max_surge(deployment)
    before = _int_annotation(rs, MAX_REPLICAS)
    if not before:
        before = get_path(deployment, "status", "replicas") or 0
        if before == 0:
            return 0
    # integer.RoundToInt32: floor(x + 0.5)
    size = (replicas_of(rs) * deployment_max) / before
    return int(size + 0.5) - replicas_of(rs)
