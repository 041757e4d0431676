"""The order aggregate: the command that creates it and the moves that advance it.

Every move goes through `Order._move`, which checks the state machine before any field changes
(an illegal move raises and leaves the order exactly as it was), then applies the move's own
changes, bumps `seq` and returns the event to persist with it, so the caller cannot change
status without producing exactly one event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from oee.domain.errors import InvalidOrder
from oee.domain.events import JSON, OrderEvent
from oee.domain.routing import RoutingDecision, check_slippage_bps
from oee.domain.status import OrderStatus, check_transition
from oee.domain.tokens import MAINNET_TOKENS, Registry, Token, parse_amount


def _no_change() -> None:
    """A move that changes nothing but the status (see `Order._move`)."""


class OrderType(StrEnum):
    """How an order starts executing. Limit and sniper orders will join market orders."""

    MARKET = "market"


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    """Command: execute a swap of `amount_in` base units of `token_in` into `token_out`."""

    token_in: Token
    token_out: Token
    amount_in: int
    slippage_bps: int
    type: OrderType = OrderType.MARKET

    @classmethod
    def parse(
        cls,
        token_in: str,
        token_out: str,
        amount_in: str | int | float | Decimal,
        slippage_bps: int,
        registry: Registry = MAINNET_TOKENS,
    ) -> SubmitOrder:
        """Validate user input into a command.

        Raises:
            InvalidOrder: An unknown token, the same token on both sides, a bad amount or a
                slippage outside the accepted range; `code` says which.
        """
        t_in, t_out = registry.resolve(token_in), registry.resolve(token_out)
        if t_in == t_out:
            raise InvalidOrder("tokenIn and tokenOut must differ", code="SAME_TOKEN")
        check_slippage_bps(slippage_bps)
        units = t_in.to_base_units(parse_amount(amount_in))
        return cls(token_in=t_in, token_out=t_out, amount_in=units, slippage_bps=slippage_bps)

    def fingerprint(self) -> str:
        """A digest of what the command asks for, so `1.5` and `"1.50"` count as the same request."""
        canonical = "|".join(
            (self.type.value, self.token_in.mint, self.token_out.mint, str(self.amount_in))
        )
        return hashlib.sha256(f"{canonical}|{self.slippage_bps}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client's key for one submit: the same key and request return the same order.

    Keys are per owner (API key name; None in open mode): two clients never collide.
    """

    key: str
    fingerprint: str
    expires_at: datetime
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class SignedSwap:
    """A signed swap transaction, persisted before it is sent so a re-run never signs another."""

    signature: str
    last_valid_block_height: int
    raw_tx: str  # base64 wire format, re-sendable as is
    venue: str
    min_amount_out: int
    compute_unit_price: int  # micro-lamports per compute unit
    compute_unit_limit: int = 0  # 0: not recorded (transactions signed before it was)


@dataclass(frozen=True, slots=True)
class Fill:
    """What landed on chain: read from the transaction's balance changes, not from the quote."""

    tx_hash: str
    amount_out: int
    executed_price: Decimal  # whole tokenOut per whole tokenIn
    venue: str
    fee_lamports: int = 0


