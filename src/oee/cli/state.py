"""What the live views know: orders folded from order views and stream events (pure, no I/O).

`OrderState` is one order as far as the client has heard (its stages with their times, what it
waits for and what fired it, the venues' quotes, retries, the result); `Board` is the
firehose's picture of all orders, bounded: unfinished orders are kept, finished ones only the
newest few.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TERMINAL = frozenset({"confirmed", "failed", "cancelled", "expired"})
STAGES = ("pending", "routing", "building", "submitted", "confirmed")
STATUSES = frozenset({*STAGES, "watching", *TERMINAL})


def parse_time(text: Any) -> datetime | None:
    """An ISO-8601 timestamp from the wire, or None."""
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


@dataclass
class Retry:
    """One attempt that did not work out and the retry it scheduled."""

    attempt: int
    error: str | None
    reason: str | None
    retry_in_ms: int | None


@dataclass
class Rearm:
    """A limit order whose price moved away between its trigger and its quote: it waits again."""

    at: datetime | None
    error: str | None
    reason: str | None
    price: str | None


@dataclass
class OrderState:
    """One order as the client knows it."""

    order_id: str
    status: str = "pending"
    token_in: str = "?"
    token_out: str = "?"
    amount_in: Any = None
    slippage_bps: int | None = None
    attempt: int = 1
    seq: int = 0
    created: datetime | None = None
    updated: datetime | None = None
    stages: dict[str, datetime] = field(default_factory=dict)  # stage -> when (latest attempt)
    retries: list[Retry] = field(default_factory=list)
    venue: str | None = None
    margin_bps: float | None = None
    quotes: list[dict[str, Any]] = field(default_factory=list)
    routing: dict[str, Any] | None = None
    result: dict[str, Any] = field(default_factory=dict)  # txHash, executedPrice, amountOut
    error: str | None = None
    reason: str | None = None
    # Limit and sniper orders: what they wait for, what fired them, their price-impact cap.
    order_type: str = "market"
    trigger: dict[str, Any] | None = None
    triggered_by: dict[str, Any] | None = None
    max_impact_bps: int | None = None
    rearms: list[Rearm] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """The order reached a terminal status."""
        return self.status in TERMINAL

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> OrderState:
        """An order from its full view (`GET /api/orders/{id}`, snapshots)."""
        state = cls(view["orderId"])
        state.apply_view(view)
        return state

    def apply_view(self, view: dict[str, Any], *, with_status: bool = True) -> None:
        """Take what the full view adds: tokens, quotes, routing, result, failure.

        Args:
            view: The order view.
            with_status: Also take its status and seq; off while events are being followed,
                which tell the status themselves, stage by stage.
        """
        self.token_in = view["tokenIn"]["symbol"]
        self.token_out = view["tokenOut"]["symbol"]
        self.amount_in, self.slippage_bps = view.get("amountIn"), view.get("slippageBps")
        self.created = parse_time(view.get("createdAt"))
        self.quotes = list(view.get("quotes") or [])
        self.routing = view.get("routing")
        if self.routing:
            self.margin_bps = self.routing.get("marginBps")
        self.venue = view.get("chosenDex") or self.venue
        self.result = dict(view.get("result") or self.result)
        self.order_type = view.get("type") or self.order_type
        self.trigger = view.get("trigger") or self.trigger
        self.triggered_by = view.get("triggeredBy") or self.triggered_by
        self.max_impact_bps = view.get("maxPriceImpactBps", self.max_impact_bps)
        if with_status and view.get("seq", 0) >= self.seq:  # never behind events applied
            self.status, self.seq = view["status"], view["seq"]
            self.attempt = view.get("attempt", self.attempt)
            self.updated = parse_time(view.get("updatedAt"))
            self.error, self.reason = view.get("error"), view.get("reason")

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one stream event in (events arrive once each, in seq order, per order)."""
        kind, at = event["type"], parse_time(event.get("at"))
        self.seq, self.updated = event["seq"], at
        self.attempt = event.get("attempt", self.attempt)
        if kind not in STATUSES:
            return  # an informational event (a type this client does not know): no move
        self.status = kind
        if kind == "pending" and event["seq"] == 1:
            self.token_in, self.token_out = event.get("tokenIn", "?"), event.get("tokenOut", "?")
            self.amount_in, self.slippage_bps = event.get("amountIn"), event.get("slippageBps")
            self.order_type = event.get("orderType") or self.order_type
            self.trigger = event.get("trigger") or self.trigger
            self.max_impact_bps = event.get("maxPriceImpactBps", self.max_impact_bps)
            self.created = at
        elif kind == "watching":
            self.trigger = event.get("trigger") or self.trigger
            if "error" in event:  # re-armed: the stages after watching start over
                self.rearms.append(
                    Rearm(at, event.get("error"), event.get("reason"), event.get("price"))
                )
                for later in STAGES[1:]:
                    self.stages.pop(later, None)
        elif kind == "routing" and "triggeredBy" in event:
            self.triggered_by = event["triggeredBy"]
        elif kind == "pending":  # back to pending: the previous attempt is being retried
            self.retries.append(
                Retry(
                    self.attempt - 1,
                    event.get("error"),
                    event.get("reason"),
                    event.get("retryInMs"),
                )
            )
            self.stages = {}
        self.venue = event.get("chosenDex", self.venue)
        self.margin_bps = event.get("marginBps", self.margin_bps)
        for key in ("txHash", "executedPrice", "amountOut"):
            if key in event:
                self.result[key] = event[key]
        if kind == "failed":
            self.error, self.reason = event.get("error"), event.get("reason")
        elif kind in ("cancelled", "expired"):
            self.reason = event.get("reason", self.reason)
        if at is not None:
            self.stages[kind] = at


