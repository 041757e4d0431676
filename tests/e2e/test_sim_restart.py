"""A chain does not forget: the embedded engine's simulator keeps its chain across a restart.

`oee serve` (embedded: the simulator runs in the engine's process) confirms an order, is
stopped with SIGTERM and started again on the same data dir: the wallet's balances are the
ones the order left (not a fresh airdrop), and the chain still knows the order's transaction.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from oee.devtools.engine_process import EngineProcess
from oee.domain.ports import TxState
from oee.settings import SimSettings
from oee.sim import build_sim
from oee.sim.persistence import Snapshots

pytestmark = pytest.mark.timeout(180)
ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1.5", "slippageBps": 100}


async def confirmed(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            order = (await client.get(f"/api/orders/{order_id}")).json()
            if order["status"] in ("confirmed", "failed"):
                assert order["status"] == "confirmed", order
                return dict(order)
            await asyncio.sleep(0.1)


def balances(wallet: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    return wallet["lamports"], sorted((t["mint"], t["amount"]) for t in wallet["tokens"])


async def wallet_of(client: httpx.AsyncClient) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while (answer := await client.get("/api/wallet")).status_code != 200:
            await asyncio.sleep(0.1)  # the worker creates and funds the wallet at start
    return dict(answer.json())


async def test_a_restarted_engine_keeps_its_simulated_chain() -> None:
    env = {"OEE_SIM_LATENCY_SCALE": "0", "OEE_SIM_SNAPSHOT_INTERVAL_S": "0.5"}
    async with EngineProcess("embedded", env=env) as engine:
        async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as client:
            await wallet_of(client)
            answer = await client.post("/api/orders/execute", json=ORDER)
            assert answer.status_code in (200, 201, 202), answer.text
            order_id = answer.json()["orderId"]
            tx_hash = (await confirmed(client, order_id))["txHash"]
            before = await wallet_of(client)
            assert int(before["lamports"]) < 1_000_000 * 10**9  # the swap spent from the airdrop

            await engine.restart()

            after = await wallet_of(client)
            assert after["address"] == before["address"]
            assert balances(after) == balances(before)
            assert after["slot"] >= before["slot"]
            order = (await client.get(f"/api/orders/{order_id}")).json()
            assert (order["status"], order["txHash"]) == ("confirmed", tx_hash)
        await engine.stop()  # a clean stop writes the restarted chain's last snapshot
        # The chain the restarted engine ran (and saved) knows the order's transaction.
        world, ledger = build_sim(SimSettings(latency_scale=0))
        Snapshots.open(world, ledger, engine.data_dir / "sim")
        status = ledger.signature_status(tx_hash)
        assert status is not None
        assert status.state is TxState.LANDED
        [swap] = ledger.landed_swaps()
        assert (swap.signature, swap.wallet) == (tx_hash, before["address"])
