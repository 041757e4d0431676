"""`run_loadtest` against `oee serve` in its own process, in both deployments, as the benchmark runs it.

The latency scale is small but not zero, so most orders are still running when their stream
opens and the client sees live events (seq order, terminal event, the server's close), not only
a finished order's snapshot.
"""

from __future__ import annotations

import pytest

from oee.devtools.engine_process import EngineProcess, Mode
from oee.loadtest import run_loadtest
from tests.support.services import PG_HOST, PG_PORT, PG_USER, REDIS_TEST_URL

ORDERS = 20


@pytest.fixture(params=["embedded", "production"])
def mode(request: pytest.FixtureRequest) -> Mode:
    value: Mode = request.param
    if value == "production":
        request.getfixturevalue("postgres_available")
        request.getfixturevalue("redis_available")
    return value


@pytest.mark.timeout(180)
async def test_every_order_reaches_confirmed_over_a_real_websocket(mode: Mode) -> None:
    engine = EngineProcess(
        mode,
        env={"OEE_SIM_LATENCY_SCALE": "0.2", "OEE_WORKER_CONCURRENCY": "10"},
        pg_dsn=f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}",
        redis_url=REDIS_TEST_URL,
    )
    async with engine:
        report = await run_loadtest(
            engine.base_url, ORDERS, concurrency=10, progress=False, timeout_s=60, deadline_s=120
        )
    detail = report.to_dict()
    assert (report.submitted, report.accepted, report.confirmed) == (ORDERS,) * 3, detail
    assert (report.lost, report.timed_out, report.errors, report.rejected) == (0, 0, {}, {}), detail
    assert (report.seq_violations, report.seq_gaps, report.unclean_closes) == (0, 0, 0), detail
    assert report.latency_s.count == ORDERS
    assert report.orders_per_s > 0


@pytest.mark.timeout(120)
async def test_engine_process_leaves_no_state_behind() -> None:
    engine = EngineProcess("embedded", env={"OEE_SIM_LATENCY_SCALE": "0"})
    async with engine:
        data_dir = engine.log_path.parent
        assert (await run_loadtest(engine.base_url, 2, progress=False)).confirmed == 2
    assert not data_dir.exists()
    assert await engine.stop() is None  # already stopped; stopping twice is harmless
