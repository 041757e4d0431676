"""`POST /api/sim/move`: push a pair's price in the simulator, so a limit order can be watched
waiting, triggering and filling.

It relays the simulator's `POST /admin/move` (`oee.sim.steering`) the way `oee.api.sim_relays`
relays faults and launches, through the same helpers: the same simulator (in process, or
`oee sim` at `OEE_RPC_URL`), admin-only like every `/api/sim/*` path, 503
`SIMULATOR_UNAVAILABLE` without a simulator, 502 `SIMULATOR_ERROR` for a strange answer. The
body's shape and the percent's range are checked here; the pair is the simulator's to judge,
and its refusals keep their codes as 422s.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from oee.api.deps import engine_of, read_body
from oee.api.errors import ApiError
from oee.api.examples import error_responses, ok
from oee.api.requests import loads_exact
from oee.api.sim_relays import NO_STORE, forward, refusal, reply_json, unexpected
from oee.api.wallet_sim_models import EXAMPLE_MOVE, MoveRequestBody, PriceMoveView
from oee.sim.steering import MAX_PERCENT, MIN_PERCENT, MOVE_FIELDS

router = APIRouter()

# The field each of the simulator's move refusals is about, for the answer's `errors`.
_FIELD_OF_MOVE_CODE = {
    "INVALID_PAIR": "pair",
    "UNKNOWN_TOKEN": "pair",
    "NO_POOL": "pair",
    "PEGGED_PAIR": "pair",
    "INVALID_PERCENT": "percent",
}


@router.post(
    "/api/sim/move",
    tags=["simulator"],
    summary="Move a pair's price in the simulator",
    description='Body `{"pair": "SOL/USDC", "percent": 3}`: from now on one SOL buys 3 % more '
    "USDC on both venues (the pair's pools move at once, each venue keeping its offset; other "
    "pairs with the moved token follow within seconds). The token that moves is a launched "
    "token, else the base, else (a pegged base such as USDC) the quote; two stablecoins are "
    f"refused (`PEGGED_PAIR`). `percent` is a JSON number from {MIN_PERCENT} to {MAX_PERCENT}. "
    "The answer is the pair's prices (QUOTE per BASE, exact decimal strings) right after the "
    "move and just before it. With `OEE_SIM_VOLATILITY_SCALE=0` the price then stays put.",
    response_model=PriceMoveView,
    responses=ok(EXAMPLE_MOVE, "The pair's prices after the move, and before.")
    | error_responses(
        "MALFORMED_JSON",
        "BODY_NOT_OBJECT",
        "INCOMPLETE_BODY",
        "BODY_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
        "VALIDATION_ERROR",
        *_FIELD_OF_MOVE_CODE,
        "SIMULATOR_ERROR",
        "SIMULATOR_UNAVAILABLE",
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": MoveRequestBody.model_json_schema(),
                    "example": {"pair": "SOL/USDC", "percent": 3},
                }
            },
        }
    },
)
async def move_price(request: Request) -> JSONResponse:
    """Push a pair's price in the simulator."""
    engine = engine_of(request)
    body = loads_exact(await read_body(request, engine.settings.max_body_bytes))
    if not isinstance(body, dict):
        raise ApiError(400, "BODY_NOT_OBJECT", "the request body must be a JSON object")
    reply = await forward(engine, "POST", "move", _move_body(body))
    if reply.status_code == 400:
        raise refusal(reply, _FIELD_OF_MOVE_CODE)
    moved = reply_json(reply, 200)
    if not _is_move(moved):
        raise unexpected(reply)
    return JSONResponse(moved, headers=NO_STORE)


def _move_body(body: dict[str, Any]) -> dict[str, Any]:
    """The move to send on: `pair` as given, `percent` as a JSON number (a float carries any
    percent a person types exactly enough: the range is narrow).

    Raises:
        ApiError: 422 `VALIDATION_ERROR` for unknown fields, `INVALID_PAIR` for a pair that is
            not a string, `INVALID_PERCENT` for a percent that is not a number in range.
    """
    if unknown := sorted(set(body) - set(MOVE_FIELDS)):
        message = f"unknown field {unknown[0][:40]!r}; known: {', '.join(MOVE_FIELDS)}"
        raise ApiError(
            422, "VALIDATION_ERROR", message, [{"field": unknown[0][:40], "message": message}]
        )
    pair, percent = body.get("pair"), body.get("percent")
    if not isinstance(pair, str):
        message = 'pair is required: a string such as "SOL/USDC"'
        raise ApiError(422, "INVALID_PAIR", message, [{"field": "pair", "message": message}])
    if not (isinstance(percent, Decimal) and percent.is_finite()) or not (
        MIN_PERCENT <= percent <= MAX_PERCENT
    ):
        message = f"percent is required: a number from {MIN_PERCENT} to {MAX_PERCENT}, such as 3"
        raise ApiError(422, "INVALID_PERCENT", message, [{"field": "percent", "message": message}])
    return {"pair": pair, "percent": int(percent) if percent == int(percent) else float(percent)}


def _is_move(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("pair"), str)
        and isinstance(value.get("reference"), str)
        and isinstance(value.get("prices"), dict)
        and isinstance(value.get("previous"), dict)
    )
