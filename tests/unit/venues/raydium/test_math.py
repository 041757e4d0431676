"""The swap math against the program's own output, and its properties.

The golden cases are `ray_log`s of real mainnet swaps (quoted in public repositories' tests and
transaction dumps): each records the input, the direction, the reserves the program priced on
and the output it paid, so the math must reproduce `out_amount` from the rest.
"""

from __future__ import annotations

import base64
import dataclasses

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from oee.venues.raydium.errors import AmmErrorCode, AmmProgramError, ZeroLiquidityError
from oee.venues.raydium.layout import DEFAULT_FEES, SWAP_BASE_IN_LOG, Fees
from oee.venues.raydium.math import (
    Reserves,
    SwapDirection,
    base_in_amount_out,
    ceil_div,
    pool_reserves,
    price_impact_bps,
    quote_swap_base_in,
    quote_swap_base_out,
    swap_direction,
    swap_fee,
)
from tests.unit.venues.raydium.factories import COIN_MINT, PC_MINT, pool

REAL_SWAP_LOGS = [
    "A0TchwEAAAAA/FrYAAAAAAACAAAAAAAAAAtLXh6kCAAA6aUIoTEAAAAC2K8UNwAAAFzEsQEAAAAA",
    "A4CEHgAAAAAA1/w9hgAAAAACAAAAAAAAAH5JDgEAAAAAt8oa7RoAAABV39zIR4QAAO7ji5UAAAAA",
    "A44pqEoIAAAAAAAAAAAAAAACAAAAAAAAAI4pqEoIAAAAx3C3ffesAAD5kEgSSwAAADLOlgMAAAAA",
    # This one then failed: "Error: exceeds desired slippage limit" (the log comes first).
    "A8vS5+1GCAMCQA0DAAAAAAACAAAAAAAAAHmdZPvDl4AN6YWnMwBbGS8IAA4AAAAAAHiSAAAAAAAA",
    "AyeWsCt6AAAAAAAAAAAAAAABAAAAAAAAACeWsCt6AAAAAeLMxvQAAABXZtbEwzsAAFf0LO8BAAAA",
    "A+0tMAMgAAAAKWGzAgAAAAABAAAAAAAAAO0tMAMgAAAAmbRGwxIAAABuYLyWuL0AAJLrJwMAAAAA",
]

reserves = st.integers(min_value=1, max_value=2**64 - 1)
amounts = st.integers(min_value=0, max_value=2**64 - 1)
directions = st.sampled_from(SwapDirection)


@st.composite
def fee_schedules(draw: st.DrawFn) -> Fees:
    denominator = draw(st.integers(min_value=1, max_value=1_000_000))
    numerator = draw(st.integers(min_value=0, max_value=denominator - 1))
    return dataclasses.replace(
        DEFAULT_FEES, swap_fee_numerator=numerator, swap_fee_denominator=denominator
    )


fee_strategy = st.one_of(st.just(DEFAULT_FEES), fee_schedules())


@pytest.mark.parametrize("payload", REAL_SWAP_LOGS)
def test_real_swaps_are_reproduced_to_the_unit(payload: str) -> None:
    log = SWAP_BASE_IN_LOG.decode(base64.b64decode(payload))
    pool_state = Reserves(coin=log.pool_coin, pc=log.pool_pc)

    quote = quote_swap_base_in(
        DEFAULT_FEES, pool_state, SwapDirection(log.direction), log.amount_in
    )

    assert quote.amount_out == log.out_amount


def test_ceil_div_is_a_ceiling_from_one_and_rounds_half_up_below() -> None:
    assert ceil_div(10_000, 10_000) == 1
    assert ceil_div(10_001, 10_000) == 2
    assert ceil_div(20_000, 10_000) == 2
    assert ceil_div(5_000, 10_000) == 1  # half: up
    assert ceil_div(4_999, 10_000) == 0  # below half: down, not up
    assert ceil_div(0, 10_000) == 0
    # so at 25/10000 an input under 200 pays no fee
    assert [swap_fee(a, DEFAULT_FEES) for a in (199, 200, 400, 401, 1_000_000)] == [
        0,
        1,
        1,
        2,
        2500,
    ]


def test_reserves_exclude_the_pnl_owed_to_the_protocol() -> None:
    amm = pool(need_take_pnl_coin=7, need_take_pnl_pc=11)
    assert pool_reserves(amm, 1_000, 2_000) == Reserves(coin=993, pc=1_989)
    assert pool_reserves(amm, 1_000, 2_000, open_orders_coin=5, open_orders_pc=6) == Reserves(
        coin=998, pc=1_995
    )
    with pytest.raises(AmmProgramError) as raised:
        pool_reserves(amm, 6, 2_000)
    assert raised.value.code is AmmErrorCode.CHECKED_SUB_OVERFLOW


def test_direction_comes_from_the_mints() -> None:
    amm = pool()
    assert swap_direction(amm, COIN_MINT, PC_MINT) is SwapDirection.COIN2PC
    assert swap_direction(amm, PC_MINT, COIN_MINT) is SwapDirection.PC2COIN
    with pytest.raises(AmmProgramError) as raised:
        swap_direction(amm, COIN_MINT, COIN_MINT)
    assert raised.value.code is AmmErrorCode.INVALID_USER_TOKEN
    assert (SwapDirection.PC2COIN.value, SwapDirection.COIN2PC.value) == (1, 2)


