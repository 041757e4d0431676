"""Routing: best net output wins, ties broken deterministically, slippage floor rounds down."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oee.domain.errors import InvalidOrder, NoRoute
from oee.domain.routing import (
    Quote,
    RoutingDecision,
    check_slippage_bps,
    choose_best,
    min_amount_out,
)


def quote(venue: str, out: int, impact: str = "1") -> Quote:
    return Quote(
        venue=venue,
        amount_in=1_000,
        amount_out=out,
        fee=3,
        fee_bps=25,
        price=Decimal(out) / 1000,
        price_impact_bps=Decimal(impact),
        pool=f"{venue}-pool",
    )


def test_best_net_output_wins_with_its_margin() -> None:
    decision = choose_best([quote("raydium", 1000), quote("meteora", 1030)], slippage_bps=50)
    assert decision.chosen.venue == "meteora"
    assert decision.margin_bps == Decimal("300.00")
    assert decision.min_amount_out == 1030 * 9950 // 10000
    assert [q.venue for q in decision.quotes] == ["raydium", "meteora"]


def test_tie_prefers_lower_price_impact_then_name() -> None:
    assert choose_best([quote("b", 10, "2"), quote("a", 10, "3")], 50).chosen.venue == "b"
    assert choose_best([quote("b", 10), quote("a", 10)], 50).chosen.venue == "a"


def test_no_usable_quote() -> None:
    with pytest.raises(NoRoute):
        choose_best([], 50)
    with pytest.raises(NoRoute):
        choose_best([quote("raydium", 0)], 50)


def test_decision_round_trips_exactly() -> None:
    decision = choose_best([quote("raydium", 999), quote("meteora", 1001)], 75)
    assert RoutingDecision.from_dict(decision.to_dict()) == decision


@pytest.mark.parametrize("bps", [0, -1, 5001])
def test_slippage_range(bps: int) -> None:
    with pytest.raises(InvalidOrder) as info:
        check_slippage_bps(bps)
    assert info.value.code == "SLIPPAGE_OUT_OF_RANGE"


@given(st.integers(0, 10**19), st.integers(1, 5000))
def test_floor_never_exceeds_quote_and_respects_tolerance(out: int, bps: int) -> None:
    floor = min_amount_out(out, bps)
    assert floor <= out
    assert (out - floor) * 10_000 <= out * bps + 10_000


@given(st.lists(st.integers(1, 10**12), min_size=1, max_size=5))
def test_chosen_is_never_worse_than_any_quote(outs: list[int]) -> None:
    quotes = [quote(f"v{i}", o) for i, o in enumerate(outs)]
    decision = choose_best(quotes, 50)
    assert all(decision.chosen.amount_out >= q.amount_out for q in quotes)
    assert decision.margin_bps >= 0
