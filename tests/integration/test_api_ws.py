"""`WS /ws/orders/{id}` with the real `websockets` client, in both deployments.

Events are produced the way the executor produces them (save, then publish) by `Driver`; leaving
out the publish simulates a message that pub/sub dropped.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from oee.adapters.bus.memory import MemoryBus
from oee.adapters.queue.memory import MemoryQueue
from oee.adapters.store.sqlalchemy import SqlAlchemyStore
from oee.bootstrap import Engine
from tests.support.api import (
    Api,
    Driver,
    make_engine,
    production_engine,
    recv_json,
    recv_until_closed,
    serve_api,
)

HAPPY = ("routing", "building", "submitted", "confirmed")


def seqs(frames: list[dict[str, Any]]) -> list[int]:
    return [f["seq"] for f in frames]


async def wait_subscribed(engine: Engine, order_id: str, count: int = 1) -> None:
    """Wait until the server holds `count` subscriptions (the handler has subscribed)."""
    fanout = engine.bus._fanout  # type: ignore[attr-defined]
    async with asyncio.timeout(5):
        while len(fanout._by_order.get(order_id, ())) < count:
            await asyncio.sleep(0.01)


async def test_snapshot_then_every_event_in_order_then_close_1000(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    async with api.ws(f"/ws/orders/{order_id}") as ws:
        snapshot = await recv_json(ws)
        view = (await api.http.get(f"/api/orders/{order_id}")).json()
        assert snapshot == {"type": "snapshot", "orderId": order_id, "seq": 1, "order": view}
        await driver.run(order_id, *HAPPY)
        frames, code = await recv_until_closed(ws)
    assert [f["type"] for f in frames] == list(HAPPY)
    assert seqs(frames) == [2, 3, 4, 5]
    confirmed = frames[-1]
    assert confirmed["orderId"] == order_id
    assert (confirmed["txHash"], confirmed["executedPrice"], confirmed["chosenDex"]) == (
        "5igSig",
        150.18,
        "meteora",
    )
    assert code == 1000


async def test_duplicates_and_stale_events_are_sent_once(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    first = (await api.engine.store.events(order_id))[0]
    async with api.ws(f"/ws/orders/{order_id}") as ws:
        await recv_json(ws)
        await wait_subscribed(api.engine, order_id)
        await api.engine.bus.publish(first)  # already in the snapshot
        routing = await driver.advance(order_id, "routing")
        await api.engine.bus.publish(routing)  # published twice
        await api.engine.bus.publish(first)
        await driver.run(order_id, "building", "submitted", "failed")
        frames, code = await recv_until_closed(ws)
    assert seqs(frames) == [2, 3, 4, 5]
    assert (frames[-1]["type"], frames[-1]["error"], code) == ("failed", "SLIPPAGE_EXCEEDED", 1000)


async def test_a_gap_is_filled_from_the_log_at_once(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    async with api.ws(f"/ws/orders/{order_id}") as ws:
        await recv_json(ws)
        started = time.monotonic()
        await driver.advance(order_id, "routing", publish=False)  # dropped by pub/sub
        await driver.advance(order_id, "building", publish=False)
        await driver.advance(order_id, "submitted")
        frames = [await recv_json(ws) for _ in range(3)]
        assert time.monotonic() - started < 1.0  # the gap, not the quiet-spell check
    assert seqs(frames) == [2, 3, 4]
    assert [f["type"] for f in frames] == ["routing", "building", "submitted"]


async def test_a_quiet_subscription_is_checked_against_the_log(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    async with api.ws(f"/ws/orders/{order_id}") as ws:
        await recv_json(ws)
        await driver.advance(order_id, "routing", publish=False)  # the only event, dropped
        started = time.monotonic()
        frame = await recv_json(ws, within=5)
        assert 1.0 < time.monotonic() - started < 4  # ~2 s after the snapshot
    assert (frame["type"], frame["seq"]) == ("routing", 2)


async def test_since_replays_the_log_then_continues_live(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    await driver.run(order_id, "routing", "building", "submitted")
    async with api.ws(f"/ws/orders/{order_id}?since=1") as ws:
        replay = [await recv_json(ws) for _ in range(3)]
        await driver.advance(order_id, "confirmed")
        live, code = await recv_until_closed(ws)
    assert [f["type"] for f in replay] == ["routing", "building", "submitted"]
    assert seqs(replay) == [2, 3, 4]
    assert (seqs(live), code) == ([5], 1000)


async def test_since_zero_replays_everything_and_since_current_waits(
    api: Api, driver: Driver
) -> None:
    order_id = await driver.submit()
    await driver.advance(order_id, "routing")
    async with api.ws(f"/ws/orders/{order_id}?since=0") as ws:
        assert seqs([await recv_json(ws), await recv_json(ws)]) == [1, 2]
    async with api.ws(f"/ws/orders/{order_id}?since=2") as ws:
        await wait_subscribed(api.engine, order_id)
        await driver.run(order_id, "building", "failed")
        frames, code = await recv_until_closed(ws)
    assert (seqs(frames), code) == ([3, 4], 1000)


async def test_a_finished_order_closes_right_after_snapshot_or_replay(
    api: Api, driver: Driver
) -> None:
    order_id = await driver.submit()
    await driver.run(order_id, *HAPPY)
    cases = {"": ["snapshot"], "?since=2": ["building", "submitted", "confirmed"], "?since=5": []}
    for query, types in cases.items():
        async with api.ws(f"/ws/orders/{order_id}{query}") as ws:
            frames, code = await recv_until_closed(ws, within=3)
        assert ([f["type"] for f in frames], code) == (types, 1000), query
    assert frames == [] or frames[0]["order"]["status"] == "confirmed"


async def test_the_id_is_case_insensitive(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    async with api.ws(f"/ws/orders/{order_id.upper()}") as ws:
        assert (await recv_json(ws))["orderId"] == order_id


@pytest.mark.parametrize(
    ("path", "code", "close"),
    [
        ("/ws/orders/not-a-uuid", "INVALID_ORDER_ID", 4400),
        ("/ws/orders/" + "x" * 200, "INVALID_ORDER_ID", 4400),
        (f"/ws/orders/{uuid.UUID(int=7)}", "ORDER_NOT_FOUND", 4404),
        ("/ws/orders/{id}?since=abc", "INVALID_SINCE", 4400),
        ("/ws/orders/{id}?since=-1", "INVALID_SINCE", 4400),
        ("/ws/orders/{id}?since=1.5", "INVALID_SINCE", 4400),
        ("/ws/orders/{id}?since=", "INVALID_SINCE", 4400),
        ("/ws/orders/{id}?since=99", "INVALID_SINCE", 4400),
        ("/ws/orders/{id}?since=%201", "INVALID_SINCE", 4400),  # no spaces, no sign, ASCII
        ("/ws/orders/{id}?since=+1", "INVALID_SINCE", 4400),
        ("/ws/orders/{id}?since=%D9%A1", "INVALID_SINCE", 4400),
    ],
)
async def test_bad_requests_get_an_error_frame_and_a_4xxx_close(
    api: Api, driver: Driver, path: str, code: str, close: int
) -> None:
    order_id = await driver.submit()
    async with api.ws(path.replace("{id}", order_id)) as ws:
        frames, got = await recv_until_closed(ws, within=3)
    assert len(frames) == 1
    assert (frames[0]["type"], frames[0]["code"], got) == ("error", code, close)
    assert frames[0]["message"]


async def test_an_unknown_websocket_path_is_a_404_with_the_error_body(api: Api) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with api.ws("/ws/orders/"):
            pass
    response = refused.value.response
    assert response.status_code == 404
    assert json.loads(response.body or b"{}")["code"] == "NOT_FOUND"


async def test_a_client_that_leaves_is_unsubscribed(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    fanout = api.engine.bus._fanout  # type: ignore[attr-defined]
    clients = [api.ws(f"/ws/orders/{order_id}") for _ in range(3)]
    sockets = [await c.__aenter__() for c in clients]
    for ws in sockets:
        await recv_json(ws)
    await wait_subscribed(api.engine, order_id, 3)
    await sockets[0].close()
    sockets[1].transport.abort()  # vanishes without a close frame
    async with asyncio.timeout(5):
        while len(fanout._by_order.get(order_id, ())) != 1:
            await asyncio.sleep(0.02)
    await driver.advance(order_id, "routing")  # the one left still streams
    assert (await recv_json(sockets[2]))["seq"] == 2
    await sockets[2].close()
    async with asyncio.timeout(5):
        while fanout._by_order.get(order_id):
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("api_deployment", ["production"], indirect=True)
async def test_events_reach_clients_of_another_api_process(
    api: Api, driver: Driver, api_servers: dict[str, str]
) -> None:
    other_engine = await production_engine(
        api_servers["postgres_url"], api_servers["redis_url"], api_servers["redis_prefix"]
    )
    order_id = await driver.submit()
    other: AsyncIterator[Api] = serve_api(other_engine)
    other_api = await anext(other)
    try:
        async with other_api.ws(f"/ws/orders/{order_id}") as ws:
            assert (await recv_json(ws))["type"] == "snapshot"
            await wait_subscribed(other_engine, order_id)
            await driver.run(order_id, *HAPPY)  # published by the first process's bus
            frames, code = await recv_until_closed(ws)
        assert (seqs(frames), code) == ([2, 3, 4, 5], 1000)
    finally:
        await other.aclose()


async def test_an_unreachable_store_is_reported_not_hung() -> None:
    store = SqlAlchemyStore.from_url("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    async for api in serve_api(make_engine(store, MemoryQueue(), MemoryBus())):
        async with api.ws(f"/ws/orders/{uuid.uuid4()}") as ws:
            frames, code = await recv_until_closed(ws, within=5)
        assert [(f["type"], f["code"]) for f in frames] == [("error", "SERVICE_UNAVAILABLE")]
        assert "order store" in frames[0]["message"]
        assert code == 1013
