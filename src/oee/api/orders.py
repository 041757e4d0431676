"""HTTP routes of the order API.

Routes read raw bodies and query strings themselves (see `oee.api.schemas`) and return
`JSONResponse`s built from plain dicts: the Pydantic models only document the shapes, so the hot
path of `POST /api/orders/execute` is one body read, one parse and one store insert.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from oee.api.deps import (
    IDEMPOTENCY_HEADER,
    RECENT_DEFAULT,
    RECENT_MAX,
    engine_of,
    parse_idempotency_key,
    parse_limit,
    parse_order_id,
    read_body,
)
from oee.api.errors import ApiError
from oee.api.models import (
    EXAMPLE_ORDER,
    ActiveOrders,
    ErrorBody,
    ExecuteAccepted,
    ExecuteRequest,
    OrderView,
)
from oee.api.schemas import order_view, parse_execute

router = APIRouter(prefix="/api/orders", tags=["orders"])


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    words = {
        400: "Malformed JSON, a body that is not an object, or an order id that is not a UUID.",
        404: "No order with this id.",
        409: "`IDEMPOTENCY_KEY_REUSED`: the Idempotency-Key was used for a different request.",
        413: "The body is larger than the server accepts.",
        422: "A missing or mistyped field, or an order rule broken; `code` says which.",
        503: "The order store (or another backing service) cannot be reached; retry shortly.",
    }
    return {s: {"model": ErrorBody, "description": words[s]} for s in statuses}


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
    "`slippageBps` is optional and defaults to 50 (0.5 %); `orderType` is optional and only "
    '`"market"` is accepted today. Follow the order on `wsUrl`. With an `Idempotency-Key` '
    "header (1-255 printable ASCII characters), repeating the same request within 24 h "
    "returns the same order (header `Idempotent-Replayed: true`); the same key with a "
    "different request answers 409 `IDEMPOTENCY_KEY_REUSED`.",
    response_model=ExecuteAccepted,
    responses=_errors(400, 409, 413, 422, 503),
    openapi_extra={"requestBody": _EXECUTE_BODY},
)
async def execute(request: Request) -> JSONResponse:
    """Accept an order: one body read, one parse, one store insert (inside `submit`)."""
    engine = engine_of(request)
    key = parse_idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
    cmd = parse_execute(await read_body(request, engine.settings.max_body_bytes))
    accepted = await engine.orders.submit(cmd, key)
    oid = accepted.order_id
    headers = {"Idempotent-Replayed": "true"} if accepted.replayed else None
    return JSONResponse({"orderId": oid, "wsUrl": f"/ws/orders/{oid}"}, headers=headers)


# Declared before `/{order_id}` so that "active" and "recent" are never taken for ids.
@router.get(
    "/active",
    summary="Orders being worked now",
    description="`activeCount` counts every non-terminal order; `orderIds` lists up to 1000 "
    "of them, oldest first.",
    response_model=ActiveOrders,
    responses=_errors(503),
)
async def active(request: Request) -> JSONResponse:
    """How many orders are not terminal, and their ids."""
    count, ids = await engine_of(request).orders.active()
    return JSONResponse({"activeCount": count, "orderIds": ids})


@router.get(
    "/recent",
    summary="Most recently created orders, newest first",
    response_model=list[OrderView],
    responses=_errors(503) | {422: {"model": ErrorBody, "description": "`INVALID_LIMIT`."}},
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
    orders = await engine_of(request).orders.recent(limit)
    return JSONResponse([order_view(o) for o in orders])


@router.get(
    "/{order_id}",
    summary="Everything persisted about one order",
    response_model=OrderView,
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE_ORDER}}},
        **_errors(400, 404, 503),
    },
)
async def get_order(order_id: str, request: Request) -> JSONResponse:
    """Quotes from every venue, the routing decision, the transaction, attempts and result."""
    if order_id == "execute":  # the one sibling path with another method: say so
        raise ApiError(405, "METHOD_NOT_ALLOWED", "use POST to execute", headers={"Allow": "POST"})
    oid = parse_order_id(order_id)
    order = await engine_of(request).orders.get(oid)
    if order is None:
        raise ApiError(404, "ORDER_NOT_FOUND", f"no order with id {oid}")
    return JSONResponse(order_view(order))
