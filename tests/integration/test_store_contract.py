"""The `OrderStore` contract, run against SQLite (a file) and a real PostgreSQL database.

Every test migrates its own fresh database through `migrate()`, as the engine does at start.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from oee.adapters.store._schema import metadata, orders
from oee.adapters.store.group_commit import GroupCommitStore
from oee.adapters.store.migrate import alembic_config, ensure_sqlite_dir, migrate
from oee.adapters.store.sqlalchemy import SqlAlchemyStore
from oee.domain.errors import IdempotencyConflict, StaleOrder
from oee.domain.events import OrderEvent
from oee.domain.orders import Fill, IdempotencyKey, Order, OrderTerms, SignedSwap, SubmitOrder
from oee.domain.routing import Quote, RoutingDecision, choose_best
from oee.domain.status import OrderStatus

T0 = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
U64_MAX = 2**64 - 1


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A plain fixture: `postgres_url` checks the server with `asyncio.run`, outside any loop."""
    if request.param == "sqlite":
        # A missing directory on purpose: migrate() creates it.
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'oee.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


# Every contract test runs on the store as it is and wrapped in group commit (as the engine
# runs it): batching saves must change nothing a caller can see.
Store = SqlAlchemyStore | GroupCommitStore


@pytest.fixture(params=["plain", "group commit"])
def grouped(request: pytest.FixtureRequest) -> bool:
    return request.param == "group commit"


def open_store(url: str, grouped: bool) -> Store:
    store = SqlAlchemyStore.from_url(url)
    return GroupCommitStore(store) if grouped else store


def sa(store: Store) -> SqlAlchemyStore:
    """The SQLAlchemy store itself (its engine, its batch statements), wrapped or not."""
    return store.inner if isinstance(store, GroupCommitStore) else store  # type: ignore[return-value]


@pytest.fixture
async def store(store_url: str, grouped: bool) -> AsyncIterator[Store]:
    await migrate(store_url)
    store = open_store(store_url, grouped)
    yield store
    await store.close()


def new_order(at: datetime = T0, amount: str = "1.5") -> tuple[Order, OrderEvent]:
    cmd = SubmitOrder.parse("SOL", "USDC", amount, 50)
    return Order.accept(cmd, str(uuid.uuid4()), at)


def decision() -> RoutingDecision:
    def quote(venue: str, out: int, price: str) -> Quote:
        return Quote(venue, U64_MAX, out, 3, 25, Decimal(price), Decimal("12.34"), f"{venue}-pool")

    # More digits than a float or a NUMERIC(18, 9) keeps: only exact storage survives.
    return choose_best(
        [
            quote("raydium", U64_MAX - 7, "0.1234567890123456789012345"),
            quote("meteora", 9, "1E-30"),
        ],
        50,
    )


def signed(n: int = 1) -> SignedSwap:
    return SignedSwap(f"sig{n}", 1_000 + n, "AQID", "raydium", U64_MAX - 8, 5_000)


def fill() -> Fill:
    return Fill("sig1", U64_MAX - 9, Decimal("123.456789012345678901234567"), "raydium", 5_000)


async def advance(store: Store, order: Order, *moves: str) -> list[OrderEvent]:
    """Apply domain moves one by one, saving each as the executor would."""
    at = order.updated_at
    saved = []
    for move in moves:
        at += timedelta(milliseconds=250)
        match move:
            case "routing":
                event = order.start_routing(at)
            case "building":
                event = order.route(decision(), at)
            case "submitted":
                event = order.submit(signed(order.attempt), at)
            case "confirmed":
                event = order.confirm(fill(), at)
            case "retry":
                event = order.retry("RPC_TIMEOUT", "the RPC node did not answer", 0.5, at)
            case "failed":
                event = order.fail("SLIPPAGE_EXCEEDED", "output below minAmountOut", at)
            case _:
                raise ValueError(move)
        await store.save(order, event)
        saved.append(event)
    return saved


async def tx_hash_column(store: Store, order_id: str) -> str | None:
    async with sa(store)._engine.connect() as conn:
        query = select(orders.c.tx_hash).where(orders.c.id == order_id)
        return (await conn.execute(query)).scalar_one()


