"""The order store on SQLAlchemy Core: SQLite (pysqlite in threads, see _sqlite_threads) embedded, PostgreSQL (asyncpg) else.

The hot path is `save`, about five times per order. It runs statements built once at import
(SQLAlchemy caches their compiled form and asyncpg its prepared statements per connection) on
a pooled connection: no ORM, no per-call engine, one round trip per statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import (
    Connection,
    Update,
    any_,
    bindparam,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from oee.adapters.store import _exits
from oee.adapters.store._batch import BatchCas
from oee.adapters.store._batch_pg import OneStatementCas
from oee.adapters.store._codec import (
    event_from_row,
    event_to_row,
    json_text,
    order_changes,
    order_from_row,
    order_to_row,
)
from oee.adapters.store._insert_pg import OneStatementInsert
from oee.adapters.store._schema import idempotency_keys, order_events, orders, watchers
from oee.adapters.store._sqlite_threads import SqliteThreads
from oee.domain.errors import IdempotencyConflict, StaleOrder
from oee.domain.events import OrderEvent
from oee.domain.orders import IdempotencyKey, Order
from oee.domain.status import TERMINAL, OrderStatus
from oee.domain.tokens import MAINNET_TOKENS, Registry
from oee.domain.triggers import Firing

_T = TypeVar("_T")
_P = ParamSpec("_P")

_WORKING = sorted(s.value for s in OrderStatus if s not in TERMINAL)
_working = orders.c.status.in_(_WORKING)

_INSERT_ORDER = insert(orders)
_INSERT_EVENT = insert(order_events)
# The SET clause comes from the parameter keys (the mutable columns); the WHERE is the CAS.
_CAS_UPDATE = update(orders).where(
    orders.c.id == bindparam("cas_id"), orders.c.seq == bindparam("cas_seq")
)
_GET = select(orders).where(orders.c.id == bindparam("order_id"))
_EVENTS = (
    select(order_events)
    .where(order_events.c.order_id == bindparam("order_id"))
    .where(order_events.c.seq > bindparam("after_seq"))
    .order_by(order_events.c.seq)
)
_ACTIVE_COUNT = select(func.count()).select_from(orders).where(_working)
_ACTIVE_IDS = (
    select(orders.c.id)
    .where(_working)
    .order_by(orders.c.created_at, orders.c.id)
    .limit(bindparam("limit"))
)
_RECENT = (
    select(orders)
    .order_by(orders.c.created_at.desc(), orders.c.id.desc())
    .limit(bindparam("limit"))
)
# The same three for one API key's orders (`owner` given).
_owned = orders.c.owner == bindparam("owner")
_ACTIVE_QUERIES = {
    False: (_ACTIVE_COUNT, _ACTIVE_IDS),
    True: (_ACTIVE_COUNT.where(_owned), _ACTIVE_IDS.where(_owned)),
}
_UNFINISHED = (
    select(orders.c.id)
    # Armed orders are the trigger watchers' (they hold leases); the sweep re-queues the rest.
    .where(orders.c.status.in_([s for s in _WORKING if s != OrderStatus.WATCHING.value]))
    .where(orders.c.updated_at < bindparam("before"))
    .order_by(orders.c.updated_at, orders.c.id)
    .limit(bindparam("limit"))
)
_PING = text("SELECT 1")
_INSERT_KEY = insert(idempotency_keys)
_THE_KEY = (idempotency_keys.c.owner == bindparam("owner")) & (
    idempotency_keys.c.key == bindparam("key")
)
_GET_KEY = select(idempotency_keys).where(_THE_KEY)
_DELETE_KEY = delete(idempotency_keys).where(_THE_KEY)
_PURGE_KEYS = delete(idempotency_keys).where(idempotency_keys.c.expires_at < bindparam("before"))
# Trigger watchers: heartbeats, and claims of armed orders nobody (alive) holds.
_armed = orders.c.status == OrderStatus.WATCHING.value
_RENEW = update(watchers).where(watchers.c.id == bindparam("w_id"))
_ADD_WATCHER = insert(watchers)
_DEAD = (
    select(watchers.c.id)
    # Never the caller itself: a watcher that claims is alive, however late its last beat.
    .where(watchers.c.alive_until < bindparam("now"), watchers.c.id != bindparam("w_id"))
    .with_for_update(skip_locked=True)
)
_BURY = delete(watchers).where(
    watchers.c.id == bindparam("w_id"), watchers.c.alive_until < bindparam("now")
)
_FORGET = delete(watchers).where(watchers.c.id == bindparam("w_id"))
_LET_GO = update(orders).where(_armed, orders.c.watcher == bindparam("w_id")).values(watcher=None)
_UNHELD = (
    select(orders.c.id)
    .where(_armed, orders.c.watcher.is_(None))
    .order_by(orders.c.created_at, orders.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_CLAIM = (
    update(orders)
    .where(orders.c.id.in_(_UNHELD.scalar_subquery()), _armed, orders.c.watcher.is_(None))
    .values(watcher=bindparam("w_id"))
    .returning(*orders.c)
)
# PostgreSQL: `id IN (subquery)` is planned from statistics, and a fresh database (or armed
# orders grown since the last autovacuum) has none: measured at 20,000 armed orders without
# ANALYZE, a nested loop re-ran the sorted subquery for every row, 13 s for one claim (and
# took 1,700 rows, not 1,000). `= ANY(ARRAY(subquery))` runs the subquery once and then
# reads the primary key (48 ms). The subquery's FOR UPDATE re-checks each row it locks, so
# the ids are armed and unheld and stay ours: no re-check outside, which would steer the
# planner back to the status index.
_CLAIM_PG = (
    update(orders)
    .where(orders.c.id == any_(func.array(_UNHELD.scalar_subquery())))
    .values(watcher=bindparam("w_id"))
    .returning(*orders.c)
)
_CLAIM_ONE = (
    update(orders)
    .where(orders.c.id == bindparam("order_id"), _armed, orders.c.watcher.is_(None))
    .values(watcher=bindparam("w_id"))
    .returning(*orders.c)
)


def make_engine(url: str, *, pooled: bool = True) -> AsyncEngine:
    """An async engine for `url`, set up for the store's workload.

    Args:
        url: `sqlite+aiosqlite:///path` or `postgresql+asyncpg://...`.
        pooled: False for a one-off job (migrations): no connection outlives its use.
    """
    sa_url = make_url(url)
    options: dict[str, Any] = {"json_serializer": json_text}
    if not pooled:
        options["poolclass"] = NullPool
    if sa_url.get_backend_name() == "sqlite":
        engine = create_async_engine(sa_url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if pooled:
        options["pool_size"] = 10
        options["max_overflow"] = 10
    # No pre-ping: it is a round trip on every checkout. A dead connection fails its call
    # instead, which invalidates the pool, and the next call reconnects.
    options["pool_pre_ping"] = False
    options["connect_args"] = {"server_settings": {"application_name": "oee"}}
    return create_async_engine(sa_url, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers never block the writer. NORMAL: in WAL, a power cut may lose the last
        # commits but never corrupts the file, and commits skip an fsync each.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


# Each unit of work is a plain function run with `run_sync`: it then runs in one greenlet
# instead of switching for every awaited begin/execute/commit, which measured about a quarter
# less CPU per save.


def _insert(conn: Connection, order_row: dict[str, Any], event_row: dict[str, Any]) -> None:
    with conn.begin():
        conn.execute(_INSERT_ORDER, order_row)
        conn.execute(_INSERT_EVENT, event_row)


def _insert_many(
    conn: Connection, order_rows: list[dict[str, Any]], event_rows: list[dict[str, Any]]
) -> None:
    with conn.begin():
        conn.execute(_INSERT_ORDER, order_rows)
        conn.execute(_INSERT_EVENT, event_rows)


def _insert_claiming(
    conn: Connection, order_row: dict[str, Any], event_row: dict[str, Any], key: IdempotencyKey
) -> str:
    """Insert the order and claim its key in one transaction, or return the key's holder."""
    for _ in range(2):  # the second pass follows the removal of an expired claim
        try:
            with conn.begin():
                conn.execute(_INSERT_ORDER, order_row)
                conn.execute(_INSERT_EVENT, event_row)
                # Last, so a concurrent duplicate fails on the key's primary key and rolls
                # its order back with it: exactly one order per key, whoever commits first.
                conn.execute(_INSERT_KEY, _key_row(key, order_row["id"]))
            return str(order_row["id"])
        except IntegrityError:
            with conn.begin():
                held = conn.execute(_GET_KEY, _key_id(key)).mappings().first()
                if held is None:
                    continue  # purged in between: claim it again
                if held["expires_at"] > order_row["created_at"]:  # still in its window
                    if held["fingerprint"] != key.fingerprint:
                        raise IdempotencyConflict(
                            "this Idempotency-Key was already used for a different order request"
                        ) from None
                    return str(held["order_id"])
                conn.execute(_DELETE_KEY, _key_id(key))
    raise IdempotencyConflict("this Idempotency-Key is being claimed concurrently; retry")


