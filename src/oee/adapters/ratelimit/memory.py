"""The rate limiter of one process: each client's GCRA state in a dict.

The embedded default: one process serves every request, so its memory is the whole truth.
With several API processes each would grant the full budget; production uses
`oee.adapters.ratelimit.redis` instead. Clients whose bucket is full again are forgotten in
sweeps (amortised: one pass per `SWEEP_EVERY` requests), so a stream of one-off addresses
cannot grow the dict without bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from oee.domain.ratelimit import US, RateDecision, RatePolicy, gcra

SWEEP_EVERY = 4096


class MemoryRateLimiter:
    """`RateLimiter` in process memory.

    Args:
        clock: Seconds on a monotonic clock (tests pass a steerable one).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tats: dict[str, int] = {}
        self._hits = 0

    async def hit(self, key: str, policy: RatePolicy) -> RateDecision:
        """Count one request of `key` (never None: memory is always reachable)."""
        now = round(self._clock() * US)
        self._hits += 1
        if self._hits % SWEEP_EVERY == 0:
            self._sweep(now)
        tat, decision = gcra(self._tats.get(key), now, policy)
        if tat is not None:
            self._tats[key] = tat
        return decision

    def _sweep(self, now: int) -> None:
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now}

    def __len__(self) -> int:
        """How many clients are remembered (their bucket is not full yet, or not swept)."""
        return len(self._tats)

    async def close(self) -> None:
        """Nothing to release."""
