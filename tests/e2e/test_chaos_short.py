"""The chaos run's short form (benchmarks/chaos.py --short): guarantees hold while processes die.

`oee sim`, `oee api` and two `oee worker` processes on PostgreSQL and Redis take 60 orders at
4/s while a worker is killed with SIGKILL and restarted, the API likewise, the engine's Redis
database is flushed and PostgreSQL is restarted. No order may be lost or executed twice, and no
event log or WebSocket client may see a gap. The run must leave nothing behind.

The Redis database index (OEE_TEST_CHAOS_REDIS_URL; default: the test Redis server, db 14)
must be used by nothing else: the run flushes it. PostgreSQL's restart hits every database on
the server, so it is opt-in: OEE_TEST_CHAOS_PG_RESTART=1 turns it on (`.ci/run` does) and
OEE_TEST_CHAOS_PG_RESTART_CMD replaces the command.
"""

from __future__ import annotations

import os

import pytest

from oee.devtools.chaos import ChaosConfig, run_chaos, short_config
from oee.devtools.chaos_checks import ChaosReport
from oee.devtools.cluster import PG_RESTART
from tests.support.services import PG_HOST, PG_PORT, PG_USER, REDIS_TEST_URL

# The test Redis server, another database index: the run flushes the whole index.
CHAOS_REDIS_URL = os.environ.get(
    "OEE_TEST_CHAOS_REDIS_URL", REDIS_TEST_URL.rsplit("/", 1)[0] + "/14"
)
RESTART_PG = os.environ.get("OEE_TEST_CHAOS_PG_RESTART", "0") == "1"


async def assert_nothing_left(report: ChaosReport) -> None:
    """No process of the cluster runs, its database is gone, and no key has its prefix."""
    import asyncpg
    import redis.asyncio as aioredis

    for pid in report.cluster["pids"]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        name = report.cluster["database"]
        assert await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname=$1", name) == 0
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(CHAOS_REDIS_URL)
    try:
        assert [k async for k in client.scan_iter(match=f"{report.cluster['prefix']}*")] == []
    finally:
        await client.aclose()


@pytest.mark.timeout(170)
async def test_no_order_lost_executed_twice_or_gapped_under_faults(
    postgres_available: None, redis_available: None
) -> None:
    # The two fixtures skip this test without the servers (and fail it in CI).
    config = short_config(
        ChaosConfig(
            redis_url=CHAOS_REDIS_URL,
            pg_dsn=f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}",
            pg_restarts=1 if RESTART_PG else 0,
            pg_restart_command=os.environ.get("OEE_TEST_CHAOS_PG_RESTART_CMD", PG_RESTART),
            progress=False,
        )
    )
    report = await run_chaos(config)
    detail = {k: v for k, v in vars(report).items() if k not in ("config",)}
    assert report.violations() == [], detail
    assert report.accepted == report.submitted == config.orders, detail
    assert report.lost == [], detail
    assert report.executed_twice == [], detail
    assert report.log_gaps == report.ws_gap_clients == report.ws_duplicate_clients == [], detail
    kinds = sorted(f["kind"] for f in report.faults)
    assert kinds == sorted(["worker", "api", "flushdb"] + ["postgres"] * RESTART_PG), detail
    assert report.ws_followed == config.follow, detail
    await assert_nothing_left(report)
