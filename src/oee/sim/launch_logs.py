"""The program logs of a pool launch, as Raydium AMM v4 and Meteora DLMM print them.

A sniper recognises a launch by its logs, so they follow the real programs: Raydium's
`initialize2` logs its instruction (Rust `Debug`) and a `ray_log` (base64 of its `InitLog`:
u8 log type 0, u64 open time, u8 pc and coin decimals, u64 pc and coin lot sizes, u64 pc and
coin amounts, the OpenBook market); Meteora's Anchor program logs `Instruction:
InitializeLbPair` and emits `LbPairCreate` (`Program data:` base64 of the event discriminator,
pair, u16 bin step, token X, token Y). Both add the `oee-sim launch:` line `oee.sim.rpc_ws`
documents, which carries everything a sniper needs without decoding either.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import struct

from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

from oee.sim.launches import Launch, LaunchedPool
from oee.sim.pools import BIN_STEP
from oee.solana.spl import TOKEN_PROGRAM_ID

COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111"
SYSTEM_PROGRAM = str(SYSTEM_PROGRAM_ID)
TOKEN_PROGRAM = str(TOKEN_PROGRAM_ID)
COMPUTE_LIMIT = 1_400_000  # the transaction's limit; the venue program gets what is left
_INIT_LOG = struct.Struct("<BQBBQQQQ32s")  # Raydium AMM v4 `InitLog`
_LB_PAIR_CREATE = hashlib.sha256(b"event:LbPairCreate").digest()[:8]  # Anchor event tag


def launch_logs(launch: Launch, pool: LaunchedPool, open_time: int) -> list[str]:
    """The logs of the transaction that opened `pool` (unix `open_time`, Raydium's field)."""
    program = pool.program_id
    body = _raydium(launch, pool, open_time) if pool.venue == "raydium" else _meteora(launch, pool)
    units = 104_585 if pool.venue == "raydium" else 61_233
    return [
        f"Program {COMPUTE_BUDGET} invoke [1]",
        f"Program {COMPUTE_BUDGET} success",
        f"Program {program} invoke [1]",
        *body,
        sniper_line(launch, pool),
        f"Program {program} consumed {units} of {COMPUTE_LIMIT - 150} compute units",
        f"Program {program} success",
    ]


def sniper_line(launch: Launch, pool: LaunchedPool) -> str:
    """`Program log: oee-sim launch: key=value ...`: the pool, both mints and the reserves."""
    fields = {
        "venue": pool.venue,
        "pool": pool.address,
        "baseMint": launch.token.mint,
        "quoteMint": launch.quote.mint,
        "baseDecimals": launch.token.decimals,
        "quoteDecimals": launch.quote.decimals,
        "baseReserve": pool.reserve_base,
        "quoteReserve": pool.reserve_quote,
        "symbol": launch.token.symbol,
    }
    return "Program log: oee-sim launch: " + " ".join(f"{k}={v}" for k, v in fields.items())


def _raydium(launch: Launch, pool: LaunchedPool, open_time: int) -> list[str]:
    market = Pubkey(hashlib.sha256(f"oee-sim/openbook/{pool.address}".encode()).digest())
    ray_log = _INIT_LOG.pack(
        0, open_time, launch.quote.decimals, launch.token.decimals, 1, 1,
        pool.reserve_quote, pool.reserve_base, bytes(market),
    )  # fmt: skip
    return [
        f"Program log: initialize2: InitializeInstruction2 {{ nonce: {_nonce(pool.program_id)}, "
        f"open_time: {open_time}, init_pc_amount: {pool.reserve_quote}, "
        f"init_coin_amount: {pool.reserve_base} }}",
        *_cpi(SYSTEM_PROGRAM),
        *_cpi(TOKEN_PROGRAM, "InitializeMint", 2_924),
        *_cpi(TOKEN_PROGRAM, "MintTo", 4_492),
        f"Program log: ray_log: {base64.b64encode(ray_log).decode()}",
    ]


def _meteora(launch: Launch, pool: LaunchedPool) -> list[str]:
    # DLMM orders a pair's tokens as created: X is the new token, Y the quote, as in the pool.
    event = _LB_PAIR_CREATE + b"".join(
        (
            bytes(Pubkey.from_string(pool.address)),
            struct.pack("<H", BIN_STEP),
            bytes(Pubkey.from_string(launch.token.mint)),
            bytes(Pubkey.from_string(launch.quote.mint)),
        )
    )
    return [
        "Program log: Instruction: InitializeLbPair",
        *_cpi(SYSTEM_PROGRAM),
        *_cpi(TOKEN_PROGRAM, "InitializeAccount3", 4_214),
        *_cpi(TOKEN_PROGRAM, "InitializeAccount3", 4_214),
        f"Program data: {base64.b64encode(event).decode()}",
    ]


def _cpi(program: str, instruction: str | None = None, units: int = 0) -> list[str]:
    """A call the venue program makes, as the runtime logs it one level down."""
    if instruction is None:  # the System program logs neither instruction nor units
        return [f"Program {program} invoke [2]", f"Program {program} success"]
    return [
        f"Program {program} invoke [2]",
        f"Program log: Instruction: {instruction}",
        f"Program {program} consumed {units} of {COMPUTE_LIMIT // 2} compute units",
        f"Program {program} success",
    ]


@functools.cache
def _nonce(program_id: str) -> int:
    """Raydium's `nonce`: the bump of its authority PDA (seed "amm authority")."""
    return Pubkey.find_program_address([b"amm authority"], Pubkey.from_string(program_id))[1]
