"""litesvm's transaction errors as the RPC node reports them (agave's serde JSON).

Shared by the bank, which rewrites a swap instruction into two transfers (so instruction
indices after it shift), and `oee.sim.native`, which runs transactions as signed.
"""

from __future__ import annotations

from typing import Any

from solders.transaction_status import (
    InstructionErrorBorshIO,
    InstructionErrorCustom,
    TransactionErrorDuplicateInstruction,
    TransactionErrorInstructionError,
    TransactionErrorInsufficientFundsForRent,
    TransactionErrorProgramExecutionTemporarilyRestricted,
)

Json = Any


def error_json(error: Any, swap_index: int | None = None) -> Json:
    """A litesvm `TransactionError` as RPC JSON, with indices of the transaction as signed.

    The swap instruction at `swap_index` (None: none was rewritten) ran as two transfers, so
    indices after it shift back by one.
    """
    if isinstance(error, TransactionErrorInstructionError):
        index = error.index
        if swap_index is not None and index > swap_index:
            index -= 1
        detail = error.err
        if isinstance(detail, InstructionErrorCustom):
            return {"InstructionError": [index, {"Custom": detail.code}]}
        if isinstance(detail, InstructionErrorBorshIO):
            return {"InstructionError": [index, {"BorshIoError": detail.value}]}
        return {"InstructionError": [index, _variant(detail)]}
    if isinstance(error, TransactionErrorDuplicateInstruction):
        return {"DuplicateInstruction": error.index}
    if isinstance(
        error,
        TransactionErrorInsufficientFundsForRent
        | TransactionErrorProgramExecutionTemporarilyRestricted,
    ):
        name = type(error).__name__.removeprefix("TransactionError")
        return {name: {"account_index": error.account_index}}
    return _variant(error)


def _variant(value: Any) -> Json:
    """`Foo.Bar` → "Bar": a fieldless enum variant as serde writes it."""
    return str(value).rsplit(".", 1)[-1]
