"""`WS /ws/orders`: the firehose — every order's events, per order by the single-order rules.

On connect the client gets one `{"type": "snapshot", "activeCount", "orders": [<order view>]}`
frame (every active order, up to the same cap as `GET /api/orders/active`, plus the `?recent=N`
newest, newest first), then every later event of every order exactly as `/ws/orders/{id}`
sends it: per order in `seq` order, no duplicates, gaps filled from the event log. It never
closes on a terminal event; only the client, a server shutdown (1001) or an error ends it.

The per-order rules are those of `oee.api.streams`, kept per order id in `SeenOrders`, whose
memory is bounded: a finished order is forgotten a while after its terminal event (late
duplicates of it arrive within seconds, not minutes), and unfinished orders are the engine's
active set. An order first heard of mid-life (beyond the snapshot's cap, or whose first
events pub/sub dropped) is sent from its first event on, read from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from oee.api.deps import RECENT_DEFAULT, RECENT_MAX, engine_of
from oee.api.errors import ApiError
from oee.api.schemas import order_view
from oee.api.streams import (
    CLOSE_BAD_REQUEST,
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    LOG_CHECK_INTERVAL_S,
    pump_until_disconnect,
    report_failure,
)
from oee.bootstrap import Engine
from oee.domain.events import OrderEvent
from oee.domain.orders import Order
from oee.domain.status import TERMINAL

router = APIRouter()

SNAPSHOT_ACTIVE_MAX = 1000  # the cap of `GET /api/orders/active`; `activeCount` is exact
FORGET_AFTER_S = 60.0  # how long a finished order's last seq is kept against late duplicates
MAX_FINISHED = 10_000  # and at most this many finished orders, oldest forgotten first
CHECKS_PER_SWEEP = 50  # quiet unfinished orders checked against the log per sweep


class SeenOrders:
    """The last seq sent per order; finished orders are forgotten, so memory stays bounded."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        # Both ordered by when the order was last heard of, oldest first: the front of
        # `_working` is the quietest order, the front of `_finished` the first to forget.
        self._working: OrderedDict[str, float] = OrderedDict()
        self._finished: OrderedDict[str, float] = OrderedDict()

    def last(self, order_id: str) -> int:
        """The last seq sent for `order_id`; 0 for an order not seen (or forgotten)."""
        return self._last.get(order_id, 0)

    def record(self, order_id: str, seq: int, terminal: bool, now: float) -> None:
        """Note that `seq` of `order_id` went out (or was covered by the snapshot)."""
        self._last[order_id] = seq
        if terminal:
            self._working.pop(order_id, None)
            self._finished[order_id] = now
            self._finished.move_to_end(order_id)
            self.forget(now)
        else:
            self._working[order_id] = now
            self._working.move_to_end(order_id)

    def quiet(self, now: float, older_than_s: float, limit: int) -> list[str]:
        """Up to `limit` unfinished orders not heard of for `older_than_s`, quietest first.

        They count as heard of now, so the next call reaches the ones after them.
        """
        picked: list[str] = []
        for order_id, heard in self._working.items():
            if len(picked) == limit or now - heard < older_than_s:
                break
            picked.append(order_id)
        for order_id in picked:
            self._working.move_to_end(order_id)
            self._working[order_id] = now
        return picked

    def forget(self, now: float) -> None:
        """Drop finished orders older than `FORGET_AFTER_S`, and any beyond `MAX_FINISHED`."""
        while self._finished:
            order_id, finished = next(iter(self._finished.items()))
            if now - finished < FORGET_AFTER_S and len(self._finished) <= MAX_FINISHED:
                break
            del self._finished[order_id]
            del self._last[order_id]

    def __len__(self) -> int:
        """How many orders are remembered."""
        return len(self._last)


def _parse_recent(raw: str | None) -> int:
    if raw is None:
        return RECENT_DEFAULT
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and int(text) <= RECENT_MAX):
        raise ApiError(
            400,
            "INVALID_RECENT",
            f"recent must be an integer from 0 to {RECENT_MAX}, got {raw[:20]!r}",
        )
    return int(text)


