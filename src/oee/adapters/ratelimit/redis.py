"""The rate limiter shared by every API process: each client's GCRA state in Redis.

One Lua script per request (one round trip: `EVALSHA`), atomic on the server, so concurrent
requests of one client on any number of processes draw from one budget. The script is
`oee.domain.ratelimit.gcra` step for step, on integer microseconds. The time is Redis's own
(`TIME`) unless a clock is given: every process then reads the same clock, so clock skew
between API hosts cannot hand anyone extra requests. Each key (`<prefix>:ratelimit:<client>`)
expires when the client's bucket is full again: an idle client costs nothing.

It fails open. When Redis cannot be reached (or answers slower than `timeout_s`), `hit`
returns None and the request goes through unlimited; it logs a warning once and does not ask
Redis again for `retry_s`, so an outage adds no latency to every request. The reasoning: the
limit protects the engine's capacity, not an invariant; refusing every call because the
limiter's store is down would turn a Redis outage into a total one (reads and streams work from
PostgreSQL alone), and the submissions that do need Redis fail on their own with 503.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from oee.adapters.redis_clock import lua_now
from oee.domain.ratelimit import US, RateDecision, RatePolicy

log = structlog.get_logger(__name__)

# KEYS[1]: the client's TAT. ARGV: emission interval (µs), burst, now (µs, or "" for TIME).
# Returns {allowed (0/1), remaining, reset (µs), retry after (µs)}.
GCRA_LUA = (
    lua_now(3)
    + """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tolerance = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local new_tat = tat + interval
if new_tat - now > tolerance then
  return {0, 0, tat - now, new_tat - tolerance - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((tolerance - (new_tat - now)) / interval), new_tat - now, 0}
"""
)

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, BusyLoadingError, OSError)


class RedisRateLimiter:
    """`RateLimiter` over Redis, for any number of API processes.

    Args:
        redis_url: The Redis server, e.g. `redis://localhost:6379/0`.
        prefix: The engine's Redis prefix; keys are `<prefix>:ratelimit:<client>`.
        clock: Seconds since the epoch to use instead of Redis's `TIME` (tests steer it).
        timeout_s: Longest wait for Redis before failing open.
        retry_s: After a failure, how long requests pass unlimited before Redis is tried again.
    """

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        *,
        clock: Callable[[], float] | None = None,
        timeout_s: float = 0.5,
        retry_s: float = 1.0,
    ) -> None:
        self._prefix = f"{prefix}:ratelimit:"
        self._clock = clock
        self._retry_s = retry_s
        self._down_until: float | None = None
        # One retry replaces a connection that died with a Redis restart; then fail open.
        self._redis = Redis.from_url(
            redis_url,
            retry=Retry(NoBackoff(), 1),
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
            client_name=f"{prefix}:ratelimit",
        )
        self._script = self._redis.register_script(GCRA_LUA)

    async def hit(self, key: str, policy: RatePolicy) -> RateDecision | None:
        """Count one request of `key`; None (let it through) while Redis is unreachable."""
        if self._down_until is not None and time.monotonic() < self._down_until:
            return None
        now = "" if self._clock is None else str(round(self._clock() * US))
        try:
            reply = await self._script(
                keys=[self._prefix + key], args=[policy.interval_us, policy.burst, now]
            )
        except _UNREACHABLE as error:
            if self._down_until is None:
                log.warning(
                    "rate_limiter_unavailable",
                    error=repr(error),
                    effect="requests pass unlimited until Redis answers again",
                )
            self._down_until = time.monotonic() + self._retry_s
            return None
        if self._down_until is not None:
            log.info("rate_limiter_recovered")
            self._down_until = None
        allowed, remaining, reset_us, retry_after_us = (int(x) for x in reply)
        return RateDecision(bool(allowed), policy.burst, remaining, reset_us, retry_after_us)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
