"""The simulated chain: blocks, blockhashes, signature checks and swaps that land later.

Nothing runs in the background: a landing is an action scheduled on the world, and every
question (to the ledger or to the world) first brings the world to now, which lands what is due
in landing-time order, between the price ticks. So the ledger is deterministic under a
controlled clock. `oee.sim.rpc` serves it as Solana JSON-RPC. It also keeps a balance book per
wallet and mint (airdrops, fees, swaps) until litesvm runs the real token programs.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import random
from collections import deque
from dataclasses import dataclass

from solders.hash import Hash
from solders.transaction import Transaction

from oee.adapters.chain.transactions import DecodedSwap, decode_swap
from oee.domain.dlmm import InsufficientLiquidity
from oee.domain.ports import Blockhash, TxState, TxStatus
from oee.settings import SimSettings
from oee.sim.world import SimWorld

# A blockhash may be used for this many blocks after the one it was issued at (as on Solana).
BLOCKHASH_VALIDITY = 150
LAMPORTS_PER_SIGNATURE = 5_000
FIRST_BLOCK_HEIGHT = 1_000
# The balance book keeps a wallet's lamports under the System program's id, like a mint.
NATIVE_MINT = "11111111111111111111111111111111"


class LedgerError(Exception):
    """The chain refused a transaction; `code` is stable, `retryable` says if a resend may work."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class LandedSwap:
    """A swap that executed on chain: what chaos tests count to prove at-most-once execution."""

    signature: str
    venue: str
    pool: str
    wallet: str
    mint_in: str
    mint_out: str
    amount_in: int
    amount_out: int
    fee_lamports: int
    block_height: int
    memo: str | None


@dataclass(frozen=True, slots=True)
class BalanceChange:
    """One of a wallet's balances around a transaction (RPC `preTokenBalances`/`postTokenBalances`)."""

    owner: str
    mint: str  # NATIVE_MINT for lamports
    pre: int
    post: int


@dataclass(frozen=True, slots=True)
class ProcessedTx:
    """A transaction that executed, successfully or not: what RPC `getTransaction` reports."""

    raw_tx: str  # base64 wire format
    swap: DecodedSwap
    status: TxStatus
    balances: tuple[BalanceChange, ...]


@dataclass(frozen=True, slots=True)
class _Pending:
    signature: str
    swap: DecodedSwap
    last_valid_block_height: int
    fee_lamports: int
    raw_tx: str


