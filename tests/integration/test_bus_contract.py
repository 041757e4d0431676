"""The `EventBus` contract, run against every adapter: in-memory, and Redis pub/sub for real."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from oee.adapters.bus._fanout import DEFAULT_BUFFER
from oee.adapters.bus.memory import MemoryBus
from oee.adapters.bus.redis import RedisBus
from oee.domain.events import OrderEvent
from oee.domain.ports import EventBus, Subscription

Connect = Callable[..., Awaitable[EventBus]]
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def redis_target(request: pytest.FixtureRequest) -> tuple[str, str] | None:
    """None for the in-memory adapter; the test's Redis URL and key prefix for Redis."""
    if request.param == "memory":
        return None
    return request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")


@pytest.fixture
async def connect(redis_target: tuple[str, str] | None) -> AsyncIterator[Connect]:
    """Opens started handles onto one bus: the same object in memory, a new one per call on Redis.

    A second handle stands for a second process.
    """
    opened: list[EventBus] = []
    shared: list[MemoryBus] = []

    async def connect(buffer_size: int = DEFAULT_BUFFER) -> EventBus:
        bus: EventBus
        if redis_target is None:
            if not shared:
                shared.append(MemoryBus(buffer_size=buffer_size))
            bus = shared[0]
        else:
            bus = RedisBus(*redis_target, buffer_size=buffer_size)
        await asyncio.wait_for(bus.start(), 5)
        opened.append(bus)
        return bus

    yield connect
    for bus in opened:  # twice for the shared memory bus: close must be idempotent
        await asyncio.wait_for(bus.close(), 5)


def event(order_id: str, seq: int) -> OrderEvent:
    return OrderEvent(
        order_id=order_id,
        seq=seq,
        type="confirmed" if seq == 5 else "routing",
        at=T0 + timedelta(seconds=seq),
        attempt=1,
        details={"txHash": f"sig-{seq}", "executedPrice": 123.45, "chosenDex": "meteora"},
    )


async def take(subscription: Subscription, count: int, within: float = 3.0) -> list[OrderEvent]:
    """The next `count` events, or fewer if the subscription ends."""
    got: list[OrderEvent] = []
    async with asyncio.timeout(within):
        async for item in subscription:
            got.append(item)
            if len(got) == count:
                break
    return got


async def test_an_order_subscriber_gets_only_its_order_in_publish_order(connect: Connect) -> None:
    bus = await connect()
    subscription = bus.subscribe("a")
    for published in [event("a", 1), event("b", 1), event("a", 2), event("b", 2), event("a", 3)]:
        await bus.publish(published)
    assert await take(subscription, 3) == [event("a", 1), event("a", 2), event("a", 3)]


async def test_the_firehose_gets_every_order(connect: Connect) -> None:
    bus = await connect()
    firehose = bus.subscribe(None)
    published = [event("a", 1), event("b", 1), event("a", 2), event("c", 1)]
    for item in published:
        await bus.publish(item)
    assert await take(firehose, 4) == published


async def test_processes_receive_each_others_publishes(connect: Connect) -> None:
    api, worker = await connect(), await connect()
    on_api, on_worker = api.subscribe("a"), worker.subscribe(None)
    await worker.publish(event("a", 1))  # right after start: the subscription is already live
    await api.publish(event("a", 2))
    assert await take(on_api, 2) == [event("a", 1), event("a", 2)]
    assert await take(on_worker, 2) == [event("a", 1), event("a", 2)]


async def test_close_ends_iteration(connect: Connect) -> None:
    bus = await connect()
    subscription = bus.subscribe("a")
    reader = asyncio.create_task(take(subscription, 1))
    await asyncio.sleep(0.05)
    subscription.close()
    subscription.close()
    assert await asyncio.wait_for(reader, 1) == []
    await bus.publish(event("a", 1))
    assert await take(subscription, 1) == []


async def test_closing_the_bus_ends_every_subscription(connect: Connect) -> None:
    bus = await connect()
    readers = [asyncio.create_task(take(bus.subscribe(key), 1)) for key in ("a", None)]
    await asyncio.sleep(0.05)
    await bus.close()
    assert await asyncio.wait_for(asyncio.gather(*readers), 1) == [[], []]
    assert await take(bus.subscribe("a"), 1) == []


async def test_a_slow_subscriber_loses_the_oldest_events_not_the_newest(connect: Connect) -> None:
    bus = await connect(buffer_size=5)
    slow, firehose = bus.subscribe("a"), bus.subscribe(None)
    for seq in range(1, 9):
        await bus.publish(event("a", seq))
        # Once the keen reader has it, it is in `slow`'s buffer too (same dispatch).
        assert [e.seq for e in await take(firehose, 1)] == [seq]
    assert [e.seq for e in await take(slow, 5)] == [4, 5, 6, 7, 8]
    await bus.publish(event("a", 9))
    assert [e.seq for e in await take(slow, 1)] == [9]


async def test_ping(connect: Connect) -> None:
    bus = await connect()
    await asyncio.wait_for(bus.ping(), 3)


@pytest.mark.redis
async def test_redis_bus_resubscribes_after_its_connection_is_killed(
    redis_url: str, redis_prefix: str
) -> None:
    bus = RedisBus(redis_url, redis_prefix)
    await bus.start()
    admin = aioredis.Redis.from_url(redis_url)
    try:
        reader = asyncio.create_task(take(bus.subscribe(None), 1, within=5))
        (victim,) = [c for c in await admin.client_list() if c["name"] == f"{redis_prefix}:bus:sub"]
        await admin.client_kill_filter(_id=victim["id"])
        # Publishes during the outage are lost (pub/sub): keep publishing until one arrives.
        seq = 0
        while not reader.done():
            seq += 1
            await bus.publish(event("a", seq))
            await asyncio.wait({reader}, timeout=0.1)
        assert reader.result()[0].order_id == "a"
    finally:
        await admin.aclose()
        await bus.close()


async def test_redis_bus_without_redis_fails_start_but_never_publish() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", "oee")
    with pytest.raises((RedisError, OSError)):
        await asyncio.wait_for(bus.start(), 5)
    await asyncio.wait_for(bus.publish(event("a", 1)), 5)  # logged, not raised
    with pytest.raises((RedisError, OSError)):
        await asyncio.wait_for(bus.ping(), 5)
    await bus.close()
