"""Golden tests: the layouts and PDAs reproduce three real mainnet DLMM pairs byte for byte."""

from __future__ import annotations

import hashlib
import struct

import pytest
from solders.pubkey import Pubkey

from oee.solana.layout import LayoutError
from oee.venues.meteora import EVENT_AUTHORITY, PROGRAM_ID
from oee.venues.meteora.discovery import (
    bin_array_address,
    event_authority_address,
    lb_pair_address_of,
    oracle_address,
    pair_filters_by_mint,
    pair_filters_for_mints,
    reserve_address,
)
from oee.venues.meteora.layout import (
    BIN,
    BIN_ARRAY,
    LB_PAIR,
    ORACLE,
    STATIC_PARAMETERS,
    VARIABLE_PARAMETERS,
    decode_oracle,
    encode_oracle,
)
from tests.unit.venues.meteora.fixture_data import (
    ALL_PAIRS,
    LIMIT_ORDER,
    SOL_PUMP,
    TOKEN_2022,
    PairFixture,
)

PAIRS = pytest.mark.parametrize("fixture", ALL_PAIRS, ids=lambda f: str(f.lb_pair)[:6])


def _anchor(kind: str, name: str) -> bytes:
    return hashlib.sha256(f"{kind}:{name}".encode()).digest()[:8]


def test_program_id_and_event_authority() -> None:
    assert str(PROGRAM_ID) == "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo"
    assert event_authority_address() == EVENT_AUTHORITY
    assert str(EVENT_AUTHORITY) == "D1ZN9Wj1fRSUQfCjhvnu1hqDMT7hzjzBBpi12nVniYD6"


def test_sizes_and_discriminators_are_anchors() -> None:
    assert (LB_PAIR.size, BIN_ARRAY.size, BIN.size, ORACLE.size) == (904, 10_136, 144, 32)
    assert (STATIC_PARAMETERS.size, VARIABLE_PARAMETERS.size) == (32, 32)
    assert LB_PAIR.discriminator == _anchor("account", "LbPair")
    assert BIN_ARRAY.discriminator == _anchor("account", "BinArray")
    assert ORACLE.discriminator == _anchor("account", "Oracle")


def test_offsets_the_filters_and_quotes_rely_on() -> None:
    # Offsets include the 8-byte discriminator (what getProgramAccounts' memcmp counts).
    assert LB_PAIR.offset("v_parameters") == 40
    assert LB_PAIR.offset("active_id") == 76
    assert LB_PAIR.offset("bin_step") == 80
    assert LB_PAIR.offset("token_x_mint") == 88
    assert LB_PAIR.offset("token_y_mint") == 120
    assert LB_PAIR.offset("reserve_x") == 152
    assert LB_PAIR.offset("reserve_y") == 184
    assert LB_PAIR.offset("oracle") == 552
    assert LB_PAIR.offset("bin_array_bitmap") == 584
    assert BIN_ARRAY.offset("lb_pair") == 24
    assert BIN_ARRAY.offset("bins") == 56


@PAIRS
def test_pair_decodes_to_its_known_accounts_and_round_trips(fixture: PairFixture) -> None:
    raw = fixture.raw("lb_pair")
    assert len(raw) == 904
    pair = LB_PAIR.decode(raw)
    assert LB_PAIR.encode(pair) == raw
    assert (pair.token_x_mint, pair.token_y_mint) == (fixture.token_x_mint, fixture.token_y_mint)
    assert (pair.reserve_x, pair.reserve_y) == (fixture.reserve_x, fixture.reserve_y)
    assert pair.oracle == fixture.oracle
    assert pair.status == 0
    assert pair.bin_step_seed == pair.bin_step.to_bytes(2, "little")


@PAIRS
def test_bin_arrays_belong_to_the_pair_and_round_trip(fixture: PairFixture) -> None:
    for name, address in (
        ("bin_array_1", fixture.bin_array_1),
        ("bin_array_2", fixture.bin_array_2),
    ):
        raw = fixture.raw(name)
        assert len(raw) == 10_136
        array = BIN_ARRAY.decode(raw)
        assert BIN_ARRAY.encode(array) == raw
        assert array.lb_pair == fixture.lb_pair
        assert len(array.bins) == 70
        assert bin_array_address(fixture.lb_pair, array.index) == address


@PAIRS
def test_oracle_decodes_and_round_trips(fixture: PairFixture) -> None:
    raw = fixture.raw("oracle")
    oracle = decode_oracle(raw)
    assert oracle.header.length == 100  # DEFAULT_OBSERVATION_LENGTH
    assert len(raw) == 8 + 24 + 100 * 32
    assert encode_oracle(oracle) == raw
    assert oracle_address(fixture.lb_pair) == fixture.oracle


