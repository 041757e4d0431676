"""DLMM account layouts (`LbPair`, `BinArray`, `Oracle`) and instruction argument layouts.

Every account is an Anchor zero-copy (`bytemuck`, `repr(C)`) struct behind an 8-byte
discriminator, `sha256("account:<Name>")[:8]`; instruction data is `sha256("global:<name>")[:8]`
followed by the borsh arguments. Field order, types and sizes follow the IDL of the SDK era the
mainnet fixtures were captured in (`idls/dlmm.json` at 8d67b99, the SDK at fb02e51). Two later
additions that live in bytes the older IDL called padding are named too, so a quote can refuse
pairs whose fee semantics it does not model: `StaticParameters.function_type` and
`collect_fee_mode`, and `LbPair.version` (the newest IDL). The `Bin` layout is the pinned one; in
limit-order pairs (`function_type` 2, bin array `version` 2) the bytes after `liquidity_supply`
hold order book fields instead, which the quote does not model and refuses. Reserved and tombstoned bytes are kept as named opaque
`bytes` rather than padding, because some hold old values (`padding_1` was the fee owner) and a
decode-encode round trip must give back the account's exact bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from oee.solana.layout import (
    I32,
    I64,
    I128,
    PUBKEY,
    U8,
    U16,
    U32,
    U64,
    U128,
    Array,
    Bytes,
    Layout,
    LayoutError,
)

BINS_PER_ARRAY = 70  # MAX_BIN_PER_ARRAY
BITMAP_WORDS = 16  # LbPair.bin_array_bitmap: 1024 bits for bin array indexes -512..511
REWARD_INFOS_SIZE = 2 * 144  # two RewardInfo structs, kept opaque (the swap math never reads them)


@dataclass(frozen=True, slots=True)
class StaticParameters:
    """Fee parameters set by the protocol (IDL `StaticParameters`, 32 bytes)."""

    base_factor: int
    filter_period: int  # seconds
    decay_period: int  # seconds
    reduction_factor: int  # basis points
    variable_fee_control: int
    max_volatility_accumulator: int
    min_bin_id: int
    max_bin_id: int
    protocol_share: int  # basis points of the swap fee
    base_fee_power_factor: int
    function_type: int  # 0 undetermined, 1 liquidity mining, 2 limit order (newest IDL)
    collect_fee_mode: int  # 0 fee on input, 1 fee only in Y (newest IDL)
    padding: bytes


@dataclass(frozen=True, slots=True)
class VariableParameters:
    """Volatility state the variable fee is computed from (IDL `VariableParameters`, 32 bytes)."""

    volatility_accumulator: int
    volatility_reference: int
    index_reference: int
    padding: bytes
    last_update_timestamp: int
    padding_1: bytes


@dataclass(frozen=True, slots=True)
class ProtocolFee:
    """Protocol fees collected and not yet claimed, per token."""

    amount_x: int
    amount_y: int


@dataclass(frozen=True, slots=True)
class LbPair:
    """A DLMM pair (IDL `LbPair`, 904 bytes with its discriminator)."""

    parameters: StaticParameters
    v_parameters: VariableParameters
    bump_seed: bytes
    bin_step_seed: bytes
    pair_type: int  # 0 permissionless, 1 permission, 2 customizable permissionless, 3 v2
    active_id: int
    bin_step: int  # basis points between neighbouring bins' prices
    status: int  # 0 enabled, 1 disabled
    require_base_factor_seed: int
    base_factor_seed: bytes
    activation_type: int  # 0 slot, 1 timestamp
    creator_pool_on_off_control: int
    token_x_mint: Pubkey
    token_y_mint: Pubkey
    reserve_x: Pubkey
    reserve_y: Pubkey
    protocol_fee: ProtocolFee
    padding_1: bytes  # tombstone of the old fee owner
    reward_infos: bytes
    oracle: Pubkey
    bin_array_bitmap: tuple[int, ...]  # 16 u64 words, least significant first
    last_updated_at: int
    padding_2: bytes
    pre_activation_swap_address: Pubkey
    base_key: Pubkey
    activation_point: int
    pre_activation_duration: int
    padding_3: bytes
    padding_4: int
    creator: Pubkey
    token_mint_x_program_flag: int  # 0 SPL Token, 1 Token-2022
    token_mint_y_program_flag: int
    version: int  # newest IDL; the pinned IDL counts it in the reserved bytes
    reserved: bytes


@dataclass(frozen=True, slots=True)
class Bin:
    """One price bin (IDL `Bin`, 144 bytes)."""

    amount_x: int  # excludes fees
    amount_y: int
    price: int  # Q64.64; 0 until the program first stores it
    liquidity_supply: int  # Q64.64 shares
    reward_per_token_stored: tuple[int, ...]
    fee_amount_x_per_token_stored: int
    fee_amount_y_per_token_stored: int
    amount_x_in: int  # tracking only
    amount_y_in: int


@dataclass(frozen=True, slots=True)
class BinArray:
    """70 consecutive bins, `index * 70` to `index * 70 + 69` (IDL `BinArray`, 10,136 bytes)."""

    index: int
    version: int
    padding: bytes
    lb_pair: Pubkey
    bins: tuple[Bin, ...]


@dataclass(frozen=True, slots=True)
class Oracle:
    """The oracle account's header; `length` observations of 32 bytes follow it."""

    idx: int
    active_size: int
    length: int


@dataclass(frozen=True, slots=True)
class Observation:
    """One time-weighted active-bin sample in the oracle's ring buffer."""

    cumulative_active_bin_id: int
    created_at: int
    last_updated_at: int


@dataclass(frozen=True, slots=True)
class OracleAccount:
    """A whole oracle account: header and observations."""

    header: Oracle
    observations: tuple[Observation, ...]


