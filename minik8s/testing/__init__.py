"""Invariants: what Kubernetes promises, as checks any test (or student) can run.

DESIGN.md §9 lists the promises; each check here states one exactly as Kubernetes
makes it — with the conditions under which it holds — and says where the promise is
written down. Everything is a plain function of plain dicts, so a state can be
built by hand and shown to violate a promise:

    from minik8s.testing import ClusterState, check_no_overcommit
    assert check_no_overcommit(ClusterState.of([node, pod_a, pod_b])) == [...]

- state.py: ClusterState (one snapshot: objects, time, what nodes run, faults) and the
  pod facts the checks need (active, ready, available, requests, tolerations);
- invariants.py: safety on one state (one controller owner, no overcommit,
  StatefulSet ordinals, nodes run only pods bound to them, the user's spec kept);
- history.py: safety on histories (bound once and tolerated, finalizers, watch
  order, no lost update, no ReplicaSet pod beyond what was asked for) and the
  Observer that turns a cluster into a write history;
- rollout.py: the rolling-update bounds and the conditions under which they hold;
- liveness.py: what a settled cluster must look like (stable ReplicaSets, complete
  Deployments, no dangling dependents, endpoints, nodes run what the API says) and
  that writes stop;
- checker.py: Checker — all of it after every step of a simulated cluster
  (minik8s.sim), and liveness at the end.
"""
from .checker import Checker, InvariantViolated
from .history import (Change, Observer, ReplicaSetCeiling, WatchOrder, WriteRecord,
                      check_bound_once_and_tolerated, check_no_lost_update, check_removal,
                      check_watch_order)
from .invariants import (STATE_CHECKS, Violation, check_at_most_one_controller_owner,
                         check_no_overcommit, check_running_pods_known, check_spec_kept,
                         check_statefulset_ordinals_unique)
from .liveness import (LIVENESS_CHECKS, check_converged, check_deployments_complete,
                       check_endpoints_match, check_no_dangling_dependents,
                       check_nodes_run_what_api_says, check_replicasets_stable,
                       check_writes_stop)
from .rollout import (BLOCKING_FAULTS, RolloutGuard, blocking_faults, check_rollout_bounds,
                      fenceposts, rollout_counts)
from .state import ClusterState, capture, from_snapshot

__all__ = [
    "Change", "Checker", "ClusterState", "InvariantViolated", "Observer", "ReplicaSetCeiling",
    "RolloutGuard",
    "Violation", "WatchOrder", "WriteRecord", "BLOCKING_FAULTS", "LIVENESS_CHECKS",
    "STATE_CHECKS", "blocking_faults", "capture", "check_at_most_one_controller_owner",
    "check_bound_once_and_tolerated", "check_converged", "check_deployments_complete",
    "check_endpoints_match", "check_no_dangling_dependents", "check_no_lost_update",
    "check_no_overcommit", "check_nodes_run_what_api_says", "check_removal",
    "check_replicasets_stable", "check_rollout_bounds", "check_running_pods_known",
    "check_spec_kept", "check_statefulset_ordinals_unique", "check_watch_order",
    "check_writes_stop",
    "fenceposts", "from_snapshot", "rollout_counts",
]
