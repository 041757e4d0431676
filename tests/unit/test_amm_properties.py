"""Properties of the constant-product math that every pool and quote relies on."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from oee.domain.amm import constant_product_out

reserves = st.integers(min_value=10**3, max_value=10**17)
amounts = st.integers(min_value=1, max_value=10**18)
fees = st.integers(min_value=0, max_value=1_000)
QUANTUM = Decimal("0.01")


@given(reserve_in=reserves, reserve_out=reserves, amount_in=amounts, fee_bps=fees)
def test_output_never_reaches_the_output_reserve(
    reserve_in: int, reserve_out: int, amount_in: int, fee_bps: int
) -> None:
    result = constant_product_out(reserve_in, reserve_out, amount_in, fee_bps)
    assert 0 <= result.amount_out < reserve_out
    assert result.fee >= 0


@given(reserve_in=reserves, reserve_out=reserves, a=amounts, b=amounts, fee_bps=fees)
def test_more_input_never_gives_less_output(
    reserve_in: int, reserve_out: int, a: int, b: int, fee_bps: int
) -> None:
    small, large = sorted((a, b))
    out_small = constant_product_out(reserve_in, reserve_out, small, fee_bps).amount_out
    out_large = constant_product_out(reserve_in, reserve_out, large, fee_bps).amount_out
    assert out_large >= out_small


@given(reserve_in=reserves, reserve_out=reserves, amount_in=amounts, fee_bps=fees)
def test_invariant_never_decreases_after_a_swap(
    reserve_in: int, reserve_out: int, amount_in: int, fee_bps: int
) -> None:
    result = constant_product_out(reserve_in, reserve_out, amount_in, fee_bps)
    # The pool keeps the whole input, fee included, and pays the rounded-down output.
    assert (reserve_in + amount_in) * (reserve_out - result.amount_out) >= reserve_in * reserve_out


@given(
    reserve_in=st.integers(min_value=10**9, max_value=10**17),
    reserve_out=st.integers(min_value=10**10, max_value=10**17),
    fee_bps=fees,
    data=st.data(),
)
def test_price_impact_grows_with_size(
    reserve_in: int, reserve_out: int, fee_bps: int, data: st.DataObject
) -> None:
    # Sizes from 0.01 % to 10x the pool: below that the floor rounding of tiny outputs, not
    # the curve, sets the executed price.
    size = st.integers(min_value=reserve_in // 10**4, max_value=reserve_in * 10)
    small, large = sorted((data.draw(size), data.draw(size)))
    small_result = constant_product_out(reserve_in, reserve_out, small, fee_bps)
    assume(small_result.amount_out >= 10**6)
    large_result = constant_product_out(reserve_in, reserve_out, large, fee_bps)
    # Impact is reported to 0.01 bps; rounding may reorder two sizes closer than that.
    assert large_result.price_impact_bps >= small_result.price_impact_bps - QUANTUM
    assert small_result.price_impact_bps >= 0


def test_price_impact_grows_with_size_on_a_real_pool() -> None:
    sol, usdc = 20_000 * 10**9, 3_000_000 * 10**6
    impacts = [
        constant_product_out(sol, usdc, whole * 10**9, 25).price_impact_bps
        for whole in (1, 10, 100, 1_000)
    ]
    assert impacts == sorted(impacts)
    assert impacts[-1] > 100 * impacts[0]
