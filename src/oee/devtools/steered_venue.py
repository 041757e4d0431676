"""A venue whose price the caller sets: for measuring and testing the trigger stage alone.

The trigger stage's own cost and correctness (claims, books, batch firing) are measured apart
from the venues' math and the simulator, so the benchmark and the lease tests quote from this
instead of a pool. It quotes a flat price with no fee and no impact, and builds no swap.
"""

from __future__ import annotations

from decimal import Decimal

from oee.domain.ports import SwapInstruction, SwapRequest
from oee.domain.routing import Quote
from oee.domain.tokens import Token


class SteeredVenue:
    """A `Venue` paying `price` whole tokenOut per whole tokenIn, whatever the size."""

    name = "raydium"
    program_id = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8"
    compute_units = 100_000

    def __init__(self, price: Decimal) -> None:
        self.price = price

    async def quote(self, token_in: Token, token_out: Token, amount_in: int) -> Quote:
        """The flat price applied to `amount_in`, rounded down to base units."""
        out = int(token_in.from_base_units(amount_in) * self.price * 10**token_out.decimals)
        return Quote(self.name, amount_in, out, 0, 25, self.price, Decimal(0), "pool")

    def forget_pools(self, token_a: Token, token_b: Token) -> None:
        """Nothing is cached."""

    async def swap_instruction(self, request: SwapRequest) -> SwapInstruction:
        """It trades nothing: only triggers are measured against it."""
        raise NotImplementedError("a steered venue quotes only")