async def test_create_then_get_round_trips_a_new_order(store: Store) -> None:
    order, first = new_order(amount="18446744073.709551615")  # u64::MAX lamports
    await store.create(order, first)

    stored = await store.get(order.id)
    assert stored == order
    assert stored.amount_in == U64_MAX
    assert stored.created_at.tzinfo is UTC
    assert stored.updated_at.tzinfo is UTC
    assert await store.events(order.id) == [first]


async def test_every_field_round_trips_through_a_confirmed_order(store: Store) -> None:
    order, first = new_order()
    await store.create(order, first)
    saved = await advance(store, order, "routing", "building", "submitted")
    assert await tx_hash_column(store, order.id) == "sig1"
    saved += await advance(store, order, "confirmed")

    stored = await store.get(order.id)
    assert stored == order  # dataclass equality: every field, Decimals compared exactly
    assert stored.decision == decision()
    assert stored.fill == fill()
    assert stored.tx == signed()
    assert stored.fill.executed_price.as_tuple() == fill().executed_price.as_tuple()
    assert stored.attempts[0]["outcome"] == "confirmed"
    assert await store.events(order.id) == [first, *saved]
    assert [e.at.tzinfo for e in await store.events(order.id)] == [UTC] * 5
    assert await tx_hash_column(store, order.id) == fill().tx_hash


async def test_retries_and_failure_round_trip(store: Store) -> None:
    order, first = new_order()
    await store.create(order, first)
    moves = ("routing", "retry", "routing", "building", "submitted", "retry", "routing", "failed")
    saved = await advance(store, order, *moves)

    stored = await store.get(order.id)
    assert stored == order
    assert (stored.status, stored.attempt, stored.seq) == (OrderStatus.FAILED, 3, 9)
    assert (stored.error, stored.reason) == ("SLIPPAGE_EXCEEDED", "output below minAmountOut")
    assert stored.tx is None  # a retry forgets the expired transaction; attempts remember it
    assert [a["outcome"] for a in stored.attempts] == ["retried", "retried", "failed"]
    assert stored.attempts[1]["txHash"] == "sig2"
    assert await store.events(order.id) == [first, *saved]


async def test_an_unknown_order_is_none_and_has_no_events(store: Store) -> None:
    assert await store.get(str(uuid.uuid4())) is None
    assert await store.events(str(uuid.uuid4())) == []


async def test_datetimes_come_back_in_utc_whatever_offset_went_in(store: Store) -> None:
    order, first = new_order(at=T0.astimezone(timezone(timedelta(hours=-5))))
    await store.create(order, first)
    stored = await store.get(order.id)
    assert stored is not None
    assert stored.created_at == T0
    assert stored.created_at.tzinfo is UTC
    assert (await store.events(order.id))[0].at.tzinfo is UTC


async def test_a_stale_save_raises_and_writes_nothing(store: Store) -> None:
    order, first = new_order()
    await store.create(order, first)
    mine, theirs = await store.get(order.id), await store.get(order.id)
    assert mine is not None
    assert theirs is not None
    winner = await advance(store, theirs, "routing")

    loser = mine.fail("NO_ROUTE", "no venue answered", T0 + timedelta(seconds=1))
    with pytest.raises(StaleOrder):
        await store.save(mine, loser)
    assert await store.get(order.id) == theirs
    assert await store.events(order.id) == [first, *winner]

    # Skipping a seq is stale too: 3 is never stored, so 4 finds the order at 2.
    theirs.route(decision(), T0 + timedelta(seconds=2))
    ahead = theirs.submit(signed(), T0 + timedelta(seconds=3))
    with pytest.raises(StaleOrder):
        await store.save(theirs, ahead)
    assert await store.events(order.id) == [first, *winner]
    stored = await store.get(order.id)
    assert stored is not None
    assert (stored.seq, stored.status, stored.decision) == (2, OrderStatus.ROUTING, None)


async def test_saving_an_event_of_another_order_is_refused(store: Store) -> None:
    order, first = new_order()
    other, _ = new_order()
    await store.create(order, first)
    with pytest.raises(ValueError, match="is not"):
        await store.save(order, other.start_routing(T0))


