"""The real PostgreSQL and Redis the integration and end-to-end tests use, and how to reach them.

Outside CI a missing server skips its tests with a message saying how to start it; with
`CI=true` a missing server fails them, so CI never goes green by skipping.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"

PG_HOST = os.environ.get("OEE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("OEE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("OEE_TEST_PG_USER", "postgres")
REDIS_TEST_URL = os.environ.get("OEE_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")

START_PG = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'


def unavailable(service: str, how: str, error: BaseException) -> None:
    """Skip (or, in CI, fail) the test: `service` is not reachable; `how` starts it."""
    message = f"{service} is not reachable ({error!r}); start it with: {how}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


async def pg_admin_execute(sql: str) -> None:
    """Run `sql` on the server's `postgres` database (creating and dropping test databases)."""
    import asyncpg

    conn = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
