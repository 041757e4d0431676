"""Launch and swap logs: format, parse, the `ray_log` layouts, and a real creation transaction."""

from __future__ import annotations

import base64
import json
import math
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.instruction import CompiledInstruction
from solders.pubkey import Pubkey

from oee.solana.base58 import b58decode
from oee.venues.raydium import MAINNET, RAYDIUM_AMM_V4
from oee.venues.raydium.discovery import pool_addresses
from oee.venues.raydium.errors import AmmErrorCode, AmmProgramError, RaydiumError
from oee.venues.raydium.execution import SwapOutcome
from oee.venues.raydium.instructions import (
    INITIALIZE2_ACCOUNT_NAMES,
    Initialize2,
    Initialize2Accounts,
    Initialize2Data,
)
from oee.venues.raydium.launches import (
    decode_ray_log,
    failure,
    find_pool_creation,
    initialize2_line,
    launch_pool,
    new_pool_from_transaction,
    pool_creation_logs,
    program_frame,
    program_frames,
    ray_log_line,
    swap_base_in_logs,
    swap_logs,
)
from oee.venues.raydium.layout import (
    AMM_INFO,
    DEFAULT_FEES,
    AmmStatus,
    InitLog,
    SwapBaseInLog,
    SwapBaseOutLog,
)

FIXTURES = Path(__file__).parents[3] / "fixtures" / "raydium"
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
MARKET = Pubkey(b"\x42" * 32)
u64s = st.integers(min_value=0, max_value=2**64 - 1)


def _real_tx() -> dict[str, object]:
    return json.loads((FIXTURES / "initialize2_repeat_create_amm.json").read_text())  # type: ignore[no-any-return]


def _creation_logs(init: Initialize2Data, init_log: InitLog) -> list[str]:
    cpi = [
        f"Program {TOKEN} invoke [2]",
        "Program log: Instruction: InitializeMint",
        f"Program {TOKEN} consumed 2924 of 1300000 compute units",
        f"Program {TOKEN} success",
    ]
    return [
        "Program ComputeBudget111111111111111111111111111111 invoke [1]",
        "Program ComputeBudget111111111111111111111111111111 success",
        *pool_creation_logs(init, init_log, consumed=104_585, limit=1_399_850, cpi_logs=cpi),
    ]


def test_the_initialize2_line_is_rust_debug_of_the_instruction() -> None:
    line = initialize2_line(Initialize2Data(254, 1_711_923_436, 7_000_000_000, 89_000_000_000_000))
    real = _real_tx()["logMessages"]
    assert isinstance(real, list)
    assert line == real[11]


def test_the_init_log_is_bincode_of_log_rs_init_log() -> None:
    record = InitLog(1_700_000_000, 9, 6, 1_000, 1_000_000, 5 * 10**9, 10**15, MARKET)
    expected = struct.pack("<BQBBQQQQ", 0, 1_700_000_000, 9, 6, 1_000, 1_000_000, 5 * 10**9, 10**15)
    line = ray_log_line(record)
    assert line == "Program log: ray_log: " + base64.b64encode(expected + bytes(MARKET)).decode()
    assert decode_ray_log(line.removeprefix("Program log: ray_log: ")) == record
    assert len(expected + bytes(MARKET)) == 75


def test_swap_logs_are_bincode_too() -> None:
    record = SwapBaseInLog(1, 2, 2, 4, 5, 6, 7)
    payload = ray_log_line(record).removeprefix("Program log: ray_log: ")
    assert base64.b64decode(payload) == struct.pack("<B7Q", 3, 1, 2, 2, 4, 5, 6, 7)
    out = SwapBaseOutLog(1, 2, 1, 4, 5, 6, 7)
    assert decode_ray_log(ray_log_line(out).removeprefix("Program log: ray_log: ")) == out


def test_other_or_broken_ray_logs() -> None:
    deposit = base64.b64encode(bytes([1]) + bytes(100)).decode()
    assert decode_ray_log(deposit) is None  # deposit/withdraw logs are not decoded
    for bad in ("not base64!", "", base64.b64encode(bytes([3, 1])).decode(), "CQ=="):
        with pytest.raises(RaydiumError):
            decode_ray_log(bad)


