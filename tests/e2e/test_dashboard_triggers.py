"""The dashboard's limit and sniper orders, in a real headless browser against a real engine.

The form's fields per order type, the price mover and launching a sniper's mint work against
the engine as it is. How watching, fired, cancelled and expired orders look is checked with
events the domain itself makes (`Order.accept`, `arm`, `fire`, ...) slipped into the page's
firehose, so each look is checked on its own. The tests marked `needs_trigger_api` drive
limit and sniper orders end to end through `POST /api/orders/execute` and `POST
/api/orders/{id}/cancel`, and fail if the engine refuses a `type`.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from solders.pubkey import Pubkey

from oee.devtools.engine_process import EngineProcess
from oee.domain.events import OrderEvent
from oee.domain.orders import Order, OrderTerms, SubmitOrder
from oee.domain.triggers import Firing
from tests.support.browser import CONFIRM_TIMEOUT_MS, dashboard_page, row

pytestmark = pytest.mark.timeout(180)
in_module_loop = pytest.mark.asyncio(loop_scope="module")  # engine and browser live per module

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HIDDEN_WHEN = {  # the form's type-specific parts, and the types they are for
    "#buy-field": {"market", "limit"},
    "#flip": {"market", "limit"},
    "#limit-fields": {"limit"},
    "#sniper-target": {"sniper"},
    "#sniper-venues": {"sniper"},
    "#impact-field": {"limit", "sniper"},
    "#ttl-field": {"limit", "sniper"},
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def engine() -> AsyncIterator[EngineProcess]:
    # No random drift: a price moves only when the test moves it (or a swap does).
    env = {"OEE_SIM_LATENCY_SCALE": "0.2", "OEE_SIM_VOLATILITY_SCALE": "0"}
    async with EngineProcess("embedded", env=env) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any, engine: EngineProcess) -> AsyncIterator[Any]:
    async with dashboard_page(browser, f"{engine.base_url}/") as opened:
        await opened.wait_for_selector("#conn.conn-live", timeout=10_000)
        yield opened


async def triggers_accepted(engine: EngineProcess) -> bool:
    """Whether the engine takes limit orders: a limit order without its price is refused for
    that (LIMIT_PRICE_REQUIRED), not for naming a `type` at all (VALIDATION_ERROR)."""
    body = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1, "type": "limit"}
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        reply = await http.post("/api/orders/execute", json=body)
    refused = reply.json() if reply.status_code == 422 else {}
    fields = {e.get("field") for e in refused.get("errors", [])}
    return reply.status_code == 422 and not (
        refused.get("code") == "VALIDATION_ERROR" and "type" in fields
    )


@pytest_asyncio.fixture(loop_scope="module")
async def needs_trigger_api(engine: EngineProcess) -> None:
    assert await triggers_accepted(engine), "the engine refused a limit order's fields"


async def best_price(engine: EngineProcess, token_in: str, token_out: str, amount: str) -> float:
    params = {"tokenIn": token_in, "tokenOut": token_out, "amountIn": amount}
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        body = (await http.get("/api/quotes", params=params)).json()
    return max(float(q["amountOut"]) / float(body["amountIn"]) for q in body["quotes"])


async def visible_parts(page: Any) -> set[str]:
    return {sel for sel in HIDDEN_WHEN if await page.locator(sel).is_visible()}


async def until(condition: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    """Wait for `condition` to hold, checking every 0.1 s; fail after `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while not await condition():
            await asyncio.sleep(0.1)


def number(text: str) -> float:
    return float(text.replace(",", ""))


# ---------------------------------------------------------------------------------- the form


@in_module_loop
async def test_the_form_shows_each_types_fields_and_sends_only_those(page: Any) -> None:
    sent: list[dict[str, Any]] = []

    async def hold(route: Any) -> None:  # read the body, and answer for the server
        sent.append(route.request.post_data_json)
        body = {"code": "HELD_BY_TEST", "message": "the test answered instead"}
        await route.fulfill(status=422, content_type="application/json", body=json.dumps(body))

    await page.route("**/api/orders/execute", hold)
    status = page.locator("#form-status")

    async def submit() -> dict[str, Any]:
        before = len(sent)
        await page.click("#submit")
        await page.wait_for_selector('#form-status[data-code="HELD_BY_TEST"]')
        assert len(sent) == before + 1
        await page.evaluate("document.getElementById('form-status').dataset.code = ''")
        return sent[-1]

    # Market: the pair and amount, no type (the default) and nothing of the other types.
    assert await page.input_value("#order-type") == "market"
    assert await visible_parts(page) == {"#buy-field", "#flip"}
    await page.select_option("#token-in", "SOL")
    await page.select_option("#token-out", "USDC")
    await page.fill("#amount", "1.5")
    assert await submit() == {
        "tokenIn": "SOL",
        "tokenOut": "USDC",
        "amountIn": "1.5",
        "slippageBps": 50,
    }
    assert (await status.inner_text()).startswith("HELD_BY_TEST: the test answered instead")

    # Limit: its price, prefilled from the best price now, in tokenOut per tokenIn.
    await page.select_option("#order-type", "limit")
    assert await visible_parts(page) == {
        "#buy-field",
        "#flip",
        "#limit-fields",
        "#impact-field",
        "#ttl-field",
    }
    assert await page.inner_text("#limit-unit") == "USDC per SOL"
    hint = page.locator("#limit-best[data-price]")
    await hint.wait_for()
    best = await hint.get_attribute("data-price")
    assert best
    assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", best), best  # plain decimal text
    assert await page.input_value("#limit-price") == best
    assert (await hint.inner_text()).startswith("Best now: ")
    await page.fill("#limit-price", "160.5")
    await page.select_option("#ttl", "3600")
    await page.fill("#max-impact", "300")
    assert await submit() == {
        "tokenIn": "SOL",
        "tokenOut": "USDC",
        "amountIn": "1.5",
        "slippageBps": 50,
        "type": "limit",
        "limitPrice": "160.5",
        "ttlSeconds": 3600,
        "maxPriceImpactBps": 300,
    }
    await page.click("#limit-use-best")  # back to the best price, on request
    assert await page.input_value("#limit-price") == best

    # Sniper: a mint to buy (here a fresh one, also handed to the launch form), its venues;
    # it pays with SOL or USDC only. The limit price stays filled but is not sent.
    await page.select_option("#token-in", "JUP")
    await page.select_option("#order-type", "sniper")
    assert await visible_parts(page) == {
        "#sniper-target",
        "#sniper-venues",
        "#impact-field",
        "#ttl-field",
    }
    assert await page.input_value("#token-in") == "SOL"
    enabled = await page.eval_on_selector_all(
        "#token-in option", "options => options.filter(o => !o.disabled).map(o => o.value)"
    )
    assert enabled == ["SOL", "USDC"]
    await page.click("#sniper-new-mint")
    mint = await page.input_value("#sniper-mint")
    assert str(Pubkey.from_string(mint)) == mint  # a valid 32-byte address
    assert await page.input_value("#launch-mint") == mint
    await page.uncheck("#venue-meteora")
    await page.select_option("#ttl", "900")
    assert await submit() == {
        "tokenIn": "SOL",
        "tokenOut": mint,
        "amountIn": "1.5",
        "slippageBps": 50,
        "type": "sniper",
        "venues": ["raydium"],
        "ttlSeconds": 900,
        "maxPriceImpactBps": 300,
    }
    await page.uncheck("#venue-raydium")  # no venue: said here, nothing sent
    await page.click("#submit")
    await page.wait_for_selector('#form-status.error[data-code="NO_VENUE"]')
    await page.check("#venue-raydium")
    await page.check("#venue-meteora")

    # Back to market: none of it goes.
    await page.select_option("#order-type", "market")
    assert await visible_parts(page) == {"#buy-field", "#flip"}
    body = await submit()
    assert body == {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1.5", "slippageBps": 50}
    await page.unroute("**/api/orders/execute")
    await page.fill("#launch-mint", "")


# ---------------------------------------------------------------------------------- simulator


@in_module_loop
async def test_the_price_mover_moves_a_pair_and_shows_its_new_prices(
    page: Any, engine: EngineProcess
) -> None:
    before = await best_price(engine, "SOL", "USDC", "1")
    assert await page.input_value("#move-pair") == "SOL/USDC"
    async with page.expect_response("**/api/sim/move") as moved:
        await page.click("#move-form button[data-percent='3']")
    reply = await moved.value
    assert reply.request.post_data_json == {"pair": "SOL/USDC", "percent": 3}
    answer = await reply.json()
    status = page.locator('#move-status.ok[data-pair="SOL/USDC"]')
    await status.wait_for()
    assert (await status.inner_text()).startswith("SOL/USDC +3 % (SOL moved)")
    for venue, price in answer["prices"].items():
        item = page.locator(f'#move-prices li[data-venue="{venue}"]')
        assert await item.get_attribute("data-price") == price
        shown = await item.locator(".price").inner_text()
        previous = answer["previous"]["prices"][venue]
        assert [number(p) for p in shown.split(" → ")] == pytest.approx(
            [float(previous), float(price)], rel=1e-5
        )

    # The venues quote the new price (once the engine's pool state, kept for about a slot, is
    # read again).
    async def moved_up() -> bool:
        return await best_price(engine, "SOL", "USDC", "1") > before * 1.02

    await until(moved_up)

    # Any percent, typed; the engine's refusals show with their code.
    async with page.expect_request("**/api/sim/move") as typed:
        await page.fill("#move-percent", "-1.5")
        await page.click("#move")
    assert (await typed.value).post_data_json == {"pair": "SOL/USDC", "percent": -1.5}
    await page.wait_for_selector("#move-status.ok:text('SOL/USDC -1.5 %')")
    await page.fill("#move-percent", "1000")
    await page.click("#move")
    await page.wait_for_selector('#move-status.error[data-code="INVALID_PERCENT"]')
    assert await page.locator("#move-prices li").count() == 0


@in_module_loop
async def test_a_new_mint_for_a_sniper_is_the_mint_the_launch_form_launches(
    page: Any, engine: EngineProcess
) -> None:
    await page.select_option("#order-type", "sniper")
    await page.click("#sniper-new-mint")
    mint = await page.input_value("#sniper-mint")
    await page.wait_for_selector(f"#launch-status:text('Next launch: mint {mint[:4]}')")
    async with page.expect_request(
        lambda r: r.url.endswith("/api/sim/pools") and r.method == "POST"
    ) as launched:
        await page.fill("#launch-symbol", "SNIPE1")
        await page.click("#launch")
    assert (await launched.value).post_data_json == {
        "symbol": "SNIPE1",
        "decimals": 6,
        "mint": mint,
    }
    await page.wait_for_selector(f'#launches li[data-mint="{mint}"][data-symbol="SNIPE1"]')
    assert await page.input_value("#launch-mint") == ""  # the next launch is a random mint
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        pools = (await http.get("/api/sim/pools")).json()
    assert mint in {launch["mint"] for launch in pools}
    await page.wait_for_selector("#move-pair option[value='SNIPE1/SOL']", state="attached")
    await page.select_option("#order-type", "market")


# ---------------------------------------------------------------------------------- rows


class Firehose:
    """The page's firehose with the test's frames slipped in among the engine's."""

    def __init__(self) -> None:
        self.sockets: list[Any] = []

    def route(self, ws: Any) -> None:
        ws.connect_to_server()  # the engine's frames pass through untouched
        self.sockets.append(ws)

    def send(self, *events: OrderEvent) -> None:
        for event in events:
            self.sockets[-1].send(json.dumps(event.to_wire()))


@pytest_asyncio.fixture(loop_scope="module")
async def firehose(browser: Any, engine: EngineProcess) -> AsyncIterator[tuple[Any, Firehose]]:
    hose = Firehose()
    async with dashboard_page(browser, "about:blank") as opened:
        await opened.route_web_socket(re.compile(r"/ws/orders"), hose.route)
        await opened.goto(f"{engine.base_url}/")
        await opened.wait_for_selector("#conn.conn-live", timeout=10_000)
        yield opened, hose


def placed(
    token_in: str, token_out: str, amount: str, **terms: Any
) -> tuple[Order, OrderEvent, datetime]:
    now = datetime.now(UTC)
    cmd = SubmitOrder.parse(
        token_in, token_out, amount, 50, terms=OrderTerms(**terms), now=now, is_mint=bool
    )
    order, event = Order.accept(cmd, str(uuid.uuid4()), now)
    return order, event, now


@in_module_loop
async def test_watching_orders_show_their_trigger_the_live_price_and_what_fired_them(
    firehose: tuple[Any, Firehose], engine: EngineProcess
) -> None:
    page, hose = firehose
    # A limit order SOL -> USDC at 1000, far above the price: armed, it waits.
    limit, accepted, now = placed("SOL", "USDC", "1.5", type="limit", limit_price=Decimal(1000))
    limit_row = row(limit.id)
    hose.send(accepted, limit.arm(now))
    await page.wait_for_selector(f'{limit_row}[data-status="watching"]')
    cells = page.locator(f"{limit_row} td")
    assert await cells.nth(1).inner_text() == "limit"
    assert await page.locator(f"{limit_row} .cond").inner_text() == "≥ 1,000 USDC/SOL"
    countdown = await page.locator(f"{limit_row} .countdown").inner_text()
    assert re.fullmatch(r"(23h \d\dm|1d 0h) left", countdown), countdown
    # Beside the threshold, the best price now for its size (GET /api/quotes), short of it.
    best = page.locator(f"{limit_row} .best-now.unmet[data-price]")
    await best.wait_for()
    shown = float(await best.get_attribute("data-price") or 0)
    assert shown == pytest.approx(await best_price(engine, "SOL", "USDC", "1.5"), rel=0.01)
    assert (await best.inner_text()).startswith("best ")
    assert await page.locator(f"{limit_row} .s-watching").inner_text() == "watching"

    # Cancel asks the engine; its refusal shows in the row (here the test answers for it).
    refusal = {"code": "ORDER_NOT_CANCELLABLE", "message": "routing has started"}
    answered: list[str] = []

    async def refuse(route: Any) -> None:
        answered.append(route.request.url)
        await route.fulfill(status=409, content_type="application/json", body=json.dumps(refusal))

    await page.route("**/api/orders/*/cancel", refuse)
    await page.click(f"{limit_row} button.cancel")
    error = page.locator(f'{limit_row} .cancel-error[data-code="ORDER_NOT_CANCELLABLE"]')
    await error.wait_for()
    assert await error.inner_text() == "ORDER_NOT_CANCELLABLE: routing has started"
    assert answered == [f"{engine.base_url}/api/orders/{limit.id}/cancel"]
    await page.unroute("**/api/orders/*/cancel")

    # The price is met: the routing event says what fired it. Gone by the quote, the order
    # waits again (re-armed); met again, it goes on.
    hose.send(limit.fire(Firing(at=now, price=Decimal("1000.4"), venue="raydium"), now))
    fired = page.locator(f"{limit_row}[data-status='routing'] .fired")
    await fired.wait_for()
    assert await fired.inner_text() == "⚡ at 1,000.4 on raydium"
    hose.send(limit.rearm("LIMIT_NOT_MET", "the price moved away", now, Decimal("999.1")))
    note = page.locator(f"{limit_row}[data-status='watching'] td.note.warn")
    await note.wait_for()
    assert await note.inner_text() == "re-armed (999.1): the price moved away"
    assert await page.locator(f"{limit_row} button.cancel").count() == 1
    hose.send(limit.fire(Firing(at=now, price=Decimal("1000.2"), venue="meteora"), now))
    await page.wait_for_selector(f"{limit_row}[data-status='routing'] .fired:text('on meteora')")
    assert await fired.inner_text() == "⚡ at 1,000.2 on meteora"
    assert await page.locator(f"{limit_row} button.cancel").count() == 0
    # No watching limit order left on the page: the best price is no longer polled.
    await page.wait_for_selector('#orders[data-polling-prices="false"]', state="attached")

    # A sniper waits for its mint; the launch that fires it shows.
    mint = str(Pubkey.new_unique())
    sniper, accepted, now = placed("USDC", mint, "20", type="sniper", venues=("raydium",))
    sniper_row = row(sniper.id)
    hose.send(accepted, sniper.arm(now))
    await page.wait_for_selector(f'{sniper_row}[data-status="watching"]')
    short = f"{mint[:4]}…{mint[-4:]}"
    assert await page.locator(f"{sniper_row} td.type").inner_text() == "sniper"
    assert await page.locator(f"{sniper_row} td.pair").inner_text() == f"USDC → {short}"
    assert await page.locator(f"{sniper_row} .cond").inner_text() == f"waits for {short} on raydium"
    assert await page.locator(f"{sniper_row} .best-now").count() == 0
    launch = Firing(at=now, venue="raydium", pool=str(Pubkey.new_unique()), signature="5ig", slot=9)
    hose.send(sniper.fire(launch, now))
    fired = page.locator(f"{sniper_row}[data-status='routing'] .fired")
    await fired.wait_for()
    assert (await fired.inner_text()).startswith("⚡ launch on raydium, pool ")
    assert "signature: 5ig" in (await fired.get_attribute("title") or "")

    # Cancelled and expired orders end in their own styles, with the reason.
    ended = []
    for ending in ("cancelled", "expired"):
        order, accepted, now = placed("SOL", "USDC", "1", type="limit", limit_price=Decimal(999))
        armed = order.arm(now)
        last = order.cancel("cancelled by the client", now) if ending == "cancelled" else None
        hose.send(accepted, armed, last or order.expire(now))
        ended.append(order.id)
        pill = page.locator(f'{row(order.id)}[data-status="{ending}"] .pill.s-{ending}')
        await pill.wait_for()
        assert await page.locator(f"{row(order.id)} td.note.muted").inner_text() == order.reason
        assert await page.locator(f"{row(order.id)} button.cancel").count() == 0
    styles = await page.evaluate(
        """ids => ids.map(id => getComputedStyle(document.querySelector(
            `#order-rows tr[data-order-id="${id}"] .pill`)).backgroundColor)""",
        ended,
    )
    watching_style = await page.evaluate(
        "getComputedStyle(document.querySelector('.legend .s-watching')).backgroundColor"
    )
    assert len({*styles, watching_style}) == 3  # three distinct looks
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard-triggers.png"), full_page=True)


