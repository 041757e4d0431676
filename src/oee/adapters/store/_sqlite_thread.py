"""SQLite's units of work, each run whole in one thread hop on a sync (pysqlite) engine.

aiosqlite runs every DBAPI call (execute, fetch, commit, cursor close, the pool's rollback on
return) as its own hop to its connection thread: a queue put, a future, a
`call_soon_threadsafe`, a GIL hand-off each, about ten per save. Here the store's unit of work,
already a sync function of a `Connection`, runs entirely in one dedicated thread: one hop per
call. The one thread also serialises every write of this process in submission order (FIFO),
which is what the store's asyncio write lock did; other processes on the same file still wait
via `busy_timeout`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL

_T = TypeVar("_T")
_P = ParamSpec("_P")


class SqliteThread:
    """A sync engine on the store's SQLite file, used from one thread of its own."""

    def __init__(
        self, url: URL, json_serializer: Callable[[Any], str], pragmas: Callable[..., None]
    ) -> None:
        """Open nothing yet: the first unit connects.

        Args:
            url: The store's URL (`sqlite+aiosqlite:///path`); the same file is opened with
                the standard library's driver.
            json_serializer: The async engine's, so JSON columns are stored alike.
            pragmas: The `connect` listener that sets WAL, synchronous, busy_timeout, foreign
                keys on each new connection.
        """
        self.engine: Engine = create_engine(
            url.set(drivername="sqlite+pysqlite"), json_serializer=json_serializer
        )
        event.listen(self.engine, "connect", pragmas)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="oee-sqlite")

    async def run(
        self, unit: Callable[Concatenate[Connection, _P], _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """Run `unit(conn, *args)` in the thread on a pooled connection; its `begin()` blocks
        commit, or roll back when it raises, and the pool rolls back anything left open."""
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, _on_connection, self.engine, unit, args, kwargs
        )

    async def close(self) -> None:
        """Close the pooled connection (in the thread that uses it) and stop the thread."""
        await asyncio.get_running_loop().run_in_executor(self._thread, self.engine.dispose)
        self._thread.shutdown(wait=True)


def _on_connection(
    engine: Engine,
    unit: Callable[..., _T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> _T:
    with engine.connect() as conn:
        return unit(conn, *args, **kwargs)
