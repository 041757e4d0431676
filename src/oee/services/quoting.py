"""Quoting every venue at once: one timeout per venue, errors classified, nothing placed.

The executor routes orders with it and `GET /api/quotes` shows the same quotes and decision
without an order. `quote_each` keeps every venue's outcome and duration (the executor measures
them); `quote_all` is the plain answer: the quotes, and the classified error of each venue that
did not quote.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from oee.domain.errors import ExecutionError, NoRoute
from oee.domain.ports import Venue
from oee.domain.routing import Quote, RoutingDecision, choose_best
from oee.domain.tokens import Token


@dataclass(frozen=True, slots=True)
class VenueOutcome:
    """What one venue answered: a quote, or the error it raised, after `seconds`."""

    venue: str
    quote: Quote | None
    error: BaseException | None
    seconds: float


async def quote_each(
    venues: Sequence[Venue],
    token_in: Token,
    token_out: Token,
    amount_in: int,
    *,
    timeout_s: float,
) -> list[VenueOutcome]:
    """Ask every venue concurrently; one outcome per venue, in the order of `venues`.

    A venue that does not answer within `timeout_s` gets a retryable `VENUE_TIMEOUT`; any
    other exception is kept as raised (unexpected ones included) for the caller to judge.
    """
    return list(
        await asyncio.gather(
            *(_quote(v, token_in, token_out, amount_in, timeout_s) for v in venues)
        )
    )


async def quote_all(
    venues: Sequence[Venue],
    token_in: Token,
    token_out: Token,
    amount_in: int,
    *,
    timeout_s: float,
) -> tuple[list[Quote], dict[str, ExecutionError]]:
    """Every venue's quote, and the error of each venue that gave none, by venue name.

    Raises:
        Exception: The first unexpected (non-`ExecutionError`) exception a venue raised.
    """
    return split(await quote_each(venues, token_in, token_out, amount_in, timeout_s=timeout_s))


def split(outcomes: Sequence[VenueOutcome]) -> tuple[list[Quote], dict[str, ExecutionError]]:
    """The quotes and the execution errors by venue; re-raises the first unexpected error."""
    quotes: list[Quote] = []
    errors: dict[str, ExecutionError] = {}
    unexpected: list[BaseException] = []
    for outcome in outcomes:
        if outcome.quote is not None:
            quotes.append(outcome.quote)
        elif isinstance(outcome.error, ExecutionError):
            errors[outcome.venue] = outcome.error
        elif outcome.error is not None:
            unexpected.append(outcome.error)
    if unexpected:
        raise unexpected[0]
    return quotes, errors


async def _quote(
    venue: Venue, token_in: Token, token_out: Token, amount_in: int, timeout_s: float
) -> VenueOutcome:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            quote = await venue.quote(token_in, token_out, amount_in)
    except TimeoutError:
        error: BaseException = ExecutionError(
            f"{venue.name} did not quote within {timeout_s} s",
            code="VENUE_TIMEOUT",
            retryable=True,
        )
        return VenueOutcome(venue.name, None, error, time.perf_counter() - started)
    except Exception as exc:
        return VenueOutcome(venue.name, None, exc, time.perf_counter() - started)
    return VenueOutcome(venue.name, quote, None, time.perf_counter() - started)


def route(
    quotes: Sequence[Quote], errors: dict[str, ExecutionError], slippage_bps: int
) -> RoutingDecision:
    """The routing decision over the quotes that came back.

    Raises:
        ExecutionError: No usable quote: `QUOTES_UNAVAILABLE` (retryable) when some venue's
            failure was transient, else `NO_ROUTE`; the message names every venue's failure.
    """
    try:
        return choose_best(quotes, slippage_bps)
    except NoRoute as no_route:
        retryable = any(e.retryable for e in errors.values())
        detail = "; ".join(f"{e.code}: {e.message}" for e in errors.values()) or no_route.message
        code = "QUOTES_UNAVAILABLE" if retryable else "NO_ROUTE"
        raise ExecutionError(
            f"no usable quote ({detail})", code=code, retryable=retryable
        ) from None
