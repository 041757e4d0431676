"""Simulated liquidity pools behind one small interface, so Meteora's DLMM bins can replace the
constant-product stand-in without touching the world, the ledger or the venues."""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from oee.domain.amm import SwapResult, constant_product_out

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
