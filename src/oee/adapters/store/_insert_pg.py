"""PostgreSQL: new orders, their first events (and an idempotency key) as ONE statement.

`create` ran BEGIN, INSERT order, INSERT event, (INSERT key,) COMMIT: four or five round
trips, and at the API's usual load most group-commit passes carry a single create, so those
round trips and their driver work were about a sixth of the API's CPU (profile,
docs/benchmarks.md). Here the orders' INSERT is a data-modifying CTE and the events' (and the
key's) INSERT takes the ids it returned, in one statement run outside an explicit transaction
(an AUTOCOMMIT connection): a single statement is atomic, so either every order is in with its
event (and key) or nothing is written, and the caller gets the error (an id taken, a key held).
The foreign keys to `orders` are checked at the statement's end, when the orders are in.

As in `_batch`, each value goes through its column's own bind processor, so a row written here
is byte for byte the row Core's INSERT writes (a contract test compares them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect

from oee.adapters.store._batch import (
    _EVENT_COLUMNS,
    _EVENT_NAMES,
    Row,
    _by_column,
    _converters,
    _pg_unnest,
)
from oee.adapters.store._schema import idempotency_keys, orders

_ORDER_COLUMNS = list(orders.c)
_ORDER_VALUES = itemgetter(*(column.name for column in _ORDER_COLUMNS))
_EVENT_VALUES = itemgetter(*(column.name for column in _EVENT_COLUMNS))
# The key's row but its order_id, which comes from the inserted order.
_KEY_COLUMNS = [column for column in idempotency_keys.c if column.name != "order_id"]
_KEY_VALUES = itemgetter(*(column.name for column in _KEY_COLUMNS))

Converters = list[tuple[int, Callable[[Any], Any]]]


class OneStatementInsert:
    """`create_many` (and `create`, with or without a key) for PostgreSQL in one round trip."""

    def __init__(self, dialect: Dialect) -> None:
        self._to_order = _converters(_ORDER_COLUMNS, dialect)
        self._to_event = _converters(_EVENT_COLUMNS, dialect)
        self._to_key = _converters(_KEY_COLUMNS, dialect)
        values, source = _pg_unnest(_ORDER_COLUMNS)
        names = ", ".join(column.name for column in _ORDER_COLUMNS)
        new = f"o AS (INSERT INTO orders ({names}) SELECT {', '.join(values)} FROM {source} RETURNING id)"
        values, source = _pg_unnest(_EVENT_COLUMNS)
        events = (
            f" INSERT INTO order_events ({_EVENT_NAMES}) SELECT {', '.join(values)}"
            f" FROM {_shifted(source, len(_ORDER_COLUMNS))}"
        )
        self.sql = f"WITH {new}{events}"
        # One order with its key: the key's arrays (of one row) follow the events'.
        values, source = _pg_unnest(_KEY_COLUMNS)
        keys = ", ".join(column.name for column in _KEY_COLUMNS)
        claim = (
            f"k AS (INSERT INTO idempotency_keys ({keys}, order_id) SELECT {', '.join(values)},"
            f" o.id FROM {_shifted(source, len(_ORDER_COLUMNS) + len(_EVENT_COLUMNS))}, o)"
        )
        self.sql_claiming = f"WITH {new}, {claim}{events}"

    def params(
        self,
        order_rows: Sequence[dict[str, Any]],
        event_rows: Sequence[dict[str, Any]],
        key_row: dict[str, Any] | None = None,
    ) -> tuple[Any, ...]:
        """The statement's parameters: one array per order and event column (then, for
        `sql_claiming`, the key's values), each value as its column's bind processor makes it."""
        new = [_converted(_ORDER_VALUES(row), self._to_order) for row in order_rows]
        first = [_converted(_EVENT_VALUES(row), self._to_event) for row in event_rows]
        params = _by_column(new) + _by_column(first)
        if key_row is None:
            return params
        return params + _by_column([_converted(_KEY_VALUES(key_row), self._to_key)])

    @staticmethod
    def run(conn: Connection, sql: str, params: tuple[Any, ...]) -> None:
        """Run one of the statements (a run_sync unit of work on an AUTOCOMMIT connection)."""
        conn.exec_driver_sql(sql, params)
        conn.commit()  # no BEGIN was sent (autocommit): this only ends SQLAlchemy's own


def _converted(values: Row, converters: Converters) -> Row:
    out = list(values)
    for i, convert in converters:
        out[i] = convert(out[i])
    return tuple(out)


def _shifted(source: str, by: int) -> str:
    """`source`'s `$n` parameters renumbered to follow `by` earlier ones."""
    return re.sub(r"\$(\d+)", lambda m: f"${int(m[1]) + by}", source)
