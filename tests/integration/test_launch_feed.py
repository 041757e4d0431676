"""The launch feed against the real simulator: in process (its app's WebSocket route driven over
ASGI, as the embedded engine runs it) and over a real socket (uvicorn serving `oee sim`'s app).

Launches are requested with a chosen mint, as `POST /admin/pools` takes one; the feed must
deliver each venue's pool with the right address, mints and signature, `pools_of` must find
them, and a feed whose server went away must come back, subscribe again and let its caller
catch up on what launched meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair

from oee.adapters.chain.asgi_websocket import asgi_connector
from oee.adapters.chain.backoff import Backoff
from oee.adapters.chain.rpc import RpcChain
from oee.adapters.chain.websocket import Connector, websocket_connector
from oee.adapters.launches.feed import PubSubLaunchFeed
from oee.adapters.launches.venues import launch_venues
from oee.bootstrap import build_engine
from oee.clusters import PROFILES
from oee.devtools.inloop import serving
from oee.domain.ports import LaunchFeed, PoolLaunch
from oee.settings import SimSettings
from oee.sim import build_sim
from oee.sim.app import create_sim_app, server_config
from oee.sim.launches import LaunchRequest
from oee.sim.world import SimWorld
from tests.support.engine import make_settings
from tests.support.sim import sim_node

WAIT_S = 10.0  # a safety net for a broken feed, never a measured time
SOL = "So11111111111111111111111111111111111111112"
SIM = PROFILES["sim"]


def feed_over(connect: Connector, chain: RpcChain) -> PubSubLaunchFeed:
    """The feed on the simulator's programs, reconnecting quickly (a test's server is local)."""
    venues = launch_venues(SIM.raydium_program, SIM.meteora_program)
    return PubSubLaunchFeed(connect, chain, venues, backoff=Backoff(base_s=0.05, cap_s=0.2))


@dataclass
class Listener:
    """A caller of `LaunchFeed.run`: what it was told, as it was told."""

    feed: LaunchFeed
    launches: asyncio.Queue[PoolLaunch] = field(default_factory=asyncio.Queue)
    subscribed: asyncio.Queue[int] = field(default_factory=asyncio.Queue)
    catch_up_mint: str | None = None  # each (re)subscription looks its pools up, as a watcher
    caught_up: list[list[PoolLaunch]] = field(default_factory=list)
    times: int = 0

    async def on_launch(self, launch: PoolLaunch) -> None:
        await self.launches.put(launch)

    async def on_subscribed(self) -> None:
        self.times += 1
        if self.catch_up_mint is not None:
            self.caught_up.append(await self.feed.pools_of(self.catch_up_mint))
        await self.subscribed.put(self.times)

    async def next_subscription(self) -> int:
        return await asyncio.wait_for(self.subscribed.get(), WAIT_S)

    async def launches_of(self, mint: str, count: int) -> list[PoolLaunch]:
        """The next `count` launches of `mint`, by venue (other launches are passed over)."""
        found: list[PoolLaunch] = []
        while len(found) < count:
            launch = await asyncio.wait_for(self.launches.get(), WAIT_S)
            if mint in (launch.mint_a, launch.mint_b):
                found.append(launch)
        return sorted(found, key=lambda launch: launch.venue)


@asynccontextmanager
async def listening(feed: LaunchFeed) -> AsyncIterator[Listener]:
    """The feed running for the block, subscribed before the block starts."""
    listener, stop = Listener(feed), asyncio.Event()
    running = asyncio.create_task(feed.run(listener.on_launch, listener.on_subscribed, stop))
    try:
        assert await listener.next_subscription() == 1
        yield listener
    finally:
        stop.set()
        await asyncio.wait_for(running, WAIT_S)  # `run` returns once stopped, never raises


def expected(launched: dict[str, Any]) -> list[PoolLaunch]:
    """The launches an admin answer announces: the new token is Raydium's coin and DLMM's X."""
    mint, quote = launched["mint"], launched["quote"]["mint"]
    pools = sorted(launched["pools"], key=lambda pool: pool["venue"])
    slot = launched["launchedAt"]["slot"]
    return [PoolLaunch(p["venue"], p["address"], mint, quote, p["signature"], slot) for p in pools]


def caught_up(launches: list[PoolLaunch]) -> list[PoolLaunch]:
    """What `pools_of` reports of the same pools: found by a scan, with no transaction."""
    ordered = sorted(launches, key=lambda launch: launch.venue != "raydium")
    return [PoolLaunch(p.venue, p.pool, p.mint_a, p.mint_b, None, None) for p in ordered]


async def test_in_process_the_feed_hears_both_venues_launches_and_finds_their_pools() -> None:
    async with sim_node(SimSettings(latency_scale=0.0)) as node:
        feed = feed_over(asgi_connector(node.app), node.chain)
        mint = str(Keypair().pubkey())
        assert await feed.pools_of(mint) == []
        async with listening(feed) as listener:
            response = await node.http.post(
                "/admin/pools", json={"symbol": "MOON", "decimals": 6, "mint": mint}
            )
            assert response.status_code == 201, response.text
            launched = response.json()
            heard = await listener.launches_of(mint, 2)
            assert heard == expected(launched)
            assert heard[0].mint_b == SOL
            assert await feed.pools_of(mint) == caught_up(heard)
            assert await feed.pools_of(SOL) != []  # the seeded SOL pairs trade it too


@dataclass
class Served:
    world: SimWorld
    http: httpx.AsyncClient
    chain: RpcChain
    app: Any
    port: int


@asynccontextmanager
async def sim_server() -> AsyncIterator[Served]:
    """`oee sim`'s app served by uvicorn on a free port, and a JSON-RPC client over a socket."""
    config = SimSettings(latency_scale=0.0)
    world, ledger = build_sim(config)
    app = create_sim_app(world, ledger, config)
    async with serving(app, config=server_config) as port:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=WAIT_S) as http:
            yield Served(world, http, RpcChain(http, f"{base}/"), app, port)


