"""Watch exits: one fire, cancel or expiry ends each watch, on SQLite and PostgreSQL.

A fire is decided first (the exits of a batch, committed on their own) and applied after; a
cancel or an expiry takes the exit and moves the order together. These tests race them, re-arm
an order and fire it again, and apply a decision whose move was lost (a crash in between).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from oee.adapters.bus.memory import MemoryBus
from oee.adapters.clock import SystemClock
from oee.adapters.queue.memory import MemoryQueue
from oee.adapters.store.group_commit import GroupCommitStore
from oee.adapters.store.migrate import migrate
from oee.adapters.store.sqlalchemy import SqlAlchemyStore
from oee.devtools.steered_venue import SteeredVenue
from oee.domain.orders import Order, OrderTerms, SubmitOrder
from oee.domain.status import OrderStatus
from oee.domain.triggers import Firing
from oee.services.orders import NotCancellable, OrderService
from oee.services.triggers import TriggerService

Store = SqlAlchemyStore | GroupCommitStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'oee.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=["plain", "group commit"])
async def store(store_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    await migrate(store_url)
    plain = SqlAlchemyStore.from_url(store_url)
    opened: Store = GroupCommitStore(plain) if request.param == "group commit" else plain
    yield opened
    await opened.close()


async def arm(store: Store, ttl_s: int = 3600) -> Order:
    now = datetime.now(UTC)
    terms = OrderTerms(type="limit", limit_price=Decimal("100"), ttl_seconds=ttl_s)
    cmd = SubmitOrder.parse("SOL", "USDC", "1", 50, terms=terms, now=now)
    order, event = Order.accept(cmd, str(uuid.uuid4()), now)
    await store.create(order, event)
    await store.save(order, order.arm(now))
    return order


async def fresh(store: Store, order: Order) -> Order:
    """Another reader's copy of the order (each racer moves its own)."""
    copy = await store.get(order.id)
    assert copy is not None
    return copy


def firing() -> Firing:
    return Firing(at=datetime.now(UTC), price=Decimal("101.5"), venue="raydium", pool="p1")


async def test_a_batch_returns_its_winners_only(store: Store) -> None:
    a, b, c = [await arm(store) for _ in range(3)]
    shared = firing()
    assert await store.decide_fires([(a, shared), (b, shared)]) == [True, True]
    assert await store.decide_fires([(a, shared), (b, firing()), (c, shared)]) == [
        False,
        False,
        True,
    ]
    # The rows have not moved: the decisions are found, with the firing that won.
    decided = await store.fire_decisions([await fresh(store, o) for o in (a, b, c)])
    assert decided == {a.id: shared, b.id: shared, c.id: shared}
    assert await store.decide_fires([]) == []


@pytest.mark.parametrize("rounds", [8])
async def test_fire_cancel_and_expire_race_with_exactly_one_winner(
    store: Store, rounds: int
) -> None:
    for _ in range(rounds):
        order = await arm(store)
        fire_copy, cancel_copy, expire_copy = [await fresh(store, order) for _ in range(3)]
        now = datetime.now(UTC)
        results = await asyncio.gather(
            store.decide_fires([(fire_copy, firing())]),
            store.end_watches([(cancel_copy, cancel_copy.cancel("client", now))]),
            store.end_watches([(expire_copy, expire_copy.expire(now))]),
        )
        won = [r[0] for r in results]
        assert won.count(True) == 1, won
        stored = await fresh(store, order)
        if won[0]:  # decided, not applied: the row still watches, the decision is stored
            assert stored.status is OrderStatus.WATCHING
            assert order.id in await store.fire_decisions([stored])
        else:
            expected = OrderStatus.CANCELLED if won[1] else OrderStatus.EXPIRED
            assert stored.status is expected
            assert await store.fire_decisions([stored]) == {}


async def test_a_cancel_after_a_fire_decision_is_refused_as_triggered(store: Store) -> None:
    order = await arm(store)
    service = OrderService(store, MemoryQueue(), MemoryBus(), SystemClock())
    watching = await fresh(store, order)
    assert await store.decide_fires([(watching, firing())]) == [True]
    with pytest.raises(NotCancellable, match="was triggered") as refused:
        await service.cancel(order.id)  # the move has not landed: the row says watching
    assert refused.value.order.status is OrderStatus.WATCHING
    fired = firing()
    assert await store.save_many([(watching, watching.fire(fired, fired.at))]) == [True]
    with pytest.raises(NotCancellable, match="is routing"):
        await service.cancel(order.id)


