"""OpenAPI models of the wire shapes in `oee.api.requests` and `oee.api.views` (docs only).

Requests are parsed by hand and responses built by `order_view`, for exactness and speed; these
Pydantic models exist so `/docs` shows every shape with examples. A unit test checks that
`order_view` output validates against `OrderView`, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from oee.api.order_examples import (
    EXAMPLE_LIMIT_ORDER,
    EXAMPLE_ORDER,
    EXAMPLE_SNIPER_MINT,
    EXAMPLE_SNIPER_ORDER,
    EXAMPLE_TIMELINE,
)
from oee.api.requests import (
    AMOUNT_STRING_PATTERN,
    DEFAULT_SLIPPAGE_BPS,
    EXPIRES_AT_PATTERN,
    LIMIT_PRICE_MAX,
    LIMIT_PRICE_STRING_PATTERN,
)
from oee.domain.orders import DEFAULT_PRICE_IMPACT_CAP_BPS, SNIPER_PAYS_WITH
from oee.domain.routing import BPS, MAX_SLIPPAGE_BPS, MIN_SLIPPAGE_BPS
from oee.domain.triggers import DEFAULT_TTL, MAX_TTL


def _no_default(schema: dict[str, Any]) -> None:
    # An optional field that may not be null: absent means "not given", so no default shows.
    schema.pop("default", None)


def _date_time(schema: dict[str, Any]) -> None:
    _no_default(schema)
    schema["format"] = "date-time"


_ORDER_TYPES = Literal["market", "limit", "sniper"]
_DEFAULT_TTL_S = int(DEFAULT_TTL.total_seconds())
_MAX_TTL_S = int(MAX_TTL.total_seconds())


class ExecuteRequest(BaseModel):
    """A market, limit or sniper swap order."""

    # extra="forbid": the server refuses any other field (additionalProperties: false).
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1.5, "slippageBps": 50},
                {"tokenIn": "USDC", "tokenOut": "BONK", "amountIn": "250.000001"},
                {
                    "type": "limit",
                    "tokenIn": "SOL",
                    "tokenOut": "USDC",
                    "amountIn": "2",
                    "limitPrice": "160",
                    "ttlSeconds": 21600,
                },
                {
                    "type": "sniper",
                    "tokenIn": "SOL",
                    "tokenOut": EXAMPLE_SNIPER_MINT,
                    "amountIn": 0.5,
                    "venues": ["raydium"],
                    "maxPriceImpactBps": 800,
                },
            ]
        },
    )

    tokenIn: str = Field(
        description="Token sold: a symbol (any case) or its mint address; a sniper order pays "
        f"with {' or '.join(SNIPER_PAYS_WITH)}."
    )
    tokenOut: str = Field(
        description="Token bought; must differ from tokenIn. A sniper order may name any "
        "valid mint address (base58 of 32 bytes), traded yet or not."
    )
    amountIn: float | Annotated[str, StringConstraints(pattern=AMOUNT_STRING_PATTERN)] = Field(
        description="Whole tokens of tokenIn, as a JSON number or a decimal string (ASCII "
        "digits with an optional point: no sign, spaces or exponent); positive, finite, at "
        "most 10^12 and no finer than the token's decimals."
    )
    slippageBps: int = Field(
        DEFAULT_SLIPPAGE_BPS,
        ge=MIN_SLIPPAGE_BPS,
        le=MAX_SLIPPAGE_BPS,
        description="Tolerated slippage in basis points; optional, default 50 (0.5 %).",
    )
    type: _ORDER_TYPES = Field(
        "market",
        description="`market` executes now; `limit` waits for `limitPrice`; `sniper` waits "
        "for the first pool of `tokenOut` to open. Any case.",
    )
    # The fields below are optional but never null (null is a 422): None only stands for
    # "absent", and `_no_default` keeps it out of the schema.
    orderType: _ORDER_TYPES = Field(
        None,  # type: ignore[arg-type]
        deprecated=True,
        json_schema_extra=_no_default,
        description="The older name of `type`; if both are given they must agree.",
    )
    limitPrice: (
        Annotated[float, Field(gt=0, le=float(LIMIT_PRICE_MAX))]
        | Annotated[str, StringConstraints(pattern=LIMIT_PRICE_STRING_PATTERN)]
    ) = Field(
        None,  # type: ignore[assignment]
        json_schema_extra=_no_default,
        description="Limit orders (required there): the worst acceptable price, in whole "
        "tokenOut per whole tokenIn, as a JSON number or a decimal string like `amountIn`; "
        "greater than zero and at most 1e30.",
    )
    expiresAt: Annotated[str, StringConstraints(pattern=EXPIRES_AT_PATTERN)] = Field(
        None,  # type: ignore[assignment]
        json_schema_extra=_date_time,
        description="Limit and sniper orders: when to stop waiting (the order then ends "
        "`expired`), an RFC 3339 date-time with its offset, e.g. `2026-12-04T18:00:00Z`; "
        f"in the future and at most {_MAX_TTL_S} s away. Not with `ttlSeconds`; neither: "
        f"{_DEFAULT_TTL_S} s from now.",
    )
    ttlSeconds: int = Field(
        None,  # type: ignore[assignment]
        ge=1,
        le=_MAX_TTL_S,
        json_schema_extra=_no_default,
        description="Limit and sniper orders: or how many seconds from now to wait "
        f"(default {_DEFAULT_TTL_S}).",
    )
    venues: list[Literal["raydium", "meteora"]] = Field(
        None,  # type: ignore[arg-type]
        min_length=1,
        json_schema_extra=_no_default,
        description="Sniper orders: the venues whose pool launches fire it (default both).",
    )
    maxPriceImpactBps: int = Field(
        None,  # type: ignore[assignment]
        ge=1,
        le=BPS,
        json_schema_extra=_no_default,
        description="Limit and sniper orders: the most price impact their swap may have, in "
        "basis points; at most the engine's cap (OEE_MAX_PRICE_IMPACT_CAP_BPS, default "
        f"{DEFAULT_PRICE_IMPACT_CAP_BPS}).",
    )


class ExecuteAccepted(BaseModel):
    """The order is durable and queued; follow it on `wsUrl`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "orderId": "0b6a3a52-3c1e-4c55-9d0e-6f1f3f1d2a10",
                    "wsUrl": "/ws/orders/0b6a3a52-3c1e-4c55-9d0e-6f1f3f1d2a10",
                }
            ]
        }
    )

    orderId: str
    wsUrl: str


