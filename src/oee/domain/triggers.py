"""Triggers: what a limit or sniper order waits for, and what fired it.

A limit order waits for a price: it fires when the best net quote for its own size pays at
least `limit_price` whole tokenOut per whole tokenIn, and its swap never accepts less
(`limit_floor`). A sniper order waits for a launch: it fires on the first pool that opens for
its mint on an allowed venue. Both may expire. Everything here is pure; the watchers that
compare prices and listen for launches live in `oee.services.triggers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from oee.domain.errors import InvalidOrder
from oee.domain.events import JSON
from oee.domain.routing import BPS

# How long an order may wait for its trigger: the default when none is given, and the most.
DEFAULT_TTL = timedelta(hours=24)
MAX_TTL = timedelta(days=7)
VENUE_NAMES = ("raydium", "meteora")
# A limit price beyond this many significant digits says nothing a u64 amount can express.
_MAX_PRICE_DIGITS = 30


class TriggerKind(StrEnum):
    """What an armed order waits for."""

    PRICE = "price"  # limit orders
    LAUNCH = "launch"  # sniper orders


@dataclass(frozen=True, slots=True)
class Trigger:
    """The condition that starts an order's execution, and until when it may wait.

    Attributes:
        kind: Price (limit) or launch (sniper).
        expires_at: When the order stops waiting (it then ends `expired`).
        limit_price: Limit orders: the worst acceptable price, whole tokenOut per whole tokenIn.
        venues: Sniper orders: the venues whose launches fire it.
    """

    kind: TriggerKind
    expires_at: datetime
    limit_price: Decimal | None = None
    venues: tuple[str, ...] = VENUE_NAMES

    def to_dict(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {"kind": self.kind.value, "expiresAt": self.expires_at.isoformat()}
        if self.limit_price is not None:
            data["limitPrice"] = str(self.limit_price)
        if self.kind is TriggerKind.LAUNCH:
            data["venues"] = list(self.venues)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> Trigger:
        price = data.get("limitPrice")
        return cls(
            kind=TriggerKind(data["kind"]),
            expires_at=datetime.fromisoformat(data["expiresAt"]),
            limit_price=Decimal(price) if price is not None else None,
            venues=tuple(data.get("venues") or VENUE_NAMES),
        )


@dataclass(frozen=True, slots=True)
class Firing:
    """What fired a trigger: the price seen (limit) or the launch (sniper).

    Attributes:
        at: When the watcher saw it.
        price: Limit orders: the best net price for the order's size, tokenOut per tokenIn.
        venue: The venue that quoted that price, or whose pool launched.
        pool: The pool's address.
        signature: Sniper orders: the launch transaction (None when found by a catch-up scan).
        slot: The launch's slot, when known.
        decimals: Sniper orders: the launched mint's decimals, read from the chain.
    """

    at: datetime
    price: Decimal | None = None
    venue: str | None = None
    pool: str | None = None
    signature: str | None = None
    slot: int | None = None
    decimals: int | None = None

    def to_dict(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {"at": self.at.isoformat()}
        if self.price is not None:
            data["price"] = str(self.price)
        for key, value in (
            ("venue", self.venue),
            ("pool", self.pool),
            ("signature", self.signature),
            ("slot", self.slot),
            ("decimals", self.decimals),
        ):
            if value is not None:
                data[key] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> Firing:
        price = data.get("price")
        return cls(
            at=datetime.fromisoformat(data["at"]),
            price=Decimal(price) if price is not None else None,
            venue=data.get("venue"),
            pool=data.get("pool"),
            signature=data.get("signature"),
            slot=data.get("slot"),
            decimals=data.get("decimals"),
        )


def limit_floor(limit_price: Decimal, decimals_in: int, decimals_out: int, amount_in: int) -> int:
    """The fewest base units out that meet `limit_price` for `amount_in` base units in.

    Rounded up: an output one base unit short of the limit does not meet it.
    """
    exact = limit_price * Decimal(amount_in).scaleb(decimals_out - decimals_in)
    return int(exact.to_integral_value(rounding=ROUND_CEILING))


def check_limit_price(value: Decimal) -> Decimal:
    """Validate a limit price: finite, positive, and not absurdly precise.

    Raises:
        InvalidOrder: LIMIT_PRICE_INVALID.
    """
    if not value.is_finite() or value <= 0:
        raise InvalidOrder(
            "limitPrice must be a finite number greater than zero", code="LIMIT_PRICE_INVALID"
        )
    if len(value.normalize().as_tuple().digits) > _MAX_PRICE_DIGITS:
        raise InvalidOrder(
            f"limitPrice has more than {_MAX_PRICE_DIGITS} significant digits",
            code="LIMIT_PRICE_INVALID",
        )
    return value


def expiry(
    now: datetime,
    expires_at: datetime | None,
    ttl_seconds: int | None,
    *,
    default_ttl: timedelta = DEFAULT_TTL,
    max_ttl: timedelta = MAX_TTL,
) -> datetime:
    """When an order stops waiting: `expires_at`, or `now + ttl_seconds`, or the default.

    Raises:
        InvalidOrder: EXPIRY_CONFLICT (both given), EXPIRY_IN_PAST, EXPIRY_TOO_FAR.
    """
    if expires_at is not None and ttl_seconds is not None:
        raise InvalidOrder("give expiresAt or ttlSeconds, not both", code="EXPIRY_CONFLICT")
    if ttl_seconds is not None:
        if ttl_seconds <= 0:
            raise InvalidOrder("ttlSeconds must be greater than zero", code="EXPIRY_IN_PAST")
        if ttl_seconds > max_ttl.total_seconds():
            raise InvalidOrder(_too_far(max_ttl), code="EXPIRY_TOO_FAR")
        return now + timedelta(seconds=ttl_seconds)
    if expires_at is None:
        return now + default_ttl
    if expires_at.tzinfo is None:
        raise InvalidOrder(
            "expiresAt needs a time zone offset (e.g. 2026-12-04T18:00:00Z)",
            code="EXPIRY_INVALID",
        )
    if expires_at <= now:
        raise InvalidOrder("expiresAt is in the past", code="EXPIRY_IN_PAST")
    if expires_at - now > max_ttl:
        raise InvalidOrder(_too_far(max_ttl), code="EXPIRY_TOO_FAR")
    return expires_at


def check_venues(names: tuple[str, ...]) -> tuple[str, ...]:
    """Validate a sniper's venue list: known names, at least one, no repeats.

    Raises:
        InvalidOrder: UNKNOWN_VENUE.
    """
    if not names:
        raise InvalidOrder("venues must name at least one venue", code="UNKNOWN_VENUE")
    unknown = [n for n in names if n not in VENUE_NAMES]
    if unknown:
        raise InvalidOrder(
            f"unknown venue {unknown[0]!r}; the venues are {', '.join(VENUE_NAMES)}",
            code="UNKNOWN_VENUE",
        )
    return tuple(dict.fromkeys(names))


def check_price_impact_bps(value: int, cap_bps: int) -> int:
    """Validate an order's own price-impact ceiling against the engine's cap.

    Raises:
        InvalidOrder: PRICE_IMPACT_OUT_OF_RANGE.
    """
    if not 1 <= value <= min(cap_bps, BPS):
        raise InvalidOrder(
            f"maxPriceImpactBps must be between 1 and {min(cap_bps, BPS)}",
            code="PRICE_IMPACT_OUT_OF_RANGE",
        )
    return value


def _too_far(max_ttl: timedelta) -> str:
    return f"an order may wait at most {int(max_ttl.total_seconds())} seconds"
