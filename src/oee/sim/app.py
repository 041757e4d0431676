"""The simulator as one ASGI app: Solana JSON-RPC, the venues' quote APIs and an admin surface.

`oee sim` serves it on its own port for every worker of a production deployment; the embedded
default reaches the same app in-process through `httpx.ASGITransport`, so the engine's clients
run the same code path either way and pointing them at devnet is a change of URLs.

| route | what |
|---|---|
| `POST /` | Solana JSON-RPC 2.0, single and batch (`oee.sim.rpc`) |
| `GET /health` | `ok`, like an RPC node's health check |
| `GET /raydium/compute/swap-base-in` | Raydium trade API quote (`oee.sim.quotes`) |
| `GET /meteora/quote` | Meteora DLMM quote |
| `POST /admin/airdrop` | fund a wallet: `{"owner", "mint"?, "amount"}` in base units |
| `GET /admin/swaps` | every swap that landed, with its memo (the chaos run's audit trail) |
| `GET`/`POST /admin/faults` | the fault rate, `{"rate": 0.3}`: read, or changed while running |
| `POST /admin/pools` | pool launches (not yet: 501) |
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from typing import Any

import uvicorn
from solders.pubkey import Pubkey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from oee.domain.tokens import MAX_BASE_UNITS
from oee.settings import SimSettings
from oee.sim.faults import Faults, parse_rate
from oee.sim.ledger import NATIVE_MINT, SimLedger
from oee.sim.quotes import QuoteService
from oee.sim.rpc import NodeUnavailable, SolanaRpc
from oee.sim.world import SimWorld

# A round trip to a nearby RPC node, before latency scaling.
RPC_LATENCY_MS = 5.0
JITTER = 0.25
MAX_RPC_BODY = 50 * 1024  # agave's limit on a JSON-RPC request body


def create_sim_app(world: SimWorld, ledger: SimLedger, settings: SimSettings) -> Starlette:
    """The simulator's HTTP surface over one world and its ledger.

    Args:
        world: The pools and prices the quote services and swaps read.
        ledger: The chain the JSON-RPC methods read and write.
        settings: Latency scale, fault rate and seed (faults and jitter are reproducible).
    """
    faults = Faults(settings.fault_rate)  # one rate, shared and read on every request
    rpc = SolanaRpc(world, ledger, settings, faults)
    quotes = QuoteService(world, settings, faults)
    rng = random.Random(f"oee-sim/rpc-latency/{settings.seed}")
    latency_s = RPC_LATENCY_MS * settings.latency_scale / 1000

    async def json_rpc(request: Request) -> Response:
        if latency_s > 0:
            await asyncio.sleep(latency_s * rng.uniform(1 - JITTER, 1 + JITTER))
        body = await request.body()
        if len(body) > MAX_RPC_BODY:
            return PlainTextResponse("request body exceeds the limit", 413)
        try:
            reply = rpc.handle(body)
        except NodeUnavailable:
            return PlainTextResponse("Service Unavailable", 503)
        return Response(reply, media_type="application/json")

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def airdrop(request: Request) -> Response:
        try:
            owner, mint, amount = _airdrop_request(await request.body())
        except ValueError as error:
            return _json({"error": "BAD_REQUEST", "message": str(error)}, 400)
        balance = ledger.airdrop(owner, mint, amount)
        return _json({"owner": owner, "mint": mint, "balance": str(balance)})

    async def swaps(request: Request) -> Response:
        # The audit trail a chaos run reads: every swap that executed, with its memo
        # ("<orderId>/<attempt>"), so an order executed twice cannot hide.
        landed = [dataclasses.asdict(swap) for swap in ledger.landed_swaps()]
        return Response(json.dumps(landed), media_type="application/json")

    async def fault_rate(request: Request) -> Response:
        if request.method == "POST":
            try:
                faults.set_rate(parse_rate(await request.body()))
            except ValueError as error:
                return _json({"error": "BAD_REQUEST", "message": str(error)}, 400)
        return _json({"rate": faults.rate})

    return Starlette(
        routes=[
            Route("/", json_rpc, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/raydium/compute/swap-base-in", quotes.raydium, methods=["GET"]),
            Route("/meteora/quote", quotes.meteora, methods=["GET"]),
            Route("/admin/airdrop", airdrop, methods=["POST"]),
            Route("/admin/swaps", swaps, methods=["GET"]),
            Route("/admin/faults", fault_rate, methods=["GET", "POST"]),
        ]
    )


def server_config(app: Any, *, host: str = "127.0.0.1", port: int = 8899) -> uvicorn.Config:
    """How the simulator is served, by `oee sim` and by `serve` alike (8899: Solana's RPC port).

    Stalled quote answers are not waited for on shutdown.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="httptools",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )


def _airdrop_request(body: bytes) -> tuple[str, str, int]:
    """Validate an airdrop body; raises ValueError saying what is wrong."""
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError("the body must be JSON") from None
    if not isinstance(data, dict):
        raise ValueError('the body must be {"owner", "mint"?, "amount"}')
    try:
        owner = str(Pubkey.from_string(str(data.get("owner"))))
        mint = str(Pubkey.from_string(str(data.get("mint") or NATIVE_MINT)))
    except ValueError:
        raise ValueError("owner and mint must be base58 public keys") from None
    amount = data.get("amount")
    if isinstance(amount, str) and amount.isdigit():
        amount = int(amount)
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_BASE_UNITS:
        raise ValueError("amount must be a positive integer of base units (u64)")
    return owner, mint, amount


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status, media_type="application/json")
