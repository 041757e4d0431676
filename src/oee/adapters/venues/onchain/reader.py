"""What both on-chain venues read with: the account source, and the pool and state caches."""

from __future__ import annotations

import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from oee.adapters.chain.batching import SharedReads
from oee.adapters.chain.rpc import Account, AccountsAt

Filters = list[dict[str, Any]]
CLOCK_SYSVAR = "SysvarC1ock11111111111111111111111111111111"
# SPL Token account: mint (32), owner (32), amount (u64) ... 165 bytes (Token-2022: more).
_TOKEN_AMOUNT = struct.Struct("<Q")
_TOKEN_AMOUNT_OFFSET = 64
_TOKEN_ACCOUNT_SIZE = 165
# Clock sysvar: slot, epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp.
_CLOCK_UNIX_TIMESTAMP = struct.Struct("<q")
_CLOCK_UNIX_OFFSET, _CLOCK_SIZE = 32, 40


class AccountSource(Protocol):
    """The JSON-RPC reads the venues need (`RpcChain` implements them)."""

    async def multiple_accounts(self, addresses: Sequence[str]) -> AccountsAt:
        """The accounts at `addresses`, in order, and the slot they were read at."""

    async def program_accounts(
        self, program_id: str, filters: Sequence[dict[str, Any]]
    ) -> list[tuple[str, Account]]:
        """The program's accounts matching every filter, as `(address, account)`."""


class UnreadableAccount(ValueError):
    """An account that is missing or does not hold what it should."""


def token_amount(account: Account | None, what: str) -> int:
    """The amount an SPL Token (or Token-2022) account holds.

    Raises:
        UnreadableAccount: No account, or too short to be a token account.
    """
    if account is None:
        raise UnreadableAccount(f"{what} does not exist")
    if len(account.data) < _TOKEN_ACCOUNT_SIZE:
        raise UnreadableAccount(f"{what} is not a token account ({len(account.data)} bytes)")
    return int(_TOKEN_AMOUNT.unpack_from(account.data, _TOKEN_AMOUNT_OFFSET)[0])


def unix_time(clock: Account | None) -> int:
    """The cluster's unix time from the Clock sysvar; this machine's when the node has none."""
    if clock is not None and len(clock.data) >= _CLOCK_SIZE:
        stamp = int(_CLOCK_UNIX_TIMESTAMP.unpack_from(clock.data, _CLOCK_UNIX_OFFSET)[0])
        if stamp > 0:
            return stamp
    return int(time.time())


class PoolCache:
    """A pair's pools, found by `getProgramAccounts` and kept a while.

    Pools appear rarely, so a found list is kept `ttl_s`; a pair with no pool is asked again
    after `miss_ttl_s`, so a pool launched meanwhile is found within seconds. Concurrent
    lookups of one pair share one discovery.
    """

    def __init__(self, ttl_s: float, miss_ttl_s: float) -> None:
        self._reads: SharedReads[frozenset[str], list[tuple[str, Account]]] = SharedReads(
            ttl_s, ttl_for=lambda pools: ttl_s if pools else miss_ttl_s
        )

    async def get(
        self, pair: frozenset[str], discover: Callable[[], Awaitable[list[tuple[str, Account]]]]
    ) -> list[tuple[str, Account]]:
        """The pools of `pair`: cached, or `discover()`ed now."""
        return await self._reads.get(pair, discover)

    def forget(self, pair: frozenset[str]) -> None:
        """Discover the pair's pools again on the next lookup (e.g. after a launch)."""
        self._reads.forget(pair)


class StateCache:
    """Pool state reads shared by concurrent quotes and kept at most `ttl_s` (about a slot)."""

    def __init__(self, source: AccountSource, ttl_s: float) -> None:
        self._source = source
        self._reads: SharedReads[tuple[str, ...], AccountsAt] = SharedReads(ttl_s)

    async def read(self, addresses: Sequence[str]) -> AccountsAt:
        """The accounts at `addresses` (one getMultipleAccounts, shared and briefly cached)."""
        key = tuple(addresses)
        return await self._reads.get(key, lambda: self._source.multiple_accounts(key))


class DecodeCache:
    """Decoded accounts kept by address while their bytes stay the same.

    Many quotes of one slot read the same bytes (a bin array decodes in about 0.35 ms), and
    most accounts do not change between slots: equal bytes reuse the decoded record.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self._max = max_entries
        self._held: dict[str, tuple[bytes, Any]] = {}

    def get(self, address: str, data: bytes, decode: Callable[[bytes], Any]) -> Any:
        """`decode(data)`, or the record decoded from the same bytes at `address` before."""
        held = self._held.get(address)
        if held is not None and held[0] == data:
            return held[1]
        record = decode(data)
        if len(self._held) >= self._max:
            self._held.clear()
        self._held[address] = (data, record)
        return record