def _key_id(key: IdempotencyKey) -> dict[str, Any]:
    return {"owner": key.owner or "", "key": key.key}  # '': open mode (see _schema)


def _key_row(key: IdempotencyKey, order_id: str) -> dict[str, Any]:
    return {
        **_key_id(key),
        "fingerprint": key.fingerprint,
        "order_id": order_id,
        "expires_at": key.expires_at,
    }


def _purge_keys(conn: Connection, before: datetime) -> int:
    with conn.begin():
        return int(conn.execute(_PURGE_KEYS, {"before": before}).rowcount)


def _compare_and_set(conn: Connection, changes: dict[str, Any], event_row: dict[str, Any]) -> None:
    with conn.begin():  # an exception inside rolls back
        if conn.execute(_CAS_UPDATE, changes).rowcount != 1:
            raise StaleOrder(f"order {changes['cas_id']} is no longer at seq {changes['cas_seq']}")
        conn.execute(_INSERT_EVENT, event_row)


def _get(conn: Connection, order_id: str, registry: Registry) -> Order | None:
    row = conn.execute(_GET, {"order_id": order_id}).mappings().first()
    return order_from_row(row, registry) if row is not None else None


def _events(conn: Connection, order_id: str, after_seq: int) -> list[OrderEvent]:
    rows = conn.execute(_EVENTS, {"order_id": order_id, "after_seq": after_seq}).mappings()
    return [event_from_row(row) for row in rows]


