"""`oee check` against a real `oee sim` process: pools, quotes, the real swaps simulated; and the
clear failures (no chain, no node, mainnet without its opt-ins)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from oee.devtools.engine_process import free_port
from tests.support.cli import ENV, OEE, oee

pytestmark = pytest.mark.timeout(120)
in_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sim_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("sim") / "sim.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            OEE, "sim", "--host", "127.0.0.1", "--port", str(port),
            env=ENV | {"OEE_SIM_LATENCY_SCALE": "0"}, stdin=asyncio.subprocess.DEVNULL,
            stdout=out, stderr=out,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        async with httpx.AsyncClient(trust_env=False) as http, asyncio.timeout(30):
            while True:
                assert proc.returncode is None, log.read_text()
                try:
                    await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"})
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)


@in_module_loop
async def test_check_finds_quotes_builds_and_simulates_both_venues(
    sim_url: str, tmp_path: Path
) -> None:
    run = await oee("check", "--rpc-url", sim_url, OEE_DATA_DIR=str(tmp_path))
    assert run.code == 0, run
    lines = run.out
    assert "cluster   sim" in lines
    for venue in ("raydium", "meteora"):
        assert f"{venue:<9} program" in lines
    assert lines.count("pool(s):") == 2
    assert lines.count("✓ quote 0.1") == 2
    assert "17 accounts, 17 data bytes" in lines  # Raydium SwapBaseIn
    assert lines.count("compute units (limit") == 2
    assert "ready: sim can quote, build and simulate SOL/USDC" in lines


@in_module_loop
async def test_check_names_what_is_missing(sim_url: str, tmp_path: Path) -> None:
    no_chain = await oee("check", OEE_DATA_DIR=str(tmp_path))
    assert no_chain.code == 1
    assert "not ready: oee check reads a running chain" in no_chain.err
    down = await oee("check", "--rpc-url", f"http://127.0.0.1:{free_port()}/")
    assert down.code == 1
    assert "not ready: chain: RPC_UNAVAILABLE" in down.out
    unknown = await oee("check", "--rpc-url", sim_url, "--pair", "SOL/DOGE")
    assert unknown.code == 1
    assert "not ready: bad pair or amount: unknown token 'DOGE'" in unknown.out


@in_module_loop
async def test_check_refuses_mainnet_without_its_opt_ins() -> None:
    run = await oee("check", "--cluster", "mainnet-beta")
    assert run.code == 2
    assert "OEE_MAINNET_I_UNDERSTAND=true" in run.err
