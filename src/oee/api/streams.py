"""`WS /ws/orders/{orderId}`: a snapshot (or a replay), then every later event exactly once.

The bus is subscribed to before the order is read, so nothing committed after the read can be
missed. What goes out after the snapshot goes through a `Cursor` (`oee.api.cursor`), as on the
firehose: events already covered are skipped by seq, and since pub/sub may drop or reorder
messages, a gap is filled from the event log (the process's `StreamReads`) before the next event
goes out. Quiet orders are checked against the log by the process's `StreamHub`, once for all
its streams, which hands what it finds to every subscription; each event's frame is encoded
once per process. The log is only read on those paths.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from oee.api import wire
from oee.api.cursor import Cursor
from oee.api.deps import (
    accept_from_allowed_origin,
    engine_of,
    order_not_found,
    parse_order_id,
    principal_of,
)
from oee.api.errors import ApiError, unavailable_dependency
from oee.api.keys import Principal
from oee.api.stream_hub import StreamHub, dropped_by, hub_of
from oee.api.views import order_view
from oee.bootstrap import Engine
from oee.domain.events import JSON, OrderEvent
from oee.domain.ports import Subscription
from oee.domain.status import TERMINAL

log = structlog.get_logger(__name__)
router = APIRouter()

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001  # the bus closed under us (server shutting down): reconnect with since
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013
CLOSE_BAD_REQUEST = 4400
CLOSE_NOT_FOUND = 4404


class StreamClosed(Exception):
    """The stream is over; `code` is how to close a WebSocket (SSE just ends)."""

    def __init__(self, code: int) -> None:
        self.code = code


def parse_since(raw: str | None) -> int | None:
    """A `since` seq from a query or `Last-Event-ID`: None when absent.

    Raises:
        ApiError: 400 `INVALID_SINCE` unless it is an integer >= 0.
    """
    if raw is None:
        return None
    # ASCII digits only: no sign, no spaces around (a header's own are trimmed by the server).
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise ApiError(400, "INVALID_SINCE", f"since must be an integer >= 0, got {raw[:20]!r}")
    return int(raw)


Send = Callable[[dict[str, JSON]], Awaitable[None]]
SendEvent = Callable[[OrderEvent], Awaitable[None]]


class OrderStream:
    """One client's view of one order: the snapshot or replay, then its events by `Cursor`.

    Transport-free: the WebSocket and the Server-Sent Events endpoints each pass their `send`
    (for the snapshot) and `send_event` (for an event: its frame comes from the hub, encoded
    once for every client). `viewer` is the caller: another API key's order is "not found" to it.
    """

    def __init__(
        self,
        send: Send,
        send_event: SendEvent,
        engine: Engine,
        hub: StreamHub,
        order_id: str,
        viewer: Principal,
    ) -> None:
        self.send, self.engine, self.hub = send, engine, hub
        self.order_id, self.viewer = order_id, viewer
        self.cursor = Cursor(send_event, hub.reads.events)

    def _close_if_finished(self) -> None:
        if self.cursor.finished(self.order_id):
            raise StreamClosed(CLOSE_NORMAL)

    async def catch_up(self) -> None:
        """Send whatever the log holds after the last seq sent; closes after a terminal one."""
        await self.cursor.catch_up(self.order_id)
        self._close_if_finished()

    async def start(self, since: int | None) -> None:
        """Send the snapshot (or the replay after `since`); close if the order is finished."""
        # Shared with the other streams starting on this order now (read after all subscribed).
        order = await self.hub.reads.order(self.order_id)
        if order is None or not self.viewer.sees(order.owner):
            raise order_not_found(self.order_id)
        if since is None or since <= order.seq:
            # What this stream holds from the read on; the hub checks the log after it.
            held = order.seq if since is None else since
            terminal = held == order.seq and order.status in TERMINAL
            self.hub.follow(order.id, held, order.owner, terminal=terminal)
        if since is None:
            frame = {
                "type": "snapshot",
                "orderId": order.id,
                "seq": order.seq,
                "order": order_view(order),
            }
            await self.send(frame)
            self.cursor.cover(order.id, order.seq, terminal=order.status in TERMINAL)
        elif since > order.seq:
            raise ApiError(
                400, "INVALID_SINCE", f"since={since} is ahead of the order's seq {order.seq}"
            )
        else:
            caught_up = since == order.seq and order.status in TERMINAL
            self.cursor.cover(order.id, since, terminal=caught_up)
            await self.catch_up()
        self._close_if_finished()

    async def follow(self, subscription: Subscription) -> None:
        """Forward live events in seq order, filling gaps from the log.

        No timer of its own: the process's `StreamHub` checks a quiet order against the log
        and hands what it finds to every subscription. What this client alone can lose is
        what its own buffer dropped (it fell behind): then it catches up from the log.
        """
        dropped = 0
        async for event in subscription:
            await self.cursor.deliver(event)
            self._close_if_finished()
            if (now_dropped := dropped_by(subscription)) != dropped:
                dropped = now_dropped
                await self.catch_up()
        await self.catch_up()  # the bus closed: flush what the log has, then go
        raise StreamClosed(CLOSE_GOING_AWAY)


def _sender(ws: WebSocket) -> Send:
    async def send(frame: dict[str, JSON]) -> None:
        await ws.send_text(wire.text(frame))

    return send


def _event_sender(ws: WebSocket, hub: StreamHub) -> SendEvent:
    async def send_event(event: OrderEvent) -> None:
        await ws.send_text(hub.frame(event))

    return send_event


async def until_disconnect(ws: WebSocket) -> None:
    """Return when the client disconnects (reading is how a vanished client is noticed)."""
    # Clients have nothing to say; reading is how a closed or vanished client is noticed.
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


@router.websocket("/ws/orders/{order_id}")
async def order_stream(ws: WebSocket, order_id: str) -> None:
    """Stream one order: snapshot or `?since=` replay, live events, close 1000 when terminal."""
    if not await accept_from_allowed_origin(ws):
        return
    engine = engine_of(ws)
    connections = engine.metrics.ws_connections
    connections.inc()
    try:
        await _stream(ws, engine, order_id)
    finally:
        connections.dec()


async def _stream(ws: WebSocket, engine: Engine, order_id: str) -> None:
    code: int | None = CLOSE_NORMAL
    try:
        oid = parse_order_id(order_id)
        since = parse_since(ws.query_params.get("since"))
        code = await _serve(ws, engine, oid, since)
    except ApiError as exc:
        frame = {"type": "error", "code": exc.code, "message": exc.message}
        code = CLOSE_NOT_FOUND if exc.status == 404 else CLOSE_BAD_REQUEST
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await ws.send_text(wire.text(frame))
    if code is not None and ws.client_state != WebSocketState.DISCONNECTED:
        # The client may close first, right after the terminal event: nothing left to do then.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await ws.close(code)


async def _serve(ws: WebSocket, engine: Engine, order_id: str, since: int | None) -> int | None:
    """Run the stream until it ends or the client leaves; the close code, or None if gone."""
    hub = hub_of(ws)
    with hub.attached(order_id):
        subscription = engine.bus.subscribe(order_id)  # before reading the order: none slips by
        send_event = _event_sender(ws, hub)
        stream = OrderStream(_sender(ws), send_event, engine, hub, order_id, principal_of(ws))

        async def pump() -> int:
            await stream.start(since)
            await stream.follow(subscription)
            return CLOSE_NORMAL

        pumped = await pump_until_disconnect(ws, subscription, pump)
    if pumped is None:
        return None  # the client left first
    exc = pumped.exception()
    if exc is None:
        return pumped.result()
    if isinstance(exc, StreamClosed):
        return exc.code
    if isinstance(exc, ApiError):
        raise exc
    return await report_failure(ws, order_id, exc)


async def pump_until_disconnect(
    ws: WebSocket, subscription: Subscription, pump: Callable[[], Awaitable[int]]
) -> asyncio.Future[int] | None:
    """Run `pump` until it finishes or the client leaves, then close `subscription`.

    Returns:
        The finished pump (its result or exception tells how the stream ended), or None when
        the client disconnected first.
    """
    pumping = asyncio.ensure_future(pump())
    watching = asyncio.ensure_future(until_disconnect(ws))
    try:
        await asyncio.wait({pumping, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watching.cancel()
        pumping.cancel()
        subscription.close()
        await asyncio.gather(watching, pumping, return_exceptions=True)
    if pumping.cancelled() or ws.client_state == WebSocketState.DISCONNECTED:
        return None
    if isinstance(pumping.exception(), WebSocketDisconnect):
        return None
    return pumping


async def report_failure(ws: WebSocket, order_id: str, exc: BaseException) -> int:
    """Log a failed stream, send the client an error frame, and return the close code."""
    dependency = unavailable_dependency(exc)
    if dependency is not None:
        log.warning(
            "ws_dependency_unavailable", order_id=order_id, dependency=dependency, error=repr(exc)
        )
        code, message, close = (
            "SERVICE_UNAVAILABLE",
            f"{dependency} is unavailable right now",
            CLOSE_TRY_AGAIN,
        )
    else:
        log.error("ws_stream_failed", order_id=order_id, exc_info=exc)
        code, message, close = (
            "INTERNAL_ERROR",
            "internal error; it has been logged",
            CLOSE_INTERNAL,
        )
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await ws.send_text(wire.text({"type": "error", "code": code, "message": message}))
    return close