def _active(conn: Connection, limit: int, owner: str | None) -> tuple[int, list[str]]:
    count_query, ids_query = _ACTIVE_QUERIES[owner is not None]
    count: int = conn.execute(count_query, {"owner": owner}).scalar_one()
    return count, list(conn.execute(ids_query, {"limit": limit, "owner": owner}).scalars())


def _recent(
    conn: Connection,
    limit: int,
    owner: str | None,
    status: str | None,
    order_type: str | None,
    since: datetime | None,
    registry: Registry,
) -> list[Order]:
    query = _RECENT
    if owner is not None:
        query = query.where(_owned)
    if status is not None:
        query = query.where(orders.c.status == status)
    if order_type is not None:
        query = query.where(orders.c.type == order_type)
    if since is not None:
        query = query.where(orders.c.created_at >= since)
    params = {"limit": limit, "owner": owner}
    return [order_from_row(row, registry) for row in conn.execute(query, params).mappings()]


def _heartbeat(conn: Connection, watcher: str, alive_until: datetime) -> bool:
    with conn.begin():
        if conn.execute(_RENEW, {"w_id": watcher, "alive_until": alive_until}).rowcount == 1:
            return True
        conn.execute(_ADD_WATCHER, {"id": watcher, "alive_until": alive_until})
        return False


