"""An in-memory account source for the on-chain venue adapters: the node's two reads, counted.

`FakeAccounts` answers `getMultipleAccounts` and `getProgramAccounts` (with agave's `dataSize`
and `memcmp` filters, base58 bytes) from a dict, and counts each call so tests can check what
the caches and the coalescing save.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from solders.pubkey import Pubkey

from oee.adapters.chain.rpc import Account, AccountsAt


class FakeAccounts:
    """Accounts by address; `slot` is what every read reports."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.accounts: dict[str, Account] = {}
        self.slot = 1_000
        self.delay_s = delay_s
        self.multiple_calls: list[tuple[str, ...]] = []
        self.program_calls: list[tuple[str, list[dict[str, Any]]]] = []

    def put(self, address: object, owner: object, data: bytes, lamports: int = 10**7) -> None:
        self.accounts[str(address)] = Account(str(owner), lamports, data)

    async def multiple_accounts(self, addresses: Sequence[str]) -> AccountsAt:
        self.multiple_calls.append(tuple(addresses))
        await asyncio.sleep(self.delay_s)
        return AccountsAt(self.slot, tuple(self.accounts.get(a) for a in addresses))

    async def program_accounts(
        self, program_id: str, filters: Sequence[dict[str, Any]]
    ) -> list[tuple[str, Account]]:
        self.program_calls.append((program_id, list(filters)))
        await asyncio.sleep(self.delay_s)
        return [
            (address, account)
            for address, account in self.accounts.items()
            if account.owner == program_id and all(_matches(f, account.data) for f in filters)
        ]


def _matches(rule: dict[str, Any], data: bytes) -> bool:
    if "dataSize" in rule:
        return len(data) == rule["dataSize"]
    memcmp = rule["memcmp"]
    wanted = bytes(Pubkey.from_string(memcmp["bytes"]))  # the venues filter on mints
    offset = memcmp["offset"]
    return bool(data[offset : offset + len(wanted)] == wanted)
