"""Account layouts: the `AmmInfo` pool state and the OpenBook market a pool trades through.

`AmmInfo` is `state.rs`'s `#[repr(C, packed)]` struct: 752 bytes, no discriminator, every
integer a u64 except four u128 statistics, with the `Fees` (64 bytes) and `StateData` (144
bytes) structs inline. The layout follows the current source, whose tail is `lp_amount,
client_order_id, recent_epoch, padding2: u64`; older builds had `padding2: [u64; 2]` where
`recent_epoch` now is, so every offset below 736 is the same in both. Checked against a real
mainnet pool (SOL/USDC, `tests/fixtures/raydium/`).

The swap instruction also passes the pool's OpenBook market and five of its accounts (bids,
asks, event queue, both vaults) plus the market's vault signer; `MARKET_STATE` reads them from
the market account (`dex/src/state.rs` of openbook-dex: a `b"serum"` head, the 47-word
`MarketState`, a `b"padding"` tail: 388 bytes). `discovery.market_vault_signer` derives the
signer from `vault_signer_nonce`. Last, the `ray_log` payloads the program logs (`log.rs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from solders.pubkey import Pubkey

from oee.solana.layout import PAD, PUBKEY, U8, U64, U128, Bytes, Layout, WireType

AMM_INFO_SIZE = 752
TEN_THOUSAND = 10_000


class AmmStatus(IntEnum):
    """`AmmStatus` (`state.rs`): which operations a pool allows."""

    UNINITIALIZED = 0
    INITIALIZED = 1
    DISABLED = 2
    WITHDRAW_ONLY = 3
    LIQUIDITY_ONLY = 4
    ORDER_BOOK_ONLY = 5
    SWAP_ONLY = 6
    WAITING_TRADE = 7  # a new pool before `pool_open_time`; the first swap after it flips it

    def swap_permission(self) -> bool:
        """Whether a swap may run in this status (`AmmStatus::swap_permission`)."""
        return self in (AmmStatus.INITIALIZED, AmmStatus.SWAP_ONLY, AmmStatus.WAITING_TRADE)

    def orderbook_permission(self) -> bool:
        """Whether the pool keeps orders on OpenBook (then a swap reads its open orders too)."""
        return self in (AmmStatus.INITIALIZED, AmmStatus.ORDER_BOOK_ONLY)


@dataclass(frozen=True)
class Fees:
    """`Fees`: eight u64 fractions. Only `swap_fee_*` prices a swap."""

    min_separate_numerator: int
    min_separate_denominator: int
    trade_fee_numerator: int
    trade_fee_denominator: int
    pnl_numerator: int
    pnl_denominator: int
    swap_fee_numerator: int
    swap_fee_denominator: int


FEES = Layout(Fees, [(name, U64) for name in Fees.__dataclass_fields__], size=64)
# `Fees::initialize`, what every new pool gets: swap fee 25/10000 taken from the input.
DEFAULT_FEES = Fees(5, TEN_THOUSAND, 25, TEN_THOUSAND, 12, 100, 25, TEN_THOUSAND)


@dataclass(frozen=True)
class StateData:
    """`StateData`: the pnl the pool still owes the protocol, its open time, and counters the
    source marks deprecated (no longer updated by the current program)."""

    need_take_pnl_coin: int
    need_take_pnl_pc: int
    total_pnl_pc: int
    total_pnl_coin: int
    pool_open_time: int
    orderbook_to_init_time: int
    swap_coin_in_amount: int
    swap_pc_out_amount: int
    swap_acc_pc_fee: int
    swap_pc_in_amount: int
    swap_coin_out_amount: int
    swap_acc_coin_fee: int


STATE_DATA = Layout(
    StateData,
    [
        ("need_take_pnl_coin", U64),
        ("need_take_pnl_pc", U64),
        ("total_pnl_pc", U64),
        ("total_pnl_coin", U64),
        ("pool_open_time", U64),
        (PAD, Bytes(16)),  # `padding: [u64; 2]`
        ("orderbook_to_init_time", U64),
        ("swap_coin_in_amount", U128),
        ("swap_pc_out_amount", U128),
        ("swap_acc_pc_fee", U64),
        ("swap_pc_in_amount", U128),
        ("swap_coin_out_amount", U128),
        ("swap_acc_coin_fee", U64),
    ],
    size=144,
)


@dataclass(frozen=True)
class AmmInfo:
    """`AmmInfo`, the pool account. "coin" is the base token, "pc" the quote."""

    status: int
    nonce: int  # the bump of the authority PDA (seed `b"amm authority"`)
    order_num: int
    depth: int
    coin_decimals: int
    pc_decimals: int
    state: int
    reset_flag: int
    min_size: int
    vol_max_cut_ratio: int
    amount_wave: int
    coin_lot_size: int
    pc_lot_size: int
    min_price_multiplier: int
    max_price_multiplier: int
    sys_decimal_value: int
    fees: Fees
    state_data: StateData
    coin_vault: Pubkey
    pc_vault: Pubkey
    coin_vault_mint: Pubkey
    pc_vault_mint: Pubkey
    lp_mint: Pubkey
    open_orders: Pubkey
    market: Pubkey
    market_program: Pubkey
    target_orders: Pubkey
    amm_owner: Pubkey
    lp_amount: int
    client_order_id: int
    recent_epoch: int


_HEAD = [
    "status",
    "nonce",
    "order_num",
    "depth",
    "coin_decimals",
    "pc_decimals",
    "state",
    "reset_flag",
    "min_size",
    "vol_max_cut_ratio",
    "amount_wave",
    "coin_lot_size",
    "pc_lot_size",
    "min_price_multiplier",
    "max_price_multiplier",
    "sys_decimal_value",
]
_KEYS = [
    "coin_vault",
    "pc_vault",
    "coin_vault_mint",
    "pc_vault_mint",
    "lp_mint",
    "open_orders",
    "market",
    "market_program",
    "target_orders",
]
AMM_INFO: Layout[AmmInfo] = Layout(
    AmmInfo,
    [
        *((name, U64) for name in _HEAD),
        ("fees", FEES),
        ("state_data", STATE_DATA),
        *((name, PUBKEY) for name in _KEYS),
        (PAD, Bytes(64)),  # `padding1: [u64; 8]`
        ("amm_owner", PUBKEY),
        ("lp_amount", U64),
        ("client_order_id", U64),
        ("recent_epoch", U64),
        (PAD, Bytes(8)),  # `padding2: u64`
    ],
    size=AMM_INFO_SIZE,
)


def field_offset(layout: Layout[Any], path: str) -> int:
    """Where a possibly nested field starts: `field_offset(AMM_INFO, "fees.swap_fee_numerator")`.

    Args:
        layout: the outer layout.
        path: field names joined by dots, outermost first.

    Returns:
        The byte offset from the start of the outer record.
    """
    head, _, rest = path.partition(".")
    offset = layout.offset(head)
    if not rest:
        return offset
    wire: WireType = dict(layout.fields)[head]
    if not isinstance(wire, Layout):
        raise KeyError(f"{head} is not a nested record")
    return offset + field_offset(wire, rest)


# OpenBook (Serum v3) market account.
MARKET_HEAD, MARKET_TAIL = b"serum", b"padding"
MARKET_STATE_SIZE = 388


@dataclass(frozen=True)
class MarketState:
    """OpenBook `MarketState` (the key fields are `[u64; 4]` on chain: the same 32 bytes)."""

    account_flags: int  # `Initialized | Market` = 3 for a live market
    own_address: Pubkey
    vault_signer_nonce: int
    coin_mint: Pubkey
    pc_mint: Pubkey
    coin_vault: Pubkey
    coin_deposits_total: int
    coin_fees_accrued: int
    pc_vault: Pubkey
    pc_deposits_total: int
    pc_fees_accrued: int
    pc_dust_threshold: int
    req_q: Pubkey
    event_q: Pubkey
    bids: Pubkey
    asks: Pubkey
    coin_lot_size: int
    pc_lot_size: int
    fee_rate_bps: int
    referrer_rebates_accrued: int


_MARKET_KEYS = {"own_address", "coin_mint", "pc_mint", "coin_vault", "pc_vault"}
_MARKET_KEYS |= {"req_q", "event_q", "bids", "asks"}
# The head padding doubles as a discriminator; the 7-byte tail follows the fields.
MARKET_STATE: Layout[MarketState] = Layout(
    MarketState,
    [(n, PUBKEY if n in _MARKET_KEYS else U64) for n in MarketState.__dataclass_fields__],
    discriminator=MARKET_HEAD,
    size=MARKET_STATE_SIZE - len(MARKET_TAIL),
)


def encode_market_state(market: MarketState) -> bytes:
    """The whole 388-byte market account, tail padding included (what the simulator stores)."""
    return MARKET_STATE.encode(market) + MARKET_TAIL


# `ray_log` payloads (`log.rs`): bincode of a struct whose first byte is its `LogType`, which
# serves as the discriminator here. bincode writes integers little-endian at fixed width and a
# `Pubkey` as its 32 bytes, so these are packed layouts like the rest.
class LogType(IntEnum):
    """`LogType` (`log.rs`): the first byte of every `ray_log`."""

    INIT = 0
    DEPOSIT = 1
    WITHDRAW = 2
    SWAP_BASE_IN = 3
    SWAP_BASE_OUT = 4


@dataclass(frozen=True)
class InitLog:
    """What `initialize2` logs: the open time, decimals, market lot sizes, vault amounts."""

    time: int
    pc_decimals: int
    coin_decimals: int
    pc_lot_size: int
    coin_lot_size: int
    pc_amount: int
    coin_amount: int
    market: Pubkey


@dataclass(frozen=True)
class SwapBaseInLog:
    """What a `SwapBaseIn` logs (also when it then fails): input, the user's source balance,
    the reserves it priced on and the output. `direction` is `math.SwapDirection`."""

    amount_in: int
    minimum_out: int
    direction: int
    user_source: int
    pool_coin: int
    pool_pc: int
    out_amount: int


@dataclass(frozen=True)
class SwapBaseOutLog:
    """What a `SwapBaseOut` logs; `deduct_in` is the input charged, fee included."""

    max_in: int
    amount_out: int
    direction: int
    user_source: int
    pool_coin: int
    pool_pc: int
    deduct_in: int


_INIT_LOG_TYPES = {"pc_decimals": U8, "coin_decimals": U8, "market": PUBKEY}
INIT_LOG: Layout[InitLog] = Layout(
    InitLog,
    [(n, _INIT_LOG_TYPES.get(n, U64)) for n in InitLog.__dataclass_fields__],
    discriminator=bytes([LogType.INIT]),
    size=75,
)
SWAP_BASE_IN_LOG: Layout[SwapBaseInLog] = Layout(
    SwapBaseInLog,
    [(n, U64) for n in SwapBaseInLog.__dataclass_fields__],
    discriminator=bytes([LogType.SWAP_BASE_IN]),
    size=57,
)
SWAP_BASE_OUT_LOG: Layout[SwapBaseOutLog] = Layout(
    SwapBaseOutLog,
    [(n, U64) for n in SwapBaseOutLog.__dataclass_fields__],
    discriminator=bytes([LogType.SWAP_BASE_OUT]),
    size=57,
)
