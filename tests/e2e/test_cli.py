"""The `oee` client commands as a user runs them: real subprocesses against a real engine.

The engine is `oee serve` in its own process (embedded, no simulated latency). The CLI's output
is a pipe, not a terminal, so its live views print their final picture once, plain; the tests
read that text and the exit codes. A second engine whose venues always fail shows a failing
order (its retries, exit code 1) and an order that is still being worked.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from typer.testing import CliRunner

from oee.cli.__main__ import app
from oee.devtools.engine_process import EngineProcess, free_port
from tests.support.cli import ENV, OEE, oee

pytestmark = pytest.mark.timeout(120)
in_module_loop = pytest.mark.asyncio(loop_scope="module")  # the engines live for the module

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1, "slippageBps": 100}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def engine() -> AsyncIterator[EngineProcess]:
    async with EngineProcess("embedded", env={"OEE_SIM_LATENCY_SCALE": "0"}) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def failing_engine() -> AsyncIterator[EngineProcess]:
    """Every quote fails: an order is retried once after 3 s, then fails."""
    env = {
        "OEE_SIM_LATENCY_SCALE": "0",
        "OEE_SIM_FAULT_RATE": "1",
        "OEE_MAX_ATTEMPTS": "2",
        "OEE_RETRY_BASE_DELAY_S": "3",
    }
    async with EngineProcess("embedded", env=env) as running:
        yield running


async def settled(base_url: str) -> None:
    """Wait until the engine has no order in flight."""
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http, asyncio.timeout(30):
        while (await http.get("/api/orders/active")).json()["activeCount"]:
            await asyncio.sleep(0.05)


@in_module_loop
async def test_submit_watch_follows_the_order_to_its_result(engine: EngineProcess) -> None:
    run = await oee(
        "submit", "SOL", "USDC", "1.5", "--slippage-bps", "50", "--watch", "--url", engine.base_url
    )
    assert run.code == 0, run
    assert run.err == ""
    order_id = run.out.splitlines()[0]
    assert UUID.match(order_id)
    async with httpx.AsyncClient(trust_env=False) as http:
        view = (await http.get(f"{engine.base_url}/api/orders/{order_id}")).json()
    for stage in ("pending", "routing", "building", "submitted", "confirmed"):
        assert re.search(rf"✓\s+{stage}\s+\d\d:\d\d:\d\d\.\d{{3}}\s+\+[\d,]+ ms", run.out), stage
    assert re.search(r"raydium\s.*meteora", run.out)  # the quotes side by side
    assert f"routing: {view['chosenDex']} wins by" in run.out
    assert f"txHash        {view['txHash']}" in run.out
    assert "executedPrice " in run.out
    assert "amountOut " in run.out
    assert "1.5 SOL → USDC · slippage 50 bps · attempt 1" in run.out


@in_module_loop
async def test_submit_prints_only_the_order_id(engine: EngineProcess) -> None:
    run = await oee("submit", "sol", "usdc", "0.25", "--url", engine.base_url)
    assert (run.code, run.err) == (0, "")
    assert UUID.match(run.out.strip())


@in_module_loop
async def test_cancel_answers_with_the_engine_s_refusal(engine: EngineProcess) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = await oee("cancel", unknown, "--url", engine.base_url)
    assert missing.code == 1
    assert f"error: ORDER_NOT_FOUND: no order with id {unknown} (HTTP 404)" in missing.err
    done = await oee("submit", "SOL", "USDC", "0.1", "--watch", "--url", engine.base_url)
    assert done.code == 0, done
    late = await oee("cancel", done.out.splitlines()[0], "--url", engine.base_url)
    assert late.code == 1
    assert "error: ORDER_NOT_CANCELLABLE:" in late.err
    assert "is confirmed" in late.err


@in_module_loop
async def test_orders_lists_recent_and_active_orders(engine: EngineProcess) -> None:
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        ids = [
            (await http.post("/api/orders/execute", json=ORDER)).json()["orderId"] for _ in range(2)
        ]
    await settled(engine.base_url)
    recent = await oee("orders", "--recent", "5", "--url", engine.base_url)
    assert recent.code == 0, recent
    assert "most recent orders, newest first" in recent.out
    rows = [line.split() for line in recent.out.splitlines() if UUID.match(line.strip()[:36])]
    assert 2 <= len(rows) <= 5
    assert rows[0][:3] == [ids[1], "confirmed", "SOL→USDC"]
    assert rows[1][0] == ids[0]
    active = await oee("orders", "--active", "--url", engine.base_url)
    assert (active.code, active.out.strip()) == (0, "no active orders")
    both = await oee("orders", "--active", "--recent", "3", "--url", engine.base_url)
    assert both.code == 2
    assert "not both" in both.err


@in_module_loop
async def test_order_quote_and_orders_since_against_a_real_engine(engine: EngineProcess) -> None:
    url = engine.base_url
    done = await oee("submit", "SOL", "USDC", "0.5", "--watch", "--url", url)
    assert done.code == 0, done
    order_id = done.out.splitlines()[0]
    story = await oee("order", order_id, "--url", url, COLUMNS="80")
    assert (story.code, story.err) == (0, "")
    flat = " ".join(story.out.split())
    for stage in ("pending", "routing", "building", "submitted", "confirmed"):
        assert re.search(rf"\d {stage} [\d,.]+ m?s", flat), stage
    assert re.search(r"raydium( ★)? meteora( ★)?", flat)  # both venues side by side
    assert re.search(r"routing: (raydium|meteora) wins by [\d.]+ bps \(\+[\d.]+ USDC over", flat)
    assert re.search(r"1 confirmed · (raydium|meteora) · fee [\d,]+ lamports", flat)
    assert "result: confirmed on" in flat
    raw = await oee("order", order_id, "--json", "--url", url)
    assert [e["type"] for e in json.loads(raw.out)["timeline"]["events"]][-1] == "confirmed"
    quote = await oee("quote", "SOL", "USDC", "1.5", "--url", url)
    assert quote.code == 0, quote
    assert re.search(r"routing: (raydium|meteora) wins by", quote.out)
    recent = await oee("orders", "--since", "2m", "--status", "confirmed", "--url", url)
    assert recent.code == 0, recent
    assert order_id in recent.out
    assert "confirmed orders since 2m, newest first" in recent.out
    bad = await oee("orders", "--since", "soon", "--url", url)
    assert bad.code == 1
    assert bad.err.startswith("error: INVALID_SINCE_TIME: since must be")


@in_module_loop
async def test_watch_shows_orders_flowing_until_stopped(engine: EngineProcess) -> None:
    await settled(engine.base_url)
    proc = await asyncio.create_subprocess_exec(
        OEE, "watch", "--url", engine.base_url, env=ENV, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        note = await asyncio.wait_for(proc.stderr.readline(), 20)
        assert note.decode().startswith(f"watching {engine.base_url}")
        async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
            ids = [
                (await http.post("/api/orders/execute", json=ORDER)).json()["orderId"]
                for _ in range(3)
            ]
        await settled(engine.base_url)
        await asyncio.sleep(0.5)  # the last events on their way to the watcher
        proc.send_signal(signal.SIGTERM)  # as `timeout` stops it
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = out.decode()
    assert proc.returncode == 0, (text, err)
    assert re.search(
        r"active 0\s+throughput \d+\.\d orders/s \(last 10 s\)\s+confirmed 3\s+failed 0", text
    )
    assert float(re.findall(r"throughput (\d+\.\d)", text)[0]) > 0
    for order_id in ids:
        assert re.search(
            rf"{order_id[:8]}\s+confirmed\s+SOL→USDC\s+market\s+1\s+\w+\s+[\d.]+", text
        )


@in_module_loop
async def test_watch_stops_by_itself_after_duration(engine: EngineProcess) -> None:
    run = await oee("watch", "--duration", "1", "--url", engine.base_url, timeout=20)
    assert run.code == 0, run
    assert "throughput" in run.out
    assert "status" in run.out


@in_module_loop
async def test_a_failing_order_shows_its_retries_and_exits_1(failing_engine: EngineProcess) -> None:
    url = failing_engine.base_url
    order_id = (await oee("submit", "SOL", "USDC", "1", "--url", url)).out.strip()
    active = await oee("orders", "--active", "--url", url)
    assert active.code == 0
    assert "1 active orders" in active.out
    # Its first attempt failed at once; it waits for its second (shown as "#2").
    assert re.search(rf"{order_id}\s+(pending|routing)( #2)?\s+SOL→USDC", active.out)
    run = await oee("submit", "SOL", "USDC", "1", "--watch", "--url", url)
    assert run.code == 1, run
    flat = " ".join(run.out.split())  # long venue reasons wrap
    assert re.search(r"attempt 1: QUOTES_UNAVAILABLE — .+, retried after 3000 ms", flat)
    assert re.search(r"failed: QUOTES_UNAVAILABLE — .+ \(gave up after 2 attempts\)", flat)
    assert "slippage 50 bps · attempt 2" in flat
    assert run.err == ""


@in_module_loop
@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("SOL", "SOL", "1"), "SAME_TOKEN"),
        (("SOL", "USDC", "1", "--slippage-bps", "0"), "SLIPPAGE_OUT_OF_RANGE"),
        (("SOL", "USDC", "abc"), "AMOUNT_NOT_NUMBER"),
    ],
)
async def test_a_refused_order_is_one_clear_line(
    engine: EngineProcess, args: tuple[str, ...], code: str
) -> None:
    run = await oee("submit", *args, "--url", engine.base_url)
    assert run.code == 1
    assert run.out == ""
    assert len(run.err.splitlines()) == 1
    assert run.err.startswith(f"error: {code}: ")
    assert "(HTTP 422)" in run.err


@in_module_loop
async def test_sim_move_pushes_the_engines_prices_and_prints_them(engine: EngineProcess) -> None:
    run = await oee("sim", "move", "SOL/USDC", "-2%", "--url", engine.base_url)
    assert (run.code, run.err) == (0, ""), run
    lines = [line.split() for line in run.out.splitlines() if line.strip()]
    assert lines[0] == ["SOL/USDC", "-2%", "(SOL", "moved)"]
    rows = {line[0]: line[1:] for line in lines[3:]}  # under the title, header and rule
    assert set(rows) == {"reference", "raydium", "meteora"}
    assert rows["reference"][2] == "-2.00%"
    for venue in ("raydium", "meteora"):
        assert -2.3 < float(rows[venue][2].rstrip("%")) < -1.7, rows[venue]
    async with httpx.AsyncClient(base_url=engine.base_url, trust_env=False) as http:
        quote = await http.get(
            "/api/quotes", params={"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1"}
        )
    assert quote.status_code == 200, quote.text
    # The engine quotes the new price (less the venues' fees), not the old one.
    before = min(float(rows[venue][0]) for venue in ("raydium", "meteora"))
    after = min(float(rows[venue][1]) for venue in ("raydium", "meteora"))
    for venue_quote in quote.json()["quotes"]:
        assert 0.97 * after < float(venue_quote["price"]) < 0.99 * before, venue_quote

    refused = await oee("sim", "move", "USDC/USDT", "+1%", "--url", engine.base_url)
    assert refused.code == 1
    assert refused.err.startswith("error: PEGGED_PAIR: USDC and USDT are both pegged")
    assert "(HTTP 422)" in refused.err


@pytest.mark.parametrize(
    "args",
    [
        ("submit", "SOL", "USDC", "1", "--watch"),
        ("orders", "--active"),
        ("watch",),  # WebSocket, not HTTP
        ("loadtest",),
        ("sim", "move", "SOL/USDC", "-2%"),
    ],
)
async def test_an_engine_that_is_not_running_is_one_clear_line(args: tuple[str, ...]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    run = await oee(*args, OEE_URL=url)  # the URL from the environment, as users set it
    assert run.code == 1
    assert run.err.splitlines() == [
        f"error: UNREACHABLE: the engine isn't reachable at {url}; start one with `oee serve` "
        "(or point --url / OEE_URL at a running engine)"
    ]


async def test_a_url_that_is_not_http_is_one_clear_line() -> None:
    run = await oee("orders", "--url", "localhost:3000")
    assert (run.code, run.err.strip()) == (
        1,
        "error: BAD_URL: the URL must look like http://host:port, got 'localhost:3000'",
    )


@pytest.mark.parametrize(
    ("command", "mentions"),
    [
        ("serve", ["PORT", "OEE_HOST", "DATABASE_URL", "REDIS_URL", "OEE_DATA_DIR"]),
        ("api", ["PORT", "OEE_HOST", "DATABASE_URL", "REDIS_URL"]),
        ("worker", ["OEE_WORKER_CONCURRENCY", "OEE_WORKER_GRACE_S", "DATABASE_URL", "REDIS_URL"]),
        ("migrate", ["DATABASE_URL", "OEE_DATA_DIR"]),
        ("submit", ["--slippage-bps", "--watch", "--timeout", "OEE_URL"]),
        ("orders", ["--active", "--recent", "--since", "OEE_URL"]),
        ("order", ["--json", "OEE_URL"]),
        ("quote", ["--slippage-bps", "--json", "OEE_URL"]),
        ("watch", ["--recent", "--rows", "--duration", "OEE_URL"]),
        ("loadtest", ["--slippage-bps", "--timeout", "--no-progress", "--concurrency", "OEE_URL"]),
    ],
)
def test_help_explains_every_option_and_its_env_var(command: str, mentions: list[str]) -> None:
    # In-process: help text needs no engine, and eight subprocesses would only add start-ups.
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for word in mentions:
        assert word in result.output, word


async def test_client_commands_do_not_import_the_engine() -> None:
    heavy = ("oee.bootstrap", "oee.settings", "sqlalchemy", "bullmq", "fastapi", "uvicorn")
    code = f"import sys, oee.cli.__main__; print([m for m in {heavy!r} if m in sys.modules])"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert out.decode().strip() == "[]"
