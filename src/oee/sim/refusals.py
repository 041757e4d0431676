"""Why a swap transaction fails before or around its venue's program: the program refusing an
account that is not one of its pools, and the token programs failing the transaction in litesvm."""

from __future__ import annotations

from oee.sim.bank import Execution
from oee.sim.swap_calls import SwapCall, SwapFailure
from oee.venues.meteora import PROGRAM_ID as DLMM_PROGRAM
from oee.venues.meteora.errors import AnchorErrorCode, anchor_log
from oee.venues.raydium.errors import AmmErrorCode


def unknown_pool(call: SwapCall) -> SwapFailure:
    """The program refusing a pool account that is not one of its pools."""
    if call.program_id == DLMM_PROGRAM:
        name = "ACCOUNT_OWNED_BY_WRONG_PROGRAM"
        number = AnchorErrorCode[name].value
        logs: tuple[str, ...] = (
            "Program log: Instruction: Swap",
            anchor_log(name, number, account="lb_pair"),
        )
        reason = "AccountOwnedByWrongProgram): the pair account is not one of its pairs"
    else:
        code = AmmErrorCode.INVALID_AMM_ACCOUNT_OWNER
        number, logs = code.value, (code.program_log(),)
        reason = "InvalidAmmAccountOwner): the pool account is not one of its pools"
    message = f"custom program error: {number:#x} ({reason}"
    return SwapFailure("INVALID_ACCOUNT", {"Custom": number}, message, logs, 2_000)


def bank_failure(execution: Execution) -> tuple[str, str]:
    """A machine code and the programs' own words for a transaction the token programs failed."""
    err = execution.err
    said = [
        line.removeprefix("Program log: ") for line in execution.logs if "Program log: " in line
    ]
    detail = "; ".join(said[-2:]) or str(err)
    failed = err.get("InstructionError") if isinstance(err, dict) else None
    custom = failed[1].get("Custom") if failed and isinstance(failed[1], dict) else None
    short_of_rent = isinstance(err, dict) and "InsufficientFundsForRent" in err
    # SPL Token and System program both use 1 for "not enough to cover the transfer".
    if custom == 1 or short_of_rent or err == "InsufficientFundsForFee":
        return "INSUFFICIENT_FUNDS", f"insufficient funds: {detail}"
    return "TRANSACTION_FAILED", f"transaction failed: {err} ({detail})"
