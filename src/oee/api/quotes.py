"""`GET /api/quotes`: every venue's quote and the routing decision, without placing an order.

The same quoting as the executor's routing step (`oee.services.quoting`), with the engine's
venues and `quote_timeout_s`; the answer shows quotes and routing in the order view's shapes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from oee.api.deps import engine_of
from oee.api.errors import ApiError
from oee.api.examples import ORDER_RULES, error_responses, ok
from oee.api.order_examples import EXAMPLE_ORDER
from oee.api.requests import AMOUNT_STRING_PATTERN, DEFAULT_SLIPPAGE_BPS, parse_quote_query
from oee.api.views import quotes_view
from oee.domain.errors import ExecutionError
from oee.services.quoting import quote_all, route

router = APIRouter(prefix="/api", tags=["quotes"])

_QUOTES_EXAMPLE = {
    "tokenIn": EXAMPLE_ORDER["tokenIn"],
    "tokenOut": EXAMPLE_ORDER["tokenOut"],
    "amountIn": 1.5,
    "amountInBaseUnits": "1500000000",
    "slippageBps": 50,
    "quotes": EXAMPLE_ORDER["quotes"],
    "errors": {},
    "routing": EXAMPLE_ORDER["routing"],
}

_PARAMETERS = [
    {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
        "example": example,
    }
    for name, required, description, schema, example in (
        ("tokenIn", True, "Symbol or mint of the token sold.", {"type": "string"}, "SOL"),
        ("tokenOut", True, "Symbol or mint of the token bought.", {"type": "string"}, "USDC"),
        (
            "amountIn",
            True,
            "Whole tokens of `tokenIn`: ASCII digits with an optional point (no sign, spaces "
            "or exponent).",
            {"type": "string", "pattern": AMOUNT_STRING_PATTERN},
            "1.5",
        ),
        (
            "slippageBps",
            False,
            "Tolerance for the output floor (`minAmountOut`), 1 to 5000.",
            {"type": "integer", "minimum": 1, "maximum": 5000, "default": DEFAULT_SLIPPAGE_BPS},
            50,
        ),
    )
]


@router.get(
    "/quotes",
    summary="Quote every venue and show the routing decision",
    description="Asks every venue for a quote at once (each within the engine's quote "
    "timeout) and answers what the executor would decide, without placing an order. "
    "Parameters are validated like `POST /api/orders/execute`. `errors` names each venue that "
    "gave no quote. No usable quote: 503 `QUOTES_UNAVAILABLE` when some venue's failure is "
    "worth retrying, else 422 `NO_ROUTE`.",
    responses=ok(_QUOTES_EXAMPLE, "Every venue's quote and the decision.")
    | error_responses(
        "VALIDATION_ERROR", *ORDER_RULES, "NO_ROUTE", "QUOTES_UNAVAILABLE", "SERVICE_UNAVAILABLE"
    ),
    openapi_extra={"parameters": _PARAMETERS},
)
async def quotes(request: Request) -> JSONResponse:
    """Quote the swap on every venue and route it."""
    engine = engine_of(request)
    cmd = parse_quote_query(request.query_params, engine.registry)
    found, errors = await quote_all(
        engine.venues,
        cmd.token_in,
        cmd.token_out,
        cmd.amount_in,
        timeout_s=engine.settings.quote_timeout_s,
    )
    try:
        decision = route(found, errors, cmd.slippage_bps)
    except ExecutionError as error:  # QUOTES_UNAVAILABLE is worth retrying; NO_ROUTE is not
        raise ApiError(503 if error.retryable else 422, error.code, error.message) from None
    return JSONResponse(quotes_view(cmd, found, errors, decision))
