"""Properties of the simulated pools' quotes that routing relies on, on both venues' pools.

The venue packages' own math has its properties tested under `tests/unit/venues/`; these are
what the simulator adds on top: the price impact it reports, measured against the best price
the pool offers the swap, grows with the size of the swap.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oee.domain.tokens import resolve_token
from oee.settings import SimSettings
from oee.sim import build_sim
from tests.support.fakes import FakeClock

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")
QUANTUM = Decimal("0.01")  # impact is reported to 0.01 bps: rounding may reorder closer sizes
# The clock never moves, so quoting leaves the world as it was: one world serves every example.
WORLD, _ = build_sim(SimSettings(latency_scale=0.0), now=FakeClock())
VENUES = ("raydium", "meteora")
# From 0.1 SOL to 1,000 SOL (pools hold about 20,000): below that the floor rounding of tiny
# outputs, not the curve, sets the executed price.
sizes = st.integers(min_value=10**8, max_value=1_000 * 10**9)


@settings(max_examples=60, deadline=None)
@given(venue=st.sampled_from(VENUES), a=sizes, b=sizes, selling_sol=st.booleans())
def test_a_larger_swap_never_reports_less_impact_or_less_output(
    venue: str, a: int, b: int, selling_sol: bool
) -> None:
    token_in, token_out = (SOL, USDC) if selling_sol else (USDC, SOL)
    # Paying USDC: about the same value, at $150 a SOL (0.15 USDC base units a lamport).
    small, large = sorted(x if selling_sol else x * 3 // 20 for x in (a, b))
    first = WORLD.quote(venue, token_in, token_out, small)
    second = WORLD.quote(venue, token_in, token_out, large)
    assert second.amount_out >= first.amount_out
    assert second.price_impact_bps >= first.price_impact_bps - QUANTUM
    assert first.price_impact_bps >= 0


@pytest.mark.parametrize("venue", VENUES)
def test_impact_grows_by_orders_of_magnitude_from_one_sol_to_a_thousand(venue: str) -> None:
    impacts = [
        WORLD.quote(venue, SOL, USDC, whole * 10**9).price_impact_bps
        for whole in (1, 10, 100, 1_000)
    ]
    assert impacts == sorted(impacts)
    assert impacts[-1] > 100 * max(impacts[0], QUANTUM)
