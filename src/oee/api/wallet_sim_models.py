"""OpenAPI models of the wallet view and the simulator's demo routes (docs only).

Split from `oee.api.openapi`, which keeps the orders' shapes: these answer `GET /api/wallet`,
`POST /api/sim/pools` and `POST /api/sim/move`, built by hand like the order view and checked
against these models by unit tests.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from oee.api.openapi import TokenView
from oee.domain.events import JSON

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
