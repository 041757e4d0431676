"""Transactions litesvm runs exactly as signed: those calling a real program loaded from
`OEE_SIM_PROGRAMS_DIR` (`oee.sim.programs`) instead of a venue's model.

The ledger routes here any transaction with no modelled swap that calls a loaded program; a
loaded program with a venue's id also takes that venue's instructions away from the model
(`modelled`), so they run here too, with nothing rewritten and no pool state written by the
model. The accounts the program wrote are re-indexed afterwards (they are all among the
transaction's keys: a program can only write accounts it was given), so `getProgramAccounts`
and the wallet's token balances see them.
"""

from __future__ import annotations

from collections.abc import Collection

from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

from oee.domain.ports import TxState, TxStatus
from oee.sim.bank import Balances, Bank, Execution
from oee.sim.processed import ProcessedTx
from oee.sim.refusals import bank_failure
from oee.sim.swap_calls import MODELLED_PROGRAMS
from oee.sim.tx_errors import error_json


def modelled(loaded: Collection[Pubkey]) -> frozenset[Pubkey]:
    """The venue programs the simulator still models: those with no real binary loaded."""
    return frozenset(MODELLED_PROGRAMS) - frozenset(loaded)


def calls_any(tx: Transaction, programs: Collection[Pubkey]) -> bool:
    """Whether any instruction of `tx` is addressed to one of `programs`."""
    keys = tx.message.account_keys
    return any(keys[ix.program_id_index] in programs for ix in tx.message.instructions)


def execute(bank: Bank, tx: Transaction) -> Execution:
    """Run `tx` in litesvm as signed; all of it, or none of it but the fee."""
    keys = list(tx.message.account_keys)
    pre = bank.balances_of(keys)
    result = bank.store.svm.send_transaction(tx)
    bank.store.reindex(keys)
    bank.note_holdings(keys)
    return _execution(result, pre, bank.balances_of(keys))


def simulate(bank: Bank, tx: Transaction) -> Execution:
    """What `execute` would do, changing nothing (pre and post are today's balances)."""
    now = bank.balances_of(list(tx.message.account_keys))
    result = bank.store.svm.simulate_transaction(tx)
    if isinstance(result, FailedTransactionMetadata):
        return _execution(result, now, now)
    return _execution(result.meta(), now, now)


def record(raw_tx: str, height: int, execution: Execution) -> ProcessedTx:
    """What the chain keeps of a transaction litesvm ran: landed, or failed (fee paid)."""
    if execution.err is None:
        status = TxStatus(TxState.LANDED, height, fee_lamports=execution.fee)
    else:
        code, message = bank_failure(execution)
        status = TxStatus(
            TxState.FAILED, height, error_code=code, error_message=message,
            fee_lamports=execution.fee,
        )  # fmt: skip
    return ProcessedTx(
        raw_tx, status, execution.pre, execution.post, execution.err, execution.logs,
        execution.units,
    )  # fmt: skip


def _execution(
    result: TransactionMetadata | FailedTransactionMetadata, pre: Balances, post: Balances
) -> Execution:
    if isinstance(result, FailedTransactionMetadata):
        meta, err = result.meta(), error_json(result.err())
    else:
        meta, err = result, None
    logs, units = tuple(meta.logs()), meta.compute_units_consumed()
    return Execution(err, meta.fee(), logs, units, pre, post)
