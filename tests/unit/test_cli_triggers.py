"""Limit and sniper orders from the command line: `oee submit`'s new flags, `oee cancel`,
`oee orders --status --type`, and the live view of an order that waits for its trigger.

The engine is replaced by stubs of `EngineClient`'s calls (and of the order's stream), so these
tests read what the commands send and what they print, without a server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from oee.cli import live
from oee.cli.__main__ import app
from oee.cli.client import CliError, EngineClient
from oee.cli.state import OrderState
from oee.cli.views import order_panel, orders_table

ORDER_ID = "3f9d2c71-8a4b-4c2e-9b1d-7e6f5a4c3b21"
MINT = "8PTqJt1kC3yt8Sa6ukoVEX14QRX15QGjEmHJ79QyPGVy"
AT = datetime(2025, 1, 1, 12, tzinfo=UTC)
WIDE = {"COLUMNS": "200"}


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=WIDE)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every call the command makes, with what it sends; the engine answers like a real one."""
    calls: list[tuple[str, Any]] = []

    async def submit(
        self: EngineClient,
        token_in: str,
        token_out: str,
        amount: str,
        slippage_bps: int,
        terms: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        calls.append(("submit", (token_in, token_out, amount, slippage_bps, terms)))
        return {"orderId": ORDER_ID, "wsUrl": f"/ws/orders/{ORDER_ID}"}

    async def cancel(self: EngineClient, order_id: str) -> dict[str, Any]:
        calls.append(("cancel", order_id))
        if order_id == "done":
            message = f"order {order_id} is confirmed: only pending or watching orders can be "
            raise CliError("ORDER_NOT_CANCELLABLE", message + "cancelled (HTTP 409)")
        return {**_view("limit", "cancelled"), "orderId": order_id}

    async def recent(
        self: EngineClient,
        limit: int,
        *,
        status: str | None = None,
        order_type: str | None = None,
        since: str | None = None,
    ) -> list[dict[str, Any]]:
        calls.append(("recent", (limit, status, order_type) + ((since,) if since else ())))
        return [_view("limit", "watching")]

    monkeypatch.setattr(EngineClient, "submit", submit)
    monkeypatch.setattr(EngineClient, "cancel", cancel)
    monkeypatch.setattr(EngineClient, "recent", recent)
    return calls


def _view(order_type: str, status: str) -> dict[str, Any]:
    trigger = {
        "kind": "price",
        "expiresAt": (AT + timedelta(hours=1)).isoformat(),
        "limitPrice": "160",
    }
    return {
        "orderId": ORDER_ID,
        "type": order_type,
        "status": status,
        "tokenIn": {"symbol": "SOL", "mint": "So11111111111111111111111111111111111111112", "decimals": 9},
        "tokenOut": {"symbol": "USDC", "mint": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "decimals": 6},
        "amountIn": 2,
        "slippageBps": 50,
        "seq": 2,
        "attempt": 1,
        "createdAt": AT.isoformat(),
        "updatedAt": AT.isoformat(),
        "quotes": [],
        "routing": None,
        "result": None,
        "error": None,
        "reason": "cancelled by the client" if status == "cancelled" else None,
        "chosenDex": None,
        "trigger": trigger if order_type == "limit" else None,
        "triggeredBy": None,
        "maxPriceImpactBps": None,
    }  # fmt: skip


# --- oee submit --------------------------------------------------------------------------------


def test_a_market_order_sends_what_it_always_sent(sent: list[tuple[str, Any]]) -> None:
    result = invoke("submit", "SOL", "USDC", "1.5")
    assert (result.exit_code, result.output.strip()) == (0, ORDER_ID)
    assert sent == [("submit", ("SOL", "USDC", "1.5", 50, {}))]


def test_a_limit_order_sends_its_price_exactly_and_its_expiry(sent: list[tuple[str, Any]]) -> None:
    result = invoke(
        "submit", "SOL", "USDC", "2", "--type", "limit", "--limit-price", "160.50",
        "--ttl", "3600", "--max-impact-bps", "90",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    terms = {"type": "limit", "limitPrice": "160.50", "ttlSeconds": 3600, "maxPriceImpactBps": 90}
    assert sent == [("submit", ("SOL", "USDC", "2", 50, terms))]
    sent.clear()
    invoke("submit", "SOL", "USDC", "2", "--type", "limit", "--limit-price", "160",
           "--expires-at", "2026-12-04T18:00:00Z")  # fmt: skip
    assert sent[0][1][4] == {
        "type": "limit",
        "limitPrice": "160",
        "expiresAt": "2026-12-04T18:00:00Z",
    }


@pytest.mark.parametrize(
    "args",
    [
        ["SOL", "0.5", "--mint", MINT],  # --mint is the tokenOut and implies --type sniper
        ["SOL", MINT, "0.5", "--type", "sniper"],
        ["SOL", MINT, "0.5", "--mint", MINT, "--type", "SNIPER"],
    ],
)
def test_a_sniper_order_names_its_mint_either_way(
    sent: list[tuple[str, Any]], args: list[str]
) -> None:
    result = invoke("submit", *args, "--venues", "raydium, meteora", "--slippage-bps", "300")
    assert result.exit_code == 0, result.output
    ((_, (token_in, token_out, amount, slippage, terms)),) = sent
    assert (token_in, token_out, amount, slippage) == ("SOL", MINT, "0.5", 300)
    assert terms["type"].lower() == "sniper"
    assert terms["venues"] == ["raydium", "meteora"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["SOL", "USDC"], "Missing argument 'AMOUNT'"),
        (["SOL", "USDC", "1", "--mint", MINT], "not both"),
        (["SOL", "1", "--mint", MINT, "--type", "limit"], "cannot be --type limit"),
    ],
)
def test_arguments_that_do_not_fit_are_a_usage_error_before_any_call(
    sent: list[tuple[str, Any]], args: list[str], words: str
) -> None:
    result = invoke("submit", *args)
    assert result.exit_code == 2
    assert words in result.output
    assert sent == []


