"""The order state machine table and its one generic check."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oee.domain.errors import IllegalTransition
from oee.domain.status import TERMINAL, TRANSITIONS, OrderStatus, check_transition

S = OrderStatus

DESIGN_TABLE = {
    S.PENDING: {S.ROUTING, S.WATCHING, S.CANCELLED, S.FAILED},
    S.WATCHING: {S.ROUTING, S.CANCELLED, S.EXPIRED},
    # re-armed: a limit order's price moved away between its trigger and its quote (decisions.md)
    S.ROUTING: {S.BUILDING, S.PENDING, S.WATCHING, S.FAILED},
    S.BUILDING: {S.SUBMITTED, S.PENDING, S.FAILED},
    S.SUBMITTED: {S.CONFIRMED, S.FAILED, S.PENDING},
}


def test_table_is_exactly_the_design() -> None:
    for status in OrderStatus:
        assert set(TRANSITIONS[status]) == DESIGN_TABLE.get(status, set())


def test_terminal_statuses_have_no_way_out() -> None:
    assert {S.CONFIRMED, S.FAILED, S.CANCELLED, S.EXPIRED} == TERMINAL
    for status in TERMINAL:
        assert status.is_terminal
        assert not TRANSITIONS[status]


@given(st.sampled_from(list(OrderStatus)), st.sampled_from(list(OrderStatus)))
def test_check_allows_exactly_the_table(src: OrderStatus, dst: OrderStatus) -> None:
    if dst in TRANSITIONS[src]:
        check_transition(src, dst)
    else:
        with pytest.raises(IllegalTransition) as info:
            check_transition(src, dst)
        assert info.value.code == "ILLEGAL_TRANSITION"
        assert str(src) in info.value.message


@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=30))
def test_any_legal_walk_never_leaves_a_terminal_status(walk: list[OrderStatus]) -> None:
    status = S.PENDING
    for dst in walk:
        if dst in TRANSITIONS[status]:
            assert not status.is_terminal
            status = dst