async def test_concurrent_saves_of_one_seq_have_exactly_one_winner(
    store_url: str, grouped: bool
) -> None:
    await migrate(store_url)
    workers = [open_store(store_url, grouped) for _ in range(4)]
    try:
        for _ in range(10):
            order, first = new_order()
            await workers[0].create(order, first)
            copies = [await w.get(order.id) for w in workers]
            assert all(copies)
            # Half the workers route, half fail the order: the stored state shows who won.
            events = [
                c.fail(f"W{i}", f"worker {i}", T0) if i % 2 else c.start_routing(T0)
                for i, c in enumerate(copies)
            ]
            results = await asyncio.gather(
                *(w.save(c, e) for w, c, e in zip(workers, copies, events, strict=True)),
                return_exceptions=True,
            )
            wins = [i for i, r in enumerate(results) if r is None]
            assert len(wins) == 1, results
            assert all(isinstance(r, StaleOrder) for r in results if r is not None), results
            assert await workers[1].get(order.id) == copies[wins[0]]
            assert await workers[2].events(order.id) == [first, events[wins[0]]]
    finally:
        for worker in workers:
            await worker.close()


@pytest.mark.postgres
async def test_two_saves_blocked_on_the_same_row_have_one_winner(
    postgres_url: str, grouped: bool
) -> None:
    """Both UPDATEs wait on a row lock, then run back to back: PostgreSQL re-checks the seq."""
    await migrate(postgres_url)
    worker_a, worker_b = open_store(postgres_url, grouped), open_store(postgres_url, grouped)
    blocker = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        order, first = new_order()
        await worker_a.create(order, first)
        copy_a, copy_b = await worker_a.get(order.id), await worker_b.get(order.id)
        assert copy_a is not None
        assert copy_b is not None
        event_a, event_b = copy_a.start_routing(T0), copy_b.fail("X", "worker b", T0)

        lock = blocker.transaction()
        await lock.start()
        await blocker.execute("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE", order.id)
        saves = [
            asyncio.create_task(worker_a.save(copy_a, event_a)),
            asyncio.create_task(worker_b.save(copy_b, event_b)),
        ]
        waiting = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        for _ in range(1000):  # the database is polled: there is no event to wait on
            if await blocker.fetchval(waiting) == 2:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the two saves never both waited on the row lock")
        await lock.commit()
        results = await asyncio.gather(*saves, return_exceptions=True)

        assert sorted(type(r).__name__ for r in results) == ["NoneType", "StaleOrder"]
        winner = (copy_a, event_a) if results[0] is None else (copy_b, event_b)
        assert await worker_a.get(order.id) == winner[0]
        assert await worker_a.events(order.id) == [first, winner[1]]
    finally:
        await blocker.close()
        await worker_a.close()
        await worker_b.close()


async def test_fifty_concurrent_saves_all_land(store: Store) -> None:
    """On SQLite too: no 'database is locked' when many orders advance at once."""
    pairs = [new_order() for _ in range(50)]
    await asyncio.gather(*(store.create(o, e) for o, e in pairs))
    await asyncio.gather(*(advance(store, o, "routing", "building") for o, _ in pairs))
    stored = [await store.get(o.id) for o, _ in pairs]
    assert [o.seq if o else None for o in stored] == [3] * 50


async def test_events_after_a_seq_in_order(store: Store) -> None:
    order, first = new_order()
    await store.create(order, first)
    saved = await advance(store, order, "routing", "building", "submitted")
    assert [e.seq for e in await store.events(order.id)] == [1, 2, 3, 4]
    assert await store.events(order.id, after_seq=2) == saved[1:]
    assert await store.events(order.id, after_seq=4) == []


async def test_active_counts_and_lists_only_working_orders(store: Store) -> None:
    made = [new_order(at=T0 + timedelta(seconds=i)) for i in range(5)]
    for order, first in reversed(made):  # insertion order must not matter
        await store.create(order, first)
    await advance(store, made[0][0], "routing", "failed")
    await advance(store, made[2][0], "routing", "building", "submitted", "confirmed")
    await advance(store, made[3][0], "routing")

    working = [made[i][0].id for i in (1, 3, 4)]
    assert await store.active(10) == (3, working)
    assert await store.active(2) == (3, working[:2])
    assert await store.active(0) == (3, [])


async def test_recent_is_newest_first_and_limited(store: Store) -> None:
    made = [new_order(at=T0 + timedelta(seconds=i)) for i in range(4)]
    for order, first in made:
        await store.create(order, first)
    await advance(store, made[0][0], "routing")  # a later update does not make it recent

    assert [o.id for o in await store.recent(3)] == [made[i][0].id for i in (3, 2, 1)]
    assert (await store.recent(10))[-1] == made[0][0]


