"""The kill switch through the whole engine, in both deployments: halt, a refused submit, an
accepted order and a firing limit order held, then the resume that routes them."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from oee.domain.orders import Order, SubmitOrder
from tests.e2e.test_triggers import best_price, move, order, place, until_status
from tests.support.cli import oee
from tests.support.engine import EngineServer
from tests.support.streams import ORDER, final_status, follow, submit


async def test_halt_refuses_submits_holds_accepted_orders_and_resume_routes_them(
    engine_server: EngineServer,
) -> None:
    client, engine = engine_server.client, engine_server.engine
    limit = (await best_price(engine_server) * Decimal("1.02")).quantize(Decimal("0.01"))
    limit_id = await place(engine_server, "SOL", "USDC", "1", type="limit", limit_price=limit)
    await until_status(engine_server, limit_id, "watching")

    halted = await client.post("/api/admin/halt", json={"reason": "drill"})
    assert halted.status_code == 200, halted.text
    state = halted.json()
    assert (state["halted"], state["reason"], state["by"]) == (True, "drill", None)
    assert (await client.get("/api/admin/halt")).json() == state

    refused = await client.post("/api/orders/execute", json=ORDER)
    assert refused.status_code == 503
    body = refused.json()
    assert (body["code"], body["reason"], body["since"]) == ("HALTED", "drill", state["since"])
    assert "Retry-After" not in refused.headers

    # An order accepted before the halt (stored, then queued, as a submit does) is held pending.
    accepted, first = Order.accept(
        SubmitOrder.parse("SOL", "USDC", "0.5", 50),
        "6f1c1d2e-0000-4000-8000-000000000a17",
        engine.clock.now(),
    )
    await engine.store.create(accepted, first)
    await engine.queue.enqueue(accepted.id)
    # The limit order's price is reached: it fires (routing) but is not quoted or signed.
    await move(engine_server, 5)
    fired = await until_status(engine_server, limit_id, "routing")
    assert fired["triggeredBy"]["price"]
    await asyncio.sleep(1.5)  # several recovery sweeps re-run them: still held
    assert (await order(engine_server, accepted.id))["status"] == "pending"
    assert (await order(engine_server, limit_id))["status"] == "routing"
    metrics = (await client.get("/metrics")).text
    assert "oee_trading_halted 1.0" in metrics
    assert 'oee_risk_refusals_total{code="HALTED"} 1.0' in metrics

    resumed = await client.post("/api/admin/resume")
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["halted"] is False
    for order_id in (accepted.id, limit_id):
        assert final_status(await follow(engine_server, order_id)) == "confirmed"
    frames = await follow(engine_server, await submit(engine_server), "?since=0")
    assert final_status(frames) == "confirmed"
    assert "oee_trading_halted 0.0" in (await client.get("/metrics")).text


async def test_oee_halt_and_resume_from_the_command_line(engine_server: EngineServer) -> None:
    url = engine_server.http_url
    halted = await oee("halt", "--reason", "venue outage", "--url", url)
    assert halted.code == 0, halted.err
    assert halted.out.startswith("trading HALTED since ")
    assert halted.out.strip().endswith(": venue outage")
    status = await oee("halt", "--status", OEE_URL=url)  # the URL from the environment
    assert status.out == halted.out
    refused = await oee("submit", "SOL", "USDC", "1", "--url", url)
    assert refused.code == 1
    assert "HALTED: trading is halted since" in refused.err
    resumed = await oee("resume", "--url", url)
    assert (resumed.code, resumed.out.split(" since ")[0]) == (0, "trading")
    assert (await oee("submit", "SOL", "USDC", "1", "--url", url)).code == 0
