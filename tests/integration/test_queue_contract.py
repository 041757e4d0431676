"""The `JobQueue` contract, run against every adapter: in-memory, and BullMQ on a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from redis.exceptions import RedisError

from oee.adapters.queue import bullmq as bullmq_adapter
from oee.adapters.queue.bullmq import BullMQQueue
from oee.adapters.queue.memory import MemoryQueue
from oee.domain.ports import JobQueue

# Short locks so a cut-off job comes back within seconds (production: 10 s / 5 s).
LOCK_MS = 2_000
STALLED_MS = 1_000
RETRY_S = 0.2
REDELIVERY_S = (LOCK_MS + 2 * STALLED_MS) / 1000 + 3

Connect = Callable[[], JobQueue]


@pytest.fixture(params=["memory", pytest.param("bullmq", marks=pytest.mark.redis)])
def redis_target(request: pytest.FixtureRequest) -> tuple[str, str] | None:
    """None for the in-memory adapter; the test's Redis URL and key prefix for BullMQ."""
    if request.param == "memory":
        return None
    return request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")


@pytest.fixture
async def connect(redis_target: tuple[str, str] | None) -> AsyncIterator[Connect]:
    """Opens handles onto one queue: the same object in memory, a new client per call on Redis.

    A second handle stands for a second worker process.
    """
    opened: list[JobQueue] = []
    if redis_target is None:
        shared = MemoryQueue(retry_delay_s=RETRY_S)

        def connect() -> JobQueue:
            opened.append(shared)
            return shared

    else:
        url, prefix = redis_target

        def connect() -> JobQueue:
            queue = BullMQQueue(
                url,
                prefix,
                lock_duration_ms=LOCK_MS,
                stalled_interval_ms=STALLED_MS,
                retry_delay_ms=int(RETRY_S * 1000),
            )
            opened.append(queue)
            return queue

    yield connect
    for queue in opened:  # twice for the shared memory queue: close must be idempotent
        await asyncio.wait_for(queue.close(), 10)


@pytest.fixture
def queue(connect: Connect) -> JobQueue:
    return connect()


async def wait_until(condition: Callable[[], bool], within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.01)


