"""Raydium AMM v4 (the OpenBook-backed constant-product AMM): wire formats and exact math.

Every fact here is read from the program's source (github.com/raydium-io/raydium-amm,
`program/src/`) and pinned by a golden test: `layout` holds the 752-byte `AmmInfo` pool state,
the OpenBook market state the swap accounts come from and the `ray_log` payloads;
`instructions` the `SwapBaseIn`, `SwapBaseOut` and `Initialize2` instructions and the swap's
account checks; `math` the integer swap math of `processor.rs` and `math.rs`; `execution` a
`SwapBaseIn` run the way the program runs it (checks, codes, log); `discovery` the
program-derived addresses and `getProgramAccounts` filters; `launches` the log lines a pool
creation and a swap print, their parsers, and the state a new pool starts in; `errors` the
program's error codes. Pure: no I/O.

The constants below are the program ids `lib.rs` declares per cluster and the ones its
`processor.rs` (`config_feature`) compiles in for each: the OpenBook market program a new pool
must use, the account the pool-creation fee is paid to, and the owner written into every pool.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

# `lib.rs`: `declare_id!` without and with the `devnet` feature.
RAYDIUM_AMM_V4 = Pubkey.from_string("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8")
RAYDIUM_AMM_V4_DEVNET = Pubkey.from_string("DRaya7Kj3aMWQSy19kSjvmuwq9docCHofyP9kanQGaav")

# `processor.rs`, `config_feature::openbook_program`: `initialize2` rejects any other market
# program (`InvalidMarketProgram`). Mainnet's is OpenBook v1 (the Serum fork).
OPENBOOK_PROGRAM = Pubkey.from_string("srmqPvymJeFKQ4zGQed1GFppgkRHL9kaELCbyksJtPX")
OPENBOOK_PROGRAM_DEVNET = Pubkey.from_string("EoTcMgcDRTJVZDMZWBoU6rhYHZfkNTVEAfz3uUJRcYGj")


@dataclass(frozen=True)
class Cluster:
    """The ids one build of the program is compiled with (`lib.rs` and `config_feature`).

    Attributes:
        amm_program: the AMM program id.
        openbook_program: the only market program `initialize2` accepts.
        create_pool_fee_address: account 14 of `initialize2` must be this one.
        amm_owner: the admin written into `AmmInfo.amm_owner` of every new pool.
    """

    amm_program: Pubkey
    openbook_program: Pubkey
    create_pool_fee_address: Pubkey
    amm_owner: Pubkey


MAINNET = Cluster(
    amm_program=RAYDIUM_AMM_V4,
    openbook_program=OPENBOOK_PROGRAM,
    create_pool_fee_address=Pubkey.from_string("7YttLkHDoNj9wyDur5pM1ejNaAvT9X4eqaYcHQqtj2G5"),
    amm_owner=Pubkey.from_string("GThUX1Atko4tqhN2NaiTazWSeFWMuiUvfFnyJyUghFMJ"),
)
DEVNET = Cluster(
    amm_program=RAYDIUM_AMM_V4_DEVNET,
    openbook_program=OPENBOOK_PROGRAM_DEVNET,
    create_pool_fee_address=Pubkey.from_string("9y8ENuuZ3b19quffx9hQvRVygG5ky6snHfRvGpuSfeJy"),
    amm_owner=Pubkey.from_string("DRayqG9RXYi8WHgWEmRQGrUWRWbhjYWYkCRJDd6JBBak"),
)
