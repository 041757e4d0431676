"""Real mainnet DLMM accounts (copied into tests/fixtures/meteora) and the addresses they belong to.

The addresses are the ones the SDK's own swap tests load these files under
(`commons/tests/integration/test_swap*.rs`, MeteoraAg/dlmm-sdk at fb02e51).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from solders.pubkey import Pubkey

from oee.venues.meteora.layout import BIN_ARRAY, LB_PAIR, BinArray, LbPair

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "meteora"
NATIVE_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")


@dataclass(frozen=True)
class PairFixture:
    lb_pair: Pubkey
    reserve_x: Pubkey
    reserve_y: Pubkey
    token_x_mint: Pubkey
    token_y_mint: Pubkey
    oracle: Pubkey
    bin_array_1: Pubkey
    bin_array_2: Pubkey

    def raw(self, name: str) -> bytes:
        return (FIXTURES / str(self.lb_pair) / f"{name}.bin").read_bytes()

    def pair(self) -> LbPair:
        return LB_PAIR.decode(self.raw("lb_pair"))

    def bin_arrays(self) -> list[BinArray]:
        return [BIN_ARRAY.decode(self.raw(name)) for name in ("bin_array_1", "bin_array_2")]


def _fixture(*addresses: str, y_mint: str | None = None) -> PairFixture:
    keys = [Pubkey.from_string(a) for a in addresses]
    lb_pair, reserve_x, reserve_y, mint_x, oracle, array_1, array_2 = keys
    mint_y = NATIVE_MINT if y_mint is None else Pubkey.from_string(y_mint)
    return PairFixture(lb_pair, reserve_x, reserve_y, mint_x, mint_y, oracle, array_1, array_2)


SOL_PUMP = _fixture(
    "EtAdVRLFH22rjWh3mcUasKFF27WtHhsaCvK27tPFFWig",
    "BmW4cCRpJwwL8maFB1AoAuEQf96t64Eq5gUvXikZardM",
    "FDZDrPtCjmSHeq14goCxp5pCJSRekSXY3XSgGz5Rvass",
    "Df6yfrKC8kZE3KNkrHERKzAetSxbrWeniQfyJY4Jpump",
    "Fnkg415DEx72GSPooKUWTbPS9wzKucQe4qnvFrrvcZK2",
    "5Sm2ecMeqohRkNpFJPWSqHL1BkA7AEW4ck8TmdF1gD4t",
    "E6gur9Jw8675DCR7GpJVhoSrkruRgt8EdEVqLAc5RLUt",
)
LIMIT_ORDER = _fixture(
    "9t3EyC9FweyL7PBWvKz3mrXg8B9fwFc9SK3QxM4ENqhd",
    "DDVpGjEz7Ay6QSyCJX5FpJhnYYYFUJ5kNdwy3ZrQP9u6",
    "9LqVUn45rtZqMmNSr7wSpJUy2Qqd6VE5q3QN7t7oJL8v",
    "BBZU4HYvY4qMGE5MbWsVxGweGBZJqGRsgH8tAEAKusNk",
    "FviPunh9kSt1XRBdHiWd5FNdTe5MJmqGfSEQdNfHTQV4",
    "338HBraHxVupeftangX6jySecbND4osxcJjjMSW7qmMs",
    "28BX6QycwTKx3CqswpJQs7hJCmoUs469Qt4maKMdhgmQ",
    y_mint="31iVdsS8fkURXg737XQwYhXVAuGv2vNYHjyDiURStkaU",
)
TOKEN_2022 = _fixture(
    "B5Eia4cE71tKuEDaqPHucJLG2fxySKyKzLMewd2nUvoc",
    "HmAJViUS3iMSzuedDs1z4QxAPitnK8oNC6dwAaNrRTBE",
    "2LAbjR3C5pWMVKh7HUWyEZ6wwubHwHB6B91vu5jaB3mr",
    "B4rGSdcBrmLEPUQXpZa91PMsRE3GqNcjLd6EMvM3yaj2",
    "HeC6TwhrT9eusRp8wMWuswpMAp1eUmr4mUB5csYMPsjU",
    "4adaMF2BRtenYAtsQfJCYjR5NG3B1GU6twc7eosKr7rL",
    "9Tp5Ym4rH1sEmwkQcjVHyXvaY5zCwVGofYSdcH4WETVJ",
)
ALL_PAIRS = (SOL_PUMP, LIMIT_ORDER, TOKEN_2022)
