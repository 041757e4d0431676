"""Shared fixtures: real PostgreSQL and Redis, each test isolated in its own database / prefix.

Outside CI a missing server skips its tests with a message saying how to start it; with
`CI=true` a missing server fails them, so CI never goes green by skipping
(`tests.support.services`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from oee.logs import configure_logging
from tests.support.services import (
    PG_HOST,
    PG_PORT,
    PG_USER,
    REDIS_TEST_URL,
    START_PG,
    START_REDIS,
    pg_admin_execute,
    unavailable,
)

# As the CLI does: without it structlog's default renders rich tracebacks with locals, which
# takes seconds per logged exception and buries the failure that matters.
configure_logging(os.environ.get("OEE_LOG_LEVEL", "INFO"), "console")


@pytest.fixture(scope="session")
def postgres_available() -> None:
    try:
        # Its own thread: this may be set up while an event loop runs (for an async fixture).
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, pg_admin_execute("SELECT 1")).result()
    except Exception as error:
        unavailable("PostgreSQL", START_PG, error)


@pytest.fixture
async def postgres_url(postgres_available: None) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for this test, dropped afterwards."""
    name = f"oee_test_{uuid.uuid4().hex[:12]}"
    await pg_admin_execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        await pg_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_available() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3).ping()
    except Exception as error:
        unavailable("Redis", START_REDIS, error)


@pytest.fixture
async def redis_url(redis_available: None) -> str:
    """The test Redis (its own db index); pair it with `redis_prefix` for isolation."""
    return REDIS_TEST_URL


@pytest.fixture
async def redis_prefix(redis_available: None) -> AsyncIterator[str]:
    """A key prefix unique to this test; every key under it is deleted afterwards."""
    import redis.asyncio as aioredis

    prefix = f"oee-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = aioredis.Redis.from_url(REDIS_TEST_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
