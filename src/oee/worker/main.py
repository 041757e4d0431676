"""A worker: consumes order jobs with the executor and runs the recovery sweep.

Small on purpose (saq's worker is the model): the queue adapter owns the N concurrent job
slots, the worker owns one stop event, and `stop()` drains with a hard deadline.
"""

from __future__ import annotations

import asyncio

import structlog

from oee.domain.ports import JobQueue
from oee.services.executor import Executor
from oee.services.recovery import RecoverySweep

log = structlog.get_logger(__name__)


class Worker:
    """Runs the executor for queued orders, `concurrency` at a time, plus the recovery sweep."""

    def __init__(
        self,
        queue: JobQueue,
        executor: Executor,
        recovery: RecoverySweep,
        *,
        concurrency: int,
        grace_s: float,
    ) -> None:
        self.queue = queue
        self.executor = executor
        self.recovery = recovery
        self.concurrency = concurrency
        self.grace_s = grace_s
        self._stop = asyncio.Event()
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start consuming jobs and sweeping; returns at once."""
        await self.queue.consume(self.executor.run, self.concurrency)
        self._sweeper = asyncio.create_task(self.recovery.run(self._stop), name="recovery-sweep")
        log.info("worker_started", concurrency=self.concurrency)

    async def stop(self) -> None:
        """Stop taking jobs, give running orders `grace_s` to finish, leave the rest queued."""
        self._stop.set()
        await self.queue.drain(self.grace_s)
        if self._sweeper is not None:
            await self._sweeper
        log.info("worker_stopped")
