"""Pair-creation logs written and read back, and a new pair's accounts taken from its transaction."""

from __future__ import annotations

import hashlib

import pytest
from solders.hash import Hash
from solders.message import Message
from solders.pubkey import Pubkey

from oee.venues.meteora import PROGRAM_ID
from oee.venues.meteora.discovery import (
    lb_pair_address,
    oracle_address,
    preset_parameter_address,
    reserve_address,
)
from oee.venues.meteora.instructions import (
    InitializeLbPairAccounts,
    initialize_lb_pair_instruction,
    swap_instruction,
)
from oee.venues.meteora.launches import (
    PAIR_CREATIONS,
    PairCreationLog,
    format_pair_creation_logs,
    is_pair_creation,
    new_pair_from_instruction,
    new_pairs_in_transaction,
    parse_pair_creations,
)
from tests.unit.venues.meteora.test_instructions import _swap_accounts

DLMM = str(PROGRAM_ID)
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"


def test_creation_logs_have_the_runtime_shape() -> None:
    logs = format_pair_creation_logs()
    assert logs[:2] == [f"Program {DLMM} invoke [1]", "Program log: Instruction: InitializeLbPair"]
    assert logs[-1] == f"Program {DLMM} success"
    assert logs[-2].startswith(f"Program {DLMM} consumed ")
    assert logs.count(f"Program {TOKEN} invoke [2]") == 2  # two reserves
    assert logs.count("Program log: Instruction: InitializeAccount3") == 2
    assert f"Program {DLMM} invoke [2]" in logs  # the event CPI


@pytest.mark.parametrize("name", sorted({name for name, _ in PAIR_CREATIONS.values()}))
def test_format_then_parse_round_trips(name: str) -> None:
    logs = format_pair_creation_logs(instruction=name, with_bitmap_extension=True)
    assert parse_pair_creations(logs) == [PairCreationLog(name, 1)]
    assert is_pair_creation(logs)


def test_creation_names_match_the_idl_discriminators() -> None:
    for discriminator, (name, _) in PAIR_CREATIONS.items():
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
        assert hashlib.sha256(f"global:{snake}".encode()).digest()[:8] == discriminator


def test_failed_or_truncated_creations_do_not_count() -> None:
    logs = format_pair_creation_logs()
    failed = [*logs[:-1], f"Program {DLMM} failed: custom program error: 0x0"]
    assert not is_pair_creation(failed)
    assert not is_pair_creation([*logs[:-2], "Log truncated"])


def test_other_programs_instructions_and_swaps_do_not_count() -> None:
    swap = [
        f"Program {DLMM} invoke [1]",
        "Program log: Instruction: Swap",
        f"Program {TOKEN} invoke [2]",
        "Program log: Instruction: TransferChecked",
        f"Program {TOKEN} success",
        f"Program {DLMM} success",
    ]
    assert not is_pair_creation(swap)
    impostor = [
        "Program 11111111111111111111111111111112 invoke [1]",
        "Program log: Instruction: InitializeLbPair",
        "Program 11111111111111111111111111111112 success",
    ]
    assert not is_pair_creation(impostor)


def test_creation_through_a_cpi_reports_its_depth() -> None:
    launcher = "Launcher1111111111111111111111111111111111"
    inner = [line.replace("[1]", "[2]") for line in format_pair_creation_logs()]
    inner = [line.replace(f"{TOKEN} invoke [2]", f"{TOKEN} invoke [3]") for line in inner]
    logs = [f"Program {launcher} invoke [1]", *inner, f"Program {launcher} success"]
    assert parse_pair_creations(logs) == [PairCreationLog("InitializeLbPair", 2)]


def test_new_pair_accounts_come_from_the_compiled_transaction() -> None:
    funder = Pubkey.new_unique()
    mint_x, mint_y = Pubkey.new_unique(), Pubkey.new_unique()
    lb_pair = lb_pair_address(mint_x, mint_y, 80, 10_000)
    accounts = InitializeLbPairAccounts(
        lb_pair=lb_pair,
        token_mint_x=mint_x,
        token_mint_y=mint_y,
        reserve_x=reserve_address(lb_pair, mint_x),
        reserve_y=reserve_address(lb_pair, mint_y),
        oracle=oracle_address(lb_pair),
        preset_parameter=preset_parameter_address(80, 10_000),
        funder=funder,
    )
    create = initialize_lb_pair_instruction(accounts, -512, 80)
    swap = swap_instruction(_swap_accounts(user=funder), 10, 0)
    message = Message.new_with_blockhash([create, swap], funder, Hash.default())
    (found,) = new_pairs_in_transaction(message.account_keys, message.instructions)
    assert found.instruction == "InitializeLbPair"
    assert (found.lb_pair, found.token_x_mint, found.token_y_mint) == (lb_pair, mint_x, mint_y)
    assert (found.reserve_x, found.reserve_y) == (accounts.reserve_x, accounts.reserve_y)
    assert (found.oracle, found.creator, found.active_id) == (accounts.oracle, funder, -512)


def test_permissioned_creation_skips_its_base_account() -> None:
    keys = [Pubkey.new_unique() for _ in range(16)]
    data = bytes([108, 102, 213, 85, 251, 3, 53, 21]) + (7).to_bytes(4, "little") + bytes(8)
    found = new_pair_from_instruction(keys, list(range(16)), data)
    assert found is not None
    assert (found.lb_pair, found.token_x_mint, found.oracle, found.creator) == (
        keys[1],
        keys[3],
        keys[7],
        keys[8],  # the admin follows base and the seven pair accounts
    )
    assert new_pair_from_instruction(keys, list(range(16)), bytes(16)) is None
