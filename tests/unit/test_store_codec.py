"""The store's row codec: exact amounts and prices, JSON-native columns, the tx_hash look-up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from oee.adapters.store._codec import (
    MUTABLE_COLUMNS,
    event_from_row,
    event_to_row,
    json_text,
    order_changes,
    order_from_row,
    order_to_row,
)
from oee.adapters.store._schema import orders
from oee.domain.orders import Fill, Order, SignedSwap, SubmitOrder
from oee.domain.routing import Quote, choose_best

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
U64_MAX = 2**64 - 1


def through_json(row: dict[str, object]) -> dict[str, object]:
    """What a JSON column gives back: the codec must not rely on Python-only values."""
    return json.loads(json.dumps(row, default=str)) | {
        key: row[key] for key in ("created_at", "updated_at", "at") if key in row
    }


def confirmed_order() -> Order:
    order, _ = Order.accept(SubmitOrder.parse("SOL", "USDC", "1.5", 50), "o-1", T0)
    quote = Quote("meteora", 1, U64_MAX, 0, 10, Decimal("1E-30"), Decimal("0.01"), "pool")
    order.start_routing(T0)
    order.route(choose_best([quote], 50), T0)
    order.submit(SignedSwap("sig", 7, "AQID", "meteora", U64_MAX, 9), T0)
    order.confirm(Fill("hash", U64_MAX, Decimal("0.1000000000000000000000000001"), "meteora"), T0)
    return order


def test_an_order_survives_a_row_and_json() -> None:
    order = confirmed_order()
    row = through_json(order_to_row(order))
    assert order_from_row(row) == order
    assert row["amount_in"] == "1500000000"
    assert row["fill"]["executedPrice"] == "0.1000000000000000000000000001"  # type: ignore[index]
    assert row["tx_hash"] == "hash"


def test_tx_hash_is_the_signature_until_a_fill_exists() -> None:
    order, _ = Order.accept(SubmitOrder.parse("SOL", "USDC", "1", 50), "o-2", T0)
    assert order_changes(order)["tx_hash"] is None
    order.tx = SignedSwap("sig", 7, "AQID", "raydium", 1, 1)
    assert order_changes(order)["tx_hash"] == "sig"


def test_absent_parts_are_none_not_empty_json() -> None:
    order, _ = Order.accept(SubmitOrder.parse("SOL", "USDC", "1", 50), "o-3", T0)
    row = order_to_row(order)
    assert (row["decision"], row["tx"], row["fill"]) == (None, None, None)
    assert order_from_row(row) == order


def test_the_codec_writes_exactly_the_table_columns() -> None:
    assert set(order_to_row(confirmed_order())) == set(orders.c.keys())
    assert set(MUTABLE_COLUMNS) < set(orders.c.keys())


def test_an_event_survives_a_row() -> None:
    order, first = Order.accept(SubmitOrder.parse("SOL", "USDC", "1", 50), "o-4", T0)
    event = order.start_routing(T0 + timedelta(seconds=1))
    for original in (first, event):
        assert event_from_row(through_json(event_to_row(original))) == original


def test_the_json_columns_read_back_as_the_standard_library_s_text_does() -> None:
    """orjson writes the JSON columns: compact text, the same values once read."""
    order = confirmed_order()
    order.attempts.append({"note": "prix \u00e9lev\u00e9 \u2192", "delay": 0.5, "tiny": 1e-05})
    retried, _ = Order.accept(SubmitOrder.parse("SOL", "USDC", "1", 50), "o-2", T0)
    retried.start_routing(T0)
    event = retried.retry("RPC_TIMEOUT", "the node \u00e9 did not answer", 0.25, T0)
    values = [*order_to_row(order).values(), *event_to_row(event).values()]
    checked = [value for value in values if isinstance(value, dict | list)]
    assert len(checked) >= 5
    for value in checked:
        assert json.loads(json_text(value)) == json.loads(json.dumps(value))
    # What orjson refuses gets the standard library's text, as before.
    assert json_text({"big": 2**70}) == json.dumps({"big": 2**70})
    assert json_text({1: "a"}) == json.dumps({1: "a"})
