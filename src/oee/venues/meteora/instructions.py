"""The `swap` and `initialize_lb_pair` instructions: account lists, builders and decoders.

Account order, signer and writable flags are the IDL's (`idls/dlmm.json`). Anchor passes an
absent optional account as the program id itself (read-only), which the decoders turn back into
None. A swap's bin arrays follow the 15 fixed accounts as writable remaining accounts, in the
order the swap walks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.sysvar import RENT
from solders.token import ID as TOKEN_PROGRAM_ID

from oee.solana.layout import LayoutError
from oee.venues.meteora import EVENT_AUTHORITY, PROGRAM_ID
from oee.venues.meteora.layout import (
    INITIALIZE_LB_PAIR_ARGS,
    SWAP_ARGS,
    InitializeLbPairArgs,
    SwapArgs,
)

SWAP_ACCOUNTS_LEN = 15
INITIALIZE_LB_PAIR_ACCOUNTS_LEN = 14


@dataclass(frozen=True, slots=True)
class SwapAccounts:
    """The accounts of a `swap`, named as in the IDL."""

    lb_pair: Pubkey
    reserve_x: Pubkey
    reserve_y: Pubkey
    user_token_in: Pubkey
    user_token_out: Pubkey
    token_x_mint: Pubkey
    token_y_mint: Pubkey
    oracle: Pubkey
    user: Pubkey
    bin_arrays: tuple[Pubkey, ...]  # remaining accounts, in walking order
    bin_array_bitmap_extension: Pubkey | None = None
    host_fee_in: Pubkey | None = None
    token_x_program: Pubkey = TOKEN_PROGRAM_ID
    token_y_program: Pubkey = TOKEN_PROGRAM_ID
    event_authority: Pubkey = EVENT_AUTHORITY
    program: Pubkey = PROGRAM_ID


@dataclass(frozen=True, slots=True)
class SwapInstruction:
    """A decoded `swap`: its arguments and accounts."""

    args: SwapArgs
    accounts: SwapAccounts


@dataclass(frozen=True, slots=True)
class InitializeLbPairAccounts:
    """The accounts of an `initialize_lb_pair`, named as in the IDL."""

    lb_pair: Pubkey
    token_mint_x: Pubkey
    token_mint_y: Pubkey
    reserve_x: Pubkey
    reserve_y: Pubkey
    oracle: Pubkey
    preset_parameter: Pubkey
    funder: Pubkey
    bin_array_bitmap_extension: Pubkey | None = None
    token_program: Pubkey = TOKEN_PROGRAM_ID
    system_program: Pubkey = SYSTEM_PROGRAM_ID
    rent: Pubkey = RENT
    event_authority: Pubkey = EVENT_AUTHORITY
    program: Pubkey = PROGRAM_ID


@dataclass(frozen=True, slots=True)
class InitializeLbPairInstruction:
    """A decoded `initialize_lb_pair`: its arguments and accounts."""

    args: InitializeLbPairArgs
    accounts: InitializeLbPairAccounts


def _meta(pubkey: Pubkey, *, writable: bool = False, signer: bool = False) -> AccountMeta:
    return AccountMeta(pubkey, is_signer=signer, is_writable=writable)


def _optional(pubkey: Pubkey | None, *, writable: bool) -> AccountMeta:
    """Anchor's convention for an optional account: the program id, read-only, when absent."""
    if pubkey is None:
        return _meta(PROGRAM_ID)
    return _meta(pubkey, writable=writable)


def _or_none(pubkey: Pubkey) -> Pubkey | None:
    return None if pubkey == PROGRAM_ID else pubkey


def _keys(accounts: Sequence[Pubkey | AccountMeta]) -> list[Pubkey]:
    return [a.pubkey if isinstance(a, AccountMeta) else a for a in accounts]


def swap_account_metas(accounts: SwapAccounts) -> list[AccountMeta]:
    """The 15 IDL accounts of `swap` in order, then each bin array writable."""
    a = accounts
    return [
        _meta(a.lb_pair, writable=True),
        _optional(a.bin_array_bitmap_extension, writable=False),
        _meta(a.reserve_x, writable=True),
        _meta(a.reserve_y, writable=True),
        _meta(a.user_token_in, writable=True),
        _meta(a.user_token_out, writable=True),
        _meta(a.token_x_mint),
        _meta(a.token_y_mint),
        _meta(a.oracle, writable=True),
        _optional(a.host_fee_in, writable=True),
        _meta(a.user, signer=True),
        _meta(a.token_x_program),
        _meta(a.token_y_program),
        _meta(a.event_authority),
        _meta(a.program),
        *(_meta(bin_array, writable=True) for bin_array in a.bin_arrays),
    ]


