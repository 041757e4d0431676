"""Cluster profiles through the composition root: devnet's registry, program ids and URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from oee.adapters.chain.rpc import RpcChain
from oee.adapters.launches.feed import PubSubLaunchFeed
from oee.adapters.venues.onchain.venue import OnchainVenue
from oee.bootstrap import build_engine
from oee.settings import Settings
from tests.support.api import serve_api

DEVNET_USDC = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU"


def devnet(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, cluster="devnet", wallet_airdrop_sol=2, wallet_min_sol=1)


async def test_devnet_engine_reads_devnet_programs_at_the_public_endpoint(tmp_path: Path) -> None:
    engine = await build_engine(devnet(tmp_path), "worker")  # built, not started: no network
    try:
        assert isinstance(engine.chain, RpcChain)
        assert str(engine.chain.rpc._url) == "https://api.devnet.solana.com"
        ids = {v.name: v.program_id for v in engine.venues if isinstance(v, OnchainVenue)}
        assert ids == {
            "raydium": "DRaya7Kj3aMWQSy19kSjvmuwq9docCHofyP9kanQGaav",
            "meteora": "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo",
        }
        assert isinstance(engine.launches, PubSubLaunchFeed)  # listens to the same programs
        assert {v.name: v.program_id for v in engine.launches.venues} == ids
        assert [t.mint for t in engine.registry.tokens] == [
            "So11111111111111111111111111111111111111112",
            DEVNET_USDC,
        ]
    finally:
        await engine.stop()


@pytest.mark.parametrize("token", ["BONK", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"])
async def test_devnet_accepts_its_usdc_and_refuses_other_tokens(tmp_path: Path, token: str) -> None:
    engine = await build_engine(devnet(tmp_path), "api")
    async for api in serve_api(engine):
        ok = await api.http.post(
            "/api/orders/execute", json={"tokenIn": "SOL", "tokenOut": DEVNET_USDC, "amountIn": 1}
        )
        assert ok.status_code == 200, ok.text
        order = (await api.http.get(f"/api/orders/{ok.json()['orderId']}")).json()
        assert order["tokenOut"]["mint"] == DEVNET_USDC  # stored by symbol, read back on devnet
        refused = await api.http.post(
            "/api/orders/execute", json={"tokenIn": "SOL", "tokenOut": token, "amountIn": 1}
        )
        assert refused.status_code == 422
        body = refused.json()
        assert body["code"] == "UNKNOWN_TOKEN"
        assert "on devnet" in body["message"]