@in_module_loop
@pytest.mark.parametrize("width", [1280, 1920])
async def test_the_page_fits_from_1280_to_1920_wide(
    firehose: tuple[Any, Firehose], width: int
) -> None:
    page, hose = firehose
    await page.set_viewport_size({"width": width, "height": 900})
    order, accepted, now = placed("SOL", "USDC", "1.5", type="limit", limit_price=Decimal(1000))
    hose.send(accepted, order.arm(now))
    await page.wait_for_selector(f'{row(order.id)}[data-status="watching"] .best-now[data-price]')
    for type_ in ("limit", "sniper"):
        await page.select_option("#order-type", type_)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways at {width} px ({type_} form)"
    # The trigger and its Cancel button are on screen; at 1920 px the whole table is (below
    # that the table may scroll sideways to its last columns, as it always could).
    card = await page.locator(".table-card").bounding_box()
    cancel = await page.locator(f"{row(order.id)} button.cancel").bounding_box()
    assert card
    assert cancel
    assert cancel["x"] + cancel["width"] <= card["x"] + card["width"]
    if width >= 1920:
        table = await page.evaluate(
            "(() => { const c = document.querySelector('.table-card');"
            " return c.scrollWidth - c.clientWidth; })()"
        )
        assert table <= 0, f"the orders table scrolls sideways at {width} px"
    await page.select_option("#order-type", "market")
    await page.screenshot(path=str(ARTIFACTS / f"dashboard-triggers-{width}.png"))


