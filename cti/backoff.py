"""Exponential reconnect delays with jitter.

Jitter keeps several engines from hammering a restarting Asterisk in step.
"""
from __future__ import annotations

import random


class Backoff:
    def __init__(self, minimum: float, maximum: float,
                 rng: random.Random | None = None) -> None:
        if minimum <= 0 or maximum < minimum:
            raise ValueError(f"backoff needs 0 < minimum <= maximum, got {minimum}, {maximum}")
        self.minimum = minimum
        self.maximum = maximum
        self._rng = rng or random.Random()
        self.attempts = 0

    def next_delay(self) -> float:
        """Delay before the next attempt: doubles up to maximum, jittered to [d/2, d]."""
        ceiling = min(self.maximum, self.minimum * (2 ** min(self.attempts, 32)))
        self.attempts += 1
        return ceiling / 2 + self._rng.random() * ceiling / 2

    def reset(self) -> None:
        self.attempts = 0

    def hold_at_maximum(self) -> None:
        """Make every further delay the maximum (e.g. after a refused login)."""
        self.attempts = 64
