"""Finding the swap in a transaction, and what running it against a pool's accounts gives.

A venue's program id marks its instruction; the instruction is either the venue's real one
(Raydium `SwapBaseIn`, tag 9; Meteora DLMM `swap` with its 15+ accounts) or, during the
engine's switch to those, the engine's legacy layout (`decode_swap`: an Anchor-style
`global:swap` discriminator and 7 accounts). The pool modules (`oee.sim.raydium_pool`,
`oee.sim.meteora_pool`) decode and check a real instruction with the venue package and run
either kind against the same accounts; this module only says which instruction it is.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey
from solders.transaction import Transaction

from oee.adapters.chain.transactions import DecodedSwap, decode_swap
from oee.solana.budget import Budget, compute_budget, memo
from oee.venues.meteora import PROGRAM_ID as DLMM_PROGRAM
from oee.venues.raydium import RAYDIUM_AMM_V4
from oee.venues.raydium.instructions import SWAP_BASE_IN_TAG

Json = Any


@dataclass(frozen=True, slots=True)
class SwapCall:
    """The swap instruction of a transaction, not yet decoded by its venue.

    `legacy` is set when the instruction has the engine's legacy layout; then the keys are
    that layout's and `legacy` has every field read. Otherwise `data` and `keys` are the
    venue's real instruction, which its pool module decodes (a malformed one fails there, with
    the program's error, as it would on chain).
    """

    program_id: Pubkey
    index: int  # the instruction's position in the transaction
    data: bytes
    keys: tuple[Pubkey, ...]
    signers: frozenset[Pubkey]  # the transaction's signing keys
    budget: Budget
    memo: str | None
    legacy: DecodedSwap | None = None

    @property
    def pool(self) -> Pubkey | None:
        """The pool account the instruction names (None when it names too few accounts)."""
        if self.legacy is not None:
            return Pubkey.from_string(self.legacy.pool)
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
LEGACY_ACCOUNTS = 7


def find_swap(tx: Transaction, programs: Collection[Pubkey] = MODELLED_PROGRAMS) -> SwapCall:
    """The transaction's one swap instruction, real or legacy.

    Raises:
        ValueError: No swap instruction, more than one, or a legacy one spending from a wallet
            other than the fee payer (what the node refuses to run at all).
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
    program, data = keys[ix.program_id_index], bytes(ix.data)
    accounts = tuple(keys[i] for i in bytes(ix.accounts))
    signers = frozenset(keys[i] for i in range(message.header.num_required_signatures))
    budget, note = compute_budget(tx), memo(tx)
    if _is_real(program, data, accounts):
        return SwapCall(program, index, data, accounts, signers, budget, note)
    legacy = decode_swap(tx)  # raises ValueError as before for what it cannot read
    return SwapCall(
        program, legacy.instruction_index, data, accounts, signers, budget, note, legacy
    )


def _is_real(program: Pubkey, data: bytes, accounts: tuple[Pubkey, ...]) -> bool:
    if program == RAYDIUM_AMM_V4:
        return data[:1] == bytes([SWAP_BASE_IN_TAG])
    # DLMM's real `swap` and the legacy layout share the discriminator and argument bytes: the
    # account list tells them apart (the legacy layout has exactly 7; the real one 15 and more,
    # and fewer is the real one failing for want of accounts).
    return len(accounts) != LEGACY_ACCOUNTS
