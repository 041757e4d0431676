"""HTTP routes of the order API.

With API keys, every order belongs to the key that placed it: another key's order is 404 as if
it did not exist (to read it or to cancel it), and the listings show the caller's orders only
(an admin key's, all of them).

Routes read raw bodies and query strings themselves (`oee.api.requests`) and return
`JSONResponse`s built from plain dicts: the Pydantic models only document the shapes, so the hot
path of `POST /api/orders/execute` is one body read, one parse and one store insert.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from oee.api.deps import (
    IDEMPOTENCY_HEADER,
    RECENT_DEFAULT,
    RECENT_MAX,
    SINCE_HELP,
    OrderIdPath,
    engine_of,
    order_not_found,
    parse_choice,
    parse_created_since,
    parse_idempotency_key,
    parse_limit,
    parse_order_id,
    principal_of,
    read_body,
    read_optional_body,
    visible_order,
)
from oee.api.errors import ApiError
from oee.api.examples import EXAMPLE_ID, ORDER_RULES, TRIGGER_RULES, error_responses, ok
from oee.api.keys import Principal
from oee.api.open_orders import OpenOrders
from oee.api.openapi import ActiveOrders, ExecuteAccepted, ExecuteRequest, OrderView, TimelineView
from oee.api.order_examples import EXAMPLE_CANCELLED_ORDER, EXAMPLE_ORDER, EXAMPLE_TIMELINE
from oee.api.requests import parse_cancel, parse_execute
from oee.api.risk import check_tokens, check_trading
from oee.api.views import order_view
from oee.api.wire import JsonResponse
from oee.bootstrap import Engine
from oee.domain.orders import OrderType
from oee.domain.status import OrderStatus
from oee.domain.triggers import DEFAULT_TTL, MAX_TTL
from oee.services.orders import NotCancellable

router = APIRouter(prefix="/api/orders", tags=["orders"])


_EXECUTE_ERRORS = error_responses(
    "MALFORMED_JSON",
    "BODY_NOT_OBJECT",
    "INVALID_IDEMPOTENCY_KEY",
    "INCOMPLETE_BODY",
    "IDEMPOTENCY_KEY_REUSED",
    "BODY_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "VALIDATION_ERROR",
    "UNSUPPORTED_ORDER_TYPE",
    *ORDER_RULES,
    *TRIGGER_RULES,
    "TOKEN_NOT_ALLOWED",
    "SERVICE_UNAVAILABLE",
    "HALTED",
    "OVERLOADED",
)
STATUSES = tuple(s.value for s in OrderStatus)
ORDER_TYPES = tuple(t.value for t in OrderType)
_ACCEPTED_EXAMPLE = {"orderId": EXAMPLE_ID, "wsUrl": f"/ws/orders/{EXAMPLE_ID}"}
_ACTIVE_EXAMPLE = {
    "activeCount": 2,
    "orderIds": [EXAMPLE_ID, "7d0c1b9e-2f4a-4e8b-9c61-3a5d8e2f1b47"],
}


_EXECUTE_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": ExecuteRequest.model_json_schema(ref_template="#/components/schemas/{model}"),
            "examples": {
                "market": {
                    "summary": "Sell 1.5 SOL for USDC, 0.5 % slippage",
                    "value": {
                        "tokenIn": "SOL",
                        "tokenOut": "USDC",
                        "amountIn": 1.5,
                        "slippageBps": 50,
                    },
                },
                "decimal string": {
                    "summary": "Exact amount as a string; slippage defaults to 50 bps",
                    "value": {"tokenIn": "USDC", "tokenOut": "BONK", "amountIn": "250.000001"},
                },
                "limit": {
                    "summary": "Sell 2 SOL once it fetches at least 160 USDC each, for 6 h",
                    "value": {
                        "type": "limit",
                        "tokenIn": "SOL",
                        "tokenOut": "USDC",
                        "amountIn": "2",
                        "limitPrice": "160",
                        "ttlSeconds": 21600,
                    },
                },
                "sniper": {
                    "summary": "Buy a new token with 0.5 SOL when its first pool opens",
                    "value": {
                        "type": "sniper",
                        "tokenIn": "SOL",
                        "tokenOut": "8PTqJt1kC3yt8Sa6ukoVEX14QRX15QGjEmHJ79QyPGVy",
                        "amountIn": 0.5,
                        "slippageBps": 300,
                        "venues": ["raydium"],
                        "maxPriceImpactBps": 800,
                        "expiresAt": "2026-12-04T18:00:00Z",
                    },
                },
            },
        }
    },
}
_DEFAULT_TTL_S = int(DEFAULT_TTL.total_seconds())
_MAX_TTL_S = int(MAX_TTL.total_seconds())


def document_price_impact_cap(schema: dict[str, Any], cap_bps: int) -> None:
    """Declare this engine's `maxPriceImpactBps` ceiling (OEE_MAX_PRICE_IMPACT_CAP_BPS) in the
    execute body's schema, so the document says what this deployment enforces."""
    body = schema["paths"]["/api/orders/execute"]["post"]["requestBody"]
    field = body["content"]["application/json"]["schema"]["properties"]["maxPriceImpactBps"]
    field["maximum"] = cap_bps


