"""Pool launches in the simulated world: new tokens, their pools, and the seeded random stream."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.domain.ports import TxState
from oee.domain.tokens import LAMPORTS_PER_SOL, REGISTRY, resolve_token
from oee.settings import SimSettings
from oee.sim import SimLedger, SimWorld, build_sim, ledger
from oee.sim.app import create_sim_app
from oee.sim.blocks import FIRST_BLOCK_HEIGHT
from oee.sim.launches import Launch, LaunchError, LaunchRequest
from oee.sim.world import METEORA, RAYDIUM, NoPool
from tests.support.fakes import FakeClock
from tests.support.swaps import SimSwaps

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")


def make_sim(**settings: Any) -> tuple[SimWorld, SimLedger, FakeClock]:
    clock = FakeClock()
    world, chain = build_sim(SimSettings(latency_scale=0.0, **settings), now=clock)
    return world, chain, clock


def test_a_launch_opens_pools_that_quote_and_swap_like_any_other() -> None:
    world, chain, clock = make_sim()
    launch = world.launch(LaunchRequest("MOON", 6, price_usd=Decimal("0.001")))
    moon = launch.token
    assert world.token(moon.mint) == moon
    assert world.token(SOL.mint) == SOL  # the registry resolves through the same call
    assert world.token(str(Pubkey.new_unique())) is None
    assert moon.mint not in {token.mint for token in REGISTRY}
    assert [(p.venue, p.program_id) for p in launch.pools] == [
        ("raydium", RAYDIUM.program_id),
        ("meteora", METEORA.program_id),
    ]
    # $25k a side: 25M MOON at $0.001 and $25k of SOL at the reference $150.
    assert {(p.reserve_base, p.reserve_quote) for p in launch.pools} == {
        (25_000_000 * 10**6, 25_000 * LAMPORTS_PER_SOL // 150)
    }
    builder, swaps = SwapTransactionBuilder(Keypair()), SimSwaps(world, chain)
    chain.airdrop(str(builder.wallet), ledger.NATIVE_MINT, 10 * LAMPORTS_PER_SOL)
    for opened in launch.pools:
        found = world.pool_at(opened.address)
        assert found is not None
        assert found[0].program_id == opened.program_id
        buy = world.quote(opened.venue, SOL, moon, LAMPORTS_PER_SOL // 10)
        assert buy.pool == opened.address
        # $15 buys about 15,000 MOON at $0.001, less the fee and the venue's price.
        assert 14_000 < moon.from_base_units(buy.amount_out) < 15_100
        sell = world.quote(opened.venue, moon, SOL, 10**9)
        assert Decimal("0.0060") < SOL.from_base_units(sell.amount_out) < Decimal("0.0068")

        signed = swaps.signed(
            builder, opened.venue, SOL, moon, LAMPORTS_PER_SOL // 10, buy.amount_out,
            chain.latest_blockhash(), pool=buy.pool,
        )  # fmt: skip
        chain.send(signed.raw_tx)
        clock.t += 0.01  # latency off: it lands now
        status = chain.signature_status(signed.signature)
        assert status is not None
        assert status.state is TxState.LANDED, status
    assert chain.balances(str(builder.wallet))[moon.mint] > 28_000 * 10**6


def test_launches_are_reproducible_for_a_seed_and_differ_across_seeds() -> None:
    def launches(seed: int) -> list[Launch]:
        world, _, _ = make_sim(seed=seed)
        return [world.launch(LaunchRequest(symbol, 9)) for symbol in ("MOON", "PEPE")]

    first, again, other = launches(7), launches(7), launches(8)
    assert first == again
    assert [launch.token.mint for launch in first] != [launch.token.mint for launch in other]
    assert first[0].token.mint != first[1].token.mint
    for launch in first:
        assert str(Pubkey.from_string(launch.token.mint)) == launch.token.mint


def test_a_symbol_already_taken_is_refused_and_changes_nothing() -> None:
    world, _, _ = make_sim()
    world.launch(LaunchRequest("MOON", 6))
    pools = len(world.pools())
    for symbol in ("MOON", "moon", "SOL", "bonk"):
        with pytest.raises(LaunchError) as caught:
            world.launch(LaunchRequest(symbol, 6))
        assert caught.value.code == "DUPLICATE_SYMBOL"
    assert len(world.launched()) == 1
    assert len(world.pools()) == pools


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"symbol": ""}, "INVALID_SYMBOL"),
        ({"symbol": "TOO-LONG-SYMBOL"}, "INVALID_SYMBOL"),
        ({"decimals": -1}, "INVALID_DECIMALS"),
        ({"decimals": 19}, "INVALID_DECIMALS"),
        ({"decimals": True}, "INVALID_DECIMALS"),
        ({"venues": ()}, "INVALID_VENUES"),
        ({"venues": ("orca",)}, "INVALID_VENUES"),
        ({"venues": ("raydium", "raydium")}, "INVALID_VENUES"),
        ({"quote": "DOGE"}, "UNKNOWN_QUOTE"),
        ({"liquidity_usd": Decimal(1)}, "INVALID_LIQUIDITY"),
        ({"liquidity_usd": Decimal("NaN")}, "INVALID_LIQUIDITY"),
        ({"price_usd": Decimal(0)}, "INVALID_PRICE"),
        ({"price_usd": Decimal("Infinity")}, "INVALID_PRICE"),
        ({"reserves": (1, 10**12)}, "INVALID_RESERVES"),
        ({"reserves": (2**64, 10**12)}, "INVALID_RESERVES"),
    ],
)
def test_a_bad_request_is_refused_with_its_own_code(fields: dict[str, Any], code: str) -> None:
    with pytest.raises(LaunchError) as caught:
        LaunchRequest(**{"symbol": "MOON", "decimals": 6, **fields})
    assert caught.value.code == code
    assert caught.value.message


def test_liquidity_a_venue_cannot_hold_is_refused() -> None:
    world, _, _ = make_sim()
    with pytest.raises(LaunchError) as caught:  # 5e9 whole tokens of 18 decimals: beyond a u64
        world.launch(LaunchRequest("BIG", 18, price_usd=Decimal("0.000001")))
    assert caught.value.code == "INVALID_LIQUIDITY"
    with pytest.raises(LaunchError) as caught:  # $5 buys no whole token of 0 decimals
        world.launch(LaunchRequest("DEAR", 0, liquidity_usd=Decimal(10), price_usd=Decimal("1e6")))
    assert caught.value.code == "INVALID_LIQUIDITY"
    assert world.launched() == []


def test_one_venue_another_quote_token_and_explicit_reserves() -> None:
    world, _, _ = make_sim()
    launch = world.launch(
        LaunchRequest("CAT", 9, venues=("meteora",), quote="USDC", reserves=(4 * 10**15, 10**10))
    )
    # 10,000 USDC against 4M CAT: $0.0025 a token, $20k in the pool.
    assert (launch.price_usd, launch.liquidity_usd) == (Decimal("0.0025"), Decimal(20_000))
    assert world.quote("meteora", USDC, launch.token, 10**6).amount_out > 0
    with pytest.raises(NoPool):
        world.quote("raydium", USDC, launch.token, 10**6)
    with pytest.raises(NoPool):
        world.quote("meteora", SOL, launch.token, 10**9)


def test_listeners_hear_every_launch_and_a_broken_one_harms_nothing() -> None:
    world, _, _ = make_sim()
    heard: list[str] = []

    def broken(launch: Launch) -> None:
        raise RuntimeError("a subscriber's bug")

    world.on_launch(broken)
    leave = world.on_launch(lambda launch: heard.append(launch.token.symbol))
    world.launch(LaunchRequest("ONE", 6))
    leave()
    leave()  # leaving twice is harmless
    world.launch(LaunchRequest("TWO", 6))
    assert heard == ["ONE"]
    assert [launch.token.symbol for launch in world.launched()] == ["ONE", "TWO"]


def test_a_launch_carries_the_ledgers_block_height() -> None:
    world, chain, clock = make_sim()
    clock.t += 12.5
    launch = world.launch(LaunchRequest("MOON", 6))
    assert launch.block_height == chain.block_height() == FIRST_BLOCK_HEIGHT + 31
    assert (launch.at, launch.origin) == (clock.t, "request")


def test_a_launched_token_keeps_the_price_its_buyers_pay() -> None:
    world, _, clock = make_sim()
    launch = world.launch(LaunchRequest("MOON", 6, venues=("raydium",)))
    pool = world.pool("raydium", SOL, launch.token)
    before = pool.spot_price()
    pool.swap(SOL.mint, pool.reserves()[1] // 10)  # a tenth of the SOL side: about +21 %
    bought = pool.spot_price()
    clock.t += 5
    world.advance()
    # Unlike a registry token, no outside market pulls it back: it walks on from the new price.
    assert abs(pool.spot_price() / bought - 1) < Decimal("0.03")
    assert pool.spot_price() > before * Decimal("1.15")


def test_random_launches_follow_the_world_clock_and_the_seed() -> None:
    def run(seed: int) -> tuple[SimWorld, SimLedger, list[Launch]]:
        world, chain, clock = make_sim(seed=seed, launch_interval_s=10)
        heard: list[Launch] = []
        world.on_launch(heard.append)
        assert world.launched() == []
        clock.t += 600
        assert heard == []  # nothing happens until the world is asked
        chain.block_height()
        return world, chain, heard

    world, chain, heard = run(7)
    assert 30 <= len(heard) <= 100  # a Poisson stream of mean 60
    assert heard == world.launched()
    assert all(launch.origin == "random" for launch in heard)
    assert [launch.at for launch in heard] == sorted(launch.at for launch in heard)
    assert heard[-1].block_height <= chain.block_height()
    symbols = [launch.token.symbol for launch in heard]
    assert len(set(symbols)) == len(symbols)
    for launch in heard:  # each is tradable like a requested launch
        venue = launch.pools[0].venue
        assert world.quote(venue, SOL, launch.token, 10**8).amount_out > 0
    assert run(7)[2] == heard
    assert [launch.token.symbol for launch in run(8)[2]] != symbols
    quiet, _, clock = make_sim()
    clock.t += 600
    assert quiet.launched() == []


async def test_the_quote_services_quote_a_launched_mint() -> None:
    world, chain, _ = make_sim()
    launch = world.launch(LaunchRequest("MOON", 6, venues=("raydium",)))
    app = create_sim_app(world, chain, SimSettings(latency_scale=0.0))
    query = {"inputMint": SOL.mint, "outputMint": launch.token.mint, "amount": "100000000"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as http:
        raydium = (await http.get("/raydium/compute/swap-base-in", params=query)).json()
        assert raydium["success"] is True, raydium
        assert raydium["data"]["routePlan"][0]["poolId"] == launch.pools[0].address
        meteora = await http.get("/meteora/quote", params=query)
        assert (meteora.status_code, meteora.json()["error"]) == (404, "POOL_NOT_FOUND")


def test_a_quote_that_is_not_a_string_is_refused_not_crashed() -> None:
    with pytest.raises(LaunchError) as refused:
        LaunchRequest("MOON", 6, quote=["SOL"])  # type: ignore[arg-type]
    assert refused.value.code == "UNKNOWN_QUOTE"
