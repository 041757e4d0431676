"""Where a DLMM pair's accounts live: PDAs, bin-array indexing, and `getProgramAccounts` filters.

Seeds follow `commons/src/pda.rs` and `seeds.rs` and the `#[account(seeds = ...)]` constraints of
`programs/lb_clmm` (the reserve of a mint is `[lb_pair, mint]`, a bin array
`[b"bin_array", lb_pair, index as i64 LE]`). The bitmap search mirrors
`LbPair::next_bin_array_index_with_liquidity_internal`: the pair keeps one bit per bin array
index from -512 to 511, set while the array exists.
"""

from __future__ import annotations

import functools
from typing import Literal

from solders.pubkey import Pubkey

from oee.venues.meteora import PROGRAM_ID
from oee.venues.meteora.layout import BINS_PER_ARRAY, LB_PAIR, LbPair

BIN_ARRAY_SEED = b"bin_array"
ORACLE_SEED = b"oracle"
BITMAP_SEED = b"bitmap"
EVENT_AUTHORITY_SEED = b"__event_authority"
PRESET_PARAMETER_SEED = b"preset_parameter"
PRESET_PARAMETER2_SEED = b"preset_parameter2"
# Base key of customizable permissionless (launch) pairs, `commons/src/seeds.rs` ILM_BASE_KEY.
ILM_BASE_KEY = Pubkey.from_string("MFGQxwAmB91SwuYX36okv2Qmdc9aMuHTwWGUrp4AtB1")
BIN_ARRAY_BITMAP_SIZE = 512  # the pair's own bitmap covers indexes -512..511

LB_PAIR_SIZE = LB_PAIR.size  # 904, the `dataSize` of every pair account


def _pda(*seeds: bytes) -> Pubkey:
    address, _bump = Pubkey.find_program_address(list(seeds), PROGRAM_ID)
    return address


def _ordered(mint_a: Pubkey, mint_b: Pubkey) -> tuple[bytes, bytes]:
    """Pair seeds put the smaller mint first, comparing the 32 raw bytes (Rust's `min`/`max`)."""
    a, b = bytes(mint_a), bytes(mint_b)
    return (a, b) if a <= b else (b, a)


def bin_array_index(bin_id: int) -> int:
    """The index of the bin array holding `bin_id` (floor division: bin -1 is in array -1)."""
    return bin_id // BINS_PER_ARRAY


def bin_array_bin_range(index: int) -> tuple[int, int]:
    """The lowest and highest bin id of bin array `index`."""
    lower = index * BINS_PER_ARRAY
    return lower, lower + BINS_PER_ARRAY - 1


@functools.lru_cache(maxsize=4096)
def bin_array_address(lb_pair: Pubkey, index: int) -> Pubkey:
    """The bin array PDA `[b"bin_array", lb_pair, index as i64 little-endian]`."""
    return _pda(BIN_ARRAY_SEED, bytes(lb_pair), index.to_bytes(8, "little", signed=True))


def oracle_address(lb_pair: Pubkey) -> Pubkey:
    """The oracle PDA `[b"oracle", lb_pair]`."""
    return _pda(ORACLE_SEED, bytes(lb_pair))


def reserve_address(lb_pair: Pubkey, mint: Pubkey) -> Pubkey:
    """The pair's reserve (token account) of `mint`, the PDA `[lb_pair, mint]`."""
    return _pda(bytes(lb_pair), bytes(mint))


def bitmap_extension_address(lb_pair: Pubkey) -> Pubkey:
    """The bin array bitmap extension PDA `[b"bitmap", lb_pair]` (bin arrays beyond ±512)."""
    return _pda(BITMAP_SEED, bytes(lb_pair))


def event_authority_address() -> Pubkey:
    """Anchor's event-CPI authority `[b"__event_authority"]`."""
    return _pda(EVENT_AUTHORITY_SEED)


def preset_parameter_address(bin_step: int, base_factor: int) -> Pubkey:
    """The preset parameter PDA `[b"preset_parameter", bin_step u16 LE, base_factor u16 LE]`."""
    return _pda(
        PRESET_PARAMETER_SEED, bin_step.to_bytes(2, "little"), base_factor.to_bytes(2, "little")
    )


def lb_pair_address(token_x: Pubkey, token_y: Pubkey, bin_step: int, base_factor: int) -> Pubkey:
    """The permissionless pair `initialize_lb_pair` creates.

    Seeds `[min(mints), max(mints), bin_step u16 LE, base_factor u16 LE]`, the base factor being
    the preset parameter's (`derive_lb_pair_pda2`).
    """
    low, high = _ordered(token_x, token_y)
    return _pda(low, high, bin_step.to_bytes(2, "little"), base_factor.to_bytes(2, "little"))


def customizable_lb_pair_address(token_x: Pubkey, token_y: Pubkey) -> Pubkey:
    """A customizable permissionless (launch) pair: `[ILM_BASE_KEY, min(mints), max(mints)]`."""
    low, high = _ordered(token_x, token_y)
    return _pda(bytes(ILM_BASE_KEY), low, high)


