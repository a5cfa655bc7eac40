"""Sign-in throttling: password guessing is slowed down to a few tries per account.

Failed sign-ins are counted per typed username (known or not, so a refusal says
nothing about which accounts exist) and per client address, in a sliding
window.  Once an account has ``per_account`` failures in the window, or an
address ``per_address`` (spraying many usernames from one place), further
attempts are refused before the password is even checked, until the oldest
failure leaves the window.  A successful sign-in clears its account's count.

In memory, per process: a restart forgets the counts (the platform runs one web
process).  Bounded: at most ``max_keys`` usernames and addresses are followed;
beyond that the stalest are dropped.  Pure logic with an injected clock; safe to
call from the web server's threads.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Callable

PER_ACCOUNT = 5  # failures per username in the window
PER_ADDRESS = 30  # failures per client address in the window
WINDOW = 15 * 60.0  # seconds
MAX_KEYS = 10_000


class SignInThrottle:
    def __init__(self, per_account: int = PER_ACCOUNT, per_address: int = PER_ADDRESS,
                 window: float = WINDOW, max_keys: int = MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic):
        if per_account < 1 or per_address < 1 or window <= 0 or max_keys < 2:
            raise ValueError("sign-in limits must be positive")
        self.per_account, self.per_address = per_account, per_address
        self.window, self.max_keys, self.clock = window, max_keys, clock
        self._failures: dict[tuple[str, str], deque] = {}
        self._lock = threading.Lock()

    def wait_for(self, username: str, address: str) -> int:
        """Seconds before this username may try again from this address (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [self._wait(("user", _account(username)), self.per_account, now),
                     self._wait(("addr", address or "-"), self.per_address, now)]
        return max(waits)

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (("user", _account(username)), ("addr", address or "-")):
                self._failures.setdefault(key, deque()).append(now)
                self._failures[key] = self._failures.pop(key)  # newest last: dropped last
            self._bound(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(("user", _account(username)), None)

    def _wait(self, key: tuple[str, str], limit: int, now: float) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        if len(times) < limit:
            return 0
        # the attempt that would be allowed again: when enough failures have aged out
        return max(1, math.ceil(times[-limit] + self.window - now))

    def _bound(self, now: float) -> None:
        if len(self._failures) <= self.max_keys:
            return
        for key in [k for k, times in self._failures.items()
                    if not times or times[-1] <= now - self.window]:
            del self._failures[key]
        while len(self._failures) > self.max_keys:  # the stalest first (insertion order)
            del self._failures[next(iter(self._failures))]


def _account(username: str) -> str:
    return (username or "").strip().casefold()[:64]
