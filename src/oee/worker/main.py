"""A worker: consumes order jobs with the executor, watches armed orders' triggers, and runs
the recovery sweep.

Small on purpose (saq's worker is the model): the queue adapter owns the N concurrent job
slots, the worker owns one stop event, and `stop()` drains with a hard deadline.
"""

from __future__ import annotations

import asyncio

import structlog

from oee.domain.ports import JobQueue
from oee.services.executor import Executor
from oee.services.recovery import RecoverySweep
from oee.services.triggers import TriggerService
from oee.services.wallet import WalletFunder

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
        funder: WalletFunder | None = None,
        triggers: TriggerService | None = None,
    ) -> None:
        """Describe the worker; nothing runs before `start`.

        Args:
            queue: Where order jobs come from.
            executor: Runs one order.
            recovery: Re-enqueues orders no live job holds.
            concurrency: Orders executed at once.
            grace_s: On stop, how long running orders may finish.
            funder: Tops the signing wallet up from the faucet before the first job.
            triggers: Holds armed limit and sniper orders and fires them.
        """
        self.queue = queue
        self.executor = executor
        self.recovery = recovery
        self.concurrency = concurrency
        self.grace_s = grace_s
        self.funder = funder
        self.triggers = triggers
        self._stop = asyncio.Event()
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Fund the wallet if it runs low, then start consuming jobs and sweeping."""
        wallet = None
        if self.funder is not None:
            wallet = self.funder.address  # public: the secret never leaves the signer
            await self.funder.ensure_funded()
        if self.triggers is not None:
            await self.triggers.start(self._stop)  # before consuming: armed orders go to it
        await self.queue.consume(self.executor.run, self.concurrency)
        self._sweeper = asyncio.create_task(self.recovery.run(self._stop), name="recovery-sweep")
        log.info("worker_started", concurrency=self.concurrency, wallet=wallet)

    async def stop(self) -> None:
        """Stop taking jobs, give running orders `grace_s` to finish, leave the rest queued."""
        self._stop.set()
        await self.queue.drain(self.grace_s)
        if self.triggers is not None:
            await self.triggers.stop()  # its orders are released: another worker takes them
        if self._sweeper is not None:
            await self._sweeper
        log.info("worker_stopped")
