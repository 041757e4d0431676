"""Fixtures of the integration suite: the API served for real, in both deployments.

`api` is parametrised over the two deployments: embedded (SQLite, in-process queue and bus)
and production (PostgreSQL, BullMQ on Redis, Redis pub/sub). Orders stay where the tests put
them: `driver` applies the domain's moves and persists and publishes them, as the executor
would. The helpers behind these fixtures live in `tests.support.api`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from oee.bootstrap import Engine
from oee.settings import Settings
from tests.support.api import DIRECT, Api, Driver, embedded_engine, production_engine, serve_api
from tests.support.engine import make_settings


@pytest.fixture(params=["embedded", "production"])
def api_deployment(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["direct", "routed"])
def api_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Serve the submit directly (`oee.api.direct`) or through the routed stack: a module that
    uses this (`pytestmark = pytest.mark.usefixtures("api_path")`) proves both behave alike."""
    monkeypatch.setitem(DIRECT, "on", request.param == "direct")
    return str(request.param)


@pytest.fixture
def api_servers(api_deployment: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The PostgreSQL and Redis of the production deployment; none for the embedded one.

    A plain fixture on purpose: the server fixtures check reachability with `asyncio.run`,
    which cannot run inside the event loop of an async fixture.
    """
    if api_deployment == "embedded":
        return {}
    names = ("postgres_url", "redis_url", "redis_prefix")
    return {name: request.getfixturevalue(name) for name in names}


@pytest.fixture
def engine_settings(api_servers: dict[str, str], tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a whole engine (`build_engine`) in this test's deployment."""
    servers: dict[str, Any] = {}
    if api_servers:
        servers = {
            "database_url": api_servers["postgres_url"],
            "redis_url": api_servers["redis_url"],
            "redis_prefix": api_servers["redis_prefix"],
        }

    def factory(**overrides: Any) -> Settings:
        return make_settings(tmp_path, **{**servers, "env": "test", **overrides})

    return factory


@pytest.fixture
async def api_engine(api_servers: dict[str, str], tmp_path: Path) -> Engine:
    """An unstarted engine for the current deployment (the app's lifespan starts it)."""
    if not api_servers:
        return await embedded_engine(tmp_path, env="test")
    return await production_engine(
        api_servers["postgres_url"],
        api_servers["redis_url"],
        api_servers["redis_prefix"],
        env="test",
    )


@pytest.fixture
async def api(api_engine: Engine) -> AsyncIterator[Api]:
    """The API over `api_engine`, served on a real port."""
    async for running in serve_api(api_engine):
        yield running


@pytest.fixture
def driver(api_engine: Engine) -> Driver:
    return Driver(api_engine)
