"""OpenAPI models of the wire shapes in `oee.api.requests` and `oee.api.views` (docs only).

Requests are parsed by hand and responses built by `order_view`, for exactness and speed; these
Pydantic models exist so `/docs` shows every shape with examples. A unit test checks that
`order_view` output validates against `OrderView`, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from oee.api.requests import (
    AMOUNT_STRING_PATTERN,
    DEFAULT_SLIPPAGE_BPS,
    EXPIRES_AT_PATTERN,
    LIMIT_PRICE_MAX,
    LIMIT_PRICE_STRING_PATTERN,
)
from oee.domain.events import JSON
from oee.domain.orders import DEFAULT_PRICE_IMPACT_CAP_BPS, SNIPER_PAYS_WITH
from oee.domain.routing import BPS, MAX_SLIPPAGE_BPS, MIN_SLIPPAGE_BPS
from oee.domain.triggers import DEFAULT_TTL, MAX_TTL

_EXAMPLE_ID = "0b6a3a52-3c1e-4c55-9d0e-6f1f3f1d2a10"
_SIG = "5VfYtq3JbQ8nR2wXk1mZ9pLhT4cD7eA6sB3uN8oG2rF1yW5vK9jH3xC6bM4nQ7tP2sL8dE1fA9gR6hU3kJ5wZ"
EXAMPLE_ORDER: dict[str, JSON] = {
    "orderId": _EXAMPLE_ID,
    "type": "market",
    "status": "confirmed",
    "tokenIn": {
        "symbol": "SOL",
        "mint": "So11111111111111111111111111111111111111112",
        "decimals": 9,
    },
    "tokenOut": {
        "symbol": "USDC",
        "mint": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
        "decimals": 6,
    },
    "amountIn": 1.5,
    "amountInBaseUnits": "1500000000",
    "slippageBps": 50,
    "seq": 5,
    "attempt": 1,
    "createdAt": "2025-01-01T12:00:00.000000+00:00",
    "updatedAt": "2025-01-01T12:00:02.700000+00:00",
    "quotes": [
        {
            "venue": "raydium",
            "amountOut": 224.1,
            "amountOutBaseUnits": "224100000",
            "price": 149.4,
            "priceImpactBps": 2.1,
            "fee": 0.00375,
            "feeBaseUnits": "3750000",
            "feeBps": 25,
            "pool": "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2",
        },
        {
            "venue": "meteora",
            "amountOut": 225.3,
            "amountOutBaseUnits": "225300000",
            "price": 150.2,
            "priceImpactBps": 1.4,
            "fee": 0.003,
            "feeBaseUnits": "3000000",
            "feeBps": 20,
            "pool": "5rCf1DM8LjKTw4YqhnoLcngyZYeNnQqztScTogYHAS6",
        },
    ],
    "routing": {
        "chosenDex": "meteora",
        "marginBps": 53.55,
        "minAmountOut": 224.1735,
        "minAmountOutBaseUnits": "224173500",
    },
    "transaction": {
        "txHash": _SIG,
        "venue": "meteora",
        "lastValidBlockHeight": 1150,
        "computeUnitPrice": 1000,
        "computeUnitLimit": 84000,
        "minAmountOut": 224.1735,
        "minAmountOutBaseUnits": "224173500",
    },
    "result": {
        "txHash": _SIG,
        "executedPrice": 150.18,
        "amountOut": 225.27,
        "amountOutBaseUnits": "225270000",
        "chosenDex": "meteora",
        "feeLamports": 5000,
    },
    "error": None,
    "reason": None,
    "attempts": [
        {
            "attempt": 1,
            "outcome": "confirmed",
            "venue": "meteora",
            "txHash": _SIG,
            "error": None,
            "reason": None,
            "feeLamports": 7000,
            "at": "2025-01-01T12:00:02.700000+00:00",
        }
    ],
    "txHash": _SIG,
    "executedPrice": 150.18,
    "chosenDex": "meteora",
    "trigger": None,
    "triggeredBy": None,
    "maxPriceImpactBps": None,
}
_NO_ROUTE_YET: dict[str, JSON] = {
    "quotes": [],
    "routing": None,
    "transaction": None,
    "result": None,
    "error": None,
    "reason": None,
    "attempts": [],
    "txHash": None,
    "executedPrice": None,
    "chosenDex": None,
}
_LIMIT_ID = "3f9d2c71-8a4b-4c2e-9b1d-7e6f5a4c3b21"
EXAMPLE_LIMIT_ORDER: dict[str, JSON] = {
    **EXAMPLE_ORDER,
    **_NO_ROUTE_YET,
    "orderId": _LIMIT_ID,
    "type": "limit",
    "status": "watching",
    "amountIn": 2,
    "amountInBaseUnits": "2000000000",
    "seq": 2,
    "createdAt": "2025-01-01T12:00:00.000000+00:00",
    "updatedAt": "2025-01-01T12:00:00.004000+00:00",
    "trigger": {
        "kind": "price",
        "expiresAt": "2025-01-01T18:00:00+00:00",
        "limitPrice": "160",
    },
    "triggeredBy": None,
    "maxPriceImpactBps": None,
}
EXAMPLE_CANCELLED_ORDER: dict[str, JSON] = {
    **EXAMPLE_LIMIT_ORDER,
    "status": "cancelled",
    "seq": 3,
    "updatedAt": "2025-01-01T12:05:00.000000+00:00",
    "reason": "cancelled by the client",
}
_MOON = "8PTqJt1kC3yt8Sa6ukoVEX14QRX15QGjEmHJ79QyPGVy"
_LAUNCH_SIG = (
    "3UbxpM9hHvCLSQKQ6ugb3qLrsdFpQAi5RE1PmQMmYxqY2zEp4YdPsybcXxY3a5WHQGEPbfLEqk4WazPAoQznuGQK"
)
EXAMPLE_SNIPER_ORDER: dict[str, JSON] = {
    **EXAMPLE_ORDER,
    "orderId": "9a1e5b3c-6d7f-4a8b-8c2d-1e0f9a8b7c6d",
    "type": "sniper",
    "tokenOut": {"symbol": _MOON, "mint": _MOON, "decimals": 6},
    "amountIn": 0.5,
    "amountInBaseUnits": "500000000",
    "slippageBps": 300,
    "seq": 7,
    "quotes": [
        {
            "venue": "raydium",
            "amountOut": 74906.9,
            "amountOutBaseUnits": "74906900000",
            "price": 149813.8,
            "priceImpactBps": 29.9,
            "fee": 0.00125,
            "feeBaseUnits": "1250000",
            "feeBps": 25,
            "pool": "HKnr8f2fxa5SovwvxaBS8qEDmraUPdjZsmoCsjdgwCb8",
        }
    ],
    "routing": {
        "chosenDex": "raydium",
        "marginBps": 0,
        "minAmountOut": 72659.693,
        "minAmountOutBaseUnits": "72659693000",
    },
    "transaction": {
        "txHash": _SIG,
        "venue": "raydium",
        "lastValidBlockHeight": 1150,
        "computeUnitPrice": 1000,
        "computeUnitLimit": 84000,
        "minAmountOut": 72659.693,
        "minAmountOutBaseUnits": "72659693000",
    },
    "result": {
        "txHash": _SIG,
        "executedPrice": 149806.4,
        "amountOut": 74903.2,
        "amountOutBaseUnits": "74903200000",
        "chosenDex": "raydium",
        "feeLamports": 5000,
    },
    "attempts": [
        {
            "attempt": 1,
            "outcome": "confirmed",
            "venue": "raydium",
            "txHash": _SIG,
            "error": None,
            "reason": None,
            "feeLamports": 7000,
            "at": "2025-01-01T12:03:12.400000+00:00",
        }
    ],
    "executedPrice": 149806.4,
    "chosenDex": "raydium",
    "trigger": {
        "kind": "launch",
        "expiresAt": "2025-01-02T12:00:00+00:00",
        "venues": ["raydium"],
    },
    "triggeredBy": {
        "at": "2025-01-01T12:03:10.100000+00:00",
        "venue": "raydium",
        "pool": "HKnr8f2fxa5SovwvxaBS8qEDmraUPdjZsmoCsjdgwCb8",
        "signature": _LAUNCH_SIG,
        "slot": 1001000,
        "decimals": 6,
    },
    "maxPriceImpactBps": 800,
}


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
                    "tokenOut": _MOON,
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


_T0 = "2025-01-01T12:00:0"
EXAMPLE_TIMELINE: dict[str, JSON] = {
    "orderId": _EXAMPLE_ID,
    "status": "confirmed",
    "events": [
        {
            "type": "pending",
            "orderId": _EXAMPLE_ID,
            "seq": 1,
            "at": f"{_T0}0.000000+00:00",
            "attempt": 1,
            "orderType": "market",
            "tokenIn": "SOL",
            "tokenOut": "USDC",
            "amountIn": 1.5,
            "slippageBps": 50,
        },
        {
            "type": "routing",
            "orderId": _EXAMPLE_ID,
            "seq": 2,
            "at": f"{_T0}0.004000+00:00",
            "attempt": 1,
        },
        {
            "type": "building",
            "orderId": _EXAMPLE_ID,
            "seq": 3,
            "at": f"{_T0}0.210000+00:00",
            "attempt": 1,
            "chosenDex": "meteora",
            "marginBps": 53.55,
            "quotes": {"raydium": 224.1, "meteora": 225.3},
        },
        {
            "type": "submitted",
            "orderId": _EXAMPLE_ID,
            "seq": 4,
            "at": f"{_T0}0.260000+00:00",
            "attempt": 1,
            "txHash": _SIG,
            "chosenDex": "meteora",
            "lastValidBlockHeight": 1150,
        },
        {
            "type": "confirmed",
            "orderId": _EXAMPLE_ID,
            "seq": 5,
            "at": f"{_T0}2.700000+00:00",
            "attempt": 1,
            "txHash": _SIG,
            "executedPrice": 150.18,
            "chosenDex": "meteora",
            "amountOut": 225.27,
            "amountOutBaseUnits": "225270000",
        },
    ],
}


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


EXAMPLE_WALLET: dict[str, JSON] = {
    "address": "GmaDrppBC7P5ARKV8g3djiwP89vz1jLK23V2GBjuAEGB",
    "sol": "999987.5",
    "lamports": 999_987_500_000_000,
    "tokens": [
        {
            "symbol": "USDC",
            "mint": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
            "account": "7woc3ajaGMMXczFYjxon4aQoHH3j126fMUR9c58eHRsK",
            "amount": "1000225270000",
            "uiAmount": "1000225.27",
            "decimals": 6,
        },
        {
            "symbol": None,
            "mint": "J2xccRtuG43drESLYznHhLhQkLTdfepcKYbiQ9BsJVaf",
            "account": "HvNVbpYCEyjgL2YToW7fmyqFabxhWzBzcaKmgLsFY1Yz",
            "amount": "0",
            "uiAmount": "0",
            "decimals": 0,
        },
    ],
    "slot": 1_234_567,
}


class WalletTokenView(BaseModel):
    """One SPL token account of the engine wallet."""

    symbol: str | None = Field(description="The registry's symbol; null for a mint it lacks.")
    mint: str
    account: str = Field(description="The token account's address.")
    amount: str = Field(description="Base units, exact, as a decimal string.")
    uiAmount: str = Field(description="Whole tokens, exact, as a decimal string.")
    decimals: int


class WalletView(BaseModel):
    """The engine wallet (the one every worker signs with) and its balances on chain."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_WALLET]})

    address: str = Field(description="The wallet's public key (base58).")
    sol: str = Field(description="SOL held, exact, as a decimal string.")
    lamports: int
    tokens: list[WalletTokenView] = Field(description="Every SPL Token account it owns.")
    slot: int | None = Field(None, description="The slot the balances were read at.")


