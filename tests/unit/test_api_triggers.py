"""Limit and sniper orders on the wire: the execute body's new fields, the order view's trigger,
the cancel body, and the documentation models in step with both (no server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from oee.api.errors import ApiError
from oee.api.openapi import ExecuteRequest, OrderView
from oee.api.order_examples import (
    EXAMPLE_CANCELLED_ORDER,
    EXAMPLE_LIMIT_ORDER,
    EXAMPLE_ORDER,
    EXAMPLE_SNIPER_ORDER,
)
from oee.api.requests import is_mint, parse_cancel, parse_execute
from oee.api.views import order_view
from oee.domain.orders import Order, OrderType, SubmitOrder
from oee.domain.triggers import Firing, Trigger, TriggerKind

NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)
MINT = "8PTqJt1kC3yt8Sa6ukoVEX14QRX15QGjEmHJ79QyPGVy"  # a valid mint outside the registry
MARKET = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1}
LIMIT = {**MARKET, "type": "limit", "limitPrice": "160"}
SNIPER = {"tokenIn": "SOL", "tokenOut": MINT, "amountIn": "0.5", "type": "sniper"}


def parse(body: dict[str, Any] | bytes, **kwargs: Any) -> SubmitOrder:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_execute(raw, now=NOW, **kwargs)


def refusal(body: dict[str, Any] | bytes, **kwargs: Any) -> tuple[int, str, list[str]]:
    with pytest.raises(ApiError) as caught:
        parse(body, **kwargs)
    err = caught.value
    assert err.message
    return err.status, err.code, [e["field"] for e in err.errors or []]


def raw(body: dict[str, Any], **literal: str) -> bytes:
    """`body` as JSON with `literal` fields spliced in as written (NaN, 1e400, ...)."""
    text = json.dumps(body)[:-1]
    return (text + "".join(f', "{k}": {v}' for k, v in literal.items()) + "}").encode()


# --- accepted ----------------------------------------------------------------------------------


def test_a_limit_order_reads_its_price_exactly_and_expires_by_default_in_a_day() -> None:
    for price in ("160.5", 160.5):
        cmd = parse({**LIMIT, "limitPrice": price})
        assert cmd.type is OrderType.LIMIT
        assert cmd.trigger == Trigger(
            TriggerKind.PRICE, NOW + timedelta(hours=24), Decimal("160.5")
        )
        assert cmd.max_price_impact_bps is None
    exact = parse(
        raw(MARKET | {"type": "limit"}, limitPrice="0.1000000000000000055511151231257827")
    )
    assert exact.trigger == Trigger(
        TriggerKind.PRICE,
        NOW + timedelta(hours=24),
        Decimal("0.1000000000000000055511151231257827"),
    )


def expiry_of(body: dict[str, Any]) -> datetime:
    trigger = parse(body).trigger
    assert trigger is not None
    return trigger.expires_at


def test_expiry_is_an_instant_with_an_offset_or_a_ttl() -> None:
    assert expiry_of({**LIMIT, "expiresAt": "2025-01-01T20:00:00+02:00"}) == NOW + timedelta(
        hours=6
    )
    assert expiry_of({**LIMIT, "expiresAt": "2025-01-02T11:59:59.123456789Z"}) == datetime(
        2025, 1, 2, 11, 59, 59, 123456, UTC
    )
    assert expiry_of({**LIMIT, "ttlSeconds": 3600}) == NOW + timedelta(hours=1)
    assert expiry_of({**LIMIT, "ttlSeconds": 7 * 86_400}) == NOW + timedelta(days=7)


def test_order_type_is_the_older_name_of_type_and_either_takes_any_case() -> None:
    assert parse({**MARKET, "orderType": "limit", "limitPrice": 1}).type is OrderType.LIMIT
    assert parse({**LIMIT, "orderType": "LIMIT"}).type is OrderType.LIMIT
    assert parse({**MARKET, "type": "Market", "orderType": "market"}).type is OrderType.MARKET
    assert parse(MARKET).trigger is None


def test_a_sniper_order_takes_any_mint_its_venues_and_an_impact_cap() -> None:
    cmd = parse({**SNIPER, "venues": ["meteora", "meteora"], "maxPriceImpactBps": 800})
    assert (cmd.type, cmd.token_out.mint, cmd.amount_in) == (OrderType.SNIPER, MINT, 500_000_000)
    assert cmd.trigger == Trigger(
        TriggerKind.LAUNCH, NOW + timedelta(hours=24), venues=("meteora",)
    )
    assert cmd.max_price_impact_bps == 800
    assert parse({**SNIPER, "tokenIn": "usdc"}).trigger == Trigger(
        TriggerKind.LAUNCH, NOW + timedelta(hours=24), venues=("raydium", "meteora")
    )


def test_the_price_impact_cap_is_the_engine_s() -> None:
    assert parse({**SNIPER, "maxPriceImpactBps": 8000}, price_impact_cap_bps=8000)
    assert refusal({**SNIPER, "maxPriceImpactBps": 8000}) == (
        422,
        "PRICE_IMPACT_OUT_OF_RANGE",
        ["maxPriceImpactBps"],
    )


def test_a_mint_is_base58_of_32_bytes_written_canonically() -> None:
    assert is_mint(MINT)
    assert is_mint("So11111111111111111111111111111111111111112")
    assert is_mint("1" * 32)  # 32 zero bytes
    for bad in ["", "1" * 31, "z" * 44, MINT + "1", MINT[:-1] + "0", "0OIl" * 10, "ÿ" * 40]:
        assert not is_mint(bad), bad


# --- refused, each with its status, code and field --------------------------------------------

IN_THE_PAST = "2024-12-31T23:59:59Z"
TOO_FAR = "2025-01-08T12:00:01Z"  # 7 days and a second after NOW

REFUSALS: list[tuple[dict[str, Any] | bytes, tuple[int, str, list[str]]]] = [
    # limitPrice: required on a limit order, positive, finite, a number or a decimal string
    ({**MARKET, "type": "limit"}, (422, "LIMIT_PRICE_REQUIRED", ["limitPrice"])),
    ({**LIMIT, "limitPrice": 0}, (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    ({**LIMIT, "limitPrice": "0"}, (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    ({**LIMIT, "limitPrice": "0.000"}, (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    ({**LIMIT, "limitPrice": -160}, (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    ({**LIMIT, "limitPrice": "-160"}, (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    ({**LIMIT, "limitPrice": "1e3"}, (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    ({**LIMIT, "limitPrice": "NaN"}, (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    ({**LIMIT, "limitPrice": " 160"}, (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    (raw(LIMIT | {"limitPrice": 1}, limitPrice="NaN"), (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    (raw({**MARKET, "type": "limit"}, limitPrice="Infinity"), (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    (raw({**MARKET, "type": "limit"}, limitPrice="-Infinity"), (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    (raw({**MARKET, "type": "limit"}, limitPrice="1e31"), (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    (raw({**MARKET, "type": "limit"}, limitPrice="1e400"), (422, "LIMIT_PRICE_INVALID", ["limitPrice"])),
    ({**LIMIT, "limitPrice": None}, (422, "VALIDATION_ERROR", ["limitPrice"])),
    ({**LIMIT, "limitPrice": True}, (422, "VALIDATION_ERROR", ["limitPrice"])),
    ({**LIMIT, "limitPrice": [160]}, (422, "VALIDATION_ERROR", ["limitPrice"])),
    # a field of another type is refused, never ignored
    ({**MARKET, "limitPrice": 160}, (422, "FIELD_NOT_FOR_TYPE", ["limitPrice"])),
    ({**MARKET, "maxPriceImpactBps": 100}, (422, "FIELD_NOT_FOR_TYPE", ["maxPriceImpactBps"])),
    ({**MARKET, "ttlSeconds": 60}, (422, "FIELD_NOT_FOR_TYPE", ["ttlSeconds"])),
    ({**MARKET, "expiresAt": "2025-01-01T13:00:00Z"}, (422, "FIELD_NOT_FOR_TYPE", ["expiresAt"])),
    ({**LIMIT, "venues": ["raydium"]}, (422, "FIELD_NOT_FOR_TYPE", ["venues"])),
    ({**SNIPER, "limitPrice": 1}, (422, "FIELD_NOT_FOR_TYPE", ["limitPrice"])),
    # unknown fields and types
    ({**LIMIT, "limit_price": 160}, (422, "VALIDATION_ERROR", ["limit_price"])),
    ({**LIMIT, "stopPrice": 150}, (422, "VALIDATION_ERROR", ["stopPrice"])),
    ({**MARKET, "type": "stop"}, (422, "UNSUPPORTED_ORDER_TYPE", ["type"])),
    ({**MARKET, "orderType": "twap"}, (422, "UNSUPPORTED_ORDER_TYPE", ["orderType"])),
    ({**MARKET, "type": ""}, (422, "UNSUPPORTED_ORDER_TYPE", ["type"])),
    ({**MARKET, "type": 1}, (422, "VALIDATION_ERROR", ["type"])),
    ({**MARKET, "type": None}, (422, "VALIDATION_ERROR", ["type"])),
    ({**LIMIT, "orderType": "market"}, (422, "VALIDATION_ERROR", ["orderType"])),
    # expiry: in the future, at most 7 days, one way of saying it, with an offset
    ({**LIMIT, "expiresAt": IN_THE_PAST}, (422, "EXPIRY_IN_PAST", ["expiresAt"])),
    ({**LIMIT, "expiresAt": "2025-01-01T12:00:00Z"}, (422, "EXPIRY_IN_PAST", ["expiresAt"])),
    ({**LIMIT, "expiresAt": TOO_FAR}, (422, "EXPIRY_TOO_FAR", ["expiresAt"])),
    ({**SNIPER, "expiresAt": TOO_FAR}, (422, "EXPIRY_TOO_FAR", ["expiresAt"])),
    ({**LIMIT, "ttlSeconds": 0}, (422, "EXPIRY_IN_PAST", ["ttlSeconds"])),
    ({**LIMIT, "ttlSeconds": -5}, (422, "EXPIRY_IN_PAST", ["ttlSeconds"])),
    ({**LIMIT, "ttlSeconds": 7 * 86_400 + 1}, (422, "EXPIRY_TOO_FAR", ["ttlSeconds"])),
    (raw(LIMIT, ttlSeconds="1e30"), (422, "EXPIRY_TOO_FAR", ["ttlSeconds"])),
    ({**LIMIT, "ttlSeconds": 60, "expiresAt": "2025-01-01T13:00:00Z"}, (422, "EXPIRY_CONFLICT", ["expiresAt", "ttlSeconds"])),
    ({**LIMIT, "expiresAt": "2025-01-02"}, (422, "EXPIRY_INVALID", ["expiresAt"])),
    ({**LIMIT, "expiresAt": "2025-01-02T00:00:00"}, (422, "EXPIRY_INVALID", ["expiresAt"])),
    ({**LIMIT, "expiresAt": "2025-01-02 00:00:00Z"}, (422, "EXPIRY_INVALID", ["expiresAt"])),
    ({**LIMIT, "expiresAt": "20250102T000000Z"}, (422, "EXPIRY_INVALID", ["expiresAt"])),
    ({**LIMIT, "expiresAt": "2025-13-02T00:00:00Z"}, (422, "EXPIRY_INVALID", ["expiresAt"])),
    ({**LIMIT, "expiresAt": "2025-01-02T00:00:00+25:00"}, (422, "EXPIRY_INVALID", ["expiresAt"])),
    ({**LIMIT, "expiresAt": "tomorrow"}, (422, "EXPIRY_INVALID", ["expiresAt"])),
    ({**LIMIT, "expiresAt": 1735740000}, (422, "VALIDATION_ERROR", ["expiresAt"])),
    ({**LIMIT, "ttlSeconds": 1.5}, (422, "VALIDATION_ERROR", ["ttlSeconds"])),
    ({**LIMIT, "ttlSeconds": "60"}, (422, "VALIDATION_ERROR", ["ttlSeconds"])),
    # sniper: a valid mint, paid for in SOL or USDC, on known venues
    ({**SNIPER, "tokenOut": "0OIl" * 11}, (422, "INVALID_MINT", ["tokenOut"])),
    ({**SNIPER, "tokenOut": "1" * 31}, (422, "INVALID_MINT", ["tokenOut"])),
    ({**SNIPER, "tokenOut": "z" * 44}, (422, "INVALID_MINT", ["tokenOut"])),
    ({**SNIPER, "tokenOut": "DOGE"}, (422, "INVALID_MINT", ["tokenOut"])),
    ({**SNIPER, "tokenIn": "BONK"}, (422, "SNIPER_TOKEN_IN", ["tokenIn"])),
    ({**SNIPER, "tokenIn": "DOGE"}, (422, "UNKNOWN_TOKEN", ["tokenIn"])),
    ({**SNIPER, "venues": ["orca"]}, (422, "UNKNOWN_VENUE", ["venues"])),
    ({**SNIPER, "venues": ["raydium", "Meteora"]}, (422, "UNKNOWN_VENUE", ["venues"])),
    ({**SNIPER, "venues": []}, (422, "UNKNOWN_VENUE", ["venues"])),
    ({**SNIPER, "venues": "raydium"}, (422, "VALIDATION_ERROR", ["venues"])),
    ({**SNIPER, "venues": [1]}, (422, "VALIDATION_ERROR", ["venues"])),
    ({**SNIPER, "maxPriceImpactBps": 0}, (422, "PRICE_IMPACT_OUT_OF_RANGE", ["maxPriceImpactBps"])),
    ({**SNIPER, "maxPriceImpactBps": 5001}, (422, "PRICE_IMPACT_OUT_OF_RANGE", ["maxPriceImpactBps"])),
    ({**SNIPER, "maxPriceImpactBps": 1.5}, (422, "VALIDATION_ERROR", ["maxPriceImpactBps"])),
    # several structural problems are named together
    ({**LIMIT, "limitPrice": None, "ttlSeconds": "x", "bogus": 1}, (422, "VALIDATION_ERROR", ["bogus", "limitPrice", "ttlSeconds"])),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), REFUSALS)
def test_every_bad_input_is_a_422_naming_its_code_and_field(
    body: dict[str, Any] | bytes, expected: tuple[int, str, list[str]]
) -> None:
    assert refusal(body) == expected


def test_a_structural_error_wins_over_a_broken_rule() -> None:
    # A mistyped field is reported first: the rule checks need every field readable.
    assert refusal({**LIMIT, "limitPrice": "abc", "ttlSeconds": "x"})[1] == "VALIDATION_ERROR"


def test_the_quote_query_stays_market_only() -> None:
    from oee.api.requests import parse_quote_query

    cmd = parse_quote_query({"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1"})
    assert (cmd.type, cmd.trigger) == (OrderType.MARKET, None)


def test_a_cancel_takes_no_body_or_an_empty_object() -> None:
    for empty in (b"", b"  ", b"{}", b" { } "):
        parse_cancel(empty)
    for bad, status, code in [
        (b"{", 400, "MALFORMED_JSON"),
        (b"[]", 400, "BODY_NOT_OBJECT"),
        (b'{"reason": "changed my mind"}', 422, "VALIDATION_ERROR"),
    ]:
        with pytest.raises(ApiError) as caught:
            parse_cancel(bad)
        assert (caught.value.status, caught.value.code) == (status, code), bad


# --- the documentation models, in step with the parser and the view ---------------------------


@pytest.mark.parametrize(
    "body",
    [
        MARKET,
        {**MARKET, "amountIn": "1.5", "slippageBps": 10, "type": "market"},
        {**LIMIT, "ttlSeconds": 60, "maxPriceImpactBps": 100},
        {**LIMIT, "limitPrice": 0.5, "expiresAt": "2025-01-01T18:00:00.5+01:00"},
        {**LIMIT, "limitPrice": "007.50", "orderType": "limit"},
        {**SNIPER, "venues": ["raydium"], "expiresAt": "2025-01-02T00:00:00Z"},
    ],
)
def test_what_the_parser_accepts_the_documented_model_accepts(body: dict[str, Any]) -> None:
    parse(body)
    ExecuteRequest.model_validate(body, strict=True)


@pytest.mark.parametrize(
    "body",
    [
        {**LIMIT, "limitPrice": 0},
        {**LIMIT, "limitPrice": "0.0"},
        {**LIMIT, "limitPrice": -1},
        {**LIMIT, "limitPrice": "1e3"},
        {**LIMIT, "limitPrice": 1e31},
        {**LIMIT, "limitPrice": None},
        {**LIMIT, "expiresAt": "2025-01-02T00:00:00"},
        {**LIMIT, "expiresAt": "2025-01-02"},
        {**LIMIT, "ttlSeconds": 0},
        {**LIMIT, "ttlSeconds": 7 * 86_400 + 1},
        {**SNIPER, "venues": []},
        {**SNIPER, "venues": ["orca"]},
        {**SNIPER, "maxPriceImpactBps": 0},
        {**SNIPER, "maxPriceImpactBps": 10_001},
        {**MARKET, "type": "stop"},
        {**MARKET, "orderType": None},
        {**MARKET, "bogus": 1},
    ],
)
def test_what_the_documented_model_refuses_the_parser_refuses(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ExecuteRequest.model_validate(body, strict=True)  # as JSON Schema validates: no coercion
    with pytest.raises(ApiError):
        parse(body, price_impact_cap_bps=10_000)


def _order(body: dict[str, Any]) -> Order:
    order, _ = Order.accept(parse(body), "id-1", NOW)
    return order


def test_the_view_shows_the_trigger_what_fired_it_and_the_impact_cap() -> None:
    market = order_view(_order(MARKET))
    assert (market["trigger"], market["triggeredBy"], market["maxPriceImpactBps"]) == (
        None,
        None,
        None,
    )
    limit = _order({**LIMIT, "limitPrice": "160.5", "ttlSeconds": 3600, "maxPriceImpactBps": 90})
    limit.arm(NOW)
    view = order_view(limit)
    assert view["status"] == "watching"
    assert view["trigger"] == {
        "kind": "price",
        "expiresAt": "2025-01-01T13:00:00+00:00",
        "limitPrice": "160.5",
    }
    assert (view["triggeredBy"], view["maxPriceImpactBps"]) == (None, 90)
    limit.fire(Firing(NOW, price=Decimal("160.7"), venue="meteora", pool="p1"), NOW)
    assert order_view(limit)["triggeredBy"] == {
        "at": "2025-01-01T12:00:00+00:00",
        "price": "160.7",
        "venue": "meteora",
        "pool": "p1",
    }

    sniper = _order({**SNIPER, "venues": ["raydium"]})
    sniper.arm(NOW)
    assert order_view(sniper)["trigger"] == {
        "kind": "launch",
        "expiresAt": "2025-01-02T12:00:00+00:00",
        "venues": ["raydium"],
    }
    sniper.fire(Firing(NOW, venue="raydium", pool="p2", signature="sig", slot=9, decimals=6), NOW)
    view = order_view(sniper)
    assert view["tokenOut"] == {"symbol": MINT, "mint": MINT, "decimals": 6}
    assert view["triggeredBy"] == {
        "at": "2025-01-01T12:00:00+00:00",
        "venue": "raydium",
        "pool": "p2",
        "signature": "sig",
        "slot": 9,
        "decimals": 6,
    }
    for order in (limit, sniper, _order(MARKET)):
        OrderView.model_validate(order_view(order))
        assert set(order_view(order)) == set(OrderView.model_fields)


def test_the_documented_examples_are_views_the_engine_could_answer() -> None:
    for example in (
        EXAMPLE_ORDER,
        EXAMPLE_LIMIT_ORDER,
        EXAMPLE_SNIPER_ORDER,
        EXAMPLE_CANCELLED_ORDER,
    ):
        assert set(example) == set(OrderView.model_fields)
        OrderView.model_validate(example)
        trigger, fired = example["trigger"], example["triggeredBy"]
        if isinstance(trigger, dict):  # as the domain writes it, key for key
            assert Trigger.from_dict(trigger).to_dict() == trigger
        if isinstance(fired, dict):
            assert Firing.from_dict(fired).to_dict() == fired