@dataclass(slots=True)
class Order:
    """A swap order and everything persisted about it."""

    id: str
    type: OrderType
    token_in: Token
    token_out: Token
    amount_in: int
    slippage_bps: int
    status: OrderStatus
    seq: int
    attempt: int
    created_at: datetime
    updated_at: datetime
    decision: RoutingDecision | None = None
    tx: SignedSwap | None = None
    fill: Fill | None = None
    error: str | None = None
    reason: str | None = None
    attempts: list[dict[str, JSON]] = field(default_factory=list)
    # The name of the API key that placed it; None when placed while the engine ran open.
    owner: str | None = None

    @classmethod
    def accept(
        cls, cmd: SubmitOrder, order_id: str, at: datetime, owner: str | None = None
    ) -> tuple[Order, OrderEvent]:
        """Create a pending order (seq 1) from a validated command, owned by `owner`."""
        order = cls(
            id=order_id,
            type=cmd.type,
            token_in=cmd.token_in,
            token_out=cmd.token_out,
            amount_in=cmd.amount_in,
            slippage_bps=cmd.slippage_bps,
            status=OrderStatus.PENDING,
            seq=1,
            attempt=1,
            created_at=at,
            updated_at=at,
            owner=owner,
        )
        event = order._event(
            at,
            orderType=cmd.type.value,
            tokenIn=cmd.token_in.symbol,
            tokenOut=cmd.token_out.symbol,
            amountIn=float(cmd.token_in.from_base_units(cmd.amount_in)),
            slippageBps=cmd.slippage_bps,
        )
        return order, event

    def start_routing(self, at: datetime) -> OrderEvent:
        """pending -> routing: quotes are being fetched from every venue."""
        return self._move(OrderStatus.ROUTING, at)

    def route(self, decision: RoutingDecision, at: datetime) -> OrderEvent:
        """routing -> building: the best venue is chosen and the transaction is being built."""

        def apply() -> None:
            self.decision = decision

        return self._move(
            OrderStatus.BUILDING,
            at,
            apply,
            chosenDex=decision.chosen.venue,
            marginBps=float(decision.margin_bps),
            quotes={
                q.venue: float(self.token_out.from_base_units(q.amount_out))
                for q in decision.quotes
            },
        )

    def submit(self, tx: SignedSwap, at: datetime) -> OrderEvent:
        """building -> submitted: the signed transaction is persisted and about to be sent."""

        def apply() -> None:
            self.tx = tx

        return self._move(
            OrderStatus.SUBMITTED,
            at,
            apply,
            txHash=tx.signature,
            chosenDex=tx.venue,
            lastValidBlockHeight=tx.last_valid_block_height,
        )

    def confirm(self, fill: Fill, at: datetime) -> OrderEvent:
        """submitted -> confirmed: the swap landed."""

        def apply() -> None:
            self.fill = fill
            self._record_attempt("confirmed", at, fee_lamports=fill.fee_lamports)

        return self._move(
            OrderStatus.CONFIRMED,
            at,
            apply,
            txHash=fill.tx_hash,
            executedPrice=float(fill.executed_price),
            chosenDex=fill.venue,
            amountOut=float(self.token_out.from_base_units(fill.amount_out)),
            amountOutBaseUnits=str(fill.amount_out),
        )

    def fail(
        self, code: str, reason: str, at: datetime, *, fee_lamports: int | None = None
    ) -> OrderEvent:
        """Any working status -> failed, for good; `fee_lamports` if a transaction failed on chain."""

        def apply() -> None:
            self.error, self.reason = code, reason
            self._record_attempt("failed", at, fee_lamports=fee_lamports)

        return self._move(OrderStatus.FAILED, at, apply, error=code, reason=reason)

    def retry(self, code: str, reason: str, delay_s: float, at: datetime) -> OrderEvent:
        """Back to pending with the next attempt number, to run again after `delay_s`.

        A retried attempt never landed (what landed and failed is final), so it paid no fee.
        """

        def apply() -> None:
            self._record_attempt("retried", at, code=code, reason=reason)
            self.attempt += 1
            self.tx = None

        return self._move(
            OrderStatus.PENDING,
            at,
            apply,
            error=code,
            reason=reason,
            retryInMs=round(delay_s * 1000),
        )

    def _record_attempt(
        self,
        outcome: str,
        at: datetime,
        code: str | None = None,
        reason: str | None = None,
        *,
        fee_lamports: int | None = None,
    ) -> None:
        self.attempts.append(
            {
                "attempt": self.attempt,
                "outcome": outcome,
                "venue": self.decision.chosen.venue if self.decision else None,
                "txHash": self.tx.signature if self.tx else None,
                "error": code or self.error,
                "reason": reason or self.reason,
                # What the chain charged for this attempt's transaction; None when none landed.
                "feeLamports": fee_lamports,
                "at": at.isoformat(),
            }
        )

    def _move(
        self,
        to: OrderStatus,
        at: datetime,
        apply: Callable[[], None] = _no_change,
        /,
        **details: JSON,
    ) -> OrderEvent:
        """The one way an order changes: check `to` against the table, and only then `apply`
        the move's own field changes, bump `seq` and return the event.

        Raises:
            IllegalTransition: The table forbids the move; the order is left exactly as it was.
        """
        check_transition(self.status, to)
        apply()
        self.status = to
        self.seq += 1
        self.updated_at = at
        return self._event(at, **details)

    def _event(self, at: datetime, **details: JSON) -> OrderEvent:
        return OrderEvent(
            order_id=self.id,
            seq=self.seq,
            type=self.status.value,
            at=at,
            attempt=self.attempt,
            details=details,
            owner=self.owner,
        )