EXAMPLE_LAUNCH: dict[str, JSON] = {
    "symbol": "MOON",
    "mint": "8PTqJt1kC3yt8Sa6ukoVEX14QRX15QGjEmHJ79QyPGVy",
    "decimals": 6,
    "quote": {
        "symbol": "SOL",
        "mint": "So11111111111111111111111111111111111111112",
        "decimals": 9,
    },
    "priceUsd": "0.001",
    "liquidityUsd": "50000",
    "pools": [
        {
            "venue": "raydium",
            "programId": "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8",
            "address": "HKnr8f2fxa5SovwvxaBS8qEDmraUPdjZsmoCsjdgwCb8",
            "signature": "3UbxpM9hHvCLSQKQ6ugb3qLrsdFpQAi5RE1PmQMmYxqY2zEp4YdPsybcXxY3a5WHQGEP"
            "bfLEqk4WazPAoQznuGQK",
            "reserves": {"base": "25000000000000", "quote": "166666666666"},
        },
        {
            "venue": "meteora",
            "programId": "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo",
            "address": "GHCnzPPW2njFphXhAq4TvvA7f6xc3WoVJLtFCNxqz2Dz",
            "signature": "3Yr4dXT1NjVqQCggqyJHebyGrbiZU7wf65uv7PBPBucZdGdqfSAH1bTZtMqvyXuTfsqA"
            "6Bnnmg1Qc4jcWdaozZPr",
            "reserves": {"base": "25000000000000", "quote": "166666666666"},
        },
    ],
    "launchedAt": {"slot": 1_001_000, "blockHeight": 1000},
    "origin": "request",
}


