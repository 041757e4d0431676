"""`oee sim` as an operator runs it keeps its chain across a restart, over real JSON-RPC.

A process with a data dir takes an airdrop, a launch and a swap, is stopped with SIGTERM and
started again: the pool's and vault's accounts, the wallet's balance, the swap's signature
status and the launches are what they were, and the slot has not gone back. A corrupted
snapshot stops the start with a clear error; `oee sim reset --yes` deletes it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair

from oee.adapters.chain.rpc import RpcChain
from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.adapters.venues.onchain.raydium import RaydiumOnchain
from oee.devtools.engine_process import free_port
from oee.domain.ports import Blockhash, ComputeBudget, SwapPlan, SwapRequest
from oee.domain.tokens import LAMPORTS_PER_SOL, Token, resolve_token
from oee.sim.snapshot_file import snapshot_path
from oee.venues.raydium.layout import AMM_INFO
from tests.support.cli import OEE, oee

pytestmark = pytest.mark.timeout(120)
SOL = resolve_token("SOL")


def sim_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OEE_")}
    return env | {"OEE_SIM_LATENCY_SCALE": "0", "OEE_LOG_FORMAT": "json"}


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


@contextlib.asynccontextmanager
async def sim_process(data_dir: Path, log: Path) -> AsyncIterator[httpx.AsyncClient]:
    """`oee sim --data-dir` on a free port until the block ends (then SIGTERM)."""
    port = free_port()
    args = ["sim", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            OEE, *args, env=sim_env(), stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            async with asyncio.timeout(30):
                while True:
                    assert proc.returncode is None, tail(log)
                    with contextlib.suppress(httpx.TransportError):
                        if (await http.get("/health")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
            yield http
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down cleanly, then re-raises the SIGTERM it caught.
        code = await asyncio.wait_for(proc.wait(), 20)
        assert code in (0, -signal.SIGTERM), tail(log)


async def rpc(http: httpx.AsyncClient, method: str, *params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    answer = (await http.post("/", json=body)).json()
    assert "error" not in answer, answer
    return answer["result"]


async def land_a_swap(http: httpx.AsyncClient, builder: SwapTransactionBuilder) -> dict[str, Any]:
    """Airdrop, launch MOON on Raydium, buy some: what the chain must then remember."""
    await rpc(http, "requestAirdrop", str(builder.wallet), 100 * LAMPORTS_PER_SOL)
    launch = (
        await http.post(
            "/admin/pools", json={"symbol": "MOON", "decimals": 6, "venues": ["raydium"]}
        )
    ).json()
    moon, pool = Token("MOON", launch["mint"], 6), launch["pools"][0]
    # Built as the engine builds it: its on-chain Raydium adapter reads the new pool over RPC.
    raydium = RaydiumOnchain(RpcChain(http, str(http.base_url)), program_id=pool["programId"])
    quote = await raydium.quote(SOL, moon, LAMPORTS_PER_SOL)
    request = SwapRequest(
        quote, SOL, moon, builder.owner, builder.token_account(SOL.mint),
        builder.token_account(moon.mint), LAMPORTS_PER_SOL, 1,
    )  # fmt: skip
    plan = SwapPlan("raydium", await raydium.swap_instruction(request), SOL, moon,
                    LAMPORTS_PER_SOL, 1, None)  # fmt: skip
    issued = await rpc(http, "getLatestBlockhash")
    blockhash = Blockhash(issued["value"]["blockhash"], issued["value"]["lastValidBlockHeight"])
    swap = builder.sign(plan, ComputeBudget(300_000, 1), blockhash)
    await rpc(http, "sendTransaction", swap.raw_tx, {"encoding": "base64", "skipPreflight": True})
    async with asyncio.timeout(10):
        while (await rpc(http, "getSignatureStatuses", [swap.signature]))["value"][0] is None:
            await asyncio.sleep(0.05)
    return {"launch": launch, "signature": swap.signature, "pool": pool["address"]}


async def chain_view(http: httpx.AsyncClient, seen: dict[str, Any], wallet: str) -> dict[str, Any]:
    """What the chain says of the pool, its vaults, the wallet, the swap and the launches."""
    pool = (await rpc(http, "getAccountInfo", seen["pool"], {"encoding": "base64"}))["value"]
    amm = AMM_INFO.decode(base64.b64decode(pool["data"][0]))
    vaults = await rpc(
        http, "getMultipleAccounts", [str(amm.coin_vault), str(amm.pc_vault)],
        {"encoding": "base64"},
    )  # fmt: skip
    moon = await rpc(
        http, "getTokenAccountsByOwner", wallet, {"mint": seen["launch"]["mint"]},
        {"encoding": "base64"},
    )  # fmt: skip
    return {
        "pool": pool,
        "vaults": vaults["value"],
        "wallet": (await rpc(http, "getBalance", wallet))["value"],
        "moon": moon["value"],
        "status": (await rpc(http, "getSignatureStatuses", [seen["signature"]]))["value"][0],
        "launches": (await http.get("/admin/pools")).json(),
        "swaps": (await http.get("/admin/swaps")).json(),
    }


async def test_a_restarted_sim_keeps_its_chain(tmp_path: Path) -> None:
    data, log = tmp_path / "chain", tmp_path / "sim.log"
    builder = SwapTransactionBuilder(Keypair())
    wallet = str(builder.wallet)
    async with sim_process(data, log) as http:
        seen = await land_a_swap(http, builder)
        before = await chain_view(http, seen, wallet)
        slot = await rpc(http, "getSlot")
    assert before["status"]["err"] is None
    assert snapshot_path(data).exists()

    async with sim_process(data, log) as http:
        after = await chain_view(http, seen, wallet)
        assert await rpc(http, "getSlot") > slot
    status = dict(after.pop("status"))
    old_status = dict(before.pop("status"))
    assert before["vaults"][0] is not None
    assert before["moon"]  # the swap paid out MOON
    # The pool's and vaults' accounts byte for byte, the wallet, its MOON, launches, swaps.
    assert after == before
    assert status["slot"] == old_status["slot"]
    assert status["err"] is None
    assert status["confirmations"] is None or status["confirmations"] >= 0


async def test_a_corrupted_snapshot_stops_the_start_and_reset_empties_it(tmp_path: Path) -> None:
    data = tmp_path / "chain"
    data.mkdir()
    snapshot_path(data).write_bytes(b"\x1f\x8b garbage")
    port = free_port()
    run = await oee("sim", "--port", str(port), "--data-dir", str(data), **sim_env())
    assert run.code == 2, run
    assert run.err.startswith(
        f"error: the simulator's snapshot {snapshot_path(data)} is unreadable"
    )
    assert "oee sim reset" in run.err

    refused = await oee("sim", "reset", "--data-dir", str(data), **sim_env())
    assert refused.code == 1  # not confirmed (no terminal answer): kept
    assert snapshot_path(data).exists()
    reset = await oee("sim", "reset", "--yes", "--data-dir", str(data), **sim_env())
    assert reset.code == 0, reset
    assert not snapshot_path(data).exists()
    again = await oee("sim", "reset", "--yes", "--data-dir", str(data), **sim_env())
    assert (again.code, "nothing to reset" in again.err) == (0, True)
