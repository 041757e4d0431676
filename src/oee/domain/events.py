"""Order events: one per status change (past tense facts), each with a strictly increasing seq."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON = Any  # a JSON-native value: str, int, float, bool, None, list or dict of those


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """Something that happened to an order.

    `type` is the status the order moved to (`routing`, `confirmed`, ...) or an informational
    type; `details` holds the type's own fields in their wire (camelCase, JSON-native) form.
    `owner` names the API key that placed the order (None: placed in open mode). It travels
    with the event on the bus, so a stream can drop other keys' events before sending them,
    but is no part of the event itself: not on the wire, not in the log, not compared.
    """

    order_id: str
    seq: int
    type: str
    at: datetime
    attempt: int
    details: dict[str, JSON] = field(default_factory=dict)
    owner: str | None = field(default=None, compare=False)

    def to_wire(self) -> dict[str, JSON]:
        """The event as clients receive it over WebSocket and from the event log."""
        return {
            "type": self.type,
            "orderId": self.order_id,
            "seq": self.seq,
            "at": self.at.isoformat(),
            "attempt": self.attempt,
            **self.details,
        }

    @classmethod
    def from_wire(cls, data: dict[str, JSON]) -> OrderEvent:
        """Rebuild an event from `to_wire` output (e.g. after crossing the bus)."""
        body = dict(data)
        return cls(
            order_id=body.pop("orderId"),
            seq=body.pop("seq"),
            type=body.pop("type"),
            at=datetime.fromisoformat(body.pop("at")),
            attempt=body.pop("attempt"),
            details=body,
        )
