"""The instruction wire formats of `instruction.rs`: tags, data bytes, account order and count."""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from oee.solana.base58 import b58decode
from oee.solana.spl import TOKEN_PROGRAM_ID
from oee.venues.raydium import RAYDIUM_AMM_V4
from oee.venues.raydium.discovery import amm_authority, find_vault_signer_nonce
from oee.venues.raydium.errors import (
    AmmErrorCode,
    AmmProgramError,
    InvalidInstructionDataError,
    NotEnoughAccountKeysError,
)
from oee.venues.raydium.instructions import (
    INITIALIZE2_ACCOUNT_NAMES,
    SWAP_ACCOUNT_NAMES,
    Initialize2Accounts,
    Initialize2Data,
    SwapAccounts,
    SwapBaseInData,
    SwapBaseOutData,
    check_swap_accounts,
    decode_initialize2,
    decode_swap_base_in,
    decode_swap_base_out,
    initialize2,
    swap_accounts,
    swap_base_in,
    swap_base_out,
)
from oee.venues.raydium.layout import AmmStatus, MarketState
from tests.unit.venues.raydium.factories import pool

FIXTURES = Path(__file__).parents[3] / "fixtures" / "raydium"
u64s = st.integers(min_value=0, max_value=2**64 - 1)


def _key(i: int) -> Pubkey:
    return Pubkey(bytes([i + 1]) * 32)


def _swap_accounts(target: bool = False) -> SwapAccounts:
    keys = {name: _key(i) for i, name in enumerate(SWAP_ACCOUNT_NAMES)}
    return SwapAccounts(**keys, amm_target_orders=_key(99) if target else None)


@given(amount_in=u64s, minimum=u64s)
def test_swap_base_in_is_tag_9_then_two_u64(amount_in: int, minimum: int) -> None:
    ix = swap_base_in(_swap_accounts(), SwapBaseInData(amount_in, minimum))
    assert bytes(ix.data) == struct.pack("<BQQ", 9, amount_in, minimum)
    assert ix.program_id == RAYDIUM_AMM_V4
    decoded = decode_swap_base_in(bytes(ix.data), [m.pubkey for m in ix.accounts])
    assert decoded.data == SwapBaseInData(amount_in, minimum)
    assert decoded.accounts == _swap_accounts()


@given(max_in=u64s, amount_out=u64s)
def test_swap_base_out_is_tag_11(max_in: int, amount_out: int) -> None:
    ix = swap_base_out(_swap_accounts(), SwapBaseOutData(max_in, amount_out))
    assert bytes(ix.data) == struct.pack("<BQQ", 11, max_in, amount_out)
    decoded = decode_swap_base_out(bytes(ix.data), [m.pubkey for m in ix.accounts])
    assert decoded.data == SwapBaseOutData(max_in, amount_out)


def test_swap_accounts_follow_instruction_rs_order_and_flags() -> None:
    metas = _swap_accounts().metas()
    assert SWAP_ACCOUNT_NAMES == (
        "token_program", "amm", "amm_authority", "amm_open_orders", "amm_coin_vault",
        "amm_pc_vault", "market_program", "market", "market_bids", "market_asks",
        "market_event_queue", "market_coin_vault", "market_pc_vault", "market_vault_signer",
        "user_source", "user_destination", "user_owner",
    )  # fmt: skip
    assert len(metas) == 17
    assert [m.is_signer for m in metas] == [False] * 16 + [True]
    readonly = {i for i, m in enumerate(metas) if not m.is_writable}
    assert readonly == {0, 2, 6, 13, 16}  # token program, authority, market program, signer...


def test_the_optional_target_orders_goes_after_the_open_orders() -> None:
    accounts = _swap_accounts(target=True)
    metas = accounts.metas()
    assert len(metas) == 18
    assert metas[4].pubkey == _key(99)
    assert metas[4].is_writable
    assert metas[5].pubkey == accounts.amm_coin_vault
    data = struct.pack("<BQQ", 9, 1, 0)
    assert decode_swap_base_in(data, [m.pubkey for m in metas]).accounts == accounts


