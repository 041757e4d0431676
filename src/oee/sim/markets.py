"""One pair on every venue: its pools, and where each venue sits against the reference price.

Raydium sits `gap` above Meteora (negative: below) and the two sit around `center` off the
reference ratio; both offsets walk, folded back at their bounds, so the venues differ by a few
to a few tens of bps and the cheaper one changes as the gap crosses zero. `retarget` is the
arbitrage that pulls each pool toward the reference ratio plus its venue's offset: the price
process runs it every tick with a partial weight, a steered move (`oee.sim.steering`) at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from oee.domain.tokens import Token
from oee.sim.pools import Pool

# How far Raydium's price sits above Meteora's, as a share of the price: a signed walk between
# -GAP_MAX and +GAP_MAX (wider, and an arbitrageur would close it).
GAP_MAX = Decimal("0.004")
CENTER_MAX = Decimal("0.002")
# Per-tick steps of the venue gap and its center: slow next to a 2-3 s confirmation, so a
# 50 bps slippage tolerance fails only under real contention; the gap crosses zero in minutes.
GAP_STEP, CENTER_STEP = Decimal("0.0003"), Decimal("0.0001")
ABOVE = "raydium"  # the venue the gap puts above the other


@dataclass(slots=True)
class Market:
    """One pair on every venue: Raydium sits `gap` above Meteora, around `center` off reference."""

    token_a: Token
    token_b: Token
    center: Decimal
    gap: Decimal
    pools: dict[str, Pool] = field(default_factory=dict)

    def offset(self, venue: str) -> Decimal:
        """How far `venue`'s price sits off the reference ratio, as a share of it."""
        return self.center + (self.gap if venue == ABOVE else -self.gap) / 2

    def walk(self, rng: random.Random, step: Decimal) -> None:
        """Move the gap, then the center, by a Gaussian draw each (`step`: sqrt(ticks) times
        the volatility scale), folded back into their bounds."""
        self.gap = reflect(
            self.gap + Decimal(rng.gauss(0.0, 1.0)) * GAP_STEP * step, -GAP_MAX, GAP_MAX
        )
        self.center = reflect(
            self.center + Decimal(rng.gauss(0.0, 1.0)) * CENTER_STEP * step,
            -CENTER_MAX,
            CENTER_MAX,
        )

    def retarget(self, ratio: Decimal, weight: Decimal) -> None:
        """Pull each pool `weight` (0..1) of the way to `ratio` (token_b per token_a, whole
        tokens) plus its venue's offset, through the pool's own `drift_toward`, which writes
        the move into its accounts."""
        a, b = self.token_a, self.token_b
        for venue, pool in self.pools.items():
            target = (ratio * (1 + self.offset(venue))).scaleb(b.decimals - a.decimals)
            pool.drift_toward(target, weight)


def uniform(rng: random.Random, low: Decimal, high: Decimal) -> Decimal:
    """A uniform draw from [low, high)."""
    return low + (high - low) * Decimal(rng.random())


def reflect(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    """Fold `value` back into [low, high] like a random walk bouncing off both walls."""
    width = high - low
    folded = (value - low) % (2 * width)
    if folded < 0:  # Decimal's % keeps the dividend's sign
        folded += 2 * width
    return low + (folded if folded <= width else 2 * width - folded)
