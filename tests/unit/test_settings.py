"""Settings: database URLs as operators and platforms write them become driver URLs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oee.settings import Settings, SimSettings


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "sqlite+aiosqlite:///.oee/oee.sqlite3"),
        ("postgres://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgresql://u@h/db?sslmode=require", "postgresql+asyncpg://u@h/db?ssl=require"),
        ("postgresql://u@h/db?a=1&sslmode=disable", "postgresql+asyncpg://u@h/db?a=1&ssl=disable"),
        ("postgresql+asyncpg://h/db", "postgresql+asyncpg://h/db"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls(given: str | None, expected: str) -> None:
    assert Settings(database_url=given, data_dir=".oee").sqlalchemy_url == expected


def test_seed_and_prefixed_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "3100")
    monkeypatch.setenv("OEE_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("OEE_WORKER_CONCURRENCY", "4")
    monkeypatch.setenv("OEE_SIM_LATENCY_SCALE", "0")
    monkeypatch.setenv("DATABASE_URL", "")  # blank means unset
    settings = Settings()
    assert (settings.port, settings.max_attempts) == (3100, 5)
    assert settings.worker.concurrency == 4
    assert settings.sim.latency_scale == 0
    assert settings.database_url is None
    assert not settings.production


def test_the_volatility_scale_is_a_number_from_0_to_100(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SimSettings().volatility_scale == 1.0
    monkeypatch.setenv("OEE_SIM_VOLATILITY_SCALE", "0")
    assert Settings().sim.volatility_scale == 0
    for wrong in ("-0.5", "101", "nan", "inf", "calm"):
        monkeypatch.setenv("OEE_SIM_VOLATILITY_SCALE", wrong)
        with pytest.raises(ValidationError, match="volatility_scale"):
            SimSettings()
