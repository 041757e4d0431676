"""Real Solana swap transactions: assembled and signed with solders around a venue's swap.

`SwapTransactionBuilder` (the `SwapSigner` port) wraps any venue's `SwapInstruction` (the real
Raydium and Meteora ones the on-chain venue adapters build) in the compute budget, the wSOL
handling, the output account's creation and the memo, and signs it with the engine's wallet.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from base64 import b64encode
from pathlib import Path

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from oee.adapters.chain.wallet_address import publish_address
from oee.domain.orders import SignedSwap
from oee.domain.ports import (
    Blockhash,
    ComputeBudget,
    SwapInstruction,
    SwapPlan,
)
from oee.solana.budget import MEMO_PROGRAM_ID
from oee.solana.spl import (
    WSOL_MINT,
    associated_token_address,
    close_account,
    create_ata_idempotent,
    sync_native,
    transfer_lamports,
)


def to_instruction(swap: SwapInstruction) -> Instruction:
    """The neutral record as a solders instruction."""
    metas = [
        AccountMeta(Pubkey.from_string(a.pubkey), a.is_signer, a.is_writable) for a in swap.accounts
    ]
    return Instruction(Pubkey.from_string(swap.program_id), swap.data, metas)


class SwapTransactionBuilder:
    """Assembles and signs swap transactions for one wallet (the `SwapSigner` port)."""

    def __init__(self, keypair: Keypair) -> None:
        """Sign with `keypair` (the engine's wallet: fee payer and owner of its token accounts)."""
        self._keypair = keypair
        self.wallet = keypair.pubkey()
        self.owner = str(self.wallet)

    def token_account(self, mint: str) -> str:
        """The wallet's associated token account of `mint`."""
        return str(associated_token_address(self.wallet, Pubkey.from_string(mint)))

    def draft(self, plan: SwapPlan, budget: ComputeBudget, blockhash: Blockhash) -> str:
        """The plan's transaction with empty signatures (base64), for `simulateTransaction`."""
        message = self._message(plan, budget, blockhash)
        return b64encode(bytes(Transaction.new_unsigned(message))).decode()

    def sign(self, plan: SwapPlan, budget: ComputeBudget, blockhash: Blockhash) -> SignedSwap:
        """A signed transaction: compute budget, wSOL handling, the venue's swap, the memo.

        Paying SOL wraps it first (create the wSOL account if missing, transfer the lamports,
        SyncNative) and closes the wSOL account after the swap; receiving SOL receives wSOL and
        closes the account, which unwraps it. The output token's account is created if missing.

        Returns:
            The signed swap; its signature (base58) is the transaction's hash.
        """
        message = self._message(plan, budget, blockhash)
        # Signing the serialized message directly is the same transaction as
        # `Transaction([keypair], message, recent)`, about 1.7x faster.
        tx = Transaction.populate(message, [self._keypair.sign_message(bytes(message))])
        return SignedSwap(
            signature=str(tx.signatures[0]),
            last_valid_block_height=blockhash.last_valid_block_height,
            raw_tx=b64encode(bytes(tx)).decode(),
            venue=plan.venue,
            min_amount_out=plan.min_amount_out,
            compute_unit_price=budget.unit_price,
            compute_unit_limit=budget.unit_limit,
        )

    def _message(self, plan: SwapPlan, budget: ComputeBudget, blockhash: Blockhash) -> Message:
        mint_in = Pubkey.from_string(plan.token_in.mint)
        mint_out = Pubkey.from_string(plan.token_out.mint)
        instructions = [
            set_compute_unit_limit(budget.unit_limit),
            set_compute_unit_price(budget.unit_price),
            *self._before(mint_in, mint_out, plan.amount_in),
            to_instruction(plan.swap),
        ]
        if WSOL_MINT in (mint_in, mint_out):
            wsol_account = associated_token_address(self.wallet, WSOL_MINT)
            instructions.append(close_account(wsol_account, self.wallet, self.wallet))
        if plan.memo is not None:
            instructions.append(Instruction(MEMO_PROGRAM_ID, plan.memo.encode(), []))
        recent = Hash.from_string(blockhash.blockhash)
        return Message.new_with_blockhash(instructions, self.wallet, recent)

    def _before(self, mint_in: Pubkey, mint_out: Pubkey, amount_in: int) -> list[Instruction]:
        """Accounts the swap needs: the output's, and a funded wSOL account when paying SOL."""
        wallet = self.wallet
        if mint_in == WSOL_MINT:
            wsol_account = associated_token_address(wallet, WSOL_MINT)
            return [
                create_ata_idempotent(wallet, wallet, WSOL_MINT),
                transfer_lamports(wallet, wsol_account, amount_in),
                sync_native(wsol_account),
                create_ata_idempotent(wallet, wallet, mint_out),
            ]
        return [create_ata_idempotent(wallet, wallet, mint_out)]


def load_or_create_keypair(path: Path) -> Keypair:
    """The engine's wallet: read from `path`, or created there on first use.

    The file is a JSON array of the 64 secret-key bytes, like the Solana CLI's `id.json`, and
    readable by its owner only (0600). Creation is atomic (write a private temporary file,
    then hard-link it into place) so concurrent first starts agree on one wallet. The address
    is published beside it (`oee.adapters.chain.wallet_address`) for the API to read.

    Raises:
        ValueError: The file exists but is not a 64-byte keypair.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        keypair = Keypair()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keypair-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as file:
                json.dump(list(bytes(keypair)), file)
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):  # someone else won: read theirs
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    keypair = read_keypair(path)
    publish_address(path, keypair.pubkey())  # for processes that must not read the secret
    return keypair


def read_keypair(path: Path) -> Keypair:
    """The wallet in an existing keypair file (see `load_or_create_keypair`).

    Raises:
        FileNotFoundError: There is no file at `path`.
        ValueError: The file is not a 64-byte keypair.
    """
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # a wallet readable by others is a leaked wallet
    try:
        secret = bytes(json.loads(path.read_text()))
        if len(secret) != 64:
            raise ValueError(f"expected 64 bytes, got {len(secret)}")
        return Keypair.from_bytes(secret)
    except (ValueError, TypeError) as error:
        # Say what is wrong without echoing any of the secret.
        raise ValueError(f"{path} is not a Solana keypair file: {type(error).__name__}") from None
