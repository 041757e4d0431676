"""The executor resumes from whatever was persisted and never executes a swap twice.

Real components: the SQLite store, the in-process bus, the engine's JSON-RPC chain and on-chain
venues over the simulator's app (in-process, through ASGI). A "crash" is a cancelled executor
task: from the database's point of view that is what a killed worker looks like.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from oee.adapters.bus.memory import MemoryBus
from oee.adapters.chain.rpc import RpcChain
from oee.adapters.chain.transactions import SwapTransactionBuilder, load_or_create_keypair
from oee.adapters.clock import SystemClock
from oee.adapters.store.migrate import migrate
from oee.adapters.store.sqlalchemy import SqlAlchemyStore
from oee.domain.orders import Order, SubmitOrder
from oee.domain.routing import choose_best
from oee.domain.status import OrderStatus
from oee.domain.tokens import LAMPORTS_PER_SOL
from oee.services.executor import Executor, RetryPolicy
from oee.settings import SimSettings
from oee.sim import SimLedger
from oee.sim.faucet import fund
from tests.support.sim import sim_node
from tests.support.swaps import SimSwaps


@dataclass
class Rig:
    store: SqlAlchemyStore
    ledger: SimLedger
    chain: RpcChain
    executor: Executor
    signer: SwapTransactionBuilder
    swaps: SimSwaps

    def landed_for(self, order_id: str) -> list[str]:
        return [
            s.signature for s in self.ledger.landed_swaps() if (s.memo or "").startswith(order_id)
        ]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oee.sqlite3'}"
    await migrate(url)
    store = SqlAlchemyStore.from_url(url)
    # 0.01: blocks of 4 ms (a blockhash lives ~0.6 s) and landings after 20-30 ms.
    async with sim_node(SimSettings(latency_scale=0.01)) as node:
        keypair = load_or_create_keypair(tmp_path / "wallet.json")
        fund(node.world, node.ledger, str(keypair.pubkey()), 1_000 * LAMPORTS_PER_SOL)
        signer = SwapTransactionBuilder(keypair)
        executor = Executor(
            store,
            MemoryBus(),
            node.venues,
            node.chain,
            signer,
            SystemClock(),
            retry=RetryPolicy(max_attempts=3, base_delay_s=0.01),
            quote_timeout_s=2,
            confirm_poll_s=0.01,
        )
        yield Rig(store, node.ledger, node.chain, executor, signer, node.swaps)
    await store.close()


async def new_order(rig: Rig) -> Order:
    order, event = Order.accept(
        SubmitOrder.parse("SOL", "USDC", "1", 100), str(uuid.uuid4()), SystemClock().now()
    )
    await rig.store.create(order, event)
    return order


async def run_until(rig: Rig, order_id: str, status: OrderStatus) -> None:
    """Run the executor and kill it as soon as the order reaches `status`.

    The executor is parked right after the save that reached `status` returns, then killed:
    polling the store instead raced the executor's next save (a unit of work sent to the
    store commits even when its caller is cancelled meanwhile, as after a real crash)."""
    reached = asyncio.Event()
    real_save = rig.store.save

    async def save(order: Order, event: Any) -> None:
        await real_save(order, event)
        if order.id == order_id and order.status is status:
            reached.set()
            await asyncio.Event().wait()  # parked until killed

    rig.store.save = save  # type: ignore[method-assign]
    try:
        task = asyncio.create_task(rig.executor.run(order_id))
        async with asyncio.timeout(10):
            await reached.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        del rig.store.save  # the class's method again
    stored_order = await rig.store.get(order_id)
    assert stored_order is not None
    assert stored_order.status is status


async def test_rerun_after_send_finds_the_landed_transaction(rig: Rig) -> None:
    order = await new_order(rig)
    await run_until(rig, order.id, OrderStatus.SUBMITTED)
    persisted = await rig.store.get(order.id)
    assert persisted is not None
    assert persisted.tx is not None
    await rig.chain.send_transaction(persisted.tx.raw_tx)  # it was in flight when we "died"
    await asyncio.sleep(0.1)  # it lands while no worker runs

    await rig.executor.run(order.id)

    final = await rig.store.get(order.id)
    assert final is not None
    assert final.status is OrderStatus.CONFIRMED
    assert final.fill is not None
    assert final.fill.tx_hash == persisted.tx.signature
    assert rig.landed_for(order.id) == [persisted.tx.signature]


async def test_rerun_after_signing_sends_the_same_bytes(rig: Rig) -> None:
    persisted = await persist_signed_but_unsent(rig, await new_order(rig))
    order = persisted
    assert persisted.tx is not None

    await rig.executor.run(order.id)

    final = await rig.store.get(order.id)
    assert final is not None
    assert final.status is OrderStatus.CONFIRMED
    assert final.attempt == 1
    assert rig.landed_for(order.id) == [persisted.tx.signature]


async def persist_signed_but_unsent(rig: Rig, order: Order) -> Order:
    """Drive the order to `submitted` the way the executor does, minus the send (a crash)."""
    now = SystemClock().now
    await rig.store.save(order, order.start_routing(now()))
    venues = list(rig.executor.venues.values())
    quotes = [await v.quote(order.token_in, order.token_out, order.amount_in) for v in venues]
    decision = choose_best(quotes, order.slippage_bps)
    await rig.store.save(order, order.route(decision, now()))
    signed = rig.swaps.signed(
        rig.signer, decision.chosen.venue, order.token_in, order.token_out, order.amount_in,
        decision.min_amount_out, await rig.chain.latest_blockhash(),
        memo=f"{order.id}/1", pool=decision.chosen.pool,
    )  # fmt: skip
    await rig.store.save(order, order.submit(signed, now()))
    return order


async def test_expired_unsent_transaction_allows_a_fresh_attempt(rig: Rig) -> None:
    persisted = await persist_signed_but_unsent(rig, await new_order(rig))
    order = persisted
    assert persisted.tx is not None
    while await rig.chain.block_height() <= persisted.tx.last_valid_block_height:
        await asyncio.sleep(0.05)  # never sent, and now it never can land

    await rig.executor.run(order.id)

    final = await rig.store.get(order.id)
    assert final is not None
    assert final.status is OrderStatus.CONFIRMED
    assert final.attempt == 2
    assert final.attempts[0]["error"] == "BLOCKHASH_EXPIRED"
    landed = rig.landed_for(order.id)
    assert len(landed) == 1
    assert landed != [persisted.tx.signature]


async def test_two_racing_runs_execute_once(rig: Rig) -> None:
    orders = [await new_order(rig) for _ in range(5)]
    await asyncio.gather(*(rig.executor.run(o.id) for o in orders for _ in range(2)))
    for order in orders:
        final = await rig.store.get(order.id)
        assert final is not None
        assert final.status is OrderStatus.CONFIRMED
        events = await rig.store.events(order.id)
        assert [e.seq for e in events] == [1, 2, 3, 4, 5]
        assert len(rig.landed_for(order.id)) == 1
