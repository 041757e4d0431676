"""Pool launches and swaps as the chain shows them: log lines, their parser, the new pool's state.

`initialize2` first prints its instruction with Rust's derived `Debug`
(`initialize2: InitializeInstruction2 { nonce: 254, open_time: 0, init_pc_amount: 1,
init_coin_amount: 2 }`), makes its CPIs, then prints `ray_log: <base64>` of an `InitLog`
(`log.rs`); a swap prints one `ray_log` of a `SwapBaseInLog`/`SwapBaseOutLog`. Each is a
`Program log:` line inside the program's `invoke [n]` ... `success` frame, which the parser
tracks so that lines printed by other programs, or by a Raydium call that then failed, are not
taken for a launch. `new_pool_from_transaction` is the other half of a sniper: after
`getTransaction`, the pool's accounts by the `Initialize2` instruction's account indexes.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from solders.instruction import CompiledInstruction
from solders.pubkey import Pubkey

from oee.solana.layout import Layout
from oee.venues.raydium import MAINNET, RAYDIUM_AMM_V4
from oee.venues.raydium.errors import AmmErrorCode, AmmProgramError, RaydiumError
from oee.venues.raydium.execution import SwapOutcome
from oee.venues.raydium.instructions import (
    INITIALIZE2_TAG,
    Initialize2,
    Initialize2Data,
    decode_initialize2,
)
from oee.venues.raydium.layout import (
    DEFAULT_FEES,
    INIT_LOG,
    SWAP_BASE_IN_LOG,
    SWAP_BASE_OUT_LOG,
    AmmInfo,
    AmmStatus,
    InitLog,
    LogType,
    StateData,
    SwapBaseInLog,
    SwapBaseOutLog,
)

RayLog = InitLog | SwapBaseInLog | SwapBaseOutLog
LOG_PREFIX = "Program log: "
RAY_LOG_PREFIX = "ray_log: "
_INITIALIZE2 = re.compile(
    r"initialize2: InitializeInstruction2 \{ nonce: (\d+), open_time: (\d+), "
    r"init_pc_amount: (\d+), init_coin_amount: (\d+) \}"
)
_INVOKE = re.compile(r"Program (\w+) invoke \[(\d+)\]")
_END = re.compile(r"Program (\w+) (success|failed: .*)")
_LAYOUTS: dict[LogType, Layout[Any]] = {
    LogType.INIT: INIT_LOG,
    LogType.SWAP_BASE_IN: SWAP_BASE_IN_LOG,
    LogType.SWAP_BASE_OUT: SWAP_BASE_OUT_LOG,
}


def initialize2_line(data: Initialize2Data) -> str:
    """The `Program log:` line `initialize2` prints first (`{:?}` of its instruction)."""
    return (
        f"{LOG_PREFIX}initialize2: InitializeInstruction2 {{ nonce: {data.nonce}, "
        f"open_time: {data.open_time}, init_pc_amount: {data.init_pc_amount}, "
        f"init_coin_amount: {data.init_coin_amount} }}"
    )


def ray_log_line(record: RayLog) -> str:
    """`Program log: ray_log: <base64>` of an init or swap log."""
    layout = _LAYOUTS[_type_of(record)]
    return f"{LOG_PREFIX}{RAY_LOG_PREFIX}{base64.b64encode(layout.encode(record)).decode()}"


def _type_of(record: RayLog) -> LogType:
    if isinstance(record, InitLog):
        return LogType.INIT
    return LogType.SWAP_BASE_IN if isinstance(record, SwapBaseInLog) else LogType.SWAP_BASE_OUT


def decode_ray_log(payload: str) -> RayLog | None:
    """Decodes the base64 after `ray_log: `.

    Returns:
        The record; None for the deposit and withdraw logs, which are not decoded here.

    Raises:
        RaydiumError: not base64, or too short for its log type.
    """
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise RaydiumError(f"ray_log is not base64: {payload[:40]!r}") from error
    if not raw:
        raise RaydiumError("empty ray_log")
    if raw[0] >= len(LogType):
        raise RaydiumError(f"unknown ray_log type {raw[0]}")
    layout = _LAYOUTS.get(LogType(raw[0]))
    if layout is None:
        return None
    try:
        record: RayLog = layout.decode(raw)
    except ValueError as error:
        raise RaydiumError(str(error)) from error
    return record


def program_frame(
    program_id: Pubkey, body: Sequence[str], *, consumed: int, limit: int, error: str | None = None
) -> list[str]:
    """The runtime's frame around a top-level call: invoke, the body, units, outcome.

    Args:
        program_id: the program called.
        body: the lines it printed, CPIs' frames included.
        consumed: compute units it used.
        limit: compute units it had.
        error: e.g. `custom program error: 0x1e` for a failure; None for success.
    """
    outcome = "success" if error is None else f"failed: {error}"
    return [
        f"Program {program_id} invoke [1]",
        *body,
        f"Program {program_id} consumed {consumed} of {limit} compute units",
        f"Program {program_id} {outcome}",
    ]


def failure(code: AmmErrorCode) -> tuple[str, str]:
    """The error line the program prints and the `error` of its frame for a custom error."""
    return code.program_log(), f"custom program error: {code.value:#x}"


def pool_creation_logs(
    init: Initialize2Data,
    init_log: InitLog,
    *,
    consumed: int,
    limit: int,
    cpi_logs: Sequence[str] = (),
    program_id: Pubkey = RAYDIUM_AMM_V4,
) -> list[str]:
    """A successful `initialize2`'s frame: its instruction line, the CPIs it made (System and
    Token program frames at depth 2, the caller's to supply), then the `InitLog`."""
    body = [initialize2_line(init), *cpi_logs, ray_log_line(init_log)]
    return program_frame(program_id, body, consumed=consumed, limit=limit)


