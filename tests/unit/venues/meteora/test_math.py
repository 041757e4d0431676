"""The program's integer primitives: prices, fee rates, rounding, volatility and one bin's swap."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oee.venues.meteora.layout import Bin
from oee.venues.meteora.math import (
    FEE_PRECISION,
    MAX_FEE_RATE,
    ONE,
    MathOverflow,
    accumulate_volatility,
    amount_out,
    base_fee_rate,
    fee_to_add,
    fee_within,
    max_amount_in,
    pow_q64,
    price_from_id,
    swap_in_bin,
    total_fee_rate,
    update_references,
    variable_fee_rate,
)
from tests.unit.venues.meteora.fixture_data import ALL_PAIRS, SOL_PUMP, TOKEN_2022

RATES = st.integers(0, MAX_FEE_RATE)
AMOUNTS = st.integers(0, 2**64 - 1)


def _bin(amount_x: int = 0, amount_y: int = 0, price: int = 0) -> Bin:
    return Bin(amount_x, amount_y, price, ONE * 1_000, (0, 0), 0, 0, 0, 0)


def test_every_stored_fixture_price_is_reproduced_exactly() -> None:
    checked = 0
    for fixture in ALL_PAIRS:
        step = fixture.pair().bin_step
        for array in fixture.bin_arrays():
            for position, bin_ in enumerate(array.bins):
                if bin_.price:
                    assert price_from_id(array.index * 70 + position, step) == bin_.price
                    checked += 1
    assert checked > 200


def test_price_points() -> None:
    assert price_from_id(0, 250) == ONE
    assert price_from_id(1, 10) == 18_465_190_817_783_261_167
    assert price_from_id(-17, 250) == 12_123_109_024_361_801_605
    assert price_from_id(69, 250) == 101_359_960_942_596_611_675
    with pytest.raises(MathOverflow):
        pow_q64(ONE + 1, 2**19)


def test_fee_rates_of_the_fixture_pairs() -> None:
    pump = SOL_PUMP.pair()  # base factor 4000, bin step 250, no power factor
    assert base_fee_rate(pump) == 4_000 * 250 * 10 == 10_000_000  # 1 %
    # ceil(7500 * (10_000 * 250)^2 / 1e11) = 468_750
    assert variable_fee_rate(pump, 10_000) == 468_750
    assert total_fee_rate(pump, 10_000) == 10_468_750
    capped = TOKEN_2022.pair()  # base factor 10_000, bin step 10, power factor 2: 10 %
    assert base_fee_rate(capped) == 10_000 * 10 * 10 * 100 == MAX_FEE_RATE
    assert total_fee_rate(capped, 350_000) == MAX_FEE_RATE


def test_fee_rounding_points() -> None:
    assert fee_within(100_000, 10_000_000) == 1_000
    assert fee_within(1, 10_000_000) == 1  # any positive fee rounds up to a unit
    assert fee_within(0, 10_000_000) == 0
    assert fee_to_add(99_000, 10_000_000) == 1_000
    assert fee_to_add(1, 1) == 1


@given(AMOUNTS, RATES)
def test_fee_within_is_the_ceiling(amount: int, rate: int) -> None:
    fee = fee_within(amount, rate)
    assert fee * FEE_PRECISION >= amount * rate > (fee - 1) * FEE_PRECISION


@given(st.integers(0, 2**60), RATES)
def test_fee_to_add_is_the_smallest_fee_that_is_rate_of_the_total(amount: int, rate: int) -> None:
    fee = fee_to_add(amount, rate)
    assert fee * (FEE_PRECISION - rate) >= amount * rate
    assert fee == 0 or (fee - 1) * (FEE_PRECISION - rate) < amount * rate


def test_references_follow_filter_and_decay_periods() -> None:
    pump = SOL_PUMP.pair()  # filter 300 s, decay 1200 s, reduction 5000 bps
    params, volatility = pump.parameters, pump.v_parameters
    start = volatility.last_update_timestamp
    assert (volatility.volatility_accumulator, volatility.index_reference) == (10_000, 16)
    # within the filter period nothing moves
    assert update_references(volatility, params, 15, start + 299) == volatility
    # in the decay window: reference bin becomes the active one, volatility halves
    decayed = update_references(volatility, params, 15, start + 300)
    assert (decayed.index_reference, decayed.volatility_reference) == (15, 5_000)
    assert decayed.last_update_timestamp == start
    # after the decay period it is forgotten
    forgotten = update_references(volatility, params, 15, start + 1_200)
    assert (forgotten.index_reference, forgotten.volatility_reference) == (15, 0)


def test_accumulator_counts_bins_from_the_reference_and_caps() -> None:
    pump = SOL_PUMP.pair()  # max volatility accumulator 150_000
    volatility = dataclasses.replace(pump.v_parameters, volatility_reference=5_000)
    moved = accumulate_volatility(volatility, pump.parameters, 13)  # 3 bins from 16
    assert moved.volatility_accumulator == 5_000 + 3 * 10_000
    far = accumulate_volatility(volatility, pump.parameters, 16 - 100)
    assert far.volatility_accumulator == 150_000


def test_bin_amounts_round_in_the_pools_favour() -> None:
    price = price_from_id(3, 100)
    assert amount_out(1_000, price, swap_for_y=True) == 1_000 * price >> 64
    assert amount_out(1_000, price, swap_for_y=False) == (1_000 << 64) // price
    full = _bin(amount_x=1_000, amount_y=1_000)
    assert max_amount_in(full, price, swap_for_y=True) == -(-(1_000 << 64) // price)
    assert max_amount_in(full, price, swap_for_y=False) == -(-(1_000 * price) >> 64)


def test_swap_in_bin_partial_and_emptying() -> None:
    price, rate = ONE * 2, 10_000_000  # 2 Y per X, 1 % fee
    bin_ = _bin(amount_y=1_000_000, price=price)
    partial = swap_in_bin(bin_, price, 10_000, swap_for_y=True, fee_rate=rate, protocol_share=2_000)
    assert partial.amount_in_with_fee == 10_000
    assert partial.fee == 100
    assert partial.amount_out == (10_000 - 100) * 2
    assert (partial.protocol_fee, partial.host_fee) == (20, 0)
    emptying = swap_in_bin(
        bin_, price, 10**9, swap_for_y=True, fee_rate=rate, protocol_share=2_000, with_host_fee=True
    )
    assert emptying.amount_out == 1_000_000
    assert emptying.amount_in_with_fee == 500_000 + fee_to_add(500_000, rate)
    assert emptying.host_fee == (emptying.fee * 2_000 // 10_000) * 2_000 // 10_000
