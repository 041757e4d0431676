"""An in-process simulator reached as the embedded engine reaches it: JSON-RPC over ASGI.

The engine's real chain and venue adapters (`RpcChain`, `RaydiumOnchain`, `MeteoraOnchain`)
talk to the simulator's app through `httpx.ASGITransport`: the same requests and parsing as
over a socket, minus the socket. The world and ledger stay at hand for a test to inspect.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette

from oee.adapters.chain.rpc import RpcChain
from oee.adapters.venues.onchain.meteora import MeteoraOnchain
from oee.adapters.venues.onchain.raydium import RaydiumOnchain
from oee.adapters.venues.onchain.venue import OnchainVenue
from oee.settings import SimSettings
from oee.sim import SimLedger, SimWorld, build_sim
from oee.sim.app import create_sim_app
from tests.support.swaps import SimSwaps

BASE = "http://sim"


@dataclass
class SimNode:
    """The simulator, and the engine's adapters onto it."""

    world: SimWorld
    ledger: SimLedger
    http: httpx.AsyncClient
    chain: RpcChain
    venues: list[OnchainVenue[Any]]  # Raydium, Meteora
    swaps: SimSwaps
    app: Starlette  # its WebSocket route too (`asgi_connector`)


@asynccontextmanager
async def sim_node(
    settings: SimSettings, now: Callable[[], float] = time.monotonic
) -> AsyncIterator[SimNode]:
    """A fresh simulator with `settings` on the clock `now`, and the adapters onto it."""
    world, ledger = build_sim(settings, now=now)
    app = create_sim_app(world, ledger, settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        chain = RpcChain(http, f"{BASE}/")
        venues: list[OnchainVenue[Any]] = [RaydiumOnchain(chain), MeteoraOnchain(chain)]
        yield SimNode(world, ledger, http, chain, venues, SimSwaps(world, ledger), app)
