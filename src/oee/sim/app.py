"""The simulator as one ASGI app: Solana JSON-RPC, the venues' quote APIs and an admin surface.

`oee sim` serves it on its own port for every worker of a production deployment; the embedded
default reaches the same app in-process (`httpx.ASGITransport`; its JSON-RPC handler directly,
`app.state.json_rpc`, with the same request bytes), so the engine's clients run the same
parsing either way and pointing them at devnet is a change of URLs.

| route | what |
|---|---|
| `POST /` | Solana JSON-RPC 2.0, single and batch (`oee.sim.rpc`) |
| `WS /` | Solana PubSub: `logsSubscribe`, `slotSubscribe` and unsubscribes (`oee.sim.rpc_ws`) |
| `GET /health` | `ok`, like an RPC node's health check |
| `GET /raydium/compute/swap-base-in` | Raydium trade API quote (`oee.sim.quotes`) |
| `GET /meteora/quote` | Meteora DLMM quote |
| `POST /admin/airdrop` | fund a wallet: `{"owner", "mint"?, "amount"}` in base units |
| `GET /admin/swaps` | every swap that landed, with its memo (the chaos run's audit trail) |
| `GET`/`POST /admin/faults` | fault rates by kind, `{"rate": 0.3, "slippageMoveRate": 0.1}` (`oee.sim.faults`): read, or changed while running |
| `POST /admin/pools` | launch a token: `{"symbol", "decimals", "venues"?, "quote"?, "liquidityUsd"?, "priceUsd"?, "reserves"?, "mint"?}` → 201 |
| `GET /admin/pools` | every launch so far, requested or random (`oee.sim.launches`) |
| `POST /admin/move` | push a pair's price now: `{"pair": "SOL/USDC", "percent": 3}` (`oee.sim.steering`) |
| `GET /admin/prices?pair=SOL/USDC` | a pair's reference price and each venue's pool price |

Admin errors are `{"error": "<CODE>", "message"}`: 400 for bad input, 409 for a symbol already
taken (`DUPLICATE_SYMBOL`), a mint that already has a pool on a requested venue
(`POOL_EXISTS`) or already trades (`MINT_EXISTS`), or a full world (`TOO_MANY_LAUNCHES`). A
move's refusals are 400s: `BAD_REQUEST`, `INVALID_PAIR`, `UNKNOWN_TOKEN`, `NO_POOL`,
`PEGGED_PAIR`, `INVALID_PERCENT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import uvicorn
from solders.pubkey import Pubkey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from oee.domain.tokens import MAX_BASE_UNITS
from oee.settings import SimSettings
from oee.sim.faults import parse_rates
from oee.sim.launches import DEFAULT_VENUES, LAUNCH_FIELDS, Launch, LaunchError, LaunchRequest
from oee.sim.ledger import NATIVE_MINT, SimLedger
from oee.sim.persistence import Snapshots
from oee.sim.quotes import QuoteService
from oee.sim.rpc import NodeUnavailable, RateLimited, SolanaRpc
from oee.sim.rpc_wire import slot
from oee.sim.rpc_ws import PubSub
from oee.sim.steering import MOVE_FIELDS, MoveError, resolve_pair
from oee.sim.world import SimWorld

# A round trip to a nearby RPC node, before latency scaling.
RPC_LATENCY_MS = 5.0
JITTER = 0.25
MAX_RPC_BODY = 50 * 1024  # agave's limit on a JSON-RPC request body
_CONFLICTS = frozenset(
    {"DUPLICATE_SYMBOL", "TOO_MANY_LAUNCHES", "POOL_EXISTS", "MINT_EXISTS"}
)  # 409, not the caller's typo


def create_sim_app(
    world: SimWorld,
    ledger: SimLedger,
    settings: SimSettings,
    *,
    snapshots: Snapshots | None = None,
) -> Starlette:
    """The simulator's HTTP surface over one world and its ledger.

    Args:
        world: The pools and prices the quote services and swaps read.
        ledger: The chain the JSON-RPC methods read and write.
        settings: Latency scale, fault rate and seed (faults and jitter are reproducible).
        snapshots: The chain's snapshots (`oee sim`): taken while the app is served and once
            more when it shuts down (a server's lifespan), so a SIGTERM loses nothing.
    """
    faults = ledger.faults  # one set of rates, shared and read on every request
    rpc = SolanaRpc(world, ledger, settings, faults)
    pubsub = PubSub(world, ledger, settings)
    quotes = QuoteService(world, settings, faults)

    answer_rpc = _rpc_answerer(rpc, settings)

    async def json_rpc(request: Request) -> Response:
        status, reply = await answer_rpc(await request.body())
        if status == 200:
            return Response(reply, media_type="application/json")
        headers = {"Retry-After": "1"} if status == 429 else None
        return PlainTextResponse(reply.decode(), status, headers)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def airdrop(request: Request) -> Response:
        try:
            owner, mint, amount = _airdrop_request(await request.body())
            balance = ledger.airdrop(owner, mint, amount)  # refuses to pass the u64 limit
        except ValueError as error:
            return _json({"error": "BAD_REQUEST", "message": str(error)}, 400)
        return _json({"owner": owner, "mint": mint, "balance": str(balance)})

    async def swaps(request: Request) -> Response:
        # The audit trail a chaos run reads: every swap that executed, with its memo
        # ("<orderId>/<attempt>"), so an order executed twice cannot hide.
        landed = [dataclasses.asdict(swap) for swap in ledger.landed_swaps()]
        return Response(json.dumps(landed), media_type="application/json")

    async def fault_rate(request: Request) -> Response:
        if request.method == "POST":
            try:
                faults.update(parse_rates(await request.body()))
            except ValueError as error:
                return _json({"error": "BAD_REQUEST", "message": str(error)}, 400)
        return _json(faults.as_json())

    app = Starlette(
        lifespan=_lifespan(snapshots),
        routes=[
            # Starlette routes by scope type: HTTP POSTs and WebSockets share "/" as on a node.
            Route("/", json_rpc, methods=["POST"]),
            WebSocketRoute("/", pubsub.serve),
            Route("/health", health, methods=["GET"]),
            Route("/raydium/compute/swap-base-in", quotes.raydium, methods=["GET"]),
            Route("/meteora/quote", quotes.meteora, methods=["GET"]),
            Route("/admin/airdrop", airdrop, methods=["POST"]),
            Route("/admin/swaps", swaps, methods=["GET"]),
            Route("/admin/faults", fault_rate, methods=["GET", "POST"]),
            Route("/admin/pools", _pools_endpoint(world), methods=["GET", "POST"]),
            *_steering_routes(world),
        ],
    )
    # JSON-RPC as a function, for an engine in this process: the same bytes, no HTTP.
    app.state.json_rpc = answer_rpc
    return app


def _rpc_answerer(
    rpc: SolanaRpc, settings: SimSettings
) -> Callable[[bytes], Awaitable[tuple[int, bytes]]]:
    """JSON-RPC as a function: a request body in, (HTTP status, body) out. The node's latency,
    size limit and faults apply whether the body came over HTTP or from the embedded engine's
    in-process transport (`app.state.json_rpc`)."""
    rng = random.Random(f"oee-sim/rpc-latency/{settings.seed}")
    latency_s = RPC_LATENCY_MS * settings.latency_scale / 1000

    async def answer_rpc(body: bytes) -> tuple[int, bytes]:
        if latency_s > 0:
            await asyncio.sleep(latency_s * rng.uniform(1 - JITTER, 1 + JITTER))
        if len(body) > MAX_RPC_BODY:
            return 413, b"request body exceeds the limit"
        try:
            return 200, rpc.handle(body)
        except NodeUnavailable:
            return 503, b"Service Unavailable"
        except RateLimited:
            return 429, b"Too Many Requests"

    return answer_rpc


def _lifespan(
    snapshots: Snapshots | None,
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    """Snapshots taken while the app is served, and a last one as it shuts down."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if snapshots is not None:
            snapshots.start()
        try:
            yield
        finally:
            if snapshots is not None:
                await snapshots.close()

    return lifespan


def server_config(app: Any, *, host: str = "127.0.0.1", port: int = 8899) -> uvicorn.Config:
    """How the simulator is served, by `oee sim` and by `serve` alike (8899: Solana's RPC port).

    Stalled quote answers are not waited for on shutdown.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="httptools",
        ws="websockets-sansio",
        lifespan="on",  # the simulator's snapshots start and end with the server
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


def _pools_endpoint(world: SimWorld) -> Callable[[Request], Awaitable[Response]]:
    """`GET /admin/pools` lists the launches; `POST` launches a token (201, 400 or 409)."""

    async def pools(request: Request) -> Response:
        if request.method == "GET":
            launched = [_launch_json(launch) for launch in world.launched()]
            return Response(json.dumps(launched), media_type="application/json")
        try:
            launch = world.launch(_launch_request(await request.body()))
        except LaunchError as error:
            status = 409 if error.code in _CONFLICTS else 400
            return _json({"error": error.code, "message": error.message}, status)
        return _json(_launch_json(launch), 201)

    return pools


def _steering_routes(world: SimWorld) -> list[Route]:
    """`POST /admin/move` pushes a pair's price; `GET /admin/prices?pair=` reads it."""

    async def move(request: Request) -> Response:
        try:
            pair, percent = _move_request(await request.body())
            moved = world.move(*resolve_pair(pair, world.find_token), percent)
        except MoveError as error:
            return _json({"error": error.code, "message": error.message}, 400)
        return _json(moved.as_json())

    async def prices(request: Request) -> Response:
        try:
            pair = resolve_pair(request.query_params.get("pair", ""), world.find_token)
            found = world.prices(*pair)
        except MoveError as error:
            return _json({"error": error.code, "message": error.message}, 400)
        return _json(found.as_json())

    return [
        Route("/admin/move", move, methods=["POST"]),
        Route("/admin/prices", prices, methods=["GET"]),
    ]


def _move_request(body: bytes) -> tuple[str, Decimal]:
    """Read a move body, `{"pair": "SOL/USDC", "percent": 3}`; raises MoveError saying what is
    wrong. `percent` is a JSON number (not a string such as "+3%": the CLI reads those)."""
    try:
        data = json.loads(body, parse_float=Decimal)
    except ValueError:
        raise MoveError("BAD_REQUEST", "the body must be JSON") from None
    if not isinstance(data, dict):
        raise MoveError("BAD_REQUEST", 'the body must be {"pair": "SOL/USDC", "percent": 3}')
    if unknown := sorted(set(data) - set(MOVE_FIELDS)):
        raise MoveError("BAD_REQUEST", f"unknown fields {unknown}; known: {list(MOVE_FIELDS)}")
    pair, percent = data.get("pair"), data.get("percent")
    if not isinstance(pair, str):
        raise MoveError("INVALID_PAIR", 'pair is required: a string such as "SOL/USDC"')
    # NaN and Infinity (which Python's JSON reads) come as floats: `check_percent` refuses them.
    if isinstance(percent, bool) or not isinstance(percent, int | float | Decimal):
        raise MoveError("INVALID_PERCENT", "percent is required: a JSON number such as 3 or -2.5")
    return pair, Decimal(str(percent)) if isinstance(percent, float) else Decimal(percent)


def _launch_request(body: bytes) -> LaunchRequest:
    """Read a launch body; raises LaunchError saying what is wrong (as the checks themselves do).

    `{"symbol", "decimals", "venues"?, "quote"?, "liquidityUsd"?, "priceUsd"?,
    "reserves"?: {"base", "quote"}}`; amounts may be JSON numbers or strings.
    """
    try:
        data = json.loads(body)
    except ValueError:
        raise LaunchError("BAD_REQUEST", "the body must be JSON") from None
    if not isinstance(data, dict) or "symbol" not in data or "decimals" not in data:
        raise LaunchError("BAD_REQUEST", 'the body must be {"symbol", "decimals", ...}')
    if unknown := sorted(set(data) - set(LAUNCH_FIELDS)):
        raise LaunchError("BAD_REQUEST", f"unknown fields {unknown}; known: {list(LAUNCH_FIELDS)}")
    venues = data.get("venues", list(DEFAULT_VENUES))
    if not isinstance(venues, list) or not all(isinstance(v, str) for v in venues):
        raise LaunchError("INVALID_VENUES", 'venues must be a list such as ["raydium"]')
    reserves = data.get("reserves")
    if reserves is not None:
        if not isinstance(reserves, dict) or set(reserves) != {"base", "quote"}:
            raise LaunchError("INVALID_RESERVES", 'reserves must be {"base", "quote"}')
        reserves = (_units(reserves["base"]), _units(reserves["quote"]))
    return LaunchRequest(
        symbol=data["symbol"],
        decimals=data["decimals"],
        venues=tuple(venues),
        quote=data.get("quote", "SOL"),
        liquidity_usd=_decimal("liquidityUsd", data.get("liquidityUsd", "50000")),
        price_usd=_decimal("priceUsd", data.get("priceUsd", "0.001")),
        reserves=reserves,
        mint=data.get("mint"),
    )


def _decimal(name: str, value: object) -> Decimal:
    """A JSON number or numeric string, exactly (a float goes through its shortest repr)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise LaunchError("BAD_REQUEST", f"{name} must be a number")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise LaunchError("BAD_REQUEST", f"{name} must be a number, not {value!r}") from None


def _units(value: object) -> int:
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,20}", value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise LaunchError("INVALID_RESERVES", "reserves are integers of base units (or their strings)")


def _launch_json(launch: Launch) -> dict[str, Any]:
    """A launch as the admin routes show it; amounts are strings, as the venues' APIs send them."""
    token, quote = launch.token, launch.quote
    return {
        "symbol": token.symbol,
        "mint": token.mint,
        "decimals": token.decimals,
        "quote": {"symbol": quote.symbol, "mint": quote.mint, "decimals": quote.decimals},
        "priceUsd": f"{launch.price_usd:f}",
        "liquidityUsd": f"{launch.liquidity_usd:f}",
        "pools": [
            {
                "venue": pool.venue,
                "programId": pool.program_id,
                "address": pool.address,
                "signature": pool.signature,
                "reserves": {"base": str(pool.reserve_base), "quote": str(pool.reserve_quote)},
            }
            for pool in launch.pools
        ],
        "launchedAt": {"slot": slot(launch.block_height), "blockHeight": launch.block_height},
        "origin": launch.origin,
    }
