"""`GET /api/orders/{orderId}/events`: the order's stream as Server-Sent Events.

The same stream as the WebSocket (`OrderStream`: snapshot or replay, then every event once, in
seq order, gaps filled from the log), for clients without WebSocket. Each event carries its seq
as the SSE `id`, so a browser's `EventSource` reconnects with `Last-Event-ID` and gets exactly
what it missed. The response ends after a terminal event, or with an `error` event
(`IDLE_TIMEOUT`) after `OEE_STREAM_IDLE_TIMEOUT_S` without one (`oee.api.limits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from oee.api.deps import OrderIdPath, engine_of, parse_order_id, principal_of, visible_order
from oee.api.errors import ApiError
from oee.api.examples import EXAMPLE_ID, error_responses, ok
from oee.api.limits import idle_frame
from oee.api.stream_hub import StreamHub, hub_of
from oee.api.streams import OrderStream, StreamClosed, parse_since
from oee.domain.events import JSON, OrderEvent

router = APIRouter(tags=["streams"])

# A comment line this often keeps proxies from closing a quiet stream.
KEEPALIVE_S = 15.0
_END = None  # queued after the last frame
_STREAM_EXAMPLE = (
    f'id: 6\nevent: confirmed\ndata: {{"type": "confirmed", "orderId": "{EXAMPLE_ID}", '
    '"seq": 6, "txHash": "5VfY...", "executedPrice": 150.18, "amountOut": 225.27}\n\n'
)


_SEQ = {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}  # as `parse_since` reads it
_PARAMETERS = [
    {
        "name": "since",
        "in": "query",
        "required": False,
        "description": "Replay the events after this seq instead of sending a snapshot "
        "(ASCII digits; at most the order's seq).",
        "schema": _SEQ,
    },
    {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "description": "As `since`, sent by a reconnecting `EventSource`; wins over `since`.",
        "schema": _SEQ,
    },
    {
        "name": "token",
        "in": "query",
        "required": False,
        "description": "A stream token from `POST /api/stream-tokens`, in place of a key header "
        "(read only without one).",
        "schema": {"type": "string"},
    },
]


@router.get(
    "/api/orders/{order_id}/events",
    summary="The order's events as Server-Sent Events",
    description="A `snapshot` event, then every later event once, in `seq` order; the SSE `id` is "
    "the seq. Resume with the `Last-Event-ID` header (or `?since=<seq>`): the events after it "
    "are replayed from the log instead of the snapshot. The response ends after a terminal "
    "event. A browser's `EventSource` cannot send headers: with API keys, pass `?token=` from "
    "`POST /api/stream-tokens` instead.",
    response_class=StreamingResponse,
    responses=ok(_STREAM_EXAMPLE, "The event stream.", "text/event-stream")
    | error_responses(
        "INVALID_ORDER_ID", "INVALID_SINCE", "ORDER_NOT_FOUND", "SERVICE_UNAVAILABLE"
    ),
    openapi_extra={"parameters": _PARAMETERS},
)
async def order_events(request: Request, order_id: OrderIdPath) -> StreamingResponse:
    """Stream one order's events as `text/event-stream`."""
    engine = engine_of(request)
    oid = parse_order_id(order_id)
    # Both are checked; the header, sent by a reconnecting EventSource, wins.
    since = parse_since(request.query_params.get("since"))
    if (header := request.headers.get("last-event-id")) is not None:
        since = parse_since(header)
    # Checked before the response starts, so these are plain HTTP errors, not a broken stream.
    order = await visible_order(request, oid)
    if since is not None and since > order.seq:
        raise ApiError(
            400, "INVALID_SINCE", f"since={since} is ahead of the order's seq {order.seq}"
        )
    frames: asyncio.Queue[str | None] = asyncio.Queue()
    hub = hub_of(request)
    attachment = contextlib.ExitStack()  # held until the body ends
    attachment.enter_context(hub.attached(oid))  # before subscribing: see `StreamHub.attached`
    subscription = engine.bus.subscribe(oid)  # before the stream reads the order

    async def send(frame: dict[str, JSON]) -> None:
        await frames.put(_format(frame["seq"], frame["type"], orjson.dumps(frame).decode()))

    async def send_event(event: OrderEvent) -> None:
        await frames.put(_format_event(event, hub))

    stream = OrderStream(send, send_event, engine, hub, oid, principal_of(request))

    async def pump() -> None:
        try:
            await stream.start(since)
            await stream.follow(subscription)
        except StreamClosed:
            pass
        finally:
            await frames.put(_END)

    idle_s = engine.settings.stream_idle_timeout_s

    async def body() -> AsyncIterator[str]:
        pumping = asyncio.ensure_future(pump())
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        try:
            while True:
                wait = KEEPALIVE_S
                if idle_s is not None:
                    wait = min(wait, max(quiet_since + idle_s - loop.time(), 0.0))
                try:
                    frame = await asyncio.wait_for(frames.get(), wait)
                except TimeoutError:
                    if idle_s is not None and loop.time() - quiet_since >= idle_s:
                        # No id: the client's Last-Event-ID stays the last event's seq.
                        engine.metrics.limited_for("IDLE_TIMEOUT").inc()
                        yield f"event: error\ndata: {json.dumps(idle_frame(idle_s))}\n\n"
                        return
                    yield ": keepalive\n\n"
                    continue
                if frame is _END:
                    break
                quiet_since = loop.time()
                yield frame
            pumping.result()  # surface a failed stream (logged by the server) rather than hide it
        finally:
            pumping.cancel()
            subscription.close()
            attachment.close()

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)


def _format(seq: JSON, kind: JSON, data: str) -> str:
    return f"id: {seq}\nevent: {kind}\ndata: {data}\n\n"


def _format_event(event: OrderEvent, hub: StreamHub) -> str:
    return _format(event.seq, event.type, hub.frame(event))  # its JSON encoded once per process
