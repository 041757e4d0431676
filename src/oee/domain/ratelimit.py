"""Rate limits as data: the `OEE_RATE_LIMIT` policy and the GCRA that enforces it.

A policy is "`count` requests per `period_s`, at most `burst` at once". It is enforced with the
generic cell rate algorithm (GCRA), a token bucket kept as one number per client: the
theoretical arrival time (TAT), the moment the client's bucket is full again. Each request
moves it on by the emission interval (`period_s / count`); a request that would move it more
than `burst` intervals past now is refused, and told when it may come back. One integer per
client, one comparison per request, and nothing to refill on a timer.

Times are integer microseconds, so the in-memory adapter (which runs `gcra` below) and the
Redis adapter (which runs the same steps in Lua) agree to the microsecond.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

US = 1_000_000

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
}
_RATE = re.compile(r"\s*([0-9]{1,9})\s*/\s*([a-z]+)\s*")
OFF = frozenset({"", "off", "none", "0"})


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """`count` requests per `period_s` seconds, `burst` of them at once."""

    count: int
    period_s: int
    burst: int

    @property
    def interval_us(self) -> int:
        """The emission interval: how far each request moves the TAT (at least 1 µs)."""
        return max(1, self.period_s * US // self.count)

    @property
    def window_s(self) -> int:
        """Seconds an empty bucket takes to fill again: the window of `RateLimit-Policy`."""
        return max(1, math.ceil(self.burst * self.interval_us / US))

    def __str__(self) -> str:
        unit = {1: "s", 60: "min", 3600: "h"}[self.period_s]
        return f"{self.count}/{unit} (burst {self.burst})"


def parse_rate(text: str, burst: int | None = None) -> RatePolicy | None:
    """`OEE_RATE_LIMIT` (and `OEE_RATE_LIMIT_BURST`): a policy, or None for no limit.

    The form is `<count>/<unit>`: `20/s`, `600/min`, `10000/h` (unit: s, sec, second, m, min,
    minute, h, hour). `off` (or empty, `none`, `0`) turns limiting off. The burst defaults to
    twice the count: `50/s` lets 100 requests through at once, then 50 a second.

    Raises:
        ValueError: Anything else, with the form expected.
    """
    cleaned = text.strip().lower()
    if cleaned in OFF:
        return None
    match = _RATE.fullmatch(cleaned)
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(
            f"OEE_RATE_LIMIT must look like 50/s, 600/min or 10000/h (or be off), got {text[:40]!r}"
        )
    count = int(match.group(1))
    if count < 1:
        raise ValueError("OEE_RATE_LIMIT must allow at least 1 request (or be off)")
    if burst is not None and burst < 1:
        raise ValueError(f"OEE_RATE_LIMIT_BURST must be at least 1, got {burst}")
    return RatePolicy(count, _UNITS[match.group(2)], burst if burst is not None else 2 * count)


@dataclass(frozen=True, slots=True)
class RateDecision:
    """What the limiter says of one request, with what the `RateLimit-*` headers report.

    `remaining` is how many more requests would pass right now; `reset_us` is how long until
    the whole burst is available again; `retry_after_us` (0 when allowed) how long until a
    refused request would pass.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_us: int
    retry_after_us: int = 0

    @property
    def reset_s(self) -> int:
        """`reset_us` in whole seconds, rounded up (the `RateLimit-Reset` header)."""
        return math.ceil(self.reset_us / US)

    @property
    def retry_after_s(self) -> int:
        """`retry_after_us` in whole seconds, rounded up, at least 1 (`Retry-After`)."""
        return max(1, math.ceil(self.retry_after_us / US))


def gcra(tat_us: int | None, now_us: int, policy: RatePolicy) -> tuple[int | None, RateDecision]:
    """One request at `now_us` against a client whose TAT is `tat_us` (None: never seen).

    Returns:
        The TAT to store (None when refused: nothing changes), and the decision.
    """
    interval = policy.interval_us
    tolerance = interval * policy.burst
    tat = now_us if tat_us is None or tat_us < now_us else tat_us
    new_tat = tat + interval
    if new_tat - now_us > tolerance:
        return None, RateDecision(
            allowed=False,
            limit=policy.burst,
            remaining=0,
            reset_us=tat - now_us,
            retry_after_us=new_tat - tolerance - now_us,
        )
    remaining = (tolerance - (new_tat - now_us)) // interval
    return new_tat, RateDecision(True, policy.burst, remaining, new_tat - now_us)
