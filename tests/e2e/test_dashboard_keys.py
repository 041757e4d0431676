"""The dashboard of an engine with API keys, in a real headless browser.

The page asks for a key on the API's first 401, keeps it in the tab's sessionStorage, sends it
on every fetch, opens the firehose with a stream token (browsers cannot set WebSocket headers),
shows only that key's orders, and forgets the key on request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from oee.devtools.engine_process import EngineProcess
from tests.support.browser import CONFIRM_TIMEOUT_MS, dashboard_page, row

pytestmark = pytest.mark.timeout(180)
in_module_loop = pytest.mark.asyncio(loop_scope="module")

DESK = "desk-secret-0123456789abcdef"
BOT = "bot-secret-0123456789abcdefg"
ENV = {"OEE_SIM_LATENCY_SCALE": "0.2", "OEE_API_KEYS": f"desk={DESK},bot={BOT}"}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def engine() -> AsyncIterator[EngineProcess]:
    async with EngineProcess("embedded", env=ENV) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any, engine: EngineProcess) -> AsyncIterator[Any]:
    async with dashboard_page(browser, f"{engine.base_url}/") as opened:
        yield opened


@in_module_loop
async def test_the_page_asks_for_a_key_then_trades_and_streams_with_it(
    page: Any, engine: EngineProcess
) -> None:
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        bots = await http.post(
            "/api/orders/execute",
            json={"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 0.2},
            headers={"Authorization": f"Bearer {BOT}"},
        )
    bot_order = bots.json()["orderId"]

    await page.wait_for_selector("#key-panel:not([hidden])", timeout=10_000)
    assert await page.locator("#conn").inner_text() == "needs an API key"
    assert await page.locator("#forget-key").is_hidden()
    await page.fill("#key-input", "not-the-key-0123456789")
    await page.click("#key-form button[type=submit]")
    await page.wait_for_selector("#key-panel:not([hidden])")  # reloaded, refused again
    assert "not valid" in await page.locator("#key-message").inner_text()

    await page.fill("#key-input", DESK)
    await page.click("#key-form button[type=submit]")
    await page.wait_for_selector("#conn.conn-live", timeout=10_000)  # firehose up, by token
    assert await page.locator("#key-panel").is_hidden()
    assert await page.evaluate("sessionStorage.getItem('oee.apiKey')") == DESK

    await page.fill("#amount", "1.5")
    await page.click("#submit")
    status = page.locator("#form-status")
    await status.locator("code").wait_for()
    order_id = await status.get_attribute("data-order-id")
    assert order_id, await status.inner_text()
    await page.wait_for_selector(
        f'{row(order_id)}[data-status="confirmed"]', timeout=CONFIRM_TIMEOUT_MS
    )
    assert await page.locator(row(bot_order)).count() == 0, "another key's order is never shown"
    # The order's story is read with the key too (its view and its timeline).
    await page.click(f"{row(order_id)} td.pair")
    await page.wait_for_selector(f'#story[data-loaded="{order_id}"][data-status="confirmed"]')
    assert await page.locator("#story-timeline li").count() >= 5
    await page.click("#story-close")
    # The simulator's controls need an admin key: the page says why they are off.
    assert "FORBIDDEN" in (await page.locator("#raise-faults").get_attribute("title") or "")

    await page.click("#forget-key")
    await page.wait_for_selector("#key-panel:not([hidden])", timeout=10_000)
    assert await page.evaluate("sessionStorage.getItem('oee.apiKey')") is None
