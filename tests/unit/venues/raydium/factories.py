"""A pool record to test against: default fees, distinct keys, the given status and times."""

from __future__ import annotations

from solders.pubkey import Pubkey

from oee.venues.raydium import MAINNET, OPENBOOK_PROGRAM
from oee.venues.raydium.discovery import amm_authority
from oee.venues.raydium.layout import DEFAULT_FEES, AmmInfo, AmmStatus, StateData

COIN_MINT = Pubkey(b"\x11" * 32)
PC_MINT = Pubkey(b"\x22" * 32)


def pool(
    *,
    status: AmmStatus = AmmStatus.SWAP_ONLY,
    open_time: int = 0,
    orderbook_to_init_time: int = 0,
    need_take_pnl_coin: int = 0,
    need_take_pnl_pc: int = 0,
) -> AmmInfo:
    """A pool as `initialize2` leaves it, with the knobs the tests turn."""
    return AmmInfo(
        status=status, nonce=amm_authority()[1], order_num=7, depth=3, coin_decimals=6,
        pc_decimals=9, state=1, reset_flag=0, min_size=0, vol_max_cut_ratio=500,
        amount_wave=5_000_000, coin_lot_size=0, pc_lot_size=0, min_price_multiplier=1,
        max_price_multiplier=1_000_000_000, sys_decimal_value=10**9, fees=DEFAULT_FEES,
        state_data=StateData(
            need_take_pnl_coin, need_take_pnl_pc, 0, 0, open_time, orderbook_to_init_time,
            0, 0, 0, 0, 0, 0,
        ),
        coin_vault=Pubkey(b"\x31" * 32), pc_vault=Pubkey(b"\x32" * 32),
        coin_vault_mint=COIN_MINT, pc_vault_mint=PC_MINT, lp_mint=Pubkey(b"\x33" * 32),
        open_orders=Pubkey(b"\x34" * 32), market=Pubkey(b"\x35" * 32),
        market_program=OPENBOOK_PROGRAM, target_orders=Pubkey(b"\x36" * 32),
        amm_owner=MAINNET.amm_owner, lp_amount=1, client_order_id=0, recent_epoch=0,
    )  # fmt: skip
