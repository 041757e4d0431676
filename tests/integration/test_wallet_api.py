"""`GET /api/wallet` through served engines built by the composition root.

Both deployments for the API-only engine, which reads the wallet file's address and the chain
it shares with the workers (a simulator on a real port, as `oee sim` is); the whole engine
(`serve`) for the wallet its worker funds at start.
"""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from solders.keypair import Keypair

from oee.adapters.bus.memory import MemoryBus
from oee.adapters.chain.transactions import load_or_create_keypair
from oee.adapters.queue.memory import MemoryQueue
from oee.api.wallet_sim_models import WalletView
from oee.bootstrap import Engine, Role, build_engine
from oee.devtools.engine_process import free_port
from oee.devtools.inloop import serving
from oee.domain.errors import ExecutionError
from oee.domain.ports import WalletBalances
from oee.settings import Settings, SimSettings
from oee.sim import build_sim
from oee.sim.app import create_sim_app, server_config
from tests.support.api import Api, make_engine, serve_api
from tests.support.engine import make_settings


async def _serve(settings: Settings, role: Role = "api") -> AsyncIterator[Api]:
    async for running in serve_api(await build_engine(settings, role)):
        yield running


def keypair_address(path: Path) -> str:
    return str(Keypair.from_bytes(bytes(json.loads(path.read_text()))).pubkey())


@pytest.fixture
async def sim_url() -> AsyncIterator[str]:
    """One `oee sim`-like node on a real port: the chain an API-only process shares."""
    sim = SimSettings(latency_scale=0)
    async with serving(create_sim_app(*build_sim(sim), sim), config=server_config) as port:
        yield f"http://127.0.0.1:{port}/"


async def test_the_api_reports_the_wallet_file_s_address_and_balances(
    engine_settings: Callable[..., Settings], sim_url: str
) -> None:
    settings = engine_settings(rpc_url=sim_url)
    load_or_create_keypair(settings.wallet_file)  # as the first worker does
    async for api in _serve(settings):
        response = await api.http.get("/api/wallet")
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        WalletView.model_validate(body)
        assert body["address"] == api.engine.wallet == keypair_address(settings.wallet_file)
        assert int(body["lamports"]) >= 0
        assert isinstance(body["sol"], str)
        assert isinstance(body["slot"], int)
    assert stat.S_IMODE(settings.wallet_file.stat().st_mode) == 0o600


async def test_the_api_never_reads_the_keypair_only_the_published_address(
    engine_settings: Callable[..., Settings], sim_url: str
) -> None:
    settings = engine_settings(rpc_url=sim_url)
    address = str(load_or_create_keypair(settings.wallet_file).pubkey())  # as a worker does
    # The secret key out of reach: were the API to read the keypair file, it would fail.
    settings.wallet_file.write_text("not a keypair: the API process must never read this")
    async for api in _serve(settings):
        response = await api.http.get("/api/wallet")
        assert response.status_code == 200, response.text
        assert response.json()["address"] == address


async def test_the_api_waits_for_a_worker_to_create_the_wallet(
    engine_settings: Callable[..., Settings], sim_url: str
) -> None:
    settings = engine_settings(rpc_url=sim_url)
    async for api in _serve(settings):
        early = await api.http.get("/api/wallet")
        assert (early.status_code, early.json()["code"]) == (503, "SERVICE_UNAVAILABLE")
        assert "a worker publishes it when it starts" in early.json()["message"]
        assert not settings.wallet_file.exists()  # the API never makes a wallet
        load_or_create_keypair(settings.wallet_file)
        later = await api.http.get("/api/wallet")
        assert later.status_code == 200, later.text
        assert later.json()["address"] == keypair_address(settings.wallet_file)


async def test_an_api_without_a_shared_chain_says_how_to_get_one(
    engine_settings: Callable[..., Settings],
) -> None:
    async for api in _serve(engine_settings()):  # no OEE_RPC_URL: its simulator is its own
        response = await api.http.get("/api/wallet")
        assert (response.status_code, response.json()["code"]) == (503, "SERVICE_UNAVAILABLE")
        assert "OEE_RPC_URL" in response.json()["message"]


async def test_api_and_workers_sign_as_one_wallet(tmp_path: Path) -> None:
    shared = tmp_path / "secrets" / "engine.json"
    engines: list[Engine] = []
    for data_dir in ("b", "c"):
        settings = make_settings(tmp_path, data_dir=tmp_path / data_dir, wallet_path=shared)
        engines.append(await build_engine(settings, "worker"))
    try:
        assert {engine.wallet for engine in engines} == {keypair_address(shared)}
        assert not (tmp_path / "b" / "wallet.json").exists()
    finally:
        for engine in engines:
            await engine.stop()


async def test_a_started_worker_has_funded_the_wallet(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, env="test")
    async for api in _serve(settings, "serve"):
        body = (await api.http.get("/api/wallet")).json()
        assert body["lamports"] > 0, f"the worker did not fund the wallet: {body}"
        minimum = settings.wallet_min_sol.scaleb(9)
        assert body["lamports"] >= minimum
        assert Decimal(body["sol"]) == Decimal(body["lamports"]).scaleb(-9)
        # The simulator's faucet also hands out the registry's tokens, once.
        symbols = {token["symbol"] for token in body["tokens"]}
        assert {"USDC", "USDT"} <= symbols, body
        again = (await api.http.get("/api/wallet")).json()
        assert again["address"] == body["address"]


async def test_no_airdrop_when_disabled(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, env="test", wallet_airdrop_sol=0)
    async for api in _serve(settings, "serve"):
        body = (await api.http.get("/api/wallet")).json()
        assert body["lamports"] == 0
        assert body["tokens"] == []


async def test_a_chain_that_cannot_be_reached_is_503(
    engine_settings: Callable[..., Settings],
) -> None:
    settings = engine_settings(rpc_url=f"http://127.0.0.1:{free_port()}/")
    load_or_create_keypair(settings.wallet_file)
    async for api in _serve(settings):
        response = await api.http.get("/api/wallet")
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["code"] == "SERVICE_UNAVAILABLE"
        assert "chain RPC node is unavailable" in body["message"]
        assert response.headers["retry-after"] == "1"


class _Refusing:
    """A chain node that refuses every read, as a node does a method it does not allow."""

    async def balances(self, owner: str) -> WalletBalances:
        raise ExecutionError(
            "RPC error -32601: Method not found", code="RPC_ERROR", retryable=False
        )


async def test_a_chain_that_refuses_the_read_is_502(
    engine_settings: Callable[..., Settings],
) -> None:
    async for api in _serve(engine_settings(), "serve"):
        api.engine.chain = _Refusing()  # type: ignore[assignment]
        response = await api.http.get("/api/wallet")
        assert response.status_code == 502, response.text
        assert response.json() == {
            "code": "CHAIN_ERROR",
            "message": "the chain's RPC node refused to read the wallet: "
            "RPC error -32601: Method not found",
        }


async def test_an_engine_without_a_chain_is_503(tmp_path: Path) -> None:
    engine = make_engine(None, MemoryQueue(), MemoryBus())  # type: ignore[arg-type]
    engine.store = _NoStore()  # type: ignore[assignment]
    async for api in serve_api(engine):
        response = await api.http.get("/api/wallet")
        assert response.status_code == 503
        assert response.json()["code"] == "SERVICE_UNAVAILABLE"
        assert "no shared chain" in response.json()["message"]


class _NoStore:
    async def close(self) -> None:
        pass
