"""The property tests can fail: each planted bug (tests/planted/) is caught.

The same state machine as tests/test_property_cluster.py — random user actions and
faults on a simulated cluster, invariants after every step, liveness at the end —
runs with one controller of the controller-manager swapped for a buggy variant. It
must report an invariant violation, deterministically (a derandomized profile) and
within the CI budget (shrinking is skipped: we only need the failure). The real
controllers pass the very same runs, in test_property_cluster.py and below.

Two controller-managers at once are the fifth case: without leader election both
act, which the invariants must catch; with the Lease only one acts, and all is well.
"""
import pytest
from hypothesis import Phase, settings

from minik8s.testing import InvariantViolated
from planted.act_by_name import ActByNameDeploymentController
from planted.edge_triggered import EdgeTriggeredReplicaSetController
from planted.no_expectations import NoExpectationsReplicaSetController
from test_property_cluster import FAULTS, ClusterMachine, profile, run_machine

# Find, don't shrink: a failure is all we need here, and shrinking re-runs it many times.
FIND = dict(phases=[Phase.explicit, Phase.generate], report_multiple_bugs=False)


def machine(name, overrides=None, faults=None, **attrs):
    attrs.update(controller_overrides=overrides or {}, node_rules=False)
    if faults is not None:
        attrs["faults"] = faults
    return type(name, (ClusterMachine,), attrs)


def faults_named(*names):
    return [f for f in FAULTS if f[0] in names]


CM = "controller-manager"
CRASHES = [f for f in FAULTS if f[0] == "crash_controller"]
LAGGING_CACHE = [f for f in FAULTS if f[0] in ("delay_watch", "stale_reads") and
                 f[1]["component"] == CM]
PLANTED = {
    "edge_triggered": machine("EdgeTriggered",
                              {"replicaset": EdgeTriggeredReplicaSetController}, CRASHES),
    "act_by_name": machine("ActByName", {"deployment": ActByNameDeploymentController},
                           LAGGING_CACHE),
    "no_expectations": machine("NoExpectations",
                               {"replicaset": NoExpectationsReplicaSetController},
                               LAGGING_CACHE),
}


def find_violation(machine_cls, max_examples):
    with pytest.raises(InvariantViolated) as caught:
        run_machine(machine_cls, settings(profile("ci"), max_examples=max_examples), **FIND)
    return caught.value


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_the_property_test_catches_the_planted_bug(bug):
    violation = find_violation(PLANTED[bug], max_examples=40)
    assert violation.violations, violation
    assert "replay: PYTHONHASHSEED=0 python -m minik8s.sim.replay" in str(violation)


def two_managers_scale_up(leader_elect):
    """The user scales up while a second controller-manager runs beside the first."""
    run = machine("TwoManagers", leader_elect=leader_elect)()
    run.start(seed=1, nodes=2, durable=False, interleave=True, replicas=2, fence=(1, 0))
    try:
        run.sim.faults.second_controller_manager.on(leader_elect=leader_elect)
        run.safety()
        run.run(iterations=20)
        run.scale_deployment(name="web", replicas=4)
        run.create_replicaset(name="batch", replicas=3)
        run.safety()
        run.run(iterations=100)
    except BaseException:
        run.checker.close()
        run.sim.close()
        raise
    run.teardown()                      # liveness, then close


def test_two_controller_managers_without_a_lease_are_caught():
    """Both ReplicaSet controllers create the missing pods: more than anyone asked for."""
    with pytest.raises(InvariantViolated, match="replicaset_ceiling"):
        two_managers_scale_up(leader_elect=False)


def test_two_controller_managers_with_a_lease_keep_every_promise():
    two_managers_scale_up(leader_elect=True)
