"""The simulated Meteora pools: DLMM pairs held as real accounts and run by the venue's math."""

from __future__ import annotations

from decimal import Decimal

import pytest
from solders.pubkey import Pubkey

from oee.domain.tokens import resolve_token
from oee.sim.bank import Bank
from oee.sim.dlmm_liquidity import Shape, held_range
from oee.sim.meteora_pool import MeteoraPool, open_pair
from oee.sim.pools import InsufficientLiquidity
from oee.venues.meteora import PROGRAM_ID
from oee.venues.meteora.discovery import bin_array_address, bin_array_indexes_for_swap
from oee.venues.meteora.layout import BIN_ARRAY, LB_PAIR
from oee.venues.meteora.math import BASIS_POINT_MAX
from tests.support.fakes import FakeClock

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")
LAUNCHER = Pubkey.from_string("11111111111111111111111111111112")


def sol_usdc_pool(clock: FakeClock, shape: Shape = "spot") -> MeteoraPool:
    """$3M a side at $150 a SOL, the middle of what the world gives a pool."""
    bank = Bank(decimals_of={SOL.mint: 9, USDC.mint: 6}.get)
    mints = Pubkey.from_string(SOL.mint), Pubkey.from_string(USDC.mint)
    for mint in mints:
        bank.ensure_mint(mint)
    reserves = (20_000 * 10**9, 3_000_000 * 10**6)
    pool, _ = open_pair(bank, LAUNCHER, *mints, reserves, lambda: int(clock()), shape=shape)
    return pool


def test_the_pair_and_its_bin_arrays_are_real_accounts_that_round_trip() -> None:
    pool = sol_usdc_pool(FakeClock())
    store = pool._bank.store
    account = store.get(Pubkey.from_string(pool.address))
    assert account is not None
    assert (account.owner, len(account.data)) == (PROGRAM_ID, 904)
    pair = LB_PAIR.decode(bytes(account.data))
    assert LB_PAIR.encode(pair) == bytes(account.data)
    # The bitmap marks exactly the arrays covering the 139 bins, and each array exists.
    lower, upper = held_range(pool.bin_arrays())
    assert upper - lower == 138
    up = bin_array_indexes_for_swap(pair, swap_for_y=False, count=10)
    down = bin_array_indexes_for_swap(pair, swap_for_y=True, count=10)
    assert sorted(set(up) | set(down)) == sorted(pool.bin_arrays())
    for index in pool.bin_arrays():
        array = store.get(bin_array_address(Pubkey.from_string(pool.address), index))
        assert array is not None
        assert (array.owner, len(array.data)) == (PROGRAM_ID, 10_136)
        assert BIN_ARRAY.encode(BIN_ARRAY.decode(bytes(array.data))) == bytes(array.data)
    # The reserves are token accounts owned by the pair, holding what the bins hold.
    assert pool.reserves() == (20_000 * 10**9, 3_000_000 * 10**6)
    assert pool._bank.token_account(str(pair.reserve_x))[0] == pool.address  # type: ignore[index]


def test_fees_are_the_presets_base_fee_plus_the_variable_fee() -> None:
    clock = FakeClock()
    pool = sol_usdc_pool(clock)
    assert pool.fee_bps == 20  # base_factor 10,000 x bin step 20
    calm = pool.quote(SOL.mint, 10**9).fee
    assert calm == 2_000_000  # 0.20 %
    pool.swap(SOL.mint, pool.reserves()[1] // 4 * 10**3 // 150)  # a quarter of the USDC side
    crossed = pool.pair().v_parameters.volatility_accumulator // BASIS_POINT_MAX
    assert crossed >= 10
    assert pool.quote(SOL.mint, 10**9).fee > calm * 2
    clock.t += 601  # past the decay period: back to the base fee
    assert pool.quote(SOL.mint, 10**9).fee == calm


@pytest.mark.parametrize("shape", ["spot", "curve"])
def test_a_pool_spreads_its_reserves_over_139_bins_at_their_price(shape: Shape) -> None:
    pool = sol_usdc_pool(FakeClock(), shape)
    assert abs(pool.spot_price() / Decimal("0.15") - 1) <= Decimal("0.001")  # half a bin
    quote = pool.quote(SOL.mint, 1_500_000_000)
    assert quote.fee == 3_000_000  # 0.20 %
    assert quote.price_impact_bps < 100
    assert 223_000_000 < quote.amount_out < 225_000_000
    with pytest.raises(ValueError, match="does not hold"):
        pool.quote("not-a-mint", 1)


def test_a_swap_beyond_the_bins_fails_and_leaves_the_pool_as_it_was() -> None:
    pool = sol_usdc_pool(FakeClock())
    before = (pool.pair(), pool.reserves())
    with pytest.raises(InsufficientLiquidity):
        pool.swap(USDC.mint, 10_000_000 * 10**6)  # more USDC than the SOL side is worth
    assert (pool.pair(), pool.reserves()) == before


@pytest.mark.parametrize("move", [Decimal("1.03"), Decimal("0.97"), Decimal("1.5"), Decimal("0.6")])
def test_drift_settles_in_the_nearest_bin_and_recentres_far_moves(move: Decimal) -> None:
    clock = FakeClock()
    pool = sol_usdc_pool(clock)
    start = pool.spot_price()
    target = start * move
    x, y = pool.reserves()
    for _ in range(12):
        clock.t += 1
        pool.drift_toward(target, Decimal("0.5"))
    end = pool.spot_price()
    assert abs(end / target - 1) <= Decimal("0.001")  # within half a bin
    new_x, new_y = pool.reserves()
    assert min(new_x, new_y) > 0  # still two-sided: both buys and sells fill
    lower, upper = held_range(pool.bin_arrays())
    assert abs(pool.pair().active_id - (lower + upper) // 2) <= pool.width // 2
    # Arbitrage trades at bin prices between the two: the LPs end between holding only the
    # token that fell and holding what they had.
    value = new_x * end + new_y
    worst, held = min(x * start + y, x * end + y * end / start), x * end + y
    assert worst * Decimal("0.999999") <= value <= held
