"""Alembic environment for the engine's one migration tree (SQLite and PostgreSQL alike).

`oee.adapters.store.migrate` hands over a connection that is already inside a locked
transaction. Run from the `alembic` command instead, this opens its own async engine on
`-x url=...`, else `sqlalchemy.url` from alembic.ini, else the engine's settings.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from oee.adapters.store._schema import metadata
from oee.adapters.store.migrate import ensure_sqlite_dir
from oee.adapters.store.sqlalchemy import make_engine
from oee.settings import Settings


def _run(connection: Connection) -> None:
    # Batch mode lets one migration ALTER a table on SQLite (copy and swap) and on PostgreSQL.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_own_engine(url: str) -> None:
    ensure_sqlite_dir(url)
    engine = make_engine(url, pooled=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or context.config.get_main_option("sqlalchemy.url")
    return url or Settings().sqlalchemy_url


def _main() -> None:
    if context.config.config_file_name is not None:  # the alembic command, with alembic.ini
        fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    connection = context.config.attributes.get("connection")
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    elif connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_on_own_engine(_url()))


_main()