def test_the_engine_s_refusal_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(self: EngineClient, *args: Any) -> dict[str, Any]:
        raise CliError("LIMIT_PRICE_REQUIRED", "a limit order needs limitPrice (HTTP 422)")

    monkeypatch.setattr(EngineClient, "submit", refuse)
    result = invoke("submit", "SOL", "USDC", "1", "--type", "limit")
    assert result.exit_code == 1
    assert "error: LIMIT_PRICE_REQUIRED: a limit order needs limitPrice (HTTP 422)" in result.output


# --- oee cancel, oee orders ---------------------------------------------------------------------


def test_cancel_prints_the_order_s_new_status(sent: list[tuple[str, Any]]) -> None:
    result = invoke("cancel", ORDER_ID)
    assert (result.exit_code, result.output.strip()) == (0, f"{ORDER_ID} cancelled")
    assert sent == [("cancel", ORDER_ID)]


def test_cancel_of_a_finished_order_exits_1_with_the_engine_s_message(
    sent: list[tuple[str, Any]],
) -> None:
    result = invoke("cancel", "done")
    assert result.exit_code == 1
    assert "error: ORDER_NOT_CANCELLABLE: order done is confirmed" in result.output


def test_orders_passes_its_filters_to_recent(sent: list[tuple[str, Any]]) -> None:
    result = invoke("orders", "--status", "watching", "--type", "limit", "--recent", "5")
    assert result.exit_code == 0, result.output
    assert sent == [("recent", (5, "watching", "limit"))]
    assert "1 most recent watching limit orders, newest first" in result.output
    row = next(line.split() for line in result.output.splitlines() if ORDER_ID in line)
    assert row[:4] == [ORDER_ID, "watching", "SOL→USDC", "limit"]
    refused = invoke("orders", "--active", "--status", "watching")
    assert refused.exit_code == 2
    assert "filter the recent orders" in refused.output


# --- the live view ------------------------------------------------------------------------------


def render(state: OrderState) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(order_panel(state))
    return console.export_text()


def event(kind: str, seq: int, seconds: float, **details: Any) -> dict[str, Any]:
    at = (AT + timedelta(seconds=seconds)).isoformat()
    return {"type": kind, "orderId": ORDER_ID, "seq": seq, "at": at, "attempt": 1, **details}


LIMIT_TRIGGER = {"kind": "price", "expiresAt": "2025-01-01T13:00:00+00:00", "limitPrice": "160"}
PENDING = event(
    "pending", 1, 0, orderType="limit", tokenIn="SOL", tokenOut="USDC", amountIn=2,
    slippageBps=50, trigger=LIMIT_TRIGGER, maxPriceImpactBps=90,
)  # fmt: skip


