"""`GET /api/wallet`: the engine wallet's address and its balances, read from the chain now.

Every worker signs with the one wallet (`OEE_WALLET_PATH`) and publishes its address beside it;
the API reads only that address, never the keypair, so this is the wallet that pays for every
swap and an API process holds no secret key. The balances come from the
engine's own chain client (`Engine.chain`): `getBalance` and `getTokenAccountsByOwner`. Amounts
are exact decimal strings, never floats: a float cannot hold 18 digits of lamports.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from oee.adapters.chain.wallet_address import address_path, read_address
from oee.api.deps import engine_of
from oee.api.errors import ApiError
from oee.api.examples import error_responses, ok
from oee.api.wallet_sim_models import EXAMPLE_WALLET, WalletView
from oee.domain.errors import ExecutionError
from oee.domain.events import JSON
from oee.domain.ports import TokenBalance, WalletBalances
from oee.domain.tokens import REGISTRY

router = APIRouter(prefix="/api", tags=["wallet"])

SOL_DECIMALS = 9
# Longest wait for the chain: past it the answer is a 503, not a hung request.
READ_TIMEOUT_S = 5.0
_NO_STORE = {"Cache-Control": "no-store"}  # balances change with every swap
_REGISTRY_ORDER = {token.mint: index for index, token in enumerate(REGISTRY)}
_SYMBOLS = {token.mint: token.symbol for token in REGISTRY}


def decimal_text(units: int, decimals: int) -> str:
    """`units` base units as whole tokens, exactly, without trailing zeros ("12.5", "0")."""
    text = format(Decimal(units).scaleb(-decimals), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _token_view(token: TokenBalance) -> dict[str, JSON]:
    return {
        "symbol": _SYMBOLS.get(token.mint),
        "mint": token.mint,
        "account": token.account,
        "amount": str(token.amount),
        "uiAmount": decimal_text(token.amount, token.decimals),
        "decimals": token.decimals,
    }


def wallet_view(address: str, balances: WalletBalances) -> dict[str, JSON]:
    """The wire shape of `GET /api/wallet` (documented by `WalletView`).

    Registry tokens come first, in the registry's order; other mints follow, by mint.
    """
    tokens = sorted(
        balances.tokens,
        key=lambda t: (_REGISTRY_ORDER.get(t.mint, len(_REGISTRY_ORDER)), t.mint, t.account),
    )
    view: dict[str, JSON] = {
        "address": address,
        "sol": decimal_text(balances.lamports, SOL_DECIMALS),
        "lamports": balances.lamports,
        "tokens": [_token_view(token) for token in tokens],
    }
    if balances.slot is not None:
        view["slot"] = balances.slot
    return view


@router.get(
    "/wallet",
    summary="The engine wallet and its balances",
    description="The public key every worker signs swaps with, its SOL and every SPL Token "
    "account it owns, read from the chain at request time. Amounts are exact decimal strings; "
    "`symbol` is null for a mint outside the token registry. A chain that cannot be reached "
    f"within {READ_TIMEOUT_S:g} s answers 503 `SERVICE_UNAVAILABLE`; one that refuses the "
    "read, 502 `CHAIN_ERROR`.",
    response_model=WalletView,
    responses=ok(EXAMPLE_WALLET, "The wallet and its balances.")
    | error_responses(
        "CHAIN_ERROR",
        "SERVICE_UNAVAILABLE",
        descriptions={
            502: "The chain's RPC node refused the read.",
            503: "The chain's RPC node cannot be reached (or this process has none); retry.",
        },
    ),
)
async def wallet(request: Request) -> JSONResponse:
    """Read the engine wallet's balances from the chain."""
    engine = engine_of(request)
    if engine.chain is None:
        raise ApiError(
            503,
            "SERVICE_UNAVAILABLE",
            "this process reaches no shared chain: set OEE_RPC_URL to the workers' RPC node",
        )
    if engine.wallet is None:
        engine.wallet = _public_key(engine.settings.wallet_file)
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            balances = await engine.chain.balances(engine.wallet)
    except TimeoutError:
        raise _unavailable(f"no answer within {READ_TIMEOUT_S:g} s") from None
    except ExecutionError as error:
        if error.retryable:
            raise _unavailable(error.message) from None
        raise ApiError(
            502,
            "CHAIN_ERROR",
            f"the chain's RPC node refused to read the wallet: {error.message}",
        ) from None
    return JSONResponse(wallet_view(engine.wallet, balances), headers=_NO_STORE)


def _unavailable(why: str) -> ApiError:
    return ApiError(
        503,
        "SERVICE_UNAVAILABLE",
        f"the chain RPC node is unavailable right now; retry shortly ({why})",
        headers={"Retry-After": "1"},
    )


def _public_key(path: Path) -> str:
    """The wallet's address, as the workers published it beside the keypair file `path`."""
    try:
        return read_address(path)
    except FileNotFoundError:
        raise ApiError(
            503,
            "SERVICE_UNAVAILABLE",
            f"no wallet address at {address_path(path)} yet: a worker publishes it when it "
            "starts (OEE_WALLET_PATH)",
            headers={"Retry-After": "1"},
        ) from None
    except ValueError as error:
        raise ApiError(503, "SERVICE_UNAVAILABLE", str(error)) from None