class ActiveOrders(BaseModel):
    """Orders not yet in a terminal status."""

    activeCount: int
    orderIds: list[str]


class TokenView(BaseModel):
    symbol: str
    mint: str
    decimals: int


class QuoteView(BaseModel):
    venue: str
    amountOut: float = Field(description="Whole tokenOut, net of the venue fee.")
    amountOutBaseUnits: str
    price: float = Field(description="Whole tokenOut per whole tokenIn.")
    priceImpactBps: float
    fee: float = Field(description="Venue fee in whole tokenIn.")
    feeBaseUnits: str
    feeBps: int
    pool: str


class RoutingView(BaseModel):
    chosenDex: str
    marginBps: float = Field(description="How much more the winner pays than the runner-up.")
    minAmountOut: float
    minAmountOutBaseUnits: str


class TransactionView(BaseModel):
    txHash: str
    venue: str
    lastValidBlockHeight: int
    computeUnitPrice: int = Field(description="Micro-lamports per compute unit.")
    computeUnitLimit: int = Field(
        description="Compute units the transaction may use (simulated use plus a margin); "
        "0 for transactions signed before it was recorded."
    )
    minAmountOut: float
    minAmountOutBaseUnits: str


class ResultView(BaseModel):
    txHash: str
    executedPrice: float
    amountOut: float
    amountOutBaseUnits: str
    chosenDex: str
    feeLamports: int


