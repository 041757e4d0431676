"""Upgrade a store's database to the latest migration, safely from several processes at once.

The whole upgrade runs in one transaction that first takes a database-wide lock, so a second
process starting at the same moment waits, then finds the schema at head and does nothing:
PostgreSQL takes a transaction-scoped advisory lock; SQLite starts with `BEGIN IMMEDIATE`
(its write lock, waited for through busy_timeout). Both run DDL transactionally, so a crash
mid-upgrade leaves the previous revision, not half of the next one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from oee.adapters.store.sqlalchemy import make_engine

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

# Any fixed 64-bit key works; every engine process must use the same one ("oeemigr").
ADVISORY_LOCK_KEY = 0x6F65656D696772
_SQLITE_ATTEMPTS = 5


async def migrate(url: str) -> None:
    """Upgrade the database at `url` to the head revision; a no-op when it is already there.

    Args:
        url: `sqlite+aiosqlite:///path` (the file's directory is created if missing) or
            `postgresql+asyncpg://...`.
    """
    sqlite = make_url(url).get_backend_name() == "sqlite"
    ensure_sqlite_dir(url)
    for attempt in range(1, _SQLITE_ATTEMPTS + 1):
        try:
            await _migrate_once(url, sqlite)
            return
        except OperationalError as error:
            # Switching a brand-new file to WAL takes an exclusive lock that SQLite does not
            # wait for through busy_timeout: a process racing us gets "database is locked".
            if not sqlite or "locked" not in str(error) or attempt == _SQLITE_ATTEMPTS:
                raise
            await asyncio.sleep(0.05 * attempt)


async def _migrate_once(url: str, sqlite: bool) -> None:
    engine = make_engine(url, pooled=False)
    if sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_for_migrations)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
    try:
        async with engine.begin() as conn:
            if not sqlite:
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                await conn.execute(lock, {"key": ADVISORY_LOCK_KEY})
            # Alembic sees the open transaction and runs inside it; begin() commits it.
            await conn.run_sync(_upgrade)
            if sqlite:
                violations = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if violations:  # raising rolls the whole upgrade back
                    raise RuntimeError(f"migration broke foreign keys: {violations[:5]}")
    finally:
        await engine.dispose()


def ensure_sqlite_dir(url: str) -> None:
    """Create the directory of a SQLite database file; a no-op for any other URL."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite" and sa_url.database not in (None, "", ":memory:"):
        Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the engine's migration tree, without any alembic.ini.

    Args:
        connection: When given, `env.py` migrates on it instead of opening its own.
    """
    config = Config()
    # Alembic's config is a ConfigParser: a literal % must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    before = MigrationContext.configure(connection).get_current_revision()
    command.upgrade(alembic_config(connection), "head")
    after = MigrationContext.configure(connection).get_current_revision()
    # One line for what changed (Alembic's own INFO chatter is silenced in oee.logs).
    if after != before:
        log.info("database_migrated", from_revision=before, to_revision=after)


def _sqlite_for_migrations(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite would open its own deferred transaction before the first write; with its
    # implicit transactions off, the BEGIN below is the only one.
    dbapi_connection.isolation_level = None
    # A batch migration rebuilds a table (copy, drop, rename); with foreign keys enforced,
    # dropping `orders` would fail on the events that reference it. They are checked at the end.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=OFF")
    finally:
        cursor.close()


def _sqlite_begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