class LaunchRequestBody(BaseModel):
    """A token to launch in the simulator, with its pools."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"symbol": "MOON", "decimals": 6},
                {
                    "symbol": "MOON",
                    "decimals": 6,
                    "venues": ["raydium", "meteora"],
                    "quote": "SOL",
                    "liquidityUsd": 50000,
                    "priceUsd": 0.001,
                },
            ]
        }
    )

    symbol: str = Field(description="1-10 letters or digits, not taken by any token (any case).")
    decimals: int = Field(ge=0, le=18, description="The new mint's decimals.")
    venues: list[Literal["raydium", "meteora"]] = Field(
        ["raydium", "meteora"], description="The venues to open a pool on, each at most once."
    )
    quote: str = Field("SOL", description="The registry token each pool pairs it with.")
    liquidityUsd: float | str = Field(
        "50000", description="Each pool's value in USD, half on each side (10 to 10^10)."
    )
    priceUsd: float | str = Field("0.001", description="The opening price in USD (1e-12 to 10^9).")
    reserves: dict[str, int | str] | None = Field(
        None,
        description='`{"base", "quote"}` opening reserves in base units; replaces '
        "`liquidityUsd` and `priceUsd`.",
    )


class LaunchedPoolView(BaseModel):
    """One pool a launch opened."""

    venue: str
    programId: str = Field(description="The venue's program id on chain.")
    address: str = Field(description="The pool's address.")
    signature: str = Field(description="The signature of the launch's log on chain.")
    reserves: dict[str, str] = Field(
        description="Opening reserves in base units: `base` (the new token) and `quote`."
    )


class LaunchView(BaseModel):
    """A token launched in the simulator: its mint and the pools that trade it."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_LAUNCH]})

    symbol: str
    mint: str = Field(description="The new token's mint address.")
    decimals: int
    quote: TokenView = Field(description="The token the pools pair it with.")
    priceUsd: str = Field(description="The opening price in USD, exact, as a decimal string.")
    liquidityUsd: str = Field(description="Each pool's opening value in USD, exact.")
    pools: list[LaunchedPoolView]
    launchedAt: dict[str, int] = Field(description="`slot` and `blockHeight` of the launch.")
    origin: str = Field(description="`request` (this API) or `random` (the simulator's stream).")


