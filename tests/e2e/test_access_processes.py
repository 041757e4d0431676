"""API keys as an operator and a user meet them: `oee serve` and the client commands as real
processes.

Start-up: open mode warns once and listens on loopback by default, refuses 0.0.0.0 without
keys unless told, refuses bad key settings naming the entry (never the secret). The client
commands send `--api-key` / `OEE_API_KEY`, and a refused key is one line. The engine's whole
log, at DEBUG, never holds a key or a stream token.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect

from oee.devtools.engine_process import EngineProcess, free_port
from tests.support.cli import ENV, OEE, oee

pytestmark = pytest.mark.timeout(120)
in_module_loop = pytest.mark.asyncio(loop_scope="module")

DESK = "desk-secret-0123456789abcdef"
OPS = "ops-secret-0123456789abcdefg"
KEYED = {
    "OEE_SIM_LATENCY_SCALE": "0",
    "OEE_API_KEYS": f"desk={DESK}",
    "OEE_ADMIN_KEYS": f"ops={OPS}",
    "OEE_LOG_LEVEL": "DEBUG",  # everything the engine and its libraries would ever log
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def engine() -> AsyncIterator[EngineProcess]:
    async with EngineProcess("embedded", env=KEYED) as running:
        yield running


# --- start-up -------------------------------------------------------------------------------


async def test_open_mode_refuses_to_serve_every_interface_without_keys(tmp_path: Path) -> None:
    env = {"OEE_DATA_DIR": str(tmp_path)}
    run = await oee("serve", "--host", "0.0.0.0", "--port", str(free_port()), **env)
    assert run.code == 2
    assert "refusing to serve 0.0.0.0" in run.err
    assert "OEE_ALLOW_OPEN=true" in run.err
    assert "OEE_API_KEYS" in run.err
    assert not (tmp_path / "oee.sqlite3").exists(), "refused before anything started"


async def test_bad_key_settings_stop_the_start_naming_the_entry_not_the_secret(
    tmp_path: Path,
) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("# desk keys\ndesk=shortsecret123\n")
    for env, words in (
        ({"OEE_API_KEYS": "desk=shortsecret123"}, "OEE_API_KEYS entry 1"),
        ({"OEE_API_KEYS_FILE": str(keys_file)}, f"OEE_API_KEYS_FILE {keys_file} line 2"),
        ({"OEE_API_KEYS": f"desk={DESK}", "OEE_ADMIN_KEYS": f"desk={OPS}"}, "twice"),
    ):
        run = await oee("serve", "--port", str(free_port()), OEE_DATA_DIR=str(tmp_path), **env)
        assert run.code == 2, run.err
        assert "invalid API keys" in run.err, run.err
        assert words in run.err, run.err
        for secret in ("shortsecret123", DESK, OPS):
            assert secret not in run.err


async def test_open_mode_warns_once_and_listens_on_loopback_by_default(tmp_path: Path) -> None:
    port = free_port()
    env = ENV | {"OEE_DATA_DIR": str(tmp_path), "OEE_SIM_LATENCY_SCALE": "0"}
    proc = await asyncio.create_subprocess_exec(
        OEE, "serve", "--port", str(port), env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(trust_env=False) as http, asyncio.timeout(60):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        other = _non_loopback_address()
        if other is not None:
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((other, port), timeout=2).close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    text = err.decode()
    assert len(re.findall(r"warning: .*runs OPEN", text)) == 1, text
    assert "listening on 127.0.0.1 only" in text
    assert f"on http://127.0.0.1:{port}" in text


def _non_loopback_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        address = str(probe.getsockname()[0])
        return None if address.startswith("127.") else address
    return None


# --- the client commands ---------------------------------------------------------------------


@in_module_loop
async def test_client_commands_without_a_key_say_so_in_one_line(engine: EngineProcess) -> None:
    for args in (("orders",), ("wallet",), ("submit", "SOL", "USDC", "0.1"), ("watch",)):
        run = await oee(*args, "--url", engine.base_url)
        assert run.code == 1, (args, run.err)
        lines = run.err.strip().splitlines()
        assert len(lines) == 1, run.err
        assert lines[0].startswith("error: UNAUTHENTICATED:")
        assert "--api-key" in lines[0]
        assert "OEE_API_KEY" in lines[0]
    wrong = await oee("orders", "--url", engine.base_url, "--api-key", "wrong-key-0123456789")
    assert wrong.code == 1
    assert "not valid" in wrong.err
    assert "wrong-key" not in wrong.err


@in_module_loop
async def test_client_commands_send_the_key_from_the_option_or_the_environment(
    engine: EngineProcess,
) -> None:
    submitted = await oee(
        "submit", "SOL", "USDC", "0.1", "--watch", "--url", engine.base_url, OEE_API_KEY=DESK
    )
    assert submitted.code == 0, submitted.err
    order_id = submitted.out.splitlines()[0].strip()
    listed = await oee("orders", "--url", engine.base_url, "--api-key", DESK)
    assert listed.code == 0, listed.err
    assert order_id[:8] in listed.out
    watched = await oee("watch", "--duration", "1", "--url", engine.base_url, OEE_API_KEY=DESK)
    assert watched.code == 0, watched.err
    load = await oee("loadtest", "3", "--no-progress", "--url", engine.base_url, "--api-key", DESK)
    assert load.code == 0, load.err
    assert re.search(r"confirmed\s+│\s+3 ", load.out), load.out
    wallet = await oee("wallet", "--url", engine.base_url, OEE_API_KEY=DESK)
    assert wallet.code == 0, wallet.err


# --- never in the logs ------------------------------------------------------------------------


@in_module_loop
async def test_keys_and_tokens_never_reach_the_engine_s_log(engine: EngineProcess) -> None:
    base = engine.base_url
    async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
        order = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 0.1}
        placed = await http.post("/api/orders/execute", json=order, headers={"X-API-Key": DESK})
        order_id = placed.json()["orderId"]
        await http.get(f"/api/orders/{order_id}", headers={"Authorization": f"Bearer {DESK}"})
        await http.get("/metrics", headers={"Authorization": f"Bearer {OPS}"})
        await http.get("/api/sim/faults", headers={"Authorization": f"Bearer {DESK}"})  # 403
        await http.get("/api/orders/active", headers={"Authorization": "Bearer guessed-0123456789"})
        token = (await http.post("/api/stream-tokens", headers={"X-API-Key": DESK})).json()["token"]
        await http.get(f"/api/orders/{order_id}/events?token={token}")
    ws_base = base.replace("http://", "ws://")
    async with connect(f"{ws_base}/ws/orders/{order_id}?token={token}") as ws:
        await ws.recv()
    headers = {"Authorization": f"Bearer {OPS}"}
    async with connect(f"{ws_base}/ws/orders?recent=1", additional_headers=headers) as ws:
        await ws.recv()
    await asyncio.sleep(0.5)  # let the engine write whatever it logs about these
    log = engine.log_path.read_text(errors="replace")
    assert "DEBUG" in log or "debug" in log, "the engine logged at DEBUG"
    for secret in (DESK, OPS, "guessed-0123456789", token, token.split(".")[1]):
        assert secret not in log, f"found a secret in the engine's log:\n{log[-2000:]}"
    assert os.environ.get("OEE_API_KEYS") is None or DESK not in os.environ["OEE_API_KEYS"]
