"""The kill switch in the order store's database: one row of `trading_halt` (migration 0005).

The database rather than Redis: it is already the source of truth every API and worker process
reads, it is durable (a halt must not lift itself because Redis restarted without persistence),
and the embedded engine has no Redis at all. The row is written rarely (an operator's halt or
resume) and read at most once per `oee.services.halt.HALT_REFRESH_S` per process, so it shares
the store's engine and pool.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from oee.adapters.store._schema import trading_halt
from oee.domain.risk import TRADING, Halt

ROW = 1  # the table holds this one row
_READ = select(trading_halt).where(trading_halt.c.id == ROW)
_UPDATE = update(trading_halt).where(trading_halt.c.id == bindparam("row"))
_INSERT = insert(trading_halt)


def _values(state: Halt) -> dict[str, object]:
    return {"halted": state.halted, "reason": state.reason, "by": state.by, "at": state.at}


def _write(conn: Connection, state: Halt) -> None:
    for _ in range(2):  # the second pass follows another process's first insert
        with conn.begin():
            if conn.execute(_UPDATE, {"row": ROW, **_values(state)}).rowcount == 1:
                return
        try:
            with conn.begin():
                conn.execute(_INSERT, {"id": ROW, **_values(state)})
            return
        except IntegrityError:
            continue


class SqlAlchemyKillSwitch:
    """`KillSwitch` on the store's SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def read(self) -> Halt:
        """The stored state; trading when it was never set."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(_READ)).mappings().first()
        if row is None:
            return TRADING
        return Halt(bool(row["halted"]), row["reason"], row["by"], row["at"])

    async def write(self, state: Halt) -> None:
        """Replace the stored state (an upsert of the one row, portable to both databases)."""
        async with self._engine.connect() as conn:
            await conn.run_sync(_write, state)