# ---------------------------------------------------------------------------------- end to end


async def submitted(page: Any) -> str:
    await page.click("#submit")
    status = page.locator("#form-status")
    await status.locator("code").wait_for()
    order_id = await status.get_attribute("data-order-id")
    assert order_id, await status.inner_text()
    return order_id


@in_module_loop
@pytest.mark.usefixtures("needs_trigger_api")
async def test_a_limit_order_waits_then_fills_after_the_price_moves_up(
    page: Any, engine: EngineProcess
) -> None:
    await page.select_option("#token-in", "SOL")
    await page.select_option("#token-out", "USDC")
    await page.fill("#amount", "1")
    await page.select_option("#order-type", "limit")
    await page.locator("#limit-best[data-price]").wait_for()
    best = float(await page.locator("#limit-best").get_attribute("data-price") or 0)
    limit = f"{best * 1.015:.4f}"  # 1.5 % above the price now
    await page.fill("#limit-price", limit)
    await page.select_option("#ttl", "900")
    order_id = await submitted(page)
    await page.wait_for_selector(f'{row(order_id)}[data-status="watching"]')
    assert (await page.locator(f"{row(order_id)} .cond").inner_text()).startswith("≥ ")
    await page.locator(f"{row(order_id)} .best-now.unmet").wait_for()

    await page.select_option("#move-pair", "SOL/USDC")
    await page.click("#move-form button[data-percent='3']")  # now the price is past the limit
    await page.wait_for_selector(
        f'{row(order_id)}[data-status="confirmed"]', timeout=CONFIRM_TIMEOUT_MS
    )
    fired = await page.locator(f"{row(order_id)} .fired").inner_text()
    assert fired.startswith("⚡ at "), fired
    assert number(fired.split()[2]) >= float(limit)
    await page.select_option("#order-type", "market")