def _claim_armed(
    conn: Connection, claim: Update, watcher: str, now: datetime, limit: int, registry: Registry
) -> list[Order]:
    with conn.begin():
        # A dead watcher's orders go back to nobody; whoever buries it frees them, once.
        for dead in list(conn.execute(_DEAD, {"now": now, "w_id": watcher}).scalars()):
            if conn.execute(_BURY, {"w_id": dead, "now": now}).rowcount == 1:
                conn.execute(_LET_GO, {"w_id": dead})
        rows = conn.execute(claim, {"w_id": watcher, "limit": limit}).mappings().all()
    return [order_from_row(row, registry) for row in rows]


def _claim_one(conn: Connection, order_id: str, watcher: str, registry: Registry) -> Order | None:
    with conn.begin():
        row = conn.execute(_CLAIM_ONE, {"order_id": order_id, "w_id": watcher}).mappings().first()
    return order_from_row(row, registry) if row is not None else None


def _release(conn: Connection, watcher: str) -> None:
    with conn.begin():
        conn.execute(_LET_GO, {"w_id": watcher})
        conn.execute(_FORGET, {"w_id": watcher})


def _unfinished(conn: Connection, updated_before: datetime, limit: int) -> list[str]:
    params = {"before": updated_before, "limit": limit}
    return list(conn.execute(_UNFINISHED, params).scalars())


def _ping(conn: Connection) -> None:
    conn.execute(_PING)