@pytest.mark.parametrize("count", [0, 16, 19, 21])
def test_other_account_counts_are_the_programs_wrong_accounts_number(count: int) -> None:
    with pytest.raises(AmmProgramError) as raised:
        decode_swap_base_in(struct.pack("<BQQ", 9, 1, 0), [_key(i) for i in range(count)])
    assert raised.value.code is AmmErrorCode.WRONG_ACCOUNTS_NUMBER
    assert int(raised.value.code) == 24


@pytest.mark.parametrize(
    "data",
    [b"", bytes([9]), struct.pack("<BQ", 9, 1), struct.pack("<BQQ", 11, 1, 0)],
)
def test_short_data_or_another_tag_is_invalid_instruction_data(data: bytes) -> None:
    with pytest.raises(InvalidInstructionDataError):
        decode_swap_base_in(data, [_key(i) for i in range(17)])


def test_trailing_data_is_ignored_as_unpack_does() -> None:
    data = struct.pack("<BQQ", 9, 5, 6) + b"\xff\xff"
    assert decode_swap_base_in(data, [_key(i) for i in range(17)]).data == SwapBaseInData(5, 6)


def test_a_real_initialize2_decodes() -> None:
    tx = json.loads((FIXTURES / "initialize2_repeat_create_amm.json").read_text())
    data = b58decode(tx["raydiumInstruction"]["data_base58"])
    keys = [Pubkey.from_string(k) for k in tx["raydiumInstruction"]["accounts"]]

    ix = decode_initialize2(data, keys)

    assert data == struct.pack("<BBQQQ", 1, 254, 1_711_923_436, 7_000_000_000, 89_000_000_000_000)
    assert ix.data == Initialize2Data(254, 1_711_923_436, 7_000_000_000, 89_000_000_000_000)
    assert ix.accounts.token_program == TOKEN_PROGRAM_ID
    assert ix.accounts.amm_authority == amm_authority()[0]
    assert str(ix.accounts.coin_mint) == "hJkRHwmMGeSJZrjzGaK2ZGgwJSEzWHvYTBt1EhWUrjB"
    assert str(ix.accounts.pc_mint) == "So11111111111111111111111111111111111111112"
    assert str(ix.accounts.market) == "8Wobfz55bpB8orA824sKpM9Kk6ipcjvCZ5qCYGfu5vfM"
    assert str(ix.accounts.user_wallet) == "9X6Sf3CCfFAfMCJcnAFnKgCDujkyb1Vu94HU94ZZ9zot"
    assert str(ix.accounts.create_fee_destination) == "7YttLkHDoNj9wyDur5pM1ejNaAvT9X4eqaYcHQqtj2G5"
    built = initialize2(ix.accounts, ix.data)
    assert bytes(built.data) == data
    assert [m.pubkey for m in built.accounts] == keys


def test_initialize2_accounts_and_flags() -> None:
    keys = [_key(i) for i in range(21)]
    accounts = Initialize2Accounts(*keys)
    metas = accounts.metas()
    assert INITIALIZE2_ACCOUNT_NAMES[4] == "amm"
    assert INITIALIZE2_ACCOUNT_NAMES[16] == "market"
    assert INITIALIZE2_ACCOUNT_NAMES[17] == "user_wallet"
    assert [i for i, m in enumerate(metas) if m.is_signer] == [17]
    writable = {i for i, m in enumerate(metas) if m.is_writable}
    assert writable == {4, 6, 7, 10, 11, 12, 14, 17, 18, 19, 20}
    with pytest.raises(NotEnoughAccountKeysError):
        decode_initialize2(struct.pack("<BBQQQ", 1, 254, 0, 1, 1), keys[:20])
    # `process_initialize2` reads 21 accounts and never looks at more.
    decoded = decode_initialize2(struct.pack("<BBQQQ", 1, 254, 0, 1, 1), [*keys, _key(50)])
    assert decoded.accounts == accounts
    standard = Initialize2Accounts.standard(
        **{n: k for n, k in zip(INITIALIZE2_ACCOUNT_NAMES[4:], keys[4:], strict=True)}
    )
    assert standard.token_program == TOKEN_PROGRAM_ID