async def test_over_a_socket_the_feed_hears_a_launch_as_a_bot_does() -> None:
    async with sim_server() as served:
        feed = feed_over(websocket_connector(f"ws://127.0.0.1:{served.port}/"), served.chain)
        mint = str(Keypair().pubkey())
        async with listening(feed) as listener:
            assert await feed.pools_of(mint) == []
            body = {"symbol": "PEPE", "decimals": 9, "mint": mint, "quote": "USDC"}
            response = await served.http.post("/admin/pools", json=body)
            assert response.status_code == 201, response.text
            heard = await listener.launches_of(mint, 2)
            assert heard == expected(response.json())
            assert await feed.pools_of(mint) == caught_up(heard)
            raydium_only = str(Keypair().pubkey())
            body = {"symbol": "RAYO", "decimals": 6, "mint": raydium_only, "venues": ["raydium"]}
            assert (await served.http.post("/admin/pools", json=body)).status_code == 201
            [only] = await listener.launches_of(raydium_only, 1)
            assert only.venue == "raydium"
            assert [p.venue for p in await feed.pools_of(raydium_only)] == ["raydium"]


@pytest.mark.timeout(60)
async def test_after_the_server_goes_away_the_feed_resubscribes_and_the_caller_catches_up() -> None:
    config = SimSettings(latency_scale=0.0)
    world, ledger = build_sim(config)
    app = create_sim_app(world, ledger, config)
    missed = str(Keypair().pubkey())
    async with AsyncExitStack() as stack:
        first = AsyncExitStack()
        stack.push_async_callback(first.aclose)  # a no-op once the test has stopped it
        port = await first.enter_async_context(serving(app, config=server_config))
        base = f"http://127.0.0.1:{port}"
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=WAIT_S))
        chain = RpcChain(http, f"{base}/")
        feed = feed_over(websocket_connector(f"ws://127.0.0.1:{port}/"), chain)
        listener = await stack.enter_async_context(listening(feed))
        listener.catch_up_mint = missed
        live = str(Keypair().pubkey())
        world.launch(LaunchRequest(symbol="LIVE", decimals=6, mint=live))
        assert len(await listener.launches_of(live, 2)) == 2

        await first.aclose()  # the server stops; its subscriptions go with the connection
        launch = world.launch(LaunchRequest(symbol="MISSED", decimals=6, mint=missed))
        await stack.enter_async_context(serving(app, config=server_config, port=port))

        assert await listener.next_subscription() == 2
        [found] = listener.caught_up
        assert [(p.venue, p.pool) for p in found] == [(p.venue, p.address) for p in launch.pools]
        assert all(p.signature is None and p.mint_a == missed for p in found)
        after = str(Keypair().pubkey())
        world.launch(LaunchRequest(symbol="AFTER", decimals=6, mint=after))
        assert len(await listener.launches_of(after, 2)) == 2  # listening again


async def test_the_engine_built_embedded_hears_launches_on_its_own_simulator(
    tmp_path: Path,
) -> None:
    engine = await build_engine(make_settings(tmp_path), "serve")
    try:
        assert engine.launches is not None
        assert engine.http is not None
        feed = engine.launches
        mint = str(Keypair().pubkey())
        async with listening(feed) as listener:
            body = {"symbol": "EMBED", "decimals": 6, "mint": mint}
            response = await engine.http.post("http://sim/admin/pools", json=body)
            assert response.status_code == 201, response.text
            heard = await listener.launches_of(mint, 2)
            assert heard == expected(response.json())
            assert await feed.pools_of(mint) == caught_up(heard)
    finally:
        await engine.stop()


async def test_a_failing_catch_up_is_retried_and_a_failing_handler_misses_nothing_else() -> None:
    async with sim_node(SimSettings(latency_scale=0.0)) as node:
        feed = feed_over(asgi_connector(node.app), node.chain)
        subscribed: asyncio.Queue[int] = asyncio.Queue()
        heard: asyncio.Queue[PoolLaunch] = asyncio.Queue()
        calls = 0

        async def on_subscribed() -> None:
            nonlocal calls
            calls += 1
            await subscribed.put(calls)
            if calls == 1:
                raise RuntimeError("the catch-up's RPC call failed")

        async def on_launch(launch: PoolLaunch) -> None:
            await heard.put(launch)
            if launch.venue == "raydium":
                raise RuntimeError("the watcher's bug")

        stop = asyncio.Event()
        running = asyncio.create_task(feed.run(on_launch, on_subscribed, stop))
        # The first connection's catch-up failed: the feed connects and subscribes again.
        assert [await asyncio.wait_for(subscribed.get(), WAIT_S) for _ in range(2)] == [1, 2]
        mint = str(Keypair().pubkey())
        node.world.launch(LaunchRequest(symbol="BUGGY", decimals=6, mint=mint))
        venues = {(await asyncio.wait_for(heard.get(), WAIT_S)).venue for _ in range(2)}
        assert venues == {"raydium", "meteora"}  # one handler raising loses no other launch
        stop.set()
        await asyncio.wait_for(running, WAIT_S)
        assert calls == 2
