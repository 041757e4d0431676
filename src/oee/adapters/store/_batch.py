"""Compare-and-set of many orders at once: one set-based UPDATE, one INSERT of the winners' events.

A price update may fire thousands of orders. A statement per order costs a round trip
(PostgreSQL) or a thread hop (aiosqlite) each, ~0.2 ms, so 1,000 orders took ~200 ms. Here
the whole batch is joined against `orders` in one UPDATE whose WHERE is every order's CAS (its
id and the seq it was read at); RETURNING names the winners, and only their events are
inserted, in the same transaction. An order that lost (cancelled, expired, fired by another
watcher meanwhile) is left as it is and gets no event.

Both statements are SQL text run with `exec_driver_sql`: Core would compile a statement of K
rows of parameters anew for each K, and its per-row parameter handling cost more than the
database work. The values still go through each column's own SQLAlchemy bind processor, so a
batch stores exactly what `save` stores.

- PostgreSQL: the batch goes as one array per column, `unnest`ed into rows: one fixed statement
  each (prepared once per connection; the UPDATE is planned as a nested loop on the primary
  key whatever K is), any K, one parameter per column.
- SQLite (3.35+: `UPDATE ... FROM` and `RETURNING`): a `VALUES` list, chunked under the
  32,766 bound parameters SQLite allows, all chunks in the one transaction, then the events
  by `executemany`. A measured alternative, `json_each` over one JSON parameter, took twice as
  long. An older SQLite runs one UPDATE per row instead, still in one transaction.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Column, Connection, Dialect, Integer

from oee.adapters.store._codec import MUTABLE_COLUMNS, event_to_row, order_changes
from oee.adapters.store._schema import UTCDateTime, order_events, orders
from oee.domain.events import OrderEvent
from oee.domain.orders import Order

SQLITE_MAX_VARIABLES = 32_766  # SQLITE_MAX_VARIABLE_NUMBER's default since 3.32
SQLITE_SET_BASED = sqlite3.sqlite_version_info >= (3, 35)  # UPDATE FROM (3.33), RETURNING

# An UPDATE row: the order's id, the seq it must still be at, then MUTABLE_COLUMNS in order.
_UPDATE_COLUMNS = [orders.c.id, orders.c.seq, *(orders.c[name] for name in MUTABLE_COLUMNS)]
_EVENT_COLUMNS = list(order_events.c)
_CHANGES = itemgetter(*MUTABLE_COLUMNS)
_EVENT_VALUES = itemgetter(*(column.name for column in _EVENT_COLUMNS))
_SET = ", ".join(f"{name} = v.c{i}" for i, name in enumerate(MUTABLE_COLUMNS, 2))
_WHERE = " WHERE orders.id = v.c0 AND orders.seq = v.c1 RETURNING orders.id"
_EVENT_NAMES = ", ".join(column.name for column in _EVENT_COLUMNS)
_SQLITE_INSERT = f"INSERT INTO order_events ({_EVENT_NAMES}) VALUES ({', '.join('?' * 6)})"
# Old SQLite: the same row, its values first (SET), then the id and the expected seq (WHERE).
_SQLITE_ONE = (
    f"UPDATE orders SET {', '.join(f'{name} = ?' for name in MUTABLE_COLUMNS)}"
    " WHERE id = ? AND seq = ?"
)

Row = tuple[Any, ...]


class BatchCas:
    """The set-based compare-and-set for one dialect (the store builds one per engine).

    Attributes:
        chunk_rows: Rows per UPDATE on SQLite (PostgreSQL sends any batch at once).
        set_based: False on a SQLite older than 3.35: one UPDATE per row.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.postgres = dialect.name == "postgresql"
        self.chunk_rows = SQLITE_MAX_VARIABLES // len(_UPDATE_COLUMNS)
        self.set_based = self.postgres or SQLITE_SET_BASED
        self._update_converters = _converters(_UPDATE_COLUMNS, dialect)
        self._event_converters = _converters(_EVENT_COLUMNS, dialect)
        if self.postgres:
            values, source = _pg_unnest(_UPDATE_COLUMNS)
            sets = zip(MUTABLE_COLUMNS, values[2:], strict=True)
            self._pg_update = (
                f"UPDATE orders SET {', '.join(f'{name} = {value}' for name, value in sets)}"
                f" FROM {source}{_WHERE}"
            )
            values, source = _pg_unnest(_EVENT_COLUMNS)
            self._pg_insert = (
                f"INSERT INTO order_events ({_EVENT_NAMES}) SELECT {', '.join(values)}"
                f" FROM {source}"
            )

    def rows(self, moves: Sequence[tuple[Order, OrderEvent]]) -> tuple[list[Row], list[Row]]:
        """Each move's UPDATE row (id, expected seq, new values) and event row, as the driver
        takes them.

        Raises:
            ValueError: An event is not its order's latest, or an order is twice in the batch
                (each CAS compares with the state before the batch, so a second move of the
                same order could never win).
        """
        updates, events = [], []
        to_update, to_event = self._update_converters, self._event_converters
        for order, event in moves:
            if event.order_id != order.id or event.seq != order.seq:
                raise ValueError(
                    f"event {event.order_id}#{event.seq} is not {order.id}#{order.seq}"
                )
            update = [order.id, event.seq - 1, *_CHANGES(order_changes(order))]
            for i, convert in to_update:
                update[i] = convert(update[i])
            updates.append(tuple(update))
            values = list(_EVENT_VALUES(event_to_row(event)))
            for i, convert in to_event:
                values[i] = convert(values[i])
            events.append(tuple(values))
        if len({row[0] for row in updates}) != len(updates):
            raise ValueError("an order is moved twice in one batch")
        return updates, events

    def run(self, conn: Connection, updates: list[Row], events: list[Row]) -> list[bool]:
        """Apply every CAS and insert the winners' events, in one transaction (a run_sync
        unit of work); returns, for each row, whether it won."""
        with conn.begin():
            return self.apply(conn, updates, events)

    def apply(self, conn: Connection, updates: list[Row], events: list[Row]) -> list[bool]:
        """`run` inside the caller's transaction (the watch exits' moves share theirs)."""
        won = self._update(conn, updates)
        done = [row[0] in won for row in updates]
        inserted = [row for row, ok in zip(events, done, strict=True) if ok]
        if inserted and self.postgres:
            conn.exec_driver_sql(self._pg_insert, _by_column(inserted))
        elif inserted:
            conn.exec_driver_sql(_SQLITE_INSERT, inserted)
        return done

    def _update(self, conn: Connection, rows: list[Row]) -> set[str]:
        if self.postgres:
            return set(conn.exec_driver_sql(self._pg_update, _by_column(rows)).scalars())
        won: set[str] = set()
        if not self.set_based:
            for row in rows:
                if conn.exec_driver_sql(_SQLITE_ONE, (*row[2:], row[0], row[1])).rowcount == 1:
                    won.add(row[0])
            return won
        for start in range(0, len(rows), self.chunk_rows):
            chunk = rows[start : start + self.chunk_rows]
            flat = tuple(value for row in chunk for value in row)
            won.update(conn.exec_driver_sql(_sqlite_update(len(chunk)), flat).scalars())
        return won


