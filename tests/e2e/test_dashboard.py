"""The dashboard at `/` in a real headless browser against a real engine process.

Debian's Chromium (`/usr/bin/chromium`, installed by `scripts/test` when missing) is driven by
Playwright for Python; the engine is `oee serve` in its own process with simulated latencies
scaled to a fifth, so every stage is on screen for a moment. Without Chromium the tests are
skipped with a message; in CI (`CI=true`) they fail instead.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from oee.api.app import create_app
from oee.api.dashboard import ASSETS
from oee.bootstrap import build_engine
from oee.devtools.engine_process import EngineProcess
from oee.domain.tokens import resolve_token
from oee.settings import Settings, SimSettings
from oee.sim import build_sim
from oee.sim.app import create_sim_app
from tests.support.browser import CONFIRM_TIMEOUT_MS, dashboard_page, row

pytestmark = pytest.mark.timeout(180)
in_module_loop = pytest.mark.asyncio(loop_scope="module")  # engine and browser live per module

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SOL, USDC = resolve_token("SOL"), resolve_token("USDC")
NO_FAULTS = {
    "rate": 0.0,
    "slowConfirmRate": 0.0,
    "expiredBlockhashRate": 0.0,
    "slippageMoveRate": 0.0,
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def engine() -> AsyncIterator[EngineProcess]:
    async with EngineProcess("embedded", env={"OEE_SIM_LATENCY_SCALE": "0.2"}) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any, engine: EngineProcess) -> AsyncIterator[Any]:
    async with dashboard_page(browser, f"{engine.base_url}/") as opened:
        await opened.wait_for_selector("#conn.conn-live", timeout=10_000)  # the firehose is up
        yield opened


@in_module_loop
async def test_the_page_is_served_with_its_assets_and_kept_out_of_openapi(
    engine: EngineProcess,
) -> None:
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        html = await http.get("/")
        assets = {name: await http.get(f"/static/{name}") for name in ASSETS}
        refused = [
            await http.get(f"/static/{path}")
            for path in ("..%2Fapp.py", "js/../dashboard.py", "js/missing.js", "dashboard.js")
        ]
        paths = (await http.get("/openapi.json")).json()["paths"]
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in html.headers["content-security-policy"]
    for name, asset in assets.items():
        assert asset.status_code == 200, name
        assert asset.headers["content-type"] == ASSETS[name], name
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert "/ws/orders" in assets["js/firehose.js"].text
    assert [r.status_code for r in refused] == [404, 404, 404, 404]
    assert "/" not in paths
    assert not any(p.startswith("/static") for p in paths)
    # Nothing from the internet: the page works offline (uPlot's banner names its home in a
    # comment, and that is all).
    for name, asset in [("page", html), *assets.items()]:
        text = asset.text.replace("/*! https://github.com/leeoniya/uPlot (v1.6.32) */", "")
        if not name.endswith("LICENSE"):
            assert "http://" not in text, name
            assert "https://" not in text, name


def test_every_static_file_is_served_and_every_import_resolves() -> None:
    # The allow-list and the folder agree, and each module imports only served modules.
    static = Path(__file__).resolve().parents[2] / "src/oee/api/static"
    on_disk = {p.relative_to(static).as_posix() for p in static.rglob("*") if p.is_file()} - {
        "dashboard.html",
        "vendor/README.md",
    }
    assert on_disk == set(ASSETS)
    for module in static.glob("js/*.js"):
        for target in re.findall(r'from "\./([a-z]+\.js)"', module.read_text()):
            assert f"js/{target}" in ASSETS, f"{module.name} imports {target}"
        assert len(module.read_text().splitlines()) <= 250, f"{module.name} is past 250 lines"


@in_module_loop
async def test_an_order_from_the_form_goes_live_to_confirmed(page: Any) -> None:
    await page.select_option("#token-in", "SOL")
    await page.select_option("#token-out", "USDC")
    await page.fill("#amount", "1.5")
    await page.fill("#slippage", "100")
    await page.click("#submit")
    status = page.locator("#form-status")
    await status.locator("code").wait_for()
    order_id = await status.get_attribute("data-order-id")
    assert order_id, await status.inner_text()

    await page.wait_for_selector(
        f'{row(order_id)}[data-status="confirmed"]', timeout=CONFIRM_TIMEOUT_MS
    )
    cells = await page.locator(f"{row(order_id)} td").all_text_contents()
    (
        short_id,
        type_,
        pair,
        amount,
        stage,
        trigger,
        venue,
        raydium,
        meteora,
        price,
        attempts,
        note,
    ) = cells
    assert short_id == order_id[:8]
    assert type_ == "market"
    assert trigger == "—"  # a market order waits for nothing
    assert pair == "SOL → USDC"
    assert amount == "1.5 SOL"
    assert stage == "confirmed"
    assert venue in ("raydium", "meteora")
    assert raydium.endswith("USDC")  # both venues' quotes, side by side
    assert meteora.endswith("USDC")
    assert float(price.replace(",", "")) > 0
    assert attempts == "1"
    assert note == ""
    chosen = page.locator(f"{row(order_id)} td.q-{venue} .best")
    assert await chosen.count() == 1  # the winning quote is marked
    assert await page.locator("#active-count").inner_text() == "0"


def short_key(key: str) -> str:
    return f"{key[:4]}…{key[-4:]}"


@in_module_loop
async def test_launch_a_pool_from_the_page_and_see_it_in_the_list(
    page: Any, engine: EngineProcess
) -> None:
    await page.wait_for_selector("#launches-empty:text('No launches yet.')")
    suggested = await page.input_value("#launch-symbol")
    assert re.fullmatch(r"[A-Z]{3,6}[0-9]{2}", suggested), suggested  # a random suggestion

    await page.fill("#launch-symbol", "MOON7")
    await page.click("#launch")
    launched = page.locator('#launches li[data-symbol="MOON7"]')
    await launched.wait_for()
    status = page.locator("#launch-status.ok")
    mint = await status.get_attribute("data-mint")
    assert mint
    assert (await status.inner_text()) == f"Launched MOON7 at {short_key(mint)}."
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        on_the_simulator = (await http.get("/api/sim/pools")).json()
    assert [(launch["symbol"], launch["mint"]) for launch in on_the_simulator] == [("MOON7", mint)]
    assert await launched.get_attribute("data-mint") == mint
    assert await launched.locator(".sym").inner_text() == "MOON7"
    assert await launched.locator(".mint").inner_text() == short_key(mint)
    assert await launched.locator(".price").inner_text() == "$0.001"
    assert (await launched.locator(".venues").inner_text()).lower().startswith("raydium · meteora")
    assert await page.locator("#launch-count").inner_text() == "(1)"
    assert await page.locator("#launches-empty").is_hidden()
    assert await page.input_value("#launch-symbol") != "MOON7"  # the next suggestion

    # The simulator's refusals show with their code, as the order form's do.
    await page.fill("#launch-symbol", "moon7")
    await page.click("#launch")
    refused = page.locator('#launch-status.error[data-code="DUPLICATE_SYMBOL"]')
    await refused.wait_for()
    assert (await refused.inner_text()).startswith("DUPLICATE_SYMBOL: a token called moon7")
    await page.fill("#launch-symbol", "no way")
    await page.click("#launch")
    await page.wait_for_selector('#launch-status.error[data-code="INVALID_SYMBOL"]')
    assert await page.locator("#launches li").count() == 1

    # A fresh page reads the list from GET /api/sim/pools.
    await page.reload()
    await page.wait_for_selector('#launches li[data-symbol="MOON7"]')
    assert await page.locator("#launches li").count() == 1


@in_module_loop
async def test_the_wallet_panel_shows_the_address_and_balances(
    page: Any, engine: EngineProcess
) -> None:
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        wallet = (await http.get("/api/wallet")).json()
    address = page.locator("#wallet-address")
    await page.wait_for_selector(f'#wallet-address[data-address="{wallet["address"]}"]')
    assert await address.inner_text() == short_key(wallet["address"])
    assert wallet["address"] in (await address.get_attribute("title") or "")
    sol = float((await page.locator("#wallet-sol").inner_text()).replace(",", ""))
    assert sol > 0
    assert abs(sol - float(wallet["sol"])) < 1  # the same wallet, give or take a swap's fee
    # The earlier test's order bought USDC for the wallet: its balance is listed.
    usdc = page.locator('#wallet-tokens li[data-symbol="USDC"] .amount')
    await usdc.wait_for()
    assert float((await usdc.inner_text()).replace(",", "")) > 0

    # Copy on click.
    await page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=engine.base_url
    )
    await address.click()
    await page.wait_for_selector('#wallet-copied[data-copied="true"]:text("copied")')
    assert await page.evaluate("navigator.clipboard.readText()") == wallet["address"]

    # A finished order refreshes the balances.
    lamports = await page.locator("#wallet-sol").get_attribute("data-lamports")
    await page.select_option("#token-in", "SOL")
    await page.select_option("#token-out", "USDC")
    await page.fill("#amount", "2")
    await page.click("#submit")
    status = page.locator("#form-status")
    await status.locator("code").wait_for()
    order_id = await status.get_attribute("data-order-id")
    await page.wait_for_selector(
        f'{row(order_id)}[data-status="confirmed"]', timeout=CONFIRM_TIMEOUT_MS
    )
    await page.wait_for_function(
        f"document.getElementById('wallet-sol').dataset.lamports !== '{lamports}'",
        timeout=5_000,
    )


@in_module_loop
async def test_a_burst_of_twenty_orders_all_reach_confirmed(page: Any) -> None:
    before = await page.locator("#order-rows tr").count()
    await page.click("#burst")
    await page.wait_for_function(
        f"document.querySelectorAll('#order-rows tr').length >= {before + 20}", timeout=10_000
    )
    await page.wait_for_selector("#demo-status.ok:text('20 of 20 orders accepted')")
    await page.wait_for_function(
        "[...document.querySelectorAll('#order-rows tr')].slice(0, 20)"
        ".every(r => r.dataset.status === 'confirmed')",
        timeout=CONFIRM_TIMEOUT_MS,
    )
    throughput = float(await page.locator("#throughput").inner_text())
    assert throughput > 0
    await page.wait_for_function("document.getElementById('active-count').textContent === '0'")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)


@in_module_loop
async def test_an_invalid_submission_shows_the_servers_code(page: Any) -> None:
    await page.select_option("#token-in", "USDC")
    await page.select_option("#token-out", "USDC")
    await page.click("#submit")
    status = page.locator("#form-status.error")
    await status.wait_for()
    assert await status.get_attribute("data-code") == "SAME_TOKEN"
    assert (await status.inner_text()).startswith("SAME_TOKEN: tokenIn and tokenOut must differ")

    await page.select_option("#token-out", "SOL")
    await page.fill("#amount", "0.0000001")  # finer than USDC's 6 decimals
    await page.click("#submit")
    await page.wait_for_selector('#form-status[data-code="AMOUNT_TOO_PRECISE"]')


@in_module_loop
async def test_raise_fault_rate_makes_orders_retry_and_reset_turns_it_off(
    page: Any, engine: EngineProcess
) -> None:
    await page.wait_for_selector("#fault-rate:text('0 %')")  # read from the engine on load
    await page.click("#raise-faults")
    await page.wait_for_selector("#fault-rate:text('30 %')")
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        assert (await http.get("/api/sim/faults")).json() == {**NO_FAULTS, "rate": 0.3}
    assert await page.locator("#raise-faults").is_disabled()

    await page.click("#burst")  # at 30 % some of the 20 meet a fault and retry
    await page.wait_for_function(
        "Number(document.getElementById('retry-count').textContent) > 0", timeout=CONFIRM_TIMEOUT_MS
    )
    retried = page.locator("#order-rows tr:has(td.attempts .retries)").first
    assert (await retried.locator(".retries").inner_text()).startswith("↻ ")
    note = await retried.locator("td.note").inner_text()
    if await retried.get_attribute("data-status") != "failed":  # else: its error and reason
        assert note.startswith(("retrying after ", "retried after ", "recovered after ")), note
    assert note != ""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard-faults.png"), full_page=True)

    await page.click("#reset-faults")
    await page.wait_for_selector("#fault-rate:text('0 %')")
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        assert (await http.get("/api/sim/faults")).json() == NO_FAULTS


async def test_fault_rate_from_a_process_with_no_simulator_is_503(tmp_path: Path) -> None:
    # `oee api` without OEE_RPC_URL holds no simulator client: the button's endpoint says so.
    engine = await build_engine(Settings(data_dir=tmp_path, rpc_url=None), role="api")
    try:
        transport = httpx.ASGITransport(app=create_app(engine))
        async with httpx.AsyncClient(transport=transport, base_url="http://engine") as http:
            read = await http.get("/api/sim/faults")
            changed = await http.post("/api/sim/faults", json={"rate": 0.3})
            bad = await http.post("/api/sim/faults", json={"rate": "lots"})
    finally:
        await engine.stop()
    assert (read.status_code, read.json()["code"]) == (503, "SIMULATOR_UNAVAILABLE")
    assert (changed.status_code, changed.json()["code"]) == (503, "SIMULATOR_UNAVAILABLE")
    assert (bad.status_code, bad.json()["code"]) == (422, "INVALID_FAULT_RATE")


async def test_the_simulator_changes_its_fault_rate_while_running() -> None:
    settings = SimSettings(latency_scale=0, seed=3)  # seed 3: the first fault drawn is a 429
    sim_app = create_sim_app(*build_sim(settings), settings)
    transport = httpx.ASGITransport(app=sim_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as sim:
        assert (await sim.get("/admin/faults")).json() == {
            "rate": 0.0,
            "slowConfirmRate": 0.0,
            "expiredBlockhashRate": 0.0,
            "slippageMoveRate": 0.0,
        }
        assert (await sim.post("/admin/faults", json={"rate": 1})).json()["rate"] == 1.0
        quote = await sim.get(
            "/meteora/quote",
            params={"inputMint": SOL.mint, "outputMint": USDC.mint, "amount": "1000000000"},
        )
        assert quote.status_code == 429  # a rate limit (the other half of faults stall 30 s)
        refused = await sim.post("/admin/faults", json={"rate": 1.5})
        assert refused.status_code == 400
        unknown = await sim.post("/admin/faults", json={"typo": 0.1})
        assert (unknown.status_code, unknown.json()["error"]) == (400, "BAD_REQUEST")
        assert "unknown fault kind 'typo'" in unknown.json()["message"]
        kinds = {"slowConfirmRate": 0.2, "expiredBlockhashRate": 0.1, "slippageMoveRate": 0.3}
        changed = (await sim.post("/admin/faults", json=kinds)).json()
        assert changed == {"rate": 1.0, **kinds}  # the rate not named stays
        assert (await sim.post("/admin/faults", json={"rate": 0})).json()["rate"] == 0.0
        quote = await sim.get(
            "/meteora/quote",
            params={"inputMint": SOL.mint, "outputMint": USDC.mint, "amount": "1000000000"},
        )
        assert quote.status_code == 200