def test_swap_accounts_come_from_the_pool_and_its_market() -> None:
    amm = pool(status=AmmStatus.SWAP_ONLY)
    signer, nonce = find_vault_signer_nonce(amm.market, amm.market_program)
    market = MarketState(
        3, amm.market, nonce, amm.coin_vault_mint, amm.pc_vault_mint, _key(40), 0, 0, _key(41),
        0, 0, 0, _key(42), _key(43), _key(44), _key(45), 1, 1, 0, 0,
    )  # fmt: skip
    accounts = swap_accounts(
        _key(60), amm, market, user_source=_key(61), user_destination=_key(62), user_owner=_key(63)
    )
    assert accounts.amm_authority == amm_authority()[0]
    assert (accounts.market_bids, accounts.market_asks) == (_key(44), _key(45))
    assert accounts.market_event_queue == _key(43)
    assert (accounts.market_coin_vault, accounts.market_pc_vault) == (_key(40), _key(41))
    assert accounts.market_vault_signer == signer
    check_swap_accounts(accounts, amm)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"token_program": Pubkey.default()}, AmmErrorCode.INVALID_SPL_TOKEN_PROGRAM),
        ({"amm_authority": Pubkey.default()}, AmmErrorCode.INVALID_PROGRAM_ADDRESS),
        ({"amm_coin_vault": Pubkey.default()}, AmmErrorCode.INVALID_COIN_VAULT),
        ({"amm_pc_vault": Pubkey.default()}, AmmErrorCode.INVALID_PC_VAULT),
        ({"user_source": "coin_vault"}, AmmErrorCode.INVALID_USER_TOKEN),
        ({"user_destination": "pc_vault"}, AmmErrorCode.INVALID_USER_TOKEN),
    ],
)
def test_account_checks_return_the_programs_codes(
    change: dict[str, Pubkey | str], code: AmmErrorCode
) -> None:
    amm = pool(status=AmmStatus.SWAP_ONLY)
    good = SwapAccounts(
        TOKEN_PROGRAM_ID, _key(60), amm_authority()[0], amm.open_orders, amm.coin_vault,
        amm.pc_vault, amm.market_program, amm.market, _key(0), _key(1), _key(2), _key(3), _key(4), _key(5),
        _key(61), _key(62), _key(63),
    )  # fmt: skip
    resolved: dict[str, Pubkey] = {
        k: getattr(amm, v) if isinstance(v, str) else v for k, v in change.items()
    }
    with pytest.raises(AmmProgramError) as raised:
        check_swap_accounts(dataclasses.replace(good, **resolved), amm)
    assert raised.value.code is code


def test_market_accounts_are_only_checked_while_the_pool_is_on_the_book() -> None:
    amm = pool(status=AmmStatus.SWAP_ONLY)
    accounts = SwapAccounts(
        TOKEN_PROGRAM_ID, _key(60), amm_authority()[0], _key(1), amm.coin_vault, amm.pc_vault,
        _key(2), _key(3), _key(0), _key(1), _key(2), _key(3), _key(4), _key(5), _key(61), _key(62), _key(63),
    )  # fmt: skip
    check_swap_accounts(accounts, amm)  # placeholders pass, as bots rely on
    with pytest.raises(AmmProgramError) as raised:
        check_swap_accounts(accounts, dataclasses.replace(amm, status=AmmStatus.INITIALIZED))
    assert raised.value.code is AmmErrorCode.INVALID_OPEN_ORDERS