@given(nonce=st.integers(0, 255), open_time=u64s, pc=u64s, coin=u64s, lots=u64s)
def test_a_formatted_creation_parses_back(
    nonce: int, open_time: int, pc: int, coin: int, lots: int
) -> None:
    init = Initialize2Data(nonce, open_time, pc, coin)
    init_log = InitLog(open_time, 9, 6, lots, lots, pc, coin, MARKET)

    found = find_pool_creation(_creation_logs(init, init_log))

    assert found is not None
    assert (found.init, found.init_log) == (init, init_log)


def test_a_failed_creation_is_no_launch() -> None:
    logs = _real_tx()["logMessages"]
    assert isinstance(logs, list)
    assert find_pool_creation(logs) is None  # RepeatCreateAmm: same first line, then failed
    succeeded = [line.replace("failed: custom program error: 0x31", "success") for line in logs]
    found = find_pool_creation(succeeded)
    assert found is not None
    assert found.init.init_coin_amount == 89_000_000_000_000
    assert found.init_log is None  # that run never reached its ray_log


def test_lines_from_other_programs_do_not_count() -> None:
    init = Initialize2Data(254, 0, 1, 1)
    mimic = [f"Program {TOKEN} invoke [1]", initialize2_line(init), f"Program {TOKEN} success"]
    assert find_pool_creation(mimic) is None
    other_deployment = _creation_logs(init, InitLog(0, 9, 6, 1, 1, 1, 1, MARKET))
    assert find_pool_creation(other_deployment, MAINNET.openbook_program) is None


def test_truncated_logs_leave_the_frame_open() -> None:
    logs = _creation_logs(Initialize2Data(254, 0, 1, 1), InitLog(0, 9, 6, 1, 1, 1, 1, MARKET))
    truncated = [*logs[:5], "Log truncated"]
    assert find_pool_creation(truncated) is None
    raydium = [f for f in program_frames(truncated) if f.program == str(RAYDIUM_AMM_V4)]
    assert len(raydium) == 1
    assert raydium[0].succeeded is None
    assert raydium[0].messages == [initialize2_line(Initialize2Data(254, 0, 1, 1))[13:]]


def test_swap_logs_are_found_at_any_depth_and_failures_on_request() -> None:
    ok = SwapBaseInLog(10, 0, 2, 10, 100, 100, 8)
    slipped = SwapBaseInLog(10, 9, 2, 10, 100, 100, 8)
    error_line, error = failure(AmmErrorCode.EXCEEDED_SLIPPAGE)
    inner = [
        f"Program {RAYDIUM_AMM_V4} invoke [2]",
        ray_log_line(ok),
        f"Program {RAYDIUM_AMM_V4} consumed 20000 of 180000 compute units",
        f"Program {RAYDIUM_AMM_V4} success",
    ]
    aggregator = Pubkey(b"\x07" * 32)
    logs = [
        *program_frame(aggregator, inner, consumed=40_000, limit=200_000),
        *program_frame(
            RAYDIUM_AMM_V4, [ray_log_line(slipped), error_line], consumed=1, limit=2, error=error
        ),
    ]
    assert error_line == "Program log: Error: exceeds desired slippage limit"
    assert logs[-1].endswith("failed: custom program error: 0x1e")
    assert swap_logs(logs) == [ok]
    assert swap_logs(logs, include_failed=True) == [ok, slipped]


def test_the_new_pools_accounts_come_from_the_instructions_indexes() -> None:
    tx = _real_tx()
    keys = tx["accountKeys"]
    ix = tx["raydiumInstruction"]
    assert isinstance(keys, list)
    assert isinstance(ix, dict)
    compiled = [
        CompiledInstruction(17, b"", b""),  # ComputeBudget, index 17
        CompiledInstruction(
            keys.index(str(RAYDIUM_AMM_V4)),
            b58decode(ix["data_base58"]),
            bytes(keys.index(account) for account in ix["accounts"]),
        ),
    ]

    found = new_pool_from_transaction(keys, compiled)

    assert found is not None
    expected = pool_addresses(found.accounts.market)
    assert (found.accounts.amm, found.accounts.amm_coin_vault) == (
        expected.amm,
        expected.coin_vault,
    )
    assert (found.accounts.amm_pc_vault, found.accounts.amm_lp_mint) == (
        expected.pc_vault,
        expected.lp_mint,
    )
    assert str(found.accounts.coin_mint) == "hJkRHwmMGeSJZrjzGaK2ZGgwJSEzWHvYTBt1EhWUrjB"
    assert found.data.nonce == 254
    assert new_pool_from_transaction(keys, compiled[:1]) is None