def lb_pair_address_of(pair: LbPair) -> Pubkey | None:
    """Re-derives a decoded pair's own address where its fields hold every seed, else None.

    Permissionless pairs (`pair_type` 0) keep their bin step and base factor seeds;
    customizable ones (2) need only the mints. Permissioned pairs and `PermissionlessV2` pairs
    are seeded by accounts (a base key, a preset parameter) the pair does not record.
    """
    if pair.pair_type == 0:
        low, high = _ordered(pair.token_x_mint, pair.token_y_mint)
        seeds = [low, high, pair.bin_step_seed]
        if pair.require_base_factor_seed:
            seeds.append(pair.base_factor_seed)
        return _pda(*seeds)
    if pair.pair_type == 2:
        return customizable_lb_pair_address(pair.token_x_mint, pair.token_y_mint)
    return None


def consecutive_bin_array_indexes(active_id: int, *, swap_for_y: bool, count: int) -> list[int]:
    """The active bin's array and the `count - 1` after it in the swap's direction.

    Selling X for Y walks down (lower indexes), selling Y for X up. This ignores the bitmap, so
    it names arrays that may not exist; `bin_array_indexes_for_swap` skips those.
    """
    start, step = bin_array_index(active_id), -1 if swap_for_y else 1
    return [start + i * step for i in range(count)]


def bitmap_value(pair: LbPair) -> int:
    """The pair's 1024-bit bin array bitmap as one integer (bit `index + 512`)."""
    return sum(word << (64 * i) for i, word in enumerate(pair.bin_array_bitmap))


def next_bin_array_index_with_liquidity(
    pair: LbPair, start_index: int, *, swap_for_y: bool
) -> int | None:
    """The first bin array index from `start_index` on (inclusive) that the pair's bitmap marks.

    Returns None when no marked array lies that way within -512..511 (the program would look in
    the bitmap extension next; this package does not model it).
    """
    if not -BIN_ARRAY_BITMAP_SIZE <= start_index < BIN_ARRAY_BITMAP_SIZE:
        return None
    bitmap, offset = bitmap_value(pair), start_index + BIN_ARRAY_BITMAP_SIZE
    if swap_for_y:
        below = bitmap & ((1 << (offset + 1)) - 1)
        return below.bit_length() - 1 - BIN_ARRAY_BITMAP_SIZE if below else None
    above = bitmap >> offset
    if not above:
        return None
    lowest = (above & -above).bit_length() - 1
    return start_index + lowest


def bin_array_indexes_for_swap(pair: LbPair, *, swap_for_y: bool, count: int) -> list[int]:
    """Up to `count` existing bin array indexes a swap walks, from the active one on.

    Mirrors `get_bin_array_pubkeys_for_swap` for the pair's own bitmap: the SDK passes these (as
    writable remaining accounts) to cover a swap that crosses arrays.
    """
    found: list[int] = []
    start, step = bin_array_index(pair.active_id), -1 if swap_for_y else 1
    while len(found) < count:
        index = next_bin_array_index_with_liquidity(pair, start, swap_for_y=swap_for_y)
        if index is None:
            break
        found.append(index)
        start = index + step
    return found


def bin_array_addresses_for_swap(
    lb_pair: Pubkey, pair: LbPair, *, swap_for_y: bool, count: int
) -> list[Pubkey]:
    """The addresses of `bin_array_indexes_for_swap`: a swap's remaining accounts, in order."""
    indexes = bin_array_indexes_for_swap(pair, swap_for_y=swap_for_y, count=count)
    return [bin_array_address(lb_pair, index) for index in indexes]


def pair_filters_by_mint(mint: Pubkey, *, side: Literal["x", "y"]) -> list[dict[str, object]]:
    """`getProgramAccounts` filters for DLMM pairs whose token X (or Y) mint is `mint`.

    A `dataSize` filter of 904 keeps only pair accounts; a `memcmp` at the mint's offset
    (88 for token X, 120 for token Y) compares its base58 bytes.
    """
    field = "token_x_mint" if side == "x" else "token_y_mint"
    return [
        {"dataSize": LB_PAIR_SIZE},
        {"memcmp": {"offset": LB_PAIR.offset(field), "bytes": str(mint)}},
    ]


def pair_filters_for_mints(token_x: Pubkey, token_y: Pubkey) -> list[dict[str, object]]:
    """Filters for pairs of exactly `token_x` as X and `token_y` as Y (ask twice, swapped, to
    find a pair of the two mints in either order)."""
    return [
        {"dataSize": LB_PAIR_SIZE},
        {"memcmp": {"offset": LB_PAIR.offset("token_x_mint"), "bytes": str(token_x)}},
        {"memcmp": {"offset": LB_PAIR.offset("token_y_mint"), "bytes": str(token_y)}},
    ]
