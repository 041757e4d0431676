"""What the streams of one API process share: one log watch, one log reader, one frame per event.

Pub/sub may drop an event on its way into this process. A later event of the same order
reveals the gap to every client, which fills it from the log (`StreamReads`: one read however
many clients ask). But when an order's *last* events are dropped, nothing later reveals it,
so someone must check quiet orders against the log. That check used to run in every client
(each firehose client checked each of its quiet orders every 2 s, each order stream its own
order), so the database's load grew with the number of clients: 1,000 firehose clients over
20 orders made ~10,000 reads/s, exhausted the pool and failed streams. Now the process
checks once: `StreamHub` follows every order a stream of this process follows, through one
bus subscription of its own, and every `LOG_CHECK_INTERVAL_S` reads the log of each order
quiet that long, once; what it finds is handed to this process's subscribers
(`EventBus.redeliver`), as if the bus had delivered it late, and each client's `Cursor` drops
what it already has. A client therefore needs no timer and no log read of its own, except
when its own buffer overflowed (then it catches up through the `StreamReads`).

The hub runs while at least one stream is attached, so an idle API holds nothing.

`frame` encodes an event once per process (orjson): every subscriber is sent the same text.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator

import orjson
import structlog
from starlette.requests import HTTPConnection

from oee.api.cursor import Cursor
from oee.api.stream_reads import StreamReads
from oee.domain.events import OrderEvent
from oee.domain.ports import EventBus, Subscription
from oee.domain.status import TERMINAL

log = structlog.get_logger(__name__)

# How long an order may stay quiet before its log is checked for dropped events.
LOG_CHECK_INTERVAL_S = 2.0
CHECKS_PER_SWEEP = 50  # quiet orders checked per look, quietest first (the rest next time)
FRAMES_KEPT = 4096  # encoded events kept, newest last: an event's frame is wanted for seconds


class StreamHub:
    """The log watch and frame cache of one API process's streams.

    Args:
        bus: The process's bus: the hub subscribes to every order, and redelivers through it.
        reads: The store reads every stream of the process shares.
        interval_s: How quiet an order must be before its log is checked (again);
            `LOG_CHECK_INTERVAL_S` when None.
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        bus: EventBus,
        reads: StreamReads,
        *,
        interval_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reads = reads
        self._bus, self._clock = bus, clock
        self._interval_s = LOG_CHECK_INTERVAL_S if interval_s is None else interval_s
        self._cursor = Cursor(self._redeliver, reads.events, clock=clock)
        self._owners: dict[str, str | None] = {}  # log events carry none; streams filter by it
        self._attached = 0
        self._firehoses = 0  # while one is attached, every order is followed
        self._followed: dict[str, int] = {}  # order id -> order streams attached to it
        self._watch: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self._frames: OrderedDict[tuple[str, int], str] = OrderedDict()

    @contextlib.contextmanager
    def attached(self, order_id: str | None = None) -> Iterator[None]:
        """Hold the hub while a stream runs: `order_id` for an order stream, None for a firehose.

        Enter it before the stream subscribes and reads the order: the watch's own
        subscription is then older than anything the stream reads.
        """
        if self._watch is None or self._watch.done():  # done: the bus closed under it
            self._stop()
            self._subscription = self._bus.subscribe(None)
            self._watch = asyncio.ensure_future(self._run(self._subscription))
        self._attached += 1
        if order_id is None:
            self._firehoses += 1
        else:
            self._followed[order_id] = self._followed.get(order_id, 0) + 1
        try:
            yield
        finally:
            self._attached -= 1
            if order_id is None:
                self._firehoses -= 1
            elif (left := self._followed[order_id] - 1) > 0:
                self._followed[order_id] = left
            else:
                del self._followed[order_id]
            if not self._attached:
                self._stop()

    def follow(self, order_id: str, seq: int, owner: str | None, *, terminal: bool) -> None:
        """Note that a stream holds `order_id` up to `seq`: the watch checks the log after it.

        Called when a stream learns of an order other than from the bus (a snapshot, a
        `since`). The watch goes back to the lowest seq any stream holds, since events that
        pub/sub dropped before that stream's read would reach it from nowhere else.
        """
        self._owners.setdefault(order_id, owner)
        if terminal or self._cursor.finished(order_id):
            return
        if not self._cursor.knows(order_id) or seq < self._cursor.last(order_id):
            self._cursor.cover(order_id, seq)

    def frame(self, event: OrderEvent) -> str:
        """The event's WebSocket frame (its wire JSON), encoded once for every subscriber."""
        key = (event.order_id, event.seq)
        text = self._frames.get(key)
        if text is None:
            text = self._frames[key] = orjson.dumps(event.to_wire()).decode()
            if len(self._frames) > FRAMES_KEPT:
                self._frames.popitem(last=False)
        return text

    async def _run(self, subscription: Subscription) -> None:
        """Note every live event; check the quiet orders against the log."""
        events = aiter(subscription)
        next_event = asyncio.ensure_future(anext(events))
        # Looked at four times per interval, so an order is checked within 1.25 intervals of
        # its last event, not 2; a look that finds nothing quiet costs no read.
        every_s = self._interval_s / 4
        next_check = self._clock() + every_s
        try:
            while True:
                timeout = max(next_check - self._clock(), 0.0)
                done, _ = await asyncio.wait({next_event}, timeout=timeout)
                if self._clock() >= next_check:
                    await self._check_quiet_orders()
                    next_check = self._clock() + every_s
                if not done:
                    continue
                try:
                    event = next_event.result()
                except StopAsyncIteration:
                    return  # the bus closed: the server is shutting down
                next_event = asyncio.ensure_future(anext(events))
                self._heard(event)
        finally:
            next_event.cancel()

    def _heard(self, event: OrderEvent) -> None:
        order_id = event.order_id
        if event.owner is not None:
            self._owners[order_id] = event.owner
        if self._cursor.finished(order_id) or event.seq <= self._cursor.last(order_id):
            return
        # An earlier event missing here is missing in every client too, and the next event a
        # client gets shows it the gap; the watch only has to find the gaps nothing reveals.
        self._cursor.cover(order_id, event.seq, terminal=event.type in TERMINAL)

    async def _check_quiet_orders(self) -> None:
        quiet = self._cursor.quiet(self._interval_s, CHECKS_PER_SWEEP)
        wanted = [o for o in quiet if self._firehoses or o in self._followed]
        # Side by side: the shared log lets a few into the database at once, queues the rest.
        checked = await asyncio.gather(
            *(self._cursor.catch_up(o) for o in wanted), return_exceptions=True
        )
        for order_id, outcome in zip(wanted, checked, strict=True):
            if isinstance(outcome, Exception):  # the database busy or gone: again next time
                log.warning("stream_log_check_failed", order_id=order_id, error=repr(outcome))
        self._cursor.forget()
        for order_id in [o for o in self._owners if not self._cursor.knows(o)]:
            del self._owners[order_id]

    async def _redeliver(self, event: OrderEvent) -> None:
        # Events read from the log carry no owner; the firehose filters other keys' by it.
        owner = self._owners.get(order_id := event.order_id)
        self._bus.redeliver(dataclasses.replace(event, owner=owner) if owner else event)
        log.info("stream_event_recovered", order_id=order_id, seq=event.seq)

    def _stop(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        if self._watch is not None:
            self._watch.cancel()
        self._watch, self._subscription = None, None
        self._cursor = Cursor(self._redeliver, self.reads.events, clock=self._clock)
        self._owners.clear()


def dropped_by(subscription: Subscription) -> int:
    """How many events the subscription's buffer has dropped (its reader fell behind)."""
    return int(getattr(subscription, "dropped", 0))  # 0 for a subscription that cannot drop


def hub_of(conn: HTTPConnection) -> StreamHub:
    """The hub of the app serving `conn` (made on its first stream)."""
    state = conn.app.state
    hub: StreamHub | None = getattr(state, "stream_hub", None)
    if hub is None:
        engine = state.engine
        hub = state.stream_hub = StreamHub(
            engine.bus, StreamReads(engine.orders.events, engine.orders.get)
        )
    return hub
