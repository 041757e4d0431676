"""Golden tests of the account layouts: `state.rs`'s `AmmInfo` and OpenBook's `MarketState`.

The expected offsets are written out by hand (sums of the field sizes in `state.rs`), not read
from the layout under test; the bytes are built with `struct.pack_into` at those offsets, and a
real mainnet pool (SOL/USDC) is decoded from its account data.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

from oee.venues.raydium import OPENBOOK_PROGRAM, RAYDIUM_AMM_V4
from oee.venues.raydium.layout import (
    AMM_INFO,
    AMM_INFO_SIZE,
    DEFAULT_FEES,
    FEES,
    MARKET_STATE,
    STATE_DATA,
    AmmStatus,
    encode_market_state,
    field_offset,
)

FIXTURES = Path(__file__).parents[3] / "fixtures" / "raydium"
SOL = Pubkey.from_string("So11111111111111111111111111111111111111112")
USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")

# state.rs: 16 u64 (128) | Fees 8 u64 (64) | StateData 144 | 9 pubkeys | [u64; 8] | amm_owner
# | lp_amount | client_order_id | recent_epoch | padding2 u64  = 752
U64_OFFSETS = {
    "status": 0,
    "nonce": 8,
    "order_num": 16,
    "depth": 24,
    "coin_decimals": 32,
    "pc_decimals": 40,
    "state": 48,
    "reset_flag": 56,
    "min_size": 64,
    "vol_max_cut_ratio": 72,
    "amount_wave": 80,
    "coin_lot_size": 88,
    "pc_lot_size": 96,
    "min_price_multiplier": 104,
    "max_price_multiplier": 112,
    "sys_decimal_value": 120,
    "fees.min_separate_numerator": 128,
    "fees.min_separate_denominator": 136,
    "fees.trade_fee_numerator": 144,
    "fees.trade_fee_denominator": 152,
    "fees.pnl_numerator": 160,
    "fees.pnl_denominator": 168,
    "fees.swap_fee_numerator": 176,
    "fees.swap_fee_denominator": 184,
    "state_data.need_take_pnl_coin": 192,
    "state_data.need_take_pnl_pc": 200,
    "state_data.total_pnl_pc": 208,
    "state_data.total_pnl_coin": 216,
    "state_data.pool_open_time": 224,
    # 232..248: padding [u64; 2]
    "state_data.orderbook_to_init_time": 248,
    "state_data.swap_acc_pc_fee": 288,
    "state_data.swap_acc_coin_fee": 328,
    "lp_amount": 720,
    "client_order_id": 728,
    "recent_epoch": 736,
}
U128_OFFSETS = {
    "state_data.swap_coin_in_amount": 256,
    "state_data.swap_pc_out_amount": 272,
    "state_data.swap_pc_in_amount": 296,
    "state_data.swap_coin_out_amount": 312,
}
PUBKEY_OFFSETS = {
    "coin_vault": 336,
    "pc_vault": 368,
    "coin_vault_mint": 400,
    "pc_vault_mint": 432,
    "lp_mint": 464,
    "open_orders": 496,
    "market": 528,
    "market_program": 560,
    "target_orders": 592,
    # 624..688: padding1 [u64; 8]
    "amm_owner": 688,
}


def _get(record: object, path: str) -> object:
    for name in path.split("."):
        record = getattr(record, name)
    return record


def test_sizes_follow_state_rs() -> None:
    assert AMM_INFO.size == AMM_INFO_SIZE == 752
    assert FEES.size == 64  # `Fees::LEN`
    assert STATE_DATA.size == 144
    assert MARKET_STATE.size + len(b"padding") == 388


@pytest.mark.parametrize(
    ("path", "offset"), sorted({**U64_OFFSETS, **U128_OFFSETS, **PUBKEY_OFFSETS}.items())
)
def test_every_offset_is_the_sum_of_the_sizes_before_it(path: str, offset: int) -> None:
    assert field_offset(AMM_INFO, path) == offset


def test_hand_built_bytes_decode_field_by_field() -> None:
    data = bytearray(AMM_INFO_SIZE)
    values: dict[str, object] = {}
    for i, (path, offset) in enumerate(U64_OFFSETS.items()):
        values[path] = 0x0101_0101_0000_0000 + i
        struct.pack_into("<Q", data, offset, values[path])
    for i, (path, offset) in enumerate(U128_OFFSETS.items()):
        wide = (1 << 100) + i
        values[path] = wide
        data[offset : offset + 16] = wide.to_bytes(16, "little")
    for i, (path, offset) in enumerate(PUBKEY_OFFSETS.items()):
        key = Pubkey(bytes([i + 1]) * 32)
        values[path] = key
        data[offset : offset + 32] = bytes(key)

    amm = AMM_INFO.decode(bytes(data))

    for path, value in values.items():
        assert _get(amm, path) == value, path
    assert AMM_INFO.encode(amm) == bytes(data)  # the padding is the only thing not covered


def test_a_real_mainnet_pool_decodes() -> None:
    snapshot = json.loads((FIXTURES / "amm_info_sol_usdc.json").read_text())
    assert snapshot["owner"] == str(RAYDIUM_AMM_V4)
    raw = base64.b64decode(snapshot["data_base64"])

    amm = AMM_INFO.decode(raw)

    assert len(raw) == AMM_INFO_SIZE
    assert AmmStatus(amm.status) is AmmStatus.SWAP_ONLY
    assert amm.nonce == 254  # the bump of 5Q544f... (see test_discovery)
    assert (amm.coin_decimals, amm.pc_decimals) == (9, 6)
    assert amm.fees == DEFAULT_FEES
    assert (amm.fees.swap_fee_numerator, amm.fees.swap_fee_denominator) == (25, 10_000)
    assert (amm.coin_vault_mint, amm.pc_vault_mint) == (SOL, USDC)
    assert str(amm.coin_vault) == "DQyrAcCrDXQ7NeoqGgDCZwBvWDcYmFCjSb9JtteuvPpz"
    assert str(amm.pc_vault) == "HLmqeL62xR1QoZ1HKKbXRrdN1p3phKpxRMb2VVopvBBz"
    assert str(amm.lp_mint) == "8HoQnePLqPj4M7PUDzfw8e3Ymdwgc7NLGnaTUapubyvu"
    assert str(amm.market) == "8BnEgHoWFysVcuFFX7QztDmzuH8r5ZFvyP3sYwn1XTh6"
    assert amm.market_program == OPENBOOK_PROGRAM
    assert str(amm.amm_owner) == "GThUX1Atko4tqhN2NaiTazWSeFWMuiUvfFnyJyUghFMJ"
    assert amm.state_data.need_take_pnl_coin == 162_834_498
    assert amm.state_data.need_take_pnl_pc == 12_518_360
    assert amm.recent_epoch == 1002  # the current source's tail, not the old `[u64; 2]`
    assert AMM_INFO.encode(amm) == raw


def test_statuses_and_permissions_follow_state_rs() -> None:
    assert [s.value for s in AmmStatus] == list(range(8))
    swappable = {s for s in AmmStatus if s.swap_permission()}
    assert swappable == {AmmStatus.INITIALIZED, AmmStatus.SWAP_ONLY, AmmStatus.WAITING_TRADE}
    on_book = {s for s in AmmStatus if s.orderbook_permission()}
    assert on_book == {AmmStatus.INITIALIZED, AmmStatus.ORDER_BOOK_ONLY}


def test_default_fees_are_fees_initialize() -> None:
    assert FEES.encode(DEFAULT_FEES) == struct.pack(
        "<8Q", 5, 10_000, 25, 10_000, 12, 100, 25, 10_000
    )


def test_market_state_reads_the_swap_accounts_at_openbooks_offsets() -> None:
    # dex/src/state.rs numbers the u64 words of `MarketState`; the account adds a 5-byte head.
    words = {"vault_signer_nonce": 5, "coin_vault": 14, "pc_vault": 20, "event_q": 31}
    words |= {"bids": 35, "asks": 39, "coin_lot_size": 43, "pc_lot_size": 44}
    data = bytearray(b"serum" + bytes(376) + b"padding")
    struct.pack_into("<Q", data, 5, 3)  # account_flags: Initialized | Market
    keys = {}
    for i, (name, word) in enumerate(words.items()):
        at = 5 + 8 * word
        if name in {"vault_signer_nonce", "coin_lot_size", "pc_lot_size"}:
            struct.pack_into("<Q", data, at, 1000 + i)
        else:
            keys[name] = Pubkey(bytes([i + 7]) * 32)
            data[at : at + 32] = bytes(keys[name])

    market = MARKET_STATE.decode(bytes(data))

    assert market.account_flags == 3
    assert (market.vault_signer_nonce, market.coin_lot_size, market.pc_lot_size) == (
        1000,
        1006,
        1007,
    )
    for name, key in keys.items():
        assert getattr(market, name) == key
    assert MARKET_STATE.offset("bids") == 5 + 8 * 35 == 285
    assert encode_market_state(market) == bytes(data)


def test_a_non_market_account_is_refused() -> None:
    with pytest.raises(ValueError, match="discriminator"):
        MARKET_STATE.decode(b"nopes" + bytes(383))
