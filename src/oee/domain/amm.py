"""AMM math in integer base units: what a pool pays out for an input."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

BPS = 10_000


@dataclass(frozen=True, slots=True)
class SwapResult:
    """The outcome of a swap against a pool, all amounts in base units."""

    amount_out: int
    fee: int  # paid in the input token
    price_impact_bps: Decimal


def constant_product_out(
    reserve_in: int, reserve_out: int, amount_in: int, fee_bps: int
) -> SwapResult:
    """Output of an x*y=k pool (Raydium AMM v4 style); the fee is taken from the input.

    Args:
        reserve_in: Pool reserve of the input token.
        reserve_out: Pool reserve of the output token.
        amount_in: Input amount, fee included.
        fee_bps: Pool fee in basis points (25 = 0.25 %).

    Returns:
        The output (rounded down, as the program does), the fee and the price impact
        against the pool's spot price.
    """
    if reserve_in <= 0 or reserve_out <= 0:
        raise ValueError("pool reserves must be positive")
    if amount_in <= 0:
        raise ValueError("amount_in must be positive")
    fee = -(-amount_in * fee_bps // BPS)  # ceiling: the pool never undercharges
    net_in = amount_in - fee
    amount_out = reserve_out * net_in // (reserve_in + net_in)
    impact = _impact_bps(reserve_in, reserve_out, net_in, amount_out)
    return SwapResult(amount_out=amount_out, fee=fee, price_impact_bps=impact)


def _impact_bps(reserve_in: int, reserve_out: int, net_in: int, amount_out: int) -> Decimal:
    if net_in == 0:
        return Decimal(0)
    spot = Decimal(reserve_out) / Decimal(reserve_in)
    executed = Decimal(amount_out) / Decimal(net_in)
    return ((1 - executed / spot) * BPS).quantize(Decimal("0.01"))
