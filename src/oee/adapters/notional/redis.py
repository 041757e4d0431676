"""The notional limiter shared by every worker: each key's window in Redis.

One Lua script per order (one round trip), atomic on the server, so workers routing orders of
one key at the same moment draw on one window: `oee.domain.risk.NotionalWindow.spend` step for
step. Three keys per API key, under one hash tag so a cluster keeps them on one node: a sorted
set of order ids by the time they were counted, a hash of their amounts, and the running total.
All three expire a window after the last count, so an idle key costs nothing. The time is
Redis's own (`TIME`) unless a clock is given, so workers' clock skew cannot widen the window.

It fails closed, unlike the rate limiter: an unreachable Redis raises, the executor leaves the
order where it is and the queue runs it again later. This limit bounds money, not load.
"""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio import Redis

from oee.adapters.redis_clock import lua_now
from oee.domain.risk import MINUTE_US, NotionalDecision

# KEYS: times (zset), amounts (hash), total. ARGV: now (µs, or "" for TIME), window (µs),
# order id, amount, cap. Returns {allowed (0/1), used, replayed (0/1)}.
SPEND_LUA = (
    lua_now(1)
    + """
local window = tonumber(ARGV[2])
local id, amount, cap = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local total = tonumber(redis.call('GET', KEYS[3]) or '0')
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
for _, gone in ipairs(old) do
  total = total - tonumber(redis.call('HGET', KEYS[2], gone) or '0')
  redis.call('HDEL', KEYS[2], gone)
end
if #old > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  redis.call('SET', KEYS[3], string.format('%d', total), 'PX', math.ceil(window / 1000))
end
if redis.call('HEXISTS', KEYS[2], id) == 1 then
  return {1, string.format('%d', total), 1}
end
if total + amount > cap then
  return {0, string.format('%d', total), 0}
end
total = total + amount
local ttl = math.ceil(window / 1000)
redis.call('ZADD', KEYS[1], now, id)
redis.call('HSET', KEYS[2], id, string.format('%d', amount))
redis.call('SET', KEYS[3], string.format('%d', total), 'PX', ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {1, string.format('%d', total), 0}
"""
)


class RedisNotionalLimiter:
    """`NotionalLimiter` over Redis, for any number of worker processes.

    Args:
        redis_url: The Redis server, e.g. `redis://localhost:6379/0`.
        prefix: The engine's Redis prefix; keys are `<prefix>:notional:{<key>}:...`.
        clock: Seconds since the epoch to use instead of Redis's `TIME` (tests steer it).
        window_us: The window's length (a minute).
    """

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        *,
        clock: Callable[[], float] | None = None,
        window_us: int = MINUTE_US,
    ) -> None:
        self._prefix = f"{prefix}:notional:"
        self._clock, self._window_us = clock, window_us
        self._redis = Redis.from_url(redis_url, client_name=f"{prefix}:notional")
        self._script = self._redis.register_script(SPEND_LUA)

    async def spend(
        self, key: str, order_id: str, usd_micro: int, cap_micro: int
    ) -> NotionalDecision:
        """Count the order in `key`'s window if it fits (see the port).

        Raises:
            redis.exceptions.RedisError: Redis cannot be reached (fail closed).
        """
        # A hash tag keeps one key's three entries together; braces in a name would break it.
        tag = "{" + key.replace("{", "(").replace("}", ")") + "}"
        base = self._prefix + tag
        now = "" if self._clock is None else str(round(self._clock() * 1_000_000))
        reply = await self._script(
            keys=[f"{base}:times", f"{base}:amounts", f"{base}:total"],
            args=[now, self._window_us, order_id, usd_micro, cap_micro],
        )
        allowed, used, replayed = (int(x) for x in reply)
        return NotionalDecision(bool(allowed), used, replayed=bool(replayed))

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
