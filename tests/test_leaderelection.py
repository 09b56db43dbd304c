"""Lease-based leader election: one leader, hand-over only after the lease expires."""
import random

import pytest
from hypothesis import given, settings, strategies as st

from minik8s.api.clock import FakeClock
from minik8s.api.errors import ServiceUnavailable
from minik8s.api.meta import micro_time
from minik8s.apiserver.server import APIServer
from minik8s.client.inprocess import InProcessClient
from minik8s.client.leaderelection import LeaderElector
from minik8s.client.wrappers import FaultClient
from minik8s.store.memory import MemoryStore


def elector(client, clock, identity, log=None, **kw):
    log = log if log is not None else []
    return LeaderElector(client, clock, name="kube-scheduler", identity=identity,
                         on_started_leading=lambda: log.append(("start", identity)),
                         on_stopped_leading=lambda: log.append(("stop", identity)), **kw)


def lease(client):
    return client.get("leases", "kube-scheduler", "kube-system")["spec"]


def test_first_candidate_creates_the_lease_and_leads(client, clock):
    log = []
    a = elector(client, clock, "a", log)
    assert a.step() == pytest.approx(2)          # retry_period
    assert a.is_leader and log == [("start", "a")]
    now = micro_time(clock.now())
    assert lease(client) == {"holderIdentity": "a", "leaseDurationSeconds": 15,
                             "acquireTime": now, "renewTime": now, "leaseTransitions": 0}


def test_leader_renews_every_retry_period(client, clock):
    a = elector(client, clock, "a")
    a.step()
    acquired = lease(client)["acquireTime"]
    clock.advance(1)
    a.step()                                     # not due: no write
    assert lease(client)["renewTime"] == acquired
    clock.advance(1)
    a.step()
    assert lease(client)["renewTime"] == micro_time(clock.now())
    assert lease(client)["acquireTime"] == acquired
    assert lease(client)["leaseTransitions"] == 0


def test_candidate_takes_over_only_after_lease_duration(client, clock):
    log = []
    a, b = elector(client, clock, "a", log), elector(client, clock, "b", log)
    a.step()
    b.step()
    assert not b.is_leader
    last_renew = clock.monotonic()               # a stops renewing from here on
    # b first sees a's last record now, so it must wait lease_duration from now
    took_over_at = None
    for _ in range(40):
        clock.advance(0.5)
        b.step()
        if b.is_leader:
            took_over_at = clock.monotonic()
            break
        assert clock.monotonic() - last_renew < 15 + 2
    assert took_over_at is not None
    assert took_over_at - last_renew >= 15
    assert lease(client)["holderIdentity"] == "b"
    assert lease(client)["leaseTransitions"] == 1
    assert lease(client)["acquireTime"] == micro_time(clock.now())
    # a has not stepped since; still it no longer claims to lead (renew deadline passed)
    assert not a.is_leader
    a.step()
    assert log == [("start", "a"), ("start", "b"), ("stop", "a")]
    assert not a.is_leader and b.is_leader


def test_leader_that_cannot_renew_steps_down_by_renew_deadline(client, clock):
    fault = FaultClient(client)
    log = []
    a = elector(fault, clock, "a", log)
    a.step()
    renewed = clock.monotonic()
    fault.fail_next(100, ServiceUnavailable, verbs=["get", "update"])
    while a.is_leader:
        clock.advance(a.step() or 0.1)
        assert clock.monotonic() - renewed <= 10
    a.step()
    assert log == [("start", "a"), ("stop", "a")]
    assert clock.monotonic() - renewed == pytest.approx(10)


def test_release_lets_a_successor_take_over_at_once(client, clock):
    log = []
    a, b = elector(client, clock, "a", log), elector(client, clock, "b", log)
    a.step()
    b.step()
    assert a.release()
    assert lease(client)["holderIdentity"] == ""
    assert log == [("start", "a"), ("stop", "a")]
    clock.advance(2)
    b.step()
    assert b.is_leader and lease(client)["leaseTransitions"] == 1


class UpdateHook:
    """A client that runs `hook` just before each update: an interleaving."""

    def __init__(self, inner, hook):
        self.inner, self.hook = inner, hook

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def update(self, obj, **kw):
        hook, self.hook = self.hook, (lambda: None)
        hook()
        return self.inner.update(obj, **kw)


def test_racing_candidates_conflict_and_only_one_wins(client, clock):
    old = elector(client, clock, "old")
    old.step()
    a_client = UpdateHook(client, lambda: b.step())
    a, b = elector(a_client, clock, "a"), elector(client, clock, "b")
    a.step()
    b.step()
    clock.advance(16)                            # the old leader's lease has expired
    a.step()                                     # b writes between a's read and a's write
    assert b.is_leader and not a.is_leader
    assert lease(client)["holderIdentity"] == "b"
    assert type(a.last_error).__name__ == "Conflict"


def test_settings_must_let_a_leader_step_down_before_takeover(client, clock):
    with pytest.raises(ValueError):
        LeaderElector(client, clock, name="x", identity="a", lease_duration=10,
                      renew_deadline=10)


WHO = st.integers(0, 1)
OPS = st.lists(st.one_of(
    st.tuples(st.just("tick"), st.sampled_from([1.0, 2.0, 5.0, 16.0])),  # time passes,
    st.tuples(st.just("step"), WHO),        # every running elector steps; or just one
    st.tuples(st.just("pause"), WHO),       # stops stepping: a hang or a partition
    st.tuples(st.just("resume"), WHO),
    st.tuples(st.just("release"), WHO),
), min_size=8, max_size=40)


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_two_electors_never_lead_at_once(ops):
    clock = FakeClock()
    store = MemoryStore()
    client = InProcessClient(APIServer(store, clock, random.Random(1)))
    els = [LeaderElector(client, clock, name="ha", identity=f"e{i}") for i in range(2)]
    paused = set()

    def check():
        assert sum(e.is_leader for e in els) <= 1

    for op, arg in ops:
        if op == "tick":
            clock.advance(arg)
            for i, e in enumerate(els):
                if i not in paused:
                    e.step()
                    check()
        elif op == "step" and arg not in paused:
            els[arg].step()
        elif op == "pause":
            paused.add(arg)
        elif op == "resume":
            paused.discard(arg)
        elif op == "release" and arg not in paused:
            els[arg].release()
        check()
    # liveness: once everyone steps again, someone leads within a lease duration
    for _ in range(40):
        for e in els:
            e.step()
            check()
        if any(e.is_leader for e in els):
            break
        clock.advance(1)
    assert sum(e.is_leader for e in els) == 1
    store.close()


def test_leader_steps_down_when_the_lease_names_someone_else(client, clock):
    log = []
    a = elector(client, clock, "a", log)
    a.step()
    taken = client.get("leases", "kube-scheduler", "kube-system")
    taken["spec"]["holderIdentity"] = "intruder"      # e.g. `kubectl edit lease`
    client.update(taken)
    clock.advance(2)
    a.step()
    assert not a.is_leader
    assert log == [("start", "a"), ("stop", "a")]
