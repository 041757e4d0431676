"""Production as operators run it: `oee sim`, `oee api` and two `oee worker` processes on
PostgreSQL and Redis; the workers share the simulator over JSON-RPC, so its ledger audits them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from oee.devtools.engine_process import free_port
from tests.support.cli import OEE
from tests.support.engine import EngineServer
from tests.support.streams import assert_stream_well_formed, final_status, follow


async def spawn(args: list[str], env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            OEE, *args, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
        )


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@pytest.fixture
async def cluster(
    postgres_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[EngineServer, list[Path], list[int]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OEE_")}
    env |= {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "OEE_REDIS_PREFIX": redis_prefix,
        "OEE_DATA_DIR": str(tmp_path / "data"),
        "OEE_SIM_LATENCY_SCALE": "0.1",
        "OEE_LOG_FORMAT": "json",
        "OEE_WORKER_CONCURRENCY": "5",
    }
    sim_port = free_port()
    sim_args = ["sim", "--host", "127.0.0.1", "--port", str(sim_port)]
    sim = await spawn(sim_args, env, tmp_path / "sim.log")
    env["OEE_RPC_URL"] = f"http://127.0.0.1:{sim_port}/"
    api_args = ["api", "--host", "127.0.0.1", "--port", str(port)]
    api = await spawn(api_args, env, tmp_path / "api.log")
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    procs = [sim, api]
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            async with asyncio.timeout(60):
                while True:
                    assert api.returncode is None, (tmp_path / "api.log").read_text()
                    try:
                        if (await client.get("/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            # Workers start after the API has migrated the database; each serves its metrics.
            metrics_ports = [free_port() for _ in logs]
            procs += [
                await spawn(["worker"], env | {"OEE_WORKER_METRICS_PORT": str(mp)}, log)
                for log, mp in zip(logs, metrics_ports, strict=True)
            ]
            server = EngineServer(None, base, f"ws://127.0.0.1:{port}", client)  # type: ignore[arg-type]
            yield server, logs, [*metrics_ports, sim_port]
    finally:
        await asyncio.gather(*(stop(p) for p in procs))


def orders_worked(log: Path) -> set[str]:
    ids = set()
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") == "order_stage":
                ids.add(entry["order_id"])
    return ids


def wallet_logged(log: Path) -> str | None:
    """The wallet a worker said it signs with when it started."""
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") == "worker_started":
                return str(entry["wallet"])
    return None


def confirmed_count(metrics_text: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith("oee_orders_total{") and 'status="confirmed"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("oee_orders_total{status=confirmed} missing")


async def test_api_and_two_workers_confirm_every_order(
    cluster: tuple[EngineServer, list[Path], list[int]],
) -> None:
    server, logs, ports = cluster
    metrics_ports, sim_port = ports[:-1], ports[-1]
    body = {"tokenIn": "USDC", "tokenOut": "SOL", "amountIn": "25", "slippageBps": 100}
    responses = await asyncio.gather(
        *(server.client.post("/api/orders/execute", json=body) for _ in range(30))
    )
    ids = [r.json()["orderId"] for r in responses]
    streams = await asyncio.gather(*(follow(server, i) for i in ids))
    for frames in streams:
        assert_stream_well_formed(frames)
        assert final_status(frames) == "confirmed"
    per_worker = [orders_worked(log) for log in logs]
    assert per_worker[0] | per_worker[1] == set(ids)
    assert all(per_worker), "both workers should have taken orders"
    active = (await server.client.get("/api/orders/active")).json()
    assert active["activeCount"] == 0
    # Each worker's executor metrics, scraped from its own port, add up to every order.
    scraped = [
        (await server.client.get(f"http://127.0.0.1:{mp}/metrics")).text for mp in metrics_ports
    ]
    assert sum(confirmed_count(text) for text in scraped) == len(ids)
    # The shared simulator's ledger: exactly one landed swap per order, and it is the one
    # each order reports.
    swaps = (await server.client.get(f"http://127.0.0.1:{sim_port}/admin/swaps")).json()
    landed_by_order = {swap["memo"].split("/")[0]: swap["signature"] for swap in swaps}
    assert len(swaps) == len(ids) == len(landed_by_order)
    for order_id in ids:
        stored = (await server.client.get(f"/api/orders/{order_id}")).json()
        assert stored["txHash"] == landed_by_order[order_id]
    # One wallet for the deployment: the API reports it, both workers started with it, and
    # it paid for every swap that landed.
    wallet = await server.client.get("/api/wallet")
    assert wallet.status_code == 200, wallet.text
    address = wallet.json()["address"]
    assert [wallet_logged(log) for log in logs] == [address, address]
    assert {swap["wallet"] for swap in swaps} == {address}