class TriggerView(BaseModel):
    """What a limit or sniper order waits for."""

    kind: Literal["price", "launch"] = Field(description="`price` (limit) or `launch` (sniper).")
    expiresAt: str = Field(description="When it stops waiting (it then ends `expired`).")
    limitPrice: str | None = Field(
        None, description="Limit orders: the worst acceptable price, tokenOut per tokenIn, exact."
    )
    venues: list[str] | None = Field(
        None, description="Sniper orders: the venues whose launches fire it."
    )


class FiringView(BaseModel):
    """What fired an order's trigger: the price seen (limit) or the pool launch (sniper)."""

    at: str
    price: str | None = Field(
        None, description="Limit orders: the best net price for the order's size, exact."
    )
    venue: str | None = Field(None, description="The venue that quoted it, or whose pool opened.")
    pool: str | None = Field(None, description="The pool's address.")
    signature: str | None = Field(None, description="Sniper orders: the launch transaction.")
    slot: int | None = Field(None, description="The launch's slot, when known.")
    decimals: int | None = Field(None, description="Sniper orders: the new mint's decimals.")


class OrderView(BaseModel):
    """Everything persisted about an order (also the `order` of a WebSocket snapshot)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [EXAMPLE_ORDER, EXAMPLE_LIMIT_ORDER, EXAMPLE_SNIPER_ORDER]}
    )

    orderId: str
    type: _ORDER_TYPES
    status: Literal[
        "pending",
        "watching",
        "routing",
        "building",
        "submitted",
        "confirmed",
        "failed",
        "cancelled",
        "expired",
    ] = Field(
        description="pending, then for limit and sniper orders watching (for the trigger), "
        "routing, building, submitted, and one of confirmed, failed, cancelled, expired."
    )
    tokenIn: TokenView
    tokenOut: TokenView
    amountIn: float
    amountInBaseUnits: str
    slippageBps: int
    seq: int = Field(description="Seq of the last event applied; events count up from 1.")
    attempt: int
    createdAt: str
    updatedAt: str
    quotes: list[QuoteView] = Field(description="Every venue's quote, once routed.")
    routing: RoutingView | None
    transaction: TransactionView | None
    result: ResultView | None
    error: str | None = Field(description="Machine code of the last failure or retry cause.")
    reason: str | None
    attempts: list[dict[str, Any]] = Field(
        description="One entry per finished attempt: outcome, venue, txHash, error, reason, "
        "feeLamports (what the chain charged; null when no transaction landed) and at."
    )
    txHash: str | None
    executedPrice: float | None
    chosenDex: str | None
    trigger: TriggerView | None = Field(
        description="Limit and sniper orders: what they wait for; null for market orders."
    )
    triggeredBy: FiringView | None = Field(
        description="What fired the trigger (the last firing); null until it fires."
    )
    maxPriceImpactBps: int | None = Field(
        description="The order's own price-impact ceiling, when it set one."
    )


class TimelineView(BaseModel):
    """An order's persisted event log, oldest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_TIMELINE]})

    orderId: str
    status: str = Field(description="The order's status after the last event listed.")
    events: list[dict[str, Any]] = Field(
        description="Every persisted event in `seq` order (1, 2, ...), each exactly as the "
        "WebSocket and SSE streams send it: `type`, `orderId`, `seq`, `at` (RFC 3339), "
        "`attempt`, and the event's own fields."
    )


class EngineView(BaseModel):
    """This engine process: its version, and what it executes at once."""

    version: str
    workerSlots: int | None = Field(
        description="Orders this process executes at once; null when it runs no worker."
    )


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer."""

    code: str = Field(description="Stable machine code, e.g. VALIDATION_ERROR, ORDER_NOT_FOUND.")
    message: str = Field(description="What went wrong, in words.")
    errors: list[FieldError] | None = Field(None, description="Per-field problems, when known.")
    status: str | None = Field(
        None, description="`ORDER_NOT_CANCELLABLE` only: the order's status now."
    )
