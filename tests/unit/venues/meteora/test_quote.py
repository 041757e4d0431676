"""Quotes on the real fixture pairs, and a swap applied to their records."""

from __future__ import annotations

import dataclasses

import pytest

from oee.venues.meteora.layout import BIN_ARRAY, LB_PAIR
from oee.venues.meteora.math import (
    BinArrayMissing,
    InsufficientLiquidity,
    PairNotTradable,
    UnsupportedPair,
    price_from_id,
)
from oee.venues.meteora.quote import quote_exact_in, swap_exact_in, swap_for_y
from tests.unit.venues.meteora.fixture_data import LIMIT_ORDER, SOL_PUMP, TOKEN_2022

PUMP = SOL_PUMP.pair()
LONG_AFTER = PUMP.v_parameters.last_update_timestamp + 86_400  # volatility fully decayed


def test_sdk_test_swap_sol_for_pump_token() -> None:
    # The SDK's own swap test sells 100_000 lamports (Y) for the pump token (X) on this pair.
    # With volatility decayed the fee is the 1 % base fee, all in the active bin 15.
    quote = quote_exact_in(PUMP, SOL_PUMP.bin_arrays(), 100_000, swap_for_y=False, now=LONG_AFTER)
    assert quote.fee == 1_000
    assert quote.amount_out == (99_000 << 64) // price_from_id(15, 250) == 68_356
    assert (quote.start_active_id, quote.end_active_id, quote.bins_crossed) == (15, 15, 0)
    assert quote.bin_arrays == (0,)
    assert (quote.protocol_fee, quote.host_fee) == (0, 0)  # this pair's protocol share is 0


def test_fee_includes_the_variable_part_inside_the_filter_period() -> None:
    # 10 s after the last swap the reference stays at bin 16, one bin from the active 15:
    # accumulator 10_000, rate 1 % + 0.046875 %.
    soon = PUMP.v_parameters.last_update_timestamp + 10
    quote = quote_exact_in(PUMP, SOL_PUMP.bin_arrays(), 100_000, swap_for_y=False, now=soon)
    assert quote.fee == 1_047  # ceil(100_000 * 10_468_750 / 1e9)


def test_large_sale_walks_into_the_next_bin_array() -> None:
    quote = quote_exact_in(PUMP, SOL_PUMP.bin_arrays(), 10**9, swap_for_y=True, now=LONG_AFTER)
    assert quote.bin_arrays == (0, -1)
    assert quote.end_active_id < 0 < quote.start_active_id
    assert quote.bins_crossed == quote.start_active_id - quote.end_active_id
    # sold below the starting bin's price, and above the last bin's
    spot = price_from_id(quote.start_active_id, 250)
    last = price_from_id(quote.end_active_id, 250)
    net = quote.amount_in - quote.fee
    assert (net * last) >> 64 <= quote.amount_out <= (net * spot) >> 64


def test_reaching_an_array_not_supplied_is_reported() -> None:
    # The pair's bitmap marks array 1 too, whose account is not among the fixtures.
    with pytest.raises(BinArrayMissing) as caught:
        quote_exact_in(PUMP, SOL_PUMP.bin_arrays(), 10**12, swap_for_y=False, now=LONG_AFTER)
    assert caught.value.index == 1


def test_running_out_of_bins_is_insufficient_liquidity() -> None:
    pair = TOKEN_2022.pair()  # bitmap marks only arrays -1 and 0
    with pytest.raises(InsufficientLiquidity):
        quote_exact_in(pair, TOKEN_2022.bin_arrays(), 2**63, swap_for_y=True, now=LONG_AFTER)


def test_token_2022_pair_quotes_at_its_capped_fee() -> None:
    pair = TOKEN_2022.pair()
    quote = quote_exact_in(pair, TOKEN_2022.bin_arrays(), 1_000_000, swap_for_y=True, now=0)
    assert quote.fee == 100_000  # base fee at the 10 % cap
    assert quote.amount_out == 900_000  # bin 0 trades at exactly 1


def test_unmodelled_and_closed_pairs_are_refused() -> None:
    with pytest.raises(UnsupportedPair):
        quote_exact_in(LIMIT_ORDER.pair(), LIMIT_ORDER.bin_arrays(), 1_000, swap_for_y=True, now=0)
    disabled = dataclasses.replace(PUMP, status=1)
    with pytest.raises(PairNotTradable):
        quote_exact_in(disabled, SOL_PUMP.bin_arrays(), 1_000, swap_for_y=True, now=LONG_AFTER)
    waiting = dataclasses.replace(PUMP, pair_type=1, activation_type=1, activation_point=LONG_AFTER)
    with pytest.raises(PairNotTradable):
        quote_exact_in(waiting, SOL_PUMP.bin_arrays(), 1_000, swap_for_y=True, now=LONG_AFTER - 1)
    assert quote_exact_in(waiting, SOL_PUMP.bin_arrays(), 1_000, swap_for_y=True, now=LONG_AFTER)
    with pytest.raises(ValueError, match="positive"):
        quote_exact_in(PUMP, SOL_PUMP.bin_arrays(), 0, swap_for_y=True, now=LONG_AFTER)


def test_applied_swap_moves_exactly_the_quoted_amounts() -> None:
    arrays = {array.index: array for array in SOL_PUMP.bin_arrays()}
    outcome = swap_exact_in(PUMP, arrays.values(), 10**9, swap_for_y=True, now=LONG_AFTER)
    quote = outcome.quote
    assert quote == quote_exact_in(PUMP, arrays.values(), 10**9, swap_for_y=True, now=LONG_AFTER)
    before = [b for i in quote.bin_arrays for b in arrays[i].bins]
    after = [b for i in quote.bin_arrays for b in outcome.bin_arrays[i].bins]
    assert sum(b.amount_x for b in after) - sum(b.amount_x for b in before) == 10**9 - quote.fee
    assert sum(b.amount_y for b in before) - sum(b.amount_y for b in after) == quote.amount_out
    assert outcome.pair.active_id == quote.end_active_id
    assert outcome.pair.v_parameters.last_update_timestamp == LONG_AFTER
    assert outcome.pair.v_parameters.index_reference == PUMP.active_id
    assert outcome.pair.v_parameters.volatility_accumulator == 150_000  # 18 bins, capped
    # fees accrued to the liquidity of the bins used; the records still encode
    assert any(b.fee_amount_x_per_token_stored for b in after)
    assert LB_PAIR.decode(LB_PAIR.encode(outcome.pair)) == outcome.pair
    for array in outcome.bin_arrays.values():
        assert BIN_ARRAY.decode(BIN_ARRAY.encode(array)) == array
    # the same sale right after pays less: the price moved and the volatility fee rose
    again = quote_exact_in(
        outcome.pair, [*outcome.bin_arrays.values()], 10**8, swap_for_y=True, now=LONG_AFTER
    )
    first = quote_exact_in(PUMP, arrays.values(), 10**8, swap_for_y=True, now=LONG_AFTER)
    assert again.amount_out < first.amount_out
    assert again.fee > first.fee


def test_direction_follows_the_output_mint() -> None:
    assert swap_for_y(PUMP, output_mint=SOL_PUMP.token_y_mint) is True
    assert swap_for_y(PUMP, output_mint=SOL_PUMP.token_x_mint) is False
    with pytest.raises(ValueError, match="not a mint"):
        swap_for_y(PUMP, output_mint=SOL_PUMP.oracle)
