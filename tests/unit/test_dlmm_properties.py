"""Properties of the domain's Meteora DLMM bin math (the simulated pools are in
`test_sim_meteora_pool.py`)."""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import assume, given
from hypothesis import strategies as st

from oee.domain import dlmm
from oee.domain.dlmm import DlmmState, FeeParameters, Volatility

ONE = 1 << dlmm.SCALE_OFFSET
NOW = 10_000
amounts = st.integers(min_value=1, max_value=10**15)
directions = st.booleans()
shares = st.fractions(min_value=0, max_value=1)


@st.composite
def states(draw: st.DrawFn, *, full: bool = False) -> DlmmState:
    """A pair of up to 12 bins a side; `full` puts liquidity in every bin."""
    bin_step = draw(st.sampled_from([1, 5, 10, 20, 25, 100]))
    reserve = st.integers(min_value=1 if full else 0, max_value=10**15)
    below, above = draw(st.integers(0, 12)), draw(st.integers(0, 12))
    fees = FeeParameters(
        base_factor=draw(st.integers(1_000, 20_000)),
        variable_fee_control=draw(st.integers(0, 120_000)),
    )
    # Prices from 1e-9 to 1e9 Y base units per X base unit: wider than any registry pair.
    reach = int(math.log(10**9) / math.log(1 + bin_step / dlmm.BASIS_POINT_MAX))
    active_id = draw(st.integers(-reach, reach))
    accumulator = draw(st.integers(0, fees.max_volatility_accumulator))
    volatility = Volatility(
        accumulator=accumulator,
        reference=draw(st.integers(0, accumulator)),
        index_reference=active_id + draw(st.integers(-20, 20)),
        last_update=NOW - draw(st.sampled_from([0, 5, 100, 1_000])),
    )
    return dlmm.make_state(
        bin_step=bin_step,
        fees=fees,
        lower_id=active_id - below,
        amounts_x=[0] * below + [draw(reserve) for _ in range(above + 1)],
        amounts_y=[draw(reserve) for _ in range(below + 1)] + [0] * above,
        active_id=active_id,
        now=NOW,
        volatility=volatility,
    )


def out_side(state: DlmmState, swap_for_y: bool) -> tuple[int, ...]:
    return state.amounts_y if swap_for_y else state.amounts_x


