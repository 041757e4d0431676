"""The `NotionalLimiter` contract, run against every adapter: in memory, and Redis (a real one).

Both get the same steerable clock, so the same orders at the same instants get the same answers
from either, to the micro-dollar. Redis is also checked under concurrency on its own clock,
shared by several limiters as by several worker processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from oee.adapters.notional.memory import MemoryNotionalLimiter
from oee.adapters.notional.redis import RedisNotionalLimiter
from oee.domain.ports import NotionalLimiter
from oee.domain.risk import MICRO_USD, NotionalDecision
from tests.integration.test_ratelimit_contract import SteeredClock

CAP = 1_000 * MICRO_USD  # 1,000 USD a minute


@pytest.fixture
def clock() -> SteeredClock:
    return SteeredClock()


@pytest.fixture(params=["memory", "redis"])
def redis_server(request: pytest.FixtureRequest) -> tuple[str, str] | None:
    if request.param == "memory":
        return None
    return request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")


@pytest.fixture
async def limiter(
    redis_server: tuple[str, str] | None, clock: SteeredClock
) -> AsyncIterator[NotionalLimiter]:
    if redis_server is None:
        yield MemoryNotionalLimiter(clock)
        return
    shared = RedisNotionalLimiter(*redis_server, clock=clock)
    yield shared
    await shared.close()


async def spend(
    limiter: NotionalLimiter, order: str, usd: int, key: str = "desk"
) -> NotionalDecision:
    return await limiter.spend(key, order, usd * MICRO_USD, CAP)


async def test_orders_count_until_the_cap_and_a_refused_one_counts_nothing(
    limiter: NotionalLimiter,
) -> None:
    assert await spend(limiter, "a", 600) == NotionalDecision(True, 600 * MICRO_USD)
    assert await spend(limiter, "b", 500) == NotionalDecision(False, 600 * MICRO_USD)
    assert await spend(limiter, "c", 400) == NotionalDecision(True, 1_000 * MICRO_USD)
    assert await spend(limiter, "d", 1) == NotionalDecision(False, 1_000 * MICRO_USD)


async def test_a_rerun_of_the_same_order_does_not_count_twice(limiter: NotionalLimiter) -> None:
    assert (await spend(limiter, "a", 700)).allowed
    again = await spend(limiter, "a", 700)
    assert again == NotionalDecision(True, 700 * MICRO_USD, replayed=True)
    assert (await spend(limiter, "b", 300)).allowed  # 1,000 in all: "a" is in once


async def test_the_window_slides_a_minute(limiter: NotionalLimiter, clock: SteeredClock) -> None:
    assert (await spend(limiter, "a", 600)).allowed
    clock.advance(30)
    assert (await spend(limiter, "b", 400)).allowed
    assert not (await spend(limiter, "c", 100)).allowed
    clock.advance(30)  # "a" is 60 s old: out of the window
    assert await spend(limiter, "c", 100) == NotionalDecision(True, 500 * MICRO_USD)
    clock.advance(30)  # "b" too
    assert await spend(limiter, "d", 900) == NotionalDecision(True, 1_000 * MICRO_USD)


async def test_keys_have_windows_of_their_own(limiter: NotionalLimiter) -> None:
    assert (await spend(limiter, "a", 1_000, key="desk")).allowed
    assert (await spend(limiter, "b", 1_000, key="bot")).allowed
    assert (await spend(limiter, "c", 1_000, key="")).allowed  # open mode: one window
    assert not (await spend(limiter, "d", 1, key="desk")).allowed


@pytest.mark.redis
async def test_concurrent_workers_never_pass_the_cap_together(
    redis_url: str, redis_prefix: str
) -> None:
    # Four limiters on Redis's own clock, as four worker processes: 40 orders of 100 USD at once.
    limiters = [RedisNotionalLimiter(redis_url, redis_prefix) for _ in range(4)]
    try:
        decisions = await asyncio.gather(
            *(limiters[i % 4].spend("desk", f"order-{i}", 100 * MICRO_USD, CAP) for i in range(40))
        )
        assert sum(d.allowed for d in decisions) == 10
        # Each order run again on another worker (at-least-once delivery) is not counted twice.
        replays = await asyncio.gather(
            *(
                limiters[(i + 1) % 4].spend("desk", f"order-{i}", 100 * MICRO_USD, CAP)
                for i, d in enumerate(decisions)
                if d.allowed
            )
        )
        assert all(r.allowed and r.replayed and r.used == CAP for r in replays)
    finally:
        for one in limiters:
            await one.close()


@pytest.mark.redis
async def test_an_idle_key_leaves_nothing_behind_in_redis(
    redis_url: str, redis_prefix: str
) -> None:
    limiter = RedisNotionalLimiter(redis_url, redis_prefix, window_us=200_000)
    client = aioredis.Redis.from_url(redis_url)
    try:
        assert (await limiter.spend("desk", "a", MICRO_USD, CAP)).allowed
        keys = [k async for k in client.scan_iter(match=f"{redis_prefix}:notional:*")]
        assert len(keys) == 3
        ttls = [await client.pttl(k) for k in keys]
        assert all(0 < ttl <= 200 for ttl in ttls)
        await asyncio.sleep(0.3)
        assert [k async for k in client.scan_iter(match=f"{redis_prefix}:notional:*")] == []
    finally:
        await limiter.close()
        await client.aclose()