def test_oracle_samples_are_real() -> None:
    oracle = decode_oracle(SOL_PUMP.raw("oracle"))
    assert (oracle.header.idx, oracle.header.active_size) == (61, 100)
    latest = oracle.observations[oracle.header.idx]
    assert latest.created_at == 1_734_391_567
    previous = oracle.observations[oracle.header.idx - 1]
    # cumulative active bin id grows by active_id * seconds: bin 15 held for 120 s
    assert latest.cumulative_active_bin_id - previous.cumulative_active_bin_id == 15 * 120


@PAIRS
def test_reserves_are_the_pair_owned_token_accounts_of_each_mint(fixture: PairFixture) -> None:
    pair = fixture.pair()
    for name, mint, address in (
        ("reserve_x", pair.token_x_mint, pair.reserve_x),
        ("reserve_y", pair.token_y_mint, pair.reserve_y),
    ):
        token_account = fixture.raw(name)
        # SPL Token account: mint, owner, then the u64 amount (Token-2022 extends the same head)
        assert Pubkey.from_bytes(token_account[:32]) == mint
        assert Pubkey.from_bytes(token_account[32:64]) == fixture.lb_pair
        assert reserve_address(fixture.lb_pair, mint) == address


@pytest.mark.parametrize("fixture", [LIMIT_ORDER, TOKEN_2022], ids=["9t3Ey", "B5Eia"])
def test_reserves_hold_at_least_what_the_bins_hold(fixture: PairFixture) -> None:
    # These pairs' bitmaps mark only the two fixture arrays, so the bins are all of them.
    pair = fixture.pair()
    bins = [b for array in fixture.bin_arrays() for b in array.bins]
    for side, protocol in (("x", pair.protocol_fee.amount_x), ("y", pair.protocol_fee.amount_y)):
        (reserve,) = struct.unpack_from("<Q", fixture.raw(f"reserve_{side}"), 64)
        in_bins = sum(getattr(b, f"amount_{side}") for b in bins)
        assert in_bins > 0
        assert in_bins + protocol <= reserve


def test_pair_addresses_rederive_from_their_seeds() -> None:
    # Permissionless pair with a base factor seed: [min, max, bin_step, base_factor]
    assert SOL_PUMP.pair().require_base_factor_seed == 1
    assert lb_pair_address_of(SOL_PUMP.pair()) == SOL_PUMP.lb_pair
    # Customizable permissionless: [ILM base key, min, max]
    assert LIMIT_ORDER.pair().pair_type == 2
    assert lb_pair_address_of(LIMIT_ORDER.pair()) == LIMIT_ORDER.lb_pair
    # PermissionlessV2 is seeded by its preset parameter account, which the pair does not keep
    assert TOKEN_2022.pair().pair_type == 3
    assert lb_pair_address_of(TOKEN_2022.pair()) is None


@PAIRS
def test_program_account_filters_point_at_the_mints(fixture: PairFixture) -> None:
    raw = fixture.raw("lb_pair")
    for side, mint in (("x", fixture.token_x_mint), ("y", fixture.token_y_mint)):
        size, memcmp = pair_filters_by_mint(mint, side=side)  # type: ignore[arg-type]
        assert size == {"dataSize": 904}
        spec = memcmp["memcmp"]
        assert isinstance(spec, dict)
        offset = spec["offset"]
        assert raw[offset : offset + 32] == bytes(Pubkey.from_string(spec["bytes"]))
    both = pair_filters_for_mints(fixture.token_x_mint, fixture.token_y_mint)
    assert [f.get("memcmp", {}).get("offset") for f in both] == [None, 88, 120]  # type: ignore[attr-defined]


def test_decode_rejects_other_accounts() -> None:
    with pytest.raises(LayoutError):
        LB_PAIR.decode(SOL_PUMP.raw("bin_array_1"))
    with pytest.raises(LayoutError):
        BIN_ARRAY.decode(SOL_PUMP.raw("lb_pair"))
    with pytest.raises(LayoutError):
        decode_oracle(SOL_PUMP.raw("oracle")[:100])


def test_limit_order_pair_is_flagged() -> None:
    parameters = LIMIT_ORDER.pair().parameters
    assert (parameters.function_type, parameters.collect_fee_mode) == (2, 1)
    assert {array.version for array in LIMIT_ORDER.bin_arrays()} == {2}
    assert TOKEN_2022.pair().token_mint_x_program_flag == 1  # Token-2022 token X
