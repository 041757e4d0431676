"""Pre-trade risk rules as data: token lists, the kill switch's state, the notional window.

Pure: the services feed them what the adapters read (a clock reading, stored state).

The notional window is "the USD value of one API key's orders that passed the check in the last
`window_us`, at most `cap`". Amounts are integer micro-dollars so the in-memory adapter (which
runs `NotionalWindow` below) and the Redis adapter (the same steps in Lua) agree exactly. An
order counts once, by id: a re-run of the same order (queues deliver at least once, retries
route again) finds itself already counted and passes without counting again.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from oee.domain.errors import InvalidOrder
from oee.domain.tokens import Registry, Token

MICRO_USD = 1_000_000
MINUTE_US = 60 * 1_000_000


def usd_to_micro(usd: Decimal) -> int:
    """Whole dollars as integer micro-dollars, rounded up (a limit never rounds in our favour)."""
    return int((usd * MICRO_USD).to_integral_value(rounding=ROUND_CEILING))


def micro_to_usd(micro: int) -> Decimal:
    """Integer micro-dollars as whole dollars."""
    return Decimal(micro).scaleb(-6)


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """Which mints orders may trade: `deny` always refuses; a non-empty `allow` admits only its
    own. Both hold mint addresses (symbols are resolved when the settings are read)."""

    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()

    @classmethod
    def parse(
        cls, allow: str, deny: str, registry: Registry, is_mint: Callable[[str], bool]
    ) -> TokenPolicy:
        """The policy of two comma-separated lists of symbols (of `registry`) or mint addresses.

        Raises:
            ValueError: An entry that is neither a known symbol nor a valid mint address.
        """
        return cls(_mints(allow, registry, is_mint), _mints(deny, registry, is_mint))

    @property
    def active(self) -> bool:
        """Whether any token is refused at all."""
        return bool(self.allow or self.deny)

    def refusals(self, sides: Iterable[tuple[str, Token]]) -> list[tuple[str, str]]:
        """`(field, message)` for each side whose token this policy refuses (none: allowed)."""
        found = []
        for field, token in sides:
            name = token.symbol if token.symbol == token.mint else f"{token.symbol} ({token.mint})"
            if token.mint in self.deny:
                found.append((field, f"{field} {name} is on this engine's deny list"))
            elif self.allow and token.mint not in self.allow:
                found.append((field, f"{field} {name} is not on this engine's allow list"))
        return found


def _mints(text: str, registry: Registry, is_mint: Callable[[str], bool]) -> frozenset[str]:
    found = set()
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        try:
            found.add(registry.resolve(entry).mint)
        except InvalidOrder:
            if not is_mint(entry):
                raise ValueError(
                    f"{entry[:60]!r} is neither a token symbol of this cluster nor a mint address"
                ) from None
            found.add(entry)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Halt:
    """The kill switch: whether new orders may route, and who set it, when and why."""

    halted: bool
    reason: str | None = None
    by: str | None = None  # the admin key's name; None in open mode or never set
    at: datetime | None = None  # when it was last set either way; None: never

    def to_wire(self) -> dict[str, object]:
        """The API's view of it."""
        return {
            "halted": self.halted,
            "reason": self.reason,
            "by": self.by,
            "since": self.at.isoformat() if self.at is not None else None,
        }


TRADING = Halt(False)  # never halted


@dataclass(frozen=True, slots=True)
class NotionalDecision:
    """What the window said about one order.

    Attributes:
        allowed: The order fits (or was counted before).
        used: Micro-dollars counted in the window after this decision (refused: before it).
        replayed: The order was already counted (a re-run): nothing was added.
    """

    allowed: bool
    used: int
    replayed: bool = False


class NotionalWindow:
    """One key's sliding window of counted orders, in memory (the Redis adapter's Lua mirrors
    `spend` step for step)."""

    __slots__ = ("_amounts", "_entries", "total")

    def __init__(self) -> None:
        self._entries: deque[tuple[int, str]] = deque()  # (counted at, order id), oldest first
        self._amounts: dict[str, int] = {}
        self.total = 0

    def spend(
        self, order_id: str, amount: int, cap: int, now_us: int, window_us: int = MINUTE_US
    ) -> NotionalDecision:
        """Count `amount` micro-dollars for `order_id` if the window stays within `cap`."""
        self.expire(now_us - window_us)
        if order_id in self._amounts:
            return NotionalDecision(True, self.total, replayed=True)
        if self.total + amount > cap:
            return NotionalDecision(False, self.total)
        self._entries.append((now_us, order_id))
        self._amounts[order_id] = amount
        self.total += amount
        return NotionalDecision(True, self.total)

    def expire(self, before_us: int) -> None:
        """Forget what was counted at or before `before_us`."""
        while self._entries and self._entries[0][0] <= before_us:
            _, order_id = self._entries.popleft()
            self.total -= self._amounts.pop(order_id)

    def __bool__(self) -> bool:
        return bool(self._entries)


def window_seconds(window_us: int) -> int:
    """The window in whole seconds, for messages."""
    return math.ceil(window_us / 1_000_000)
