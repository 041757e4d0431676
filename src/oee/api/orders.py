"""HTTP routes of the order API.

With API keys, every order belongs to the key that placed it: another key's order is 404 as if
it did not exist, and the listings show the caller's orders only (an admin key's, all of them).

Routes read raw bodies and query strings themselves (`oee.api.requests`) and return
`JSONResponse`s built from plain dicts: the Pydantic models only document the shapes, so the hot
path of `POST /api/orders/execute` is one body read, one parse and one store insert.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from oee.api.deps import (
    IDEMPOTENCY_HEADER,
    RECENT_DEFAULT,
    RECENT_MAX,
    OrderIdPath,
    engine_of,
    parse_idempotency_key,
    parse_limit,
    parse_order_id,
    principal_of,
    read_body,
    visible_order,
)
from oee.api.errors import ApiError
from oee.api.examples import EXAMPLE_ID, ORDER_RULES, error_responses, ok
from oee.api.limits import check_open_orders
from oee.api.openapi import (
    EXAMPLE_ORDER,
    ActiveOrders,
    ExecuteAccepted,
    ExecuteRequest,
    OrderView,
)
from oee.api.requests import parse_execute
from oee.api.views import order_view

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
    "SERVICE_UNAVAILABLE",
)
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
            },
        }
    },
}


@router.post(
    "/execute",
    summary="Submit a market swap order",
    description="Validates the order, stores it as `pending` and queues it for execution. "
    "The body must be sent as `application/json` (415 otherwise) and may hold only the "
    "fields below (an unknown field is a 422, never ignored). `amountIn` as a string is "
    "ASCII digits with an optional point. `slippageBps` is optional and defaults to 50 "
    '(0.5 %); `orderType` is optional and only `"market"` is accepted today. Follow the order on `wsUrl`. With an `Idempotency-Key` '
    "header (1-255 printable ASCII characters), repeating the same request within 24 h "
    "returns the same order (header `Idempotent-Replayed: true`); the same key with a "
    "different request answers 409 `IDEMPOTENCY_KEY_REUSED`. Idempotency keys are per API "
    "key: two clients may use the same one without colliding.",
    response_model=ExecuteAccepted,
    responses=ok(_ACCEPTED_EXAMPLE, "The order is stored and queued.") | _EXECUTE_ERRORS,
    openapi_extra={"requestBody": _EXECUTE_BODY},
)
async def execute(request: Request) -> JSONResponse:
    """Accept an order: one body read, one parse, one store insert (inside `submit`)."""
    engine = engine_of(request)
    key = parse_idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
    cmd = parse_execute(await read_body(request, engine.settings.max_body_bytes), engine.registry)
    await check_open_orders(request)  # 429 TOO_MANY_OPEN_ORDERS (oee.api.limits)
    accepted = await engine.orders.submit(cmd, key, principal_of(request).name)
    oid = accepted.order_id
    headers = {"Idempotent-Replayed": "true"} if accepted.replayed else None
    return JSONResponse({"orderId": oid, "wsUrl": f"/ws/orders/{oid}"}, headers=headers)


# Declared before `/{order_id}` so that "active" and "recent" are never taken for ids.
@router.get(
    "/active",
    summary="Orders being worked now",
    description="`activeCount` counts every non-terminal order; `orderIds` lists up to 1000 "
    "of them, oldest first. With API keys, only the calling key's orders (an admin key: all).",
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
    description="With API keys, only the calling key's orders (an admin key: all).",
    response_model=list[OrderView],
    responses=ok([EXAMPLE_ORDER]) | error_responses("INVALID_LIMIT", "SERVICE_UNAVAILABLE"),
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
            }
        ]
    },
)
async def recent(request: Request) -> JSONResponse:
    """The newest orders as full views."""
    limit = parse_limit(request.query_params.get("limit"))
    orders = await engine_of(request).orders.recent(limit, principal_of(request).owner_filter)
    return JSONResponse([order_view(o) for o in orders])


@router.get(
    "/{order_id}",
    summary="Everything persisted about one order",
    description="Another API key's order answers 404 `ORDER_NOT_FOUND`, as an unknown one does.",
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