def swap_base_in_logs(
    outcome: SwapOutcome,
    *,
    consumed: int,
    limit: int,
    cpi_logs: Sequence[str] = (),
    program_id: Pubkey = RAYDIUM_AMM_V4,
) -> list[str]:
    """A `SwapBaseIn`'s frame: its `ray_log` (when it got that far), then either the two token
    transfers' frames (`cpi_logs`) or the error line and a failed outcome."""
    body = [] if outcome.ray_log is None else [ray_log_line(outcome.ray_log)]
    if outcome.error is None:
        return program_frame(program_id, [*body, *cpi_logs], consumed=consumed, limit=limit)
    line, error = failure(outcome.error)
    return program_frame(program_id, [*body, line], consumed=consumed, limit=limit, error=error)


@dataclass
class Frame:
    """One program invocation in a log: its `Program log:` messages and how it ended (mutable:
    filled in while the log is read)."""

    program: str
    depth: int
    messages: list[str] = field(default_factory=list)
    succeeded: bool | None = None  # None: the log ends (or is truncated) inside it


def program_frames(logs: Iterable[str]) -> list[Frame]:
    """Splits a transaction's logs into invocations, each with only its own messages."""
    frames: list[Frame] = []
    stack: list[Frame] = []
    for line in logs:
        if line.startswith(LOG_PREFIX):
            if stack:
                stack[-1].messages.append(line[len(LOG_PREFIX) :])
        elif (invoke := _INVOKE.fullmatch(line)) is not None:
            stack.append(Frame(invoke[1], int(invoke[2])))
            frames.append(stack[-1])
        elif (end := _END.fullmatch(line)) is not None and stack and stack[-1].program == end[1]:
            stack.pop().succeeded = end[2] == "success"
        elif line == "Log truncated":
            break
    return frames


@dataclass(frozen=True)
class PoolCreation:
    """A pool initialisation seen in logs: the instruction's fields and its `InitLog`."""

    init: Initialize2Data
    init_log: InitLog | None  # None if the ray_log line was lost (truncated logs)


def find_pool_creation(
    logs: Iterable[str], program_id: Pubkey = RAYDIUM_AMM_V4
) -> PoolCreation | None:
    """Recognises a successful `initialize2` in a `logsNotification`'s `logs`.

    Returns:
        The first successful pool creation by `program_id`, or None (a failed one, such as a
        `RepeatCreateAmm`, prints the same first line but is no launch).
    """
    for frame in program_frames(logs):
        if frame.program != str(program_id) or frame.succeeded is not True:
            continue
        found = [m for m in map(_INITIALIZE2.fullmatch, frame.messages) if m is not None]
        if found:
            nonce, open_time, pc, coin = (int(group) for group in found[0].groups())
            logs_here = _ray_logs(frame)
            init_log = next((r for r in logs_here if isinstance(r, InitLog)), None)
            return PoolCreation(Initialize2Data(nonce, open_time, pc, coin), init_log)
    return None


def _ray_logs(frame: Frame) -> list[RayLog]:
    records = [
        decode_ray_log(message[len(RAY_LOG_PREFIX) :])
        for message in frame.messages
        if message.startswith(RAY_LOG_PREFIX)
    ]
    return [record for record in records if record is not None]


def swap_logs(
    logs: Iterable[str], program_id: Pubkey = RAYDIUM_AMM_V4, *, include_failed: bool = False
) -> list[SwapBaseInLog | SwapBaseOutLog]:
    """The swap `ray_log`s of `program_id`'s calls (at any depth, e.g. via an aggregator).

    Args:
        logs: a transaction's log messages.
        program_id: the AMM program.
        include_failed: also those of calls that then failed (the program logs before its
            slippage check).
    """
    swaps: list[SwapBaseInLog | SwapBaseOutLog] = []
    for frame in program_frames(logs):
        if frame.program == str(program_id) and (include_failed or frame.succeeded):
            swaps += [r for r in _ray_logs(frame) if not isinstance(r, InitLog)]
    return swaps


