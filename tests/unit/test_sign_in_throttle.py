"""The sign-in throttle (pure, with a fake clock): per account, per address,
the sliding window, success clearing, and bounded memory."""
import pytest

from agent_console.throttle import SignInThrottle


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


def fail(throttle, times, username="alice", address="10.0.0.1"):
    for _ in range(times):
        throttle.failed(username, address)


def test_an_account_is_held_after_its_limit_of_failures(clock):
    t = SignInThrottle(per_account=3, per_address=100, window=600, clock=clock)
    fail(t, 2)
    assert t.wait_for("alice", "10.0.0.1") == 0
    fail(t, 1)
    assert t.wait_for("alice", "10.0.0.1") == 600
    assert t.wait_for("ALICE ", "10.0.0.9") == 600  # the same account however typed, from anywhere
    assert t.wait_for("bob", "10.0.0.1") == 0  # others are not held


def test_the_window_slides(clock):
    t = SignInThrottle(per_account=3, per_address=100, window=600, clock=clock)
    fail(t, 1)
    clock.now += 100
    fail(t, 2)
    assert t.wait_for("alice", "a") == 500  # the first failure leaves the window in 500 s
    clock.now += 500
    assert t.wait_for("alice", "a") == 0
    fail(t, 1)
    assert t.wait_for("alice", "a") == 100  # the second leaves 100 s later


def test_a_success_clears_the_account_not_the_address(clock):
    t = SignInThrottle(per_account=3, per_address=4, window=600, clock=clock)
    fail(t, 2, "alice")
    t.succeeded("Alice")
    fail(t, 2, "alice")
    assert t.wait_for("alice", "x") == 0  # 2 since the success
    assert t.wait_for("carol", "10.0.0.1") == 600  # the address has 4 in the window


def test_one_address_spraying_many_usernames_is_held(clock):
    t = SignInThrottle(per_account=5, per_address=10, window=600, clock=clock)
    for n in range(10):
        t.failed(f"user{n}", "203.0.113.7")
    assert t.wait_for("somebody-new", "203.0.113.7") == 600
    assert t.wait_for("somebody-new", "203.0.113.8") == 0


def test_memory_stays_bounded(clock):
    t = SignInThrottle(per_account=5, per_address=10**6, window=600, max_keys=100, clock=clock)
    for n in range(1000):
        clock.now += 0.01
        t.failed(f"user{n}", "198.51.100.1")
    assert len(t._failures) <= 100
    assert t.wait_for("user999", "elsewhere") == 0  # one failure, still counted
    t.failed("user999", "elsewhere")
    assert len(t._failures[("user", "user999")]) == 2


@pytest.mark.parametrize("kwargs", [{"per_account": 0}, {"per_address": 0}, {"window": 0},
                                    {"max_keys": 1}])
def test_bad_limits_are_refused(kwargs):
    with pytest.raises(ValueError):
        SignInThrottle(**kwargs)
