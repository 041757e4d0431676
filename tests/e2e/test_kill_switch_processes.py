"""The kill switch in production as operators run it: `oee sim`, `oee api` and two `oee worker`
processes on PostgreSQL and Redis. A halt set through the API process stops the workers (other
processes) from routing a limit order that fires, survives a restart of the API, and the resume
lets the order fill."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from oee.devtools.cluster import Cluster
from tests.support.cluster_orders import (
    place_watching,
    sol_limit_above_market,
    statuses,
    until_all,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_a_halt_is_shared_by_every_process_and_outlives_a_restart(
    postgres_url: str, redis_url: str
) -> None:
    env = {"OEE_SIM_LATENCY_SCALE": "0.05", "OEE_SIM_VOLATILITY_SCALE": "0"}
    async with (
        Cluster(workers=2, env=env, redis_url=redis_url) as cluster,
        httpx.AsyncClient(base_url=cluster.base_url, timeout=10, trust_env=False) as client,
    ):
        body = await sol_limit_above_market(client)
        (order_id,) = await place_watching(client, body, 1)

        halted = await client.post("/api/admin/halt", json={"reason": "drill"})
        assert halted.status_code == 200, halted.text
        await cluster.restart("api")  # the halt is in the database, not in the process
        assert (await client.get("/api/admin/halt")).json()["reason"] == "drill"
        refused = await client.post("/api/orders/execute", json=body)
        assert (refused.status_code, refused.json()["code"]) == (503, "HALTED")

        moved = await client.post("/api/sim/move", json={"pair": "SOL/USDC", "percent": 5})
        assert moved.status_code == 200, moved.text
        await until_all(client, [order_id], "routing")  # fired by a worker process...
        await asyncio.sleep(2)  # ...which holds it: no quote, no transaction
        assert await statuses(client, [order_id]) == ["routing"]
        swaps = (await client.get(f"{cluster.sim_url}/admin/swaps")).json()
        assert swaps == []

        resumed = await client.post("/api/admin/resume")
        assert resumed.status_code == 200, resumed.text
        await until_all(client, [order_id], "confirmed")
        logs = b"".join(cluster.processes[name].output() for name in cluster.worker_names)
        assert b'"event": "order_held"' in logs or b'"event":"order_held"' in logs
