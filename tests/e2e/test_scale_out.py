"""Scale-out, proven: `oee sim`, two `oee api` and two `oee worker` processes on PostgreSQL and
Redis. Orders submitted through one API are followed over WebSockets on the other (both ways);
every order reaches its terminal event with a gap-free seq, lands exactly once on the shared
simulator's ledger, and both workers take part of the work.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx
import pytest
import websockets

from oee.devtools.cluster import Cluster
from tests.support.services import PG_HOST, PG_PORT, PG_USER

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ORDERS = 40  # per direction: enough that both workers are sure to take some
BODY = {"tokenIn": "USDC", "tokenOut": "SOL", "amountIn": "25", "slippageBps": 100}


async def follow(ws_base: str, order_id: str) -> list[dict[str, Any]]:
    """Every frame of an order's stream from its first event (`since=0`) until the server closes."""
    frames: list[dict[str, Any]] = []
    url = f"{ws_base}/ws/orders/{order_id}?since=0"
    async with asyncio.timeout(45), websockets.connect(url) as ws:
        async for message in ws:
            frames.append(json.loads(message))
        assert ws.close_code == 1000, (order_id, ws.close_code, frames)
    return frames


def assert_gap_free_to_confirmed(order_id: str, frames: list[dict[str, Any]]) -> None:
    """The replay starts at seq 1, every seq follows the one before, and it ends confirmed."""
    seqs = [frame["seq"] for frame in frames]
    assert seqs == list(range(1, len(seqs) + 1)), (order_id, seqs)
    assert frames[0]["type"] == "pending", (order_id, frames[0])
    assert frames[-1]["type"] == "confirmed", (order_id, frames[-1])


def orders_worked(log: str) -> set[str]:
    """The orders a worker moved through a stage, from its JSON log (`order_stage`)."""
    ids = set()
    for line in log.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") == "order_stage":
                ids.add(entry["order_id"])
    return ids


async def submit(client: httpx.AsyncClient, count: int) -> list[str]:
    posted = await asyncio.gather(
        *(client.post("/api/orders/execute", json=BODY) for _ in range(count))
    )
    assert all(p.status_code == 200 for p in posted), [p.text for p in posted][:3]
    return [p.json()["orderId"] for p in posted]


async def test_two_apis_and_two_workers_execute_every_order_once(
    postgres_available: None, redis_url: str
) -> None:
    env = {"OEE_SIM_LATENCY_SCALE": "0.1", "OEE_WORKER_CONCURRENCY": "10"}
    async with (
        Cluster(
            workers=2,
            apis=2,
            env=env,
            pg_dsn=f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}",
            redis_url=redis_url,
            use_sim=True,
        ) as cluster,
        httpx.AsyncClient(timeout=15, trust_env=False) as http,
    ):
        api_1, api_2 = cluster.api_urls
        ws_1, ws_2 = (url.replace("http://", "ws://") for url in cluster.api_urls)
        http_1 = httpx.AsyncClient(base_url=api_1, timeout=15, trust_env=False)
        http_2 = httpx.AsyncClient(base_url=api_2, timeout=15, trust_env=False)
        async with http_1, http_2:
            # Submitted through one API, followed on the other: the events cross processes
            # through PostgreSQL and Redis, never through an API's own memory.
            one_to_two, two_to_one = await asyncio.gather(
                submit(http_1, ORDERS), submit(http_2, ORDERS // 4)
            )
            streams = await asyncio.gather(
                *(follow(ws_2, i) for i in one_to_two), *(follow(ws_1, i) for i in two_to_one)
            )
            ids = one_to_two + two_to_one
            for order_id, frames in zip(ids, streams, strict=True):
                assert_gap_free_to_confirmed(order_id, frames)

            # Exactly one landed swap per order on the shared chain, and it is the one each
            # order's record (read through either API) reports.
            swaps = (await http.get(f"{cluster.sim_url}/admin/swaps")).json()
            landed = Counter(swap["memo"].split("/")[0] for swap in swaps)
            assert landed == Counter(ids), landed
            by_order = {swap["memo"].split("/")[0]: swap["signature"] for swap in swaps}
            for n, order_id in enumerate(ids):
                stored = await (http_1 if n % 2 else http_2).get(f"/api/orders/{order_id}")
                assert stored.json()["txHash"] == by_order[order_id], stored.text
            for client in (http_1, http_2):
                active = (await client.get("/api/orders/active")).json()
                assert active["activeCount"] == 0, active

        # Both workers took work, and between them every order.
        worked = [
            orders_worked(cluster.processes[name].output().decode(errors="replace"))
            for name in cluster.worker_names
        ]
        assert all(worked), [len(w) for w in worked]
        assert set().union(*worked) == set(ids)
