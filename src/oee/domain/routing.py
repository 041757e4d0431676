"""Routing: pick the venue with the best net output and derive the slippage floor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from oee.domain.errors import InvalidOrder, NoRoute
from oee.domain.events import JSON

BPS = 10_000  # basis points in a whole: slippage and routing margins are counted in them
MIN_SLIPPAGE_BPS = 1
MAX_SLIPPAGE_BPS = 5_000


@dataclass(frozen=True, slots=True)
class Quote:
    """One venue's answer for a swap: amounts in base units, price in whole tokens out per in."""

    venue: str
    amount_in: int
    amount_out: int  # net of the venue's fee
    fee: int  # in the input token's base units
    fee_bps: int
    price: Decimal
    price_impact_bps: Decimal
    pool: str

    def to_dict(self) -> dict[str, JSON]:
        return {
            "venue": self.venue,
            "amountIn": str(self.amount_in),
            "amountOut": str(self.amount_out),
            "fee": str(self.fee),
            "feeBps": self.fee_bps,
            "price": str(self.price),
            "priceImpactBps": str(self.price_impact_bps),
            "pool": self.pool,
        }

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> Quote:
        return cls(
            venue=data["venue"],
            amount_in=int(data["amountIn"]),
            amount_out=int(data["amountOut"]),
            fee=int(data["fee"]),
            fee_bps=int(data["feeBps"]),
            price=Decimal(data["price"]),
            price_impact_bps=Decimal(data["priceImpactBps"]),
            pool=data["pool"],
        )


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The winner among the quotes, by how much it won, and the output floor it must meet."""

    chosen: Quote
    quotes: tuple[Quote, ...]
    margin_bps: Decimal  # how much more the winner pays than the runner-up
    min_amount_out: int

    def to_dict(self) -> dict[str, JSON]:
        return {
            "chosenDex": self.chosen.venue,
            "marginBps": str(self.margin_bps),
            "minAmountOut": str(self.min_amount_out),
            "quotes": [q.to_dict() for q in self.quotes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> RoutingDecision:
        quotes = tuple(Quote.from_dict(q) for q in data["quotes"])
        chosen = next(q for q in quotes if q.venue == data["chosenDex"])
        return cls(
            chosen=chosen,
            quotes=quotes,
            margin_bps=Decimal(data["marginBps"]),
            min_amount_out=int(data["minAmountOut"]),
        )


def check_slippage_bps(slippage_bps: int) -> None:
    """Raise `InvalidOrder` unless `slippage_bps` is within the accepted range."""
    if not MIN_SLIPPAGE_BPS <= slippage_bps <= MAX_SLIPPAGE_BPS:
        raise InvalidOrder(
            f"slippageBps must be between {MIN_SLIPPAGE_BPS} and {MAX_SLIPPAGE_BPS}",
            code="SLIPPAGE_OUT_OF_RANGE",
        )


def min_amount_out(amount_out: int, slippage_bps: int) -> int:
    """The least output the swap may return: the quote less the slippage tolerance, rounded down."""
    return amount_out * (BPS - slippage_bps) // BPS


def choose_best(quotes: Sequence[Quote], slippage_bps: int) -> RoutingDecision:
    """Pick the quote with the best net output (ties: lower price impact, then venue name).

    Args:
        quotes: Every venue's usable quote for the same swap.
        slippage_bps: The order's tolerance, used for the output floor.

    Raises:
        NoRoute: No quote pays out anything.
    """
    usable = [q for q in quotes if q.amount_out > 0]
    if not usable:
        raise NoRoute("no venue returned a usable quote for this swap")
    ranked = sorted(usable, key=lambda q: (-q.amount_out, q.price_impact_bps, q.venue))
    best = ranked[0]
    margin = Decimal(0)
    if len(ranked) > 1:
        runner_up = ranked[1].amount_out
        margin = (Decimal(best.amount_out - runner_up) * BPS / runner_up).quantize(Decimal("0.01"))
    return RoutingDecision(
        chosen=best,
        quotes=tuple(quotes),
        margin_bps=margin,
        min_amount_out=min_amount_out(best.amount_out, slippage_bps),
    )
