"""The scheduling queue: activeQ, podBackoffQ, unschedulablePods, as Kubernetes has them.

Every test runs on a FakeClock: backoffs and the 5-minute flush pass by `advance`.
"""
import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from minik8s.api.clock import FakeClock
from minik8s.scheduler.queue import (
    ACTIVE, BACKOFF, IN_FLIGHT, NODE_ADD, UNSCHEDULABLE, SchedulingQueue)


def pod(name, labels=None, node=None, phase="Pending", rv="1"):
    spec = {"containers": [{"name": "c", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "labels": labels or {}, "resourceVersion": rv},
            "spec": spec, "status": {"phase": phase}}


def fail(q, clock, name, times):
    """Pop `name` and report it unschedulable-with-error `times` times, waiting out
    each backoff; returns the backoffs seen (next_due after each failure)."""
    seen = []
    for _ in range(times):
        qp = q.pop()
        assert qp.key == f"default/{name}"
        q.add_backoff(qp)
        seen.append(q.next_due())
        clock.advance(seen[-1])
    return seen


def test_backoff_doubles_from_1s_to_at_most_10s_per_attempt():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add(pod("a"))
    assert fail(q, clock, "a", 7) == [1, 2, 4, 8, 10, 10, 10]
    assert [q.backoff_duration(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_a_backing_off_pod_is_not_popped_before_its_time():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add(pod("a"))
    q.add_backoff(q.pop())
    clock.advance(0.99)
    assert q.pop() is None and q.where("default/a") == BACKOFF
    clock.advance(0.01)
    assert q.pop().attempts == 2


def test_active_pods_come_out_first_come_first_served():
    q = SchedulingQueue(FakeClock())
    for name in "cab":
        q.add(pod(name))
    assert [q.pop().key for _ in range(3)] == ["default/c", "default/a", "default/b"]
    assert q.pop() is None and q.next_due() is None


def test_a_deleted_and_recreated_pod_queues_as_new():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add(pod("a"))
    q.add(pod("b"))
    q.delete(pod("a"))
    clock.advance(1)
    q.add(pod("a"))
    assert [q.pop().key for _ in range(2)] == ["default/b", "default/a"]


def test_a_retried_pod_keeps_its_place_by_the_time_it_failed():
    # activeQ is ordered by the time a pod last entered the queue (Kubernetes: after
    # priority), so a pod back from backoff goes ahead of pods added after it failed.
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add(pod("old"))
    q.add_backoff(q.pop())                  # failed at t=0
    clock.advance(0.5)
    q.add(pod("new"))                       # t=0.5
    clock.advance(1)
    assert [q.pop().key for _ in range(2)] == ["default/old", "default/new"]


def test_unschedulable_pods_wait_for_a_cluster_event():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add(pod("a"))
    assert q.add_unschedulable(q.pop(), ["NodeResourcesFit"])
    assert q.where("default/a") == UNSCHEDULABLE
    clock.advance(60)
    assert q.pop() is None
    q.move_all(NODE_ADD)                    # backoff (1 s) long over: straight to active
    assert q.where("default/a") == ACTIVE and q.pop().attempts == 2


def test_move_all_sends_pods_still_backing_off_to_backoff():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add(pod("a"))
    q.add_unschedulable(q.pop())
    clock.advance(0.5)
    q.move_all(NODE_ADD)
    assert q.where("default/a") == BACKOFF and q.next_due() == 0.5


def test_move_all_can_be_limited_by_a_predicate():
    q = SchedulingQueue(FakeClock())
    for name in ("a", "b"):
        q.add(pod(name, labels={"app": name}))
        q.add_unschedulable(q.pop())
    q.move_all(NODE_ADD, predicate=lambda p: p["metadata"]["labels"]["app"] == "b")
    assert q.pending()[UNSCHEDULABLE] == ["default/a"]


def test_unschedulable_pods_are_flushed_after_5_minutes():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add(pod("a"))
    q.add_unschedulable(q.pop())
    assert q.next_due() == 300
    clock.advance(299.9)
    assert q.pop() is None and q.where("default/a") == UNSCHEDULABLE
    clock.advance(0.1)
    assert q.next_due() == 0 and q.pop().key == "default/a"


def test_a_pod_that_failed_while_the_cluster_changed_goes_to_backoff():
    # moveRequestCycle: the failure may be stale, so no 5-minute wait for it.
    q = SchedulingQueue(FakeClock())
    q.add(pod("a"))
    q.add(pod("b"))
    a = q.pop()
    q.move_all(NODE_ADD)                   # a node appears while "a" is being tried
    q.add_unschedulable(a)
    assert q.where("default/a") == BACKOFF
    b = q.pop()                            # popped after the move: its failure stands
    q.add_unschedulable(b)
    assert q.where("default/b") == UNSCHEDULABLE


def test_a_rejection_no_plugin_claims_goes_to_backoff():
    q = SchedulingQueue(FakeClock())
    q.add(pod("a"))
    q.add_unschedulable(q.pop(), unschedulable_plugins=[])    # e.g. no nodes at all
    assert q.where("default/a") == BACKOFF


def test_an_update_that_changes_the_pod_moves_it_out_of_unschedulable():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    old = pod("a")
    q.add(old)
    q.add_unschedulable(q.pop())
    status_only = {**pod("a", rv="2"), "status": {"phase": "Pending", "conditions": []}}
    q.update(old, status_only)
    assert q.where("default/a") == UNSCHEDULABLE
    clock.advance(5)
    relabelled = pod("a", labels={"tier": "web"}, rv="3")
    q.update(status_only, relabelled)
    assert q.where("default/a") == ACTIVE and q.pop().pod is relabelled


def test_an_update_during_the_attempt_is_kept_and_retried():
    q = SchedulingQueue(FakeClock())
    q.add(pod("a"))
    qp = q.pop()
    newer = pod("a", labels={"x": "y"}, rv="2")
    q.update(qp.pod, newer)
    assert q.where("default/a") == IN_FLIGHT and q.pop() is None
    q.add_unschedulable(qp)
    assert q.where("default/a") == BACKOFF and q._backoff["default/a"][1].pod is newer


def test_delete_removes_the_pod_everywhere_even_in_flight():
    q = SchedulingQueue(FakeClock())
    q.add(pod("a"))
    q.add(pod("b"))
    qa = q.pop()
    q.delete(pod("a"))
    q.delete(pod("b"))
    assert not q.add_unschedulable(qa) and q.where("default/a") is None
    assert len(q) == 0 and q.pop() is None


def test_a_bound_pod_leaves_the_queue():
    q = SchedulingQueue(FakeClock())
    q.add(pod("a"))
    q.update(pod("a"), pod("a", node="node-1", rv="2"))
    assert q.where("default/a") is None


def test_adding_a_queued_pod_again_does_not_duplicate_it():
    q = SchedulingQueue(FakeClock())
    q.add(pod("a"))
    q.add(pod("a", rv="2"))
    assert len(q) == 1 and q.pop().pod["metadata"]["resourceVersion"] == "2"
    q.add(pod("a", rv="3"))                # in flight: not queued a second time
    assert q.pop() is None


# -- the invariants, under any sequence of operations ----------------------------------

NAMES = [f"p{i}" for i in range(5)]


class QueueMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.clock = FakeClock()
        self.q = SchedulingQueue(self.clock)
        self.in_flight = {}                 # key -> QueuedPod (the model)
        self.moved_during = set()           # in-flight keys that saw a move_all
        self.live = set()                   # keys added and not deleted

    @rule(name=st.sampled_from(NAMES))
    def add(self, name):
        self.q.add(pod(name))
        self.live.add(f"default/{name}")

    @rule()
    def pop(self):
        qp = self.q.pop()
        if qp is not None:
            assert qp.key not in self.in_flight, "a pod in flight was popped again"
            assert qp.key in self.live, "a deleted pod was popped"
            self.in_flight[qp.key] = qp

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data(), how=st.sampled_from(["unschedulable", "backoff", "done"]))
    def finish(self, data, how):
        key = data.draw(st.sampled_from(sorted(self.in_flight)))
        qp = self.in_flight.pop(key)
        moved = key in self.moved_during
        self.moved_during.discard(key)
        if how == "done":
            self.q.done(key)
            self.live.discard(key)          # bound: the informer will not add it again
            return
        if how == "backoff":
            assert self.q.add_backoff(qp)
            assert self.q.where(key) == BACKOFF
            return
        assert self.q.add_unschedulable(qp, ["F"])
        expected = BACKOFF if moved else UNSCHEDULABLE
        assert self.q.where(key) == expected, "moveRequestCycle rule broken"

    @rule()
    def move_all(self):
        self.q.move_all(NODE_ADD)
        assert self.q.pending()[UNSCHEDULABLE] == []
        self.moved_during |= set(self.in_flight)

    @rule(name=st.sampled_from(NAMES))
    def delete(self, name):
        key = f"default/{name}"
        self.q.delete(pod(name))
        self.live.discard(key)
        if key in self.in_flight:
            assert not self.q.add_unschedulable(self.in_flight.pop(key))
            self.moved_during.discard(key)

    def advance_and_flush(self, seconds):
        waiting = set(self.q.pending()[UNSCHEDULABLE])
        self.clock.advance(seconds)
        self.q.flush()
        if waiting - set(self.q.pending()[UNSCHEDULABLE]):
            # Flushing unschedulable pods is a move request too (as in Kubernetes).
            self.moved_during |= set(self.in_flight)

    @rule(seconds=st.sampled_from([0.5, 1, 3, 10, 299, 301]))
    def advance(self, seconds):
        self.advance_and_flush(seconds)

    @rule()
    def after_five_minutes_everything_waiting_is_active(self):
        self.advance_and_flush(300)
        pending = self.q.pending()
        assert pending[BACKOFF] == [] and pending[UNSCHEDULABLE] == []

    @invariant()
    def a_pod_is_in_at_most_one_place(self):
        places = self.q.pending()
        keys = [k for ks in places.values() for k in ks]
        assert len(keys) == len(set(keys))
        assert set(places[IN_FLIGHT]) == set(self.in_flight)
        assert set(keys) <= self.live | set(self.in_flight)
        assert len(self.q) == len(keys) - len(places[IN_FLIGHT])

    @invariant()
    def next_due_tells_the_truth(self):
        due = self.q.next_due()
        if due == 0:
            assert self.q.pending()[ACTIVE]
        elif due is None:
            assert not self.q.pending()[BACKOFF] and not self.q.pending()[UNSCHEDULABLE]


QueueMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30,
                                          deadline=None)
test_queue_invariants = QueueMachine.TestCase