class Recorder:
    """A handler that records the ids it is given."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, order_id: str) -> None:
        self.seen.append(order_id)


async def test_handler_receives_the_enqueued_order_id(queue: JobQueue) -> None:
    handler = Recorder()
    await queue.consume(handler, concurrency=2)
    await queue.enqueue("order-1")
    await wait_until(lambda: handler.seen == ["order-1"])


async def test_enqueue_while_waiting_or_running_runs_the_handler_once(queue: JobQueue) -> None:
    release = asyncio.Event()
    seen: list[str] = []

    async def handler(order_id: str) -> None:
        seen.append(order_id)
        await release.wait()

    await queue.enqueue("order-1")
    await queue.enqueue("order-1")  # waiting
    assert await queue.depth() == 1
    await queue.consume(handler, concurrency=2)
    await wait_until(lambda: seen == ["order-1"])
    await queue.enqueue("order-1")  # running
    release.set()
    await asyncio.sleep(0.3)  # a second job would have run by now
    assert seen == ["order-1"]


async def test_at_most_concurrency_handlers_run_at_once(queue: JobQueue) -> None:
    running = peak = 0
    done: list[str] = []

    async def handler(order_id: str) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        done.append(order_id)

    for n in range(10):
        await queue.enqueue(f"order-{n}")
    await queue.consume(handler, concurrency=3)
    await wait_until(lambda: len(done) == 10)
    assert peak == 3


async def test_a_raising_handler_gets_the_job_again_until_it_completes(queue: JobQueue) -> None:
    seen: list[str] = []

    async def handler(order_id: str) -> None:
        seen.append(order_id)
        if len(seen) == 1:
            raise RuntimeError("database unavailable")

    await queue.consume(handler, concurrency=1)
    await queue.enqueue("order-1")
    await wait_until(lambda: len(seen) == 2)
    await asyncio.sleep(RETRY_S * 2)  # completed: no third run
    assert seen == ["order-1", "order-1"]
    assert await queue.depth() == 0


async def test_a_completed_order_can_be_enqueued_and_run_again(queue: JobQueue) -> None:
    handler = Recorder()
    await queue.consume(handler, concurrency=1)
    await queue.enqueue("order-1")
    await wait_until(lambda: len(handler.seen) == 1)
    # The job is removed just after the handler returns; until then enqueue is a no-op.
    async with asyncio.timeout(5):
        while len(handler.seen) < 2:
            await queue.enqueue("order-1")
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    assert handler.seen == ["order-1", "order-1"]


async def test_drain_waits_for_a_running_handler_within_grace(queue: JobQueue) -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def handler(order_id: str) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.append(order_id)

    await queue.consume(handler, concurrency=2)
    await queue.enqueue("order-1")
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(queue.drain(grace_s=5), 3)
    assert finished == ["order-1"]
    assert await queue.depth() == 0


async def test_a_drained_queue_takes_no_new_jobs(queue: JobQueue) -> None:
    handler = Recorder()
    await queue.consume(handler, concurrency=2)
    await asyncio.wait_for(queue.drain(grace_s=1), 3)
    await queue.enqueue("order-1")
    await asyncio.sleep(0.3)
    assert handler.seen == []
    assert await queue.depth() == 1


async def test_a_job_cut_off_by_drain_is_delivered_again(connect: Connect) -> None:
    """A worker that stops (or dies) mid-job: the job reaches another worker (at least once)."""
    first, started = connect(), asyncio.Event()

    async def stuck(order_id: str) -> None:
        started.set()
        await asyncio.Event().wait()

    await first.consume(stuck, concurrency=1)
    await first.enqueue("order-1")
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(first.drain(grace_s=0.1), 3)

    second, handler = connect(), Recorder()
    await second.consume(handler, concurrency=1)
    await wait_until(lambda: handler.seen == ["order-1"], within=REDELIVERY_S)


async def test_depth_counts_waiting_jobs(queue: JobQueue) -> None:
    assert await queue.depth() == 0
    for order_id in ("a", "b", "c", "a"):
        await queue.enqueue(order_id)
    assert await queue.depth() == 3


async def test_oldest_waiting_since_is_when_the_head_of_the_line_was_queued(
    queue: JobQueue,
) -> None:
    assert await queue.oldest_waiting_since() is None
    before = datetime.now(UTC) - timedelta(seconds=1)  # BullMQ stamps in whole ms
    await queue.enqueue("a")
    await asyncio.sleep(0.05)
    await queue.enqueue("b")
    oldest = await queue.oldest_waiting_since()
    assert oldest is not None
    assert before <= oldest <= datetime.now(UTC)
    release, started = asyncio.Event(), asyncio.Event()

    seen: list[str] = []

    async def handler(order_id: str) -> None:
        seen.append(order_id)
        started.set()
        await release.wait()

    await queue.consume(handler, concurrency=1)  # takes "a": "b" heads the line now
    await asyncio.wait_for(started.wait(), 5)
    later = await queue.oldest_waiting_since()
    assert later is not None
    assert later > oldest
    release.set()
    await wait_until(lambda: seen == ["a", "b"])
    assert await queue.oldest_waiting_since() is None


async def test_held_names_the_jobs_this_process_runs_until_they_finish(queue: JobQueue) -> None:
    release = asyncio.Event()

    async def handler(order_id: str) -> None:
        await release.wait()

    await queue.consume(handler, concurrency=2)
    await queue.enqueue("order-1")
    await wait_until(lambda: queue.held() == {"order-1"})
    release.set()
    await wait_until(lambda: queue.held() == frozenset())


async def test_an_enqueue_only_queue_pings_and_closes(queue: JobQueue) -> None:
    """API processes only enqueue; they close without ever consuming."""
    await queue.ping()
    await queue.enqueue("order-1")
    await asyncio.wait_for(queue.close(), 5)


async def test_bullmq_gives_up_quickly_when_redis_is_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """BullMQ's client retries for minutes; health checks and the API must not wait that long."""
    monkeypatch.setattr(bullmq_adapter, "_PING_TIMEOUT_S", 0.3)
    monkeypatch.setattr(bullmq_adapter, "_ENQUEUE_TIMEOUT_S", 0.3)
    queue = BullMQQueue(
        "redis://127.0.0.1:1/0", "oee", lock_duration_ms=1000, stalled_interval_ms=500
    )
    with pytest.raises((TimeoutError, OSError, RedisError)):
        await queue.ping()
    with pytest.raises((TimeoutError, OSError, RedisError)):
        await queue.enqueue("order-1")
    await asyncio.wait_for(queue.close(), 5)


async def test_started_since_counts_the_jobs_taken_after_a_time(queue: JobQueue) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    handler = Recorder()
    for n in range(3):
        await queue.enqueue(f"order-{n}")
    assert await queue.started_since(before) == 0
    await queue.consume(handler, concurrency=2)
    await wait_until(lambda: len(handler.seen) == 3)
    assert await queue.started_since(before) == 3
    assert await queue.started_since(datetime.now(UTC) + timedelta(seconds=5)) == 0
