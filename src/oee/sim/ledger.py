"""The simulated chain: blocks, blockhashes, signature checks and swaps that land later.

Nothing runs in the background: a landing is an action scheduled on the world, and every
question (to the ledger or to the world) first brings the world to now, which lands what is due
in landing-time order, between the price ticks. So the ledger is deterministic under a
controlled clock. `oee.sim.rpc` serves it as Solana JSON-RPC. Accounts and balances live in
the world's bank (`oee.sim.bank`: litesvm runs the System and SPL Token programs), pools
included, in their venues' real layouts; a swap instruction (the venue's real one, found by
`oee.sim.swap_calls`) is checked and priced by the pool's venue model against those accounts,
its transfers run in litesvm, and its new state is written back. So a swap moves real balances
by exactly its amounts plus fees, and a wallet cannot spend what it does not hold. A venue
whose real program binary is loaded (`oee.sim.programs`) is not modelled: litesvm runs its
transactions as signed (`oee.sim.native`). The chain's history (`oee.sim.history`),
blockhashes and airdrops are kept in their own objects so a snapshot (`oee.sim.snapshot`) can
save and restore them.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import structlog
from solders.hash import Hash
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction import Transaction

from oee.domain.ports import Blockhash, TxState, TxStatus
from oee.settings import SimSettings
from oee.sim import native
from oee.sim.accounts import AccountStore
from oee.sim.airdrops import Airdrops
from oee.sim.bank import Execution, Json, SwapLegs
from oee.sim.blockhashes import Blockhashes
from oee.sim.faults import Faults
from oee.sim.history import ChainHistory, LandedSwap
from oee.sim.processed import ProcessedTx
from oee.sim.refusals import bank_failure, unknown_pool
from oee.sim.swap_calls import SwapCall, SwapFailure, SwapOutcome, SwapPlan, find_swap
from oee.sim.tx_logs import swap_transaction_logs, swap_units
from oee.sim.world import SimWorld
from oee.solana.budget import compute_budget

log = structlog.get_logger(__name__)

LAMPORTS_PER_SIGNATURE = 5_000
# `balances()` reports a wallet's lamports under the System program's id, like a mint.
NATIVE_MINT = str(SYSTEM_PROGRAM_ID)


# Transaction errors that mean the fee payer cannot pay: such a transaction is never included.
_UNPAYABLE = ("AccountNotFound", "InsufficientFundsForFee")


class LedgerError(Exception):
    """The chain refused a transaction; `code` is stable, `retryable` says if a resend may work."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class Simulation:
    """What a transaction would do now: `code` None when it would succeed, else the ledger's
    failure code; `err`, `logs` and `units` as `simulateTransaction` reports them."""

    code: str | None
    err: Json
    logs: tuple[str, ...]
    units: int


@dataclass(frozen=True, slots=True)
class _Pending:
    signature: str
    tx: Transaction
    call: SwapCall | None  # None: no modelled swap, litesvm runs it all (a loaded program)
    last_valid_block_height: int
    fee_lamports: int
    raw_tx: str