async def test_unfinished_lists_working_orders_untouched_since(store: Store) -> None:
    made = [new_order(at=T0 + timedelta(minutes=i)) for i in range(4)]
    for order, first in made:
        await store.create(order, first)
    await advance(store, made[0][0], "routing", "failed")
    cutoff = T0 + timedelta(minutes=2, seconds=30)

    assert await store.unfinished(cutoff, 10) == [made[1][0].id, made[2][0].id]
    assert await store.unfinished(cutoff, 1) == [made[1][0].id]
    assert await store.unfinished(T0, 10) == []


def _schema_drift(conn: Connection) -> list[object]:
    options = {"compare_type": _same_type} if conn.dialect.name == "sqlite" else {}
    return list(compare_metadata(MigrationContext.configure(conn, opts=options), metadata))


def _same_type(
    context: object, inspected: object, described: object, db_type: object, model_type: object
) -> bool | None:
    """SQLite keeps text of any length in a VARCHAR, so migration 0004 widens the token columns
    on PostgreSQL only: on SQLite a length is no difference. Otherwise Alembic's own rule."""
    from sqlalchemy import String

    if isinstance(db_type, String) and isinstance(model_type, String):
        return False
    return None


async def test_migrate_is_idempotent_and_matches_the_metadata(store: Store, store_url: str) -> None:
    order, first = new_order()
    await store.create(order, first)
    await migrate(store_url)
    await asyncio.gather(migrate(store_url), migrate(store_url))

    assert await store.get(order.id) == order
    async with sa(store)._engine.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert versions == [(head,)]
        assert await conn.run_sync(_schema_drift) == []


async def test_concurrent_first_migrations_agree(store_url: str) -> None:
    await asyncio.gather(*(migrate(store_url) for _ in range(3)))
    store = SqlAlchemyStore.from_url(store_url)
    try:
        order, first = new_order()
        await store.create(order, first)
        assert await store.get(order.id) == order
    finally:
        await store.close()


async def test_ping(store: Store) -> None:
    await store.ping()


@pytest.mark.postgres
async def test_reads_survive_the_server_dropping_every_connection(
    postgres_url: str, grouped: bool
) -> None:
    """No pre-ping: the dead pool is found by the first call, and a read simply runs again."""
    await migrate(postgres_url)
    store = open_store(postgres_url, grouped)
    admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        order, first = new_order()
        await store.create(order, first)
        await asyncio.gather(*(store.get(order.id) for _ in range(5)))  # several pooled
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'oee'"
        )
        assert killed >= 1

        assert await store.get(order.id) == order
        await store.save(order, order.start_routing(T0))
        assert await store.get(order.id) == order
    finally:
        await admin.close()
        await store.close()


# --- idempotency keys ---------------------------------------------------------------------


def claim(key: str, order: Order, *, hours: float = 24) -> IdempotencyKey:
    cmd = SubmitOrder(order.token_in, order.token_out, order.amount_in, order.slippage_bps)
    return IdempotencyKey(key, cmd.fingerprint(), order.created_at + timedelta(hours=hours))


async def test_a_key_returns_the_order_it_first_created(store: Store) -> None:
    first, event = new_order()
    assert await store.create(first, event, claim("k-1", first)) == first.id
    again, again_event = new_order(T0 + timedelta(minutes=5))
    assert await store.create(again, again_event, claim("k-1", again)) == first.id
    assert await store.get(again.id) is None  # nothing was written for the duplicate


async def test_a_key_reused_for_another_request_conflicts(store: Store) -> None:
    first, event = new_order()
    await store.create(first, event, claim("k-2", first))
    other, other_event = new_order(amount="2")
    with pytest.raises(IdempotencyConflict):
        await store.create(other, other_event, claim("k-2", other))
    assert await store.get(other.id) is None


async def test_an_expired_key_creates_a_new_order(store: Store) -> None:
    first, event = new_order()
    await store.create(first, event, claim("k-3", first, hours=1))
    later, later_event = new_order(T0 + timedelta(hours=2), amount="2")
    assert await store.create(later, later_event, claim("k-3", later)) == later.id