def swap_instruction(accounts: SwapAccounts, amount_in: int, min_amount_out: int) -> Instruction:
    """A `swap` of exactly `amount_in`, failing on chain if it would pay under `min_amount_out`.

    The direction follows the accounts: `user_token_in` holds the mint being sold.
    """
    data = SWAP_ARGS.encode(SwapArgs(amount_in, min_amount_out))
    return Instruction(PROGRAM_ID, data, swap_account_metas(accounts))


def decode_swap_instruction(
    data: bytes, accounts: Sequence[Pubkey | AccountMeta]
) -> SwapInstruction:
    """Reads a `swap`'s data and account list (keys or metas) back into a typed record.

    Raises:
        LayoutError: Not `swap` data (discriminator or length), or fewer than 15 accounts.
    """
    if len(data) != SWAP_ARGS.size:
        raise LayoutError(f"swap data is {SWAP_ARGS.size} bytes, got {len(data)}")
    args = SWAP_ARGS.decode(data)
    keys = _keys(accounts)
    if len(keys) < SWAP_ACCOUNTS_LEN:
        raise LayoutError(f"swap takes {SWAP_ACCOUNTS_LEN} accounts, got {len(keys)}")
    (lb_pair, bitmap, reserve_x, reserve_y, token_in, token_out, mint_x, mint_y, oracle, host,
     user, program_x, program_y, event_authority, program) = keys[:SWAP_ACCOUNTS_LEN]  # fmt: skip
    named = SwapAccounts(
        lb_pair=lb_pair,
        reserve_x=reserve_x,
        reserve_y=reserve_y,
        user_token_in=token_in,
        user_token_out=token_out,
        token_x_mint=mint_x,
        token_y_mint=mint_y,
        oracle=oracle,
        user=user,
        bin_arrays=tuple(keys[SWAP_ACCOUNTS_LEN:]),
        bin_array_bitmap_extension=_or_none(bitmap),
        host_fee_in=_or_none(host),
        token_x_program=program_x,
        token_y_program=program_y,
        event_authority=event_authority,
        program=program,
    )
    return SwapInstruction(args, named)


def initialize_lb_pair_account_metas(accounts: InitializeLbPairAccounts) -> list[AccountMeta]:
    """The 14 IDL accounts of `initialize_lb_pair` in order."""
    a = accounts
    return [
        _meta(a.lb_pair, writable=True),
        _optional(a.bin_array_bitmap_extension, writable=True),
        _meta(a.token_mint_x),
        _meta(a.token_mint_y),
        _meta(a.reserve_x, writable=True),
        _meta(a.reserve_y, writable=True),
        _meta(a.oracle, writable=True),
        _meta(a.preset_parameter),
        _meta(a.funder, writable=True, signer=True),
        _meta(a.token_program),
        _meta(a.system_program),
        _meta(a.rent),
        _meta(a.event_authority),
        _meta(a.program),
    ]


def initialize_lb_pair_instruction(
    accounts: InitializeLbPairAccounts, active_id: int, bin_step: int
) -> Instruction:
    """An `initialize_lb_pair` opening a pair at bin `active_id` with the preset's bin step."""
    data = INITIALIZE_LB_PAIR_ARGS.encode(InitializeLbPairArgs(active_id, bin_step))
    return Instruction(PROGRAM_ID, data, initialize_lb_pair_account_metas(accounts))


def decode_initialize_lb_pair_instruction(
    data: bytes, accounts: Sequence[Pubkey | AccountMeta]
) -> InitializeLbPairInstruction:
    """Reads an `initialize_lb_pair`'s data and account list back into a typed record.

    Raises:
        LayoutError: Not `initialize_lb_pair` data, or fewer than 14 accounts.
    """
    if len(data) != INITIALIZE_LB_PAIR_ARGS.size:
        size = INITIALIZE_LB_PAIR_ARGS.size
        raise LayoutError(f"initialize_lb_pair data is {size} bytes, got {len(data)}")
    args = INITIALIZE_LB_PAIR_ARGS.decode(data)
    keys = _keys(accounts)
    if len(keys) < INITIALIZE_LB_PAIR_ACCOUNTS_LEN:
        raise LayoutError(
            f"initialize_lb_pair takes {INITIALIZE_LB_PAIR_ACCOUNTS_LEN} accounts, got {len(keys)}"
        )
    (lb_pair, bitmap, mint_x, mint_y, reserve_x, reserve_y, oracle, preset, funder,
     token_program, system_program, rent, event_authority, program) = keys[:14]  # fmt: skip
    named = InitializeLbPairAccounts(
        lb_pair=lb_pair,
        token_mint_x=mint_x,
        token_mint_y=mint_y,
        reserve_x=reserve_x,
        reserve_y=reserve_y,
        oracle=oracle,
        preset_parameter=preset,
        funder=funder,
        bin_array_bitmap_extension=_or_none(bitmap),
        token_program=token_program,
        system_program=system_program,
        rent=rent,
        event_authority=event_authority,
        program=program,
    )
    return InitializeLbPairInstruction(args, named)
