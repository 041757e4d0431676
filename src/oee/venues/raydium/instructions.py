"""The instructions the engine sends and the simulator checks: swaps and `Initialize2`.

`instruction.rs`: one tag byte, then the fields little-endian (`AmmInstruction::unpack` reads
what it needs and ignores trailing bytes). `SwapBaseIn` is tag 9 (`amount_in`,
`minimum_amount_out`), `SwapBaseOut` tag 11 (`max_amount_in`, `amount_out`); both take 17
accounts, or 18 with the (unused) target orders after the open orders (`processor.rs` accepts
exactly those two counts, else `WrongAccountsNumber`). `Initialize2` is tag 1 (`nonce` u8,
`open_time`, `init_pc_amount`, `init_coin_amount`) with 21 accounts. Decoders take the data
and the accounts' keys in instruction order; signer flags are the caller's to check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.sysvar import RENT

from oee.solana.layout import U8, U64, Layout, LayoutError
from oee.solana.spl import ATA_PROGRAM_ID, TOKEN_PROGRAM_ID
from oee.venues.raydium import RAYDIUM_AMM_V4
from oee.venues.raydium.discovery import authority_from_nonce, market_vault_signer
from oee.venues.raydium.errors import (
    AmmErrorCode,
    AmmProgramError,
    InvalidInstructionDataError,
    NotEnoughAccountKeysError,
)
from oee.venues.raydium.layout import AmmInfo, AmmStatus, MarketState

INITIALIZE2_TAG, SWAP_BASE_IN_TAG, SWAP_BASE_OUT_TAG = 1, 9, 11
SWAP_ACCOUNTS = 17  # 18 with the target orders
INITIALIZE2_ACCOUNTS = 21
T = TypeVar("T")


def _values(record: Any) -> list[Any]:
    return [getattr(record, f.name) for f in fields(record)]


@dataclass(frozen=True)
class SwapBaseInData:
    """Sell exactly `amount_in`; fail below `minimum_amount_out`."""

    amount_in: int
    minimum_amount_out: int


@dataclass(frozen=True)
class SwapBaseOutData:
    """Buy exactly `amount_out`; fail above `max_amount_in`."""

    max_amount_in: int
    amount_out: int


@dataclass(frozen=True)
class Initialize2Data:
    """`InitializeInstruction2`: the authority's bump, the unix open time, the deposits."""

    nonce: int
    open_time: int
    init_pc_amount: int
    init_coin_amount: int


SWAP_BASE_IN_DATA = Layout(
    SwapBaseInData,
    [("amount_in", U64), ("minimum_amount_out", U64)],
    discriminator=bytes([SWAP_BASE_IN_TAG]),
)
SWAP_BASE_OUT_DATA = Layout(
    SwapBaseOutData,
    [("max_amount_in", U64), ("amount_out", U64)],
    discriminator=bytes([SWAP_BASE_OUT_TAG]),
)
INITIALIZE2_DATA = Layout(
    Initialize2Data,
    [("nonce", U8), ("open_time", U64), ("init_pc_amount", U64), ("init_coin_amount", U64)],
    discriminator=bytes([INITIALIZE2_TAG]),
    size=26,
)


@dataclass(frozen=True)
class SwapAccounts:
    """A swap's accounts, in instruction order (`amm_target_orders` goes after the open
    orders when present). The flags are `swap_base_in`'s in `instruction.rs`."""

    token_program: Pubkey
    amm: Pubkey
    amm_authority: Pubkey
    amm_open_orders: Pubkey
    amm_coin_vault: Pubkey
    amm_pc_vault: Pubkey
    market_program: Pubkey
    market: Pubkey
    market_bids: Pubkey
    market_asks: Pubkey
    market_event_queue: Pubkey
    market_coin_vault: Pubkey
    market_pc_vault: Pubkey
    market_vault_signer: Pubkey
    user_source: Pubkey
    user_destination: Pubkey
    user_owner: Pubkey
    amm_target_orders: Pubkey | None = None

    def metas(self) -> list[AccountMeta]:
        """The account list, 17 long (18 with the target orders)."""
        keys = _values(self)[:SWAP_ACCOUNTS]
        writable = [k not in (0, 2, 6, 13, 16) for k in range(SWAP_ACCOUNTS)]
        metas = [AccountMeta(key, i == 16, writable[i]) for i, key in enumerate(keys)]
        if self.amm_target_orders is not None:
            metas.insert(4, AccountMeta(self.amm_target_orders, False, True))
        return metas

    @classmethod
    def from_keys(cls, keys: Sequence[Pubkey]) -> SwapAccounts:
        """Reads the accounts as `process_swap_base_in` does: 17 or 18, else an error.

        Raises:
            AmmProgramError: `WrongAccountsNumber`.
        """
        if len(keys) not in (SWAP_ACCOUNTS, SWAP_ACCOUNTS + 1):
            raise AmmProgramError(AmmErrorCode.WRONG_ACCOUNTS_NUMBER, f"got {len(keys)}")
        rest = list(keys)
        target = rest.pop(4) if len(rest) > SWAP_ACCOUNTS else None
        return cls(**dict(zip(SWAP_ACCOUNT_NAMES, rest, strict=True)), amm_target_orders=target)


