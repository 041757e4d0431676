"""The compute budget of a swap transaction, set as production engines set it.

- **Limit**: simulate the transaction (`simulateTransaction`, unsigned, latest blockhash) and
  take the units it consumed plus a margin (the pool may move, the swap may cross one more bin
  before it lands). When simulation is off, unsupported, unreachable or the transaction would
  fail right now, the venue's own default limit is used: a failing simulation is not a reason
  to refuse the order, the chain decides (its slippage check and the executor's handling of
  on-chain failures stay the one source of truth). A measure is reused for `estimate_ttl_s`
  (`OEE_COMPUTE_ESTIMATE_TTL_S`) by later orders on the same route: same venue, swap accounts
  (the pool), tokens and amount within a factor of two (a larger swap may cross more bins and cost more units).
  Within that time the pool barely moves, and the margin covers what it does; a
  simulateTransaction per order was one of the engine's costliest calls.
- **Price**: a percentile of the recent prioritization fees paid by transactions that wrote
  to the pool (`getRecentPrioritizationFees`; the chain adapter caches the reading a few
  seconds, so it is not a round trip per order), never below a floor nor above a cap. A fee
  reading that fails falls back to the floor.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from oee.domain.errors import ExecutionError
from oee.domain.ports import Blockhash, Chain, ComputeBudget, SwapPlan, SwapSigner

log = structlog.get_logger(__name__)

MAX_COMPUTE_UNITS = 1_400_000  # the most a transaction may ask for
SIMULATION_LIMIT = MAX_COMPUTE_UNITS  # simulate with room, so the measure is not capped
MAX_ESTIMATES = 4096  # routes whose compute estimate is held


@dataclass(frozen=True, slots=True)
class FeePolicy:
    """How the limit and price are chosen.

    Attributes:
        simulate: Measure the limit by simulation (else the venue's default).
        margin: Added to the simulated units, as a share (0.2 = 20 %).
        percentile: Of the recent prioritization fees, 0-100 (75 = p75).
        min_price: Micro-lamports per unit when recent fees say less (or nothing).
        max_price: Micro-lamports per unit never exceeded, whatever the fee market says.
        estimate_ttl_s: A route's simulated units are reused this long (0: every order).
    """

    simulate: bool = True
    margin: float = 0.2
    percentile: int = 75
    min_price: int = 10_000
    max_price: int = 1_000_000
    estimate_ttl_s: float = 0.0


def percentile(values: Sequence[int], pct: int) -> int:
    """The nearest-rank percentile of `values` (0 when there are none)."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class ComputeBudgeter:
    """Chooses a swap transaction's compute budget from the chain (see the module)."""

    def __init__(self, chain: Chain, signer: SwapSigner, policy: FeePolicy) -> None:
        self._chain, self._signer, self.policy = chain, signer, policy
        self._estimates: dict[tuple[object, ...], tuple[float, int]] = {}  # route -> (until, units)

    async def unit_price(self, pool: str) -> int:
        """Micro-lamports per unit for a swap writing to `pool`."""
        policy = self.policy
        try:
            fees = await self._chain.prioritization_fees([pool])
        except ExecutionError as error:
            log.info("prioritization_fees_unavailable", pool=pool, code=error.code)
            fees = []
        return min(max(percentile(fees, policy.percentile), policy.min_price), policy.max_price)

    async def unit_limit(self, plan: SwapPlan, default: int, blockhash: Blockhash) -> int:
        """The limit for `plan`: its simulated units plus the margin, else `default`."""
        if not self.policy.simulate:
            return default
        ttl = self.policy.estimate_ttl_s
        # The swap's accounts name the pool (and a DLMM swap's bin arrays: a price that moved
        # to other bins measures again); the amount counts by powers of two.
        route = (plan.venue, plan.swap.program_id, plan.swap.accounts,
                 plan.token_in.mint, plan.token_out.mint, plan.amount_in.bit_length())  # fmt: skip
        now = asyncio.get_running_loop().time()
        held = self._estimates.get(route) if ttl > 0 else None
        if held is not None and now < held[0]:
            units = held[1]
        else:
            draft = self._signer.draft(plan, ComputeBudget(SIMULATION_LIMIT, 0), blockhash)
            try:
                units = await self._chain.simulate_units(draft)
            except ExecutionError as error:
                reason = error.message
                log.info("simulation_fallback", venue=plan.venue, code=error.code, reason=reason)
                return default  # not remembered: the next order measures again
            if ttl > 0:
                if len(self._estimates) >= MAX_ESTIMATES:
                    self._estimates.clear()  # bounded: a rare full reset beats tracking ages
                self._estimates[route] = (now + ttl, units)
        return min(math.ceil(units * (1 + self.policy.margin)), MAX_COMPUTE_UNITS)

    async def budget(
        self, plan: SwapPlan, pool: str, default_limit: int, blockhash: Blockhash
    ) -> ComputeBudget:
        """The limit and price for `plan` (the two reads share nothing, so they run at once)."""
        limit, price = await asyncio.gather(
            self.unit_limit(plan, default_limit, blockhash), self.unit_price(pool)
        )
        return ComputeBudget(limit, price)
