"""Launches as transactions: the venues' real creation instructions, signed by the simulator's
launcher, recorded so `getTransaction` returns them and announced with the programs' logs.

A sniper sees a launch in `logsSubscribe` (the venue's real log lines carry no addresses),
fetches the transaction by its signature and reads the new pool's accounts from the creating
instruction (`venues.raydium.launches.new_pool_from_transaction`,
`venues.meteora.launches.new_pairs_in_transaction`), as real bots do.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction import Transaction

from oee.domain.ports import TxState, TxStatus
from oee.sim.bank import Bank
from oee.sim.processed import ProcessedTx
from oee.solana.spl import TOKEN_PROGRAM_ID
from oee.venues.meteora.launches import format_pair_creation_logs
from oee.venues.raydium.instructions import decode_initialize2
from oee.venues.raydium.launches import PoolLaunch, pool_creation_logs

COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111"
COMPUTE_LIMIT = 400_000
LAUNCH_FEE = 5_000
RAYDIUM_UNITS = 104_585
METEORA_UNITS = 45_000  # `format_pair_creation_logs`' default figures, added up


@dataclass(frozen=True, slots=True)
class OpenedPool:
    """A pool a launch opened and the signature of the transaction that created it."""

    address: str
    signature: str


@dataclass(frozen=True, slots=True)
class LaunchRecord:
    """A creation transaction as it landed: its signature, logs and record for RPC."""

    signature: str
    logs: tuple[str, ...]
    processed: ProcessedTx
    accounts: frozenset[str]  # every key it mentions (what `logsSubscribe` filters on)


class LaunchTransactions:
    """The simulator's launcher (its keypair is derived from the seed) and what it signed."""

    def __init__(self, seed: int) -> None:
        secret = hashlib.sha256(f"oee-sim/launcher/{seed}".encode()).digest()
        self._keypair = Keypair.from_seed(secret)
        self.launcher = self._keypair.pubkey()
        self._seed = seed
        self._records: dict[str, LaunchRecord] = {}

    def record(
        self, ix: Instruction, logs: list[str], units: int, height: int, bank: Bank
    ) -> LaunchRecord:
        """Sign `ix` (after a compute-unit limit) and keep it as landed at block `height`."""
        count = len(self._records)
        digest = hashlib.sha256(f"oee-sim/launch-blockhash/{self._seed}/{count}".encode())
        blockhash = Hash(digest.digest())
        message = Message.new_with_blockhash(
            [set_compute_unit_limit(COMPUTE_LIMIT), ix], self.launcher, blockhash
        )
        tx = Transaction([self._keypair], message, blockhash)
        signature = str(tx.signatures[0])
        balances = bank.balances_of(list(message.account_keys))
        status = TxStatus(TxState.LANDED, height, fee_lamports=LAUNCH_FEE)
        full = (f"Program {COMPUTE_BUDGET} invoke [1]", f"Program {COMPUTE_BUDGET} success", *logs)
        raw = base64.b64encode(bytes(tx)).decode()
        processed = ProcessedTx(raw, status, balances, balances, None, full, units + 150)
        keys = frozenset(str(key) for key in message.account_keys)
        record = LaunchRecord(signature, full, processed, keys)
        self._records[signature] = record
        return record

    def processed(self, signature: str) -> ProcessedTx | None:
        """The creation transaction with this signature, or None."""
        record = self._records.get(signature)
        return None if record is None else record.processed

    def get(self, signature: str) -> LaunchRecord | None:
        """The record of a creation transaction, or None."""
        return self._records.get(signature)

    def records(self) -> list[LaunchRecord]:
        """Every creation transaction, in signing order (what a snapshot keeps)."""
        return list(self._records.values())

    def restore(self, records: list[LaunchRecord]) -> None:
        """Take back a snapshot's records; the next one signs with the next blockhash."""
        self._records = {record.signature: record for record in records}


def raydium_logs(ix: Instruction, launched: PoolLaunch) -> list[str]:
    """`initialize2`'s frame as the program prints it, with the calls it makes to create and
    fill the pool's accounts (System creates, Token initialises and mints the LP)."""
    data = decode_initialize2(bytes(ix.data), [meta.pubkey for meta in ix.accounts]).data
    cpi = [
        *_cpi(str(SYSTEM_PROGRAM_ID)),
        *_cpi(str(TOKEN_PROGRAM_ID), "InitializeMint", 2_924),
        *_cpi(str(TOKEN_PROGRAM_ID), "InitializeAccount", 3_443),
        *_cpi(str(TOKEN_PROGRAM_ID), "InitializeAccount", 3_443),
        *_cpi(str(TOKEN_PROGRAM_ID), "Transfer", 4_645),
        *_cpi(str(TOKEN_PROGRAM_ID), "Transfer", 4_645),
        *_cpi(str(TOKEN_PROGRAM_ID), "MintTo", 4_492),
    ]
    return pool_creation_logs(
        data, launched.init_log, consumed=RAYDIUM_UNITS, limit=COMPUTE_LIMIT - 150, cpi_logs=cpi
    )


def meteora_logs() -> list[str]:
    """`initialize_lb_pair`'s frame as the program prints it."""
    return format_pair_creation_logs(compute_budget=COMPUTE_LIMIT - 150)


def _cpi(program: str, instruction: str | None = None, units: int = 0) -> list[str]:
    """A call the venue program makes, as the runtime logs it one level down."""
    if instruction is None:  # the System program logs neither instruction nor units
        return [f"Program {program} invoke [2]", f"Program {program} success"]
    return [
        f"Program {program} invoke [2]",
        f"Program log: Instruction: {instruction}",
        f"Program {program} consumed {units} of {COMPUTE_LIMIT // 2} compute units",
        f"Program {program} success",
    ]
