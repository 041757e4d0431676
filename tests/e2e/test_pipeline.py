"""Market orders through the whole engine, in both deployments, watched by a real WS client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from oee.settings import Settings
from tests.support.engine import EngineServer, serve_engine
from tests.support.streams import assert_stream_well_formed, final_status, follow, submit


async def test_market_order_happy_path(engine_server: EngineServer) -> None:
    order_id = await submit(engine_server)
    frames = await follow(engine_server, order_id)
    assert frames[0]["type"] == "snapshot"
    assert frames[0]["orderId"] == order_id
    assert_stream_well_formed(frames)
    confirmed = frames[-1]
    assert confirmed["type"] == "confirmed"
    assert confirmed["seq"] == 5
    assert confirmed["chosenDex"] in {"raydium", "meteora"}
    assert confirmed["txHash"]
    assert confirmed["executedPrice"] > 0
    assert confirmed["amountOut"] > 0

    log = await follow(engine_server, order_id, "?since=0")
    assert [(f["type"], f["seq"]) for f in log] == [
        ("pending", 1),
        ("routing", 2),
        ("building", 3),
        ("submitted", 4),
        ("confirmed", 5),
    ]

    stored = (await engine_server.client.get(f"/api/orders/{order_id}")).json()
    assert stored["status"] == "confirmed"
    assert {q["venue"] for q in stored["quotes"]} == {"raydium", "meteora"}
    assert stored["routing"]["chosenDex"] == confirmed["chosenDex"]
    assert stored["result"]["txHash"] == confirmed["txHash"]
    assert stored["attempts"][-1]["outcome"] == "confirmed"


async def test_many_orders_concurrently_all_confirm(engine_server: EngineServer) -> None:
    ids = await asyncio.gather(*(submit(engine_server) for _ in range(30)))
    streams = await asyncio.gather(*(follow(engine_server, i) for i in ids))
    for frames in streams:
        assert_stream_well_formed(frames)
        assert final_status(frames) == "confirmed"
    active = (await engine_server.client.get("/api/orders/active")).json()
    assert active == {"activeCount": 0, "orderIds": []}
    recent = (await engine_server.client.get("/api/orders/recent", params={"limit": 5})).json()
    assert len(recent) == 5
    assert all(o["orderId"] in ids for o in recent)


async def test_transient_faults_are_retried_with_visible_attempts(
    settings_factory: Callable[..., Settings],
) -> None:
    # A small latency scale keeps blockhash expiry (150 blocks) short for dropped sends.
    faulty = settings_factory(fault_rate=0.6, max_attempts=5, latency_scale=0.01)
    async for server in serve_engine(faulty):
        ids = await asyncio.gather(*(submit(server) for _ in range(12)))
        logs = await asyncio.gather(*(follow(server, i, "?since=0") for i in ids))
        retries = [f for frames in logs for f in frames if f["type"] == "pending" and f["seq"] > 1]
        assert retries, "a 60 % fault rate should cause at least one retry in 12 orders"
        for retry in retries:
            assert retry["attempt"] >= 2
            assert retry["retryInMs"] > 0
            assert retry["error"]
        for frames in logs:
            assert_stream_well_formed(frames)


async def test_exhausted_attempts_fail_with_code_and_reason(
    settings_factory: Callable[..., Settings],
) -> None:
    async for server in serve_engine(
        settings_factory(fault_rate=1.0, max_attempts=3, latency_scale=0.01)
    ):
        order_id = await submit(server)
        frames = await follow(server, order_id, "?since=0")
        failed = frames[-1]
        assert failed["type"] == "failed"
        assert failed["error"]
        assert "3 attempts" in failed["reason"]
        assert [f["attempt"] for f in frames if f["type"] == "routing"] == [1, 2, 3]
        stored = (await server.client.get(f"/api/orders/{order_id}")).json()
        assert stored["status"] == "failed"
        assert stored["error"] == failed["error"]
        assert len(stored["attempts"]) == 3


async def test_order_lost_before_enqueue_is_recovered(engine_server: EngineServer) -> None:
    """An order persisted but never queued (a crash in between) still reaches confirmed."""
    from oee.domain.orders import Order, SubmitOrder

    engine = engine_server.engine
    order, event = Order.accept(
        SubmitOrder.parse("SOL", "USDC", "0.5", 50),
        "6f1c1d2e-0000-4000-8000-000000000001",
        engine.clock.now(),
    )
    await engine.store.create(order, event)  # no enqueue: the recovery sweep must find it
    frames = await follow(engine_server, order.id)
    assert final_status(frames) == "confirmed"
