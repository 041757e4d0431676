"""The in-process job queue: the embedded default, where API and worker share one process.

Jobs live in this process's memory, so they die with it; that is fine because the database
is the source of truth, and the recovery sweep finds unfinished orders and enqueues them again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime
from functools import partial

import structlog

from oee.domain.ports import JobHandler

log = structlog.get_logger(__name__)

_CANCEL_DEADLINE_S = 1.0  # after the grace period, how long cancelled handlers get to unwind
_STARTS_KEPT = 100_000  # start times remembered for `started_since` (a minute at 1,600/s)


class MemoryQueue:
    """`JobQueue` on asyncio: one dispatcher task plus one task per running job.

    An order id is *held* from `enqueue` until its job completes or gives up, and while it is
    held, `enqueue` is a no-op (the BullMQ adapter gets the same from its job ids). A handler
    that raises is retried after `retry_delay_s`, up to `attempts` runs in all; after that
    the job is dropped and the recovery sweep will find the order again.

    Args:
        attempts: Runs of a failing job before it is dropped.
        retry_delay_s: Wait between a failed run and the next.
    """

    def __init__(self, *, attempts: int = 5, retry_delay_s: float = 1.0) -> None:
        self._attempts = attempts
        self._retry_delay_s = retry_delay_s
        self._waiting: asyncio.Queue[str] = asyncio.Queue()
        self._held: set[str] = set()  # waiting, delayed or running
        # When each waiting id joined the line, in line order (a dict keeps insertion order).
        self._since: dict[str, datetime] = {}
        self._starts: deque[datetime] = deque(maxlen=_STARTS_KEPT)  # when jobs were taken
        self._failures: dict[str, int] = {}
        self._delayed: dict[str, asyncio.TimerHandle] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._dispatcher: asyncio.Task[None] | None = None

    async def enqueue(self, order_id: str) -> None:
        """Queue the order; a no-op while a job for it is waiting, delayed or running."""
        if order_id in self._held:
            return
        self._held.add(order_id)
        self._wait(order_id)

    async def consume(self, handler: JobHandler, concurrency: int) -> None:
        """Start running `handler` for queued jobs, at most `concurrency` at once."""
        if self._dispatcher is not None:
            raise RuntimeError("this queue is already consuming")
        slots = asyncio.Semaphore(concurrency)
        self._dispatcher = asyncio.create_task(
            self._dispatch(handler, slots), name="memory-queue-dispatch"
        )

    async def drain(self, grace_s: float) -> None:
        """Stop taking jobs, give running ones `grace_s`, then cancel them back into the queue."""
        dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is None:
            return
        dispatcher.cancel()
        await asyncio.wait({dispatcher})
        if not self._running:
            return
        _, late = await asyncio.wait(self._running, timeout=grace_s)
        if late:
            log.warning("queue_drain_grace_expired", cancelled=len(late))
            for task in late:
                task.cancel()
            await asyncio.wait(late, timeout=_CANCEL_DEADLINE_S)

    async def depth(self) -> int:
        """Jobs waiting to run, including those waiting out a retry delay."""
        return self._waiting.qsize() + len(self._delayed)

    async def oldest_waiting_since(self) -> datetime | None:
        """When the job at the head of the line was queued (retry delays not counted)."""
        return next(iter(self._since.values()), None)

    async def started_since(self, since: datetime) -> int:
        """Jobs taken since `since` (as far back as the last 100,000 starts)."""
        count = 0
        for at in reversed(self._starts):
            if at < since:
                break
            count += 1
        return count

    def held(self) -> frozenset[str]:
        """Every id queued here and not finished: waiting, delayed or running."""
        return frozenset(self._held)

    async def ping(self) -> None:
        """Always reachable."""

    async def close(self) -> None:
        """Stop consuming at once and cancel pending retries."""
        await self.drain(0)
        for timer in self._delayed.values():
            timer.cancel()
        self._delayed.clear()

    async def _dispatch(self, handler: JobHandler, slots: asyncio.Semaphore) -> None:
        while True:
            await slots.acquire()
            order_id = await self._waiting.get()
            self._since.pop(order_id, None)
            self._starts.append(datetime.now(UTC))
            task = asyncio.create_task(self._run(handler, order_id), name=f"job-{order_id}")
            self._running.add(task)
            task.add_done_callback(partial(self._finished, order_id, slots))

    def _finished(self, order_id: str, slots: asyncio.Semaphore, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        slots.release()
        if task.cancelled():
            # Cut off by `drain` (perhaps before it even started): unfinished, so back in line.
            self._wait(order_id)

    async def _run(self, handler: JobHandler, order_id: str) -> None:
        try:
            await handler(order_id)
        except Exception:
            failures = self._failures[order_id] = self._failures.get(order_id, 0) + 1
            if failures >= self._attempts:
                log.error("job_gave_up", order_id=order_id, attempts=failures, exc_info=True)
                self._forget(order_id)
                return
            log.warning("job_failed_will_retry", order_id=order_id, attempt=failures, exc_info=True)
            loop = asyncio.get_running_loop()
            self._delayed[order_id] = loop.call_later(self._retry_delay_s, self._retry, order_id)
        else:
            self._forget(order_id)

    def _retry(self, order_id: str) -> None:
        del self._delayed[order_id]
        self._wait(order_id)

    def _wait(self, order_id: str) -> None:
        self._since[order_id] = datetime.now(UTC)
        self._waiting.put_nowait(order_id)

    def _forget(self, order_id: str) -> None:
        self._held.discard(order_id)
        self._failures.pop(order_id, None)
