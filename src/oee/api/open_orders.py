"""The open-orders cap (`OEE_MAX_OPEN_ORDERS_PER_KEY`), counted in memory between store reads.

Counting a key's unfinished orders in the store on every submit was one query per order. This
process keeps, per key, the count it last read plus the orders it accepted since: an upper bound
of the key's open orders as far as this process knows (orders only leave the count by
finishing, which makes the bound looser, never wrong). While the bound is under the cap and the
read is younger than `REFRESH_S`, a submit passes without asking the store; at the cap, or
once the read is older, the store is asked again, so a refusal always quotes the store's count.

Like the per-submit read before it, this is not atomic with the insert: submits racing from one
key may each pass at `cap - 1`; and orders another process accepted for the key are seen at
the next read, at most `REFRESH_S` later.
"""

from __future__ import annotations

import time

from oee.api.errors import ApiError
from oee.bootstrap import Engine

REFRESH_S = 0.25  # how stale a key's count may be while it is under the cap
_KEYS_KEPT = 10_000  # past this many counted keys, the stale ones are forgotten


class OpenOrders:
    """Refuse a submit from a key that has `OEE_MAX_OPEN_ORDERS_PER_KEY` unfinished orders."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # its settings are read at each submit, as the routes do
        self.known: dict[str | None, tuple[int, float]] = {}  # owner -> (bound, read when)

    async def check(self, owner: str | None) -> None:
        """Pass, or refuse a submit from `owner` (None: open mode, every order counts).

        Raises:
            ApiError: 429 `TOO_MANY_OPEN_ORDERS`.
        """
        cap = self.engine.settings.max_open_orders_per_key
        if cap is None:
            return
        now = time.monotonic()
        known = self.known.get(owner)
        if known is not None and known[0] < cap and now - known[1] < REFRESH_S:
            return
        count, _ = await self.engine.orders.active(0, owner)
        if len(self.known) >= _KEYS_KEPT:
            self.known = {o: k for o, k in self.known.items() if now - k[1] < REFRESH_S}
        self.known[owner] = (count, now)
        if count >= cap:
            self.engine.metrics.limited_for("TOO_MANY_OPEN_ORDERS").inc()
            who = f"key {owner!r}" if owner is not None else "this engine"
            raise ApiError(
                429,
                "TOO_MANY_OPEN_ORDERS",
                f"{who} has {count} unfinished orders, the most allowed "
                f"(OEE_MAX_OPEN_ORDERS_PER_KEY={cap}): wait for some to finish, or cancel some",
            )

    def accepted(self, owner: str | None) -> None:
        """Count an order this process just accepted for `owner`."""
        known = self.known.get(owner)
        if known is not None:
            self.known[owner] = (known[0] + 1, known[1])
