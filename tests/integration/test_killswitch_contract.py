"""The `KillSwitch` contract on every adapter (memory, SQLite, PostgreSQL), the gate each
process reads it through, and migration 0005 that holds its row."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from oee.adapters.clock import SystemClock
from oee.adapters.killswitch.memory import MemoryKillSwitch
from oee.adapters.killswitch.sqlalchemy import SqlAlchemyKillSwitch
from oee.adapters.store.migrate import migrate
from oee.adapters.store.sqlalchemy import make_engine
from oee.domain.ports import KillSwitch
from oee.domain.risk import TRADING, Halt
from oee.metrics import Metrics
from oee.services.halt import HaltGate
from tests.integration.test_store_contract import migrate_to

T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def switch_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    if request.param == "memory":
        return None
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'oee.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def switch(switch_url: str | None) -> AsyncIterator[KillSwitch]:
    if switch_url is None:
        yield MemoryKillSwitch()
        return
    await migrate(switch_url)
    engine = make_engine(switch_url)
    yield SqlAlchemyKillSwitch(engine)
    await engine.dispose()


async def test_never_set_is_trading(switch: KillSwitch) -> None:
    assert await switch.read() == TRADING


async def test_a_halt_and_a_resume_read_back_exactly(switch: KillSwitch) -> None:
    halted = Halt(True, "venue outage", "ops", T0)
    await switch.write(halted)
    assert await switch.read() == halted
    resumed = Halt(False, None, "ops", T0.replace(minute=20))
    await switch.write(resumed)
    assert await switch.read() == resumed


async def test_the_state_survives_a_restart_and_is_shared(tmp_path: Path) -> None:
    """Two engines on one database file: as two processes, or one process restarted."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'oee.sqlite3'}"
    await migrate(url)
    first, second = make_engine(url), make_engine(url)
    try:
        await SqlAlchemyKillSwitch(first).write(Halt(True, "audit", None, T0))
        await first.dispose()
        assert await SqlAlchemyKillSwitch(second).read() == Halt(True, "audit", None, T0)
    finally:
        await second.dispose()


async def test_concurrent_first_writes_leave_one_row(switch_url: str | None) -> None:
    if switch_url is None:
        pytest.skip("the memory switch has no rows")
    await migrate(switch_url)
    engines = [make_engine(switch_url) for _ in range(5)]
    try:
        states = [Halt(True, f"from {i}", None, T0) for i in range(5)]
        await asyncio.gather(
            *(SqlAlchemyKillSwitch(e).write(s) for e, s in zip(engines, states, strict=True))
        )
        assert await SqlAlchemyKillSwitch(engines[0]).read() in states
    finally:
        for engine in engines:
            await engine.dispose()


class Steered:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_gate_rereads_only_when_its_copy_is_older_than_the_refresh(
    switch: KillSwitch,
) -> None:
    monotonic = Steered()
    metrics = Metrics(process_collectors=False)
    other = HaltGate(switch, SystemClock(), metrics, refresh_s=0.5, monotonic=monotonic)
    assert await other.halted() is None
    # Another process halts (its own gate, no wait).
    writer = HaltGate(switch, SystemClock(), Metrics(process_collectors=False), refresh_s=0)
    state = await writer.set(True, "drill", "ops")
    assert (state.halted, state.reason, state.by) == (True, "drill", "ops")
    monotonic.now += 0.4
    assert await other.halted() is None  # its copy is 0.4 s old: still trading here
    monotonic.now += 0.2
    assert await other.halted() == state  # 0.6 s: read again
    assert metrics.trading_halted._value.get() == 1
    again = await writer.set(True, "still a drill", "ops")
    assert (again.at, again.reason) == (state.at, "still a drill")  # since the first halt
    resumed = await writer.set(False, None, "ops")
    assert (resumed.halted, resumed.by) == (False, "ops")
    monotonic.now += 1
    assert await other.halted() is None
    assert metrics.trading_halted._value.get() == 0


async def test_a_halt_answers_only_after_every_copy_has_expired(switch: KillSwitch) -> None:
    gate = HaltGate(switch, SystemClock(), Metrics(process_collectors=False), refresh_s=0.2)
    started = asyncio.get_running_loop().time()
    await gate.set(True, None, None)
    assert asyncio.get_running_loop().time() - started >= 0.2


async def test_migration_0005_downgrade_refuses_while_halted(switch_url: str | None) -> None:
    if switch_url is None:
        pytest.skip("migrations are the databases'")
    store_url = switch_url
    await migrate(store_url)
    engine = make_engine(store_url)
    try:
        await SqlAlchemyKillSwitch(engine).write(Halt(True, "x", None, T0))
    finally:
        await engine.dispose()
    with pytest.raises(RuntimeError, match="trading is halted"):
        await migrate_to(store_url, "0004", down=True)
    engine = make_engine(store_url)
    try:
        await SqlAlchemyKillSwitch(engine).write(Halt(False, None, None, T0))
    finally:
        await engine.dispose()
    await migrate_to(store_url, "0004", down=True)
    await migrate_to(store_url, "0005")
    engine = make_engine(store_url)
    try:
        assert await SqlAlchemyKillSwitch(engine).read() == TRADING
    finally:
        await engine.dispose()
