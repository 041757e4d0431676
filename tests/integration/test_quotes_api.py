"""`GET /api/quotes` through a served API-only engine (`build_engine(settings, "api")`).

Both deployments: embedded (SQLite, in-process queue and bus) and production (PostgreSQL,
BullMQ, Redis). The venues are the engine's own quote clients on the in-process simulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest

from oee.bootstrap import build_engine
from oee.domain.errors import ExecutionError
from oee.domain.ports import Venue
from oee.domain.routing import Quote
from oee.domain.tokens import Token
from oee.settings import Settings
from tests.support.api import Api, serve_api

QUERY = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1.5", "slippageBps": "50"}


async def _serve(settings: Settings) -> AsyncIterator[Api]:
    engine = await build_engine(settings, "api")
    assert engine.worker is None
    assert [v.name for v in engine.venues] == ["raydium", "meteora"]
    async for running in serve_api(engine):
        yield running


@pytest.fixture
async def quotes_api(engine_settings: Callable[..., Settings]) -> AsyncIterator[Api]:
    async for running in _serve(engine_settings()):
        yield running


async def test_every_venue_quotes_and_the_best_output_is_chosen(quotes_api: Api) -> None:
    response = await quotes_api.http.get("/api/quotes", params=QUERY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tokenIn"]["symbol"] == "SOL"
    assert body["tokenOut"]["symbol"] == "USDC"
    assert body["amountIn"] == 1.5
    assert body["amountInBaseUnits"] == "1500000000"
    assert body["errors"] == {}
    assert {q["venue"] for q in body["quotes"]} == {"raydium", "meteora"}
    for quote in body["quotes"]:
        assert int(quote["amountOutBaseUnits"]) > 0
        assert set(quote) >= {"amountOut", "price", "priceImpactBps", "fee", "feeBps", "pool"}
    best = max(body["quotes"], key=lambda q: int(q["amountOutBaseUnits"]))
    routing = body["routing"]
    assert routing["chosenDex"] == best["venue"]
    floor = int(best["amountOutBaseUnits"]) * (10_000 - 50) // 10_000
    assert abs(int(routing["minAmountOutBaseUnits"]) - floor) <= 1
    assert Decimal(str(routing["marginBps"])) >= 0
    # Quoting places nothing.
    assert (await quotes_api.http.get("/api/orders/active")).json()["activeCount"] == 0


async def test_slippage_defaults_to_50_bps(quotes_api: Api) -> None:
    query = {k: v for k, v in QUERY.items() if k != "slippageBps"}
    response = await quotes_api.http.get("/api/quotes", params=query)
    assert response.status_code == 200, response.text
    assert response.json()["slippageBps"] == 50


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"amountIn": None}, "VALIDATION_ERROR", "amountIn"),
        ({"tokenIn": None}, "VALIDATION_ERROR", "tokenIn"),
        ({"slippageBps": "lots"}, "VALIDATION_ERROR", "slippageBps"),
        ({"slippageBps": "50.0"}, "VALIDATION_ERROR", "slippageBps"),  # a query's integer
        ({"slippageBps": " 50"}, "VALIDATION_ERROR", "slippageBps"),
        ({"tokenOut": "DOGE"}, "UNKNOWN_TOKEN", "tokenOut"),
        ({"tokenIn": "DOGE"}, "UNKNOWN_TOKEN", "tokenIn"),
        ({"tokenOut": "SOL"}, "SAME_TOKEN", "tokenOut"),
        ({"amountIn": "abc"}, "AMOUNT_NOT_NUMBER", "amountIn"),
        ({"amountIn": "0"}, "AMOUNT_NOT_POSITIVE", "amountIn"),
        ({"amountIn": "NaN"}, "AMOUNT_NOT_NUMBER", "amountIn"),
        ({"amountIn": " 1"}, "AMOUNT_NOT_NUMBER", "amountIn"),
        ({"amountIn": "1" + "0" * 30}, "AMOUNT_TOO_LARGE", "amountIn"),
        ({"amountIn": "0.0000000001"}, "AMOUNT_TOO_PRECISE", "amountIn"),
        ({"slippageBps": "0"}, "SLIPPAGE_OUT_OF_RANGE", "slippageBps"),
    ],
)
async def test_bad_inputs_get_their_codes(
    quotes_api: Api, changes: dict[str, str | None], code: str, field: str
) -> None:
    query = {k: v for k, v in {**QUERY, **changes}.items() if v is not None}
    response = await quotes_api.http.get("/api/quotes", params=query)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == code
    assert field in {e["field"] for e in body["errors"]}, body


class _Failing:
    """A venue that always refuses with the given error."""

    program_id = "11111111111111111111111111111111"

    def __init__(self, name: str, error: ExecutionError) -> None:
        self.name = name
        self.error = error

    async def quote(self, token_in: Token, token_out: Token, amount_in: int) -> Quote:
        raise self.error


def _failing(*errors: tuple[str, str, bool]) -> list[Venue]:
    return [
        _Failing(name, ExecutionError(f"{name} refused", code=code, retryable=retryable))
        for name, code, retryable in errors
    ]


async def test_no_usable_quote_with_a_retryable_failure_is_503(quotes_api: Api) -> None:
    quotes_api.engine.venues = _failing(
        ("raydium", "NO_POOL", False), ("meteora", "VENUE_RATE_LIMITED", True)
    )
    response = await quotes_api.http.get("/api/quotes", params=QUERY)
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "QUOTES_UNAVAILABLE"
    assert "VENUE_RATE_LIMITED" in response.json()["message"]


async def test_no_usable_quote_and_nothing_to_retry_is_no_route(quotes_api: Api) -> None:
    quotes_api.engine.venues = _failing(
        ("raydium", "NO_POOL", False), ("meteora", "NO_POOL", False)
    )
    response = await quotes_api.http.get("/api/quotes", params=QUERY)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "NO_ROUTE"


async def test_a_venue_that_fails_is_named_beside_the_others(
    engine_settings: Callable[..., Settings],
) -> None:
    async for running in _serve(engine_settings()):
        slow = _failing(("slowdex", "VENUE_TIMEOUT", True))
        running.engine.venues = [*running.engine.venues, *slow]
        response = await running.http.get("/api/quotes", params=QUERY)
        assert response.status_code == 200, response.text
        body = response.json()
        assert {q["venue"] for q in body["quotes"]} == {"raydium", "meteora"}
        assert body["errors"] == {
            "slowdex": {"code": "VENUE_TIMEOUT", "message": "slowdex refused"}
        }
