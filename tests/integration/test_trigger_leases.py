"""Armed orders shared out between trigger watchers through the store, on SQLite and PostgreSQL.

Two `TriggerService`s stand for two worker processes on one database: each armed order has
one holder, every crossed order fires exactly once, and a watcher that dies (stops beating
without letting go) has its orders taken over by the other within its lease.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from oee.adapters.bus.memory import MemoryBus
from oee.adapters.clock import SystemClock
from oee.adapters.queue.memory import MemoryQueue
from oee.adapters.store.migrate import migrate
from oee.adapters.store.sqlalchemy import SqlAlchemyStore
from oee.devtools.steered_venue import SteeredVenue
from oee.domain.orders import Order, OrderTerms, SubmitOrder
from oee.services.triggers import TriggerService


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'oee.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlAlchemyStore]:
    await migrate(store_url)
    opened = SqlAlchemyStore.from_url(store_url)
    yield opened
    await opened.close()


async def arm(store: SqlAlchemyStore, limit: str, ttl_s: int = 3600) -> Order:
    now = datetime.now(UTC)
    cmd = SubmitOrder.parse(
        "SOL",
        "USDC",
        "1",
        50,
        terms=OrderTerms(type="limit", limit_price=Decimal(limit), ttl_seconds=ttl_s),
        now=now,
    )
    order, event = Order.accept(cmd, str(uuid.uuid4()), now)
    await store.create(order, event)
    armed = order.arm(now)
    await store.save(order, armed)
    return order


def watcher(
    store: SqlAlchemyStore, venue: SteeredVenue, queue: MemoryQueue, name: str
) -> TriggerService:
    return TriggerService(
        store,
        queue,
        MemoryBus(),
        SystemClock(),
        [venue],  # type: ignore[list-item]
        chain=None,  # type: ignore[arg-type]
        launches=None,
        lease_s=0.6,
        beat_s=0.1,
        poll_s=0.05,
        watcher_id=name,
    )


async def wait_for(condition: object, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_heartbeats_claims_and_takeover_in_the_store(store: SqlAlchemyStore) -> None:
    orders = [await arm(store, "500") for _ in range(3)]
    now = datetime.now(UTC)
    assert await store.heartbeat("a", now + timedelta(seconds=5)) is False  # first beat
    assert await store.heartbeat("a", now + timedelta(seconds=5)) is True
    await store.heartbeat("b", now + timedelta(seconds=5))
    taken = await store.claim_armed("a", now, 100)
    assert {o.id for o in taken} == {o.id for o in orders}
    assert await store.claim_armed("b", now, 100) == []  # a is alive: its orders stay its
    assert await store.claim_order(orders[0].id, "b") is None
    later = now + timedelta(seconds=6)  # a's heartbeat has lapsed, b's is renewed
    await store.heartbeat("b", later + timedelta(seconds=5))
    taken_over = await store.claim_armed("b", later, 100)
    assert {o.id for o in taken_over} == {o.id for o in orders}
    assert await store.heartbeat("a", later + timedelta(seconds=5)) is False  # a learns it


async def test_save_many_skips_a_stale_move_and_writes_the_rest(store: SqlAlchemyStore) -> None:
    first, second = await arm(store, "500"), await arm(store, "500")
    stale = await store.get(second.id)
    assert stale is not None
    now = datetime.now(UTC)
    await store.save(second, second.cancel("gone", now))  # moved on behind the watcher's back
    from oee.domain.triggers import Firing

    moves = [(o, o.fire(Firing(at=now, price=Decimal(501)), now)) for o in (first, stale)]
    assert await store.save_many(moves) == [True, False]
    assert (await store.get(first.id)).status.value == "routing"  # type: ignore[union-attr]
    assert (await store.get(second.id)).status.value == "cancelled"  # type: ignore[union-attr]


async def test_two_watchers_fire_each_order_once_and_take_over_a_dead_one(
    store: SqlAlchemyStore,
) -> None:
    venue, queue = SteeredVenue(Decimal(150)), MemoryQueue()
    orders = [await arm(store, "160") for _ in range(40)]
    a, b = watcher(store, venue, queue, "a"), watcher(store, venue, queue, "b")
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    await a.start(stop_a)
    await b.start(stop_b)
    try:
        await wait_for(lambda: len(a) + len(b) == len(orders))
        assert not set(a.held) & set(b.held)  # one holder each
        # a dies without letting go: its loops stop, its heartbeat lapses.
        held_by_a = set(a.held)
        for task in a._tasks:
            task.cancel()
        await wait_for(lambda: held_by_a <= set(b.held))
        venue.price = Decimal(161)
        # Each order is enqueued once its firing is committed.
        async with asyncio.timeout(10):
            while await queue.depth() < len(orders):
                await asyncio.sleep(0.02)
        for order in orders:
            events = await store.events(order.id)
            assert [e.type for e in events].count("routing") == 1, order.id
            assert (await store.get(order.id)).status.value == "routing"  # type: ignore[union-attr]
        assert len(b) == 0
        assert await queue.depth() == len(orders)
    finally:
        stop_a.set()
        stop_b.set()
        await b.stop()
