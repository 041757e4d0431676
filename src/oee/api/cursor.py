"""Where one client stands in each order's events: every event once, in seq order, no gap.

Both streams deliver through a `Cursor`: `/ws/orders/{id}` and its Server-Sent Events twin
for one order, the firehose `/ws/orders` for all of them. The cursor holds the last seq
delivered per order and obeys one rule: an event at or below it is a duplicate and is dropped;
an event beyond the next one (a gap: pub/sub dropped or reordered what came between) first
has the missing events read from the order's event log, which is complete because events are
published only after they commit. An order the cursor has not seen counts as delivered up to
seq 0, so an order first heard of mid-life (its first event heard has seq > 1) is sent from
its first event on, read from the log. A stream that already gave the client an order's state
(a snapshot, or a `since` the client sent) says so with `cover`.

Memory stays bounded for a firehose that lives for days: a finished order is forgotten a while
after its terminal event (late duplicates arrive within seconds, not minutes), and unfinished
orders are the engine's active set. The cursor also knows which unfinished orders have been
quiet longest, so the process's log watch (`oee.api.stream_hub`, itself a cursor over every
order its streams follow) can check them against the log: pub/sub may drop an order's last
event, leaving no later one to reveal the gap.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from oee.domain.events import OrderEvent
from oee.domain.status import TERMINAL

Send = Callable[[OrderEvent], Awaitable[None]]
# `(order_id, after_seq)` -> the order's events with `seq > after_seq`, in seq order.
ReadLog = Callable[[str, int], Awaitable[list[OrderEvent]]]

FORGET_AFTER_S = 60.0  # how long a finished order's last seq is kept against late duplicates
MAX_FINISHED = 10_000  # and at most this many finished orders, oldest forgotten first


class Cursor:
    """One client's position in every order it follows.

    Args:
        send: Delivers one event to the client (a frame on its transport).
        read_log: Reads an order's event log after a seq (the store's `events`).
        clock: Monotonic seconds, for forgetting finished orders and finding quiet ones.
    """

    def __init__(
        self, send: Send, read_log: ReadLog, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._send, self._read_log, self._clock = send, read_log, clock
        self._last: dict[str, int] = {}
        # Both ordered by when the order was last heard of, oldest first: the front of
        # `_working` is the quietest order, the front of `_finished` the first to forget.
        self._working: OrderedDict[str, float] = OrderedDict()
        self._finished: OrderedDict[str, float] = OrderedDict()

    def last(self, order_id: str) -> int:
        """The last seq delivered for `order_id`; 0 for an order not seen (or forgotten)."""
        return self._last.get(order_id, 0)

    def knows(self, order_id: str) -> bool:
        """Whether `order_id` is followed (covered or delivered, and not yet forgotten)."""
        return order_id in self._last

    def unfinished(self) -> list[str]:
        """Every order followed whose terminal event has not been delivered."""
        return list(self._working)

    def finished(self, order_id: str) -> bool:
        """Whether the terminal event of `order_id` has been delivered (and not yet forgotten)."""
        return order_id in self._finished

    def cover(self, order_id: str, seq: int, *, terminal: bool = False) -> None:
        """Note that the client already holds `order_id` up to `seq` (a snapshot, a `since`).

        `seq` 0 follows an order from its first event: it counts among the unfinished orders
        that `quiet` hands out, so even an order none of whose events is heard gets sent.
        """
        self._record(order_id, seq, terminal)

    async def deliver(self, event: OrderEvent) -> None:
        """Deliver a live event, once: after the log's missing events if it follows a gap."""
        last = self.last(event.order_id)
        if event.seq <= last:
            return  # a duplicate: a snapshot, a backfill or an earlier publication covered it
        if event.seq > last + 1:
            await self.catch_up(event.order_id)  # the log holds `event` too: it went out there
        await self._deliver_next(event)

    async def catch_up(self, order_id: str) -> None:
        """Deliver whatever the order's log holds after the last seq delivered."""
        for event in await self._read_log(order_id, self.last(order_id)):
            await self._deliver_next(event)

    def quiet(self, older_than_s: float, limit: int) -> list[str]:
        """Up to `limit` unfinished orders not heard of for `older_than_s`, quietest first.

        They count as heard of now, so the next call reaches the ones after them.
        """
        now = self._clock()
        picked: list[str] = []
        for order_id, heard in self._working.items():
            if len(picked) == limit or now - heard < older_than_s:
                break
            picked.append(order_id)
        for order_id in picked:
            self._working.move_to_end(order_id)
            self._working[order_id] = now
        return picked

    def forget(self) -> None:
        """Drop finished orders older than `FORGET_AFTER_S`, and any beyond `MAX_FINISHED`."""
        now = self._clock()
        while self._finished:
            order_id, finished = next(iter(self._finished.items()))
            if now - finished < FORGET_AFTER_S and len(self._finished) <= MAX_FINISHED:
                break
            del self._finished[order_id]
            del self._last[order_id]

    def __len__(self) -> int:
        """How many orders are remembered."""
        return len(self._last)

    async def _deliver_next(self, event: OrderEvent) -> None:
        if event.seq <= self.last(event.order_id):
            return
        await self._send(event)
        self._record(event.order_id, event.seq, event.type in TERMINAL)

    def _record(self, order_id: str, seq: int, terminal: bool) -> None:
        now = self._clock()
        self._last[order_id] = seq
        if terminal:
            self._working.pop(order_id, None)
            self._finished[order_id] = now
            self._finished.move_to_end(order_id)
            self.forget()
        else:
            self._working[order_id] = now
            self._working.move_to_end(order_id)
