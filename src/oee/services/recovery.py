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

BATCH = 200


class RecoverySweep:
    """Every `interval_s`, re-enqueues up to `batch` unfinished orders older than
    `stale_after_s` that no job of this process holds.

    Past capacity the queue is long and most unfinished orders are simply waiting their turn:
    their jobs exist, so enqueueing them is a no-op, but each no-op is still a Redis call. The
    sweep therefore skips what this process holds (`JobQueue.held`: every queued id in memory,
    the running jobs on BullMQ) and does at most `batch` enqueues a sweep, so it never competes
    with the work it is meant to rescue.
    """

    def __init__(
        self,
        store: OrderStore,
        queue: JobQueue,
        clock: Clock,
        *,
        interval_s: float,
        stale_after_s: float,
        batch: int = BATCH,
    ) -> None:
        self.store = store
        self.queue = queue
        self.clock = clock
        self.interval_s = interval_s
        self.stale_after_s = stale_after_s
        self.batch = batch

    async def sweep(self, stale_after_s: float | None = None) -> int:
        """Enqueue up to `batch` unfinished orders last changed more than `stale_after_s` ago
        that this process does not hold.

        Args:
            stale_after_s: Overrides the configured age; 0 takes every unfinished order
                (at start-up, when nothing in this process holds any job yet).

        Returns:
            How many orders were enqueued (a no-op for those whose job lives elsewhere).
        """
        age = self.stale_after_s if stale_after_s is None else stale_after_s
        held = self.queue.held()
        # One read a sweep, enough to see `batch` past the ones held here: enqueueing does not
        # touch updated_at, so a larger backlog is taken by the next sweeps rather than by
        # paging here over rows that did not change.
        before = self.clock.now() - timedelta(seconds=age)
        ids = await self.store.unfinished(before, self.batch + len(held))
        orphans = [order_id for order_id in ids if order_id not in held][: self.batch]
        for order_id in orphans:
            await self.queue.enqueue(order_id)
        total = len(orphans)
        # Expired idempotency keys go with the same beat; an indexed delete, usually of nothing.
        await self.store.purge_idempotency_keys(self.clock.now())
        if total:
            log.info("recovery_enqueued", count=total, skipped_held=len(ids) - total)
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