async def test_a_cancel_first_wins_and_the_fire_finds_it_lost(store: Store) -> None:
    order = await arm(store)
    stale = await fresh(store, order)
    service = OrderService(store, MemoryQueue(), MemoryBus(), SystemClock())
    cancelled = await service.cancel(order.id)
    assert cancelled is not None
    assert cancelled.status is OrderStatus.CANCELLED
    assert await store.decide_fires([(stale, firing())]) == [False]
    assert await service.cancel(order.id) == cancelled  # twice: a no-op


async def test_a_re_armed_order_can_fire_again(store: Store) -> None:
    order = await arm(store)
    first = firing()
    assert await store.decide_fires([(order, first)]) == [True]
    watched_at = order.seq
    assert await store.save_many([(order, order.fire(first, first.at))]) == [True]
    now = datetime.now(UTC)
    await store.save(order, order.rearm("LIMIT_NOT_MET", "the price moved away", now))
    stale = await fresh(store, order)
    assert order.seq == watched_at + 2
    assert order.status is OrderStatus.WATCHING
    assert await store.decide_fires([(order, firing())]) == [True]  # a new watch, a new exit
    assert await store.end_watches([(stale, stale.expire(now))]) == [False]


async def test_an_exit_whose_move_loses_is_taken_back(store: Store) -> None:
    order = await arm(store)
    stale = await fresh(store, order)
    now = datetime.now(UTC)
    # Moved without an exit (as before this table): the expiry's exit wins, its move cannot.
    await store.save(order, order.cancel("behind the watcher's back", now))
    assert await store.end_watches([(stale, stale.expire(now))]) == [False]
    again = await fresh(store, order)
    assert again.status is OrderStatus.CANCELLED
    stale.seq -= 1  # stale is at its expire's seq: back to the watching seq it left
    assert await store.decide_fires([(stale, firing())]) == [True]  # the exit was taken back


async def test_a_decision_whose_move_was_lost_is_applied_on_claim(store: Store) -> None:
    decided_order, plain = await arm(store), await arm(store)
    fired = firing()
    assert await store.decide_fires([(decided_order, fired)]) == [True]  # then "crash"
    queue, bus = MemoryQueue(), MemoryBus()
    watcher = TriggerService(
        store,
        queue,
        bus,
        SystemClock(),
        [SteeredVenue(Decimal(1))],  # type: ignore[list-item]
        chain=None,  # type: ignore[arg-type]
        launches=None,
        take_over_at_start=True,
        watcher_id="after-the-crash",
    )
    stop = asyncio.Event()
    await watcher.start(stop)
    try:
        assert set(watcher.held) == {plain.id}
        moved = await fresh(store, decided_order)
        assert moved.status is OrderStatus.ROUTING
        assert moved.fired == fired
        assert await queue.depth() == 1
        events = await store.events(decided_order.id)
        assert events[-1].details["triggeredBy"] == fired.to_dict()
    finally:
        stop.set()
        await watcher.stop()


async def test_expiry_of_a_held_order_takes_its_exit(store: Store) -> None:
    order = await arm(store, ttl_s=1)
    watcher = TriggerService(
        store,
        MemoryQueue(),
        MemoryBus(),
        SystemClock(),
        [SteeredVenue(Decimal(1))],  # type: ignore[list-item]
        chain=None,  # type: ignore[arg-type]
        launches=None,
        beat_s=0.1,
        watcher_id="expirer",
    )
    stale = await fresh(store, order)
    stop = asyncio.Event()
    await watcher.start(stop)
    try:
        async with asyncio.timeout(10):
            while (await fresh(store, order)).status is not OrderStatus.EXPIRED:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await watcher.stop()
    assert await store.decide_fires([(stale, firing())]) == [False]


async def test_a_failed_decision_keeps_the_orders_watched_here(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = await arm(store)
    watcher = TriggerService(
        store,
        MemoryQueue(),
        MemoryBus(),
        SystemClock(),
        [SteeredVenue(Decimal(1))],  # type: ignore[list-item]
        chain=None,  # type: ignore[arg-type]
        launches=None,
        watcher_id="unlucky",
    )
    await watcher.watch(order)
    held = watcher.held[order.id]

    async def down(fires: object) -> list[bool]:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(store, "decide_fires", down)
    with pytest.raises(ConnectionError):
        await watcher.fire([(held, firing())])
    assert watcher.held == {order.id: held}  # the next price update may fire it
    monkeypatch.undo()
    assert await watcher.fire([(held, firing())]) == 1
