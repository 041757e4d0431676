"""A swap transaction's program logs and compute units, as the runtime would print them.

litesvm runs the token programs; the swap instruction is the venue's (modelled) program, so its
frame is written here around the lines the venue model printed (`SwapPlan.logs`,
`SwapFailure.logs`), between the frames of the instructions before and after it. Execution stops
at a failing swap, as the runtime's does.
"""

from __future__ import annotations

from typing import Any

from solders.transaction import Transaction

from oee.sim.pools import TRANSFER_UNITS
from oee.solana.budget import MEMO_PROGRAM_ID

Json = Any
COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111"
# What the other programs a swap transaction calls cost, as mainnet logs show them.
UNITS = {COMPUTE_BUDGET: 150, str(MEMO_PROGRAM_ID): 6_000}
OTHER_UNITS = 1_000


def instruction_failure(detail: Json) -> str:
    """An `InstructionError`'s detail as agave displays it."""
    if isinstance(detail, dict) and "Custom" in detail:
        return f"custom program error: {detail['Custom']:#x}"
    shown = {
        "InvalidAccountData": "invalid account data for instruction",
        "InsufficientFunds": "insufficient funds for instruction",
        "InvalidInstructionData": "invalid instruction data",
        "NotEnoughAccountKeys": "insufficient account keys for instruction",
    }
    return shown.get(detail, str(detail))


def swap_transaction_logs(
    tx: Transaction,
    swap_index: int,
    body: tuple[str, ...],
    swap_units: int,
    limit: int,
    failure: Json = None,
) -> tuple[list[str], int]:
    """Every instruction's frame up to the swap's end (or the end): (logs, units of the frames).

    Args:
        tx: The transaction as signed.
        swap_index: The swap instruction's position.
        body: What the venue's program printed inside its frame.
        swap_units: Compute units the swap used, its token transfers included.
        limit: The transaction's compute-unit limit.
        failure: The swap's `InstructionError` detail when it failed, else None.
    """
    keys = tx.message.account_keys
    logs: list[str] = []
    used = 0
    for index, ix in enumerate(tx.message.instructions):
        program = str(keys[ix.program_id_index])
        swap = index == swap_index
        cost = swap_units if swap else UNITS.get(program, OTHER_UNITS)
        logs.append(f"Program {program} invoke [1]")
        if swap:
            logs += body
        elif program == str(MEMO_PROGRAM_ID):
            memo = bytes(ix.data).decode(errors="replace")
            logs.append(f'Program log: Memo (len {len(ix.data)}): "{memo}"')
        if program != COMPUTE_BUDGET:
            logs.append(f"Program {program} consumed {cost} of {limit - used} compute units")
        used += cost
        if swap and failure is not None:
            logs.append(f"Program {program} failed: {instruction_failure(failure)}")
            break
        logs.append(f"Program {program} success")
    return logs, used


def swap_units(program_units: int, succeeded: bool) -> int:
    """A swap's units: the program's own, plus its two token transfers when it got to them."""
    return program_units + (2 * TRANSFER_UNITS if succeeded else 0)
