"""A whole engine on a real port, built as `oee serve` builds it, with fast test settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from oee.api.app import create_app
from oee.bootstrap import Engine, build_engine
from oee.devtools.inloop import serving
from oee.settings import RecoverySettings, Settings, SimSettings, WorkerSettings


@dataclass
class EngineServer:
    """A running engine: its base URLs, an HTTP client, and the engine itself."""

    engine: Engine
    http_url: str
    ws_url: str
    client: httpx.AsyncClient


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Fast settings for tests: no simulated latency, quick polls and retries."""
    sim = SimSettings(
        latency_scale=overrides.pop("latency_scale", 0.0),
        fault_rate=overrides.pop("fault_rate", 0.0),
    )
    base: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "retry_base_delay_s": 0.05,
        "confirm_poll_s": 0.02,
        "quote_timeout_s": 0.5,
        "sim": sim,
        "worker": WorkerSettings(
            concurrency=10, grace_s=2, lock_duration_ms=2000, stalled_interval_ms=1000
        ),
        "recovery": RecoverySettings(interval_s=0.5, stale_after_s=1.0),
        "database_url": None,
        "redis_url": None,
        # Tests poll the API as fast as they like; the limits have tests of their own.
        "rate_limit": "off",
    }
    base.update(overrides)
    return Settings(**base)


async def serve_engine(settings: Settings) -> AsyncIterator[EngineServer]:
    """Build the engine as `oee serve` does and serve it on a free port until the caller is done."""
    engine = await build_engine(settings, "serve")
    async with serving(create_app(engine)) as port:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            yield EngineServer(engine, base, f"ws://127.0.0.1:{port}", client)