EXAMPLE_MOVE: dict[str, JSON] = {
    "pair": "SOL/USDC",
    "reference": "154.3146973",
    "prices": {"raydium": "154.4648372", "meteora": "154.7205818"},
    "percent": "3",
    "moved": "SOL",
    "previous": {
        "reference": "149.8200945",
        "prices": {"raydium": "149.9658614", "meteora": "150.1523961"},
    },
}


class MoveRequestBody(BaseModel):
    """A push of a pair's price in the simulator."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"pair": "SOL/USDC", "percent": 3}]},
    )

    pair: str = Field(
        description="`BASE/QUOTE`, each a symbol (any case) or a mint; the price is QUOTE per "
        "BASE, e.g. `SOL/USDC`."
    )
    percent: float = Field(
        ge=-90,
        le=900,
        description="How far to push it: 3 makes one BASE buy 3 % more QUOTE, -2.5 2.5 % less.",
    )


class PairPricesView(BaseModel):
    """A pair's prices, in whole QUOTE tokens per BASE token, exact decimal strings."""

    reference: str = Field(
        description="The reference price the pools are pulled toward (before venue offsets)."
    )
    prices: dict[str, str] = Field(
        description="Each venue's pool price, marginal and before fees, by venue name."
    )


class PriceMoveView(BaseModel):
    """A move the simulator made: the pair's prices right after it, and just before."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_MOVE]})

    pair: str = Field(description="The pair as asked, `BASE/QUOTE` by symbol.")
    reference: str = Field(description="The reference price now (before venue offsets).")
    prices: dict[str, str] = Field(description="Each venue's pool price now.")
    percent: str = Field(description="The move, in percent, as a decimal string.")
    moved: str = Field(
        description="The token whose reference price moved: a launched token, else BASE, "
        "else (BASE a pegged stablecoin) QUOTE."
    )
    previous: PairPricesView = Field(description="The pair's prices just before the move.")
