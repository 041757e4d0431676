"""Watch exits: who ends each watch of an armed order (`watch_exits` in `_schema`).

A watching order at seq s leaves `watching` by exactly one exit, the row (order, s): a fire,
a cancel or an expiry. Every exit is inserted with ON CONFLICT DO NOTHING, so the primary key
picks one winner and the others find they lost.

- A fire decision (`fire`) is the exits of a whole batch in ONE statement, committed on its
  own: the moment the orders are fired for good. The orders' rows and events follow (the
  ordinary `save_many`); a crash in between leaves the decision for the next claim to apply.
- A cancel or an expiry (`end`) inserts its exits and moves its orders in one transaction:
  both or neither (an exit whose move loses its compare-and-set is taken back).

Each function is a run_sync unit of work, like the store's others.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select

from oee.adapters.store._batch import SQLITE_MAX_VARIABLES, BatchCas, Row
from oee.adapters.store._codec import json_text
from oee.adapters.store._schema import watch_exits
from oee.domain.orders import Order
from oee.domain.triggers import Firing

FIRED = "fired"

# PostgreSQL: the ids and seqs as arrays, each firing's text once ($4) and an index into it
# per order ($3): a quote that fires a thousand orders travels once.
_PG_FIRE = (
    "INSERT INTO watch_exits (order_id, seq, kind, firing)"
    " SELECT v.id, v.seq, 'fired', ($4::text[])[v.f]"
    " FROM unnest($1::text[], $2::int[], $3::int[]) AS v(id, seq, f)"
    " ON CONFLICT DO NOTHING RETURNING order_id"
)
_PG_END = (
    "INSERT INTO watch_exits (order_id, seq, kind)"
    " SELECT * FROM unnest($1::text[], $2::int[], $3::text[])"
    " ON CONFLICT DO NOTHING RETURNING order_id"
)
_TAKE_BACK = delete(watch_exits).where(
    watch_exits.c.order_id == bindparam("oid"), watch_exits.c.seq == bindparam("s")
)
_FIRED_AMONG = select(watch_exits.c.order_id, watch_exits.c.seq, watch_exits.c.firing).where(
    watch_exits.c.order_id.in_(bindparam("ids", expanding=True)), watch_exits.c.kind == FIRED
)


@functools.lru_cache(maxsize=8)
def _sqlite_insert(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?)"] * rows)
    return (
        f"INSERT INTO watch_exits (order_id, seq, kind, firing) VALUES {values}"
        " ON CONFLICT DO NOTHING RETURNING order_id"
    )


_SQLITE_CHUNK = SQLITE_MAX_VARIABLES // 4


def _sqlite_exits(conn: Connection, rows: Sequence[tuple[str, int, str, str | None]]) -> set[str]:
    won: set[str] = set()
    for start in range(0, len(rows), _SQLITE_CHUNK):
        chunk = rows[start : start + _SQLITE_CHUNK]
        flat = tuple(value for row in chunk for value in row)
        won.update(conn.exec_driver_sql(_sqlite_insert(len(chunk)), flat).scalars())
    return won


def fire_rows(fires: Sequence[tuple[Order, Firing]]) -> tuple[list[Any], ...]:
    """The batch as columns: ids, seqs (each order's current, watching seq), 1-based indices
    into the distinct firings' JSON texts, and those texts."""
    ids, seqs, picks, texts = [], [], [], []
    index: dict[int, int] = {}  # id(firing) -> its text's index: one encode per shared firing
    for order, firing in fires:
        at = index.get(id(firing))
        if at is None:
            texts.append(json_text(firing.to_dict()))  # the JSON columns' own encoder
            at = index[id(firing)] = len(texts)
        ids.append(order.id)
        seqs.append(order.seq)
        picks.append(at)
    return ids, seqs, picks, texts


def fire_pg(conn: Connection, columns: tuple[list[Any], ...]) -> set[str]:
    """PostgreSQL (an autocommit connection): one statement, atomic by itself; the winners."""
    won = set(conn.exec_driver_sql(_PG_FIRE, columns).scalars())
    conn.commit()  # no BEGIN was sent: this only ends SQLAlchemy's own
    return won


def fire_sqlite(conn: Connection, columns: tuple[list[Any], ...]) -> set[str]:
    """SQLite: the batch in one transaction (one statement per 8,000 orders); the winners."""
    ids, seqs, picks, texts = columns
    rows = [
        (oid, seq, FIRED, texts[pick - 1]) for oid, seq, pick in zip(ids, seqs, picks, strict=True)
    ]
    with conn.begin():
        return _sqlite_exits(conn, rows)


def end(
    conn: Connection,
    batch: BatchCas,
    exits: Sequence[tuple[str, int, str, str | None]],
    updates: list[Row],
    events: list[Row],
) -> list[bool]:
    """Insert each exit and, where it won, move the order (compare-and-set and event), in one
    transaction; whether each move was written."""
    with conn.begin():
        if batch.postgres:
            columns = ([e[0] for e in exits], [e[1] for e in exits], [e[2] for e in exits])
            won = set(conn.exec_driver_sql(_PG_END, columns).scalars())
        else:
            won = _sqlite_exits(conn, exits)
        picked = [i for i, row in enumerate(updates) if row[0] in won]
        if not picked:
            return [False] * len(updates)
        moved = batch.apply(conn, [updates[i] for i in picked], [events[i] for i in picked])
        done = [False] * len(updates)
        stale = []
        for i, ok in zip(picked, moved, strict=True):
            done[i] = ok
            if not ok:  # the order is no longer at that seq: the exit must not stand alone
                stale.append({"oid": updates[i][0], "s": updates[i][1]})
        if stale:
            conn.execute(_TAKE_BACK, stale)
    return done


def fired_among(conn: Connection, at: dict[str, int]) -> dict[str, Firing]:
    """The fire decisions taken at these orders' seqs (`at`: id -> seq), by order id."""
    found: dict[str, Firing] = {}
    if not at:
        return found
    ids = list(at)
    for start in range(0, len(ids), SQLITE_MAX_VARIABLES):
        params = {"ids": ids[start : start + SQLITE_MAX_VARIABLES]}
        for oid, seq, text in conn.execute(_FIRED_AMONG, params):
            if at[oid] == seq and text is not None:
                found[oid] = Firing.from_dict(json.loads(text))
    return found
