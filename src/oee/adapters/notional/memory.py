"""The notional limiter of one process: each key's window in a dict.

The embedded default: one worker executes every order, so its memory is the whole truth. With
several workers each would grant the whole budget; production uses
`oee.adapters.notional.redis`. Keys whose window emptied are
forgotten in sweeps (one pass per `SWEEP_EVERY` orders), so memory follows the active keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from oee.domain.risk import MINUTE_US, NotionalDecision, NotionalWindow

SWEEP_EVERY = 1024


class MemoryNotionalLimiter:
    """`NotionalLimiter` in process memory.

    Args:
        clock: Seconds on a monotonic clock (tests pass a steerable one).
        window_us: The window's length (a minute).
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, window_us: int = MINUTE_US
    ) -> None:
        self._clock, self._window_us = clock, window_us
        self._windows: dict[str, NotionalWindow] = {}
        self._spends = 0

    def _sweep(self, now: int) -> None:
        for window in self._windows.values():
            window.expire(now - self._window_us)
        self._windows = {key: window for key, window in self._windows.items() if window}

    def __len__(self) -> int:
        """How many keys have a window (not empty, or not swept yet)."""
        return len(self._windows)

    async def spend(
        self, key: str, order_id: str, usd_micro: int, cap_micro: int
    ) -> NotionalDecision:
        """Count the order in `key`'s window if it fits (see the port)."""
        now = round(self._clock() * 1_000_000)
        self._spends += 1
        if self._spends % SWEEP_EVERY == 0:
            self._sweep(now)
        window = self._windows.setdefault(key, NotionalWindow())
        return window.spend(order_id, usd_micro, cap_micro, now, self._window_us)

    async def close(self) -> None:
        """Nothing to release."""
