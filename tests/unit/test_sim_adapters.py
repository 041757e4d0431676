"""The Venue and Chain adapters over the simulated world: quotes, latency and injected faults."""

from __future__ import annotations

import base64
import time
from decimal import Decimal

import pytest
from solders.keypair import Keypair

from oee.adapters.chain.sim import SimChain
from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.adapters.venues.sim import SimVenue, sim_venues
from oee.domain.errors import ExecutionError
from oee.domain.ports import Chain, TxState, Venue
from oee.domain.tokens import LAMPORTS_PER_SOL, resolve_token
from oee.settings import SimSettings
from oee.sim import build_sim
from oee.sim.faucet import fund

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")
ONE_AND_A_HALF_SOL = 1_500_000_000


def venues(**settings: float) -> dict[str, SimVenue]:
    sim = SimSettings(**{"latency_scale": 0.0, **settings})
    world, _ = build_sim(sim)
    return {venue.name: venue for venue in sim_venues(world, sim)}


async def test_the_venues_quote_sol_usdc_a_few_tens_of_bps_apart_at_most() -> None:
    by_name = venues()
    assert set(by_name) == {"raydium", "meteora"}
    assert by_name["raydium"].program_id == "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8"
    assert by_name["meteora"].program_id == "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo"
    ray = await by_name["raydium"].quote(SOL, USDC, ONE_AND_A_HALF_SOL)
    met = await by_name["meteora"].quote(SOL, USDC, ONE_AND_A_HALF_SOL)
    gap = abs(ray.amount_out - met.amount_out) / Decimal(min(ray.amount_out, met.amount_out))
    assert gap <= Decimal("0.006")  # a gap no arbitrageur would leave open is gone
    assert (ray.venue, ray.fee_bps, met.venue, met.fee_bps) == ("raydium", 25, "meteora", 20)
    assert ray.pool != met.pool


async def test_quotes_take_about_the_configured_latency() -> None:
    venue = venues(latency_scale=1.0, quote_latency_ms=40)["raydium"]
    started = time.perf_counter()
    await venue.quote(SOL, USDC, ONE_AND_A_HALF_SOL)
    assert 0.028 <= time.perf_counter() - started < 0.5  # 40 ms +- 25 %, plus scheduling


async def test_every_quote_fails_retryably_at_fault_rate_one() -> None:
    venue = venues(fault_rate=1.0)["meteora"]
    codes = set()
    for _ in range(20):
        with pytest.raises(ExecutionError) as caught:
            await venue.quote(SOL, USDC, ONE_AND_A_HALF_SOL)
        assert caught.value.retryable
        codes.add(caught.value.code)
    assert codes == {"VENUE_TIMEOUT", "VENUE_RATE_LIMITED"}


async def test_a_pair_without_a_pool_is_not_retryable() -> None:
    with pytest.raises(ExecutionError) as caught:
        await venues()["raydium"].quote(SOL, SOL, ONE_AND_A_HALF_SOL)
    assert (caught.value.code, caught.value.retryable) == ("NO_POOL", False)


async def test_more_than_the_bins_hold_is_not_retryable() -> None:
    with pytest.raises(ExecutionError) as info:
        await venues()["meteora"].quote(SOL, USDC, 10**9 * 10**9)  # a billion SOL
    assert info.value.code == "INSUFFICIENT_LIQUIDITY"
    assert not info.value.retryable


def chain_and_venue(fault_rate: float = 0.0) -> tuple[Chain, Venue, SwapTransactionBuilder]:
    """A chain with `fault_rate` and a fault-free venue over the same world."""
    clean = SimSettings(latency_scale=0.0)
    world, ledger = build_sim(clean)
    chain = SimChain(ledger, clean.model_copy(update={"fault_rate": fault_rate}))
    builder = SwapTransactionBuilder(Keypair())
    fund(world, ledger, str(builder.wallet), 1_000 * LAMPORTS_PER_SOL)
    return chain, sim_venues(world, clean)[0], builder


async def signed_raw(chain: Chain, venue: Venue, builder: SwapTransactionBuilder) -> str:
    quote = await venue.quote(SOL, USDC, ONE_AND_A_HALF_SOL)
    blockhash = await chain.latest_blockhash()
    swap = builder.build(
        venue.name, venue.program_id, quote.pool, SOL, USDC, quote.amount_in, 1, blockhash
    )
    return swap.raw_tx


async def test_a_swap_goes_from_blockhash_to_landed_through_the_chain_port() -> None:
    chain, venue, builder = chain_and_venue()
    raw = await signed_raw(chain, venue, builder)
    signature = await chain.send_transaction(raw)
    assert await chain.send_transaction(raw) == signature  # a resend is harmless
    status = await chain.signature_status(signature)
    assert status is not None
    assert status.state is TxState.LANDED
    assert status.amount_out > 0
    assert await chain.block_height() >= 1_000


async def test_ledger_refusals_keep_their_code_and_retryability() -> None:
    chain, venue, builder = chain_and_venue()
    raw = bytearray(base64.b64decode(await signed_raw(chain, venue, builder)))
    raw[-1] ^= 0x01
    with pytest.raises(ExecutionError) as caught:
        await chain.send_transaction(base64.b64encode(bytes(raw)).decode())
    assert (caught.value.code, caught.value.retryable) == ("INVALID_SIGNATURE", False)


async def test_every_send_fails_retryably_at_fault_rate_one() -> None:
    chain, venue, builder = chain_and_venue(fault_rate=1.0)
    raw = await signed_raw(chain, venue, builder)
    with pytest.raises(ExecutionError) as caught:
        await chain.send_transaction(raw)
    assert (caught.value.code, caught.value.retryable) == ("RPC_UNAVAILABLE", True)


async def test_some_sends_are_accepted_then_silently_dropped() -> None:
    chain, venue, builder = chain_and_venue(fault_rate=0.3)
    refusals, accepted = [], []
    for _ in range(40):
        raw = await signed_raw(chain, venue, builder)
        try:
            accepted.append(await chain.send_transaction(raw))
        except ExecutionError as error:
            refusals.append(error.code)
    statuses = [await chain.signature_status(signature) for signature in accepted]
    dropped = statuses.count(None)
    # Seeded: the same run every time, with each outcome present.
    assert refusals
    assert set(refusals) == {"RPC_UNAVAILABLE"}
    assert 0 < dropped < len(accepted)
