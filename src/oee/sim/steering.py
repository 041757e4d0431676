"""Steering prices: a pair's price pushed by a relative amount, now, on both venues.

A limit order is only worth watching when the price can be made to reach it, so the world
takes a push (`SimWorld.move`): `SOL/USDC +3 %` means one SOL buys 3 % more USDC. The push
moves one token's reference USD price, and the pair's pools on every venue go to their new
targets at once (keeping the venues' gap and center offsets), so the very next quote from
either venue shows it. Other pairs with the moved token follow by the usual arbitrage over the
next ticks, as they would after a real move on one market.

Which token moves: a launched token always (it trades nowhere else, so its pools are its
price); otherwise the base, unless the base is a pegged stablecoin, then the quote
(`USDC/SOL +3 %` makes SOL 2.9 % cheaper, not USDC dearer). Two pegged tokens are refused:
their reference stays at 1. This module holds the rules and the wire shapes; the world applies
them to its markets. Every refusal is a `MoveError` with a stable code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from oee.domain.tokens import Token
from oee.sim.pools import Pool

# -90 % leaves a tenth of the price, +900 % ten times it: beyond that a demo has a typo.
MIN_PERCENT, MAX_PERCENT = Decimal(-90), Decimal(900)
MOVE_FIELDS = ("pair", "percent")  # the JSON fields of `POST /admin/move`
SIGNIFICANT_DIGITS = 10  # prices on the wire: finer than any venue's tick, short to read


class MoveError(ValueError):
    """A move or a price read the world refuses; `code` is stable (INVALID_PERCENT, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True, slots=True)
class PairPrices:
    """A pair's price now, in whole `quote` tokens per `base` token.

    `reference` is the ratio of the two reference USD prices (what the pools are pulled
    toward, before each venue's offset); `venues` is each pool's marginal price before fees
    (Raydium's reserve ratio, Meteora's active bin), which is what a small swap pays.
    """

    base: Token
    quote: Token
    reference: Decimal
    venues: dict[str, Decimal]

    def as_json(self) -> dict[str, Any]:
        """`{"pair", "reference", "prices": {venue: price}}`, prices as decimal strings."""
        return {
            "pair": f"{self.base.symbol}/{self.quote.symbol}",
            "reference": significant(self.reference),
            "prices": {venue: significant(price) for venue, price in self.venues.items()},
        }


@dataclass(frozen=True, slots=True)
class PriceMove:
    """A move that happened: by how much, whose reference price it changed, and the pair's
    prices just before and right after."""

    percent: Decimal
    moved: Token
    before: PairPrices
    after: PairPrices

    def as_json(self) -> dict[str, Any]:
        """The prices after, with `percent`, `moved` (a symbol) and `previous` prices."""
        previous = self.before.as_json()
        del previous["pair"]
        return {
            **self.after.as_json(),
            "percent": f"{self.percent.normalize():f}",
            "moved": self.moved.symbol,
            "previous": previous,
        }


def check_percent(percent: Decimal) -> Decimal:
    """`percent` when it is a finite number from `MIN_PERCENT` to `MAX_PERCENT`.

    Raises:
        MoveError: `INVALID_PERCENT` otherwise.
    """
    if not percent.is_finite() or not MIN_PERCENT <= percent <= MAX_PERCENT:
        shown = str(percent)[:40]
        raise MoveError(
            "INVALID_PERCENT",
            f"percent must be a number from {MIN_PERCENT} to {MAX_PERCENT}, got {shown}",
        )
    return percent


def resolve_pair(text: str, find: Callable[[str], Token | None]) -> tuple[Token, Token]:
    """The (base, quote) tokens of `"BASE/QUOTE"`, each a symbol (any case) or a mint.

    Raises:
        MoveError: `INVALID_PAIR` for text that is not two different tokens,
            `UNKNOWN_TOKEN` for a token the world does not have.
    """
    names = [name.strip() for name in text.split("/")]
    if len(names) != 2 or not all(names):
        raise MoveError("INVALID_PAIR", f"pair must look like SOL/USDC, got {text[:40]!r}")
    tokens = []
    for name in names:
        token = find(name)
        if token is None:
            raise MoveError(
                "UNKNOWN_TOKEN",
                f"unknown token {name[:44]!r}; use a symbol (SOL, USDC, ...), a launched "
                "token's symbol or a mint address",
            )
        tokens.append(token)
    base, quote = tokens
    if base == quote:
        raise MoveError("INVALID_PAIR", f"pair names {base.symbol} twice")
    return base, quote


def steer(
    base: Token,
    quote: Token,
    percent: Decimal,
    *,
    floats: Callable[[str], bool],
    launched: Token | None,
) -> tuple[Token, Decimal]:
    """The token whose reference USD price moves, and the factor it is multiplied by, so
    that `base`'s price in `quote` changes by `percent`.

    Args:
        base: The pair's first token: its price is counted in `quote`.
        quote: The pair's second token.
        percent: The change, already checked (`check_percent`).
        floats: Whether a symbol's reference walks (False for a pegged stablecoin).
        launched: The pair's launched token, when it has one: that one moves.

    Raises:
        MoveError: `PEGGED_PAIR` when neither token may move.
    """
    factor = 1 + percent / 100
    if launched is not None:
        return launched, factor if launched == base else 1 / factor
    if floats(base.symbol):
        return base, factor
    if floats(quote.symbol):
        return quote, 1 / factor
    raise MoveError(
        "PEGGED_PAIR",
        f"{base.symbol} and {quote.symbol} are both pegged at $1; move a pair with a token "
        "whose price floats",
    )


def pool_price(pool: Pool, base: Token, quote: Token) -> Decimal:
    """The pool's marginal price in whole `quote` tokens per `base` token (either order)."""
    spot = pool.spot_price()  # mint_b base units per mint_a base unit
    if pool.mint_a == base.mint:
        return spot.scaleb(base.decimals - quote.decimals)
    return (1 / spot).scaleb(base.decimals - quote.decimals)


def significant(value: Decimal, digits: int = SIGNIFICANT_DIGITS) -> str:
    """`value` rounded to `digits` significant digits, as plain decimal text (no exponent)."""
    if not value:
        return "0"
    rounded = value.quantize(Decimal(1).scaleb(value.adjusted() - digits + 1))
    return f"{rounded.normalize():f}"
