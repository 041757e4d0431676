"""Request parsing, the order view and error classification, without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import redis.exceptions
from fastapi import FastAPI, HTTPException
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from uvicorn.protocols.utils import ClientDisconnected

from oee.api.deps import parse_limit, parse_order_id
from oee.api.errors import ApiError, install_error_handlers, unavailable_dependency
from oee.api.openapi import OrderView
from oee.api.order_examples import EXAMPLE_ORDER
from oee.api.requests import parse_execute
from oee.api.views import order_view
from oee.domain.orders import Fill, Order, SignedSwap, SubmitOrder
from oee.domain.routing import Quote, choose_best

AT = datetime(2025, 1, 1, 12, tzinfo=UTC)


def refusal(raw: bytes) -> tuple[int, str, list[str]]:
    with pytest.raises(ApiError) as caught:
        parse_execute(raw)
    err = caught.value
    return err.status, err.code, [e["field"] for e in err.errors or []]


def test_numbers_are_exact_and_defaults_apply() -> None:
    cmd = parse_execute(b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1.1}')
    assert (cmd.amount_in, cmd.slippage_bps) == (1_100_000_000, 50)
    cmd = parse_execute(
        b'{"tokenIn":"usdc","tokenOut":"SOL","amountIn":"123456789.123456","slippageBps":1}'
    )
    assert (cmd.token_in.symbol, cmd.amount_in, cmd.slippage_bps) == (
        "USDC",
        123_456_789_123_456,
        1,
    )
    assert parse_execute(b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":5E-9}').amount_in == 5
    # A float parse would give 12345678.12345679 (17 significant digits do not fit a double).
    exact = parse_execute(b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":12345678.123456789}')
    assert exact.amount_in == 12_345_678_123_456_789


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # As a float this is 0.1; exactly, it is finer than SOL's 9 decimals.
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":0.1000000000000000055511151231257827}', (422, "AMOUNT_TOO_PRECISE", ["amountIn"])),
        (b'{"tokenIn":"X","tokenOut":"USDC","amountIn":1}', (422, "UNKNOWN_TOKEN", ["tokenIn"])),
        (b'{"tokenIn":"SOL","tokenOut":"X","amountIn":1}', (422, "UNKNOWN_TOKEN", ["tokenOut"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1e-1000000}', (422, "AMOUNT_TOO_PRECISE", ["amountIn"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":Infinity}', (422, "AMOUNT_NOT_FINITE", ["amountIn"])),
        # A string amount is plain ASCII digits with an optional point: nothing else reads as one.
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"+Infinity"}', (422, "AMOUNT_NOT_NUMBER", ["amountIn"])),
        ('{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"\u0661\u0662"}'.encode(), (422, "AMOUNT_NOT_NUMBER", ["amountIn"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":" 1 "}', (422, "AMOUNT_NOT_NUMBER", ["amountIn"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"+1"}', (422, "AMOUNT_NOT_NUMBER", ["amountIn"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":".5"}', (422, "AMOUNT_NOT_NUMBER", ["amountIn"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1e3"}', (422, "AMOUNT_NOT_NUMBER", ["amountIn"])),
        # A field the engine does not read is refused, never ignored while the order executes.
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"kind":"limit"}', (422, "VALIDATION_ERROR", ["kind"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"slipageBps":10}', (422, "VALIDATION_ERROR", ["slipageBps"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"orderType":null}', (422, "VALIDATION_ERROR", ["orderType"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"slippageBps":null}', (422, "VALIDATION_ERROR", ["slippageBps"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"0x1F"}', (422, "AMOUNT_NOT_NUMBER", ["amountIn"])),
        (b'{"tokenIn":1,"tokenOut":"USDC","amountIn":"abc"}', (422, "VALIDATION_ERROR", ["tokenIn"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"slippageBps":-1e30}', (422, "SLIPPAGE_OUT_OF_RANGE", ["slippageBps"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"slippageBps":Infinity}', (422, "VALIDATION_ERROR", ["slippageBps"])),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"orderType":"stop"}', (422, "UNSUPPORTED_ORDER_TYPE", ["orderType"])),
        (b"\xef\xbb\xbf[]", (400, "BODY_NOT_OBJECT", [])),
        (b"{,}", (400, "MALFORMED_JSON", [])),
    ],
)  # fmt: skip
def test_refusals(raw: bytes, expected: tuple[int, str, list[str]]) -> None:
    assert refusal(raw) == expected


def test_ids_and_limits() -> None:
    canonical = "0b6a3a52-3c1e-4c55-9d0e-6f1f3f1d2a10"
    for spelling in [canonical, canonical.upper()]:
        assert parse_order_id(spelling) == canonical
    # Only the 8-4-4-4-12 form OpenAPI declares (format: uuid), in any case.
    for bad in ["active", canonical.replace("-", ""), f"{{{canonical}}}", f"urn:uuid:{canonical}"]:
        with pytest.raises(ApiError, match="not a UUID"):
            parse_order_id(bad)
    assert (parse_limit(None), parse_limit("1"), parse_limit("500")) == (20, 1, 500)
    for bad in ["0", "501", "1e2", "٣", "+3", "0x10", " 500 "]:
        with pytest.raises(ApiError) as caught:
            parse_limit(bad)
        assert caught.value.code == "INVALID_LIMIT"


def _confirmed_order() -> Order:
    order, _ = Order.accept(SubmitOrder.parse("SOL", "USDC", "1.5", 50), "id-1", AT)
    quotes = [
        Quote("raydium", order.amount_in, 224_100_000, 3_750_000, 25, Decimal("149.4"), Decimal("2.1"), "p1"),
        Quote("meteora", order.amount_in, 225_300_000, 3_000_000, 20, Decimal("150.2"), Decimal("1.4"), "p2"),
    ]  # fmt: skip
    order.start_routing(AT)
    order.route(choose_best(quotes, 50), AT)
    order.submit(SignedSwap("sig", 1150, "AAAA", "meteora", 224_173_500, 1000), AT)
    order.confirm(Fill("sig", 225_270_000, Decimal("150.18"), "meteora", 5000), AT)
    return order


def test_view_matches_its_documented_model_and_example() -> None:
    pending, _ = Order.accept(SubmitOrder.parse("SOL", "USDC", "2", 50), "id-0", AT)
    for order in (pending, _confirmed_order()):
        view = order_view(order)
        assert set(view) == set(OrderView.model_fields)
        OrderView.model_validate(view)
    view = order_view(_confirmed_order())
    assert set(EXAMPLE_ORDER) == set(view)
    OrderView.model_validate(EXAMPLE_ORDER)
    assert view["amountIn"] == 1.5
    assert view["amountInBaseUnits"] == "1500000000"
    assert view["routing"] == {
        "chosenDex": "meteora", "marginBps": 53.55, "minAmountOut": 224.1735, "minAmountOutBaseUnits": "224173500",
    }  # fmt: skip
    assert view["quotes"][0]["fee"] == 0.00375
    assert (view["txHash"], view["executedPrice"], view["chosenDex"]) == ("sig", 150.18, "meteora")


def _raised_in(module: str, exc: BaseException) -> BaseException:
    """`exc` as if raised by code of `module` (the dependency is named from the traceback)."""
    scope: dict[str, Any] = {"__name__": module, "exc": exc}
    try:
        exec("def f():\n    raise exc\nf()", scope)
    except BaseException as raised:
        return raised
    raise AssertionError("not raised")


def test_connection_failures_name_their_dependency() -> None:
    lost = DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    on_connect = DBAPIError(None, None, Exception("not accepting connections"))
    cases: list[tuple[BaseException, str | None]] = [
        (OperationalError("SELECT 1", {}, Exception("could not connect")), "order store"),
        (lost, "order store"),
        (on_connect, "order store"),
        (redis.exceptions.ConnectionError("refused"), "Redis"),
        (_raised_in("oee.adapters.bus.redis", ConnectionRefusedError()), "event bus"),
        (_raised_in("oee.adapters.queue.bullmq", TimeoutError()), "job queue"),
        (IntegrityError("INSERT", {}, Exception("duplicate")), None),
        (ClientDisconnected(), None),
        (ValueError("bug"), None),
    ]
    for exc, name in cases:
        found = unavailable_dependency(exc)
        assert (found is None) == (name is None), exc
        assert name is None or name in (found or ""), (exc, found)
    wrapped = RuntimeError("wrapper")
    wrapped.__cause__ = OSError("network down")
    assert unavailable_dependency(wrapped) == "a backing service"


async def test_framework_errors_are_reshaped() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/n/{number}")
    async def number(number: int) -> dict[str, int]:
        if number == 403:
            raise HTTPException(403, "no")
        return {"n": number}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        bad = await client.get("/n/abc")
        forbidden = await client.get("/n/403")
    assert bad.status_code == 422
    assert bad.json()["code"] == "VALIDATION_ERROR"
    assert bad.json()["errors"][0]["field"] == "number"
    assert (forbidden.status_code, forbidden.json()) == (
        403,
        {"code": "FORBIDDEN", "message": "no"},
    )
