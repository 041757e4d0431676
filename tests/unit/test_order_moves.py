"""Every move of the order aggregate, in any sequence, against the table in `domain/status.py`.

An illegal move raises `IllegalTransition` and leaves the order exactly as it was (compared
field by field with a deep copy taken before the move); a legal move lands on the status the
table allows, bumps `seq` by one and returns that move's event.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oee.domain.errors import IllegalTransition
from oee.domain.events import OrderEvent
from oee.domain.orders import Fill, Order, SignedSwap, SubmitOrder
from oee.domain.routing import Quote, choose_best
from oee.domain.status import TRANSITIONS, OrderStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)

Move = Callable[[Order, datetime], OrderEvent]


def _decision() -> object:
    q = Quote("raydium", 1_500_000_000, 225_000_000, 3_750_000, 25, Decimal(150), Decimal(1), "p")
    return choose_best([q], 50)


# Each move the aggregate offers, with the status it asks for.
MOVES: dict[str, tuple[OrderStatus, Move]] = {
    "start_routing": (OrderStatus.ROUTING, lambda o, at: o.start_routing(at)),
    "route": (OrderStatus.BUILDING, lambda o, at: o.route(choose_best(_quotes(), 50), at)),
    "submit": (
        OrderStatus.SUBMITTED,
        lambda o, at: o.submit(SignedSwap("sig", 1234, "raw", "raydium", 223_875_000, 1000), at),
    ),
    "confirm": (
        OrderStatus.CONFIRMED,
        lambda o, at: o.confirm(Fill("sig", 224_000_000, Decimal("149.3"), "raydium", 5000), at),
    ),
    "fail": (
        OrderStatus.FAILED,
        lambda o, at: o.fail("SLIPPAGE_EXCEEDED", "below minAmountOut", at, fee_lamports=5000),
    ),
    "retry": (OrderStatus.PENDING, lambda o, at: o.retry("RPC_TIMEOUT", "no answer", 0.5, at)),
}


def _quotes() -> list[Quote]:
    return [
        Quote("raydium", 1_500_000_000, 225_000_000, 3_750_000, 25, Decimal(150), Decimal(1), "p"),
        Quote("meteora", 1_500_000_000, 224_000_000, 3_000_000, 20, Decimal(150), Decimal(2), "q"),
    ]


def _new_order() -> Order:
    order, _ = Order.accept(SubmitOrder.parse("SOL", "USDC", "1.5", 50), "id-1", T0)
    return order


@given(st.lists(st.sampled_from(sorted(MOVES)), max_size=25))
def test_any_sequence_of_moves_follows_the_table(names: list[str]) -> None:
    order = _new_order()
    for step, name in enumerate(names, start=1):
        to, move = MOVES[name]
        at = T0 + timedelta(seconds=step)
        before = copy.deepcopy(order)
        if to not in TRANSITIONS[before.status]:
            with pytest.raises(IllegalTransition):
                move(order, at)
            assert order == before  # not one field touched: error, attempts, tx, seq, ...
            continue
        event = move(order, at)
        assert order.status is to
        assert (order.seq, order.updated_at) == (before.seq + 1, at)
        assert (event.order_id, event.seq, event.type, event.at) == (order.id, order.seq, to, at)
        assert event.attempt == order.attempt
        assert order.attempt == before.attempt + (name == "retry")
        # What the order is never changes, whatever moves it makes.
        kept = ("id", "type", "token_in", "token_out", "amount_in", "slippage_bps", "created_at")
        assert all(getattr(order, f) == getattr(before, f) for f in kept)


@pytest.mark.parametrize("name", sorted(MOVES))
def test_no_move_out_of_a_terminal_status_touches_the_order(name: str) -> None:
    order = _new_order()
    order.fail("NO_ROUTE", "no venue answered", T0)
    before = copy.deepcopy(order)
    with pytest.raises(IllegalTransition):
        MOVES[name][1](order, T0 + timedelta(seconds=1))
    assert order == before
    assert (order.error, len(order.attempts)) == ("NO_ROUTE", 1)
