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
from oee.domain.triggers import (
    VENUE_NAMES,
    Firing,
    Trigger,
    TriggerKind,
    check_limit_price,
    check_price_impact_bps,
    check_venues,
    expiry,
)


def _no_change() -> None:
    """A move that changes nothing but the status (see `Order._move`)."""


class OrderType(StrEnum):
    """How an order starts executing: at once, when a price is reached, or when a pool opens."""

    MARKET = "market"
    LIMIT = "limit"
    SNIPER = "sniper"


# What a sniper order may pay with: the quote sides new pools open against.
SNIPER_PAYS_WITH = ("SOL", "USDC")
# The most an order may set its own maxPriceImpactBps to, unless the engine is told otherwise.
DEFAULT_PRICE_IMPACT_CAP_BPS = 5_000


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """The optional parts of a submit, as the client wrote them (None: not given).

    Attributes:
        type: "market" (default), "limit" or "sniper".
        limit_price: Limit orders: worst acceptable whole tokenOut per whole tokenIn.
        expires_at: Limit and sniper orders: when to stop waiting (aware datetime).
        ttl_seconds: Or: how long to wait from now.
        venues: Sniper orders: the venues whose launches fire it (default: all).
        max_price_impact_bps: Limit and sniper orders: the most price impact the swap may have.
    """

    type: str = "market"
    limit_price: Decimal | None = None
    expires_at: datetime | None = None
    ttl_seconds: int | None = None
    venues: tuple[str, ...] | None = None
    max_price_impact_bps: int | None = None


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    """Command: execute a swap of `amount_in` base units of `token_in` into `token_out`."""

    token_in: Token
    token_out: Token
    amount_in: int
    slippage_bps: int
    type: OrderType = OrderType.MARKET
    trigger: Trigger | None = None
    max_price_impact_bps: int | None = None

    @classmethod
    def parse(
        cls,
        token_in: str,
        token_out: str,
        amount_in: str | int | float | Decimal,
        slippage_bps: int,
        registry: Registry = MAINNET_TOKENS,
        terms: OrderTerms | None = None,
        *,
        now: datetime | None = None,
        is_mint: Callable[[str], bool] | None = None,
        price_impact_cap_bps: int = DEFAULT_PRICE_IMPACT_CAP_BPS,
    ) -> SubmitOrder:
        """Validate user input into a command.

        Args:
            token_in: Symbol or mint of what the order pays.
            token_out: Symbol or mint of what it buys; a sniper order may name any mint.
            amount_in: Whole tokens of `token_in`.
            slippage_bps: Tolerance below the routing quote.
            registry: The tokens this cluster trades.
            terms: The order type and its own fields (default: a market order).
            now: The time expiries are counted from (required for limit and sniper orders).
            is_mint: Tells whether a string is a valid mint address (sniper orders' tokenOut).
            price_impact_cap_bps: The most `maxPriceImpactBps` an order may ask for.

        Raises:
            InvalidOrder: An unknown token or type, the same token on both sides, a bad amount,
                slippage, limit price, expiry or venue, or a field the type does not take;
                `code` says which.
        """
        terms = terms or OrderTerms()
        order_type = _order_type(terms.type)
        _refuse_foreign_fields(order_type, terms)
        t_in = registry.resolve(token_in)
        if order_type is OrderType.SNIPER:
            t_out = _sniper_target(token_out, registry, is_mint)
            if t_in.symbol not in SNIPER_PAYS_WITH:
                raise InvalidOrder(
                    f"a sniper order pays with {' or '.join(SNIPER_PAYS_WITH)}",
                    code="SNIPER_TOKEN_IN",
                )
        else:
            t_out = registry.resolve(token_out)
        if t_in == t_out:
            raise InvalidOrder("tokenIn and tokenOut must differ", code="SAME_TOKEN")
        check_slippage_bps(slippage_bps)
        units = t_in.to_base_units(parse_amount(amount_in))
        trigger = None
        if order_type is not OrderType.MARKET:
            if now is None:
                raise ValueError("limit and sniper orders need `now` to count their expiry from")
            expires_at = expiry(now, terms.expires_at, terms.ttl_seconds)
            if order_type is OrderType.LIMIT:
                if terms.limit_price is None:
                    raise InvalidOrder(
                        "a limit order needs limitPrice", code="LIMIT_PRICE_REQUIRED"
                    )
                trigger = Trigger(
                    TriggerKind.PRICE, expires_at, limit_price=check_limit_price(terms.limit_price)
                )
            else:
                venues = check_venues(terms.venues) if terms.venues is not None else VENUE_NAMES
                trigger = Trigger(TriggerKind.LAUNCH, expires_at, venues=venues)
        impact = terms.max_price_impact_bps
        if impact is not None:
            check_price_impact_bps(impact, price_impact_cap_bps)
        return cls(
            token_in=t_in,
            token_out=t_out,
            amount_in=units,
            slippage_bps=slippage_bps,
            type=order_type,
            trigger=trigger,
            max_price_impact_bps=impact,
        )

    def fingerprint(self) -> str:
        """A digest of what the command asks for, so `1.5` and `"1.50"` count as the same request.

        An expiry is left out: a client retrying with the same `ttlSeconds` asks for the same
        order even though the clock has moved.
        """
        parts = [self.type.value, self.token_in.mint, self.token_out.mint, str(self.amount_in)]
        parts.append(str(self.slippage_bps))
        if self.type is not OrderType.MARKET:
            trigger = self.trigger
            price = trigger.limit_price if trigger else None
            parts += [str(price), ",".join(trigger.venues if trigger else ())]
            parts.append(str(self.max_price_impact_bps))
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _order_type(value: str) -> OrderType:
    try:
        return OrderType(value.lower())
    except ValueError:
        known = ", ".join(t.value for t in OrderType)
        raise InvalidOrder(
            f"type {value[:40]!r} is not an order type; the types are {known}",
            code="UNSUPPORTED_ORDER_TYPE",
        ) from None


