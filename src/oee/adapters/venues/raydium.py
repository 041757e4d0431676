"""Raydium quoted by its trade API (`GET {base}/compute/swap-base-in`), built from the chain."""

from __future__ import annotations

from decimal import Decimal

import httpx

from oee.adapters.http1 import Http1Client
from oee.adapters.venues._http import (
    QuoteServiceVenue,
    bad_answer,
    get_json,
    insufficient_liquidity,
    make_quote,
    no_pool,
)
from oee.adapters.venues.limits import RAYDIUM_COMPUTE_UNITS
from oee.domain.ports import Venue
from oee.domain.routing import Quote
from oee.domain.tokens import Token

# The API's codes for a pair it cannot route (the rest are malformed requests).
_NO_ROUTE = frozenset({"ROUTE_NOT_FOUND", "REQ_INPUT_MINT_ERROR", "REQ_OUTPUT_MINT_ERROR"})


class RaydiumVenue(QuoteServiceVenue):
    """The `Venue` port over Raydium's trade API."""

    name = "raydium"
    compute_units = RAYDIUM_COMPUTE_UNITS

    def __init__(
        self,
        client: httpx.AsyncClient | Http1Client,
        base_url: str,
        *,
        builder: Venue,
        timeout_s: float = 2.0,
        slippage_bps: int = 50,
    ) -> None:
        """Quote through `base_url` (e.g. `https://transaction-v1.raydium.io`).

        Args:
            client: The process's shared HTTP client (the lean one over sockets).
            base_url: The trade API's root; `/compute/swap-base-in` is appended.
            builder: The venue's on-chain reader, which builds the swap of a quote.
            timeout_s: Give up on a quote after this long.
            slippage_bps: Sent because the API requires it; the engine sets its own floor.
        """
        super().__init__(builder)
        self._client = client
        self._url = httpx.URL(
            base_url.rstrip("/") + "/compute/swap-base-in"
        )  # parsed once, not per quote
        self._timeout_s = timeout_s
        self._slippage = str(slippage_bps)

    async def quote(self, token_in: Token, token_out: Token, amount_in: int) -> Quote:
        """Quote `amount_in` base units of `token_in` into `token_out`.

        Raises:
            ExecutionError: VENUE_TIMEOUT / VENUE_RATE_LIMITED / VENUE_UNAVAILABLE (retryable),
                NO_POOL or VENUE_ERROR (not retryable).
        """
        params = {
            "inputMint": token_in.mint,
            "outputMint": token_out.mint,
            "amount": str(amount_in),
            "slippageBps": self._slippage,
            "txVersion": "V0",
        }
        _, body = await get_json(
            self._client, self._url, params, venue=self.name, timeout_s=self._timeout_s
        )
        if not isinstance(body, dict) or not body.get("success"):
            code = body.get("msg") if isinstance(body, dict) else None
            if code in _NO_ROUTE:
                raise no_pool(self.name, token_in, token_out, str(code))
            if code == "INSUFFICIENT_LIQUIDITY":
                raise insufficient_liquidity(self.name, "the pool cannot fill the amount")
            raise bad_answer(self.name, f"refused: {code}")
        try:
            data = body["data"]
            (route,) = data["routePlan"]  # one pool: the swap instruction addresses one pool
            if (data["inputMint"], data["outputMint"]) != (token_in.mint, token_out.mint):
                raise ValueError("the quote is for another pair")
            return make_quote(
                self.name,
                token_in,
                token_out,
                amount_in=int(data["inputAmount"]),
                amount_out=int(data["outputAmount"]),
                fee=int(route["feeAmount"]),
                fee_bps=int(route["feeRate"]),
                impact_pct=Decimal(data["priceImpactPct"]),
                pool=str(route["poolId"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise bad_answer(self.name, f"{type(error).__name__}: {error}") from None
