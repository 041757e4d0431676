"""The engine's on-chain venues and JSON-RPC chain over the simulator, through the ports only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.domain.errors import ExecutionError
from oee.domain.ports import ComputeBudget, SwapPlan, SwapRequest, TxState
from oee.domain.tokens import LAMPORTS_PER_SOL, Token, resolve_token
from oee.settings import SimSettings
from oee.sim.faucet import fund
from tests.support.sim import SimNode, sim_node

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")
ONE_AND_A_HALF_SOL = 1_500_000_000


@pytest.fixture
async def node() -> AsyncIterator[SimNode]:
    async with sim_node(SimSettings(latency_scale=0.0)) as node:
        yield node


async def test_the_venues_quote_sol_usdc_a_few_tens_of_bps_apart_at_most(node: SimNode) -> None:
    raydium, meteora = node.venues
    assert [v.program_id for v in node.venues] == [s.program_id for s in node.world.venues]
    ray = await raydium.quote(SOL, USDC, ONE_AND_A_HALF_SOL)
    met = await meteora.quote(SOL, USDC, ONE_AND_A_HALF_SOL)
    gap = abs(ray.amount_out - met.amount_out) / Decimal(min(ray.amount_out, met.amount_out))
    assert gap <= Decimal("0.006")  # a gap no arbitrageur would leave open is gone
    assert (ray.venue, ray.fee_bps, met.venue, met.fee_bps) == ("raydium", 25, "meteora", 20)
    assert ray.pool != met.pool


async def test_a_pair_without_a_pool_and_an_amount_past_the_bins_are_not_retryable(
    node: SimNode,
) -> None:
    raydium, meteora = node.venues
    with pytest.raises(ExecutionError) as caught:
        await raydium.quote(SOL, Token("NEW", str(Pubkey.new_unique()), 6), 10**9)
    assert (caught.value.code, caught.value.retryable) == ("NO_POOL", False)
    with pytest.raises(ExecutionError) as caught:
        await meteora.quote(SOL, USDC, 10**9 * 10**9)  # a billion SOL
    assert (caught.value.code, caught.value.retryable) == ("INSUFFICIENT_LIQUIDITY", False)


@pytest.mark.parametrize("venue", [0, 1])
async def test_a_quote_builds_a_swap_that_lands_through_the_chain_port(
    node: SimNode, venue: int
) -> None:
    chosen, chain = node.venues[venue], node.chain
    signer = SwapTransactionBuilder(Keypair())
    fund(node.world, node.ledger, signer.owner, 1_000 * LAMPORTS_PER_SOL)
    quote = await chosen.quote(SOL, USDC, ONE_AND_A_HALF_SOL)
    min_out = quote.amount_out * 99 // 100
    request = SwapRequest(
        quote, SOL, USDC, signer.owner, signer.token_account(SOL.mint),
        signer.token_account(USDC.mint), ONE_AND_A_HALF_SOL, min_out,
    )  # fmt: skip
    swap = await chosen.swap_instruction(request)
    assert swap.program_id == chosen.program_id
    plan = SwapPlan(chosen.name, swap, SOL, USDC, ONE_AND_A_HALF_SOL, min_out, "order/1")
    signed = signer.sign(plan, ComputeBudget(300_000, 1), await chain.latest_blockhash())
    signature = await chain.send_transaction(signed.raw_tx)
    assert await chain.send_transaction(signed.raw_tx) == signature  # a resend is harmless
    status = await chain.signature_status(signature, USDC.mint)
    assert status is not None
    assert status.state is TxState.LANDED
    assert status.amount_out >= min_out
    (landed,) = node.ledger.landed_swaps()
    assert (landed.venue, landed.amount_out) == (chosen.name, status.amount_out)
