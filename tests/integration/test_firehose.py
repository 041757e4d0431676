"""`WS /ws/orders` (the firehose) with the real `websockets` client, in both deployments.

`Driver` moves orders the way the executor does (save, then publish); leaving out the publish
simulates an event that pub/sub dropped. The last test runs a whole engine with its worker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from oee.api import firehose
from oee.api.firehose import SeenOrders
from oee.domain.orders import Order, SubmitOrder
from tests.e2e.conftest import make_settings
from tests.e2e.conftest import serve as serve_engine
from tests.integration.conftest import Api, Driver, recv_json, recv_until_closed

HAPPY = ("routing", "building", "submitted", "confirmed")


def by_order(frames: list[dict[str, Any]]) -> dict[str, list[tuple[int, str]]]:
    """Each order's (seq, type) pairs in the order they arrived."""
    seen: dict[str, list[tuple[int, str]]] = {}
    for frame in frames:
        seen.setdefault(frame["orderId"], []).append((frame["seq"], frame["type"]))
    return seen


async def recv_until(ws: Any, order_id: str, seq: int) -> list[dict[str, Any]]:
    """Frames up to and including `seq` of `order_id`; fails rather than hangs."""
    frames = [await recv_json(ws)]
    while (frames[-1]["orderId"], frames[-1]["seq"]) != (order_id, seq):
        frames.append(await recv_json(ws))
    return frames


async def test_snapshot_is_active_orders_plus_the_recent_newest_first(
    api: Api, driver: Driver
) -> None:
    working = await driver.submit()
    await driver.run(working, "routing")
    done = [await driver.submit() for _ in range(3)]
    for order_id in done:
        await driver.run(order_id, *HAPPY)
    async with api.ws("/ws/orders?recent=1") as ws:
        snapshot = await recv_json(ws)
    assert (snapshot["type"], snapshot["activeCount"]) == ("snapshot", 1)
    assert [o["orderId"] for o in snapshot["orders"]] == [done[-1], working]
    assert snapshot["orders"][1] == (await api.http.get(f"/api/orders/{working}")).json()
    async with api.ws("/ws/orders?recent=0") as ws:
        assert [o["orderId"] for o in (await recv_json(ws))["orders"]] == [working]
    async with api.ws("/ws/orders") as ws:  # recent defaults to 20
        assert len((await recv_json(ws))["orders"]) == 4


async def test_every_event_of_every_order_in_seq_order_and_it_stays_open(
    api: Api, driver: Driver
) -> None:
    async with api.ws("/ws/orders?recent=0") as ws:
        assert (await recv_json(ws))["orders"] == []
        first, second = await driver.submit(), await driver.submit()
        for step in HAPPY:  # interleaved, as concurrent orders are
            await driver.advance(first, step)
            await driver.advance(second, step)
        frames = await recv_until(ws, second, 5)
        later = await driver.submit()  # both finished: the firehose still streams
        assert (await recv_json(ws))["orderId"] == later
    steps = [(1, "pending"), *((seq, step) for seq, step in enumerate(HAPPY, start=2))]
    assert by_order(frames) == {first: steps, second: steps}
    assert frames[-2]["txHash"] == "5igSig"  # events go out exactly as the order stream sends them


