"""The watchers' in-memory books: armed limit orders by threshold, snipers by mint, expiries.

Plain data structures with no IO, so the trigger service stays about timing and persistence.
A price book keeps one pair's limit orders sorted by limit price: one price update finds every
order it may cross with one bisection, never a scan of the others. Removal is lazy (a
tombstone), so firing a thousand orders does not shift a hundred-thousand-entry list a thousand
times; the list is compacted when it is mostly tombstones.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from oee.domain.orders import Order

Pair = tuple[str, str]  # (mint in, mint out): a direction of trade


def pair_of(order: Order) -> Pair:
    """The direction an order trades in."""
    return order.token_in.mint, order.token_out.mint


class PriceBook:
    """One pair's armed limit orders, sorted by limit price (whole tokenOut per tokenIn)."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        # How many armed orders of each size: the smallest is read every price round, and
        # orders come in few distinct sizes, so this beats a scan of every order.
        self._sizes: Counter[int] = Counter()
        self._keys: list[tuple[Decimal, str]] = []
        self._unsorted = False
        self._tombstones = 0

    def __len__(self) -> int:
        return len(self._orders)

    def add(self, order: Order) -> None:
        """Arm `order` (a limit order: its trigger has a limit price)."""
        assert order.trigger is not None
        assert order.trigger.limit_price is not None
        if order.id in self._orders:
            self._orders[order.id] = order
            return
        self._orders[order.id] = order
        self._sizes[order.amount_in] += 1
        self._keys.append((order.trigger.limit_price, order.id))
        self._unsorted = True

    def remove(self, order_id: str) -> Order | None:
        """Disarm an order; returns it, or None if this book did not hold it."""
        order = self._orders.pop(order_id, None)
        if order is not None:
            self._tombstones += 1
            self._sizes[order.amount_in] -= 1
            if not self._sizes[order.amount_in]:
                del self._sizes[order.amount_in]
        return order

    def smallest_amount(self) -> int:
        """The smallest order's size: the best price any order here can get is its price."""
        return min(self._sizes)

    def crossed(self, best_price: Decimal) -> list[Order]:
        """Every order whose limit is at or below `best_price`, lowest limit first.

        `best_price` is the best price any order of this book can get (the smallest order's):
        a larger order's own price is never better, so this is a superset of what fires.
        """
        self._tidy()
        end = bisect_right(self._keys, best_price, key=lambda key: key[0])
        orders = self._orders
        return [orders[oid] for _, oid in self._keys[:end] if oid in orders]

    def _tidy(self) -> None:
        if self._tombstones > len(self._orders):
            self._keys = [key for key in self._keys if key[1] in self._orders]
            self._tombstones = 0
        if self._unsorted:
            self._keys.sort()
            self._unsorted = False


class SniperBook:
    """Armed sniper orders by the mint they wait for."""

    def __init__(self) -> None:
        self._by_mint: dict[str, dict[str, Order]] = {}

    def __len__(self) -> int:
        return sum(len(orders) for orders in self._by_mint.values())

    def add(self, order: Order) -> None:
        """Arm a sniper order under its target mint."""
        self._by_mint.setdefault(order.token_out.mint, {})[order.id] = order

    def remove(self, order: Order) -> None:
        """Disarm it."""
        waiting = self._by_mint.get(order.token_out.mint)
        if waiting is not None:
            waiting.pop(order.id, None)
            if not waiting:
                del self._by_mint[order.token_out.mint]

    def mints(self) -> list[str]:
        """Every mint some order waits for."""
        return list(self._by_mint)

    def waiting_for(self, mint: str, quote_mint: str, venue: str) -> list[Order]:
        """Orders a pool of `mint` against `quote_mint` on `venue` fires."""
        orders = self._by_mint.get(mint, {}).values()
        return [
            order
            for order in orders
            if order.token_in.mint == quote_mint
            and order.trigger is not None
            and venue in order.trigger.venues
        ]


class Expiries:
    """When each armed order expires, soonest first (entries of disarmed orders are skipped)."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str]] = []

    def add(self, order: Order) -> None:
        """Remember when `order` expires."""
        assert order.trigger is not None
        heapq.heappush(self._heap, (order.trigger.expires_at, order.id))

    def next_at(self) -> datetime | None:
        """The soonest expiry still queued (possibly of an order since disarmed)."""
        return self._heap[0][0] if self._heap else None

    def due(self, now: datetime) -> Iterator[str]:
        """Pop the ids of every entry due at `now` (the caller checks it still holds each)."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            yield heapq.heappop(heap)[1]
