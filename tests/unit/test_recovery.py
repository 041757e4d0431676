"""The recovery sweep: only orders no job of this process holds, at most a batch a sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oee.adapters.queue.memory import MemoryQueue
from oee.services.recovery import RecoverySweep

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


class Clock:
    def now(self) -> datetime:
        return NOW


class Store:
    """Unfinished orders, oldest first, each last changed a minute ago."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.limits: list[int] = []

    async def unfinished(self, updated_before: datetime, limit: int) -> list[str]:
        self.limits.append(limit)
        stale = updated_before >= NOW - timedelta(minutes=1)
        return self.ids[:limit] if stale else []

    async def purge_idempotency_keys(self, now: datetime) -> int:
        return 0


class CountingQueue(MemoryQueue):
    def __init__(self) -> None:
        super().__init__()
        self.enqueued: list[str] = []

    async def enqueue(self, order_id: str) -> None:
        self.enqueued.append(order_id)
        await super().enqueue(order_id)


def sweep_of(store: Store, queue: CountingQueue, batch: int) -> RecoverySweep:
    return RecoverySweep(store, queue, Clock(), interval_s=1, stale_after_s=15, batch=batch)  # type: ignore[arg-type]


async def test_orders_this_process_holds_are_not_enqueued_again() -> None:
    queue = CountingQueue()
    await queue.enqueue("held")
    queue.enqueued.clear()
    store = Store(["held", "orphan"])
    assert await sweep_of(store, queue, batch=10).sweep() == 1
    assert queue.enqueued == ["orphan"]


async def test_a_sweep_enqueues_at_most_a_batch_and_the_next_takes_the_rest() -> None:
    queue = CountingQueue()
    store = Store([f"o{n}" for n in range(7)])
    sweep = sweep_of(store, queue, batch=3)
    assert await sweep.sweep() == 3
    assert queue.enqueued == ["o0", "o1", "o2"]
    # Those are held now (queued here): the next sweep reads past them to the next three.
    assert await sweep.sweep() == 3
    assert queue.enqueued[3:] == ["o3", "o4", "o5"]
    assert store.limits == [3, 6]
    assert await sweep.sweep() == 1
    assert await sweep.sweep() == 0


async def test_orders_changed_recently_are_left_alone() -> None:
    queue = CountingQueue()
    sweep = RecoverySweep(
        Store(["o1"]),
        queue,
        Clock(),
        interval_s=1,
        stale_after_s=120,
        batch=10,  # type: ignore[arg-type]
    )
    assert await sweep.sweep() == 0
    assert await sweep.sweep(stale_after_s=0) == 1  # at start-up every unfinished order
