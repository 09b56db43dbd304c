"""The controller shape every minik8s controller shares (minik8s.controllers.base):
informer handlers enqueue keys, step() reconciles each ready key once, errors back off,
`Permanent` drops a key, a returned delay requeues it, and Expectations keep a
controller from acting twice on a cache that lags behind its own writes."""
import pytest

from minik8s.api.errors import Conflict
from minik8s.controllers.base import (Controller, Expectations, InformerSet, Permanent, Retry,
                                      UIDTrackingExpectations)

NS = "default"


def configmap(name, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS},
            "data": data or {}}


class Echo(Controller):
    """Reconciles ConfigMaps; what reconcile does is scripted per key by the test."""
    name = "echo"

    def setup(self):
        self.configmaps = self.informer("configmaps", on_change=self.enqueue)
        self.seen = []
        self.script = {}

    def reconcile(self, key):
        self.seen.append(key)
        action = self.script.get(key)
        if callable(action):
            return action()
        return action


def test_handlers_enqueue_keys_and_step_reconciles_each_once(client, clock):
    c = Echo(client, clock)
    client.create(configmap("a"), NS)
    client.create(configmap("b"), NS)
    assert c.step() is None
    assert sorted(c.seen) == [f"{NS}/a", f"{NS}/b"]
    client.patch("configmaps", "a", {"data": {"x": "1"}}, NS)
    client.patch("configmaps", "a", {"data": {"x": "2"}}, NS)
    c.step()                                     # two events, one reconcile (level-triggered)
    assert c.seen.count(f"{NS}/a") == 2


def test_a_returned_delay_requeues_the_key_after_it(client, clock):
    c = Echo(client, clock)
    client.create(configmap("a"), NS)
    c.script[f"{NS}/a"] = 5.0
    assert c.step() == pytest.approx(5.0)
    assert c.step() == pytest.approx(5.0) and c.seen == [f"{NS}/a"]   # not due yet
    clock.advance(5)
    c.script[f"{NS}/a"] = None
    assert c.step() is None
    assert c.seen == [f"{NS}/a", f"{NS}/a"]


def test_errors_back_off_exponentially_and_success_forgets(client, clock):
    c = Echo(client, clock)
    client.create(configmap("a"), NS)

    def fail():
        raise Conflict("stale")
    c.script[f"{NS}/a"] = fail
    assert c.step() == pytest.approx(0.005)
    clock.advance(0.005)
    assert c.step() == pytest.approx(0.010)      # the backoff doubles per failure
    assert c.queue.num_requeues(f"{NS}/a") == 2
    clock.advance(0.010)
    c.script[f"{NS}/a"] = None
    assert c.step() is None
    assert c.queue.num_requeues(f"{NS}/a") == 0


def test_retry_with_after_waits_that_long_and_permanent_drops_the_key(client, clock):
    c = Echo(client, clock)
    client.create(configmap("a"), NS)
    client.create(configmap("b"), NS)

    def later():
        raise Retry("not yet", after=3)

    def never():
        raise Permanent("cannot")
    c.script = {f"{NS}/a": later, f"{NS}/b": never}
    assert c.step() == pytest.approx(3.0)
    clock.advance(3)
    c.step()
    assert c.seen.count(f"{NS}/a") == 2 and c.seen.count(f"{NS}/b") == 1


def test_an_unexpected_exception_is_retried_not_raised(client, clock):
    c = Echo(client, clock)
    client.create(configmap("a"), NS)
    c.script[f"{NS}/a"] = lambda: 1 / 0
    assert c.step() == pytest.approx(0.005)
    assert c.reconciles == 1


def test_informer_sets_share_one_informer_per_resource(client, clock):
    shared = InformerSet(client, clock)
    a, b = Echo(client, clock, informers=shared), Echo(client, clock, informers=shared)
    assert a.configmaps is b.configmaps
    client.create(configmap("x"), NS)
    shared.step()
    a.step(), b.step()                           # with a shared set, step() only reconciles
    assert a.seen == b.seen == [f"{NS}/x"]
    assert shared.has_synced()


def test_expectations_wait_for_creations_and_deletions(clock):
    e = Expectations(clock)
    assert e.satisfied("k")                      # never set
    e.expect("k", adds=2, deletes=1)
    e.creation_observed("k")
    e.deletion_observed("k")
    assert not e.satisfied("k") and e.pending("k") == (1, 0)
    e.lower("k", adds=1)                         # the second create failed: not coming
    assert e.satisfied("k")


def test_expectations_expire_after_five_minutes(clock):
    e = Expectations(clock)
    e.expect("k", adds=1)
    clock.advance(300)
    assert not e.satisfied("k")
    clock.advance(1)
    assert e.satisfied("k")


def test_uid_tracking_counts_a_pod_deletion_once(clock):
    e = UIDTrackingExpectations(clock)
    e.expect_deletions("rs", ["ns/a", "ns/b"])
    e.deletion_observed("rs", "ns/a")            # marked (deletionTimestamp) ...
    e.deletion_observed("rs", "ns/a")            # ... then gone: the same deletion
    assert not e.satisfied("rs") and e.pending("rs") == (0, 1)
    e.deletion_observed("rs", "ns/other")        # not one we asked for
    assert not e.satisfied("rs")
    e.deletion_observed("rs", "ns/b")
    assert e.satisfied("rs")
    e.delete("rs")
    assert e.pending("rs") == (0, 0)
