"""`WS /ws/orders`: the firehose — every order's events, per order by the single-order rules.

On connect the client gets one `{"type": "snapshot", "activeCount", "orders": [<order view>]}`
frame (every active order, up to the same cap as `GET /api/orders/active`, plus the `?recent=N`
newest, newest first, of the orders created before it connected; `activeCount` is the store's
count when the snapshot was read), then every later event of every order exactly as
`/ws/orders/{id}` sends it: per order in `seq` order, no duplicates, gaps filled from the event
log. An order created after the client connected is never in the snapshot, however late the
snapshot is read: the client gets all its events, from `pending` (seq 1) on. It never closes on
a terminal event; only the client, a server shutdown (1001) or an error ends it.

With API keys, a key's firehose carries that key's orders only, in the snapshot and live: an
event of another key's order is dropped before it is sent (an admin key sees every order).

The per-order rules are those of `oee.api.cursor.Cursor`, the same as the order stream's, with
one cursor for all the client's orders; its memory is bounded (finished orders are forgotten a
minute after their terminal event). An order first heard of mid-life (beyond the snapshot's cap,
or whose first events pub/sub dropped) is sent from its first event on, read from the log.
Quiet orders are checked against the log once per process, not per client (`StreamHub`), and
every event's frame is encoded once per process: a client costs a buffer and a cursor.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

import orjson
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from oee.api.cursor import Cursor
from oee.api.deps import (
    RECENT_DEFAULT,
    RECENT_MAX,
    accept_from_allowed_origin,
    engine_of,
    principal_of,
)
from oee.api.errors import ApiError
from oee.api.keys import Principal
from oee.api.stream_hub import LOG_CHECK_INTERVAL_S, StreamHub, dropped_by, hub_of
from oee.api.streams import (
    CLOSE_BAD_REQUEST,
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    pump_until_disconnect,
    report_failure,
)
from oee.api.views import order_view
from oee.bootstrap import Engine
from oee.domain.events import OrderEvent
from oee.domain.orders import Order
from oee.domain.ports import Subscription
from oee.domain.status import TERMINAL

router = APIRouter()

SNAPSHOT_ACTIVE_MAX = 1000  # the cap of `GET /api/orders/active`; `activeCount` is exact
__all__ = ["LOG_CHECK_INTERVAL_S", "router"]


def _parse_recent(raw: str | None) -> int:
    if raw is None:
        return RECENT_DEFAULT
    text = raw  # ASCII digits only, as every number the API reads: no sign, no spaces
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and int(text) <= RECENT_MAX):
        raise ApiError(
            400,
            "INVALID_RECENT",
            f"recent must be an integer from 0 to {RECENT_MAX}, got {raw[:20]!r}",
        )
    return int(text)


class _Firehose:
    """One client's firehose: the snapshot, then every order's events through one `Cursor`."""

    def __init__(
        self,
        ws: WebSocket,
        engine: Engine,
        hub: StreamHub,
        connected_at: datetime,
        viewer: Principal,
    ) -> None:
        self.ws, self.engine, self.hub = ws, engine, hub
        self.connected_at, self.viewer = connected_at, viewer

        async def send(event: OrderEvent) -> None:
            await ws.send_text(hub.frame(event))

        self.cursor = Cursor(send, hub.reads.events)

    async def start(self, recent: int) -> None:
        """Send the orders that existed on connecting (active, and the `recent` newest).

        An order created since (the snapshot is read a moment after connecting, much later on
        a loaded server) is left out and followed from its first event instead: its events
        are this client's to see, and a snapshot would swallow them.
        """
        owner = self.viewer.owner_filter
        count, active_ids = await self.engine.orders.active(SNAPSHOT_ACTIVE_MAX, owner)
        newest = await self.engine.orders.recent(recent, owner) if recent else []
        orders: dict[str, Order] = {o.id: o for o in newest}
        for order_id in active_ids:
            if order_id not in orders and (order := await self.engine.orders.get(order_id)):
                orders[order_id] = order
        existed = [o for o in orders.values() if o.created_at < self.connected_at]
        newest_first = sorted(existed, key=lambda o: o.created_at, reverse=True)
        frame = {
            "type": "snapshot",
            "activeCount": count,
            "orders": [order_view(o) for o in newest_first],
        }
        await self.ws.send_text(orjson.dumps(frame).decode())
        for order in orders.values():
            # An order created since is followed from its first event, live or from the log.
            seq = order.seq if order.created_at < self.connected_at else 0
            terminal = seq > 0 and order.status in TERMINAL
            self.cursor.cover(order.id, seq, terminal=terminal)
            self.hub.follow(order.id, seq, order.owner, terminal=terminal)

    async def catch_up_all(self) -> None:
        """Catch every unfinished order up from the log (after this client's buffer overflowed)."""
        for order_id in self.cursor.unfinished():
            await self.cursor.catch_up(order_id)

    async def follow(self, subscription: Subscription) -> int:
        """Forward live events until the bus closes; the close code then.

        No timer of its own: the process's `StreamHub` checks quiet orders against the log
        and hands what it finds to every subscription. What this client alone can lose is
        what its own buffer dropped (it fell behind): then it catches up from the log.
        """
        dropped = 0
        async for event in subscription:
            if self.viewer.sees(event.owner):  # another key's order: never sent, never tracked
                await self.cursor.deliver(event)
            if (now_dropped := dropped_by(subscription)) != dropped:
                dropped = now_dropped
                await self.catch_up_all()
        return CLOSE_GOING_AWAY  # the bus closed: the server is shutting down


@router.websocket("/ws/orders")
async def firehose(ws: WebSocket) -> None:
    """Stream every order: a snapshot of active and recent orders, then every event."""
    if not await accept_from_allowed_origin(ws):
        return
    code: int | None = CLOSE_NORMAL
    try:
        code = await _serve(ws, engine_of(ws), _parse_recent(ws.query_params.get("recent")))
    except ApiError as exc:
        code = CLOSE_BAD_REQUEST
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            error = {"type": "error", "code": exc.code, "message": exc.message}
            await ws.send_text(orjson.dumps(error).decode())
    if code is not None and ws.client_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await ws.close(code)


async def _serve(ws: WebSocket, engine: Engine, recent: int) -> int | None:
    """Run the firehose until the client leaves (None) or it must close (the close code)."""
    hub = hub_of(ws)
    with hub.attached(None):
        subscription = engine.bus.subscribe(None)  # before the snapshot is read: nothing slips
        # After subscribing: every order created from now on has all its events published to us.
        hose = _Firehose(ws, engine, hub, engine.clock.now(), principal_of(ws))

        async def pump() -> int:
            await hose.start(recent)
            return await hose.follow(subscription)

        pumped = await pump_until_disconnect(ws, subscription, pump)
    if pumped is None:
        return None
    exc = pumped.exception()
    if exc is None:
        return pumped.result()
    return await report_failure(ws, "*", exc)  # "*": the firehose, not one order
