"""Group commit (`GroupCommitStore`) on SQLite and PostgreSQL: what batching adds to the contract.

The contract suite (`test_store_contract`, `test_store_batches`) already runs on the wrapped
store; these check the batching itself: concurrent writes share a transaction, each caller
gets its own outcome, a write is committed when its caller's await returns, and a bad row
fails only its own caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from oee.adapters.store.group_commit import GroupCommitStore
from oee.adapters.store.migrate import migrate
from oee.adapters.store.sqlalchemy import SqlAlchemyStore
from oee.domain.errors import StaleOrder
from oee.domain.events import OrderEvent
from oee.domain.orders import Order
from tests.integration import test_store_contract as contract
from tests.integration.test_store_contract import T0, new_order

store_url = contract.store_url


class Counting(SqlAlchemyStore):
    """The SQLAlchemy store, counting the transactions of each kind it is asked for."""

    def __init__(self, url: str) -> None:
        other = SqlAlchemyStore.from_url(url)
        super().__init__(other._engine)
        self.calls: list[tuple[str, int]] = []

    async def save(self, order: Order, event: OrderEvent) -> None:
        self.calls.append(("save", 1))
        await super().save(order, event)

    async def save_many(self, moves: Sequence[tuple[Order, OrderEvent]]) -> list[bool]:
        self.calls.append(("save_many", len(moves)))
        return await super().save_many(moves)

    async def create(self, order: Order, event: OrderEvent, idempotency: Any = None) -> str:
        self.calls.append(("create", 1))
        return await super().create(order, event, idempotency)

    async def create_many(self, new: Sequence[tuple[Order, OrderEvent]]) -> None:
        self.calls.append(("create_many", len(new)))
        await super().create_many(new)


@pytest.fixture
async def inner(store_url: str) -> AsyncIterator[Counting]:
    await migrate(store_url)
    store = Counting(store_url)
    yield store
    await store.close()


@pytest.fixture
def grouped(inner: Counting) -> GroupCommitStore:
    return GroupCommitStore(inner)


async def test_concurrent_writes_share_one_transaction(
    grouped: GroupCommitStore, inner: Counting
) -> None:
    pairs = [new_order() for _ in range(20)]
    assert await asyncio.gather(*(grouped.create(o, e) for o, e in pairs)) == [
        o.id for o, _ in pairs
    ]
    assert inner.calls == [("create_many", 20)]
    inner.calls.clear()

    await asyncio.gather(*(contract.advance(grouped, o, "routing", "building") for o, _ in pairs))
    # The orders move together, so each step of all twenty is one transaction.
    assert inner.calls == [("save_many", 20), ("save_many", 20)]
    for order, _ in pairs:
        assert await grouped.get(order.id) == order
        assert [e.seq for e in await grouped.events(order.id)] == [1, 2, 3]


async def test_a_write_is_committed_when_its_caller_returns(
    grouped: GroupCommitStore, store_url: str
) -> None:
    """What the executor relies on to publish an event only once it is durable."""
    other = SqlAlchemyStore.from_url(store_url)  # its own connections
    try:
        pairs = [new_order() for _ in range(5)]

        async def move(order: Order, first: OrderEvent) -> None:
            await grouped.create(order, first)
            assert await other.get(order.id) == order
            event = order.start_routing(T0 + timedelta(seconds=1))
            await grouped.save(order, event)
            assert (await other.events(order.id))[-1] == event

        await asyncio.gather(*(move(o, e) for o, e in pairs))
    finally:
        await other.close()


async def test_a_stale_save_fails_its_caller_alone(
    grouped: GroupCommitStore, inner: Counting
) -> None:
    pairs = [new_order() for _ in range(4)]
    await grouped.create_many(pairs)
    copies = [await grouped.get(o.id) for o, _ in pairs]
    # Someone else moved the third order on.
    await inner.save(pairs[2][0], pairs[2][0].start_routing(T0))
    inner.calls.clear()

    results = await asyncio.gather(
        *(grouped.save(c, c.fail("X", "x", T0)) for c in copies if c),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == ["NoneType"] * 2 + ["StaleOrder", "NoneType"]
    assert str(results[2]) == f"order {pairs[2][0].id} is no longer at seq 1"
    assert inner.calls == [("save_many", 4)]
    assert (await grouped.get(pairs[2][0].id)) == pairs[2][0]  # the other move stands


async def test_two_moves_of_one_order_in_one_pass_keep_their_order(
    grouped: GroupCommitStore, inner: Counting
) -> None:
    order, first = new_order()
    other, other_first = new_order()
    await grouped.create_many([(order, first), (other, other_first)])
    a, b = await grouped.get(order.id), await grouped.get(order.id)
    assert a
    assert b
    inner.calls.clear()
    # Two copies at the same seq (two workers' views): the first in line wins.
    results = await asyncio.gather(
        grouped.save(a, a.start_routing(T0)),
        grouped.save(b, b.fail("X", "x", T0)),
        grouped.save(other, other.start_routing(T0)),
        return_exceptions=True,
    )
    assert results[0] is None
    assert isinstance(results[1], StaleOrder)
    assert results[2] is None
    assert await grouped.get(order.id) == a
    assert inner.calls == [("save_many", 2), ("save_many", 1)]  # a lone move: one statement too


async def test_a_failed_batch_is_written_one_by_one(
    grouped: GroupCommitStore, inner: Counting
) -> None:
    taken, first = new_order()
    await inner.create(taken, first)
    inner.calls.clear()
    new = [new_order() for _ in range(3)]
    results = await asyncio.gather(
        *(grouped.create(o, e) for o, e in [*new[:2], (taken, first), new[2]]),
        return_exceptions=True,
    )
    assert isinstance(results[2], IntegrityError)  # what `create` itself raises
    assert [results[i] for i in (0, 1, 3)] == [o.id for o, _ in new]
    assert inner.calls == [("create_many", 4)] + [("create", 1)] * 4
    for order, _ in new:
        assert await grouped.get(order.id) == order


async def test_a_full_batch_is_written_at_once(store_url: str, inner: Counting) -> None:
    grouped = GroupCommitStore(inner, max_batch=3)
    pairs = [new_order() for _ in range(7)]
    await asyncio.gather(*(grouped.create(o, e) for o, e in pairs))
    assert inner.calls == [("create_many", 3), ("create_many", 3), ("create", 1)]


async def test_a_window_gathers_writes_across_passes(inner: Counting) -> None:
    grouped = GroupCommitStore(inner, window_s=1.0)  # wide: a loaded machine is slow
    pairs = [new_order() for _ in range(3)]

    async def late(i: int) -> str:
        await asyncio.sleep(0.002 * i)  # each in a later pass of the loop
        return await grouped.create(*pairs[i])

    await asyncio.gather(*(late(i) for i in range(3)))
    assert inner.calls == [("create_many", 3)]


async def test_close_writes_what_is_waiting(inner: Counting, store_url: str) -> None:
    grouped = GroupCommitStore(inner, window_s=0.05)
    order, first = new_order()
    pending = asyncio.ensure_future(grouped.create(order, first))
    await asyncio.sleep(0)  # queued, its window still open
    await grouped._creates.wait_idle()
    assert await pending == order.id
    assert await inner.get(order.id) == order


async def test_a_lone_save_is_one_set_based_statement_and_still_fails_stale(
    grouped: GroupCommitStore, inner: Counting
) -> None:
    order, first = new_order()
    await grouped.create_many([(order, first)])
    stale = await grouped.get(order.id)
    assert stale
    inner.calls.clear()
    await grouped.save(order, order.start_routing(T0))
    with pytest.raises(StaleOrder, match=f"order {order.id} is no longer at seq 1"):
        await grouped.save(stale, stale.fail("X", "x", T0))
    assert inner.calls == [("save_many", 1), ("save_many", 1)]  # never the four-trip `save`
    assert await grouped.get(order.id) == order
    assert [e.seq for e in await grouped.events(order.id)] == [1, 2]
