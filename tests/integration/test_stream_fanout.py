"""Many streams on one API process cost the database what one does (issue 13's fan-out bug).

Each firehose client used to check each of its quiet orders against the event log every 2 s,
and each order stream its own order: the log reads grew with the number of clients (1,000
firehose clients x 20 quiet orders: ~10,000 reads/s), exhausted the connection pool and failed
streams with 1011. The process now checks once (`StreamHub`) and shares its reads
(`StreamReads`); a pool that times out is a busy dependency: 1013, never 1011.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy.exc

from oee.api import stream_hub
from oee.domain.events import OrderEvent
from tests.support.api import Api, Driver, recv_json, recv_until_closed

CHECK_S = 0.25  # the log watch's interval in these tests (2 s in service)
PERIODS = 4
QUIET_ORDERS = 5


@pytest.fixture
def counted_reads(api: Api, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every read of the event log, as (order id, after seq); streams unlimited per client."""
    reads: list[tuple[str, int]] = []
    events = api.engine.orders.events

    async def counting(order_id: str, after_seq: int = 0) -> list[OrderEvent]:
        reads.append((order_id, after_seq))
        return await events(order_id, after_seq)

    monkeypatch.setattr(api.engine.orders, "events", counting)
    monkeypatch.setattr(stream_hub, "LOG_CHECK_INTERVAL_S", CHECK_S)
    no_cap = api.engine.settings.model_copy(update={"max_streams_per_key": None})
    monkeypatch.setattr(api.engine, "settings", no_cap)
    return reads


async def reads_while_open(api: Api, reads: list[tuple[str, int]], paths: list[str]) -> int:
    """Log reads during `PERIODS` check intervals with a client on each of `paths`."""
    async with contextlib.AsyncExitStack() as stack:
        sockets = await asyncio.gather(*(stack.enter_async_context(api.ws(p)) for p in paths))
        for ws in sockets:
            assert (await recv_json(ws))["type"] == "snapshot"
        await asyncio.sleep(CHECK_S)  # settled: every stream started
        before = len(reads)
        await asyncio.sleep(CHECK_S * PERIODS)
        return len(reads) - before


async def test_firehose_log_reads_do_not_grow_with_the_clients(
    api: Api, driver: Driver, counted_reads: list[tuple[str, int]]
) -> None:
    for _ in range(QUIET_ORDERS):
        await driver.submit()  # and left quiet: the log watch checks them
    one = await reads_while_open(api, counted_reads, ["/ws/orders?recent=0"])
    many = await reads_while_open(api, counted_reads, ["/ws/orders?recent=0"] * 25)
    per_order_per_period = QUIET_ORDERS * (PERIODS + 1)  # + 1: a period boundary's slack
    assert 0 < one <= per_order_per_period  # the watch runs: a dropped last event is found
    assert many <= per_order_per_period  # not 25 times as many


async def test_order_stream_log_reads_do_not_grow_with_the_clients(
    api: Api, driver: Driver, counted_reads: list[tuple[str, int]]
) -> None:
    order_id = await driver.submit()
    one = await reads_while_open(api, counted_reads, [f"/ws/orders/{order_id}"])
    many = await reads_while_open(api, counted_reads, [f"/ws/orders/{order_id}"] * 25)
    assert 0 < one <= PERIODS + 1
    assert many <= PERIODS + 1


async def test_a_dropped_last_event_reaches_every_client_from_one_read(
    api: Api, driver: Driver, counted_reads: list[tuple[str, int]]
) -> None:
    order_id = await driver.submit()
    paths = ["/ws/orders?recent=0"] * 10 + [f"/ws/orders/{order_id}"] * 10
    async with contextlib.AsyncExitStack() as stack:
        sockets = await asyncio.gather(*(stack.enter_async_context(api.ws(p)) for p in paths))
        for ws in sockets:
            assert (await recv_json(ws))["type"] == "snapshot"
        await driver.advance(order_id, "routing")  # heard by all: the firehoses follow it
        for ws in sockets:
            assert (await recv_json(ws))["seq"] == 2
        before = len(counted_reads)
        await driver.advance(order_id, "building", publish=False)  # dropped: nothing follows
        received = [await recv_json(ws, within=5) for ws in sockets]
    assert {(f["orderId"], f["seq"], f["type"]) for f in received} == {(order_id, 3, "building")}
    assert [f["seq"] for f in received].count(3) == len(sockets)  # once each
    recovering = [r for r in counted_reads[before:] if r[0] == order_id]
    assert len(recovering) <= 2  # one check found it, at most one more before it was heard


def pool_timeout() -> Exception:
    return sqlalchemy.exc.TimeoutError(
        "QueuePool limit of size 10 overflow 10 reached, connection timed out, timeout 30.00"
    )


@pytest.mark.parametrize("api_deployment", ["embedded"], indirect=True)  # no database needed
@pytest.mark.parametrize("stream", ["order", "firehose"])
async def test_a_pool_timeout_is_busy_1013_not_an_internal_error(
    api: Api, driver: Driver, monkeypatch: pytest.MonkeyPatch, stream: str
) -> None:
    order_id = await driver.submit()

    def failing(*_: Any, **__: Any) -> Callable[..., Awaitable[Any]]:
        async def fail(*_: Any, **__: Any) -> Any:
            raise pool_timeout()

        return fail

    name = "get" if stream == "order" else "active"
    monkeypatch.setattr(api.engine.orders, name, failing())
    path = f"/ws/orders/{order_id}" if stream == "order" else "/ws/orders"
    async with api.ws(path) as ws:
        frames, code = await recv_until_closed(ws, within=5)
    assert [(f["type"], f["code"]) for f in frames] == [("error", "SERVICE_UNAVAILABLE")]
    assert "order store" in frames[0]["message"]
    assert code == 1013
