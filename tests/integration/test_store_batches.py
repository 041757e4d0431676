"""The `OrderStore.save_many` contract (many compare-and-sets at once), on SQLite and PostgreSQL.

Part of the store's contract suite (`test_store_contract`: the same fixtures, a fresh migrated
database per test); apart only to keep each file readable. A trigger fires a batch: each
order that is still where the watcher read it moves and gets its event, every other one is
left exactly as it is, and the caller learns which is which.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Table, insert, text
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError

from oee.adapters.store._codec import event_to_row, order_to_row
from oee.adapters.store._schema import idempotency_keys, order_events, orders
from oee.domain.events import OrderEvent
from oee.domain.orders import IdempotencyKey, Order, OrderTerms, SubmitOrder
from oee.domain.triggers import Firing
from tests.integration import test_store_contract as contract

store_url, grouped, store = contract.store_url, contract.grouped, contract.store  # its fixtures
Store, sa = contract.Store, contract.sa

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
FIRING = Firing(at=NOW, price=Decimal("101.5"), venue="raydium", pool="pool-1")


def limit_order(at: datetime = NOW) -> tuple[Order, OrderEvent]:
    terms = OrderTerms(type="limit", limit_price=Decimal("100"), ttl_seconds=3600)
    cmd = SubmitOrder.parse("SOL", "USDC", "1", 50, terms=terms, now=at)
    return Order.accept(cmd, str(uuid.uuid4()), at)


async def arm(store: Store, n: int) -> list[Order]:
    """`n` armed limit orders, written as the executor writes them."""
    armed = []
    for _ in range(n):
        order, pending = limit_order()
        await store.create(order, pending)
        await store.save(order, order.arm(NOW))
        armed.append(order)
    return armed


async def bulk_arm(store: Store, n: int) -> list[Order]:
    """`n` armed limit orders inserted in one go (too many to create one by one)."""
    rows, events = [], []
    armed = []
    for _ in range(n):
        order, pending = limit_order()
        watching = order.arm(NOW)
        armed.append(order)
        rows.append(order_to_row(order))
        events += [event_to_row(pending), event_to_row(watching)]
    async with sa(store)._engine.begin() as conn:
        await conn.execute(insert(orders), rows)
        await conn.execute(insert(order_events), events)
    return armed


def fire(held: list[Order]) -> list[tuple[Order, OrderEvent]]:
    return [(order, order.fire(FIRING, NOW + timedelta(seconds=1))) for order in held]


async def copies(store: Store, armed: list[Order]) -> list[Order]:
    """What a watcher holds: each order as read from the store."""
    held = [await store.get(order.id) for order in armed]
    assert all(held)
    return [order for order in held if order is not None]


async def count(store: Store, sql: str) -> int:
    async with sa(store)._engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def stored(
    store: Store, table: Table, order_by: str, where: str = ""
) -> list[dict[str, Any]]:
    """The table's rows as the database renders each value as text: no type decodes them (on
    PostgreSQL the driver would parse JSON, hiding a difference in its stored text)."""
    columns = ", ".join(f'CAST("{c.name}" AS TEXT) AS "{c.name}"' for c in table.c)
    sql = f"SELECT {columns} FROM {table.name} {where} ORDER BY {order_by}"
    async with sa(store)._engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(text(sql))).mappings()]


@pytest.mark.parametrize("shape", ["one statement", "chunks of 2", "row by row"])
async def test_a_batch_moves_the_winners_and_leaves_every_loser(store: Store, shape: str) -> None:
    if shape != "one statement":
        if sa(store)._batch.postgres:
            pytest.skip("SQLite's chunks, and its path for SQLite older than 3.35")
        sa(store)._batch.chunk_rows = 2
        sa(store)._batch.set_based = shape == "chunks of 2"
    armed = await arm(store, 7)
    held = await copies(store, armed)
    later = NOW + timedelta(milliseconds=500)
    # Behind the watcher's back: cancelled, expired, fired by another watcher, and fired then
    # re-armed (watching again, but at a later seq).
    others = await copies(store, armed)
    await store.save(others[1], others[1].cancel("user", later))
    await store.save(others[3], others[3].expire(later))
    assert await store.save_many(fire([others[4]])) == [True]
    await store.save(others[6], others[6].fire(FIRING, later))
    await store.save(others[6], others[6].rearm("PRICE_MOVED", "the price moved", later))
    before = {order.id: await store.events(order.id) for order in held}

    moves = fire(held)
    wins = [True, False, True, False, False, True, False]
    assert await store.save_many(moves) == wins
    for (order, event), won in zip(moves, wins, strict=True):
        events = await store.events(order.id)
        if won:
            assert await store.get(order.id) == order
            assert events == [*before[order.id], event]
        else:
            assert events == before[order.id]  # no event of this batch
    states = [await store.get(order.id) for order in armed]
    assert [(o.status.value, o.seq) for o in states if o] == [
        ("routing", 3),
        ("cancelled", 3),
        ("routing", 3),
        ("expired", 3),
        ("routing", 3),
        ("routing", 3),
        ("watching", 4),
    ]
    assert await store.get(armed[4].id) == others[4]  # the other watcher's firing stands


async def test_a_batch_stores_exactly_what_save_stores(store: Store) -> None:
    one, many = await arm(store, 2)
    [(_, event)] = fire([one])
    await store.save(one, event)
    assert await store.save_many(fire([many])) == [True]
    rows = await stored(store, orders, "id")
    events = await stored(store, order_events, "order_id", "WHERE seq = 3")

    def same(row: Any, key: str) -> dict[str, Any]:
        return {column: value for column, value in row.items() if column != key}

    assert same(rows[0], "id") == same(rows[1], "id")
    assert same(events[0], "order_id") == same(events[1], "order_id")


async def test_a_batch_serialises_look_alike_json_each_as_its_own(store: Store) -> None:
    # Repeated JSON is serialised once per run of equal values; values that compare equal yet
    # serialise differently (1 / 1.0 / True, keys in another order) must each keep their text.
    armed = await arm(store, 5)
    details: list[dict[str, Any]] = [
        {"n": 1, "m": 2},
        {"n": 1.0, "m": 2},
        {"n": True, "m": 2},
        {"m": 2, "n": True},
        {"m": 2, "n": True},
    ]
    moves = []
    for order, extra in zip(armed, details, strict=True):
        event = order.fire(FIRING, NOW)
        moves.append((order, dataclasses.replace(event, details=extra)))
    assert await store.save_many(moves) == [True] * 5
    for order, extra in zip(armed, details, strict=True):
        [fired] = await store.events(order.id, after_seq=2)
        logged = fired.details
        assert list(logged.items()) == list(extra.items())
        assert [type(v) for v in logged.values()] == [type(v) for v in extra.values()]


async def test_an_empty_batch_writes_nothing(store: Store) -> None:
    assert await store.save_many([]) == []


async def test_a_batch_past_the_bind_parameter_limit(store: Store) -> None:
    """More rows than one SQLite statement may bind (32,766 parameters): it is cut into
    statements in one transaction. PostgreSQL sends the same batch as one statement."""
    n = sa(store)._batch.chunk_rows + 40
    held = await bulk_arm(store, n)
    gone = held[sa(store)._batch.chunk_rows - 5 :: 7]  # losers on both sides of the cut
    for order in gone:
        theirs = await store.get(order.id)
        assert theirs is not None
        await store.save(theirs, theirs.cancel("user", NOW))
    done = await store.save_many(fire(held))
    lost = {order.id for order in gone}
    assert done == [order.id not in lost for order in held]
    routing = "SELECT count(*) FROM orders WHERE status = 'routing'"
    assert await count(store, routing) == n - len(gone)
    fired = "SELECT count(*) FROM order_events WHERE type = 'routing'"
    assert await count(store, fired) == n - len(gone)


async def test_a_batch_with_a_foreign_or_repeated_move_writes_nothing(
    store: Store,
) -> None:
    first, second = await arm(store, 2)
    [move] = fire([first])
    with pytest.raises(ValueError, match="twice"):
        await store.save_many([move, move])
    other, _ = limit_order()
    other.arm(NOW)
    with pytest.raises(ValueError, match="is not"):
        await store.save_many([(second, other.fire(FIRING, NOW))])
    assert await count(store, "SELECT count(*) FROM order_events WHERE seq = 3") == 0


# --- create_many ---------------------------------------------------------------------------


async def test_create_many_inserts_every_order_and_its_first_event(store: Store) -> None:
    new = [contract.new_order() for _ in range(5)]
    await store.create_many(new)
    for order, first in new:
        assert await store.get(order.id) == order
        assert await store.events(order.id) == [first]
    await store.create_many([])  # nothing to write


async def test_create_many_with_a_taken_id_inserts_none(store: Store) -> None:
    taken, first = contract.new_order()
    await store.create(taken, first)
    new = [contract.new_order() for _ in range(3)]
    with pytest.raises(IntegrityError):
        await store.create_many([*new, (taken, first)])
    for order, _ in new:
        assert await store.get(order.id) is None
    assert await count(store, "SELECT count(*) FROM order_events") == 1


def owned_limit(order_id: str) -> tuple[Order, OrderEvent]:
    """A new order using every column a create writes (trigger, expiry, cap, owner)."""
    terms = OrderTerms(
        type="limit", limit_price=Decimal("100.25"), ttl_seconds=3600, max_price_impact_bps=80
    )
    cmd = SubmitOrder.parse("SOL", "USDC", "1.5", 50, terms=terms, now=NOW)
    return Order.accept(cmd, order_id, NOW, "alice")


async def test_a_create_stores_exactly_what_the_plain_insert_stores(store: Store) -> None:
    """PostgreSQL writes creates as one statement of arrays (`_insert_pg`): the rows (order,
    event, key) must be byte for byte those of Core's INSERTs, the path SQLite takes."""
    ids = sorted(str(uuid.uuid4()) for _ in range(4))
    made = [owned_limit(order_id) for order_id in ids]

    def key(n: int, order: Order) -> IdempotencyKey:
        return IdempotencyKey(f"k-{n}", "f" * 64, NOW + timedelta(hours=24), order.owner)

    await store.create(*made[0], key(0, made[0][0]))
    await store.create_many([made[1]])
    await store.create(*made[2])
    one_insert, sa(store)._one_insert = sa(store)._one_insert, None  # Core's INSERTs
    try:
        await store.create(*made[3], key(3, made[3][0]))
    finally:
        sa(store)._one_insert = one_insert
    rows = await stored(store, orders, "id")
    events = await stored(store, order_events, "order_id")
    keys = await stored(store, idempotency_keys, "key")

    def but(row: Any, *names: str) -> dict[str, Any]:
        return {column: value for column, value in row.items() if column not in names}

    assert [row["id"] for row in rows] == ids
    assert [but(row, "id") for row in rows] == [but(rows[3], "id")] * 4
    assert [but(row, "order_id") for row in events] == [but(events[3], "order_id")] * 4
    assert [(row["key"], row["order_id"]) for row in keys] == [("k-0", ids[0]), ("k-3", ids[3])]
    assert but(keys[0], "key", "order_id") == but(keys[1], "key", "order_id")
    for order, first in made:
        assert await store.get(order.id) == order
        assert await store.events(order.id) == [first]


async def test_a_lone_create_is_one_statement_on_postgres(store: Store) -> None:
    if not sa(store)._batch.postgres:
        pytest.skip("SQLite inserts the order and its event in one transaction")
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    engine = sa(store)._engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        await store.create(*contract.new_order())
        await store.create_many([contract.new_order() for _ in range(3)])
        order, first = contract.new_order()
        await store.create(order, first, contract.claim("k-1", order))
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    assert len(sent) == 3
    assert all(statement.startswith("WITH o AS (INSERT INTO orders") for statement in sent)


async def test_a_held_key_still_answers_with_its_order_after_one_statement_fails(
    store: Store,
) -> None:
    """The one statement fails on the key's primary key; the claiming transaction then reads
    the holder (or replaces an expired claim), as before."""
    first, first_event = contract.new_order()
    assert await store.create(first, first_event, contract.claim("k", first, hours=1)) == first.id
    again, again_event = contract.new_order()
    assert await store.create(again, again_event, contract.claim("k", again)) == first.id
    later, later_event = contract.new_order(contract.T0 + timedelta(hours=2))
    assert await store.create(later, later_event, contract.claim("k", later)) == later.id
    assert await store.get(again.id) is None
    assert await store.events(later.id) == [later_event]
