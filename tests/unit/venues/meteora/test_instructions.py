"""`swap` and `initialize_lb_pair`: data, account order and flags, and decoding back."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.sysvar import RENT

from oee.solana.layout import LayoutError
from oee.venues.meteora import EVENT_AUTHORITY, PROGRAM_ID
from oee.venues.meteora.discovery import (
    bin_array_address,
    lb_pair_address,
    oracle_address,
    preset_parameter_address,
    reserve_address,
)
from oee.venues.meteora.instructions import (
    InitializeLbPairAccounts,
    SwapAccounts,
    decode_initialize_lb_pair_instruction,
    decode_swap_instruction,
    initialize_lb_pair_instruction,
    swap_instruction,
)
from oee.venues.meteora.layout import INITIALIZE_LB_PAIR_ARGS, SWAP_ARGS
from tests.unit.venues.meteora.fixture_data import SOL_PUMP

TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
USER = Pubkey.new_unique()
IN_ACCOUNT, OUT_ACCOUNT = Pubkey.new_unique(), Pubkey.new_unique()


def _swap_accounts(**overrides: object) -> SwapAccounts:
    fields: dict[str, object] = {
        "lb_pair": SOL_PUMP.lb_pair,
        "reserve_x": SOL_PUMP.reserve_x,
        "reserve_y": SOL_PUMP.reserve_y,
        "user_token_in": IN_ACCOUNT,
        "user_token_out": OUT_ACCOUNT,
        "token_x_mint": SOL_PUMP.token_x_mint,
        "token_y_mint": SOL_PUMP.token_y_mint,
        "oracle": SOL_PUMP.oracle,
        "user": USER,
        "bin_arrays": (SOL_PUMP.bin_array_1, SOL_PUMP.bin_array_2),
    }
    fields.update(overrides)
    return SwapAccounts(**fields)  # type: ignore[arg-type]


def test_instruction_discriminators_are_anchors_and_the_idls() -> None:
    assert SWAP_ARGS.discriminator == hashlib.sha256(b"global:swap").digest()[:8]
    assert SWAP_ARGS.discriminator.hex() == "f8c69e91e17587c8"
    assert list(SWAP_ARGS.discriminator) == [248, 198, 158, 145, 225, 117, 135, 200]
    init = INITIALIZE_LB_PAIR_ARGS.discriminator
    assert init == hashlib.sha256(b"global:initialize_lb_pair").digest()[:8]
    assert list(init) == [45, 154, 237, 210, 221, 15, 166, 92]


def test_swap_data_and_account_order() -> None:
    instruction = swap_instruction(_swap_accounts(), 100_000, 68_000)
    assert instruction.program_id == PROGRAM_ID
    assert bytes(instruction.data) == (
        bytes.fromhex("f8c69e91e17587c8")
        + (100_000).to_bytes(8, "little")
        + (68_000).to_bytes(8, "little")
    )
    metas = instruction.accounts
    expected = [
        (SOL_PUMP.lb_pair, False, True),
        (PROGRAM_ID, False, False),  # no bitmap extension: the program id stands in
        (SOL_PUMP.reserve_x, False, True),
        (SOL_PUMP.reserve_y, False, True),
        (IN_ACCOUNT, False, True),
        (OUT_ACCOUNT, False, True),
        (SOL_PUMP.token_x_mint, False, False),
        (SOL_PUMP.token_y_mint, False, False),
        (SOL_PUMP.oracle, False, True),
        (PROGRAM_ID, False, False),  # no host fee account
        (USER, True, False),
        (TOKEN_PROGRAM, False, False),
        (TOKEN_PROGRAM, False, False),
        (EVENT_AUTHORITY, False, False),
        (PROGRAM_ID, False, False),
        (SOL_PUMP.bin_array_1, False, True),
        (SOL_PUMP.bin_array_2, False, True),
    ]
    assert [(m.pubkey, m.is_signer, m.is_writable) for m in metas] == expected


def test_swap_bin_arrays_are_the_walks_pdas() -> None:
    # the SDK's test passes the active array (0) then the next one down (-1)
    assert SOL_PUMP.bin_array_1 == bin_array_address(SOL_PUMP.lb_pair, 0)
    assert SOL_PUMP.bin_array_2 == bin_array_address(SOL_PUMP.lb_pair, -1)


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.booleans(), st.booleans())
def test_swap_round_trips(amount_in: int, minimum: int, with_host: bool, with_bitmap: bool) -> None:
    accounts = _swap_accounts(
        host_fee_in=Pubkey.new_unique() if with_host else None,
        bin_array_bitmap_extension=Pubkey.new_unique() if with_bitmap else None,
    )
    instruction = swap_instruction(accounts, amount_in, minimum)
    # from metas, and from bare keys as a compiled transaction gives them
    for listed in (instruction.accounts, [m.pubkey for m in instruction.accounts]):
        decoded = decode_swap_instruction(bytes(instruction.data), listed)
        assert (decoded.args.amount_in, decoded.args.min_amount_out) == (amount_in, minimum)
        assert decoded.accounts == accounts
    if with_host:
        assert instruction.accounts[9].is_writable


def test_swap_decoder_rejects_other_instructions() -> None:
    instruction = swap_instruction(_swap_accounts(), 1, 0)
    with pytest.raises(LayoutError):
        decode_swap_instruction(b"\x00" * 24, instruction.accounts)
    with pytest.raises(LayoutError):
        decode_swap_instruction(bytes(instruction.data) + b"\x00", instruction.accounts)
    with pytest.raises(LayoutError):
        decode_swap_instruction(bytes(instruction.data), instruction.accounts[:14])


def _initialize_accounts(bitmap: Pubkey | None = None) -> InitializeLbPairAccounts:
    mint_x, mint_y = Pubkey.new_unique(), Pubkey.new_unique()
    lb_pair = lb_pair_address(mint_x, mint_y, 25, 10_000)
    return InitializeLbPairAccounts(
        lb_pair=lb_pair,
        token_mint_x=mint_x,
        token_mint_y=mint_y,
        reserve_x=reserve_address(lb_pair, mint_x),
        reserve_y=reserve_address(lb_pair, mint_y),
        oracle=oracle_address(lb_pair),
        preset_parameter=preset_parameter_address(25, 10_000),
        funder=USER,
        bin_array_bitmap_extension=bitmap,
    )


def test_initialize_lb_pair_data_and_accounts() -> None:
    accounts = _initialize_accounts()
    instruction = initialize_lb_pair_instruction(accounts, -1_234, 25)
    assert bytes(instruction.data) == (
        bytes([45, 154, 237, 210, 221, 15, 166, 92])
        + (-1_234).to_bytes(4, "little", signed=True)
        + (25).to_bytes(2, "little")
    )
    flags = [(m.pubkey, m.is_signer, m.is_writable) for m in instruction.accounts]
    assert flags == [
        (accounts.lb_pair, False, True),
        (PROGRAM_ID, False, False),
        (accounts.token_mint_x, False, False),
        (accounts.token_mint_y, False, False),
        (accounts.reserve_x, False, True),
        (accounts.reserve_y, False, True),
        (accounts.oracle, False, True),
        (accounts.preset_parameter, False, False),
        (USER, True, True),
        (TOKEN_PROGRAM, False, False),
        (SYSTEM_PROGRAM_ID, False, False),
        (RENT, False, False),
        (EVENT_AUTHORITY, False, False),
        (PROGRAM_ID, False, False),
    ]


@given(st.integers(-(2**31), 2**31 - 1), st.integers(0, 2**16 - 1), st.booleans())
def test_initialize_lb_pair_round_trips(active_id: int, bin_step: int, with_bitmap: bool) -> None:
    accounts = _initialize_accounts(Pubkey.new_unique() if with_bitmap else None)
    instruction = initialize_lb_pair_instruction(accounts, active_id, bin_step)
    decoded = decode_initialize_lb_pair_instruction(bytes(instruction.data), instruction.accounts)
    assert (decoded.args.active_id, decoded.args.bin_step) == (active_id, bin_step)
    assert decoded.accounts == accounts
    with pytest.raises(LayoutError):
        decode_swap_instruction(bytes(instruction.data), instruction.accounts)
