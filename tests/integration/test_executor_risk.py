"""The executor's pre-trade checks against the real simulator: the wallet's balance before
signing, the kill switch holding orders that have not started routing, and the notional window
counting each order once however often it runs.

Same rig as `test_executor_resume`: the SQLite store, the engine's JSON-RPC chain and on-chain
venues over the simulator's app, a wallet funded with 1,000 SOL and the faucet's tokens.
"""

# ruff: noqa: F811 (`rig` is the fixture imported from test_executor_resume)
from __future__ import annotations

import uuid
from decimal import Decimal

from oee.adapters.clock import SystemClock
from oee.adapters.killswitch.memory import MemoryKillSwitch
from oee.adapters.notional.memory import MemoryNotionalLimiter
from oee.domain.orders import Order, SubmitOrder
from oee.domain.risk import TRADING, Halt
from oee.domain.status import OrderStatus
from oee.domain.tokens import LAMPORTS_PER_SOL
from oee.metrics import Metrics
from oee.services.halt import HaltGate
from tests.integration.test_executor_resume import Rig, rig, run_until  # noqa: F401


async def place(rig: Rig, token_in: str, token_out: str, amount: str, owner: str = "desk") -> Order:
    cmd = SubmitOrder.parse(token_in, token_out, amount, 100)
    order, event = Order.accept(cmd, str(uuid.uuid4()), SystemClock().now(), owner)
    await rig.store.create(order, event)
    return order


async def stored(rig: Rig, order_id: str) -> Order:
    order = await rig.store.get(order_id)
    assert order is not None
    return order


async def lamports(rig: Rig) -> int:
    return (await rig.chain.balances(rig.signer.owner)).lamports


async def test_an_order_the_wallet_cannot_pay_fails_before_signing_and_spends_nothing(
    rig: Rig,
) -> None:
    before = await lamports(rig)
    all_of_it = str(Decimal(before) / LAMPORTS_PER_SOL)  # leaves nothing for fees and rent
    sol = await place(rig, "SOL", "USDC", all_of_it)
    usdc = await place(rig, "USDC", "SOL", "20000000")  # the faucet granted 10M
    for order in (sol, usdc):
        await rig.executor.run(order.id)
        done = await stored(rig, order.id)
        assert (done.status, done.error) == (OrderStatus.FAILED, "INSUFFICIENT_BALANCE")
        assert done.tx is None  # nothing was signed
        assert [a["feeLamports"] for a in done.attempts] == [None]
        assert rig.landed_for(order.id) == []  # the chain saw no transaction of it
    assert "SOL" in (await stored(rig, sol.id)).reason
    assert "USDC" in (await stored(rig, usdc.id)).reason
    assert await lamports(rig) == before  # not a lamport of fee


async def test_an_order_paying_all_but_the_fees_and_rent_still_lands(rig: Rig) -> None:
    # The check asks for the amount plus about 0.005 SOL (fees, two token accounts' rent while
    # they exist, the wallet's reserve): 0.01 SOL to spare is enough, on the real chain rules.
    almost = str(Decimal(await lamports(rig) - LAMPORTS_PER_SOL // 100) / LAMPORTS_PER_SOL)
    order = await place(rig, "SOL", "USDC", almost)
    await rig.executor.run(order.id)
    assert (await stored(rig, order.id)).status is OrderStatus.CONFIRMED


async def test_a_halt_holds_orders_that_have_not_started_routing_until_the_resume(
    rig: Rig,
) -> None:
    switch = MemoryKillSwitch(Halt(True, "drill", "ops", SystemClock().now()))
    metrics = Metrics(process_collectors=False)
    rig.executor.halt = HaltGate(switch, SystemClock(), metrics, refresh_s=0)
    rig.executor.metrics = metrics
    pending = await place(rig, "SOL", "USDC", "1")
    fired = await place(rig, "SOL", "USDC", "1")
    moved = await stored(rig, fired.id)  # as a fired limit order arrives: routing, not quoted
    await rig.store.save(moved, moved.start_routing(SystemClock().now()))
    for order_id in (pending.id, fired.id):
        await rig.executor.run(order_id)  # returns at once: the job ends, the order waits
        await rig.executor.run(order_id)  # run again (the recovery sweep): still held
    assert (await stored(rig, pending.id)).status is OrderStatus.PENDING
    assert (await stored(rig, fired.id)).status is OrderStatus.ROUTING
    assert len(await rig.store.events(pending.id)) == 1  # untouched
    assert metrics.orders_held._value.get() == 2  # counted once each
    await switch.write(TRADING)
    for order_id in (pending.id, fired.id):
        await rig.executor.run(order_id)
        assert (await stored(rig, order_id)).status is OrderStatus.CONFIRMED


async def test_an_order_already_building_finishes_while_halted(rig: Rig) -> None:
    order = await place(rig, "SOL", "USDC", "1")
    await run_until(rig, order.id, OrderStatus.BUILDING)
    switch = MemoryKillSwitch(Halt(True, None, None, SystemClock().now()))
    rig.executor.halt = HaltGate(switch, SystemClock(), Metrics(process_collectors=False))
    await rig.executor.run(order.id)
    assert (await stored(rig, order.id)).status is OrderStatus.CONFIRMED


async def test_the_notional_window_counts_an_order_once_however_often_it_routes(
    rig: Rig,
) -> None:
    rig.executor.notional_rate = (Decimal(150), MemoryNotionalLimiter())
    first = await place(rig, "USDC", "SOL", "100")
    await run_until(rig, first.id, OrderStatus.BUILDING)  # counted: 100 of 150 USD
    again = await stored(rig, first.id)  # a retry sends it back through routing
    await rig.store.save(again, again.retry("RPC_UNAVAILABLE", "test", 0, SystemClock().now()))
    await rig.executor.run(first.id)
    assert (await stored(rig, first.id)).status is OrderStatus.CONFIRMED  # not 200 of 150
    second = await place(rig, "USDC", "SOL", "100")
    await rig.executor.run(second.id)
    refused = await stored(rig, second.id)
    assert (refused.status, refused.error) == (OrderStatus.FAILED, "RISK_NOTIONAL_RATE")
    assert "100.00 USD in the last 60 s" in (refused.reason or "")
    other_key = await place(rig, "USDC", "SOL", "100", owner="bot")  # a window of its own
    await rig.executor.run(other_key.id)
    assert (await stored(rig, other_key.id)).status is OrderStatus.CONFIRMED