def drain_input(state: DlmmState, swap_for_y: bool) -> int:
    """Input (fees excluded) that buys every bin's output at the bin's price."""
    if swap_for_y:
        return sum(-(-(y * ONE) // p) for y, p in zip(state.amounts_y, state.prices, strict=True))
    return sum(-(-x * p // ONE) for x, p in zip(state.amounts_x, state.prices, strict=True))


def bin_values(state: DlmmState) -> list[int]:
    """Each bin's liquidity P * x + y (DLMM's constant sum), scaled by 2**64 to stay exact."""
    return [
        x * p + y * ONE
        for x, y, p in zip(state.amounts_x, state.amounts_y, state.prices, strict=True)
    ]


@given(state=states(), amount_in=amounts, swap_for_y=directions)
def test_output_never_exceeds_the_opposite_side(
    state: DlmmState, amount_in: int, swap_for_y: bool
) -> None:
    try:
        quote = dlmm.quote_swap(state, amount_in, swap_for_y=swap_for_y, now=NOW)
    except dlmm.InsufficientLiquidity:
        assert amount_in > drain_input(state, swap_for_y)
        return
    assert 0 <= quote.amount_out <= sum(out_side(state, swap_for_y))
    assert quote.price_impact_bps >= 0


@given(state=states(), a=amounts, b=amounts, swap_for_y=directions)
def test_more_input_never_gives_less_output(
    state: DlmmState, a: int, b: int, swap_for_y: bool
) -> None:
    small, large = sorted((a, b))
    try:
        out_large = dlmm.quote_swap(state, large, swap_for_y=swap_for_y, now=NOW).amount_out
    except dlmm.InsufficientLiquidity:
        return
    out_small = dlmm.quote_swap(state, small, swap_for_y=swap_for_y, now=NOW).amount_out
    assert out_large >= out_small


@given(state=states(), amount_in=amounts, swap_for_y=directions)
def test_the_fee_is_at_least_the_base_fee_on_the_whole_input(
    state: DlmmState, amount_in: int, swap_for_y: bool
) -> None:
    try:
        quote = dlmm.quote_swap(state, amount_in, swap_for_y=swap_for_y, now=NOW)
    except dlmm.InsufficientLiquidity:
        return
    base_fee = -(-amount_in * dlmm.base_fee_rate(state) // dlmm.FEE_PRECISION)
    assert quote.fee >= base_fee >= 0


@given(state=states(), swap_for_y=directions, share=shares)
def test_a_swap_inside_the_active_bin_pays_the_bin_price_less_only_the_fee(
    state: DlmmState, swap_for_y: bool, share: Fraction
) -> None:
    index, price = state.active_id - state.lower_id, state.prices[state.active_id - state.lower_id]
    available = out_side(state, swap_for_y)[index]
    capacity = available * ONE // price if swap_for_y else available * price // ONE
    amount_in = int(capacity * share)  # fee included, so it never drains the bin
    assume(amount_in > 0)
    quote, after = dlmm.apply_swap(state, amount_in, swap_for_y=swap_for_y, now=NOW)
    net = amount_in - quote.fee
    assert (quote.bins_crossed, quote.active_id) == (0, state.active_id)
    assert quote.amount_out == (net * price // ONE if swap_for_y else net * ONE // price)
    if quote.amount_out >= 10**7:  # then rounding the output down costs under 0.005 bps
        assert quote.price_impact_bps == 0
    # Valued at the (unchanged) active price, the pool gained the fee and the rounding.
    reserve_x, reserve_y = state.reserves()
    new_x, new_y = after.reserves()
    assert new_x * price + new_y * ONE >= reserve_x * price + reserve_y * ONE


@given(state=states(full=True), swap_for_y=directions, share=shares)
def test_a_large_swap_crosses_bins_in_its_direction(
    state: DlmmState, swap_for_y: bool, share: Fraction
) -> None:
    amount_in = int(drain_input(state, swap_for_y) * share)
    assume(amount_in > 0)
    try:
        quote = dlmm.quote_swap(state, amount_in, swap_for_y=swap_for_y, now=NOW)
    except dlmm.InsufficientLiquidity:
        return  # the fees pushed a near-total drain over the edge
    moved = quote.active_id - state.active_id
    assert abs(moved) == quote.bins_crossed
    assert (moved <= 0) if swap_for_y else (moved >= 0)  # selling X lowers the price
    if quote.amount_out > out_side(state, swap_for_y)[state.active_id - state.lower_id]:
        assert quote.bins_crossed >= 1


@given(state=states(full=True), amount_in=amounts, swap_for_y=directions)
def test_a_round_trip_never_returns_more_than_it_put_in(
    state: DlmmState, amount_in: int, swap_for_y: bool
) -> None:
    try:
        there, after = dlmm.apply_swap(state, amount_in, swap_for_y=swap_for_y, now=NOW)
    except dlmm.InsufficientLiquidity:
        return
    assume(there.amount_out > 0)
    back = dlmm.quote_swap(after, there.amount_out, swap_for_y=not swap_for_y, now=NOW)
    assert back.amount_out <= amount_in


@given(state=states(), amount_in=amounts, swap_for_y=directions)
def test_no_bin_ever_loses_liquidity_and_reserves_move_by_the_amounts(
    state: DlmmState, amount_in: int, swap_for_y: bool
) -> None:
    try:
        quote, after = dlmm.apply_swap(state, amount_in, swap_for_y=swap_for_y, now=NOW)
    except dlmm.InsufficientLiquidity:
        return
    assert quote == dlmm.quote_swap(state, amount_in, swap_for_y=swap_for_y, now=NOW)
    # Every bin trades at its own price, fee on top: P * x + y never falls in any bin.
    assert all(new >= old for new, old in zip(bin_values(after), bin_values(state), strict=True))
    (x, y), (new_x, new_y) = state.reserves(), after.reserves()
    if swap_for_y:
        assert (new_x, new_y) == (x + amount_in, y - quote.amount_out)
    else:
        assert (new_x, new_y) == (x - quote.amount_out, y + amount_in)


@given(state=states(), to=st.integers(-12, 12))
def test_arbitrage_moves_the_active_bin_keeping_value_at_bin_prices(
    state: DlmmState, to: int
) -> None:
    to_id = min(max(state.active_id + to, state.lower_id), state.upper_id)
    after = dlmm.move_active(state, to_id, now=NOW)
    assert after.active_id == to_id
    before_values, after_values = bin_values(state), bin_values(after)
    for old, new, price in zip(before_values, after_values, state.prices, strict=True):
        assert old - max(price, ONE) < new <= old  # only the conversion's rounding is lost
    # The volatility accumulator counts the bins from its reference bin, like a swap's.
    volatility = after.volatility
    crossed = abs(volatility.index_reference - to_id) * dlmm.BASIS_POINT_MAX
    assert volatility.accumulator == min(
        volatility.reference + crossed, state.fees.max_volatility_accumulator
    )


@given(state=states(), swap_for_y=directions, share=shares)
def test_a_swap_that_fills_in_one_bin_reports_no_impact_even_past_an_empty_active_bin(
    state: DlmmState, swap_for_y: bool, share: Fraction
) -> None:
    # Empty the active bin's output side: the first bin that pays is the next one.
    index = state.active_id - state.lower_id
    outs = list(out_side(state, swap_for_y))
    outs[index] = 0
    xs, ys = (state.amounts_x, tuple(outs)) if swap_for_y else (tuple(outs), state.amounts_y)
    state = DlmmState(
        state.bin_step, state.fees, state.lower_id, state.prices, xs, ys,
        state.active_id, state.volatility,
    )  # fmt: skip
    paying = index - 1 if swap_for_y else index + 1
    assume(0 <= paying < len(state.prices))
    price, available = state.prices[paying], outs[paying]
    capacity = available * ONE // price if swap_for_y else available * price // ONE
    amount_in = int(capacity * share)
    assume(amount_in > 0)
    quote = dlmm.quote_swap(state, amount_in, swap_for_y=swap_for_y, now=NOW)
    if quote.amount_out >= 10**7 and quote.bins_crossed == 1:
        # One price for the whole fill: the same amounts never carry a bin step of impact.
        assert quote.price_impact_bps == 0
