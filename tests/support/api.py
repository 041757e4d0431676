"""The API served for real over adapters a test picks, and `Driver`, which moves its orders.

`serve_api` runs `create_app(engine)` with uvicorn on a free port in the test's event loop; the
engines of `make_engine` have no worker, so orders stay where the test puts them: `Driver`
applies the domain's moves and persists and publishes them, as the executor would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from oee.adapters.bus.memory import MemoryBus
from oee.adapters.clock import SystemClock
from oee.adapters.queue.memory import MemoryQueue
from oee.adapters.store.migrate import migrate
from oee.adapters.store.sqlalchemy import SqlAlchemyStore
from oee.api.app import create_app
from oee.bootstrap import Engine
from oee.devtools.inloop import serving
from oee.domain.events import OrderEvent
from oee.domain.orders import Fill, SignedSwap, SubmitOrder
from oee.domain.ports import EventBus, JobQueue, OrderStore
from oee.domain.routing import Quote, choose_best
from oee.domain.triggers import Firing, TriggerKind
from oee.services.orders import OrderService
from oee.settings import Settings

TIMEOUT_S = 10.0


@dataclass
class Api:
    """A running API: its engine, an HTTP client on it, and its WebSocket base URL."""

    engine: Engine
    http: httpx.AsyncClient
    ws_base: str

    def ws(self, path: str) -> Any:
        """Connect a real WebSocket client to `path` (use with `async with`)."""
        return connect(self.ws_base + path, open_timeout=TIMEOUT_S)


def make_engine(store: OrderStore, queue: JobQueue, bus: EventBus, **settings: Any) -> Engine:
    """An engine without a worker: orders stay wherever the test moves them."""
    config = Settings(database_url=None, redis_url=None, **settings)
    clock = SystemClock()
    orders = OrderService(store, queue, bus, clock)
    return Engine(settings=config, clock=clock, store=store, queue=queue, bus=bus, orders=orders)


# Whether `serve_api` serves the submit directly (`oee.api.direct`) or through the routed stack;
# the `api_path` fixture runs a module's tests both ways.
DIRECT = {"on": True}


async def serve_api(engine: Engine) -> AsyncIterator[Api]:
    """Serve `create_app(engine)` with uvicorn on a free 127.0.0.1 port in this event loop."""
    app = create_app(engine, direct=DIRECT["on"])
    async with serving(app, stop_timeout_s=TIMEOUT_S) as port:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S) as http:
            yield Api(engine, http, f"ws://127.0.0.1:{port}")


async def embedded_engine(tmp_path: Path, **settings: Any) -> Engine:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oee.sqlite3'}"
    await migrate(url)
    return make_engine(SqlAlchemyStore.from_url(url), MemoryQueue(), MemoryBus(), **settings)


async def production_engine(pg_url: str, redis_url: str, prefix: str, **settings: Any) -> Engine:
    from oee.adapters.bus.redis import RedisBus
    from oee.adapters.queue.bullmq import BullMQQueue

    await migrate(pg_url)
    queue = BullMQQueue(redis_url, prefix, lock_duration_ms=2000, stalled_interval_ms=1000)
    return make_engine(
        SqlAlchemyStore.from_url(pg_url), queue, RedisBus(redis_url, prefix), **settings
    )


class Driver:
    """Moves orders through their life the way the executor does: save, then publish."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def submit(self, amount: str = "1.5") -> str:
        accepted = await self.engine.orders.submit(SubmitOrder.parse("SOL", "USDC", amount, 50))
        return accepted.order_id

    async def advance(self, order_id: str, step: str, *, publish: bool = True) -> OrderEvent:
        """Apply one move (`routing`, `building`, `submitted`, `confirmed`, `failed`; for limit
        and sniper orders also `watching`, `fired` and `expired`)."""
        order = await self.engine.store.get(order_id)
        assert order is not None
        now = self.engine.clock.now()
        if step == "routing":
            event = order.start_routing(now)
        elif step == "watching":
            event = order.arm(now)
        elif step == "fired":
            firing = Firing(now, price=Decimal("160.7"), venue="meteora", pool="meteora-pool")
            if order.trigger is not None and order.trigger.kind is TriggerKind.LAUNCH:
                firing = Firing(
                    now, venue="raydium", pool="new-pool", signature="5Launch", slot=7, decimals=6
                )
            event = order.fire(firing, now)
        elif step == "expired":
            event = order.expire(now)
        elif step == "building":
            quotes = [
                _quote("raydium", order.amount_in, 224_100_000),
                _quote("meteora", order.amount_in, 225_300_000),
            ]
            event = order.route(choose_best(quotes, order.slippage_bps), now)
        elif step == "submitted":
            assert order.decision is not None
            swap = SignedSwap(
                "5igSig", 1150, "AAAA", "meteora", order.decision.min_amount_out, 1000
            )
            event = order.submit(swap, now)
        elif step == "confirmed":
            event = order.confirm(
                Fill("5igSig", 225_270_000, Decimal("150.18"), "meteora", 5000), now
            )
        elif step == "failed":
            event = order.fail("SLIPPAGE_EXCEEDED", "output below minAmountOut", now)
        else:
            raise ValueError(step)
        await self.engine.store.save(order, event)
        if publish:
            await self.engine.bus.publish(event)
        return event

    async def run(self, order_id: str, *steps: str) -> None:
        for step in steps:
            await self.advance(order_id, step)


def _quote(venue: str, amount_in: int, amount_out: int) -> Quote:
    return Quote(
        venue,
        amount_in,
        amount_out,
        amount_in // 400,
        25,
        Decimal("150.2"),
        Decimal("1.4"),
        f"{venue}-pool",
    )


async def recv_json(ws: ClientConnection, within: float = TIMEOUT_S) -> dict[str, Any]:
    """The next frame as JSON; fails rather than hangs."""
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), within))
    return data


async def recv_until_closed(
    ws: ClientConnection, within: float = TIMEOUT_S
) -> tuple[list[dict[str, Any]], int | None]:
    """Every frame until the server closes, and the close code."""
    frames: list[dict[str, Any]] = []
    try:
        while True:
            frames.append(await recv_json(ws, within))
    except ConnectionClosed as closed:
        return frames, closed.rcvd.code if closed.rcvd else None