def _refuse_foreign_fields(order_type: OrderType, terms: OrderTerms) -> None:
    """A field another type takes must never be ignored: it would change what executes."""
    taken = {
        "limitPrice": terms.limit_price is not None,
        "expiresAt": terms.expires_at is not None,
        "ttlSeconds": terms.ttl_seconds is not None,
        "venues": terms.venues is not None,
        "maxPriceImpactBps": terms.max_price_impact_bps is not None,
    }
    allowed = {
        OrderType.MARKET: set[str](),
        OrderType.LIMIT: {"limitPrice", "expiresAt", "ttlSeconds", "maxPriceImpactBps"},
        OrderType.SNIPER: {"expiresAt", "ttlSeconds", "venues", "maxPriceImpactBps"},
    }[order_type]
    for name, given in taken.items():
        if given and name not in allowed:
            raise InvalidOrder(
                f"{name} does not apply to a {order_type.value} order",
                code="FIELD_NOT_FOR_TYPE",
            )


def _sniper_target(
    token_out: str, registry: Registry, is_mint: Callable[[str], bool] | None
) -> Token:
    """A registry token as is, else any valid mint address, whose decimals the launch will tell."""
    try:
        return registry.resolve(token_out)
    except InvalidOrder:
        if is_mint is None or not is_mint(token_out):
            raise InvalidOrder(
                f"tokenOut {token_out[:60]!r} is neither a known token nor a valid mint address",
                code="INVALID_MINT",
            ) from None
        return Token.unlisted(token_out)


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
    # Limit and sniper orders: what they wait for, and what fired them last.
    trigger: Trigger | None = None
    fired: Firing | None = None
    max_price_impact_bps: int | None = None

    @property
    def waits(self) -> bool:
        """True while a pending order must be armed before it routes (its trigger has not fired)."""
        return self.trigger is not None and self.fired is None

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
            trigger=cmd.trigger,
            max_price_impact_bps=cmd.max_price_impact_bps,
        )
        details: dict[str, JSON] = {}
        if cmd.trigger is not None:
            details["trigger"] = cmd.trigger.to_dict()
        if cmd.max_price_impact_bps is not None:
            details["maxPriceImpactBps"] = cmd.max_price_impact_bps
        event = order._event(
            at,
            orderType=cmd.type.value,
            tokenIn=cmd.token_in.symbol,
            tokenOut=cmd.token_out.symbol,
            amountIn=float(cmd.token_in.from_base_units(cmd.amount_in)),
            slippageBps=cmd.slippage_bps,
            **details,
        )
        return order, event

    def start_routing(self, at: datetime) -> OrderEvent:
        """pending -> routing: quotes are being fetched from every venue."""
        return self._move(OrderStatus.ROUTING, at)

    def arm(self, at: datetime) -> OrderEvent:
        """pending -> watching: the order waits for its trigger (the event says what for)."""
        assert self.trigger is not None  # only limit and sniper orders are armed
        return self._move(OrderStatus.WATCHING, at, _no_change, trigger=self.trigger.to_dict())

    def fire(self, firing: Firing, at: datetime) -> OrderEvent:
        """watching -> routing: the trigger fired; the event says what fired it.

        A sniper's firing carries the launched mint's decimals, which its token learns here.
        """

        def apply() -> None:
            self.fired = firing
            if firing.decimals is not None and self.token_out.symbol == self.token_out.mint:
                self.token_out = Token.unlisted(self.token_out.mint, firing.decimals)

        return self._move(OrderStatus.ROUTING, at, apply, triggeredBy=firing.to_dict())

    def rearm(
        self, code: str, reason: str, at: datetime, price: Decimal | None = None
    ) -> OrderEvent:
        """routing -> watching: the price moved away between the trigger and the quote.

        Nothing was signed; the order waits again (until it expires).
        """
        details: dict[str, JSON] = {"error": code, "reason": reason}
        if price is not None:
            details["price"] = str(price)
        return self._move(OrderStatus.WATCHING, at, _no_change, **details)

    def cancel(self, reason: str, at: datetime) -> OrderEvent:
        """pending or watching -> cancelled, for good."""

        def apply() -> None:
            self.reason = reason

        return self._move(OrderStatus.CANCELLED, at, apply, reason=reason)

    def expire(self, at: datetime) -> OrderEvent:
        """watching -> expired: its trigger did not fire in time."""
        assert self.trigger is not None
        reason = f"the trigger did not fire before {self.trigger.expires_at.isoformat()}"

        def apply() -> None:
            self.reason = reason

        return self._move(OrderStatus.EXPIRED, at, apply, reason=reason)

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