async def test_duplicates_and_stale_events_are_sent_once(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    first = (await api.engine.store.events(order_id))[0]
    async with api.ws("/ws/orders?recent=5") as ws:
        await recv_json(ws)  # the snapshot covers seq 1
        await api.engine.bus.publish(first)
        routing = await driver.advance(order_id, "routing")
        await api.engine.bus.publish(routing)
        await api.engine.bus.publish(first)
        await driver.run(order_id, "building", "submitted", "confirmed")
        await api.engine.bus.publish(routing)  # after the terminal event too
        marker = await driver.submit()
        frames = await recv_until(ws, marker, 1)
    assert [seq for seq, _ in by_order(frames)[order_id]] == [2, 3, 4, 5]


async def test_a_gap_is_filled_from_the_log_at_once(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    async with api.ws("/ws/orders") as ws:
        await recv_json(ws)
        started = time.monotonic()
        await driver.advance(order_id, "routing", publish=False)  # dropped by pub/sub
        await driver.advance(order_id, "building", publish=False)
        await driver.advance(order_id, "submitted")
        frames = [await recv_json(ws) for _ in range(3)]
        assert time.monotonic() - started < 1.0  # the gap, not the periodic log check
    assert [(f["seq"], f["type"]) for f in frames] == [
        (2, "routing"),
        (3, "building"),
        (4, "submitted"),
    ]


async def test_an_order_first_heard_of_mid_life_is_sent_from_its_first_event(
    api: Api, driver: Driver
) -> None:
    async with api.ws("/ws/orders?recent=0") as ws:
        await recv_json(ws)
        cmd = SubmitOrder.parse("SOL", "USDC", "2", 50)
        order, pending = Order.accept(
            cmd, "0b6a3a52-3c1e-4c55-9d0e-6f1f3f1d2a10", api.engine.clock.now()
        )
        await api.engine.store.create(order, pending)  # its `pending` never published
        await driver.advance(order.id, "routing")
        frames = [await recv_json(ws) for _ in range(2)]
    assert [(f["seq"], f["type"]) for f in frames] == [(1, "pending"), (2, "routing")]
    assert frames[0]["tokenIn"] == "SOL"


async def test_a_quiet_order_is_checked_against_the_log(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    async with api.ws("/ws/orders") as ws:
        await recv_json(ws)
        started = time.monotonic()
        await driver.advance(order_id, "routing", publish=False)  # the only event, dropped
        frame = await recv_json(ws, within=8)
        assert time.monotonic() - started < 2 * firehose.LOG_CHECK_INTERVAL_S + 1
    assert (frame["orderId"], frame["seq"], frame["type"]) == (order_id, 2, "routing")


@pytest.mark.parametrize("api_deployment", ["embedded"], indirect=True)  # parsing only
@pytest.mark.parametrize("query", ["recent=abc", "recent=-1", "recent=501", "recent=1.5"])
async def test_a_bad_recent_gets_an_error_frame_and_4400(api: Api, query: str) -> None:
    async with api.ws(f"/ws/orders?{query}") as ws:
        frames, code = await recv_until_closed(ws, within=3)
    assert [(f["type"], f["code"]) for f in frames] == [("error", "INVALID_RECENT")]
    assert "recent" in frames[0]["message"]
    assert code == 4400


async def test_a_client_that_leaves_is_unsubscribed(api: Api, driver: Driver) -> None:
    fanout = api.engine.bus._fanout  # type: ignore[attr-defined]
    async with api.ws("/ws/orders") as ws:
        await recv_json(ws)
        assert len(fanout._firehose) == 1
    async with asyncio.timeout(5):
        while fanout._firehose:
            await asyncio.sleep(0.02)


def test_finished_orders_are_forgotten_so_memory_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = SeenOrders()
    for n in range(5):
        seen.record(f"done-{n}", 5, terminal=True, now=0.0)
    seen.record("working", 2, terminal=False, now=0.0)
    seen.forget(now=firehose.FORGET_AFTER_S - 1)
    assert len(seen) == 6
    seen.forget(now=firehose.FORGET_AFTER_S)
    assert (len(seen), seen.last("done-0"), seen.last("working")) == (1, 0, 2)
    monkeypatch.setattr(firehose, "MAX_FINISHED", 3)
    for n in range(10):
        seen.record(f"late-{n}", 5, terminal=True, now=100.0)
    assert len(seen) == 4  # three finished orders and the working one
    assert seen.last("late-9") == 5


def test_quiet_orders_are_checked_quietest_first_and_in_turn() -> None:
    seen = SeenOrders()
    for n in range(4):
        seen.record(f"o{n}", 1, terminal=False, now=float(n))
    seen.record("o0", 2, terminal=False, now=3.5)  # heard of again: no longer the quietest
    assert seen.quiet(now=10.0, older_than_s=2.0, limit=2) == ["o1", "o2"]
    assert seen.quiet(now=10.0, older_than_s=2.0, limit=2) == ["o3", "o0"]
    assert seen.quiet(now=10.0, older_than_s=2.0, limit=2) == []  # all checked just now
    seen.record("o1", 3, terminal=True, now=11.0)
    assert "o1" not in seen.quiet(now=20.0, older_than_s=2.0, limit=10)


@pytest.fixture
async def worked(
    api_servers: dict[str, str], tmp_path: Path
) -> AsyncIterator[Any]:  # an EngineServer: a whole engine with its worker
    servers = {
        "database_url": api_servers.get("postgres_url"),
        "redis_url": api_servers.get("redis_url"),
        "redis_prefix": api_servers.get("redis_prefix", "oee"),
    }
    async for running in serve_engine(make_settings(tmp_path, **servers)):
        yield running


async def test_a_real_worker_s_orders_stream_through_the_firehose(worked: Any) -> None:
    async with connect(worked.ws_url + "/ws/orders?recent=0", open_timeout=10) as ws:
        assert (await recv_json(ws))["type"] == "snapshot"
        body = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 0.5, "slippageBps": 100}
        ids = [
            (await worked.client.post("/api/orders/execute", json=body)).json()["orderId"]
            for _ in range(5)
        ]
        frames: list[dict[str, Any]] = []
        while sum(f["type"] == "confirmed" for f in frames) < len(ids):
            frames.append(await recv_json(ws, within=30))
    streams = by_order(frames)
    assert set(streams) == set(ids)
    for order_id in ids:
        assert [t for _, t in streams[order_id]] == ["pending", *HAPPY]
        assert [s for s, _ in streams[order_id]] == [1, 2, 3, 4, 5]