def new_pool_from_transaction(
    account_keys: Sequence[Pubkey | str],
    instructions: Iterable[CompiledInstruction],
    program_id: Pubkey = RAYDIUM_AMM_V4,
) -> Initialize2 | None:
    """The first top-level `Initialize2` in a transaction, its accounts resolved.

    Args:
        account_keys: the message's keys; for a v0 transaction, followed by the loaded
            writable then read-only addresses (`meta.loadedAddresses`), as indexes count them.
        instructions: the message's compiled instructions.
        program_id: the AMM program.

    Returns:
        The decoded instruction (pool id `accounts.amm`, mints, vaults, LP mint, market,
        creator `accounts.user_wallet`), or None when the transaction creates no pool.
    """
    keys = [key if isinstance(key, Pubkey) else Pubkey.from_string(key) for key in account_keys]
    for ix in instructions:
        data = bytes(ix.data)
        if keys[ix.program_id_index] == program_id and data[:1] == bytes([INITIALIZE2_TAG]):
            return decode_initialize2(data, [keys[i] for i in bytes(ix.accounts)])
    return None


@dataclass(frozen=True)
class PoolLaunch:
    """What a successful `initialize2` leaves: the pool account, the user's LP, the log."""

    amm: AmmInfo
    user_lp_amount: int
    init_log: InitLog


def launch_pool(
    ix: Initialize2,
    *,
    coin_decimals: int,
    pc_decimals: int,
    coin_vault_amount: int,
    pc_vault_amount: int,
    market_coin_lot_size: int,
    market_pc_lot_size: int,
    now: int,
    epoch: int,
    amm_owner: Pubkey = MAINNET.amm_owner,
) -> PoolLaunch:
    """The pool state `process_initialize2` writes (current source: lot sizes and `min_size`
    are no longer copied from the market and stay 0; the `InitLog` still reports the market's).

    Args:
        ix: the decoded instruction (`decode_initialize2`).
        coin_decimals: the coin mint's decimals (also the LP mint's).
        pc_decimals: the pc mint's decimals.
        coin_vault_amount: the coin vault's balance after the deposit transfer.
        pc_vault_amount: likewise for pc.
        market_coin_lot_size: the OpenBook market's (checked non-zero by the program).
        market_pc_lot_size: likewise.
        now: unix time; a later `open_time` leaves the pool `WaitingTrade`.
        epoch: the current epoch (`recent_epoch`).
        amm_owner: the cluster's `config_feature::amm_owner`.

    Raises:
        AmmProgramError: `InvalidSupply` for an empty vault, `InvalidMarket` for a zero lot
            size, `InitLpAmountTooLess` when sqrt(pc * coin) is under 10**coin_decimals.
    """
    if coin_vault_amount == 0 or pc_vault_amount == 0:
        raise AmmProgramError(AmmErrorCode.INVALID_SUPPLY, "a vault is empty")
    if market_coin_lot_size == 0 or market_pc_lot_size == 0:
        raise AmmProgramError(AmmErrorCode.INVALID_MARKET, "zero lot size")
    liquidity = math.isqrt(pc_vault_amount * coin_vault_amount)
    user_lp_amount = liquidity - 10**coin_decimals  # 10**lp_decimals LP stays locked
    if user_lp_amount < 0:
        raise AmmProgramError(AmmErrorCode.INIT_LP_AMOUNT_TOO_LESS)
    data, acc = ix.data, ix.accounts
    sys_decimal_value = 10 ** max(pc_decimals, coin_decimals)
    status = AmmStatus.WAITING_TRADE if data.open_time > now else AmmStatus.SWAP_ONLY
    amm = AmmInfo(
        status=status, nonce=data.nonce, order_num=7, depth=3,
        coin_decimals=coin_decimals, pc_decimals=pc_decimals, state=1, reset_flag=0,
        min_size=0, vol_max_cut_ratio=500, amount_wave=sys_decimal_value * 5 // 1000,
        coin_lot_size=0, pc_lot_size=0, min_price_multiplier=1,
        max_price_multiplier=1_000_000_000, sys_decimal_value=sys_decimal_value,
        fees=DEFAULT_FEES, state_data=StateData(0, 0, 0, 0, data.open_time, *[0] * 7),
        coin_vault=acc.amm_coin_vault, pc_vault=acc.amm_pc_vault,
        coin_vault_mint=acc.coin_mint, pc_vault_mint=acc.pc_mint, lp_mint=acc.amm_lp_mint,
        open_orders=acc.amm_open_orders, market=acc.market, market_program=acc.market_program,
        target_orders=acc.amm_target_orders, amm_owner=amm_owner, lp_amount=liquidity,
        client_order_id=0, recent_epoch=epoch,
    )  # fmt: skip
    init_log = InitLog(
        time=data.open_time,
        pc_decimals=pc_decimals,
        coin_decimals=coin_decimals,
        pc_lot_size=market_pc_lot_size,
        coin_lot_size=market_coin_lot_size,
        pc_amount=pc_vault_amount,
        coin_amount=coin_vault_amount,
        market=acc.market,
    )
    return PoolLaunch(amm, user_lp_amount, init_log)
