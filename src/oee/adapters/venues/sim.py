"""Venue adapters over the simulated world: a thin client that adds latency and faults.

Each `SimVenue` stands where an HTTP client of the venue's quote API will stand, so latency and
transient failures are injected here, around the call, not inside the world.
"""

from __future__ import annotations

import asyncio
import random

from oee.adapters.chain.transactions import DEFAULT_COMPUTE_UNIT_LIMIT, legacy_swap
from oee.domain.dlmm import InsufficientLiquidity
from oee.domain.errors import ExecutionError
from oee.domain.ports import SwapInstruction, SwapRequest
from oee.domain.routing import Quote
from oee.domain.tokens import Token
from oee.settings import SimSettings
from oee.sim.world import NoPool, SimWorld, VenueSpec

# Quote latency varies this much either side of the mean.
JITTER = 0.25


class SimVenue:
    """One DEX's quote service over the simulated pools."""

    def __init__(self, world: SimWorld, spec: VenueSpec, settings: SimSettings) -> None:
        self.name = spec.name
        self.program_id = spec.program_id
        self.compute_units = DEFAULT_COMPUTE_UNIT_LIMIT
        self._world = world
        self._latency_s = settings.quote_latency_ms * settings.latency_scale / 1000
        self._fault_rate = settings.fault_rate
        self._rng = random.Random(f"oee-sim/venue/{spec.name}/{settings.seed}")

    async def quote(self, token_in: Token, token_out: Token, amount_in: int) -> Quote:
        """Quote `amount_in` base units of `token_in` into `token_out` at the pool's price now.

        Raises:
            ExecutionError: VENUE_TIMEOUT or VENUE_RATE_LIMITED (retryable) as injected faults;
                NO_POOL or INSUFFICIENT_LIQUIDITY (not retryable) when the venue has no pool
                for the pair or cannot fill the amount.
        """
        if self._latency_s > 0:
            await asyncio.sleep(self._latency_s * self._rng.uniform(1 - JITTER, 1 + JITTER))
        if self._fault_rate and self._rng.random() < self._fault_rate:
            if self._rng.random() < 0.5:
                raise ExecutionError(
                    f"{self.name} quote timed out", code="VENUE_TIMEOUT", retryable=True
                )
            raise ExecutionError(
                f"{self.name} rate limited the quote (HTTP 429)",
                code="VENUE_RATE_LIMITED",
                retryable=True,
            )
        try:
            return self._world.quote(self.name, token_in, token_out, amount_in)
        except NoPool as error:
            raise ExecutionError(str(error), code="NO_POOL", retryable=False) from None
        except InsufficientLiquidity as error:
            # Larger than every bin the pool holds: no retry will make it fit.
            raise ExecutionError(error.message, code=error.code, retryable=False) from None

    async def swap_instruction(self, request: SwapRequest) -> SwapInstruction:
        """The swap in the engine's legacy layout, which the simulated ledger decodes."""
        return legacy_swap(self.program_id, request)


def sim_venues(world: SimWorld, settings: SimSettings) -> list[SimVenue]:
    """One `SimVenue` per venue of the world (Raydium, Meteora)."""
    return [SimVenue(world, spec, settings) for spec in world.venues]
