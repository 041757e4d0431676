"""Simulated liquidity pools behind one small interface: Raydium's constant product and Meteora's
DLMM bins, so the world, the ledger and the venues never ask which curve a pool runs."""

from __future__ import annotations

import bisect
import decimal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, Protocol

from oee.domain import dlmm
from oee.domain.amm import BPS, SwapResult, constant_product_out

# Reserves reach ~1e16 base units, so k reaches ~1e32: more digits than the default context.
_WIDE = decimal.Context(prec=60)


class Pool(Protocol):
    """A two-token pool: quotes a swap, executes it, and drifts toward a target price."""

    address: str
    venue: str
    mint_a: str
    mint_b: str
    fee_bps: int

    def quote(self, mint_in: str, amount_in: int) -> SwapResult:
        """What the pool would pay for `amount_in` base units of `mint_in`, without changing."""
        ...

    def swap(self, mint_in: str, amount_in: int) -> SwapResult:
        """Execute the swap: the pool keeps the input (fee included) and pays the output."""
        ...

    def reserves(self) -> tuple[int, int]:
        """Reserves of (mint_a, mint_b) in base units."""
        ...

    def spot_price(self) -> Decimal:
        """The marginal price now: mint_b base units per mint_a base unit, before fees."""
        ...

    def drift_toward(self, price: Decimal, weight: Decimal) -> None:
        """Move the pool's spot price (mint_b base units per mint_a base unit) toward `price`.

        This is the arbitrage the real market does between venues; `weight` is the share of the
        gap closed, 0 (nothing) to 1 (all of it).
        """
        ...


@dataclass(slots=True)
class ConstantProductPool:
    """An x*y=k pool (Raydium AMM v4 style) with integer base-unit reserves."""

    address: str
    venue: str
    mint_a: str
    mint_b: str
    fee_bps: int
    reserve_a: int
    reserve_b: int

    def quote(self, mint_in: str, amount_in: int) -> SwapResult:
        """What the pool would pay for `amount_in` base units of `mint_in`, without changing.

        Raises:
            ValueError: `mint_in` is not one of the pool's tokens, or the amount is not positive.
        """
        if mint_in == self.mint_a:
            return constant_product_out(self.reserve_a, self.reserve_b, amount_in, self.fee_bps)
        if mint_in == self.mint_b:
            return constant_product_out(self.reserve_b, self.reserve_a, amount_in, self.fee_bps)
        raise ValueError(f"pool {self.address} does not hold mint {mint_in}")

    def swap(self, mint_in: str, amount_in: int) -> SwapResult:
        """Execute the swap; the fee stays in the pool, as on Raydium, so k grows."""
        result = self.quote(mint_in, amount_in)
        if mint_in == self.mint_a:
            self.reserve_a += amount_in
            self.reserve_b -= result.amount_out
        else:
            self.reserve_b += amount_in
            self.reserve_a -= result.amount_out
        return result

    def reserves(self) -> tuple[int, int]:
        """Reserves of (mint_a, mint_b) in base units."""
        return self.reserve_a, self.reserve_b

    def spot_price(self) -> Decimal:
        """The reserve ratio: mint_b base units per mint_a base unit."""
        return Decimal(self.reserve_b) / Decimal(self.reserve_a)

    def drift_toward(self, price: Decimal, weight: Decimal) -> None:
        """Slide along the curve (k kept) to a price `weight` of the way to `price`.

        The step is geometric (in log price) so a pool far from target and one close to it
        converge at the same relative speed.
        """
        if weight <= 0:
            return
        with decimal.localcontext(_WIDE):
            current = Decimal(self.reserve_b) / Decimal(self.reserve_a)
            new_price = current * (price / current) ** min(weight, Decimal(1))
            k = Decimal(self.reserve_a) * Decimal(self.reserve_b)
            reserve_a = int((k / new_price).sqrt())
            reserve_b = int(k / reserve_a) if reserve_a > 0 else 0
        # A degenerate target must never empty a pool: keep the old state instead.
        if reserve_a > 0 and reserve_b > 0:
            self.reserve_a, self.reserve_b = reserve_a, reserve_b


# Meteora's bin-step-20 preset: bins 0.20 % apart and a 0.20 % base fee.
BIN_STEP = 20
# One 139-bin position, about +-15 % around the price at bin step 20, as LPs commonly open.
BINS_EACH_SIDE = 69
Shape = Literal["spot", "curve"]