class SimLedger:
    """A chain of blocks that accepts signed swap transactions and lands them after a delay."""

    def __init__(self, world: SimWorld, settings: SimSettings) -> None:
        self._world = world
        self._now = world.now  # one clock for blocks, landings and prices
        self._t0 = world.now()
        scale = settings.latency_scale
        # With latency off, blocks keep the real pace so a blockhash still lives about 60 s.
        self._block_s = settings.slot_ms * (scale if scale > 0 else 1.0) / 1000
        self._delay_s = (
            settings.confirm_min_ms * scale / 1000,
            settings.confirm_max_ms * scale / 1000,
        )
        self._rng = random.Random(f"oee-sim/ledger/{settings.seed}")
        self._hash_seed = f"oee-sim/blockhash/{settings.seed}/".encode()
        self._issued = itertools.count()
        self._blockhashes: dict[Hash, int] = {}  # blockhash -> last valid block height
        self._expiry: deque[tuple[int, Hash]] = deque()  # issue order is expiry order
        self._statuses: dict[str, TxStatus | None] = {}  # None: accepted, not landed (yet)
        self._landed: dict[str, LandedSwap] = {}
        self._processed: dict[str, ProcessedTx] = {}
        self._balances: dict[str, dict[str, int]] = {}  # owner -> mint -> base units

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
        digest = hashlib.sha256(self._hash_seed + str(next(self._issued)).encode()).digest()
        blockhash = Hash(digest)
        last_valid = height + BLOCKHASH_VALIDITY
        self._blockhashes[blockhash] = last_valid
        self._expiry.append((last_valid, blockhash))
        return Blockhash(str(blockhash), last_valid)

    def send(self, raw_tx: str) -> str:
        """Accept a base64 wire transaction to land later; returns its signature.

        Sending a transaction the ledger already has returns its signature and does nothing
        else, so a resend can never execute a swap twice.

        Raises:
            LedgerError: INVALID_TRANSACTION (not a transaction), INVALID_SIGNATURE,
                BLOCKHASH_EXPIRED (unknown or too old; retryable with a new blockhash) or
                UNSUPPORTED_TRANSACTION (no swap instruction).
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
        if signature in self._statuses:
            return signature
        height = self._height_at(self._now())
        last_valid = self._blockhashes.get(tx.message.recent_blockhash)
        if last_valid is None or height > last_valid:
            raise LedgerError(
                "BLOCKHASH_EXPIRED",
                "blockhash not found: unknown or expired, sign again with a recent one",
                retryable=True,
            )
        try:
            swap = decode_swap(tx)
        except ValueError as error:
            raise LedgerError("UNSUPPORTED_TRANSACTION", str(error)) from None
        priority = -(-swap.compute_unit_price * swap.compute_unit_limit // 1_000_000)
        fee = LAMPORTS_PER_SIGNATURE * len(tx.signatures) + priority
        pending = _Pending(signature, swap, last_valid, fee, raw_tx)
        land_at = self._now() + self._rng.uniform(*self._delay_s)
        self._world.schedule(land_at, lambda at: self._land(pending, at))
        self._statuses[signature] = None
        return signature

    def signature_status(self, signature: str) -> TxStatus | None:
        """The outcome of a landed transaction, or None (unknown, in flight or never landed)."""
        self._settle()
        return self._statuses.get(signature)

    def processed(self, signature: str) -> ProcessedTx | None:
        """The executed transaction with its outcome and balance changes, or None (not landed)."""
        self._settle()
        return self._processed.get(signature)

    def is_blockhash_valid(self, blockhash: str) -> bool:
        """Whether a transaction signed with `blockhash` may still land."""
        self._settle()
        last_valid = self._blockhashes.get(Hash.from_string(blockhash))
        return last_valid is not None and self._height_at(self._now()) <= last_valid

    def airdrop(self, owner: str, mint: str, amount: int) -> int:
        """Credit `amount` base units of `mint` (NATIVE_MINT: lamports) to `owner`; the new balance."""
        self._settle()
        book = self._balances.setdefault(owner, {})
        book[mint] = book.get(mint, 0) + amount
        return book[mint]

    def balances(self, owner: str) -> dict[str, int]:
        """Every balance the book holds for `owner`, by mint (NATIVE_MINT: lamports)."""
        self._settle()
        return dict(self._balances.get(owner, {}))

    def owners(self) -> list[str]:
        """Every wallet the balance book knows."""
        self._settle()
        return list(self._balances)

    def landed_swaps(self) -> list[LandedSwap]:
        """Every swap that executed successfully, in landing order."""
        self._settle()
        return list(self._landed.values())

    def _height_at(self, at: float) -> int:
        return FIRST_BLOCK_HEIGHT + int((at - self._t0) / self._block_s)

    def _settle(self) -> None:
        """Land every transaction that is due, then forget expired blockhashes."""
        self._world.advance()
        height = self._height_at(self._now())
        while self._expiry and self._expiry[0][0] < height:
            self._blockhashes.pop(self._expiry.popleft()[1], None)

    def _land(self, pending: _Pending, at: float) -> None:
        height = self._height_at(at)
        # Past its blockhash's life a transaction can never land: it stays unknown for good.
        if height <= pending.last_valid_block_height:
            status = self._execute(pending, height)
            self._statuses[pending.signature] = status
            balances = self._book(pending.swap, status)
            self._processed[pending.signature] = ProcessedTx(
                pending.raw_tx, pending.swap, status, balances
            )

    def _book(self, swap: DecodedSwap, status: TxStatus) -> tuple[BalanceChange, ...]:
        """Apply the transaction to the wallet's balances: the fee always, the swap if it landed.

        Balances are not enforced until litesvm runs the token programs: a shortfall is credited
        first, as an airdrop would, so the book never goes negative and pre/post stay exact.
        """
        spent = swap.amount_in if status.state is TxState.LANDED else 0
        book = self._balances.setdefault(swap.wallet, {})
        changes = []
        for mint, delta in (
            (NATIVE_MINT, -status.fee_lamports),
            (swap.mint_in, -spent),
            (swap.mint_out, status.amount_out),
        ):
            pre = max(book.get(mint, 0), -delta)
            book[mint] = pre + delta
            changes.append(BalanceChange(swap.wallet, mint, pre, pre + delta))
        return tuple(changes)

    def _execute(self, pending: _Pending, height: int) -> TxStatus:
        """Run the swap against the pool as it is now; fees are paid even when it fails."""
        swap = pending.swap
        found = self._world.pool_at(swap.pool)
        if found is None or found[0].program_id != swap.program_id:
            return self._failed(pending, height, "INVALID_ACCOUNT", "the pool account is unknown")
        spec, pool = found
        if {swap.mint_in, swap.mint_out} != {pool.mint_a, pool.mint_b} or swap.amount_in <= 0:
            return self._failed(pending, height, "INVALID_ACCOUNT", "mints do not match the pool")
        try:
            result = pool.quote(swap.mint_in, swap.amount_in)
        except InsufficientLiquidity as error:  # a DLMM swap larger than all of its bins
            return self._failed(pending, height, error.code, error.message)
        if result.amount_out < swap.min_amount_out:
            message = (
                f"custom program error: {spec.slippage_error}: the swap pays "
                f"{result.amount_out}, below the minimum {swap.min_amount_out}"
            )
            return self._failed(pending, height, "SLIPPAGE_EXCEEDED", message)
        pool.swap(swap.mint_in, swap.amount_in)
        self._landed[pending.signature] = LandedSwap(
            pending.signature, spec.name, swap.pool, swap.wallet, swap.mint_in, swap.mint_out,
            swap.amount_in, result.amount_out, pending.fee_lamports, height, swap.memo,
        )  # fmt: skip
        return TxStatus(
            TxState.LANDED, height, amount_out=result.amount_out, fee_lamports=pending.fee_lamports
        )

    @staticmethod
    def _failed(pending: _Pending, height: int, code: str, message: str) -> TxStatus:
        return TxStatus(
            TxState.FAILED,
            height,
            error_code=code,
            error_message=message,
            fee_lamports=pending.fee_lamports,
        )
