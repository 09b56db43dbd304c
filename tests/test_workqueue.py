"""The work queue behaves like client-go's rate-limited delaying queue."""
import threading

import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from minik8s.api.clock import FakeClock
from minik8s.client.workqueue import ItemExponentialFailureRateLimiter, WorkQueue

KEYS = st.sampled_from(["default/a", "default/b", "kube-system/c", "d"])
DELAYS = st.sampled_from([0.0, 0.5, 1.0, 2.5, 10.0])


def drain(q):
    out = []
    while (k := q.pop()) is not None:
        out.append(k)
    return out


# --- properties over random operation sequences ----------------------------------------

class WorkQueueMachine(RuleBasedStateMachine):
    """Drives the queue and checks it against what client-go promises:

    - no key is handed out while a worker still processes it;
    - every pop answers an add that no earlier pop answered (dedup: a key added many
      times while waiting comes out once);
    - a pop that finds nothing means every owed key is being processed (so will come
      back at done()) — nothing added is ever lost;
    - ready keys come out in the order they became ready (FIFO).
    """

    def __init__(self):
        super().__init__()
        self.clock = FakeClock()
        self.q = WorkQueue(self.clock, "test")
        self.owed = set()          # keys added (or timer fired) and not popped since
        self.processing = set()
        self.ready = []            # expected FIFO of ready keys
        self.timers = {}           # key -> (due, seq), earliest wins
        self.seq = 0
        self.down = False

    # the model's view of an add, as the spec states it
    def _became_needed(self, key):
        if key in self.owed:
            return                 # already waiting to be handed out: dedup
        self.owed.add(key)
        if key not in self.processing:
            self.ready.append(key)

    def _fire(self):
        now = self.clock.monotonic()
        for key, (due, _) in sorted(self.timers.items(), key=lambda kv: kv[1]):
            if due <= now:
                del self.timers[key]
                self._became_needed(key)

    @rule(key=KEYS)
    def add(self, key):
        self.q.add(key)
        if not self.down:
            self._became_needed(key)

    @rule(key=KEYS, delay=DELAYS)
    def add_after(self, key, delay):
        self.q.add_after(key, delay)
        if self.down:
            return
        if delay <= 0:
            self._became_needed(key)
            return
        due = self.clock.monotonic() + delay
        if key not in self.timers or due < self.timers[key][0]:
            self.seq += 1
            self.timers[key] = (due, self.seq)

    @rule(seconds=st.sampled_from([0.5, 1.0, 3.0]))
    def advance(self, seconds):
        self.clock.advance(seconds)

    @rule()
    def pop(self):
        self._fire()
        key = self.q.pop()
        if key is None:
            assert not self.ready
            assert self.owed <= self.processing, "an added key was lost"
            return
        assert key not in self.processing, "a key was handed to two workers"
        assert key in self.owed, "a key came out more often than it was added"
        assert key == self.ready.pop(0), "ready keys must come out FIFO"
        self.owed.discard(key)
        self.processing.add(key)

    @precondition(lambda self: self.processing)
    @rule(data=st.data())
    def done(self, data):
        key = data.draw(st.sampled_from(sorted(self.processing)))
        self.q.done(key)
        self.processing.discard(key)
        if key in self.owed:       # added while processing: comes back now
            self.ready.append(key)

    @rule()
    def shutdown(self):
        self.q.shutdown()
        self.down = True
        self.timers.clear()

    @invariant()
    def next_due_matches_earliest_timer(self):
        self._fire()
        due = self.q.next_due()
        if not self.timers:
            assert due is None
        else:
            earliest = min(d for d, _ in self.timers.values())
            assert due == pytest.approx(earliest - self.clock.monotonic())

    @invariant()
    def length_is_ready_keys(self):
        self._fire()
        assert len(self.q) == len(self.ready)

    def teardown(self):
        # Liveness: with every timer run out and every worker done, every owed key
        # comes out exactly once more.
        self.clock.advance(100)
        self._fire()
        while True:
            for key in list(self.processing):
                self.q.done(key)
                self.processing.discard(key)
            key = self.q.pop()
            if key is None:
                break
            assert key in self.owed
            self.owed.discard(key)
            self.processing.add(key)
        assert not self.owed


TestWorkQueueProperties = WorkQueueMachine.TestCase
TestWorkQueueProperties.settings = settings(max_examples=150, stateful_step_count=40,
                                            deadline=None)


@given(st.lists(KEYS, max_size=30))
def test_ready_keys_come_out_once_in_first_add_order(keys):
    q = WorkQueue(FakeClock())
    for k in keys:
        q.add(k)
    assert drain(q) == list(dict.fromkeys(keys))


# --- the basic queue --------------------------------------------------------------------

def test_key_added_while_processing_is_requeued_only_at_done():
    q = WorkQueue(FakeClock())
    q.add("a")
    assert q.pop() == "a"
    q.add("a")
    q.add("a")
    assert q.pop() is None        # a second worker must not get "a"
    assert len(q) == 0
    q.done("a")
    assert q.pop() == "a"
    q.done("a")
    assert q.pop() is None