def test_the_view_of_a_limit_order_says_what_it_waits_for_and_what_fired_it() -> None:
    state = OrderState(ORDER_ID)
    for frame in (
        PENDING,
        event("watching", 2, 0.01, trigger=LIMIT_TRIGGER),
        event("routing", 3, 90, triggeredBy={"at": "2025-01-01T12:01:30+00:00", "price": "160.7", "venue": "meteora"}),
        event("watching", 4, 90.2, error="LIMIT_NOT_MET", reason="the quote paid 159.9", price="159.9"),
    ):  # fmt: skip
        state.apply(frame)
    text = render(state)
    assert "2 SOL → USDC · limit order · slippage 50 bps" in text
    assert (
        "waits for a price of at least 160 USDC per SOL (the best quote for its size), until "
        "2025-01-01 13:00:00+00:00 · price impact at most 90 bps"
    ) in text
    assert "triggered at 12:01:30.000 by a price of 160.7 on meteora" in text
    assert (
        "price moved away before the swap (price 159.9): LIMIT_NOT_MET — the quote paid 159.9"
        in text
    )
    lines = {line.split()[1]: line for line in text.splitlines() if line.strip()[:1] in "✓·✗"}
    assert lines["watching"].split()[0] == "✓"
    assert "+1m 30s" in lines["watching"]  # waited again, at 90.2 s
    assert lines["routing"].split()[0] == "·"  # the stages after watching start over

    state.apply(event("cancelled", 5, 100, reason="cancelled by the client"))
    text = render(state)
    assert "✗  cancelled" in text
    assert "cancelled — cancelled by the client" in text


def test_the_view_of_a_sniper_order_shows_the_launch_and_an_expiry() -> None:
    trigger = {"kind": "launch", "expiresAt": "2025-01-02T12:00:00+00:00", "venues": ["raydium"]}
    state = OrderState(ORDER_ID)
    state.apply(event("pending", 1, 0, orderType="sniper", tokenIn="SOL", tokenOut=MINT, amountIn=0.5, slippageBps=300, trigger=trigger))  # fmt: skip
    state.apply(event("watching", 2, 0.01, trigger=trigger))
    text = render(state)
    assert f"waits for the first pool of {MINT} to open on raydium, until 2025-01-02" in text
    fired = {"at": "2025-01-01T12:03:10+00:00", "venue": "raydium", "pool": "NewPool", "signature": "5Launch", "slot": 7, "decimals": 6}  # fmt: skip
    state.apply(event("routing", 3, 190, triggeredBy=fired))
    assert "by a raydium pool launch: pool NewPool, slot 7, tx 5Launch" in render(state)

    expired = OrderState(ORDER_ID)
    for frame in (
        event("pending", 1, 0, orderType="sniper", tokenIn="SOL", tokenOut=MINT, trigger=trigger),
        event("watching", 2, 0.01, trigger=trigger),
        event("expired", 3, 86_400, reason="the trigger did not fire before 2025-01-02T12:00:00+00:00"),
    ):  # fmt: skip
        expired.apply(frame)
    text = render(expired)
    assert "✗  expired" in text
    assert "+24h 0m 0s" in text
    assert "expired — the trigger did not fire before" in text
    table = Console(record=True, width=200, color_system=None)
    table.print(orders_table([expired], AT + timedelta(days=1)))
    row = next(line.split() for line in table.export_text().splitlines() if ORDER_ID in line)
    assert row[1:4] == ["expired", "SOL→8PTq…PGVy", "sniper"]


def test_submit_watch_follows_a_limit_order_until_it_ends(
    sent: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = [
        PENDING,
        event("watching", 2, 0.01, trigger=LIMIT_TRIGGER),
        event("cancelled", 3, 5, reason="cancelled by the client"),
    ]

    @asynccontextmanager
    async def stream(self: EngineClient, path: str) -> AsyncIterator[object]:
        assert path == f"/ws/orders/{ORDER_ID}?since=0"
        yield object()

    async def replay(ws: object) -> AsyncIterator[dict[str, Any]]:
        for frame in frames:
            yield frame

    async def order(self: EngineClient, order_id: str) -> dict[str, Any]:
        return {**_view("limit", "cancelled"), "seq": 3}

    monkeypatch.setattr(EngineClient, "stream", stream)
    monkeypatch.setattr(EngineClient, "order", order)
    monkeypatch.setattr(live, "frames", replay)
    result = invoke(
        "submit", "SOL", "USDC", "2", "--type", "limit", "--limit-price", "160", "--watch"
    )
    assert result.exit_code == 1  # it did not execute
    assert result.output.splitlines()[0] == ORDER_ID
    assert "waits for a price of at least 160 USDC per SOL" in result.output
    assert "cancelled — cancelled by the client" in result.output
