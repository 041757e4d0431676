"""The clock a Redis Lua script reads: the caller's, for tests, or the server's own.

Every process sharing a Redis-held window or bucket must agree on "now", so production passes
nothing and the script asks Redis (`TIME`); tests pass a steered clock's microseconds.
"""

from __future__ import annotations


def lua_now(argv_index: int) -> str:
    """Lua that sets the local `now` (µs) from `ARGV[argv_index]`, or from `TIME` when empty."""
    return f"""local now
if ARGV[{argv_index}] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[{argv_index}])
end
"""
