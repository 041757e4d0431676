"""The order aggregate: each move checks the table, bumps seq and returns one event."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from oee.domain.errors import IllegalTransition, InvalidOrder
from oee.domain.events import OrderEvent
from oee.domain.orders import Fill, Order, SignedSwap, SubmitOrder
from oee.domain.routing import Quote, RoutingDecision, choose_best
from oee.domain.status import OrderStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def new_order() -> Order:
    order, event = Order.accept(SubmitOrder.parse("SOL", "USDC", "1.5", 50), "id-1", T0)
    assert (event.seq, event.type, event.details["tokenIn"]) == (1, "pending", "SOL")
    return order


def decision() -> RoutingDecision:
    q = Quote("raydium", 1_500_000_000, 225_000_000, 3_750_000, 25, Decimal(150), Decimal(1), "p")
    return choose_best([q], 50)


def signed() -> SignedSwap:
    return SignedSwap("sig", 1234, "raw", "raydium", 223_875_000, 1000)


def test_parse_rejects_same_token() -> None:
    with pytest.raises(InvalidOrder) as info:
        SubmitOrder.parse("SOL", "sol", 1, 50)
    assert info.value.code == "SAME_TOKEN"


def test_happy_path_seq_one_to_five() -> None:
    order = new_order()
    d = decision()
    events = [
        order.start_routing(T0),
        order.route(d, T0),
        order.submit(signed(), T0),
        order.confirm(Fill("sig", 224_000_000, Decimal("149.33"), "raydium", 5000), T0),
    ]
    assert [(e.seq, e.type) for e in events] == [
        (2, "routing"),
        (3, "building"),
        (4, "submitted"),
        (5, "confirmed"),
    ]
    final = events[-1].to_wire()
    assert final["txHash"] == "sig"
    assert final["executedPrice"] == pytest.approx(149.33)
    assert final["chosenDex"] == "raydium"
    assert final["amountOut"] == pytest.approx(224.0)
    assert order.status is OrderStatus.CONFIRMED
    assert order.attempts[-1]["outcome"] == "confirmed"


def test_retry_bumps_attempt_and_clears_transaction() -> None:
    order = new_order()
    order.start_routing(T0)
    order.route(decision(), T0)
    order.submit(signed(), T0)
    event = order.retry("BLOCKHASH_EXPIRED", "did not land", 1.0, T0)
    assert (event.type, event.attempt, event.details["retryInMs"]) == ("pending", 2, 1000)
    assert order.tx is None
    assert order.attempts[0]["txHash"] == "sig"


def test_illegal_move_raises_and_changes_nothing() -> None:
    order = new_order()
    with pytest.raises(IllegalTransition):
        order.submit(signed(), T0)
    assert (order.status, order.seq) == (OrderStatus.PENDING, 1)


def test_event_wire_round_trip() -> None:
    event = OrderEvent("o", 3, "building", T0, 1, {"chosenDex": "meteora"})
    wire = event.to_wire()
    assert wire["orderId"] == "o"
    assert wire["chosenDex"] == "meteora"
    assert OrderEvent.from_wire(wire) == event
