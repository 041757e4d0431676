"""In-process fan-out of order events to live subscriptions, shared by every bus adapter.

A bus adapter's only job is to get each published event into `LocalFanout.dispatch` once per
process (directly in memory, or from the Redis channel); from there this module hands it to
the subscribers of its order and to the firehose. Dispatch is synchronous and never blocks:
a subscription is a bounded buffer plus an `asyncio.Event`, so publishing costs one append per
subscriber and no task.
"""

from __future__ import annotations

import asyncio
from collections import deque

import structlog

from oee.domain.events import OrderEvent

log = structlog.get_logger(__name__)

DEFAULT_BUFFER = 1_000


class Feed:
    """One subscription: an async iterator over the events it is registered for.

    The buffer is bounded. When a slow consumer lets it fill up, the OLDEST buffered events
    are dropped to make room, so the publisher never waits for a reader. Drops are
    survivable by design: the WebSocket layer sees the resulting `seq` gap and backfills the
    missing events from the order's event log, which is always complete (events are
    published only after they are committed).
    """

    __slots__ = ("_buffer", "_closed", "_fanout", "_ready", "dropped", "order_id")

    def __init__(self, fanout: LocalFanout, order_id: str | None, buffer_size: int) -> None:
        self.order_id = order_id
        self.dropped = 0  # events discarded because the consumer fell behind
        self._fanout = fanout
        self._buffer: deque[OrderEvent] = deque(maxlen=buffer_size)
        self._ready = asyncio.Event()
        self._closed = False

    def push(self, event: OrderEvent) -> None:
        """Buffer `event` and wake the reader; drops the oldest event when full."""
        if self._closed:
            return
        if len(self._buffer) == self._buffer.maxlen:
            if not self.dropped:  # once per subscription: a stuck reader must not flood the log
                log.warning("bus_subscriber_overflow", order_id=self.order_id)
            self.dropped += 1
        self._buffer.append(event)  # a full deque(maxlen) discards from the left
        self._ready.set()

    def __aiter__(self) -> Feed:
        return self

    async def __anext__(self) -> OrderEvent:
        while not self._buffer:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        if self._closed:  # closing means "stop now", not "after the backlog"
            raise StopAsyncIteration
        return self._buffer.popleft()

    def close(self) -> None:
        """Stop receiving and end the iteration; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._buffer.clear()
        self._fanout.discard(self)
        self._ready.set()


class LocalFanout:
    """The subscriptions of this process: per order id, plus the firehose (`None`)."""

    def __init__(self, buffer_size: int = DEFAULT_BUFFER) -> None:
        if buffer_size < 1:
            raise ValueError("buffer_size must be at least 1")
        self._buffer_size = buffer_size
        self._by_order: dict[str, set[Feed]] = {}
        self._firehose: set[Feed] = set()
        self._closed = False

    def subscribe(self, order_id: str | None) -> Feed:
        """Register a feed; events dispatched from now on reach it.

        After `close`, the feed returned is already closed (its iteration ends at once).
        """
        feed = Feed(self, order_id, self._buffer_size)
        if self._closed:
            feed.close()
        elif order_id is None:
            self._firehose.add(feed)
        else:
            self._by_order.setdefault(order_id, set()).add(feed)
        return feed

    def dispatch(self, event: OrderEvent) -> None:
        """Hand `event` to its order's feeds and to the firehose."""
        for feed in self._by_order.get(event.order_id, ()):
            feed.push(event)
        for feed in self._firehose:
            feed.push(event)

    def discard(self, feed: Feed) -> None:
        """Forget `feed` (called by `Feed.close`)."""
        if feed.order_id is None:
            self._firehose.discard(feed)
            return
        feeds = self._by_order.get(feed.order_id)
        if feeds is not None:
            feeds.discard(feed)
            if not feeds:  # one entry per live order, not per order ever seen
                del self._by_order[feed.order_id]

    def close(self) -> None:
        """End every feed's iteration and refuse new ones."""
        self._closed = True
        for feed in [*self._firehose, *(f for fs in self._by_order.values() for f in fs)]:
            feed.close()

    def __len__(self) -> int:
        """How many feeds are open."""
        return len(self._firehose) + sum(len(feeds) for feeds in self._by_order.values())