@router.post(
    "/execute",
    summary="Submit a market, limit or sniper swap order",
    description="Validates the order, stores it as `pending` and queues it. "
    "The body must be sent as `application/json` (415 otherwise) and may hold only the "
    "fields below (an unknown field is a 422, never ignored). `amountIn` as a string is "
    "ASCII digits with an optional point. `slippageBps` is optional and defaults to 50 "
    "(0.5 %). `type` is `market` (the default: execute now), `limit` or `sniper`; "
    "`orderType` is its older name (both given and different: 422 `VALIDATION_ERROR`).\n\n"
    "**limit**: `limitPrice` (required) is the worst acceptable price in whole tokenOut per "
    "whole tokenIn; the order waits (`watching`) until the best quote for its size pays at "
    "least that, and its swap never accepts less. **sniper**: `tokenOut` is any valid mint "
    "address (it need not trade yet; tokenIn is SOL or USDC); the order fires on the first "
    "pool that opens for that mint on one of `venues` (default both) and buys with "
    "`amountIn`, within `slippageBps` and `maxPriceImpactBps`. Both wait until `expiresAt` "
    f"(RFC 3339 with an offset) or `ttlSeconds` from now (not both; default {_DEFAULT_TTL_S} "
    f"s, at most {_MAX_TTL_S} s) and then end `expired`. A field of another type (e.g. "
    "`limitPrice` on a market order) is 422 `FIELD_NOT_FOR_TYPE`.\n\n"
    "Follow the order on `wsUrl`. With an `Idempotency-Key` "
    "header (1-255 printable ASCII characters), repeating the same request within 24 h "
    "returns the same order (header `Idempotent-Replayed: true`); the same key with a "
    "different request answers 409 `IDEMPOTENCY_KEY_REUSED`. Idempotency keys are per API "
    "key: two clients may use the same one without colliding.\n\n"
    "**Risk checks at submit**: a token outside `OEE_TOKEN_ALLOWLIST` or on "
    "`OEE_TOKEN_DENYLIST` (either side; a sniper's mint too) is 403 `TOKEN_NOT_ALLOWED`; while "
    "trading is halted (`POST /api/admin/halt`) every submit is 503 `HALTED` (a replay of an "
    "idempotent submit too: after the resume the same key returns the first order). The "
    "others fail the accepted order before anything is signed: `RISK_PRICE_IMPACT`, "
    "`NOTIONAL_LIMIT_EXCEEDED`, `NOTIONAL_UNKNOWN`, `RISK_NOTIONAL_RATE`, "
    "`INSUFFICIENT_BALANCE`.\n\n"
    "**Past capacity** (queued orders waiting longer than `OEE_ADMISSION_MAX_QUEUE_WAIT_S`, "
    "or more of them than `OEE_ADMISSION_MAX_QUEUE_DEPTH`, too many submits in flight, or a "
    "lagging event loop) a submit is 503 `OVERLOADED` with `Retry-After` (seconds) and "
    "nothing is stored: the engine slows down instead of queueing orders it cannot start.",
    response_model=ExecuteAccepted,
    responses=ok(_ACCEPTED_EXAMPLE, "The order is stored and queued.") | _EXECUTE_ERRORS,
    openapi_extra={"requestBody": _EXECUTE_BODY},
)
async def execute(request: Request) -> Response:
    """Accept an order (see `accept_order`)."""
    state = request.app.state
    return await accept_order(request, state.engine, principal_of(request), state.open_orders)