async def test_concurrent_duplicates_create_exactly_one_order(
    store_url: str, grouped: bool
) -> None:
    await migrate(store_url)
    stores = [open_store(store_url, grouped) for _ in range(4)]
    try:
        attempts = [new_order() for _ in range(12)]
        ids = await asyncio.gather(
            *(
                stores[i % 4].create(order, event, claim("k-race", order))
                for i, (order, event) in enumerate(attempts)
            )
        )
        assert len(set(ids)) == 1
        count, _ = await stores[0].active(100)
        assert count == 1
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_purge_forgets_only_expired_keys(store: Store) -> None:
    old, old_event = new_order()
    await store.create(old, old_event, claim("k-old", old, hours=1))
    fresh, fresh_event = new_order()
    await store.create(fresh, fresh_event, claim("k-fresh", fresh, hours=48))
    assert await store.purge_idempotency_keys(T0 + timedelta(hours=2)) == 1
    retry, retry_event = new_order(T0 + timedelta(hours=3))
    assert await store.create(retry, retry_event, claim("k-fresh", retry)) == fresh.id


# --- owners: the API key that placed an order ---------------------------------------------


def owned(owner: str | None, at: datetime = T0) -> tuple[Order, OrderEvent]:
    return Order.accept(SubmitOrder.parse("SOL", "USDC", "1.5", 50), str(uuid.uuid4()), at, owner)


async def test_an_order_keeps_the_key_that_placed_it(store: Store) -> None:
    order, first = owned("alice")
    await store.create(order, first)
    stored = await store.get(order.id)
    assert stored is not None
    assert stored.owner == "alice"
    moved = await advance(store, stored, "routing", "building")
    assert [event.owner for event in (first, *moved)] == ["alice"] * 3  # for the bus's filters
    assert (await store.get(order.id)) == stored
    assert stored.owner == "alice"
    assert (await store.events(order.id))[1:] == moved  # the owner is not part of an event
    opened, opened_first = owned(None)
    await store.create(opened, opened_first)
    assert (await store.get(opened.id)).owner is None  # type: ignore[union-attr]


async def test_active_and_recent_list_one_owner_s_orders(store: Store) -> None:
    owners = ["alice", "bob", "alice", None, "alice"]
    made = [owned(owner, T0 + timedelta(seconds=i)) for i, owner in enumerate(owners)]
    for order, first in made:
        await store.create(order, first)
    await advance(store, made[2][0], "routing", "failed")
    ids = [order.id for order, _ in made]
    assert await store.active(10, "alice") == (2, [ids[0], ids[4]])
    assert await store.active(1, "alice") == (2, [ids[0]])
    assert await store.active(10, "bob") == (1, [ids[1]])
    assert await store.active(10, "carol") == (0, [])
    assert await store.active(10) == (4, [ids[0], ids[1], ids[3], ids[4]])
    assert [o.id for o in await store.recent(10, "alice")] == [ids[4], ids[2], ids[0]]
    assert [o.id for o in await store.recent(2, "alice")] == [ids[4], ids[2]]
    assert [o.id for o in await store.recent(10, "bob")] == [ids[1]]
    assert len(await store.recent(10)) == 5


def owners_claim(key: str, order: Order) -> IdempotencyKey:
    cmd = SubmitOrder(order.token_in, order.token_out, order.amount_in, order.slippage_bps)
    expires = order.created_at + timedelta(hours=24)
    return IdempotencyKey(key, cmd.fingerprint(), expires, order.owner)


async def test_idempotency_keys_are_per_owner(store: Store) -> None:
    firsts = [owned(owner) for owner in ("alice", "bob", None)]
    for order, first in firsts:
        assert await store.create(order, first, owners_claim("shared", order)) == order.id
    for (order, _), owner in zip(firsts, ("alice", "bob", None), strict=True):
        again, again_first = owned(owner, T0 + timedelta(minutes=1))
        assert await store.create(again, again_first, owners_claim("shared", again)) == order.id
    assert await store.purge_idempotency_keys(T0 + timedelta(hours=25)) == 3


async def migrate_to(store_url: str, revision: str, *, down: bool = False) -> None:
    """Upgrade (or downgrade) the database to exactly `revision`."""
    engine = create_async_engine(store_url)
    try:
        async with engine.begin() as conn:
            step = command.downgrade if down else command.upgrade
            await conn.run_sync(lambda c: step(alembic_config(c), revision))
    finally:
        await engine.dispose()


