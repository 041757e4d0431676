"""Meteora DLMM quoted by a service shaped like the DLMM SDK's `swapQuote` (`GET {base}/quote`),
built from the chain."""

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
from oee.adapters.venues.limits import METEORA_COMPUTE_UNITS
from oee.domain.ports import Venue
from oee.domain.routing import Quote
from oee.domain.tokens import Token


class MeteoraVenue(QuoteServiceVenue):
    """The `Venue` port over a Meteora DLMM quote service."""

    name = "meteora"
    compute_units = METEORA_COMPUTE_UNITS

    def __init__(
        self,
        client: httpx.AsyncClient | Http1Client,
        base_url: str,
        *,
        builder: Venue,
        timeout_s: float = 2.0,
        slippage_bps: int = 50,
    ) -> None:
        """Quote through `base_url`; `/quote` is appended.

        Args:
            client: The process's shared HTTP client (the lean one over sockets).
            base_url: The quote service's root.
            builder: The venue's on-chain reader, which builds the swap of a quote.
            timeout_s: Give up on a quote after this long.
            slippage_bps: For the service's `minOutAmount`; the engine sets its own floor.
        """
        super().__init__(builder)
        self._client = client
        self._url = httpx.URL(base_url.rstrip("/") + "/quote")  # parsed once, not per quote
        self._timeout_s = timeout_s
        self._slippage = str(slippage_bps)

    async def quote(self, token_in: Token, token_out: Token, amount_in: int) -> Quote:
        """Quote `amount_in` base units of `token_in` into `token_out`.

        Raises:
            ExecutionError: VENUE_TIMEOUT / VENUE_RATE_LIMITED / VENUE_UNAVAILABLE (retryable),
                NO_POOL (404), INSUFFICIENT_LIQUIDITY (the bins cannot fill the amount) or
                VENUE_ERROR, none retryable.
        """
        params = {
            "inputMint": token_in.mint,
            "outputMint": token_out.mint,
            "amount": str(amount_in),
            "slippageBps": self._slippage,
        }
        status, body = await get_json(
            self._client, self._url, params, venue=self.name, timeout_s=self._timeout_s
        )
        if status == 404:
            raise no_pool(self.name, token_in, token_out, "pool not found")
        if status == 422:
            why = body.get("message") if isinstance(body, dict) else body
            raise insufficient_liquidity(self.name, str(why))
        if status != 200 or not isinstance(body, dict):
            raise bad_answer(self.name, f"HTTP {status}: {body}")
        try:
            consumed = int(body["consumedInAmount"])
            if consumed != amount_in:
                # The bins cannot take the whole amount: a partial fill is not this order.
                raise insufficient_liquidity(self.name, f"bins take {consumed} of {amount_in}")
            return make_quote(
                self.name,
                token_in,
                token_out,
                amount_in=consumed,
                amount_out=int(body["outAmount"]),
                fee=int(body["fee"]),
                fee_bps=int(body["feeBps"]),
                impact_pct=Decimal(str(body["priceImpact"])),
                pool=str(body["poolAddress"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise bad_answer(self.name, f"{type(error).__name__}: {error}") from None
