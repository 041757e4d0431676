"""`oee wallet` as a user runs it: a real subprocess against `oee serve` in its own process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio
from solders.keypair import Keypair
from typer.testing import CliRunner

from oee.cli.__main__ import app
from oee.devtools.engine_process import EngineProcess, free_port
from tests.support.cli import oee

pytestmark = pytest.mark.timeout(120)
in_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def engine() -> AsyncIterator[EngineProcess]:
    async with EngineProcess("embedded", env={"OEE_SIM_LATENCY_SCALE": "0"}) as running:
        yield running


@in_module_loop
async def test_wallet_shows_the_address_and_every_balance(engine: EngineProcess) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        wallet = (await http.get(f"{engine.base_url}/api/wallet")).json()
    secret = bytes(json.loads(engine.wallet_path.read_text()))
    assert wallet["address"] == str(Keypair.from_bytes(secret).pubkey())
    run = await oee("wallet", "--url", engine.base_url)
    assert (run.code, run.err) == (0, ""), run
    lines = run.out.splitlines()
    assert lines[0].strip() == f"wallet {wallet['address']}"
    rows = {line.split()[0]: line.split() for line in lines[1:] if line.strip()}
    assert rows["SOL"][1:] == [wallet["sol"], "(native)", wallet["address"]]
    for token in wallet["tokens"]:
        row = rows[token["symbol"] or "?"]
        assert row[1:] == [token["uiAmount"], token["mint"], token["account"]]
    assert Decimal(wallet["sol"]) >= 1_000  # OEE_WALLET_MIN_SOL's default
    assert "USDC" in rows


async def test_wallet_of_an_engine_that_is_not_running_is_one_clear_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    run = await oee("wallet", OEE_URL=url)
    assert run.code == 1
    assert run.err.splitlines() == [
        f"error: UNREACHABLE: the engine isn't reachable at {url}; start one with `oee serve` "
        "(or point --url / OEE_URL at a running engine)"
    ]


def test_wallet_help_names_its_option_and_env_var() -> None:
    result = CliRunner().invoke(app, ["wallet", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for word in ("--url", "OEE_URL", "wallet"):
        assert word in result.output
