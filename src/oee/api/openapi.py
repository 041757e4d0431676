"""OpenAPI models of the wire shapes in `oee.api.requests` and `oee.api.views` (docs only).

Requests are parsed by hand and responses built by `order_view`, for exactness and speed; these
Pydantic models exist so `/docs` shows every shape with examples. A unit test checks that
`order_view` output validates against `OrderView`, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from oee.api.requests import AMOUNT_STRING_PATTERN, DEFAULT_SLIPPAGE_BPS
from oee.domain.events import JSON
from oee.domain.routing import MAX_SLIPPAGE_BPS, MIN_SLIPPAGE_BPS

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
}


class ExecuteRequest(BaseModel):
    """A market swap order."""

    # extra="forbid": the server refuses any other field (additionalProperties: false).
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1.5, "slippageBps": 50},
                {"tokenIn": "USDC", "tokenOut": "BONK", "amountIn": "250.000001"},
            ]
        },
    )

    tokenIn: str = Field(description="Token sold: a symbol (any case) or its mint address.")
    tokenOut: str = Field(description="Token bought; must differ from tokenIn.")
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
    orderType: Literal["market"] = Field("market", description="Only market orders today.")


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


class OrderView(BaseModel):
    """Everything persisted about an order (also the `order` of a WebSocket snapshot)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_ORDER]})

    orderId: str
    type: str
    status: str = Field(description="pending, routing, building, submitted, confirmed, failed, ...")
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


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer."""

    code: str = Field(description="Stable machine code, e.g. VALIDATION_ERROR, ORDER_NOT_FOUND.")
    message: str = Field(description="What went wrong, in words.")
    errors: list[FieldError] | None = Field(None, description="Per-field problems, when known.")


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
