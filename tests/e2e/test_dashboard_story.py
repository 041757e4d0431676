"""The dashboard's order story, charts, fault controls and layout, in a real headless browser.

Against a real `oee serve` (simulated latencies at a fifth): a click on a row shows what
`oee order ID` prints, read from `GET /api/orders/{id}` and its timeline; the uPlot charts draw
and move with the firehose; each simulator fault kind is set alone from the page; the page fits
from 1280 to 1920 px wide (screenshots of both kept under `test-artifacts/`); and it runs under
its own Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from oee.devtools.engine_process import EngineProcess
from tests.support.browser import CONFIRM_TIMEOUT_MS, dashboard_page, row

pytestmark = pytest.mark.timeout(180)
in_module_loop = pytest.mark.asyncio(loop_scope="module")  # engine and browser live per module

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
KINDS = ("rate", "slowConfirmRate", "expiredBlockhashRate", "slippageMoveRate")
NO_FAULTS = dict.fromkeys(KINDS, 0.0)
STAGES = ["pending", "routing", "building", "submitted", "confirmed"]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def engine() -> AsyncIterator[EngineProcess]:
    async with EngineProcess("embedded", env={"OEE_SIM_LATENCY_SCALE": "0.2"}) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any, engine: EngineProcess) -> AsyncIterator[Any]:
    async with dashboard_page(browser, f"{engine.base_url}/") as opened:
        await opened.wait_for_selector("#conn.conn-live", timeout=10_000)
        yield opened


async def faults(engine: EngineProcess) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        return dict((await http.get("/api/sim/faults")).json())


async def order_view(engine: EngineProcess, order_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        return dict((await http.get(f"/api/orders/{order_id}")).json())


async def set_kind(page: Any, kind: str, percent: str) -> None:
    await page.fill(f'.fault-kind[data-kind="{kind}"] input', percent)
    await page.click(f"#fault-set-{kind}")


async def fill_limit_price(page: Any, price: str) -> None:
    # The form prefills the best price once its quote returns; typing before that settles can
    # lose the race on a busy machine, so type after the prefill and check the value held.
    await page.locator("#amount").blur()
    await page.wait_for_selector("#limit-best[data-price]", timeout=10_000)
    await page.fill("#limit-price", price)
    assert await page.input_value("#limit-price") == price


async def submit(page: Any, slippage_bps: str = "100") -> str:
    await page.select_option("#order-type", "market")
    await page.select_option("#token-in", "SOL")
    await page.select_option("#token-out", "USDC")
    await page.fill("#amount", "1.5")
    await page.fill("#slippage", slippage_bps)
    await page.click("#submit")
    status = page.locator("#form-status")
    await status.locator("code").wait_for()
    order_id = await status.get_attribute("data-order-id")
    assert order_id, await status.inner_text()
    return str(order_id)


@in_module_loop
async def test_each_fault_kind_is_set_alone_from_the_page(page: Any, engine: EngineProcess) -> None:
    await page.wait_for_selector('.fault-kind[data-kind="slippageMoveRate"][data-rate="0"]')
    await set_kind(page, "slippageMoveRate", "100")
    await page.wait_for_selector('.fault-kind[data-kind="slippageMoveRate"][data-rate="1"]')
    assert await faults(engine) == {**NO_FAULTS, "slippageMoveRate": 1.0}
    assert (
        await page.locator("#demo-status.ok").inner_text() == "Pool moves before a swap: now 100 %."
    )

    await set_kind(page, "slowConfirmRate", "12.5")  # another kind alone: the first one stays
    await page.wait_for_selector('.fault-kind[data-kind="slowConfirmRate"][data-rate="0.125"]')
    assert await faults(engine) == {**NO_FAULTS, "slippageMoveRate": 1.0, "slowConfirmRate": 0.125}
    assert await page.locator("#fault-rate").inner_text() == "0 %"  # the transient rate stays 0
    assert await page.locator("#reset-faults").is_enabled()

    await set_kind(page, "expiredBlockhashRate", "150")  # out of range: refused on the page
    await page.wait_for_selector('#demo-status.error[data-code="INVALID_FAULT_RATE"]')
    assert (await faults(engine))["expiredBlockhashRate"] == 0.0

    await page.click("#reset-faults")  # every kind off
    await page.wait_for_selector('.fault-kind[data-kind="slippageMoveRate"][data-rate="0"]')
    assert await faults(engine) == NO_FAULTS
    assert await page.locator("#reset-faults").is_disabled()


@in_module_loop
async def test_a_row_opens_the_orders_story(page: Any, engine: EngineProcess) -> None:
    order_id = await submit(page)
    await page.wait_for_selector(
        f'{row(order_id)}[data-status="confirmed"]', timeout=CONFIRM_TIMEOUT_MS
    )
    await page.click(f"{row(order_id)} td.pair")
    story = page.locator(f'#story[data-loaded="{order_id}"]')
    await story.wait_for()
    view = await order_view(engine, order_id)
    assert await page.locator("#story-id").inner_text() == order_id
    assert await page.locator(f"{row(order_id)}.open").count() == 1

    # The timeline: every stage in order, each with how long it took, and the total.
    stages = page.locator("#story-timeline li")
    assert [await li.get_attribute("data-type") for li in await stages.all()] == STAGES
    took = await page.locator("#story-timeline li .took").all()
    assert len(took) == len(STAGES) - 1  # the last stage is the end
    assert all(int(ms or -1) >= 0 for ms in [await t.get_attribute("data-ms") for t in took])
    assert (await page.locator("#story-timeline .total").inner_text()).startswith("Start to end: ")

    # Both venues' quotes side by side, the decision and its margin.
    routing = view["routing"]
    chosen = page.locator("#story-quotes tr.chosen")
    assert await chosen.get_attribute("data-venue") == routing["chosenDex"]
    assert await chosen.locator(".decision").inner_text() == "★ chosen"
    assert await page.locator("#story-quotes tbody tr").count() == len(view["quotes"]) == 2
    margin = page.locator("#story-quotes .margin")
    assert float(await margin.get_attribute("data-margin-bps") or "nan") == routing["marginBps"]

    # The attempt, its fee and its signature; the result.
    (attempt,) = view["attempts"]
    shown = page.locator('#story-attempts tr[data-attempt="1"]')
    assert await shown.get_attribute("data-outcome") == "confirmed"
    assert await shown.locator(".signature").inner_text() == attempt["txHash"] == view["txHash"]
    assert await shown.locator(".fee").inner_text() == f"{attempt['feeLamports']} lamports"
    result = page.locator('#story-result[data-status="confirmed"]')
    assert view["txHash"] in await result.inner_text()

    await page.keyboard.press("Escape")
    await page.wait_for_selector("#story", state="hidden")
    assert await page.locator(f"{row(order_id)}.open").count() == 0


@in_module_loop
async def test_a_failed_order_shows_its_reason_and_its_story(
    page: Any, engine: EngineProcess
) -> None:
    # Every swap meets a trade ahead of it that moves the pool 100 bps: past 10 bps of
    # slippage, the swap fails on chain (and pays its fee).
    await set_kind(page, "slippageMoveRate", "100")
    await page.wait_for_selector('.fault-kind[data-kind="slippageMoveRate"][data-rate="1"]')
    try:
        order_id = await submit(page, slippage_bps="10")
        await page.wait_for_selector(
            f'{row(order_id)}[data-status="failed"]', timeout=CONFIRM_TIMEOUT_MS
        )
    finally:
        await page.click("#reset-faults")
        await page.wait_for_selector('.fault-kind[data-kind="slippageMoveRate"][data-rate="0"]')
    view = await order_view(engine, order_id)
    note = await page.locator(f"{row(order_id)} td.note").inner_text()
    assert note == f"{view['error']}: {view['reason']}"

    await page.click(f"{row(order_id)} td.id")
    await page.locator(f'#story[data-loaded="{order_id}"]').wait_for()
    failed = page.locator('#story-attempts tr[data-outcome="failed"]')
    assert await failed.locator(".error").inner_text() == f"{view['error']}: {view['reason']}"
    outcome = page.locator('#story-result[data-status="failed"]')
    assert await outcome.locator("dt").inner_text() == "Failed"
    assert await outcome.locator("dd").inner_text() == f"{view['error']}: {view['reason']}"
    last = page.locator("#story-timeline li").last
    assert await last.get_attribute("data-type") == "failed"
    await page.click("#story-close")
    await page.wait_for_selector("#story", state="hidden")


@in_module_loop
async def test_an_open_story_follows_its_order(page: Any, engine: EngineProcess) -> None:
    # A limit order far above the price waits; its story says what for, then shows its end
    # when it is cancelled elsewhere (here through the API).
    await page.select_option("#order-type", "limit")
    await page.select_option("#token-in", "SOL")
    await page.select_option("#token-out", "USDC")
    await page.fill("#amount", "1")
    await fill_limit_price(page, "100000")
    await page.click("#submit")
    status = page.locator("#form-status")
    await status.locator("code").wait_for()
    order_id = await status.get_attribute("data-order-id")
    assert order_id, await status.inner_text()
    await page.wait_for_selector(f'{row(order_id)}[data-status="watching"]', timeout=10_000)
    await page.click(f"{row(order_id)} td.type")
    await page.wait_for_selector(f'#story[data-loaded="{order_id}"][data-status="watching"]')
    trigger = await page.locator("#story-trigger").inner_text()
    assert "≥ 100,000 USDC/SOL" in trigger
    assert "not fired" in trigger
    assert (await page.locator("#story-timeline .total").inner_text()).startswith("So far: ")

    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        cancelled = await http.post(f"/api/orders/{order_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    await page.wait_for_selector(f'#story[data-loaded="{order_id}"][data-status="cancelled"]')
    assert await page.locator("#story-timeline li").last.get_attribute("data-type") == "cancelled"
    assert await page.locator("#story-result dt").inner_text() == "Cancelled"
    await page.click("#story-close")
    await page.select_option("#order-type", "market")


@in_module_loop
async def test_charts_are_drawn_and_follow_the_firehose(page: Any) -> None:
    for chart in ("#chart-throughput", "#chart-latency"):
        assert await page.locator(f"{chart} canvas").count() == 1
    before = int(await page.locator("#chart-throughput").get_attribute("data-finished") or 0)
    await page.click("#burst")
    await page.wait_for_selector("#demo-status.ok:text('20 of 20 orders accepted')")
    await page.wait_for_function(
        f"Number(document.getElementById('chart-throughput').dataset.finished) >= {before + 20}",
        timeout=CONFIRM_TIMEOUT_MS,
    )
    await page.wait_for_function(
        "Number(document.getElementById('chart-latency').dataset.samples) >= 20"
    )
    # One chart per pair traded (at most four kept), each venue's price and the winner.
    pairs = page.locator("#price-charts .price-chart")
    assert 1 <= await pairs.count() <= 4
    assert await page.locator("#price-tabs .tab").count() == await pairs.count()
    shown = page.locator("#price-charts .price-chart:not([hidden])")
    assert await shown.count() == 1
    assert int(await shown.get_attribute("data-points") or 0) >= 1
    assert await shown.locator("canvas").count() == 1

    # An armed limit order far above the price: its pair's chart draws its threshold.
    await page.select_option("#order-type", "limit")
    await page.select_option("#token-in", "SOL")
    await page.select_option("#token-out", "USDC")
    await page.fill("#amount", "1.5")
    await fill_limit_price(page, "100000")
    await page.click("#submit")
    status = page.locator("#form-status")
    await status.locator("code").wait_for()
    limit_id = await status.get_attribute("data-order-id")
    assert limit_id, await status.inner_text()
    await page.wait_for_selector(f'{row(limit_id)}[data-status="watching"]', timeout=10_000)
    await page.click('#price-tabs .tab[data-pair="SOL/USDC"]', timeout=10_000)
    sol_usdc = page.locator('#price-charts .price-chart[data-pair="SOL/USDC"]')
    await page.wait_for_selector(
        '#price-charts .price-chart[data-pair="SOL/USDC"][data-thresholds="1"]', timeout=10_000
    )
    assert await sol_usdc.is_visible()
    await page.click(f"{row(limit_id)} button.cancel")
    await page.wait_for_selector(f'{row(limit_id)}[data-status="cancelled"]')
    await page.wait_for_selector(
        '#price-charts .price-chart[data-pair="SOL/USDC"][data-thresholds="0"]', timeout=5_000
    )
    await page.select_option("#order-type", "market")


@in_module_loop
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1920, 1080)])
async def test_the_page_fits_and_shows_the_reason_column(
    browser: Any, engine: EngineProcess, width: int, height: int
) -> None:
    url = f"{engine.base_url}/"
    async with dashboard_page(browser, url, (width, height)) as page:
        await page.wait_for_selector("#conn.conn-live", timeout=10_000)
        await page.wait_for_selector('#order-rows tr[data-status="failed"]')  # the snapshot
        # The price charts open with the snapshot's routed orders.
        await page.wait_for_selector("#price-charts .price-chart:not([hidden]) canvas")
        sizes = await page.evaluate(
            "({scroll: document.scrollingElement.scrollWidth, inner: innerWidth,"
            " table: document.querySelector('.table-card').scrollWidth"
            " - document.querySelector('.table-card').clientWidth})"
        )
        assert sizes["scroll"] <= sizes["inner"], f"the page scrolls sideways at {width} px"
        assert sizes["table"] <= 0, f"the orders table scrolls sideways at {width} px"
        header = await page.locator("#orders th:last-child").bounding_box()
        reason = page.locator('#order-rows tr[data-status="failed"] td.note').first
        box = await reason.bounding_box()
        assert header
        assert box
        assert header["x"] + header["width"] <= width
        assert box["x"] + box["width"] <= width
        assert box["width"] >= 90, "the reason column is too narrow to read"
        assert await reason.is_visible()
        assert (await reason.inner_text()).strip()
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"dashboard-{width}x{height}.png"
        await page.screenshot(path=str(shot))
        print(f"screenshot: {shot}")


@in_module_loop
async def test_the_page_runs_under_its_content_security_policy(
    browser: Any, engine: EngineProcess
) -> None:
    async with dashboard_page(browser, "about:blank", enforce_csp=True) as page:
        refused: list[str] = []
        page.on(
            "console",
            lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        await page.goto(f"{engine.base_url}/")
        await page.wait_for_selector("#conn.conn-live", timeout=10_000)
        await page.wait_for_selector("#chart-throughput canvas")
        await page.locator("#order-rows tr").first.click()
        await page.wait_for_selector("#story[data-loaded]")
        assert refused == []