class _Firehose:
    """One client's firehose: the snapshot, then every order's events by the per-order rules."""

    def __init__(self, ws: WebSocket, engine: Engine) -> None:
        self.ws, self.engine = ws, engine
        self.seen = SeenOrders()

    async def start(self, recent: int) -> None:
        """Send the active orders and the `recent` newest as one snapshot frame."""
        count, active_ids = await self.engine.orders.active(SNAPSHOT_ACTIVE_MAX)
        newest = await self.engine.orders.recent(recent) if recent else []
        orders: dict[str, Order] = {o.id: o for o in newest}
        for order_id in active_ids:
            if order_id not in orders and (order := await self.engine.orders.get(order_id)):
                orders[order_id] = order
        newest_first = sorted(orders.values(), key=lambda o: o.created_at, reverse=True)
        frame = {
            "type": "snapshot",
            "activeCount": count,
            "orders": [order_view(o) for o in newest_first],
        }
        await self.ws.send_text(json.dumps(frame))
        now = time.monotonic()
        for order in newest_first:
            self.seen.record(order.id, order.seq, order.status in TERMINAL, now)

    async def send(self, event: OrderEvent) -> None:
        """Send `event` unless its seq was already covered for its order."""
        if event.seq <= self.seen.last(event.order_id):
            return  # already sent (snapshot, backfill or a duplicate publication covered it)
        await self.ws.send_text(json.dumps(event.to_wire()))
        self.seen.record(event.order_id, event.seq, event.type in TERMINAL, time.monotonic())

    async def catch_up(self, order_id: str) -> None:
        """Send whatever the order's log holds after the last seq sent."""
        for event in await self.engine.orders.events(order_id, self.seen.last(order_id)):
            await self.send(event)

    async def deliver(self, event: OrderEvent) -> None:
        """Send a live event, first filling any gap before it from the log."""
        if event.seq > self.seen.last(event.order_id) + 1:
            await self.catch_up(event.order_id)
        await self.send(event)

    async def sweep(self) -> None:
        """Check the quietest unfinished orders against the log (pub/sub may drop an event)."""
        now = time.monotonic()
        for order_id in self.seen.quiet(now, LOG_CHECK_INTERVAL_S, CHECKS_PER_SWEEP):
            await self.catch_up(order_id)
        self.seen.forget(now)

    async def follow(self, events: AsyncIterator[OrderEvent]) -> int:
        """Forward live events, sweeping every `LOG_CHECK_INTERVAL_S`; the close code when done."""
        next_event = asyncio.ensure_future(anext(events))
        next_sweep = time.monotonic() + LOG_CHECK_INTERVAL_S
        try:
            while True:
                # Wait on the same pending `anext` across timeouts (see streams.py: cancelling
                # it could end an async-generator subscription). A sweep runs on time even
                # while events keep coming, so a busy bus cannot hide a dropped event.
                timeout = max(next_sweep - time.monotonic(), 0.0)
                done, _ = await asyncio.wait({next_event}, timeout=timeout)
                if time.monotonic() >= next_sweep:
                    await self.sweep()
                    next_sweep = time.monotonic() + LOG_CHECK_INTERVAL_S
                if not done:
                    continue
                try:
                    event = next_event.result()
                except StopAsyncIteration:
                    return CLOSE_GOING_AWAY  # the bus closed: the server is shutting down
                next_event = asyncio.ensure_future(anext(events))
                await self.deliver(event)
        finally:
            next_event.cancel()


@router.websocket("/ws/orders")
async def firehose(ws: WebSocket) -> None:
    """Stream every order: a snapshot of active and recent orders, then every event."""
    await ws.accept()
    code: int | None = CLOSE_NORMAL
    try:
        code = await _serve(ws, engine_of(ws), _parse_recent(ws.query_params.get("recent")))
    except ApiError as exc:
        code = CLOSE_BAD_REQUEST
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await ws.send_text(
                json.dumps({"type": "error", "code": exc.code, "message": exc.message})
            )
    if code is not None and ws.client_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await ws.close(code)


async def _serve(ws: WebSocket, engine: Engine, recent: int) -> int | None:
    """Run the firehose until the client leaves (None) or it must close (the close code)."""
    subscription = engine.bus.subscribe(None)  # before the snapshot is read: nothing slips by
    hose = _Firehose(ws, engine)

    async def pump() -> int:
        await hose.start(recent)
        return await hose.follow(aiter(subscription))

    pumped = await pump_until_disconnect(ws, subscription, pump)
    if pumped is None:
        return None
    exc = pumped.exception()
    if exc is None:
        return pumped.result()
    return await report_failure(ws, "*", exc)  # "*": the firehose, not one order
