"""The recovery sweep: finds unfinished orders that no live job holds and queues them again.

Orders get orphaned when a process dies between the database write and the enqueue, when Redis
loses its jobs (the production Redis keeps nothing on disk), or when the embedded process
restarts. Enqueueing is idempotent (the job id is the order id), so the sweep can be blunt:
every unfinished order untouched for a while is enqueued, and a live job makes that a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog

from oee.domain.ports import Clock, JobQueue, OrderStore

log = structlog.get_logger(__name__)

BATCH = 1000


class RecoverySweep:
    """Periodically re-enqueues unfinished orders older than `stale_after_s`."""

    def __init__(
        self,
        store: OrderStore,
        queue: JobQueue,
        clock: Clock,
        *,
        interval_s: float,
        stale_after_s: float,
    ) -> None:
        self.store = store
        self.queue = queue
        self.clock = clock
        self.interval_s = interval_s
        self.stale_after_s = stale_after_s

    async def sweep(self, stale_after_s: float | None = None) -> int:
        """Enqueue every unfinished order last changed more than `stale_after_s` ago.

        Args:
            stale_after_s: Overrides the configured age; 0 takes every unfinished order
                (at start-up, when nothing in this process holds any job yet).

        Returns:
            How many orders were enqueued (most are no-ops when a job still holds them).
        """
        age = self.stale_after_s if stale_after_s is None else stale_after_s
        # One batch a sweep: enqueueing does not touch updated_at, so a larger backlog is taken
        # by the next sweeps rather than by paging here over rows that did not change.
        ids = await self.store.unfinished(self.clock.now() - timedelta(seconds=age), BATCH)
        for order_id in ids:
            await self.queue.enqueue(order_id)
        total = len(ids)
        # Expired idempotency keys go with the same beat; an indexed delete, usually of nothing.
        await self.store.purge_idempotency_keys(self.clock.now())
        if total:
            log.info("recovery_enqueued", count=total)
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every `interval_s` until `stop` is set; errors are logged, never fatal."""
        first = True
        while not stop.is_set():
            try:
                await self.sweep(0 if first else None)
                first = False
            except Exception:
                log.warning("recovery_sweep_failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
