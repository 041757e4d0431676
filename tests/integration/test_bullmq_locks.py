"""`LockKeeper`: a job keeps its BullMQ lock while the worker's event loop is blocked."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis

from oee.adapters.queue.bullmq import BullMQQueue
from oee.adapters.queue.bullmq_locks import LockKeeper

pytestmark = pytest.mark.redis

LOCK_MS = 1_000


async def test_a_blocked_loop_keeps_its_job_lock(redis_url: str, redis_prefix: str) -> None:
    queue = BullMQQueue(redis_url, redis_prefix, lock_duration_ms=LOCK_MS, stalled_interval_ms=500)
    lock_key = f"{redis_prefix}:bull:orders:order-1:lock"
    client = redis.Redis.from_url(redis_url)
    runs: list[str] = []
    ttl_after_block: list[int] = []

    async def handler(order_id: str) -> None:
        runs.append(order_id)
        # Blocks the loop for 2.5 lock durations: BullMQ's own renewal (a task on this loop)
        # could not run, and the lock would expire.
        time.sleep(2.5 * LOCK_MS / 1000)  # noqa: ASYNC251
        ttl_after_block.append(int(client.pttl(lock_key)))

    try:
        await queue.consume(handler, concurrency=1)
        await queue.enqueue("order-1")
        async with asyncio.timeout(10):
            while not ttl_after_block:
                await asyncio.sleep(0.02)
        assert ttl_after_block[0] > 0  # still locked, by this worker
        async with asyncio.timeout(5):
            while queue.held():
                await asyncio.sleep(0.02)
        await asyncio.sleep(1.5)  # a stalled check would have handed it on by now
        assert runs == ["order-1"]
        assert await queue.depth() == 0
    finally:
        await asyncio.wait_for(queue.close(), 10)
        client.close()


async def test_a_lock_that_is_not_ours_is_reported_lost_and_dropped(
    redis_url: str, redis_prefix: str
) -> None:
    keeper = LockKeeper(redis_url, f"{redis_prefix}:bull:orders", lock_duration_ms=LOCK_MS)
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(f"{redis_prefix}:bull:orders:mine:lock", "token-1", px=LOCK_MS)
        client.set(f"{redis_prefix}:bull:orders:taken:lock", "someone-else", px=LOCK_MS)
        keeper.hold("mine", "token-1")
        keeper.hold("taken", "token-2")
        assert keeper.renew() == []  # a failure only makes it suspect (it may have just ended)
        assert keeper.renew() == ["taken"]
        assert keeper.held() == {"mine"}
        assert keeper.lost == 1
        assert client.pttl(f"{redis_prefix}:bull:orders:mine:lock") > 0
        keeper.release("mine")
        assert keeper.held() == frozenset()
    finally:
        keeper.stop()
        client.close()
