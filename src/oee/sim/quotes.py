"""Venue quote services shaped like each venue's public API, over the simulated pools.

- Raydium, like its trade API: `GET /raydium/compute/swap-base-in?inputMint=&outputMint=&amount=
  &slippageBps=&txVersion=V0` answers `{"id", "success", "version": "V1", "data": {...}}`, and
  `success: false` with a `msg` code (`ROUTE_NOT_FOUND`, `REQ_AMOUNT_ERROR`, ...) when it cannot.
- Meteora, like the DLMM SDK's `swapQuote` served over HTTP: `GET /meteora/quote?inputMint=
  &outputMint=&amount=&slippageBps=` answers consumedInAmount, outAmount, fee, protocolFee,
  minOutAmount, priceImpact (percent) and the pool and bin arrays; 404 when there is no pool,
  422 when its bins cannot fill the amount.

Amounts are strings of integer base units, as both APIs send them. Each answer waits the
configured quote latency; at the fault rate (`oee.sim.faults`, adjustable while running) it is
instead a 429 with `Retry-After` or an answer that stalls far beyond any client timeout, as real
public endpoints do under load.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from typing import Any

from solders.pubkey import Pubkey
from starlette.requests import Request
from starlette.responses import Response

from oee.domain.routing import Quote, min_amount_out
from oee.domain.tokens import MAX_BASE_UNITS, Token
from oee.settings import SimSettings
from oee.sim.faults import Faults
from oee.sim.meteora_pool import MeteoraPool
from oee.sim.pools import InsufficientLiquidity
from oee.sim.world import NoPool, SimWorld
from oee.venues.meteora.discovery import bin_array_address

JITTER = 0.25  # quote latency varies this much either side of the mean
# A stalled answer outlasts every sane client timeout; the client gives up long before.
STALL_S = 30.0
RETRY_AFTER_S = 1
# How the Meteora service answers what it cannot quote: (HTTP status, error code).
_METEORA_ERRORS = {
    "ROUTE_NOT_FOUND": (404, "POOL_NOT_FOUND"),
    "INSUFFICIENT_LIQUIDITY": (422, "INSUFFICIENT_LIQUIDITY"),
}


class _Refused(Exception):
    """The request cannot be quoted: `code` is the venue's own error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class QuoteService:
    """Both venues' quote endpoints over one world."""

    def __init__(
        self, world: SimWorld, settings: SimSettings, faults: Faults | None = None
    ) -> None:
        self._world = world
        self._latency_s = settings.quote_latency_ms * settings.latency_scale / 1000
        # Read on every request: `POST /admin/faults` changes it while the simulator runs.
        self._faults = faults or Faults.from_settings(settings)
        self._rngs = {
            spec.name: random.Random(f"oee-sim/quotes/{spec.name}/{settings.seed}")
            for spec in world.venues
        }

    async def raydium(self, request: Request) -> Response:
        """Raydium trade API `compute/swap-base-in`."""
        if (fault := await self._wait("raydium")) is not None:
            return fault
        reply: dict[str, Any] = {"id": str(uuid.uuid4()), "success": False, "version": "V1"}
        try:
            if request.query_params.get("txVersion", "V0") not in ("V0", "LEGACY"):
                raise _Refused("REQ_TX_VERSION_ERROR", "txVersion must be V0 or LEGACY")
            quote, slippage = self._quote("raydium", request)
        except _Refused as refused:
            return _json({**reply, "msg": refused.code})
        route = {
            "poolId": quote.pool,
            "inputMint": request.query_params["inputMint"],
            "outputMint": request.query_params["outputMint"],
            "feeMint": request.query_params["inputMint"],
            "feeRate": quote.fee_bps,
            "feeAmount": str(quote.fee),
            "remainingAccounts": [],
        }
        reply["success"] = True
        reply["data"] = {
            "swapType": "BaseIn",
            "inputMint": route["inputMint"],
            "inputAmount": str(quote.amount_in),
            "outputMint": route["outputMint"],
            "outputAmount": str(quote.amount_out),
            "otherAmountThreshold": str(min_amount_out(quote.amount_out, slippage)),
            "slippageBps": slippage,
            # A JSON number in percent; bps have two places, so the float prints them exactly.
            "priceImpactPct": float(quote.price_impact_bps / 100),
            "referrerAmount": "0",
            "routePlan": [route],
        }
        return _json(reply)

    async def meteora(self, request: Request) -> Response:
        """Meteora DLMM `swapQuote` over HTTP."""
        if (fault := await self._wait("meteora")) is not None:
            return fault
        try:
            quote, slippage = self._quote("meteora", request)
        except _Refused as refused:
            status, code = _METEORA_ERRORS.get(refused.code, (400, "BAD_REQUEST"))
            return _json({"error": code, "message": refused.message}, status)
        return _json(
            {
                "poolAddress": quote.pool,
                "inputMint": request.query_params["inputMint"],
                "outputMint": request.query_params["outputMint"],
                "inAmount": str(quote.amount_in),
                "consumedInAmount": str(quote.amount_in),
                "outAmount": str(quote.amount_out),
                "fee": str(quote.fee),
                "protocolFee": "0",  # the simulated pools keep the whole fee
                "minOutAmount": str(min_amount_out(quote.amount_out, slippage)),
                "priceImpact": str(quote.price_impact_bps / 100),
                "feeBps": quote.fee_bps,
                "binArraysPubkey": self._bin_arrays(quote.pool),
            }
        )

    def _bin_arrays(self, pool: str) -> list[str]:
        """The pair's bin arrays holding liquidity, lowest index first."""
        found = self._world.pool_at(pool)
        if found is None or not isinstance(found[1], MeteoraPool):
            return []
        key = Pubkey.from_string(pool)
        return [str(bin_array_address(key, index)) for index in sorted(found[1].bin_arrays())]

    def _quote(self, venue: str, request: Request) -> tuple[Quote, int]:
        params = request.query_params
        token_in = _token(self._world, params.get("inputMint"), "REQ_INPUT_MINT_ERROR")
        token_out = _token(self._world, params.get("outputMint"), "REQ_OUTPUT_MINT_ERROR")
        amount = _integer(params.get("amount"), 1, MAX_BASE_UNITS, "REQ_AMOUNT_ERROR")
        slippage = _integer(params.get("slippageBps", "50"), 0, 10_000, "REQ_SLIPPAGE_BPS_ERROR")
        if token_in is None or token_out is None or token_in == token_out:
            raise _Refused("ROUTE_NOT_FOUND", f"{venue} has no pool for this pair")
        try:
            return self._world.quote(venue, token_in, token_out, amount), slippage
        except NoPool as error:
            raise _Refused("ROUTE_NOT_FOUND", str(error)) from None
        except InsufficientLiquidity as error:  # larger than every bin of a DLMM pool
            raise _Refused("INSUFFICIENT_LIQUIDITY", str(error)) from None

    async def _wait(self, venue: str) -> Response | None:
        """The venue's latency; at the fault rate a 429 to return, or a stall, first."""
        rng = self._rngs[venue]
        if self._latency_s > 0:
            await asyncio.sleep(self._latency_s * rng.uniform(1 - JITTER, 1 + JITTER))
        rate = self._faults.rate
        if rate and rng.random() < rate:
            if rng.random() < 0.5:
                await asyncio.sleep(STALL_S)
                return None
            body = {"error": "RATE_LIMITED", "message": f"{venue}: too many requests"}
            return _json(body, 429, {"Retry-After": str(RETRY_AFTER_S)})
        return None


def _token(world: SimWorld, mint: str | None, code: str) -> Token | None:
    """The registry or launched token of a mint; None for a valid mint no pool trades (yet)."""
    try:
        Pubkey.from_string(mint or "")
    except ValueError:
        raise _Refused(code, f"{mint!r} is not a mint address") from None
    return world.token(mint or "")


def _integer(text: str | None, low: int, high: int, code: str) -> int:
    try:
        value = int(text or "")
    except ValueError:
        raise _Refused(code, f"{text!r} is not an integer") from None
    if not low <= value <= high:
        raise _Refused(code, f"{value} is outside {low}..{high}")
    return value


def _json(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    content = json.dumps(body, separators=(",", ":"))
    return Response(content, status, headers, media_type="application/json")
