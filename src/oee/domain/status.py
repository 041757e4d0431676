"""The order state machine, kept as data: one table and one generic check."""

from __future__ import annotations

from enum import StrEnum

from oee.domain.errors import IllegalTransition


class OrderStatus(StrEnum):
    """Where an order is in its life. The last four are terminal."""

    PENDING = "pending"
    WATCHING = "watching"
    ROUTING = "routing"
    BUILDING = "building"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


S = OrderStatus

TERMINAL: frozenset[OrderStatus] = frozenset({S.CONFIRMED, S.FAILED, S.CANCELLED, S.EXPIRED})

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    # failed straight from pending: rejected before routing (e.g. retries exhausted on quoting).
    S.PENDING: frozenset({S.ROUTING, S.WATCHING, S.CANCELLED, S.FAILED}),
    S.WATCHING: frozenset({S.ROUTING, S.CANCELLED, S.EXPIRED}),
    # back to pending means a retry was scheduled; the event says which attempt and after what delay.
    # back to watching: a limit order's price moved away between its trigger and its quote.
    S.ROUTING: frozenset({S.BUILDING, S.PENDING, S.WATCHING, S.FAILED}),
    S.BUILDING: frozenset({S.SUBMITTED, S.PENDING, S.FAILED}),
    # submitted -> pending only once the transaction is known not to have landed (blockhash expired).
    S.SUBMITTED: frozenset({S.CONFIRMED, S.FAILED, S.PENDING}),
    S.CONFIRMED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}


def check_transition(src: OrderStatus, dst: OrderStatus) -> None:
    """Raise `IllegalTransition` unless the table allows `src -> dst`.

    Args:
        src: The order's current status.
        dst: The status it is asked to move to.

    Raises:
        IllegalTransition: The move is not in the table.
    """
    if dst not in TRANSITIONS[src]:
        raise IllegalTransition(f"an order cannot move from {src} to {dst}")