@dataclass(frozen=True)
class SwapBaseIn:
    """A decoded `SwapBaseIn` instruction."""

    data: SwapBaseInData
    accounts: SwapAccounts


@dataclass(frozen=True)
class SwapBaseOut:
    """A decoded `SwapBaseOut` instruction."""

    data: SwapBaseOutData
    accounts: SwapAccounts


@dataclass(frozen=True)
class Initialize2Accounts:
    """`initialize2`'s 21 accounts, in instruction order."""

    token_program: Pubkey
    associated_token_program: Pubkey
    system_program: Pubkey
    rent_sysvar: Pubkey
    amm: Pubkey
    amm_authority: Pubkey
    amm_open_orders: Pubkey
    amm_lp_mint: Pubkey
    coin_mint: Pubkey
    pc_mint: Pubkey
    amm_coin_vault: Pubkey
    amm_pc_vault: Pubkey
    amm_target_orders: Pubkey
    amm_config: Pubkey
    create_fee_destination: Pubkey
    market_program: Pubkey
    market: Pubkey
    user_wallet: Pubkey
    user_token_coin: Pubkey
    user_token_pc: Pubkey
    user_token_lp: Pubkey

    def metas(self) -> list[AccountMeta]:
        """The account list. The user's coin and pc token accounts are writable, as real
        creations send them (the program transfers out of them; `instruction.rs`'s builder
        marks them read-only, which the runtime would refuse for a transfer source)."""
        readonly = {0, 1, 2, 3, 5, 8, 9, 13, 15, 16}
        return [AccountMeta(key, i == 17, i not in readonly) for i, key in enumerate(_values(self))]

    @classmethod
    def from_keys(cls, keys: Sequence[Pubkey]) -> Initialize2Accounts:
        """Reads the first 21 accounts (`process_initialize2` ignores any after them).

        Raises:
            NotEnoughAccountKeysError: fewer than 21.
        """
        if len(keys) < INITIALIZE2_ACCOUNTS:
            raise NotEnoughAccountKeysError(f"initialize2 reads 21 accounts, got {len(keys)}")
        return cls(*keys[:INITIALIZE2_ACCOUNTS])

    @classmethod
    def standard(cls, **keys: Pubkey) -> Initialize2Accounts:
        """The accounts with the four program/sysvar ids filled in (pass the other 17)."""
        return cls(
            token_program=TOKEN_PROGRAM_ID,
            associated_token_program=ATA_PROGRAM_ID,
            system_program=SYSTEM_PROGRAM_ID,
            rent_sysvar=RENT,
            **keys,
        )


@dataclass(frozen=True)
class Initialize2:
    """A decoded `Initialize2` instruction."""

    data: Initialize2Data
    accounts: Initialize2Accounts


def _unpack(layout: Layout[T], data: bytes) -> T:
    try:
        return layout.decode(data)
    except LayoutError as error:
        raise InvalidInstructionDataError(str(error)) from error


def swap_base_in(
    accounts: SwapAccounts, data: SwapBaseInData, program_id: Pubkey = RAYDIUM_AMM_V4
) -> Instruction:
    """Builds a `SwapBaseIn` instruction."""
    return Instruction(program_id, SWAP_BASE_IN_DATA.encode(data), accounts.metas())


def swap_base_out(
    accounts: SwapAccounts, data: SwapBaseOutData, program_id: Pubkey = RAYDIUM_AMM_V4
) -> Instruction:
    """Builds a `SwapBaseOut` instruction."""
    return Instruction(program_id, SWAP_BASE_OUT_DATA.encode(data), accounts.metas())


def initialize2(
    accounts: Initialize2Accounts, data: Initialize2Data, program_id: Pubkey = RAYDIUM_AMM_V4
) -> Instruction:
    """Builds an `Initialize2` instruction."""
    return Instruction(program_id, INITIALIZE2_DATA.encode(data), accounts.metas())


def decode_swap_base_in(data: bytes, keys: Sequence[Pubkey]) -> SwapBaseIn:
    """Decodes a `SwapBaseIn` from its data and account keys.

    Raises:
        InvalidInstructionDataError: not tag 9, or fewer than 17 data bytes.
        AmmProgramError: `WrongAccountsNumber` (not 17 or 18 accounts).
    """
    return SwapBaseIn(_unpack(SWAP_BASE_IN_DATA, data), SwapAccounts.from_keys(keys))