@pytest.mark.parametrize("empty", [Reserves(0, 10), Reserves(10, 0), Reserves(0, 0)])
def test_an_empty_side_cannot_be_quoted(empty: Reserves) -> None:
    with pytest.raises(ZeroLiquidityError):
        quote_swap_base_in(DEFAULT_FEES, empty, SwapDirection.COIN2PC, 100)
    with pytest.raises(ZeroLiquidityError):
        quote_swap_base_out(DEFAULT_FEES, empty, SwapDirection.COIN2PC, 1)


def test_price_impact_counts_the_fee_and_the_curve() -> None:
    pool_state = Reserves(coin=10**12, pc=10**12)
    tiny = quote_swap_base_in(DEFAULT_FEES, pool_state, SwapDirection.COIN2PC, 10**6)
    assert tiny.price_impact_bps == 26  # 25 bps fee, rounded up with the sliver of curve
    big = quote_swap_base_in(DEFAULT_FEES, pool_state, SwapDirection.COIN2PC, 10**11)
    # out = 1e12 * 0.9975e11 / 1.09975e12: ~9.07% short of spot
    assert big.price_impact_bps == 930
    assert price_impact_bps(0, 0, 1, 1) == 0


def test_base_out_grosses_up_by_the_fee() -> None:
    pool_state = Reserves(coin=10**12, pc=2 * 10**12)
    quote = quote_swap_base_out(DEFAULT_FEES, pool_state, SwapDirection.PC2COIN, 10**9)
    before_fee = ceil_div(2 * 10**12 * 10**9, 10**12 - 10**9)
    assert quote.amount_in == ceil_div(before_fee * 10_000, 9_975)
    assert quote.fee == quote.amount_in - before_fee
    with pytest.raises(AmmProgramError):
        quote_swap_base_out(DEFAULT_FEES, pool_state, SwapDirection.PC2COIN, 10**12)


@given(fees=fee_strategy, amount_in=amounts)
def test_the_fee_is_the_programs_rounding(fees: Fees, amount_in: int) -> None:
    exact = amount_in * fees.swap_fee_numerator
    fee = swap_fee(amount_in, fees)
    if exact >= fees.swap_fee_denominator:  # a ceiling once the fee is a unit or more
        assert fee == -(-exact // fees.swap_fee_denominator)
        assert fee * fees.swap_fee_denominator >= exact
    else:
        assert fee == (1 if 2 * exact >= fees.swap_fee_denominator else 0)
    assert fee <= amount_in


@given(fees=fee_strategy, coin=reserves, pc=reserves, direction=directions, amount_in=amounts)
def test_output_stays_below_the_output_reserve(
    fees: Fees, coin: int, pc: int, direction: SwapDirection, amount_in: int
) -> None:
    quote = quote_swap_base_in(fees, Reserves(coin, pc), direction, amount_in)
    assert 0 <= quote.amount_out < quote.reserve_out


@given(fees=fee_strategy, coin=reserves, pc=reserves, direction=directions, a=amounts, b=amounts)
def test_more_input_never_gives_less_output(
    fees: Fees, coin: int, pc: int, direction: SwapDirection, a: int, b: int
) -> None:
    small, large = sorted((a, b))
    pool_state = Reserves(coin, pc)
    out_small = quote_swap_base_in(fees, pool_state, direction, small).amount_out
    out_large = quote_swap_base_in(fees, pool_state, direction, large).amount_out
    assert out_large >= out_small


@given(fees=fee_strategy, coin=reserves, pc=reserves, direction=directions, amount_in=amounts)
def test_the_product_never_decreases(
    fees: Fees, coin: int, pc: int, direction: SwapDirection, amount_in: int
) -> None:
    quote = quote_swap_base_in(fees, Reserves(coin, pc), direction, amount_in)
    # The pool keeps the whole input, fee included, and pays the floored output.
    after = (quote.reserve_in + amount_in) * (quote.reserve_out - quote.amount_out)
    assert after >= quote.reserve_in * quote.reserve_out


@given(fees=fee_strategy, coin=reserves, pc=reserves, direction=directions, amount_in=amounts)
def test_a_round_trip_never_gains(
    fees: Fees, coin: int, pc: int, direction: SwapDirection, amount_in: int
) -> None:
    there = quote_swap_base_in(fees, Reserves(coin, pc), direction, amount_in)
    moved = (
        Reserves(coin + amount_in, pc - there.amount_out)
        if direction is SwapDirection.COIN2PC
        else Reserves(coin - there.amount_out, pc + amount_in)
    )
    back_direction = (
        SwapDirection.PC2COIN if direction is SwapDirection.COIN2PC else SwapDirection.COIN2PC
    )
    back = base_in_amount_out(
        there.amount_out - swap_fee(there.amount_out, fees), *moved.oriented(back_direction)
    )
    assert back <= amount_in


@given(fees=fee_strategy, coin=reserves, pc=reserves, direction=directions, data=st.data())
def test_base_out_never_charges_below_the_exact_price(
    fees: Fees, coin: int, pc: int, direction: SwapDirection, data: st.DataObject
) -> None:
    reserve_in, reserve_out = Reserves(coin, pc).oriented(direction)
    assume(reserve_out > 1)
    amount_out = data.draw(st.integers(min_value=1, max_value=reserve_out - 1))
    # Outside `ceil_div`'s half-up corner (a quotient under one), the charge is a ceiling.
    assume(reserve_in * amount_out >= reserve_out - amount_out)
    quote = quote_swap_base_out(fees, Reserves(coin, pc), direction, amount_out)
    denominator, numerator = fees.swap_fee_denominator, fees.swap_fee_numerator
    paid_net = quote.amount_in * (denominator - numerator) * (reserve_out - amount_out)
    assert paid_net >= reserve_in * amount_out * denominator
