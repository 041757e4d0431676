"""Steering the simulated market: `SimWorld.move`, the pair it reads, and the volatility scale."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from solders.keypair import Keypair

from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.domain.ports import ComputeBudget, SwapPlan, SwapRequest, TxState
from oee.domain.tokens import LAMPORTS_PER_SOL, Token, resolve_token
from oee.settings import SimSettings
from oee.sim.faucet import fund
from oee.sim.launches import LaunchRequest
from oee.sim.steering import MoveError, PairPrices, resolve_pair
from oee.sim.world import SimWorld
from tests.support.fakes import FakeClock
from tests.support.sim import SimNode, sim_node

SOL, USDC, USDT, BONK = (resolve_token(s) for s in ("SOL", "USDC", "USDT", "BONK"))
VENUES = ("raydium", "meteora")
# Meteora's price is its active bin's: the nearest bin to a target is at most half a 20 bps
# bin away, before and after a move.
BIN = Decimal("0.0021")
EXACT = Decimal("1e-9")  # Raydium slides along its curve to the target itself
CLOSE = Decimal("1e-6")  # a Raydium pool on its target before a move is on it after


def make_world(**settings: object) -> tuple[SimWorld, FakeClock]:
    clock = FakeClock()
    return SimWorld(SimSettings(seed=7, **settings), now=clock), clock  # type: ignore[arg-type]


def changes(before: PairPrices, after: PairPrices) -> dict[str, Decimal]:
    return {venue: after.venues[venue] / before.venues[venue] - 1 for venue in VENUES}


def pair(world: SimWorld, text: str) -> tuple[Token, Token]:
    return resolve_pair(text, world.find_token)


@pytest.mark.parametrize("percent", ["3", "-2.5", "0.1", "900", "-90"])
def test_a_move_takes_both_venues_to_the_new_price_at_once(percent: str) -> None:
    world, clock = make_world()
    clock.t += 30  # a walked world, not the pools as built
    world.advance()
    move = world.move(SOL, USDC, Decimal(percent))
    factor = 1 + Decimal(percent) / 100
    assert move.moved == SOL
    assert move.after.reference == move.before.reference * factor
    # Each pool sits at the new reference plus its venue's offset, as before the move:
    # Raydium on its target, Meteora in the bin nearest its own (half a bin off, either way).
    for venue, change in changes(move.before, move.after).items():
        assert abs((1 + change) / factor - 1) < (CLOSE if venue == "raydium" else BIN), venue
    assert world.prices(SOL, USDC) == move.after  # no time passed: nothing else moved


def test_the_moved_price_is_what_the_pools_quote() -> None:
    world, _ = make_world()
    before = {v: world.quote(v, SOL, USDC, 10**9).amount_out for v in VENUES}
    world.move(SOL, USDC, Decimal(3))
    after = {v: world.quote(v, SOL, USDC, 10**9).amount_out for v in VENUES}
    assert abs(Decimal(after["raydium"]) / before["raydium"] - Decimal("1.03")) < 2 * BIN
    # A 15-bin jump raises DLMM's variable fee, as any fast move does: a bit less than 3 %.
    assert Decimal("1.02") < Decimal(after["meteora"]) / before["meteora"] < Decimal("1.034")


def test_a_pegged_base_moves_the_quote_instead() -> None:
    world, _ = make_world()
    move = world.move(USDC, SOL, Decimal(3))  # USDC buys 3 % more SOL: SOL got cheaper
    assert move.moved == SOL
    assert world.reference_price("USDC") == 1
    assert abs(move.after.reference / move.before.reference - Decimal("1.03")) < EXACT
    for venue, change in changes(move.before, move.after).items():
        assert abs(change - Decimal("0.03")) < (EXACT if venue == "raydium" else 2 * BIN)


def test_two_stablecoins_are_refused_and_nothing_moves() -> None:
    world, _ = make_world()
    before = world.prices(USDC, USDT)
    with pytest.raises(MoveError) as refused:
        world.move(USDC, USDT, Decimal(3))
    assert refused.value.code == "PEGGED_PAIR"
    assert world.prices(USDC, USDT) == before


def test_other_pairs_with_the_moved_token_follow_by_arbitrage() -> None:
    world, clock = make_world(volatility_scale=0)
    bonk_before = world.prices(SOL, BONK)
    world.move(SOL, USDC, Decimal(10))
    assert world.prices(SOL, BONK).venues == bonk_before.venues  # not yet: no tick has passed
    clock.t += 20  # arbitrage closes half the gap a tick
    for venue, change in changes(bonk_before, world.prices(SOL, BONK)).items():
        assert abs(change - Decimal("0.10")) < 2 * BIN, venue


@pytest.mark.parametrize("order", ["MOON/SOL", "SOL/MOON"])
def test_a_launched_token_moves_its_own_price_in_either_order(order: str) -> None:
    world, clock = make_world()
    world.launch(LaunchRequest(symbol="MOON", decimals=6))
    clock.t += 5
    sol_before = world.reference_price("SOL")
    base, quote = pair(world, order.lower())  # symbols in any case
    move = world.move(base, quote, Decimal(20))
    assert move.moved.symbol == "MOON"
    assert world.reference_price("SOL") == sol_before
    for change in changes(move.before, move.after).values():
        assert abs(change - Decimal("0.20")) < 3 * BIN
    clock.t += 1  # its next tick takes its price from its pools: the move stays
    assert abs(world.prices(base, quote).reference / move.after.reference - 1) < Decimal("0.02")


def test_volatility_zero_holds_every_price_still_after_a_move() -> None:
    world, clock = make_world(volatility_scale=0)
    references = {symbol: world.reference_price(symbol) for symbol in ("SOL", "BONK", "JUP")}
    world.move(SOL, USDC, Decimal(-4))
    moved = world.prices(SOL, USDC)
    clock.t += 3_600
    world.advance()
    assert world.reference_price("SOL") == moved.reference
    assert world.reference_price("BONK") == references["BONK"]
    assert world.reference_price("JUP") == references["JUP"]
    held = world.prices(SOL, USDC)
    for venue in VENUES:  # a pool already on target stays there (to the last base unit)
        assert abs(held.venues[venue] / moved.venues[venue] - 1) < EXACT


def test_the_scale_multiplies_each_step_of_the_same_seeded_walk() -> None:
    (calm, calm_clock), (wild, wild_clock) = make_world(), make_world(volatility_scale=2)
    calm_clock.t += 1
    wild_clock.t += 1
    start = Decimal(150)
    calm_step = (calm.reference_price("SOL") / start).ln()
    wild_step = (wild.reference_price("SOL") / start).ln()
    assert calm_step != 0
    assert abs(wild_step - 2 * calm_step) < Decimal("1e-20")


@pytest.mark.parametrize("percent", ["-90.01", "900.5", "-100", "1e6", "NaN", "Infinity"])
def test_a_percent_out_of_range_is_refused_and_nothing_moves(percent: str) -> None:
    world, _ = make_world()
    before = world.prices(SOL, USDC)
    with pytest.raises(MoveError) as refused:
        world.move(SOL, USDC, Decimal(percent))
    assert refused.value.code == "INVALID_PERCENT"
    assert "-90 to 900" in refused.value.message
    assert world.prices(SOL, USDC) == before


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SOL", "INVALID_PAIR"),
        ("SOL/", "INVALID_PAIR"),
        ("SOL/USDC/USDT", "INVALID_PAIR"),
        ("sol/SOL", "INVALID_PAIR"),
        ("SOL/DOGE", "UNKNOWN_TOKEN"),
    ],
)
def test_a_pair_that_is_not_two_known_tokens_is_refused(text: str, code: str) -> None:
    world, _ = make_world()
    with pytest.raises(MoveError) as refused:
        pair(world, text)
    assert refused.value.code == code


def test_a_pair_reads_symbols_in_any_case_and_mints() -> None:
    world, _ = make_world()
    assert pair(world, " sol / Usdc ") == (SOL, USDC)
    assert pair(world, f"{BONK.mint}/SOL") == (BONK, SOL)


def test_a_pair_without_pools_has_no_prices_to_move() -> None:
    world, _ = make_world()
    world.launch(LaunchRequest(symbol="MOON", decimals=6, quote="SOL"))
    moon, usdc = pair(world, "MOON/USDC")
    for call in (lambda: world.prices(moon, usdc), lambda: world.move(moon, usdc, Decimal(1))):
        with pytest.raises(MoveError) as refused:
            call()
        assert refused.value.code == "NO_POOL"


def test_the_wire_shape_of_a_move() -> None:
    world, _ = make_world()
    answer = world.move(SOL, USDC, Decimal("2.50")).as_json()
    assert set(answer) == {"pair", "reference", "prices", "percent", "moved", "previous"}
    assert (answer["pair"], answer["percent"], answer["moved"]) == ("SOL/USDC", "2.5", "SOL")
    assert set(answer["prices"]) == set(VENUES)
    assert set(answer["previous"]) == {"reference", "prices"}
    for text in (answer["reference"], *answer["prices"].values()):
        assert "E" not in text
        assert len(text.replace(".", "").lstrip("0")) <= 10  # ten significant digits


# --- what the engine sees ------------------------------------------------------------------


@pytest.fixture
async def node() -> AsyncIterator[SimNode]:
    async with sim_node(SimSettings(latency_scale=0.0), now=FakeClock()) as node:
        yield node


async def test_the_engines_next_quote_reflects_the_move(node: SimNode) -> None:
    amount = 10**9
    before = {v: node.world.quote(v, SOL, USDC, amount).amount_out for v in VENUES}
    node.world.move(SOL, USDC, Decimal(5))
    # A 24-bin jump raises DLMM's variable fee to about 1 % for a while, as any fast move does.
    least = {"raydium": Decimal("1.045"), "meteora": Decimal("1.03")}
    for venue in node.venues:  # their first read of the pools' accounts over JSON-RPC
        quote = await venue.quote(SOL, USDC, amount)
        assert quote.amount_out == node.world.quote(venue.name, SOL, USDC, amount).amount_out
        assert Decimal(quote.amount_out) / before[venue.name] > least[venue.name]


@pytest.mark.parametrize("venue", [0, 1])
async def test_a_swap_lands_against_pools_moved_past_their_bins(venue: int) -> None:
    # +40 % is past Meteora's +-15 % of bins: its LPs re-spread the pair around the new price.
    async with sim_node(SimSettings(latency_scale=0.0)) as node:
        node.world.move(SOL, USDC, Decimal(40))
        chosen, chain = node.venues[venue], node.chain
        signer = SwapTransactionBuilder(Keypair())
        fund(node.world, node.ledger, signer.owner, 1_000 * LAMPORTS_PER_SOL)
        quote = await chosen.quote(SOL, USDC, 10**9)
        assert quote.price > Decimal(190)
        min_out = quote.amount_out * 99 // 100
        request = SwapRequest(
            quote, SOL, USDC, signer.owner, signer.token_account(SOL.mint),
            signer.token_account(USDC.mint), 10**9, min_out,
        )  # fmt: skip
        swap = await chosen.swap_instruction(request)
        plan = SwapPlan(chosen.name, swap, SOL, USDC, 10**9, min_out, "order/1")
        signed = signer.sign(plan, ComputeBudget(300_000, 1), await chain.latest_blockhash())
        status = await chain.signature_status(
            await chain.send_transaction(signed.raw_tx), USDC.mint
        )
        assert status is not None
        assert status.state is TxState.LANDED
        assert status.amount_out >= min_out