@dataclass(slots=True)
class DlmmPool:
    """A Meteora DLMM pair (token X is mint_a, token Y is mint_b) over `oee.domain.dlmm`.

    `fee_bps` is the base fee; the variable fee adds to it while the price moves. The LPs keep
    their liquidity within `width` bins of the price: when the active bin strays past half of
    that, they withdraw and spread the pool's value evenly around it again.
    """

    address: str
    venue: str
    mint_a: str
    mint_b: str
    fee_bps: int
    state: dlmm.DlmmState
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    width: int = BINS_EACH_SIDE
    shape: Shape = "spot"

    @classmethod
    def around(
        cls,
        address: str,
        venue: str,
        mint_a: str,
        mint_b: str,
        fee_bps: int,
        reserve_a: int,
        reserve_b: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        bin_step: int = BIN_STEP,
        width: int = BINS_EACH_SIDE,
        shape: Shape = "spot",
    ) -> DlmmPool:
        """A pool with `reserve_a` of X in the bins above the price and `reserve_b` of Y below.

        The active bin is the one nearest `reserve_b / reserve_a`, so the pool starts at the
        price a constant-product pool with the same reserves would quote.

        Raises:
            ValueError: `fee_bps` is not a base fee the bin step can express.
        """
        base_factor, rest = divmod(fee_bps * dlmm.FEE_PRECISION // BPS, bin_step * 10)
        if rest or not 0 < base_factor < 2**16:  # a u16 on chain
            raise ValueError(f"a {fee_bps} bps base fee does not fit bin step {bin_step}")
        fees = dlmm.FeeParameters(base_factor=base_factor)
        active = dlmm.bin_id_for_price(Decimal(reserve_b) / Decimal(reserve_a), bin_step)
        now = int(clock())
        state = _spread(bin_step, fees, active, reserve_a, reserve_b, width, shape, now, None)
        return cls(address, venue, mint_a, mint_b, fee_bps, state, clock, width, shape)

    def quote(self, mint_in: str, amount_in: int) -> SwapResult:
        """What the bins would pay for `amount_in` base units of `mint_in`, without changing.

        Raises:
            ValueError: `mint_in` is not one of the pool's tokens, or the amount is not positive.
            dlmm.InsufficientLiquidity: The bins on the output side cannot fill the swap.
        """
        quote = dlmm.quote_swap(
            self.state, amount_in, swap_for_y=self._sells_x(mint_in), now=int(self.clock())
        )
        return SwapResult(quote.amount_out, quote.fee, quote.price_impact_bps)

    def swap(self, mint_in: str, amount_in: int) -> SwapResult:
        """Execute the swap; the fee stays in the bins it was paid in, as LP earnings."""
        quote, self.state = dlmm.apply_swap(
            self.state, amount_in, swap_for_y=self._sells_x(mint_in), now=int(self.clock())
        )
        return SwapResult(quote.amount_out, quote.fee, quote.price_impact_bps)

    def reserves(self) -> tuple[int, int]:
        """Reserves of (mint_a, mint_b) summed over all bins, fees included."""
        return self.state.reserves()

    def spot_price(self) -> Decimal:
        """The active bin's price: mint_b base units per mint_a base unit."""
        return self.state.price()

    def drift_toward(self, price: Decimal, weight: Decimal) -> None:
        """Arbitrage the active bin `weight` of the way (in bins) to the bin nearest `price`.

        Bins are discrete, so any gap of a bin or more moves at least one bin: the pool settles
        in the nearest bin rather than stalling half a bin short.
        """
        state = self.state
        gap = self._nearest_bin(price) - state.active_id
        if weight <= 0 or gap == 0:
            return
        step = int((min(weight, Decimal(1)) * gap).to_integral_value(ROUND_HALF_UP))
        to_id = state.active_id + (step or (1 if gap > 0 else -1))
        now = int(self.clock())
        edge = min(max(to_id, state.lower_id), state.upper_id)
        self.state = dlmm.move_active(state, edge, now=now)
        if abs(to_id - (state.lower_id + self.width)) > self.width // 2:
            self.state = self._recentred(to_id, now)

    def _sells_x(self, mint_in: str) -> bool:
        if mint_in == self.mint_a:
            return True
        if mint_in == self.mint_b:
            return False
        raise ValueError(f"pool {self.address} does not hold mint {mint_in}")

    def _nearest_bin(self, price: Decimal) -> int:
        """The bin nearest `price`: a bisection over the held prices, a logarithm outside them."""
        prices = self.state.prices
        with decimal.localcontext(_WIDE):
            scaled = int(price * (1 << dlmm.SCALE_OFFSET))
        below = bisect.bisect_right(prices, scaled) - 1
        if not 0 <= below < len(prices) - 1:
            return dlmm.bin_id_for_price(price, self.state.bin_step)
        # Nearest in log terms: above the geometric midpoint of the two bins, take the upper.
        upper = scaled * scaled >= prices[below] * prices[below + 1]
        return self.state.lower_id + below + upper

    def _recentred(self, active_id: int, now: int) -> dlmm.DlmmState:
        """The pool's value at the new active price, spread half X, half Y around it again."""
        state = self.state
        price = dlmm.bin_prices(active_id, 1, state.bin_step)[0]
        reserve_x, reserve_y = state.reserves()
        value = (reserve_x * price >> dlmm.SCALE_OFFSET) + reserve_y
        half_y = value // 2
        half_x = ((value - half_y) << dlmm.SCALE_OFFSET) // price
        return _spread(
            state.bin_step, state.fees, active_id, half_x, half_y, self.width, self.shape, now,
            state.volatility,
        )  # fmt: skip


def _spread(
    bin_step: int,
    fees: dlmm.FeeParameters,
    active_id: int,
    total_x: int,
    total_y: int,
    width: int,
    shape: Shape,
    now: int,
    volatility: dlmm.Volatility | None,
) -> dlmm.DlmmState:
    """Meteora's Spot (flat) or Curve (peaked at the price) strategy over `width` bins a side.

    The active bin holds both tokens with half a bin's weight of each; it also takes the
    rounding remainders, so the totals are exact.
    """
    if shape == "spot":
        weights = [1] + [2] * width
    else:
        weights = [width + 1] + [2 * (width + 1 - d) for d in range(1, width + 1)]
    total_weight = sum(weights)
    above = [total_x * w // total_weight for w in weights[1:]]
    below = [total_y * w // total_weight for w in reversed(weights[1:])]
    amounts_x = [0] * width + [total_x - sum(above), *above]
    amounts_y = [*below, total_y - sum(below)] + [0] * width
    return dlmm.make_state(
        bin_step=bin_step, fees=fees, lower_id=active_id - width, amounts_x=amounts_x,
        amounts_y=amounts_y, active_id=active_id, now=now, volatility=volatility,
    )  # fmt: skip
