"""The `RateLimiter` contract, run against every adapter: in memory, and Redis (a real one).

Both are given the same steerable clock, so the same requests at the same instants must get
the same answers from either, to the microsecond; nothing here sleeps. Redis is also checked
on its own clock (`TIME`), shared by two limiters as by two API processes, and failing open
when it cannot be reached.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
import structlog

from oee.adapters.ratelimit.memory import MemoryRateLimiter
from oee.adapters.ratelimit.redis import RedisRateLimiter
from oee.domain.ports import RateLimiter
from oee.domain.ratelimit import US, RateDecision, RatePolicy

POLICY = RatePolicy(count=10, period_s=1, burst=3)  # 100 ms apart, 3 at once


class SteeredClock:
    """Seconds, moved only by the test (kept in whole µs, so steps never drift)."""

    def __init__(self) -> None:
        self.us = 1_700_000_000 * US

    def __call__(self) -> float:
        return self.us / US

    def advance(self, seconds: float) -> None:
        self.us += round(seconds * US)


@pytest.fixture
def clock() -> SteeredClock:
    return SteeredClock()


@pytest.fixture(params=["memory", "redis"])
def redis_server(request: pytest.FixtureRequest) -> tuple[str, str] | None:
    """The Redis URL and prefix for the Redis adapter; None for memory. A plain fixture: the
    server fixtures cannot be asked for from inside an async one."""
    if request.param == "memory":
        return None
    return request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")


@pytest.fixture
async def limiter(
    redis_server: tuple[str, str] | None, clock: SteeredClock
) -> AsyncIterator[RateLimiter]:
    if redis_server is None:
        yield MemoryRateLimiter(clock)
        return
    redis_limiter = RedisRateLimiter(*redis_server, clock=clock)
    yield redis_limiter
    await redis_limiter.close()


async def hit(limiter: RateLimiter, key: str = "key:desk") -> RateDecision:
    decision = await limiter.hit(key, POLICY)
    assert decision is not None
    return decision


async def test_a_burst_passes_then_one_is_refused_with_when_to_retry(
    limiter: RateLimiter,
) -> None:
    decisions = [await hit(limiter) for _ in range(4)]
    assert [(d.allowed, d.remaining, d.reset_us) for d in decisions] == [
        (True, 2, 100_000),
        (True, 1, 200_000),
        (True, 0, 300_000),
        (False, 0, 300_000),
    ]
    assert [d.limit for d in decisions] == [3] * 4
    assert decisions[-1].retry_after_us == 100_000
    assert decisions[-1].retry_after_s == 1


async def test_refusals_cost_nothing_and_time_brings_requests_back(
    limiter: RateLimiter, clock: SteeredClock
) -> None:
    for _ in range(3):
        assert (await hit(limiter)).allowed
    for _ in range(5):
        assert not (await hit(limiter)).allowed  # hammering does not push the retry back
    clock.advance(0.099)
    refused = await hit(limiter)
    assert (refused.allowed, refused.retry_after_us) == (False, 1_000)
    clock.advance(0.001)
    assert (await hit(limiter)).allowed
    assert not (await hit(limiter)).allowed
    clock.advance(10)
    assert [(await hit(limiter)).allowed for _ in range(4)] == [True, True, True, False]


async def test_clients_have_budgets_of_their_own(limiter: RateLimiter) -> None:
    for _ in range(3):
        await hit(limiter, "key:alice")
    assert not (await hit(limiter, "key:alice")).allowed
    bob = await hit(limiter, "key:bob")
    assert (bob.allowed, bob.remaining) == (True, 2)
    assert (await hit(limiter, "addr:127.0.0.2")).allowed


async def test_a_steady_client_at_the_rate_is_never_refused(
    limiter: RateLimiter, clock: SteeredClock
) -> None:
    for _ in range(30):
        decision = await hit(limiter)
        assert (decision.allowed, decision.remaining) == (True, 2)
        clock.advance(0.1)


async def test_concurrent_requests_draw_from_one_budget(limiter: RateLimiter) -> None:
    decisions = await asyncio.gather(*(hit(limiter) for _ in range(20)))
    assert sum(d.allowed for d in decisions) == 3
    assert sorted(d.remaining for d in decisions if d.allowed) == [0, 1, 2]


# --- Redis alone ------------------------------------------------------------------------------


async def test_redis_on_its_own_clock_is_shared_by_every_process(
    redis_url: str, redis_prefix: str
) -> None:
    """Two limiters (two API processes) on Redis's `TIME`: one budget per client."""
    slow = RatePolicy(count=1, period_s=3600, burst=4)  # nothing comes back during the test
    first, second = (
        RedisRateLimiter(redis_url, redis_prefix),
        RedisRateLimiter(redis_url, redis_prefix),
    )
    try:
        answers = []
        for limiter in (first, second, first, second, first):
            answers.append(await limiter.hit("key:desk", slow))
        assert [a.allowed for a in answers if a is not None] == [True] * 4 + [False]
        refused = answers[-1]
        assert refused is not None
        assert 3590 <= refused.retry_after_s <= 3600
        client = aioredis.Redis.from_url(redis_url)
        try:
            key = f"{redis_prefix}:ratelimit:key:desk"
            assert 0 < await client.pttl(key) <= 4 * 3600 * 1000  # gone once the bucket is full
        finally:
            await client.aclose()
    finally:
        await first.close()
        await second.close()


async def test_redis_unreachable_fails_open_and_says_so_once() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", "oee-nowhere", timeout_s=0.2, retry_s=60)
    try:
        with structlog.testing.capture_logs() as logs:
            assert await limiter.hit("key:desk", POLICY) is None
            assert await limiter.hit("key:desk", POLICY) is None  # not tried again for retry_s
        assert [entry["event"] for entry in logs] == ["rate_limiter_unavailable"]
        assert logs[0]["log_level"] == "warning"
    finally:
        await limiter.close()
