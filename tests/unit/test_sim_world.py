"""The simulated market: pools, reference prices, venue spreads and the seeded price process."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from solders.pubkey import Pubkey

from oee.domain.tokens import REGISTRY, resolve_token
from oee.settings import SimSettings
from oee.sim.pools import Pool
from oee.sim.world import NoPool, SimWorld
from oee.venues.meteora import PROGRAM_ID as DLMM_PROGRAM
from oee.venues.meteora.layout import LB_PAIR
from oee.venues.raydium import RAYDIUM_AMM_V4
from oee.venues.raydium.layout import AMM_INFO
from tests.support.fakes import FakeClock

SOL, USDC, USDT, BONK = (resolve_token(s) for s in ("SOL", "USDC", "USDT", "BONK"))


def make_world(seed: int = 7) -> tuple[SimWorld, FakeClock]:
    clock = FakeClock()
    return SimWorld(SimSettings(seed=seed), now=clock), clock


def spot(pool: Pool) -> Decimal:
    """mint_b base units per mint_a base unit: the reserve ratio on Raydium, the active bin's
    price on Meteora, whose reserves sit in bins on either side of the price."""
    return pool.spot_price()


def venue_gap(world: SimWorld, a: str, b: str) -> Decimal:
    token_a, token_b = resolve_token(a), resolve_token(b)
    ray = spot(world.pool("raydium", token_a, token_b))
    met = spot(world.pool("meteora", token_a, token_b))
    return abs(ray - met) / min(ray, met)


def test_every_pair_has_a_pool_on_both_venues_at_a_distinct_address() -> None:
    world, _ = make_world()
    pools = world.pools()
    assert len(pools) == 2 * len(list(itertools.combinations(REGISTRY, 2)))
    addresses = {pool.address for pool in pools}
    assert len(addresses) == len(pools)
    for address in addresses:
        assert str(Pubkey.from_string(address)) == address
    assert {pool.venue for pool in pools} == {"raydium", "meteora"}
    assert world.pool("raydium", USDC, SOL) is world.pool("raydium", SOL, USDC)


def test_the_same_seed_builds_the_same_world_and_another_seed_does_not() -> None:
    first, second, other = make_world(7)[0], make_world(7)[0], make_world(8)[0]
    assert [(p.address, p.reserves()) for p in first.pools()] == [
        (p.address, p.reserves()) for p in second.pools()
    ]
    # Addresses are a property of the venue and pair, reserves of the seed.
    assert [p.address for p in first.pools()] == [p.address for p in other.pools()]
    assert [p.reserves() for p in first.pools()] != [p.reserves() for p in other.pools()]


def test_pools_hold_a_few_million_usd_a_side_near_the_reference_price() -> None:
    world, _ = make_world()
    pool = world.pool("raydium", SOL, USDC)
    reserve_sol, reserve_usdc = pool.reserves()
    assert 2_000_000 <= SOL.from_base_units(reserve_sol) * 150 <= 5_000_000
    assert 1_900_000 <= USDC.from_base_units(reserve_usdc) <= 5_300_000
    price = USDC.from_base_units(reserve_usdc) / SOL.from_base_units(reserve_sol)
    assert 150 * Decimal("0.96") <= price <= 150 * Decimal("1.04")
    # BONK's base-unit reserves are the largest and still fit a u64 token amount.
    assert max(max(p.reserves()) for p in world.pools()) < 2**64


def test_the_venues_differ_by_a_few_to_a_few_tens_of_bps_on_every_pair() -> None:
    world, clock = make_world()
    for _ in range(20):
        for a, b in itertools.combinations(REGISTRY, 2):
            # GAP_MAX (40 bps) plus the DLMM bin's 20 bps grid and what arbitrage has not closed.
            assert venue_gap(world, a.symbol, b.symbol) <= Decimal("0.0065")
        clock.t += 60


def test_the_better_venue_changes_as_the_gap_moves() -> None:
    world, clock = make_world()
    wins = {"raydium": 0, "meteora": 0}
    gaps = []
    for _ in range(120):
        clock.t += 15
        ray, met = (world.quote(v, SOL, USDC, 1_500_000_000) for v in ("raydium", "meteora"))
        wins["raydium" if ray.amount_out > met.amount_out else "meteora"] += 1
        gaps.append(abs(ray.amount_out - met.amount_out) / min(ray.amount_out, met.amount_out))
    assert min(wins.values()) >= 20, wins  # each venue wins a fair share of half an hour
    median = sorted(gaps)[len(gaps) // 2]
    assert Decimal("0.0002") <= median <= Decimal("0.004"), median  # 2-40 bps apart, typically


def test_a_quote_is_the_pools_output_and_does_not_move_the_pool() -> None:
    world, _ = make_world()
    pool = world.pool("meteora", SOL, USDC)
    before = pool.reserves()
    quote = world.quote("meteora", SOL, USDC, 1_500_000_000)
    assert pool.reserves() == before
    assert quote.pool == pool.address
    assert quote.fee_bps == 20
    assert quote.fee == 3_000_000  # 0.20 % of 1.5 SOL
    assert quote.amount_out == pool.quote(SOL.mint, 1_500_000_000).amount_out
    assert quote.price == USDC.from_base_units(quote.amount_out) / Decimal("1.5")
    assert 140 < quote.price < 160


def test_a_swap_moves_the_reserves_by_exactly_its_amounts() -> None:
    world, _ = make_world()
    pool = world.pool("raydium", SOL, USDC)
    reserve_sol, reserve_usdc = pool.reserves()
    result = pool.swap(USDC.mint, 1_000_000_000)
    assert pool.reserves() == (reserve_sol - result.amount_out, reserve_usdc + 1_000_000_000)


def test_an_unknown_pair_has_no_pool() -> None:
    world, _ = make_world()
    with pytest.raises(NoPool):
        world.pool("raydium", SOL, SOL)
    with pytest.raises(NoPool):
        world.quote("orca", SOL, USDC, 1)


def test_prices_walk_with_time_and_stand_still_without_it() -> None:
    world, clock = make_world()
    pool = world.pool("raydium", SOL, USDC)
    start_sol, start_usdt, start_spot = (
        world.reference_price("SOL"),
        world.reference_price("USDT"),
        spot(pool),
    )
    clock.t += 0.9  # less than a tick: nothing moves
    assert world.reference_price("SOL") == start_sol
    clock.t += 120
    assert world.reference_price("SOL") != start_sol
    assert world.reference_price("USDT") == start_usdt == 1
    world.advance()
    assert spot(pool) != start_spot
    moved = world.reference_price("SOL")
    world.advance(clock.t - 60)  # the world never goes back
    assert world.reference_price("SOL") == moved


def test_the_walk_is_reproducible_from_the_seed() -> None:
    (first, clock_1), (second, clock_2) = make_world(), make_world()
    for step in (1, 5, 30, 2):
        clock_1.t += step
        clock_2.t += step
        first.advance()
        second.advance()
    assert [p.reserves() for p in first.pools()] == [p.reserves() for p in second.pools()]


@pytest.mark.parametrize(
    ("venue", "usdc_share", "pushed_below"),
    [
        # Dumping ~10 % of the constant-product pool's SOL side moves its price over 15 %.
        ("raydium", Decimal("0.1"), Decimal("0.85")),
        # Meteora's bins hold the same value concentrated near the price: it takes SOL worth
        # half of the USDC side to cross about a third of the bins below.
        ("meteora", Decimal("0.5"), Decimal("0.94")),
    ],
)
def test_arbitrage_pulls_a_pushed_pool_back_toward_its_price(
    venue: str, usdc_share: Decimal, pushed_below: Decimal
) -> None:
    world, clock = make_world()
    pool = world.pool(venue, SOL, USDC)
    fair = spot(pool)
    pool.swap(SOL.mint, int(pool.reserves()[1] * usdc_share / fair))
    pushed = spot(pool)
    assert pushed < fair * pushed_below
    clock.t += 10
    world.advance()
    # Back to within the walk's own 10-second move of the old price.
    assert abs(spot(pool) - fair) < abs(pushed - fair) / 20


def test_scheduled_actions_run_in_time_order_between_the_ticks() -> None:
    world, clock = make_world()
    twin, twin_clock = make_world()
    seen: list[tuple[float, Decimal]] = []

    def record(at: float) -> None:
        seen.append((at, world.reference_price("SOL")))  # no re-entrant advance

    start = clock.t
    world.schedule(start + 2.5, record)
    world.schedule(start + 0.5, record)
    clock.t += 5
    world.advance()
    twin_clock.t = start + 0.5
    at_half = twin.reference_price("SOL")
    twin_clock.t = start + 2.5
    at_two_and_a_half = twin.reference_price("SOL")
    assert seen == [(start + 0.5, at_half), (start + 2.5, at_two_and_a_half)]
    assert at_half != at_two_and_a_half


def test_pools_are_accounts_in_the_venues_layouts_indexed_by_owner() -> None:
    world, _ = make_world()
    store = world.bank.store
    for venue, program, layout in (
        ("raydium", RAYDIUM_AMM_V4, AMM_INFO),
        ("meteora", DLMM_PROGRAM, LB_PAIR),
    ):
        owned = {str(address) for address, _ in store.owned_by(program)}
        addresses = {p.address for p in world.pools() if p.venue == venue}
        assert addresses <= owned
        account = store.get(Pubkey.from_string(world.pool(venue, SOL, USDC).address))
        assert account is not None
        assert account.owner == program
        data = bytes(account.data)
        assert layout.encode(layout.decode(data)) == data  # type: ignore[attr-defined]
    # A swap writes the pool's new state back into the same account.
    pool = world.pool("raydium", SOL, USDC)
    pool.swap(SOL.mint, 10**9)
    amm = AMM_INFO.decode(bytes(store.get(Pubkey.from_string(pool.address)).data))  # type: ignore[union-attr]
    assert amm.state_data.swap_coin_in_amount == 10**9