@dataclass(frozen=True, slots=True)
class SwapArgs:
    """Arguments of the `swap` instruction."""

    amount_in: int
    min_amount_out: int


@dataclass(frozen=True, slots=True)
class InitializeLbPairArgs:
    """Arguments of the `initialize_lb_pair` instruction."""

    active_id: int
    bin_step: int


STATIC_PARAMETERS = Layout(
    StaticParameters,
    [
        ("base_factor", U16),
        ("filter_period", U16),
        ("decay_period", U16),
        ("reduction_factor", U16),
        ("variable_fee_control", U32),
        ("max_volatility_accumulator", U32),
        ("min_bin_id", I32),
        ("max_bin_id", I32),
        ("protocol_share", U16),
        ("base_fee_power_factor", U8),
        ("function_type", U8),
        ("collect_fee_mode", U8),
        ("padding", Bytes(3)),
    ],
    size=32,
)

VARIABLE_PARAMETERS = Layout(
    VariableParameters,
    [
        ("volatility_accumulator", U32),
        ("volatility_reference", U32),
        ("index_reference", I32),
        ("padding", Bytes(4)),
        ("last_update_timestamp", I64),
        ("padding_1", Bytes(8)),
    ],
    size=32,
)

PROTOCOL_FEE = Layout(ProtocolFee, [("amount_x", U64), ("amount_y", U64)], size=16)

LB_PAIR = Layout(
    LbPair,
    [
        ("parameters", STATIC_PARAMETERS),
        ("v_parameters", VARIABLE_PARAMETERS),
        ("bump_seed", Bytes(1)),
        ("bin_step_seed", Bytes(2)),
        ("pair_type", U8),
        ("active_id", I32),
        ("bin_step", U16),
        ("status", U8),
        ("require_base_factor_seed", U8),
        ("base_factor_seed", Bytes(2)),
        ("activation_type", U8),
        ("creator_pool_on_off_control", U8),
        ("token_x_mint", PUBKEY),
        ("token_y_mint", PUBKEY),
        ("reserve_x", PUBKEY),
        ("reserve_y", PUBKEY),
        ("protocol_fee", PROTOCOL_FEE),
        ("padding_1", Bytes(32)),
        ("reward_infos", Bytes(REWARD_INFOS_SIZE)),
        ("oracle", PUBKEY),
        ("bin_array_bitmap", Array(U64, BITMAP_WORDS)),
        ("last_updated_at", I64),
        ("padding_2", Bytes(32)),
        ("pre_activation_swap_address", PUBKEY),
        ("base_key", PUBKEY),
        ("activation_point", U64),
        ("pre_activation_duration", U64),
        ("padding_3", Bytes(8)),
        ("padding_4", U64),
        ("creator", PUBKEY),
        ("token_mint_x_program_flag", U8),
        ("token_mint_y_program_flag", U8),
        ("version", U8),
        ("reserved", Bytes(21)),
    ],
    discriminator=bytes.fromhex("210b3162b565b10d"),  # sha256("account:LbPair")[:8]
    size=904,
)

BIN = Layout(
    Bin,
    [
        ("amount_x", U64),
        ("amount_y", U64),
        ("price", U128),
        ("liquidity_supply", U128),
        ("reward_per_token_stored", Array(U128, 2)),
        ("fee_amount_x_per_token_stored", U128),
        ("fee_amount_y_per_token_stored", U128),
        ("amount_x_in", U128),
        ("amount_y_in", U128),
    ],
    size=144,
)

BIN_ARRAY = Layout(
    BinArray,
    [
        ("index", I64),
        ("version", U8),
        ("padding", Bytes(7)),
        ("lb_pair", PUBKEY),
        ("bins", Array(BIN, BINS_PER_ARRAY)),
    ],
    discriminator=bytes.fromhex("5c8e5cdc059446b5"),  # sha256("account:BinArray")[:8]
    size=10_136,
)

ORACLE = Layout(
    Oracle,
    [("idx", U64), ("active_size", U64), ("length", U64)],
    discriminator=bytes.fromhex("8bc283b38cb3e5f4"),  # sha256("account:Oracle")[:8]
    size=32,
)

OBSERVATION = Layout(
    Observation,
    [("cumulative_active_bin_id", I128), ("created_at", I64), ("last_updated_at", I64)],
    size=32,
)

SWAP_ARGS = Layout(
    SwapArgs,
    [("amount_in", U64), ("min_amount_out", U64)],
    discriminator=bytes.fromhex("f8c69e91e17587c8"),  # sha256("global:swap")[:8]
    size=24,
)

INITIALIZE_LB_PAIR_ARGS = Layout(
    InitializeLbPairArgs,
    [("active_id", I32), ("bin_step", U16)],
    discriminator=bytes.fromhex("2d9aedd2dd0fa65c"),  # sha256("global:initialize_lb_pair")[:8]
    size=14,
)


def decode_oracle(data: bytes) -> OracleAccount:
    """Reads an oracle account: the header, then the `length` observations after it.

    Raises:
        LayoutError: Wrong discriminator, or fewer bytes than the header's `length` needs.
    """
    header = ORACLE.decode(data)
    start, step = ORACLE.size, OBSERVATION.size
    if len(data) < start + header.length * step:
        raise LayoutError(f"oracle of {header.length} observations needs more than {len(data)} B")
    observations = tuple(OBSERVATION.unpack(data, start + i * step) for i in range(header.length))
    return OracleAccount(header, observations)


def encode_oracle(account: OracleAccount) -> bytes:
    """The oracle account's bytes: header, then every observation."""
    return ORACLE.encode(account.header) + b"".join(
        OBSERVATION.encode(observation) for observation in account.observations
    )