def _initialize2(open_time: int = 0) -> Initialize2:
    keys = {name: Pubkey(bytes([i + 1]) * 32) for i, name in enumerate(INITIALIZE2_ACCOUNT_NAMES)}
    return Initialize2(
        Initialize2Data(254, open_time, 5 * 10**9, 10**15), Initialize2Accounts(**keys)
    )


def test_a_launched_pool_is_what_process_initialize2_writes() -> None:
    ix = _initialize2(open_time=2_000)
    launch = launch_pool(
        ix, coin_decimals=6, pc_decimals=9, coin_vault_amount=10**15, pc_vault_amount=5 * 10**9,
        market_coin_lot_size=1_000_000, market_pc_lot_size=1_000, now=1_000, epoch=700,
    )  # fmt: skip
    amm = launch.amm
    liquidity = math.isqrt(10**15 * 5 * 10**9)
    assert amm.lp_amount == liquidity
    assert launch.user_lp_amount == liquidity - 10**6
    assert amm.status == AmmStatus.WAITING_TRADE
    assert amm.state_data.pool_open_time == 2_000
    assert amm.fees == DEFAULT_FEES
    assert amm.nonce == 254
    assert amm.recent_epoch == 700
    assert (amm.sys_decimal_value, amm.amount_wave) == (10**9, 5 * 10**6)
    assert (amm.coin_vault_mint, amm.pc_vault_mint) == (ix.accounts.coin_mint, ix.accounts.pc_mint)
    assert amm.market == ix.accounts.market
    assert amm.amm_owner == MAINNET.amm_owner
    assert AMM_INFO.decode(AMM_INFO.encode(amm)) == amm
    assert launch.init_log == InitLog(
        2_000, 9, 6, 1_000, 1_000_000, 5 * 10**9, 10**15, ix.accounts.market
    )
    opened = launch_pool(
        _initialize2(open_time=0), coin_decimals=6, pc_decimals=9, coin_vault_amount=10**15,
        pc_vault_amount=5 * 10**9, market_coin_lot_size=1, market_pc_lot_size=1, now=1_000, epoch=1,
    )  # fmt: skip
    assert opened.amm.status == AmmStatus.SWAP_ONLY


@pytest.mark.parametrize(
    ("coin", "pc", "lots", "code"),
    [
        (0, 10**9, 1, AmmErrorCode.INVALID_SUPPLY),
        (10**9, 10**9, 0, AmmErrorCode.INVALID_MARKET),
        (10**5, 10**6, 1, AmmErrorCode.INIT_LP_AMOUNT_TOO_LESS),  # sqrt = 316_227 < 10**6
    ],
)
def test_a_launch_the_program_refuses(coin: int, pc: int, lots: int, code: AmmErrorCode) -> None:
    with pytest.raises(AmmProgramError) as raised:
        launch_pool(
            _initialize2(), coin_decimals=6, pc_decimals=9, coin_vault_amount=coin,
            pc_vault_amount=pc, market_coin_lot_size=lots, market_pc_lot_size=lots, now=0, epoch=0,
        )  # fmt: skip
    assert raised.value.code is code


def test_a_swaps_frame_from_its_outcome() -> None:
    log = SwapBaseInLog(10, 9, 2, 10, 100, 100, 8)
    slipped = SwapOutcome(AmmStatus.SWAP_ONLY, AmmErrorCode.EXCEEDED_SLIPPAGE, None, log)
    lines = swap_base_in_logs(slipped, consumed=16_808, limit=38_200)
    assert lines == [
        f"Program {RAYDIUM_AMM_V4} invoke [1]",
        ray_log_line(log),
        "Program log: Error: exceeds desired slippage limit",
        f"Program {RAYDIUM_AMM_V4} consumed 16808 of 38200 compute units",
        f"Program {RAYDIUM_AMM_V4} failed: custom program error: 0x1e",
    ]
    landed = SwapOutcome(AmmStatus.SWAP_ONLY, None, None, log)
    cpi = [f"Program {TOKEN} invoke [2]", f"Program {TOKEN} success"]
    assert swap_base_in_logs(landed, consumed=1, limit=2, cpi_logs=cpi)[2:4] == cpi
    assert swap_logs(swap_base_in_logs(landed, consumed=1, limit=2)) == [log]
