"""Limit orders in production as operators run it: `oee sim`, `oee api` and two `oee worker`
processes on PostgreSQL and Redis. Armed orders are shared between the workers; one worker is
killed while it holds some; the other takes them over, and every order fires and fills once.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from oee.devtools.cluster import Cluster
from tests.support.cluster_orders import place_watching, sol_limit_above_market, until_all

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ORDERS = 12


async def test_a_killed_workers_armed_orders_are_taken_over_and_fire_once(
    postgres_url: str, redis_url: str
) -> None:
    env = {
        "OEE_SIM_LATENCY_SCALE": "0.05",
        "OEE_SIM_VOLATILITY_SCALE": "0",  # only the test moves the price
        "OEE_TRIGGERS_LEASE_S": "2",
        "OEE_TRIGGERS_BEAT_S": "0.5",
    }
    async with (
        Cluster(workers=2, env=env, redis_url=redis_url) as cluster,
        httpx.AsyncClient(base_url=cluster.base_url, timeout=10, trust_env=False) as client,
    ):
        ids = await place_watching(client, await sol_limit_above_market(client), ORDERS)

        await cluster.kill("worker-1")  # dies holding its share: no release
        moved = await client.post("/api/sim/move", json={"pair": "SOL/USDC", "percent": 5})
        assert moved.status_code == 200, moved.text
        await until_all(client, ids, "confirmed")

        # Exactly one landed swap per order on the shared chain, and one trigger each.
        swaps = (await client.get(f"{cluster.sim_url}/admin/swaps")).json()
        landed = [swap["memo"].split("/")[0] for swap in swaps]
        assert sorted(landed) == sorted(ids)
        ws_base = cluster.base_url.replace("http://", "ws://")
        for order_id in ids:
            events = await event_log(f"{ws_base}/ws/orders/{order_id}?since=0")
            fired = [e for e in events if e["type"] == "routing" and "triggeredBy" in e]
            assert len(fired) == 1, events


async def event_log(url: str) -> list[dict[str, object]]:
    frames = []
    async with asyncio.timeout(30), websockets.connect(url) as ws:
        async for message in ws:
            frames.append(json.loads(message))
    return frames
