"""PostgreSQL: a batch of compare-and-sets and the winners' events as ONE statement.

`BatchCas` runs a batch as BEGIN, UPDATE ... RETURNING, INSERT, COMMIT: four round trips.
Group commit sends a batch per pass of the event loop, so those round trips are most of a
batch's latency. Here the UPDATE is a data-modifying CTE and the INSERT takes only the rows
it returned (the winners), in one statement run outside an explicit transaction: a single
statement is atomic, so either every winner moves with its event or nothing is written. The
UPDATE still re-checks each row's seq after waiting on its lock, as `save` does.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection

from oee.adapters.store._batch import (
    _EVENT_COLUMNS,
    _EVENT_NAMES,
    BatchCas,
    Row,
    _by_column,
    _pg_unnest,
)


class OneStatementCas:
    """`BatchCas.run` for PostgreSQL in one round trip (a run_sync unit of work)."""

    def __init__(self, batch: BatchCas) -> None:
        shift = batch._pg_update.count("$")  # the events' arrays follow the updates'
        values, source = _pg_unnest(_EVENT_COLUMNS)
        source = re.sub(r"\$(\d+)", lambda m: f"${int(m[1]) + shift}", source)
        self.sql = (
            f"WITH won AS ({batch._pg_update})"
            f" INSERT INTO order_events ({_EVENT_NAMES}) SELECT {', '.join(values)}"
            f" FROM {source} JOIN won ON won.id = v.c0 RETURNING order_events.order_id"
        )

    def run(self, conn: Connection, updates: list[Row], events: list[Row]) -> list[bool]:
        """Apply every CAS and insert the winners' events; whether each row won."""
        won = set(
            conn.exec_driver_sql(self.sql, _by_column(updates) + _by_column(events)).scalars()
        )
        conn.commit()  # no BEGIN was sent (autocommit): this only ends SQLAlchemy's own
        return [row[0] in won for row in updates]
