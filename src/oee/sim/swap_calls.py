"""Finding the swap in a transaction, and what running it against a pool's accounts gives.

A venue's program id marks its instruction: Raydium `SwapBaseIn`, Meteora DLMM `swap`. The
pool modules (`oee.sim.raydium_pool`, `oee.sim.meteora_pool`) decode and check it with the
venue package and run it against the pool's accounts; this module only finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey
from solders.transaction import Transaction

from oee.solana.budget import Budget, compute_budget, memo
from oee.venues.meteora import PROGRAM_ID as DLMM_PROGRAM
from oee.venues.raydium import RAYDIUM_AMM_V4

Json = Any


@dataclass(frozen=True, slots=True)
class SwapCall:
    """The swap instruction of a transaction, not yet decoded by its venue.

    `data` and `keys` are the venue's instruction, which its pool module decodes (a malformed
    one fails there, with the program's error, as it would on chain).
    """

    program_id: Pubkey
    index: int  # the instruction's position in the transaction
    data: bytes
    keys: tuple[Pubkey, ...]
    signers: frozenset[Pubkey]  # the transaction's signing keys
    budget: Budget
    memo: str | None

    @property
    def pool(self) -> Pubkey | None:
        """The pool account the instruction names (None when it names too few accounts)."""
        position = 1 if self.program_id == RAYDIUM_AMM_V4 else 0  # amm / lb_pair
        return self.keys[position] if len(self.keys) > position else None


@dataclass(frozen=True, slots=True)
class SwapPlan:
    """A swap its program would complete: the transfers, the logs, and the state to write.

    `commit` writes the pool's new state (AmmInfo, or LbPair and BinArrays) once the
    transaction's transfers ran; nothing is written if the transaction fails.
    """

    wallet: Pubkey
    source: Pubkey
    destination: Pubkey
    vault_in: Pubkey
    vault_out: Pubkey
    mint_in: Pubkey
    mint_out: Pubkey
    amount_in: int
    amount_out: int
    logs: tuple[str, ...]  # the program's own lines, inside its invoke/success frame
    units: int  # compute units the program itself uses (the model's figure)
    commit: Callable[[], None]


@dataclass(frozen=True, slots=True)
class SwapFailure:
    """A swap its program fails: the ledger's code, the `InstructionError` detail, the logs.

    `code` is what the engine reads (`SLIPPAGE_EXCEEDED`, `INVALID_ACCOUNT`,
    `INSUFFICIENT_LIQUIDITY`); `error` is the runtime's detail (`{"Custom": 30}`,
    `"NotEnoughAccountKeys"`); `message` says it as the node would, with the program's reason.
    """

    code: str
    error: Json
    message: str
    logs: tuple[str, ...]
    units: int


SwapOutcome = SwapPlan | SwapFailure
# The venue programs the simulator models (unless a real binary of one is loaded).
MODELLED_PROGRAMS = (RAYDIUM_AMM_V4, DLMM_PROGRAM)


def find_swap(tx: Transaction, programs: Collection[Pubkey] = MODELLED_PROGRAMS) -> SwapCall:
    """The transaction's one swap instruction.

    Raises:
        ValueError: No swap instruction, or more than one (what the node refuses to run).
    """
    message = tx.message
    keys = message.account_keys
    found = [
        (index, ix)
        for index, ix in enumerate(message.instructions)
        if keys[ix.program_id_index] in programs
    ]
    if len(found) != 1:
        raise ValueError(f"expected one swap instruction, found {len(found)}")
    index, ix = found[0]
    accounts = tuple(keys[i] for i in bytes(ix.accounts))
    signers = frozenset(keys[i] for i in range(message.header.num_required_signatures))
    return SwapCall(
        keys[ix.program_id_index], index, bytes(ix.data), accounts, signers,
        compute_budget(tx), memo(tx),
    )  # fmt: skip
