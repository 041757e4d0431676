"""Properties of the swap walk over generated pools built on a real pair's record."""

from __future__ import annotations

import dataclasses

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from oee.venues.meteora.layout import Bin, BinArray, LbPair
from oee.venues.meteora.math import (
    FEE_PRECISION,
    MAX_FEE_RATE,
    ONE,
    InsufficientLiquidity,
    base_fee_rate,
)
from oee.venues.meteora.quote import quote_exact_in, swap_exact_in
from tests.unit.venues.meteora.fixture_data import SOL_PUMP

TEMPLATE = SOL_PUMP.pair()
ARRAYS = (-1, 0, 1)  # 210 bins, ids -70..139
NOW = 2_000_000_000


@st.composite
def pools(draw: st.DrawFn) -> tuple[LbPair, list[BinArray]]:
    """A pair with liquidity in arrays -1..1: Y below the active bin, X above, both in it."""
    active = draw(st.integers(-70, 139))
    bin_step = draw(st.sampled_from([1, 10, 25, 100, 250]))
    base_factor = draw(st.integers(1, 20_000))
    # Bins empty, thin or deep, so swaps of up to 1e13 often cross into a neighbouring array.
    depth = st.one_of(st.just(0), st.integers(1, 10**6), st.integers(10**6, 10**12))
    amounts = draw(st.lists(depth, min_size=420, max_size=420))
    parameters = dataclasses.replace(
        TEMPLATE.parameters,
        base_factor=base_factor,
        protocol_share=draw(st.integers(0, 2_500)),
        variable_fee_control=draw(st.integers(0, 100_000)),
    )
    volatility = dataclasses.replace(
        TEMPLATE.v_parameters,
        volatility_accumulator=draw(st.integers(0, 150_000)),
        index_reference=active,
        last_update_timestamp=NOW - draw(st.integers(0, 2_000)),
    )
    bitmap = sum(1 << (index + 512) for index in ARRAYS)
    words = tuple((bitmap >> (64 * i)) & (2**64 - 1) for i in range(16))
    pair = dataclasses.replace(
        TEMPLATE,
        parameters=parameters,
        v_parameters=volatility,
        active_id=active,
        bin_step=bin_step,
        bin_array_bitmap=words,
    )
    arrays = []
    for index in ARRAYS:
        bins = []
        for position in range(70):
            bin_id = index * 70 + position
            slot = (bin_id + 70) * 2
            x = amounts[slot] if bin_id >= active else 0
            y = amounts[slot + 1] if bin_id <= active else 0
            bins.append(Bin(x, y, 0, ONE * (x + y + 1), (0, 0), 0, 0, 0, 0))
        arrays.append(dataclasses.replace(SOL_PUMP.bin_arrays()[0], index=index, bins=tuple(bins)))
    return pair, arrays


def _output_liquidity(arrays: list[BinArray], swap_for_y: bool) -> int:
    return sum(b.amount_y if swap_for_y else b.amount_x for a in arrays for b in a.bins)


AMOUNT = st.one_of(st.integers(1, 10**9), st.integers(10**9, 10**14))


@settings(max_examples=60, deadline=None)
@given(pools(), AMOUNT, st.booleans())
def test_output_never_exceeds_the_output_side(
    pool: tuple[LbPair, list[BinArray]], amount_in: int, swap_for_y: bool
) -> None:
    pair, arrays = pool
    try:
        quote = quote_exact_in(pair, arrays, amount_in, swap_for_y=swap_for_y, now=NOW)
    except InsufficientLiquidity:
        return
    assert quote.amount_out <= _output_liquidity(arrays, swap_for_y)
    assert set(quote.bin_arrays) <= set(ARRAYS)


@settings(max_examples=60, deadline=None)
@given(pools(), AMOUNT, AMOUNT, st.booleans())
def test_output_is_monotone_in_the_input(
    pool: tuple[LbPair, list[BinArray]], first: int, second: int, swap_for_y: bool
) -> None:
    pair, arrays = pool
    small, large = sorted((first, second))
    try:
        larger = quote_exact_in(pair, arrays, large, swap_for_y=swap_for_y, now=NOW)
    except InsufficientLiquidity:
        return
    smaller = quote_exact_in(pair, arrays, small, swap_for_y=swap_for_y, now=NOW)
    assert smaller.amount_out <= larger.amount_out


@settings(max_examples=60, deadline=None)
@given(pools(), AMOUNT, st.booleans())
def test_fee_is_at_least_the_base_rate_rounded_up(
    pool: tuple[LbPair, list[BinArray]], amount_in: int, swap_for_y: bool
) -> None:
    pair, arrays = pool
    try:
        quote = quote_exact_in(pair, arrays, amount_in, swap_for_y=swap_for_y, now=NOW)
    except InsufficientLiquidity:
        return
    rate = min(base_fee_rate(pair), MAX_FEE_RATE)
    assert quote.fee >= 1  # every bin's fee rounds up, so any swap pays something
    assert quote.fee * FEE_PRECISION >= amount_in * rate
    assert 0 <= quote.protocol_fee + quote.host_fee <= quote.fee


@settings(max_examples=60, deadline=None)
@given(pools(), AMOUNT, st.booleans())
def test_swapping_back_never_returns_more_than_the_start(
    pool: tuple[LbPair, list[BinArray]], amount_in: int, swap_for_y: bool
) -> None:
    pair, arrays = pool
    try:
        there = swap_exact_in(pair, arrays, amount_in, swap_for_y=swap_for_y, now=NOW)
    except InsufficientLiquidity:
        return
    assume(there.quote.amount_out > 0)
    after = {a.index: a for a in arrays} | there.bin_arrays
    back = quote_exact_in(
        there.pair, after.values(), there.quote.amount_out, swap_for_y=not swap_for_y, now=NOW
    )
    assert back.amount_out <= amount_in


@settings(max_examples=40, deadline=None)
@given(pools(), AMOUNT, st.booleans())
def test_applied_swap_conserves_tokens(
    pool: tuple[LbPair, list[BinArray]], amount_in: int, swap_for_y: bool
) -> None:
    pair, arrays = pool
    try:
        outcome = swap_exact_in(pair, arrays, amount_in, swap_for_y=swap_for_y, now=NOW)
    except InsufficientLiquidity:
        return
    after = {a.index: a for a in arrays} | outcome.bin_arrays
    in_side, out_side = ("amount_x", "amount_y") if swap_for_y else ("amount_y", "amount_x")

    def total(side: str, source: list[BinArray]) -> int:
        return sum(getattr(b, side) for a in source for b in a.bins)

    quote = outcome.quote
    assert total(in_side, list(after.values())) - total(in_side, arrays) == amount_in - quote.fee
    assert total(out_side, arrays) - total(out_side, list(after.values())) == quote.amount_out