class SimLedger:
    """A chain of blocks that accepts signed swap transactions and lands them after a delay."""

    def __init__(
        self, world: SimWorld, settings: SimSettings, faults: Faults | None = None
    ) -> None:
        self._world = world
        # Shared with the RPC node and the quote services: `POST /admin/faults` changes them.
        self.faults = faults or Faults.from_settings(settings)
        self._fault_rng = random.Random(f"oee-sim/ledger-faults/{settings.seed}")
        self._now = world.now  # one clock for blocks, landings and prices
        self._heights = world.heights
        scale = settings.latency_scale
        self._delay_s = (
            settings.confirm_min_ms * scale / 1000,
            settings.confirm_max_ms * scale / 1000,
        )
        self._slow_s = settings.slow_confirm_ms * scale / 1000
        self._move = Decimal(settings.slippage_move_bps) / 10_000
        self._rng = random.Random(f"oee-sim/ledger/{settings.seed}")
        self.blockhashes = Blockhashes(settings.seed)
        self.history = ChainHistory()
        self.airdrops = Airdrops(settings.seed)
        self._bank = world.bank

    def block_height(self) -> int:
        """The current block height."""
        self._settle()
        return self._height_at(self._now())

    def latest_blockhash(self) -> Blockhash:
        """A fresh blockhash, valid until the current height plus 150 blocks.

        Every call issues a new hash, so two otherwise identical swaps signed in the same
        block still get different signatures.
        """
        self._settle()
        height = self._height_at(self._now())
        # The fault: a lagging node's hash, one block from expiry.
        stale = self._fault(self.faults.expired_blockhash_rate)
        blockhash, last_valid = self.blockhashes.issue(height, stale=stale)
        return Blockhash(str(blockhash), last_valid)

    def send(self, raw_tx: str) -> str:
        """Accept a base64 wire transaction to land later; returns its signature.

        Sending a transaction the ledger already has returns its signature and does nothing
        else, so a resend can never execute a swap twice.

        Raises:
            LedgerError: INVALID_TRANSACTION (not a transaction), INVALID_SIGNATURE,
                BLOCKHASH_EXPIRED (unknown or too old; retryable with a new blockhash) or
                UNSUPPORTED_TRANSACTION (no swap instruction, and no loaded program called).
        """
        self._settle()
        try:
            tx = Transaction.from_bytes(base64.b64decode(raw_tx, validate=True))
            tx.sanitize()
        except Exception as error:  # untrusted bytes: solders raises several error types
            raise LedgerError("INVALID_TRANSACTION", f"not a transaction: {error}") from None
        if not tx.signatures or not all(tx.verify_with_results()):
            raise LedgerError("INVALID_SIGNATURE", "transaction signature verification failed")
        signature = str(tx.signatures[0])
        if self.history.knows(signature):
            return signature
        height = self._height_at(self._now())
        last_valid = self.blockhashes.last_valid(tx.message.recent_blockhash)
        if last_valid is None or height > last_valid:
            raise LedgerError(
                "BLOCKHASH_EXPIRED",
                "blockhash not found: unknown or expired, sign again with a recent one",
                retryable=True,
            )
        call = self.route(tx)
        fee = LAMPORTS_PER_SIGNATURE * len(tx.signatures) + compute_budget(tx).priority_fee()
        pending = _Pending(signature, tx, call, last_valid, fee, raw_tx)
        land_at = self._now() + self._rng.uniform(*self._delay_s)
        if self._fault(self.faults.slow_confirm_rate):
            land_at += self._slow_s
        self._world.schedule(land_at, lambda at: self._land(pending, at))
        self.history.accept(signature)
        return signature

    def route(self, tx: Transaction) -> SwapCall | None:
        """The transaction's modelled swap, or None when litesvm runs all of it as signed.

        A venue whose real program is loaded (`oee.sim.programs`) is no longer modelled: its
        instructions run in litesvm like the System and Token programs'. A transaction with no
        modelled swap runs natively when it calls a loaded program.

        Raises:
            LedgerError: UNSUPPORTED_TRANSACTION: more than one modelled swap, or none and no
                loaded program either (the simulator runs swaps and loaded programs only).
        """
        loaded = self._bank.programs
        try:
            return find_swap(tx, native.modelled(loaded))
        except ValueError as error:
            if native.calls_any(tx, loaded) and "found 0" in str(error):
                return None
            raise LedgerError("UNSUPPORTED_TRANSACTION", str(error)) from None

    def signature_status(self, signature: str) -> TxStatus | None:
        """The outcome of a landed transaction, or None (unknown, in flight or never landed)."""
        self._settle()
        return self.history.status(signature)

    def processed(self, signature: str) -> ProcessedTx | None:
        """The executed transaction with its outcome and balance changes, or None (not landed)."""
        self._settle()
        found = self.history.processed(signature)
        return found if found is not None else self._world.launch_txs.processed(signature)

    def is_blockhash_valid(self, blockhash: str) -> bool:
        """Whether a transaction signed with `blockhash` may still land."""
        self._settle()
        last_valid = self.blockhashes.last_valid(Hash.from_string(blockhash))
        return last_valid is not None and self._height_at(self._now()) <= last_valid

    def airdrop(self, owner: str, mint: str, amount: int) -> int:
        """Credit `amount` base units of `mint` to `owner`; the new balance.

        SOL (NATIVE_MINT or the wSOL mint) is credited as lamports, other mints to the
        owner's associated token account, created if missing.
        """
        self._settle()
        return self._bank.airdrop(owner, mint, amount)

    def lamports(self, owner: str) -> int:
        """The owner's SOL, in lamports (0 for an account that does not exist)."""
        self._settle()
        return self._bank.lamports(owner)

    def balances(self, owner: str) -> dict[str, int]:
        """The owner's lamports (under NATIVE_MINT) and its token accounts' balances, by mint."""
        self._settle()
        found = {NATIVE_MINT: self._bank.lamports(owner)}
        for _, mint, amount in self._bank.token_accounts(owner):
            found[mint] = found.get(mint, 0) + amount
        return found

    def token_accounts(self, owner: str) -> list[tuple[str, str, int]]:
        """The owner's token accounts: (address, mint, amount)."""
        self._settle()
        return self._bank.token_accounts(owner)

    def token_account(self, address: str) -> tuple[str, str, int] | None:
        """The token account at `address`: (owner, mint, amount), or None."""
        self._settle()
        return self._bank.token_account(address)

    def decimals(self, mint: str) -> int | None:
        """A mint's decimals, from its account on chain, or None for an unknown mint."""
        found = self._bank.decimals(mint)
        return self._decimals(mint) if found is None else found

    @property
    def accounts(self) -> AccountStore:
        """Every account on chain (pools included), for the RPC node's account methods."""
        self._settle()
        return self._bank.store

    def landed_swaps(self) -> list[LandedSwap]:
        """Every swap that executed successfully, in landing order."""
        self._settle()
        return self.history.landed_swaps()

    def _fault(self, rate: float) -> bool:
        return rate > 0 and self._fault_rng.random() < rate

    def _trade_ahead(self, call: SwapCall | None) -> None:
        """Someone's swap lands first, in the same direction, moving the price against this one.

        Selling mint_a lowers its price in mint_b, so the pool is moved to that side by
        `slippage_move_bps` (the same path arbitrage takes, so it works for both venues);
        arbitrage pulls it back over the next ticks.
        """
        if call is None:
            return  # no modelled pool to move
        found = self._world.pool_at(str(call.pool))
        plan = self._plan(call)
        if found is None or not isinstance(plan, SwapPlan):
            return
        pool = found[1]
        if str(plan.mint_in) == pool.mint_a:
            pool.drift_toward(pool.spot_price() * (1 - self._move), Decimal(1))
        else:
            pool.drift_toward(pool.spot_price() * (1 + self._move), Decimal(1))

    def _decimals(self, mint: str) -> int | None:
        token = self._world.token(mint)
        return None if token is None else token.decimals

    def _height_at(self, at: float) -> int:
        return self._heights.at(at)

    def _settle(self) -> None:
        """Land every transaction that is due, then forget expired blockhashes."""
        self._world.advance()
        height = self._height_at(self._now())
        self.blockhashes.forget_expired(height)

    def _land(self, pending: _Pending, at: float) -> None:
        height = self._height_at(at)
        # Past its blockhash's life a transaction can never land: it stays unknown for good.
        if height > pending.last_valid_block_height:
            return
        if self._fault(self.faults.slippage_move_rate):
            self._trade_ahead(pending.call)
        outcome = self._execute(pending, height)
        if outcome is None:
            return  # dropped by the leader: it never lands, and its blockhash expires
        self.history.record(pending.signature, *outcome)

    def simulate(self, tx: Transaction, call: SwapCall | None) -> Simulation:
        """Run a transaction against the pools and balances as they are now, changing nothing.

        `call` is `route(tx)`: None runs all of it in litesvm (a loaded program's transaction).
        """
        self._settle()
        if call is None:
            execution = native.simulate(self._bank, tx)
            code = None if execution.err is None else bank_failure(execution)[0]
            return Simulation(code, execution.err, execution.logs, execution.units)
        plan = self._plan(call)
        limit = call.budget.unit_limit
        if isinstance(plan, SwapFailure):
            logs, units = swap_transaction_logs(
                tx, call.index, plan.logs, plan.units, limit, plan.error
            )
            err = {"InstructionError": [call.index, plan.error]}
            return Simulation(plan.code, err, tuple(logs), units)
        execution = self._bank.simulate(tx, _legs(call, plan))
        if execution.err is not None:
            code, _ = bank_failure(execution)
            return Simulation(code, execution.err, execution.logs, execution.units)
        logs, _ = swap_transaction_logs(tx, call.index, plan.logs, _units(plan), limit)
        return Simulation(None, None, tuple(logs), execution.units + plan.units)

    def _plan(self, call: SwapCall) -> SwapOutcome:
        """What the swap's program does with it against the pool's accounts as they are now."""
        found = self._world.pool_at(str(call.pool)) if call.pool is not None else None
        if found is None or found[0].program_id != str(call.program_id):
            return unknown_pool(call)
        return found[1].plan(call, self._world.unix_time())

    def _execute(
        self, pending: _Pending, height: int
    ) -> tuple[ProcessedTx, LandedSwap | None] | None:
        """Run the transaction against the pool as it is now; fees are paid even when it fails.

        Returns None for what a leader drops: a payer that cannot pay the fee, or a
        transaction the runtime cannot process at all.
        """
        call, tx = pending.call, pending.tx
        if self._bank.lamports(str(tx.message.account_keys[0])) < pending.fee_lamports:
            return None
        if call is None:  # a loaded program's transaction: litesvm runs it as signed
            ran = self._run(pending, lambda: native.execute(self._bank, tx))
            return None if ran is None else (native.record(pending.raw_tx, height, ran), None)
        plan = self._plan(call)
        limit = call.budget.unit_limit
        if isinstance(plan, SwapFailure):
            charged = self._bank.charge_fee(tx, pending.fee_lamports)
            status = TxStatus(
                TxState.FAILED, height, error_code=plan.code, error_message=plan.message,
                fee_lamports=pending.fee_lamports,
            )  # fmt: skip
            logs, units = swap_transaction_logs(
                tx, call.index, plan.logs, plan.units, limit, plan.error
            )
            err = {"InstructionError": [call.index, plan.error]}
            failed = ProcessedTx(
                pending.raw_tx, status, charged.pre, charged.post, err, tuple(logs), units
            )
            return failed, None
        execution = self._run(pending, lambda: self._bank.execute(tx, _legs(call, plan)))
        if execution is None:
            return None
        if execution.err is not None:
            return native.record(pending.raw_tx, height, execution), None
        plan.commit()
        spec = self._world.pool_at(str(call.pool))
        venue = spec[0].name if spec is not None else ""
        swap = LandedSwap(
            pending.signature, venue, str(call.pool), str(plan.wallet), str(plan.mint_in),
            str(plan.mint_out), plan.amount_in, plan.amount_out, execution.fee, height, call.memo,
        )  # fmt: skip
        status = TxStatus(
            TxState.LANDED, height, amount_out=plan.amount_out, fee_lamports=execution.fee
        )
        logs, _ = swap_transaction_logs(tx, call.index, plan.logs, _units(plan), limit)
        landed = ProcessedTx(
            pending.raw_tx, status, execution.pre, execution.post, None, tuple(logs),
            execution.units + plan.units,
        )  # fmt: skip
        return landed, swap

    @staticmethod
    def _run(pending: _Pending, run: Callable[[], Execution]) -> Execution | None:
        """Run in litesvm; None for what a leader drops (no fee payer funds, a runtime crash)."""
        try:
            execution = run()
        except Exception:  # untrusted bytes reach litesvm; never let one break the node
            log.exception("transaction_dropped", signature=pending.signature)
            return None
        return None if execution.err in _UNPAYABLE else execution


def _units(plan: SwapPlan) -> int:
    return swap_units(plan.units, succeeded=True)


def _legs(call: SwapCall, plan: SwapPlan) -> SwapLegs:
    return SwapLegs(
        index=call.index, wallet=plan.wallet, source=plan.source, destination=plan.destination,
        vault_in=plan.vault_in, vault_out=plan.vault_out, mint_in=plan.mint_in,
        mint_out=plan.mint_out, amount_in=plan.amount_in, amount_out=plan.amount_out,
    )  # fmt: skip