async def test_migration_0003_keeps_orders_and_keys_of_open_mode(store_url: str) -> None:
    """A database at 0002 with an order and its key: after the upgrade the order has no owner
    and the key still returns it, to open-mode callers only; downgrading drops owners again."""

    async def to(revision: str, down: bool = False) -> None:
        await migrate_to(store_url, revision, down=down)

    ensure_sqlite_dir(store_url)
    await to("0002")
    order, _ = new_order()
    rows = {
        "id": order.id, "at": T0, "later": T0 + timedelta(hours=24),
        "fingerprint": owners_claim("old", order).fingerprint,
    }  # fmt: skip
    engine = create_async_engine(store_url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO orders (id, type, status, token_in, token_out, amount_in, "
                "slippage_bps, seq, attempt, created_at, updated_at, attempts) VALUES (:id, "
                "'market', 'pending', 'SOL', 'USDC', '1500000000', 50, 1, 1, :at, :at, '[]')"
            ),
            rows,
        )
        await conn.execute(
            text(
                "INSERT INTO idempotency_keys (key, fingerprint, order_id, expires_at) "
                "VALUES ('old', :fingerprint, :id, :later)"
            ),
            rows,
        )
    await engine.dispose()
    await migrate(store_url)
    store = SqlAlchemyStore.from_url(store_url)
    try:
        stored = await store.get(order.id)
        assert stored is not None
        assert stored.owner is None
        retry, retry_first = owned(None, T0 + timedelta(minutes=1))
        assert await store.create(retry, retry_first, owners_claim("old", retry)) == order.id
        alices, alices_first = owned("alice", T0 + timedelta(minutes=1))
        assert await store.create(alices, alices_first, owners_claim("old", alices)) == alices.id
    finally:
        await store.close()
    await to("0002", down=True)
    await migrate(store_url)  # and up again


async def test_migration_0004_keeps_market_orders_and_refuses_to_drop_triggers(
    store_url: str,
) -> None:
    """A database at 0003 with a market order: after the upgrade it reads back with no trigger;
    a limit order then stored blocks the downgrade (0003 could not say what it waits for)."""

    async def to(revision: str, down: bool = False) -> None:
        await migrate_to(store_url, revision, down=down)

    ensure_sqlite_dir(store_url)
    await to("0003")
    order, _ = new_order()
    old = create_async_engine(store_url)
    async with old.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO orders (id, type, status, token_in, token_out, amount_in, "
                "slippage_bps, seq, attempt, created_at, updated_at, attempts) VALUES (:id, "
                "'market', 'pending', 'SOL', 'USDC', '1500000000', 50, 1, 1, :at, :at, '[]')"
            ),
            {"id": order.id, "at": T0},
        )
    await old.dispose()
    await migrate(store_url)
    store = SqlAlchemyStore.from_url(store_url)
    try:
        stored = await store.get(order.id)
        assert stored is not None
        assert (stored.trigger, stored.fired, stored.max_price_impact_bps) == (None, None, None)
        terms = OrderTerms(type="limit", limit_price=Decimal(200))
        limit = SubmitOrder.parse("SOL", "USDC", "1", 50, terms=terms, now=T0)
        limit_order, limit_first = Order.accept(limit, str(uuid.uuid4()), T0)
        await store.create(limit_order, limit_first)
        assert (await store.get(limit_order.id)) == limit_order
    finally:
        await store.close()
    with pytest.raises(RuntimeError, match="limit or sniper orders exist"):
        await to("0003", down=True)


async def test_recent_since_keeps_orders_created_at_or_after_it(store: Store) -> None:
    made = [new_order(at=T0 + timedelta(minutes=i)) for i in range(4)]
    for order, first in made:
        await store.create(order, first)
    await advance(store, made[1][0], "routing", "failed")
    since = T0 + timedelta(minutes=1)
    assert [o.id for o in await store.recent(10, since=since)] == [made[i][0].id for i in (3, 2, 1)]
    # Any offset names the same instant; filters combine.
    elsewhere = since.astimezone(timezone(timedelta(hours=-5)))
    assert [o.id for o in await store.recent(10, since=elsewhere, status="pending")] == [
        made[i][0].id for i in (3, 2)
    ]
    assert await store.recent(10, since=T0 + timedelta(hours=1)) == []