def test_requeued_key_goes_to_the_back():
    q = WorkQueue(FakeClock())
    q.add("a")
    assert q.pop() == "a"
    q.add("a")
    q.add("b")
    q.done("a")
    assert drain(q) == ["b", "a"]


# --- the delaying queue -----------------------------------------------------------------

def test_add_after_waits_for_the_clock():
    clock = FakeClock()
    q = WorkQueue(clock)
    q.add_after("a", 2.0)
    assert q.pop() is None
    assert q.next_due() == pytest.approx(2.0)
    clock.advance(1.5)
    assert q.pop() is None
    assert q.next_due() == pytest.approx(0.5)
    clock.advance(0.5)
    assert q.pop() == "a"
    assert q.next_due() is None


def test_add_after_keeps_the_earlier_time():
    clock = FakeClock()
    q = WorkQueue(clock)
    q.add_after("a", 5.0)
    q.add_after("a", 1.0)
    q.add_after("a", 3.0)
    assert q.next_due() == pytest.approx(1.0)
    clock.advance(1.0)
    assert q.pop() == "a"
    q.done("a")
    clock.advance(10)
    assert q.pop() is None        # the later timers were superseded, not kept


def test_timers_fire_in_due_order():
    clock = FakeClock()
    q = WorkQueue(clock)
    q.add_after("late", 3)
    q.add_after("early", 1)
    q.add_after("mid", 2)
    clock.advance(5)
    assert drain(q) == ["early", "mid", "late"]


def test_add_after_zero_is_add():
    q = WorkQueue(FakeClock())
    q.add_after("a", 0)
    assert q.pop() == "a"


# --- the rate limiter ----------------------------------------------------------------------

def test_exponential_backoff_values_as_client_go():
    rl = ItemExponentialFailureRateLimiter()
    delays = [rl.when("a") for _ in range(20)]
    assert delays[:4] == pytest.approx([0.005, 0.010, 0.020, 0.040])
    assert delays[17] == pytest.approx(0.005 * 2 ** 17)       # 655.36 s
    assert delays[18] == 1000.0 and delays[19] == 1000.0     # capped
    assert rl.num_requeues("a") == 20
    assert rl.when("b") == pytest.approx(0.005)              # per key
    rl.forget("a")
    assert rl.num_requeues("a") == 0
    assert rl.when("a") == pytest.approx(0.005)
    assert ItemExponentialFailureRateLimiter().when("x") > 0
    for _ in range(200):                                      # no overflow
        assert rl.when("c") <= 1000.0


def test_add_rate_limited_backs_off_until_forget():
    clock = FakeClock()
    q = WorkQueue(clock, rate_limiter=ItemExponentialFailureRateLimiter(1.0, 60.0))
    for expected in (1.0, 2.0, 4.0):
        q.add_rate_limited("a")
        assert q.next_due() == pytest.approx(expected)
        assert q.pop() is None
        clock.advance(expected)
        assert q.pop() == "a"
        q.done("a")
    assert q.num_requeues("a") == 3
    q.forget("a")
    assert q.num_requeues("a") == 0
    q.add_rate_limited("a")
    assert q.next_due() == pytest.approx(1.0)


# --- shutdown and blocking get ---------------------------------------------------------------

def test_shutdown_drains_then_returns_none_and_ignores_adds():
    clock = FakeClock()
    q = WorkQueue(clock)
    q.add("a")
    q.add("b")
    q.add_after("c", 1)
    q.shutdown()
    q.add("d")
    q.add_after("e", 0)
    q.add_rate_limited("f")
    clock.advance(5)
    assert drain(q) == ["a", "b"]
    assert q.get(timeout=None) is None      # does not block once shut down
    assert q.shutting_down


def test_get_under_fake_clock_moves_time_to_the_next_timer():
    clock = FakeClock()
    q = WorkQueue(clock)
    q.add_after("a", 7)
    assert q.get(timeout=60) == "a"
    assert clock.monotonic() == pytest.approx(7)


def test_get_times_out_on_the_clock():
    clock = FakeClock()
    q = WorkQueue(clock)
    assert q.get(timeout=3) is None
    assert clock.monotonic() == pytest.approx(3)


def test_get_wakes_up_for_another_threads_add_and_shutdown():
    q = WorkQueue(FakeClock())
    got, first = [], threading.Event()

    def worker():
        got.append(q.get())
        first.set()
        got.append(q.get())     # blocks: no timeout, no timers, until shutdown

    t = threading.Thread(target=worker)
    t.start()
    q.add("a")
    assert first.wait(5)
    q.shutdown()
    t.join(5)
    assert not t.is_alive()
    assert got == ["a", None]


def test_two_threads_never_hold_the_same_key():
    q = WorkQueue(FakeClock())
    held, clashes, lock = set(), [], threading.Lock()

    def work():
        while (k := q.get()) is not None:
            with lock:
                if k in held:
                    clashes.append(k)
                held.add(k)
            q.add(k)            # a change arrives mid-reconcile: must wait for done()
            with lock:
                held.discard(k)
            q.done(k)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(2000):
        q.add(f"k{i % 7}")
    q.shutdown()
    for t in threads:
        t.join(5)
    assert not clashes
    assert not any(t.is_alive() for t in threads)