class Board:
    """All orders the firehose has shown: every unfinished one, the newest finished ones."""

    def __init__(self, keep_finished: int = 200, window_s: float = 10.0) -> None:
        """Start empty.

        Args:
            keep_finished: Finished orders remembered for display (older ones are dropped).
            window_s: The window of the throughput figure.
        """
        self.orders: dict[str, OrderState] = {}
        self.window_s = window_s
        self._finished: deque[str] = deque()
        self._keep = keep_finished
        self._done_at: deque[float] = deque()  # client clock when each order finished
        self.started: float | None = None
        self.confirmed = self.failed = 0

    def snapshot(self, frame: dict[str, Any], now: float) -> None:
        """Start from the firehose's snapshot frame."""
        self.started = now
        for view in reversed(frame.get("orders", [])):  # oldest first, so newest end up last
            state = OrderState.from_view(view)
            self.orders[state.order_id] = state
            if state.finished:
                self._finish(state.order_id)

    def event(self, frame: dict[str, Any], now: float) -> None:
        """Fold one event in; count it if it finishes its order."""
        order_id = frame["orderId"]
        state = self.orders.get(order_id) or OrderState(order_id)
        self.orders[order_id] = state
        was_finished = state.finished
        state.apply(frame)
        if state.finished and not was_finished:
            self._done_at.append(now)
            self.confirmed += state.status == "confirmed"
            self.failed += state.status == "failed"
            self._finish(order_id)

    def _finish(self, order_id: str) -> None:
        self._finished.append(order_id)
        while len(self._finished) > self._keep:
            self.orders.pop(self._finished.popleft(), None)

    @property
    def active(self) -> int:
        """Orders not yet finished."""
        return sum(not s.finished for s in self.orders.values())

    def throughput(self, now: float) -> float:
        """Orders finished per second over the last `window_s` (or since connecting)."""
        while self._done_at and now - self._done_at[0] > self.window_s:
            self._done_at.popleft()
        span = min(self.window_s, now - self.started) if self.started is not None else 0.0
        return len(self._done_at) / span if span > 0.5 else 0.0

    def newest(self, limit: int) -> list[OrderState]:
        """The `limit` most recently created orders, unfinished first, newest first."""
        epoch = datetime.min.replace(tzinfo=UTC)
        ordered = sorted(
            self.orders.values(), key=lambda s: (not s.finished, s.created or epoch), reverse=True
        )
        return ordered[:limit]
