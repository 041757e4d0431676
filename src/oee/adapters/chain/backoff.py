"""Capped exponential backoff with jitter, for reconnecting to a node.

The n-th wait in a row (from 0) is drawn from `[c / 2, c]` with `c = min(cap, base * 2**n)`
("equal jitter"): half of it grows as the outage lasts, the other half is random, so the many
workers of a deployment that lost the same node do not all come back in the same instant,
and none retries at once in a tight loop the way full jitter (`[0, c]`) sometimes would.
"""

from __future__ import annotations

import random

BASE_S = 0.5
CAP_S = 30.0


class Backoff:
    """How long to wait before the next attempt; `reset` after one that worked."""

    def __init__(
        self, base_s: float = BASE_S, cap_s: float = CAP_S, rng: random.Random | None = None
    ) -> None:
        """Args:
        base_s: The ceiling of the first wait.
        cap_s: The ceiling no wait exceeds.
        rng: The jitter's source (seed one in tests).

        Raises:
            ValueError: `base_s` is not positive, or `cap_s` is below it.
        """
        if base_s <= 0 or cap_s < base_s:
            raise ValueError(f"backoff needs 0 < base_s <= cap_s, got {base_s} and {cap_s}")
        self.base_s, self.cap_s = base_s, cap_s
        self._rng = rng or random.Random()
        self.failures = 0  # attempts that failed in a row

    def ceiling(self, failures: int) -> float:
        """The longest wait after `failures` failures in a row (the first wait is after 1)."""
        exponent = min(max(failures - 1, 0), 64)  # far past any cap; keeps 2**n a small int
        return min(self.cap_s, self.base_s * (1 << exponent))

    def next_delay(self) -> float:
        """Count one more failure and return the wait before the next attempt."""
        self.failures += 1
        ceiling = self.ceiling(self.failures)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        """The last attempt worked: the next failure waits the shortest again."""
        self.failures = 0
