"""What a transaction says besides its program calls: its compute budget and its memo.

Both sides read them: the engine when it prices and audits a transaction, the simulator when it
charges the priority fee and records the memo. Values follow the runtime's defaults when a
transaction sets no budget (200,000 units for one instruction, no priority fee).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.compute_budget import ID as COMPUTE_BUDGET_ID
from solders.pubkey import Pubkey
from solders.transaction import Transaction

MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
DEFAULT_COMPUTE_UNIT_LIMIT = 200_000
MAX_COMPUTE_UNIT_LIMIT = 1_400_000
# ComputeBudgetInstruction tags: SetComputeUnitLimit(u32), SetComputeUnitPrice(u64 micro-lamports)
_SET_LIMIT, _SET_PRICE = 2, 3


@dataclass(frozen=True, slots=True)
class Budget:
    """A transaction's compute-unit limit and price (micro-lamports per unit)."""

    unit_limit: int
    unit_price: int

    def priority_fee(self) -> int:
        """Lamports paid for priority: price x limit, rounded up, as the runtime charges."""
        return -(-self.unit_price * self.unit_limit // 1_000_000)


def compute_budget(tx: Transaction) -> Budget:
    """The limit and price a transaction's compute-budget instructions set (defaults if none)."""
    keys = tx.message.account_keys
    limit, price = DEFAULT_COMPUTE_UNIT_LIMIT, 0
    for ix in tx.message.instructions:
        if keys[ix.program_id_index] != COMPUTE_BUDGET_ID:
            continue
        data = bytes(ix.data)
        if len(data) == 5 and data[0] == _SET_LIMIT:
            limit = min(struct.unpack_from("<I", data, 1)[0], MAX_COMPUTE_UNIT_LIMIT)
        elif len(data) == 9 and data[0] == _SET_PRICE:
            price = struct.unpack_from("<Q", data, 1)[0]
    return Budget(limit, price)


def memo(tx: Transaction) -> str | None:
    """The text of the transaction's (last) SPL Memo instruction, or None."""
    keys = tx.message.account_keys
    found = None
    for ix in tx.message.instructions:
        if keys[ix.program_id_index] == MEMO_PROGRAM_ID:
            found = bytes(ix.data).decode(errors="replace")
    return found