class SqlAlchemyStore:
    """`OrderStore` over one SQLAlchemy async engine, shared by every call."""

    def __init__(self, engine: AsyncEngine, registry: Registry = MAINNET_TOKENS) -> None:
        self._engine = engine
        self._registry = registry  # orders are stored by symbol: the cluster's tokens read them
        sqlite = engine.dialect.name == "sqlite"
        # Reads outside a transaction on PostgreSQL skip the BEGIN and ROLLBACK round trips.
        self._reader = engine if sqlite else engine.execution_options(isolation_level="AUTOCOMMIT")
        # SQLite: each unit of work in one hop to a thread (see _sqlite_threads); the one writer
        # thread serialises this process's writes in order. Measured with 50 concurrent saves
        # on aiosqlite, writers left to busy_timeout polled in its sleep-and-retry loop, costing
        # CPU and throughput: a FIFO hands the write lock straight over instead. Other processes
        # still wait via busy_timeout.
        self._sqlite = SqliteThreads(engine.url, json_text, _sqlite_pragmas) if sqlite else None
        self._batch = BatchCas(engine.dialect)
        self._one_statement = None if sqlite else OneStatementCas(self._batch)
        self._one_insert = None if sqlite else OneStatementInsert(engine.dialect)
        self._claim = _CLAIM if sqlite else _CLAIM_PG

    @classmethod
    def from_url(cls, url: str, registry: Registry = MAINNET_TOKENS) -> SqlAlchemyStore:
        """A store on its own engine for `url` (`sqlite+aiosqlite:///...`, `postgresql+asyncpg://...`)."""
        return cls(make_engine(url), registry)

    async def create(
        self, order: Order, event: OrderEvent, idempotency: IdempotencyKey | None = None
    ) -> str:
        """Insert a new order and its first event in one transaction; returns the order's id.

        With `idempotency`, the key is claimed in the same transaction; an unexpired claim
        returns the id of the order holding it instead, writing nothing.

        Raises:
            IdempotencyConflict: The key holds an order asked with a different fingerprint.
        """
        order_row, event_row = order_to_row(order), event_to_row(event)
        if self._one_insert is not None:  # PostgreSQL: one round trip, atomic by itself
            try:
                await self._insert_one_statement([order_row], [event_row], idempotency)
                return order.id
            except IntegrityError:
                if idempotency is None:
                    raise
            # The key is held (or the id taken): the transaction below reads the holder,
            # replaces an expired claim, or raises what the plain insert raises.
        if idempotency is None:
            await self._write(_insert, order_row, event_row)
            return order.id
        return await self._write(_insert_claiming, order_row, event_row, idempotency)

    async def create_many(self, new: Sequence[tuple[Order, OrderEvent]]) -> None:
        """Insert new orders (no idempotency keys) and their first events in one transaction;
        if any cannot be inserted (an id taken), none is and the error is raised."""
        if not new:
            return
        order_rows = [order_to_row(order) for order, _ in new]
        event_rows = [event_to_row(event) for _, event in new]
        if self._one_insert is not None:  # PostgreSQL: one round trip, atomic by itself
            await self._insert_one_statement(order_rows, event_rows)
            return
        await self._write(_insert_many, order_rows, event_rows)

    async def _insert_one_statement(
        self,
        order_rows: list[dict[str, Any]],
        event_rows: list[dict[str, Any]],
        key: IdempotencyKey | None = None,
    ) -> None:
        inserts = self._one_insert
        assert inserts is not None  # PostgreSQL only
        if key is None:
            sql, params = inserts.sql, inserts.params(order_rows, event_rows)
        else:
            key_row = _key_row(key, order_rows[0]["id"])
            sql, params = inserts.sql_claiming, inserts.params(order_rows, event_rows, key_row)
        async with self._reader.connect() as conn:
            await conn.run_sync(inserts.run, sql, params)

    async def purge_idempotency_keys(self, expired_before: datetime) -> int:
        """Forget idempotency keys that expired before `expired_before`; returns how many."""
        return await self._write(_purge_keys, expired_before)

    async def save(self, order: Order, event: OrderEvent) -> None:
        """Persist `order` and append `event`, if the stored order is still at `event.seq - 1`.

        Raises:
            StaleOrder: Someone else advanced the order; nothing was written.
            ValueError: `event` is not the order's latest event.
        """
        if event.order_id != order.id or event.seq != order.seq:
            raise ValueError(f"event {event.order_id}#{event.seq} is not {order.id}#{order.seq}")
        changes = order_changes(order)
        changes["cas_id"], changes["cas_seq"] = order.id, event.seq - 1
        await self._write(_compare_and_set, changes, event_to_row(event))

    async def save_many(self, moves: Sequence[tuple[Order, OrderEvent]]) -> list[bool]:
        """Persist each (order, event) like `save`, all in one transaction, set-based (one
        compare-and-set statement for the batch, one insert of the winners' events).

        Returns:
            For each move, whether it was written; a stale one (the order moved on) is
            skipped and the others still commit.

        Raises:
            ValueError: An event is not its order's latest, or an order is moved twice.
        """
        updates, events = self._batch.rows(moves)
        if not updates:
            return []
        if self._one_statement is not None:  # PostgreSQL: one round trip, atomic by itself
            async with self._reader.connect() as conn:
                return await conn.run_sync(self._one_statement.run, updates, events)
        return await self._write(self._batch.run, updates, events)

    async def decide_fires(self, fires: Sequence[tuple[Order, Firing]]) -> list[bool]:
        """Commit the decision to fire each watching order at its current seq (its exit row),
        one statement for the batch; whether each won its watch's exit (see `_exits`)."""
        if not fires:
            return []
        columns = _exits.fire_rows(fires)
        if self._one_statement is not None:  # PostgreSQL: autocommit, one round trip
            async with self._reader.connect() as conn:
                won = await conn.run_sync(_exits.fire_pg, columns)
        else:
            won = await self._write(_exits.fire_sqlite, columns)
        return [order.id in won for order, _ in fires]

    async def end_watches(self, moves: Sequence[tuple[Order, OrderEvent]]) -> list[bool]:
        """Cancel or expire watching orders: each move's exit and the move itself (like
        `save_many`'s) in one transaction; whether each was written."""
        updates, events = self._batch.rows(moves)
        if not updates:
            return []
        exits = [(o.id, o.seq - 1, o.status.value, None) for o, _ in moves]
        return await self._write(_exits.end, self._batch, exits, updates, events)

    async def fire_decisions(self, held: Sequence[Order]) -> dict[str, Firing]:
        """The fire decisions already taken for these watching orders at their current seqs
        (a crash between decision and move), by order id."""
        return await self._read(_exits.fired_among, {o.id: o.seq for o in held})

    async def heartbeat(self, watcher: str, alive_until: datetime) -> bool:
        """Record that the trigger watcher `watcher` lives until `alive_until`.

        Returns:
            False when it had no live record (its first beat, or it was declared dead and its
            orders taken over): it must then forget what it held and claim afresh.
        """
        return await self._write(_heartbeat, watcher, alive_until)

    async def claim_armed(self, watcher: str, now: datetime, limit: int) -> list[Order]:
        """Hand `watcher` up to `limit` armed orders that no live watcher holds (oldest first),
        after freeing those of watchers whose heartbeat ended before `now`."""
        return await self._write(_claim_armed, self._claim, watcher, now, limit, self._registry)

    async def claim_order(self, order_id: str, watcher: str) -> Order | None:
        """Hand `watcher` one armed order if nobody holds it; None otherwise."""
        return await self._write(_claim_one, order_id, watcher, self._registry)

    async def release(self, watcher: str) -> None:
        """Let go of every order `watcher` holds and forget it (a graceful stop)."""
        await self._write(_release, watcher)

    async def get(self, order_id: str) -> Order | None:
        """The order, or None when there is no such order."""
        return await self._read(_get, order_id, self._registry)

    async def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]:
        """The order's events with `seq > after_seq`, in seq order."""
        return await self._read(_events, order_id, after_seq)

    async def active(self, limit: int, owner: str | None = None) -> tuple[int, list[str]]:
        """How many orders are not terminal, and the ids of up to `limit` of them (oldest first);
        only `owner`'s when given."""
        return await self._read(_active, limit, owner)

    async def recent(
        self,
        limit: int,
        owner: str | None = None,
        *,
        status: str | None = None,
        order_type: str | None = None,
        since: datetime | None = None,
    ) -> list[Order]:
        """The most recently created orders, newest first; only `owner`'s, of `status`, of
        `order_type` and created at or after `since` when given."""
        return await self._read(_recent, limit, owner, status, order_type, since, self._registry)

    async def unfinished(self, updated_before: datetime, limit: int) -> list[str]:
        """Ids of non-terminal orders last changed before `updated_before`, oldest first."""
        return await self._read(_unfinished, updated_before, limit)

    async def ping(self) -> None:
        """Run `SELECT 1`; raises if the database cannot be reached."""
        if self._sqlite is not None:
            await self._sqlite.read(_ping)
            return
        async with self._reader.connect() as conn:
            await conn.execute(_PING)

    async def _write(
        self, unit: Callable[Concatenate[Connection, _P], _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        if self._sqlite is not None:
            return await self._sqlite.write(unit, *args, **kwargs)
        async with self._engine.connect() as conn:
            return await conn.run_sync(unit, *args, **kwargs)

    async def _read(
        self, query: Callable[Concatenate[Connection, _P], _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        if self._sqlite is not None:  # a local file: no server to drop the connection
            return await self._sqlite.read(query, *args, **kwargs)
        # Without pre-ping, the first call after the server dropped our connections fails and
        # invalidates the pool; a read is safe to run once more on a fresh connection. Writes are
        # not retried: the caller re-reads the order (and a repeated save would be stale anyway).
        try:
            async with self._reader.connect() as conn:
                return await conn.run_sync(query, *args, **kwargs)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        async with self._reader.connect() as conn:
            return await conn.run_sync(query, *args, **kwargs)

    async def close(self) -> None:
        """Close every pooled connection (and, on SQLite, stop the store's thread)."""
        if self._sqlite is not None:
            await self._sqlite.close()
        await self._engine.dispose()