@in_module_loop
@pytest.mark.usefixtures("needs_trigger_api")
async def test_cancel_a_watching_order_from_its_row(page: Any, engine: EngineProcess) -> None:
    await page.select_option("#token-in", "SOL")
    await page.select_option("#token-out", "USDC")
    await page.select_option("#order-type", "limit")
    await page.fill("#limit-price", "100000")  # never met
    order_id = await submitted(page)
    await page.wait_for_selector(f'{row(order_id)}[data-status="watching"]')
    await page.click(f"{row(order_id)} button.cancel")
    await page.wait_for_selector(f'{row(order_id)}[data-status="cancelled"] .s-cancelled')
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        view = (await http.get(f"/api/orders/{order_id}")).json()
    assert view["status"] == "cancelled"
    await page.select_option("#order-type", "market")


@in_module_loop
@pytest.mark.usefixtures("needs_trigger_api")
async def test_a_sniper_armed_on_a_new_mint_fires_when_that_mint_launches(
    page: Any, engine: EngineProcess
) -> None:
    await page.select_option("#order-type", "sniper")
    await page.select_option("#token-in", "SOL")
    await page.fill("#amount", "0.2")
    await page.click("#sniper-new-mint")
    mint = await page.input_value("#sniper-mint")
    order_id = await submitted(page)
    sniper = row(order_id)
    await page.wait_for_selector(f'{sniper}[data-status="watching"]')
    assert (await page.locator(f"{sniper} .cond").inner_text()).startswith(
        f"waits for {mint[:4]}…{mint[-4:]} on raydium, meteora"
    )
    await page.fill("#launch-symbol", "SNIPE2")
    await page.click("#launch")
    await page.wait_for_selector(f'#launches li[data-mint="{mint}"]')
    await page.wait_for_selector(f'{sniper}[data-status="confirmed"]', timeout=CONFIRM_TIMEOUT_MS)
    assert (await page.locator(f"{sniper} .fired").inner_text()).startswith("⚡ launch on ")
    assert await page.locator(f"{sniper} td.pair").inner_text() == "SOL → SNIPE2"
    await page.select_option("#order-type", "market")
