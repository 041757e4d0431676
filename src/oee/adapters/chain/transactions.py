"""Real Solana swap transactions: built and signed with solders, decoded by the simulated chain.

The swap instruction's layout is defined once here (encode in `SwapTransactionBuilder.build`,
decode in `decode_swap`) so the engine and the simulator cannot disagree about it. Pointing
the engine at devnet means replacing this layout with each venue's real one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import tempfile
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path

from solders.compute_budget import ID as COMPUTE_BUDGET_ID
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from oee.adapters.chain.wallet_address import publish_address
from oee.domain.orders import SignedSwap
from oee.domain.ports import Blockhash
from oee.domain.tokens import Token
from oee.solana.spl import (
    TOKEN_PROGRAM_ID,
    WSOL_MINT,
    associated_token_address,
    close_account,
    create_ata_idempotent,
    sync_native,
    transfer_lamports,
)

# Anchor-style: the first 8 bytes of sha256("global:swap"), then amount_in, min_amount_out.
SWAP_DISCRIMINATOR = hashlib.sha256(b"global:swap").digest()[:8]
_SWAP_ARGS = struct.Struct("<QQ")
_SWAP_DATA_LEN = len(SWAP_DISCRIMINATOR) + _SWAP_ARGS.size
MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
# Solana's defaults when a transaction sets no compute budget.
DEFAULT_COMPUTE_UNIT_LIMIT = 200_000
DEFAULT_COMPUTE_UNIT_PRICE = 10_000  # micro-lamports: 2,000 lamports at the default limit


@dataclass(frozen=True, slots=True)
class DecodedSwap:
    """What a swap transaction asks the chain to do, read back from its instructions."""

    program_id: str
    pool: str
    wallet: str
    source: str  # the wallet's token account that pays
    destination: str  # the wallet's token account that receives
    mint_in: str
    mint_out: str
    amount_in: int
    min_amount_out: int
    compute_unit_limit: int
    compute_unit_price: int
    memo: str | None
    instruction_index: int


class SwapTransactionBuilder:
    """Builds and signs swap transactions for one wallet."""

    def __init__(
        self,
        keypair: Keypair,
        compute_unit_limit: int = DEFAULT_COMPUTE_UNIT_LIMIT,
        compute_unit_price: int = DEFAULT_COMPUTE_UNIT_PRICE,
    ) -> None:
        self._keypair = keypair
        self.wallet = keypair.pubkey()
        self.compute_unit_limit = compute_unit_limit
        self.compute_unit_price = compute_unit_price
        self._budget = [
            set_compute_unit_limit(compute_unit_limit),
            set_compute_unit_price(compute_unit_price),
        ]

    def build(
        self,
        venue: str,
        program_id: str,
        pool: str,
        token_in: Token,
        token_out: Token,
        amount_in: int,
        min_amount_out: int,
        blockhash: Blockhash,
        *,
        memo: str | None = None,
    ) -> SignedSwap:
        """A signed transaction: compute budget, wSOL handling, the venue's swap, an optional memo.

        Paying SOL wraps it first (create the wSOL account if missing, transfer the lamports,
        SyncNative) and closes the wSOL account after the swap; receiving SOL receives wSOL and
        closes the account, which unwraps it. The output token's account is created if missing.

        Args:
            venue: The venue's name, recorded on the result.
            program_id: The venue's program, which the swap instruction is addressed to.
            pool: The pool account (base58).
            token_in: What the wallet pays.
            token_out: What the wallet receives.
            amount_in: Base units of `token_in` paid, fee included.
            min_amount_out: The program fails the swap if it would pay less than this.
            blockhash: A recent blockhash; the transaction expires after its last valid height.
            memo: Text for an SPL Memo instruction, e.g. the order id and attempt. It makes two
                otherwise identical swaps distinct transactions and ties a landed swap to its
                order on chain.

        Returns:
            The signed swap; its signature (base58) is the transaction's hash.
        """
        mint_in, mint_out = Pubkey.from_string(token_in.mint), Pubkey.from_string(token_out.mint)
        swap = Instruction(
            Pubkey.from_string(program_id),
            SWAP_DISCRIMINATOR + _SWAP_ARGS.pack(amount_in, min_amount_out),
            [
                AccountMeta(Pubkey.from_string(pool), is_signer=False, is_writable=True),
                AccountMeta(self.wallet, is_signer=True, is_writable=True),
                AccountMeta(associated_token_address(self.wallet, mint_in), False, True),
                AccountMeta(associated_token_address(self.wallet, mint_out), False, True),
                AccountMeta(mint_in, is_signer=False, is_writable=False),
                AccountMeta(mint_out, is_signer=False, is_writable=False),
                AccountMeta(TOKEN_PROGRAM_ID, is_signer=False, is_writable=False),
            ],
        )
        instructions = [*self._budget, *self._before(mint_in, mint_out, amount_in), swap]
        if WSOL_MINT in (mint_in, mint_out):
            wsol_account = associated_token_address(self.wallet, WSOL_MINT)
            instructions.append(close_account(wsol_account, self.wallet, self.wallet))
        if memo is not None:
            instructions.append(Instruction(MEMO_PROGRAM_ID, memo.encode(), []))
        recent = Hash.from_string(blockhash.blockhash)
        message = Message.new_with_blockhash(instructions, self.wallet, recent)
        # Signing the serialized message directly is the same transaction as
        # `Transaction([keypair], message, recent)`, about 1.7x faster.
        tx = Transaction.populate(message, [self._keypair.sign_message(bytes(message))])
        return SignedSwap(
            signature=str(tx.signatures[0]),
            last_valid_block_height=blockhash.last_valid_block_height,
            raw_tx=b64encode(bytes(tx)).decode(),
            venue=venue,
            min_amount_out=min_amount_out,
            compute_unit_price=self.compute_unit_price,
        )

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


def decode_swap(tx: Transaction) -> DecodedSwap:
    """Read the swap, its compute budget and memo back from a transaction.

    Raises:
        ValueError: The transaction has no swap instruction, or more than one, or its swap
            spends from a wallet other than the fee payer.
    """
    keys = tx.message.account_keys
    limit, price, memo = DEFAULT_COMPUTE_UNIT_LIMIT, 0, None
    swaps: list[tuple[Pubkey, bytes, bytes, int]] = []
    for index, ix in enumerate(tx.message.instructions):
        program, data = keys[ix.program_id_index], bytes(ix.data)
        if program == COMPUTE_BUDGET_ID and len(data) == 5 and data[0] == 2:
            limit = struct.unpack_from("<I", data, 1)[0]
        elif program == COMPUTE_BUDGET_ID and len(data) == 9 and data[0] == 3:
            price = struct.unpack_from("<Q", data, 1)[0]
        elif program == MEMO_PROGRAM_ID:
            memo = data.decode(errors="replace")
        elif len(data) == _SWAP_DATA_LEN and data.startswith(SWAP_DISCRIMINATOR):
            swaps.append((program, bytes(ix.accounts), data, index))
    if len(swaps) != 1:
        raise ValueError(f"expected one swap instruction, found {len(swaps)}")
    program_id, accounts, data, index = swaps[0]
    if len(accounts) < 6:
        raise ValueError(f"the swap instruction has {len(accounts)} accounts, expected 7")
    if keys[accounts[1]] != keys[0]:
        raise ValueError("the swap's wallet must be the fee payer, which signs")
    amount_in, min_amount_out = _SWAP_ARGS.unpack_from(data, len(SWAP_DISCRIMINATOR))
    return DecodedSwap(
        program_id=str(program_id),
        pool=str(keys[accounts[0]]),
        wallet=str(keys[accounts[1]]),
        source=str(keys[accounts[2]]),
        destination=str(keys[accounts[3]]),
        mint_in=str(keys[accounts[4]]),
        mint_out=str(keys[accounts[5]]),
        amount_in=amount_in,
        min_amount_out=min_amount_out,
        compute_unit_limit=limit,
        compute_unit_price=price,
        memo=memo,
        instruction_index=index,
    )


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
