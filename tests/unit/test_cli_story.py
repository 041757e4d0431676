"""`oee order ID` and `oee quote`: what they ask the engine and what they print.

The engine's answers are real ones: the OpenAPI examples (a confirmed order, both venues
quoting) and answers recorded from `oee serve` with simulated RPC faults (an order retried once,
a limit order still watching, a quote with one venue down) in tests/fixtures/cli.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from oee.api.order_examples import EXAMPLE_ORDER, EXAMPLE_TIMELINE
from oee.cli.__main__ import app
from oee.cli.client import CliError, EngineClient
from oee.cli.story import duration, order_story

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cli"


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def render(view: dict[str, Any], timeline: dict[str, Any], width: int = 80) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(order_story(view, timeline, width))
    return console.export_text()


def test_durations_read_as_people_say_them() -> None:
    assert [duration(s) for s in (0.0042, 0.84, 2.314, 245, 11_520)] == [
        "4 ms",
        "840 ms",
        "2.31 s",
        "4m 05s",
        "3h 12m",
    ]


def test_a_confirmed_order_s_story_fits_80_columns() -> None:
    text = render(EXAMPLE_ORDER, EXAMPLE_TIMELINE)
    lines = text.splitlines()
    sig = str(EXAMPLE_ORDER["txHash"])
    # Every line fits, but the full signature, which is longer than the screen and folds.
    assert all(len(line.rstrip()) <= 80 for line in lines)
    flat = " ".join(text.split())
    assert "order 0b6a3a52-3c1e-4c55-9d0e-6f1f3f1d2a10 confirmed" in flat
    # The timeline: every event, its offset from creation and how long until the next.
    assert re.search(r"1 pending 0 ms 4 ms accepted", flat)
    assert re.search(r"3 building 210 ms 50 ms meteora by 53.55 bps \(raydium 224.1, meteora", flat)
    assert re.search(r"5 confirmed 2.70 s 225.27 out at 150.18", flat)
    assert "total 2.70 s" in flat
    # Both venues side by side, the winner starred, the margin in bps and in tokens.
    assert re.search(r"raydium meteora ★ .* amountOut \(USDC\) 224.1 225.3", flat)
    assert "routing: meteora wins by 53.55 bps (+1.2 USDC over raydium)" in flat
    assert "1 confirmed · meteora · fee 7,000 lamports" in flat
    assert f"tx {sig[:8]}…{sig[-8:]}" in flat  # cut to fit 80 columns
    assert "result: confirmed on meteora · 225.27 USDC at 150.18" in flat
    assert "fee 5,000 lamports" in flat
    assert sig in text.replace("\n", "")  # the whole signature, folded at the edge
    assert f"tx {sig}" in " ".join(render(EXAMPLE_ORDER, EXAMPLE_TIMELINE, 120).split())


def test_a_retried_order_shows_each_attempt_with_its_error_and_fee() -> None:
    answer = recorded("order_retried.json")
    flat = " ".join(render(answer["order"], answer["timeline"]).split())
    assert re.search(r"4 pending #2 8 ms 204 ms retry after RPC_UNAVAILABLE, in 200 ms", flat)
    assert "8 confirmed #2 2.32 s" in flat
    assert "quotes (attempt 2)" in flat
    assert "meteora wins by 0 bps (the only quote)" in flat
    assert (
        "1 retried · meteora · no fee (no transaction landed) RPC_UNAVAILABLE — "
        "getMultipleAccounts: RPC node answered HTTP 429 2 confirmed · meteora · fee 6,672 "
        "lamports tx 4ypzc4Md…9JuvS9JR"
    ) in flat


def test_a_watching_limit_order_says_what_it_waits_for_and_that_it_is_not_done() -> None:
    answer = recorded("order_watching.json")
    flat = " ".join(render(answer["order"], answer["timeline"]).split())
    assert "1 SOL → USDC · limit · slippage 50 bps" in flat
    assert "waits for a price of at least 1000 USDC per SOL" in flat
    assert "2 watching 1 ms armed: waits for its trigger so far 1 ms" in flat
    assert "1 in progress (watching)" in flat
    assert "result: not yet, the order is watching" in flat
    assert "quotes" not in flat


def test_a_fired_limit_order_says_what_fired_it() -> None:
    view = {
        **EXAMPLE_ORDER,
        "type": "limit",
        "trigger": {"kind": "price", "limitPrice": "150", "expiresAt": "2025-01-01T18:00:00Z"},
        "triggeredBy": {
            "at": "2025-01-01T12:00:00.004+00:00",
            "price": "150.2",
            "venue": "meteora",
        },
    }
    events = [dict(e) for e in EXAMPLE_TIMELINE["events"]]  # type: ignore[union-attr]
    events[1]["triggeredBy"] = view["triggeredBy"]
    flat = " ".join(render(view, {**EXAMPLE_TIMELINE, "events": events}).split())
    assert "waits for a price of at least 150 USDC per SOL" in flat
    assert "triggered at 12:00:00.004 by a price of 150.2 on meteora" in flat
    assert "fired by price 150.2 on meteora" in flat


# --- the commands, against stubs of the engine's answers ----------------------------------------


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = []

    async def timeline(self: EngineClient, order_id: str) -> dict[str, Any]:
        calls.append(("timeline", order_id))
        if order_id != EXAMPLE_ORDER["orderId"]:
            raise CliError("ORDER_NOT_FOUND", f"no order with id {order_id} (HTTP 404)")
        return EXAMPLE_TIMELINE

    async def order(self: EngineClient, order_id: str) -> dict[str, Any]:
        calls.append(("order", order_id))
        return EXAMPLE_ORDER

    async def quotes(
        self: EngineClient, token_in: str, token_out: str, amount: str, slippage: int | None
    ) -> dict[str, Any]:
        calls.append(("quotes", (token_in, token_out, amount, slippage)))
        answer: dict[str, Any] = recorded("quotes.json")
        return answer

    monkeypatch.setattr(EngineClient, "timeline", timeline)
    monkeypatch.setattr(EngineClient, "order", order)
    monkeypatch.setattr(EngineClient, "quotes", quotes)
    return calls


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})


def test_order_prints_the_story_or_the_raw_answers(engine: list[tuple[str, Any]]) -> None:
    oid = str(EXAMPLE_ORDER["orderId"])
    result = invoke("order", oid)
    assert result.exit_code == 0, result.output
    assert "routing: meteora wins by 53.55 bps" in result.output
    assert engine == [("timeline", oid), ("order", oid)]
    raw = invoke("order", oid, "--json")
    assert raw.exit_code == 0
    assert json.loads(raw.output) == {"order": EXAMPLE_ORDER, "timeline": EXAMPLE_TIMELINE}
    missing = invoke("order", "0b6a3a52-3c1e-4c55-9d0e-6f1f3f1d2a11")
    assert missing.exit_code == 1
    assert "error: ORDER_NOT_FOUND: no order with id" in missing.output


def test_quote_shows_every_venue_and_the_one_that_failed(engine: list[tuple[str, Any]]) -> None:
    result = invoke("quote", "SOL", "USDC", "1.5", "--slippage-bps", "80")
    assert result.exit_code == 0, result.output
    assert engine == [("quotes", ("SOL", "USDC", "1.5", 80))]
    flat = " ".join(result.output.split())
    assert "1.5 SOL → USDC · slippage 50 bps" in flat
    assert re.search(r"raydium ★ meteora .* amountOut \(USDC\) [0-9.]+ RPC_UNAVAILABLE", flat)
    assert "routing: raydium wins by 0 bps (the only quote)" in flat
    assert "meteora: RPC_UNAVAILABLE — getMultipleAccounts: RPC node answered HTTP 429" in flat
    assert json.loads(invoke("quote", "SOL", "USDC", "1.5", "--json").output)["errors"]
