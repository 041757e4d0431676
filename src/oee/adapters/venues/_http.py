"""What the venue quote clients share: one GET with the venue failure codes, the domain quote,
and building the swap through the venue's on-chain reader.

| what the service does | code | retryable |
|---|---|---|
| no answer within the timeout | VENUE_TIMEOUT | yes |
| HTTP 429 (with its Retry-After in the message) | VENUE_RATE_LIMITED | yes |
| HTTP 5xx or an unreachable host | VENUE_UNAVAILABLE | yes |
| no pool or route for the pair | NO_POOL | no |
| the pool cannot fill the amount | INSUFFICIENT_LIQUIDITY | no |
| a malformed answer or a refused request | VENUE_ERROR | no |
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx

from oee.adapters.http1 import Http1Client
from oee.domain.errors import ExecutionError
from oee.domain.ports import SwapInstruction, SwapRequest, Venue
from oee.domain.routing import Quote
from oee.domain.tokens import Token

# Price impact is carried in hundredths of a basis point, as the on-chain quotes round it.
_IMPACT_STEP = Decimal("0.01")


class QuoteServiceVenue:
    """A venue priced by an HTTP quote service, its swaps built by the venue's on-chain reader.

    The quote names its pool; `builder` (the same venue's `OnchainVenue`) reads that pool's
    accounts and builds the real instruction. So one code path builds every swap, whatever
    priced the quote, and the program the swap goes to is the builder's.
    """

    def __init__(self, builder: Venue) -> None:
        self.program_id = builder.program_id
        self._builder = builder

    def forget_pools(self, token_a: Token, token_b: Token) -> None:
        """The quote service finds pools itself; the builder forgets its own look-ups."""
        self._builder.forget_pools(token_a, token_b)

    async def swap_instruction(self, request: SwapRequest) -> SwapInstruction:
        """The venue's real swap instruction on the quoted pool (see `OnchainVenue`).

        Raises:
            ExecutionError: as the builder's `swap_instruction`.
        """
        return await self._builder.swap_instruction(request)


async def get_json(
    client: httpx.AsyncClient | Http1Client,
    url: httpx.URL,
    params: dict[str, str],
    *,
    venue: str,
    timeout_s: float,
) -> tuple[int, Any]:
    """GET `url` and decode its JSON body (floats as `Decimal`); returns (status, body).

    Raises:
        ExecutionError: VENUE_TIMEOUT, VENUE_RATE_LIMITED or VENUE_UNAVAILABLE (retryable),
            VENUE_ERROR for a body that is not JSON.
    """
    try:
        if isinstance(client, Http1Client):
            # Untimed while the pool is busy (a queue, not a failure); the exchange is timed.
            response = await client.request(
                "GET", f"{url}?{urlencode(params)}", timeout_s=timeout_s, retry_stale=True
            )
            status, headers, content = response.status, response.headers, response.body
        else:
            # asyncio's timeout, not only httpx's: an in-process ASGI transport applies none.
            async with asyncio.timeout(timeout_s):
                reply = await client.get(url, params=params)
            status, headers, content = reply.status_code, dict(reply.headers), reply.content
    except (TimeoutError, httpx.TimeoutException):
        raise ExecutionError(
            f"{venue} quote timed out after {timeout_s} s", code="VENUE_TIMEOUT", retryable=True
        ) from None
    except (ConnectionError, httpx.TransportError) as error:
        raise ExecutionError(
            f"{venue} quote service unreachable ({error!r})",
            code="VENUE_UNAVAILABLE",
            retryable=True,
        ) from None
    if status == 429:
        wait = headers.get("retry-after", "?")
        raise ExecutionError(
            f"{venue} rate limited the quote (HTTP 429, retry after {wait} s)",
            code="VENUE_RATE_LIMITED",
            retryable=True,
        )
    if status >= 500:
        raise ExecutionError(
            f"{venue} quote service failed (HTTP {status})",
            code="VENUE_UNAVAILABLE",
            retryable=True,
        )
    try:
        return status, json.loads(content, parse_float=Decimal)
    except ValueError:
        raise bad_answer(venue, f"HTTP {status} with a body that is not JSON") from None


def bad_answer(venue: str, why: str) -> ExecutionError:
    """The service answered something this client cannot use."""
    return ExecutionError(f"{venue} quote unusable: {why}", code="VENUE_ERROR", retryable=False)


def no_pool(venue: str, token_in: Token, token_out: Token, why: str) -> ExecutionError:
    """The venue cannot route the pair: retrying will not help."""
    return ExecutionError(
        f"{venue} has no {token_in.symbol}/{token_out.symbol} pool ({why})",
        code="NO_POOL",
        retryable=False,
    )


def insufficient_liquidity(venue: str, why: str) -> ExecutionError:
    """The pool cannot fill this amount: the same order will not fit on a retry either."""
    return ExecutionError(
        f"{venue} cannot fill the amount ({why})", code="INSUFFICIENT_LIQUIDITY", retryable=False
    )


def make_quote(
    venue: str,
    token_in: Token,
    token_out: Token,
    *,
    amount_in: int,
    amount_out: int,
    fee: int,
    fee_bps: int,
    impact_pct: Decimal,
    pool: str,
) -> Quote:
    """The domain quote: exact base units, the price in whole tokens out per whole token in."""
    price = token_out.from_base_units(amount_out) / token_in.from_base_units(amount_in)
    return Quote(
        venue=venue,
        amount_in=amount_in,
        amount_out=amount_out,
        fee=fee,
        fee_bps=fee_bps,
        price=price,
        price_impact_bps=(Decimal(impact_pct) * 100).quantize(_IMPACT_STEP),
        pool=pool,
    )