async def accept_order(
    request: Request, engine: Engine, principal: Principal, open_orders: OpenOrders
) -> Response:
    """The submit, for the routed path and the direct one (`oee.api.direct`) alike.

    One body read, one parse, the submit checks and one store insert (inside `submit`): any
    check added here covers both paths.

    Raises:
        ApiError: A refused request (400, 403, 413, 415, 422, 429, 503).
        InvalidOrder: An order rule the domain enforces.
        IdempotencyConflict: The key was used for a different request.
    """
    key = parse_idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
    cmd = parse_execute(
        await read_body(request, engine.settings.max_body_bytes),
        engine.registry,
        now=engine.clock.now(),
        price_impact_cap_bps=engine.settings.max_price_impact_cap_bps,
    )
    check_tokens(engine, cmd)  # 403 TOKEN_NOT_ALLOWED (oee.api.risk)
    await check_trading(engine)  # 503 HALTED
    await open_orders.check(principal.name)  # 429 TOO_MANY_OPEN_ORDERS
    accepted = await engine.orders.submit(cmd, key, principal.name)
    if not accepted.replayed:
        open_orders.accepted(principal.name)
    oid = accepted.order_id
    headers = {"Idempotent-Replayed": "true"} if accepted.replayed else None
    return JsonResponse({"orderId": oid, "wsUrl": f"/ws/orders/{oid}"}, headers=headers)


# Declared before `/{order_id}` so that "active" and "recent" are never taken for ids.
@router.get(
    "/active",
    summary="Orders being worked now",
    description="`activeCount` counts every non-terminal order (limit and sniper orders "
    "`watching` for their trigger included); `orderIds` lists up to 1000 of them, oldest "
    "first. With API keys, only the calling key's orders (an admin key: all).",
    response_model=ActiveOrders,
    responses=ok(_ACTIVE_EXAMPLE) | error_responses("SERVICE_UNAVAILABLE"),
)
async def active(request: Request) -> JSONResponse:
    """How many orders are not terminal, and their ids."""
    count, ids = await engine_of(request).orders.active(owner=principal_of(request).owner_filter)
    return JSONResponse({"activeCount": count, "orderIds": ids})


@router.get(
    "/recent",
    summary="Most recently created orders, newest first",
    description="Optionally only orders of one `status`, of one `type`, and created at or "
    "after `since`. With API keys, only the calling key's orders (an admin key: all).",
    response_model=list[OrderView],
    responses=ok([EXAMPLE_ORDER])
    | error_responses(
        "INVALID_LIMIT",
        "INVALID_STATUS",
        "INVALID_TYPE",
        "INVALID_SINCE_TIME",
        "SERVICE_UNAVAILABLE",
    ),
    openapi_extra={
        "parameters": [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"How many orders, 1 to {RECENT_MAX}.",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": RECENT_MAX,
                    "default": RECENT_DEFAULT,
                },
            },
            {
                "name": "status",
                "in": "query",
                "required": False,
                "description": "Only orders in this status now.",
                "schema": {"type": "string", "enum": list(STATUSES)},
            },
            {
                "name": "type",
                "in": "query",
                "required": False,
                "description": "Only orders of this type.",
                "schema": {"type": "string", "enum": list(ORDER_TYPES)},
            },
            {
                "name": "since",
                "in": "query",
                "required": False,
                "description": f"Only orders created at or after this: {SINCE_HELP}.",
                "schema": {"type": "string"},
                "examples": {
                    "duration": {"summary": "The last 10 minutes", "value": "10m"},
                    "instant": {"summary": "Since an instant", "value": "2026-12-04T18:00:00Z"},
                },
            },
        ]
    },
)
async def recent(request: Request) -> JSONResponse:
    """The newest orders as full views, filtered by status, type and age when asked."""
    engine = engine_of(request)
    params = request.query_params
    limit = parse_limit(params.get("limit"))
    status = parse_choice(params, "status", STATUSES, "INVALID_STATUS")
    order_type = parse_choice(params, "type", ORDER_TYPES, "INVALID_TYPE")
    since = parse_created_since(params.get("since"), engine.clock.now())
    orders = await engine.orders.recent(
        limit,
        principal_of(request).owner_filter,
        status=status,
        order_type=order_type,
        since=since,
    )
    return JSONResponse([order_view(o) for o in orders])


