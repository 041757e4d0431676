"""A whole engine on a real port, in both deployments, for end-to-end tests.

`engine_server` builds the engine exactly as `oee serve` does (the composition root, real
adapters, migrations) and serves it with uvicorn on a free 127.0.0.1 port
(`tests.support.engine`). Parametrised over the embedded default (SQLite, in-process queue and
bus) and production (PostgreSQL, BullMQ and Redis pub/sub).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from oee.settings import Settings
from tests.support.browser import chromium
from tests.support.engine import EngineServer, make_settings, serve_engine


@pytest.fixture(params=["embedded", "production"])
def deployment(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings_factory(
    deployment: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[..., Settings]:
    """Builds settings for the current deployment; production pulls in PostgreSQL and Redis."""
    servers: dict[str, Any] = {}
    if deployment == "production":
        servers = {
            "database_url": request.getfixturevalue("postgres_url"),
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_prefix": request.getfixturevalue("redis_prefix"),
        }

    def factory(**overrides: Any) -> Settings:
        return make_settings(tmp_path, **{**servers, **overrides})

    return factory


@pytest.fixture
async def engine_server(settings_factory: Callable[..., Settings]) -> AsyncIterator[EngineServer]:
    """The default fast engine, in the current deployment."""
    async for running in serve_engine(settings_factory()):
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium per test module (the dashboard tests run in the module's loop)."""
    async with chromium() as launched:
        yield launched
