"""PLANTED BUG: a ReplicaSet controller without expectations.

client-go's ControllerExpectations exist because an informer cache lags the API:
right after creating 2 pods, the cache may not show them, and a reconcile that trusts
the cache sees 2 missing pods and creates them again. The real controller records
"I expect 2 creations" and does nothing for that ReplicaSet until the cache has seen
them. This variant forgets: every reconcile trusts the cache. With watch events
delivered a little late (delay_watch), a second reconcile — triggered by anything,
e.g. its own status update — double-creates, and a rolling update overshoots
replicas + maxSurge.
"""
from minik8s.controllers.base import UIDTrackingExpectations
from minik8s.controllers.replicaset import ReplicaSetController


class _Forgetful(UIDTrackingExpectations):
    """Expectations that are always satisfied: what a controller without them does."""

    def satisfied(self, key: str) -> bool:
        return True


class NoExpectationsReplicaSetController(ReplicaSetController):
    def __init__(self, client, clock, **kwargs):
        super().__init__(client, clock, **kwargs)
        self.expectations = _Forgetful(clock)
