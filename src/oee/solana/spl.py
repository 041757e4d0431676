"""The System, SPL Token and Associated Token Account instructions a swap needs, built with solders.

solders ships the account layouts (`solders.token.state`) but not these instruction builders;
each is a few bytes whose layout is fixed by the on-chain programs (spl-token's
`TokenInstruction`, spl-associated-token-account's `AssociatedTokenAccountInstruction`). The
engine wraps and unwraps SOL with them, and the simulator runs them in `solders.litesvm`.
"""

from __future__ import annotations

import functools
import struct

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import TransferParams, transfer

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
ATA_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
# Wrapped SOL: an SPL Token account of this mint holds lamports as tokens.
WSOL_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")

# spl-token instruction tags
_TRANSFER, _CLOSE_ACCOUNT, _SYNC_NATIVE = 3, 9, 17
# spl-associated-token-account: 1 = CreateIdempotent (no error when the account exists)
_CREATE_IDEMPOTENT = 1
_U64 = struct.Struct("<Q")


@functools.lru_cache(maxsize=4096)
def associated_token_address(wallet: Pubkey, mint: Pubkey) -> Pubkey:
    """The wallet's associated token account for `mint` (cached: the PDA search is the cost)."""
    address, _ = Pubkey.find_program_address(
        [bytes(wallet), bytes(TOKEN_PROGRAM_ID), bytes(mint)], ATA_PROGRAM_ID
    )
    return address


def create_ata_idempotent(payer: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction:
    """Create `owner`'s associated token account for `mint` unless it exists; `payer` pays rent."""
    return Instruction(
        ATA_PROGRAM_ID,
        bytes([_CREATE_IDEMPOTENT]),
        [
            AccountMeta(payer, is_signer=True, is_writable=True),
            AccountMeta(associated_token_address(owner, mint), is_signer=False, is_writable=True),
            AccountMeta(owner, is_signer=False, is_writable=False),
            AccountMeta(mint, is_signer=False, is_writable=False),
            AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
            AccountMeta(TOKEN_PROGRAM_ID, is_signer=False, is_writable=False),
        ],
    )


def transfer_lamports(source: Pubkey, destination: Pubkey, lamports: int) -> Instruction:
    """A System program transfer of lamports (how SOL gets into a wSOL account)."""
    return transfer(TransferParams(from_pubkey=source, to_pubkey=destination, lamports=lamports))


def sync_native(account: Pubkey) -> Instruction:
    """Make a wSOL account's token amount match the lamports it holds beyond rent."""
    return Instruction(
        TOKEN_PROGRAM_ID,
        bytes([_SYNC_NATIVE]),
        [AccountMeta(account, is_signer=False, is_writable=True)],
    )


def transfer_tokens(
    source: Pubkey, destination: Pubkey, authority: Pubkey, amount: int
) -> Instruction:
    """Move `amount` base units between two token accounts of one mint.

    `authority` is the source's owner or its delegate, and signs.
    """
    return Instruction(
        TOKEN_PROGRAM_ID,
        bytes([_TRANSFER]) + _U64.pack(amount),
        [
            AccountMeta(source, is_signer=False, is_writable=True),
            AccountMeta(destination, is_signer=False, is_writable=True),
            AccountMeta(authority, is_signer=True, is_writable=False),
        ],
    )


def close_account(account: Pubkey, destination: Pubkey, owner: Pubkey) -> Instruction:
    """Close a token account, sending its lamports to `destination` (for wSOL: unwrap)."""
    return Instruction(
        TOKEN_PROGRAM_ID,
        bytes([_CLOSE_ACCOUNT]),
        [
            AccountMeta(account, is_signer=False, is_writable=True),
            AccountMeta(destination, is_signer=False, is_writable=True),
            AccountMeta(owner, is_signer=True, is_writable=False),
        ],
    )