@router.get(
    "/{order_id}",
    summary="Everything persisted about one order",
    description="A limit or sniper order also shows its `trigger` (kind, `limitPrice` or "
    "`venues`, `expiresAt`; the sniper's mint is `tokenOut`) and, once it fired, "
    "`triggeredBy` (the price and venue, or the launch's pool, signature and slot). Another "
    "API key's order answers 404 `ORDER_NOT_FOUND`, as an unknown one does.",
    response_model=OrderView,
    responses=ok(EXAMPLE_ORDER)
    | error_responses(
        "INVALID_ORDER_ID", "ORDER_NOT_FOUND", "METHOD_NOT_ALLOWED", "SERVICE_UNAVAILABLE"
    ),
)
async def get_order(order_id: OrderIdPath, request: Request) -> JSONResponse:
    """Quotes from every venue, the routing decision, the transaction, attempts and result."""
    if order_id == "execute":  # the one sibling path with another method: say so
        raise ApiError(405, "METHOD_NOT_ALLOWED", "use POST to execute", headers={"Allow": "POST"})
    return JSONResponse(order_view(await visible_order(request, parse_order_id(order_id))))


@router.get(
    "/{order_id}/timeline",
    summary="An order's persisted event log, at once",
    description="Every event the order has had, oldest first, each exactly as the WebSocket "
    "and `GET /api/orders/{orderId}/events` send it (`seq`, `type`, `at`, and the event's "
    "fields), with the order's `status` after the last one. Unlike the streams it never "
    "waits: an order still in flight answers with what happened so far. Another API key's "
    "order answers 404 `ORDER_NOT_FOUND`, as an unknown one does.",
    response_model=TimelineView,
    responses=ok(EXAMPLE_TIMELINE)
    | error_responses("INVALID_ORDER_ID", "ORDER_NOT_FOUND", "SERVICE_UNAVAILABLE"),
)
async def timeline(order_id: OrderIdPath, request: Request) -> JSONResponse:
    """The order's status and its events up to that status, read from the log."""
    order = await visible_order(request, parse_order_id(order_id))
    events = await engine_of(request).orders.events(order.id)
    # Events saved after the order was read are left out, so `status` matches the last one.
    wire = [e.to_wire() for e in events if e.seq <= order.seq]
    return JSONResponse({"orderId": order.id, "status": order.status.value, "events": wire})


_CANCEL_ERRORS = error_responses(
    "INVALID_ORDER_ID",
    "MALFORMED_JSON",
    "BODY_NOT_OBJECT",
    "ORDER_NOT_FOUND",
    "ORDER_NOT_CANCELLABLE",
    "BODY_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "VALIDATION_ERROR",
    "SERVICE_UNAVAILABLE",
    descriptions={
        409: "The order is past the point of cancelling (routing or later); `status` says "
        "where it is now."
    },
)


@router.post(
    "/{order_id}/cancel",
    summary="Cancel an order that is still pending or watching",
    description="A `pending` or `watching` order (a limit or sniper order waiting for its "
    "trigger) ends `cancelled`: the answer is the order, and its stream gets a `cancelled` "
    "event with `reason`. Cancelling a cancelled order answers the same (idempotent). Once "
    "it is routing or later it can no longer be stopped: 409 `ORDER_NOT_CANCELLABLE` with "
    "the order's `status` in the error body. A cancel and a firing trigger race fairly: "
    "whichever moves the order first wins. No body is needed; one, if sent, must be `{}` "
    "as `application/json` (a non-JSON Content-Type is 415, even empty, as an HTML form "
    "would send). Another API key's order answers 404 `ORDER_NOT_FOUND`, as an unknown one "
    "does; an admin key may cancel any order.",
    response_model=OrderView,
    responses=ok(EXAMPLE_CANCELLED_ORDER, "The order, cancelled.") | _CANCEL_ERRORS,
)
async def cancel(order_id: OrderIdPath, request: Request) -> JSONResponse:
    """Cancel the order if the caller may see it and it has not started executing."""
    engine = engine_of(request)
    oid = parse_order_id(order_id)
    parse_cancel(await read_optional_body(request, engine.settings.max_body_bytes))
    await visible_order(request, oid)  # 404 for another key's order, before touching it
    try:
        order = await engine.orders.cancel(oid)
    except NotCancellable as refused:
        raise ApiError(
            409,
            "ORDER_NOT_CANCELLABLE",
            refused.message,
            extra={"status": refused.order.status.value},
        ) from None
    if order is None:
        raise order_not_found(oid)
    return JSONResponse(order_view(order))