def _converters(
    columns: Sequence[Column[Any]], dialect: Dialect
) -> list[tuple[int, Callable[[Any], Any]]]:
    """(position, bind processor) of each column that has one: what Core would apply."""
    converters: list[tuple[int, Callable[[Any], Any]]] = []
    for i, column in enumerate(columns):
        processor = column.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is None:
            continue
        convert: Callable[[Any], Any] = processor
        if isinstance(column.type, UTCDateTime):
            # A batch's moves mostly share one timestamp: convert it once.
            convert = _repeats(processor)
        elif isinstance(column.type, JSON):
            convert = _shared_text(processor)
        converters.append((i, convert))
    return converters


def _shared_text(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert` (a JSON encoder), handing back one text object for a run of equal texts, so a
    batch of orders fired by one quote holds their shared JSON once. It compares the encoded
    text, never the value: orjson encodes faster than a deep comparison, and a list mutated in
    place (an order's attempts) can never be mistaken for its earlier self."""
    last: list[Any] = [None]

    def converted(value: Any) -> Any:
        text = convert(value)
        if text == last[0]:
            return last[0]
        last[0] = text
        return text

    return converted


def _repeats(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert`, remembering its last answer, reused for a value equal to the last one
    (datetimes: equal instants normalise to the same UTC value). JSON is not remembered:
    orjson encodes a value in less time than comparing it to the last one would take."""
    last: list[Any] = [object(), None]

    def converted(value: Any) -> Any:
        if value != last[0]:
            last[0], last[1] = value, convert(value)
        return last[1]

    return converted


def _pg_unnest(columns: Sequence[Column[Any]]) -> tuple[list[str], str]:
    """The select list and the `unnest(...) AS v(c0, ...)` of a batch sent as one array per
    column. JSON travels as its text (what the bind processor made) and is cast back."""
    arrays, values = [], []
    for i, column in enumerate(columns):
        array = "text[]"
        if isinstance(column.type, Integer):
            array = "int[]"
        elif isinstance(column.type, UTCDateTime):
            array = "timestamptz[]"
        arrays.append(f"${i + 1}::{array}")
        values.append(f"v.c{i}::json" if isinstance(column.type, JSON) else f"v.c{i}")
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    return values, f"unnest({', '.join(arrays)}) AS v({names})"


def _by_column(rows: list[Row]) -> tuple[list[Any], ...]:
    return tuple(list(column) for column in zip(*rows, strict=True))


@functools.lru_cache(maxsize=8)  # a full chunk, and the last ones of recent batch sizes
def _sqlite_update(rows: int) -> str:
    row = "(" + ", ".join("?" * len(_UPDATE_COLUMNS)) + ")"
    names = ", ".join(f"c{i}" for i in range(len(_UPDATE_COLUMNS)))
    return f"WITH v({names}) AS (VALUES {', '.join([row] * rows)}) UPDATE orders SET {_SET} FROM v{_WHERE}"