def decode_swap_base_out(data: bytes, keys: Sequence[Pubkey]) -> SwapBaseOut:
    """Decodes a `SwapBaseOut`; raises as `decode_swap_base_in` does (tag 11)."""
    return SwapBaseOut(_unpack(SWAP_BASE_OUT_DATA, data), SwapAccounts.from_keys(keys))


def decode_initialize2(data: bytes, keys: Sequence[Pubkey]) -> Initialize2:
    """Decodes an `Initialize2` from its data and account keys.

    Raises:
        InvalidInstructionDataError: not tag 1, or fewer than 26 data bytes.
        NotEnoughAccountKeysError: fewer than 21 accounts.
    """
    return Initialize2(_unpack(INITIALIZE2_DATA, data), Initialize2Accounts.from_keys(keys))


def instruction_tag(data: bytes) -> int | None:
    """The instruction's tag byte (None for empty data), to dispatch before decoding."""
    return data[0] if data else None


def swap_accounts(
    amm_id: Pubkey,
    amm: AmmInfo,
    market: MarketState,
    *,
    user_source: Pubkey,
    user_destination: Pubkey,
    user_owner: Pubkey,
    program_id: Pubkey = RAYDIUM_AMM_V4,
) -> SwapAccounts:
    """A swap's 17 accounts, from the pool and its market account (as bots assemble them).

    Args:
        amm_id: the pool account's address.
        amm: the decoded pool.
        market: the decoded OpenBook market at `amm.market`.
        user_source: the token account paying in (its mint picks the direction).
        user_destination: the token account receiving.
        user_owner: the signer owning `user_source`.
        program_id: the AMM program.
    """
    return SwapAccounts(
        token_program=TOKEN_PROGRAM_ID,
        amm=amm_id,
        amm_authority=authority_from_nonce(amm.nonce, program_id),
        amm_open_orders=amm.open_orders,
        amm_coin_vault=amm.coin_vault,
        amm_pc_vault=amm.pc_vault,
        market_program=amm.market_program,
        market=amm.market,
        market_bids=market.bids,
        market_asks=market.asks,
        market_event_queue=market.event_q,
        market_coin_vault=market.coin_vault,
        market_pc_vault=market.pc_vault,
        market_vault_signer=market_vault_signer(
            amm.market, market.vault_signer_nonce, amm.market_program
        ),
        user_source=user_source,
        user_destination=user_destination,
        user_owner=user_owner,
    )


def check_swap_accounts(
    accounts: SwapAccounts, amm: AmmInfo, program_id: Pubkey = RAYDIUM_AMM_V4
) -> None:
    """The key checks `process_swap_base_in`/`_out` make against the pool, in their order.

    The market accounts are checked only while the pool trades on its order book
    (`orderbook_permission`); a new pool (`SwapOnly`/`WaitingTrade`) accepts any, which is
    why bots fill them with placeholders. OpenBook's own checks of bids, asks, event queue
    and vaults are not repeated here.

    Raises:
        AmmProgramError: the first mismatch, with the program's error code.
    """
    code = AmmErrorCode
    checks = [
        (accounts.token_program == TOKEN_PROGRAM_ID, code.INVALID_SPL_TOKEN_PROGRAM),
        (
            accounts.amm_authority == authority_from_nonce(amm.nonce, program_id),
            code.INVALID_PROGRAM_ADDRESS,
        ),
        (accounts.amm_coin_vault == amm.coin_vault, code.INVALID_COIN_VAULT),
        (accounts.amm_pc_vault == amm.pc_vault, code.INVALID_PC_VAULT),
        (accounts.user_source not in (amm.coin_vault, amm.pc_vault), code.INVALID_USER_TOKEN),
        (accounts.user_destination not in (amm.coin_vault, amm.pc_vault), code.INVALID_USER_TOKEN),
    ]
    if AmmStatus(amm.status).orderbook_permission():
        checks += [
            (accounts.amm_open_orders == amm.open_orders, code.INVALID_OPEN_ORDERS),
            (accounts.market_program == amm.market_program, code.INVALID_MARKET_PROGRAM),
            (accounts.market == amm.market, code.INVALID_MARKET),
        ]
    for passed, error in checks:
        if not passed:
            raise AmmProgramError(error)


SWAP_ACCOUNT_NAMES = tuple(f.name for f in fields(SwapAccounts))[:SWAP_ACCOUNTS]
INITIALIZE2_ACCOUNT_NAMES = tuple(f.name for f in fields(Initialize2Accounts))
