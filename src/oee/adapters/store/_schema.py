"""The store's tables as SQLAlchemy Core metadata, in types both SQLite and PostgreSQL have.

`versions/0001_initial.py` creates the same tables by hand; a test checks that the migrated
database and this metadata agree, so the two cannot drift apart silently.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
)

# Stable constraint names, so later migrations can refer to them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A `DateTime(timezone=True)` that only takes aware datetimes and always gives UTC back.

    SQLite keeps datetimes as text without an offset, so values are normalised to UTC on the way
    in (text order is then time order) and get their tzinfo back on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only keeps aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# none_as_null: a missing decision/tx/fill is SQL NULL, not the JSON text 'null'.
_JSON = JSON(none_as_null=True)

metadata = MetaData(naming_convention=NAMING_CONVENTION)

orders = Table(
    "orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("type", String(16), nullable=False),
    # No index of its own: `ix_orders_status_watcher` leads with it and serves every status
    # filter; one index fewer to write each time an order changes status (migration 0006).
    Column("status", String(16), nullable=False),
    # A symbol, or for a token no registry lists (a sniper's target) its mint address.
    Column("token_in", String(64), nullable=False),
    Column("token_out", String(64), nullable=False),
    # u64 base units overflow a signed BIGINT, so the integer is kept as its decimal text.
    Column("amount_in", String(20), nullable=False),
    Column("slippage_bps", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    # Not indexed: only the sweep filters on it, after the status (a few in-flight rows).
    Column("updated_at", UTCDateTime, nullable=False),
    Column("decision", _JSON),
    Column("tx", _JSON),
    Column("fill", _JSON),
    Column("attempts", JSON, nullable=False),
    Column("error", String),
    Column("reason", Text),
    # The signature while submitted, the fill's hash once confirmed: look-ups by hash.
    Column("tx_hash", String(128), index=True),
    # The API key (by name) that placed it; NULL for orders placed while the engine ran open.
    Column("owner", String(64)),
    # One key's listings (`recent`, `active`) read its own orders, newest first, by index.
    Index("ix_orders_owner", "owner", "created_at"),
    # Limit and sniper orders: the trigger, when it expires, and what fired it last.
    Column("trigger", _JSON),
    Column("expires_at", UTCDateTime),
    Column("fired", _JSON),
    Column("max_price_impact_bps", Integer),
    # The trigger-watcher process that holds an armed order (see `watchers`); NULL: nobody.
    Column("watcher", String(64)),
    # Claims look for armed orders nobody holds, or a dead watcher held, by index.
    Index("ix_orders_status_watcher", "status", "watcher"),
)

# Live trigger-watcher processes: one row each, its heartbeat renewed every second or so. An
# armed order belongs to the watcher named on it while that watcher's heartbeat is current;
# past it, any other watcher may take its orders over.
watchers = Table(
    "watchers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("alive_until", UTCDateTime, nullable=False, index=True),
)

order_events = Table(
    "order_events",
    metadata,
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("details", JSON, nullable=False),
    PrimaryKeyConstraint("order_id", "seq"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # Keys are per API key name ('' in open mode: a primary key column cannot be NULL), so two
    # clients may use the same Idempotency-Key without colliding.
    Column("owner", String(64), primary_key=True, server_default=""),
    # A client key: the same key with the same request returns the same order.
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("order_id", String(36), ForeignKey("orders.id"), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# Who ended each watch of an armed order: one row per (order, seq it was watching at), kind
# fired / cancelled / expired; a fire's row carries its firing (`Firing.to_dict` as JSON text).
# The primary key is the arbiter: the first exit inserted wins, the others find it taken. A fire
# decision is committed as these rows alone, before the orders move (`_exits`). No foreign key
# to `orders`, on purpose: it would cost the fire's one statement a lookup per row, and every
# exit is written for an order its writer just read (migration 0007; docs/decisions.md).
watch_exits = Table(
    "watch_exits",
    metadata,
    Column("order_id", String(36), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("firing", Text),
    PrimaryKeyConstraint("order_id", "seq"),
)

# The kill switch (`oee.adapters.killswitch.sqlalchemy`): one row, id 1, absent until first set.
trading_halt = Table(
    "trading_halt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("halted", Boolean, nullable=False),
    Column("reason", Text),
    # The admin key that set it (NULL in open mode).
    Column("by", String(64)),
    Column("at", UTCDateTime, nullable=False),
)
