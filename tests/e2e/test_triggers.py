"""Limit and sniper orders through the whole engine, in both deployments.

Orders are placed through the engine's own order service (the same use case the HTTP route
calls) and watched over the real HTTP API; prices are pushed with `POST /api/sim/move` and
tokens launched with `POST /api/sim/pools`, as a user of the demo would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from solders.keypair import Keypair

from oee.domain.orders import OrderTerms, SubmitOrder
from oee.settings import Settings
from tests.support.engine import EngineServer, serve_engine
from tests.support.streams import follow


async def place(
    server: EngineServer, token_in: str, token_out: str, amount: str, **terms: Any
) -> str:
    engine = server.engine
    cmd = SubmitOrder.parse(
        token_in,
        token_out,
        amount,
        100,
        engine.registry,
        OrderTerms(**terms),
        now=engine.clock.now(),
        is_mint=lambda text: len(text) >= 32,
    )
    return (await engine.orders.submit(cmd)).order_id


async def order(server: EngineServer, order_id: str) -> dict[str, Any]:
    response = await server.client.get(f"/api/orders/{order_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def until_status(server: EngineServer, order_id: str, *statuses: str) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            view = await order(server, order_id)
            if view["status"] in statuses:
                return view
            await asyncio.sleep(0.05)


async def best_price(server: EngineServer, amount: str = "1") -> Decimal:
    params = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": amount}
    quotes = (await server.client.get("/api/quotes", params=params)).json()
    return max(Decimal(str(q["price"])) for q in quotes["quotes"] if q.get("price"))


async def move(server: EngineServer, percent: float) -> None:
    response = await server.client.post(
        "/api/sim/move", json={"pair": "SOL/USDC", "percent": percent}
    )
    assert response.status_code == 200, response.text


async def test_limit_order_waits_then_fills_when_the_price_crosses(
    engine_server: EngineServer,
) -> None:
    limit = (await best_price(engine_server) * Decimal("1.02")).quantize(Decimal("0.01"))
    order_id = await place(engine_server, "SOL", "USDC", "1", type="limit", limit_price=limit)
    watching = await until_status(engine_server, order_id, "watching")
    assert watching["trigger"]["kind"] == "price"
    assert Decimal(watching["trigger"]["limitPrice"]) == limit
    await asyncio.sleep(0.6)  # a full price round: still below the limit, nothing fires
    assert (await order(engine_server, order_id))["status"] == "watching"

    await move(engine_server, 5)
    frames = await follow(engine_server, order_id, "?since=0")
    types = [f["type"] for f in frames]
    assert types == ["pending", "watching", "routing", "building", "submitted", "confirmed"]
    routing = frames[2]
    assert Decimal(routing["triggeredBy"]["price"]) >= limit
    assert routing["triggeredBy"]["venue"] in {"raydium", "meteora"}
    assert Decimal(str(frames[-1]["executedPrice"])) >= limit
    stored = await order(engine_server, order_id)
    assert Decimal(str(stored["routing"]["minAmountOut"])) >= limit  # the swap's floor


async def test_limit_order_that_never_crosses_expires(engine_server: EngineServer) -> None:
    limit = (await best_price(engine_server) * 2).quantize(Decimal("0.01"))
    order_id = await place(
        engine_server, "SOL", "USDC", "1", type="limit", limit_price=limit, ttl_seconds=1
    )
    frames = await follow(engine_server, order_id, "?since=0")
    assert [f["type"] for f in frames] == ["pending", "watching", "expired"]
    assert "did not fire" in frames[-1]["reason"]


async def test_cancelled_order_never_executes(engine_server: EngineServer) -> None:
    limit = (await best_price(engine_server) * Decimal("1.02")).quantize(Decimal("0.01"))
    order_id = await place(engine_server, "SOL", "USDC", "1", type="limit", limit_price=limit)
    await until_status(engine_server, order_id, "watching")
    cancelled = await engine_server.engine.orders.cancel(order_id)
    assert cancelled is not None
    assert cancelled.status.value == "cancelled"
    await move(engine_server, 5)
    await asyncio.sleep(1.2)  # two price rounds past the crossing
    frames = await follow(engine_server, order_id, "?since=0")
    assert [f["type"] for f in frames] == ["pending", "watching", "cancelled"]


async def test_sniper_fires_on_the_launch_of_its_mint(engine_server: EngineServer) -> None:
    mint = str(Keypair().pubkey())
    order_id = await place(
        engine_server, "SOL", mint, "0.5", type="sniper", max_price_impact_bps=3000
    )
    watching = await until_status(engine_server, order_id, "watching")
    assert watching["trigger"]["kind"] == "launch"
    launch = {"symbol": "SNIPE", "decimals": 6, "mint": mint, "quote": "SOL", "venues": ["raydium"]}
    launched = await engine_server.client.post("/api/sim/pools", json=launch)
    assert launched.status_code == 201, launched.text
    frames = await follow(engine_server, order_id, "?since=0")
    assert [f["type"] for f in frames][-1] == "confirmed", frames[-1]
    routing = next(f for f in frames if f["type"] == "routing")
    fired = routing["triggeredBy"]
    assert fired["venue"] == "raydium"
    assert fired["pool"] == launched.json()["pools"][0]["address"]
    assert fired["decimals"] == 6
    stored = await order(engine_server, order_id)
    assert stored["tokenOut"]["decimals"] == 6
    assert stored["result"]["amountOut"] > 0


async def test_sniper_for_a_token_that_already_trades_fires_at_once(
    engine_server: EngineServer,
) -> None:
    order_id = await place(engine_server, "SOL", "USDC", "0.5", type="sniper")
    frames = await follow(engine_server, order_id, "?since=0")
    assert [f["type"] for f in frames][:3] == ["pending", "watching", "routing"]
    assert frames[-1]["type"] == "confirmed"


async def test_a_restart_rearms_watching_orders(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory()
    async for server in serve_engine(settings):
        limit = (await best_price(server) * Decimal("1.02")).quantize(Decimal("0.01"))
        order_id = await place(server, "SOL", "USDC", "1", type="limit", limit_price=limit)
        await until_status(server, order_id, "watching")
    async for server in serve_engine(settings):
        assert (await order(server, order_id))["status"] == "watching"
        await move(server, 5)
        assert (await until_status(server, order_id, "confirmed", "failed"))[
            "status"
        ] == "confirmed"


async def test_a_fired_limit_order_whose_price_moved_away_waits_again(
    engine_server: EngineServer,
) -> None:
    from oee.domain.triggers import Firing

    limit = (await best_price(engine_server) * Decimal("1.02")).quantize(Decimal("0.01"))
    order_id = await place(engine_server, "SOL", "USDC", "1", type="limit", limit_price=limit)
    await until_status(engine_server, order_id, "watching")
    triggers = engine_server.engine.worker.triggers  # type: ignore[union-attr]
    async with asyncio.timeout(10):
        while order_id not in triggers.held:
            await asyncio.sleep(0.02)
    # A trigger that saw a price the routing quote no longer pays (as after a brief spike).
    now = engine_server.engine.clock.now()
    seen = Firing(at=now, price=limit + 1, venue="raydium", pool="spike")
    assert await triggers.fire([(triggers.held[order_id], seen)]) == 1
    rearmed = await until_status(engine_server, order_id, "watching")
    assert rearmed["triggeredBy"]["pool"] == "spike"
    async with asyncio.timeout(10):
        while order_id not in triggers.held:  # claimed again by the watcher
            await asyncio.sleep(0.02)
    await move(engine_server, 5)
    frames = await follow(engine_server, order_id, "?since=0")
    assert [f["type"] for f in frames] == [
        "pending", "watching", "routing", "watching", "routing", "building", "submitted",
        "confirmed",
    ]  # fmt: skip
    assert frames[3]["error"] == "LIMIT_NOT_MET"
    assert Decimal(frames[3]["price"]) < limit
    assert Decimal(str(frames[-1]["executedPrice"])) >= limit
