"""What a launch looks like on each venue: its logs, its creating instruction, its pool layout.

Every piece is the venue package's own (`oee.venues.<venue>.launches` and `.discovery`), so the
feed recognises exactly what the simulator's model of the program prints and what mainnet's
program prints, and finds pools with the same `getProgramAccounts` filters the quoting adapters
use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey

from oee.adapters.launches.transactions import ChainTransaction
from oee.venues.meteora import PROGRAM_ID as DLMM_PROGRAM_ID
from oee.venues.meteora.discovery import pair_filters_by_mint
from oee.venues.meteora.launches import is_pair_creation, new_pairs_in_transaction
from oee.venues.meteora.layout import LB_PAIR
from oee.venues.raydium import RAYDIUM_AMM_V4
from oee.venues.raydium.discovery import pool_filters_by_mint
from oee.venues.raydium.errors import RaydiumError
from oee.venues.raydium.launches import find_pool_creation, new_pool_from_transaction
from oee.venues.raydium.layout import AMM_INFO

Filters = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class CreatedPool:
    """A pool a transaction created: its address and its two mints, in the venue's order."""

    pool: str
    mint_a: str
    mint_b: str


class LaunchVenue(ABC):
    """One venue's side of the launch feed."""

    name: str

    def __init__(self, program_id: str) -> None:
        self.program_id = program_id
        self.program_key = Pubkey.from_string(program_id)

    @abstractmethod
    def is_launch(self, logs: Sequence[str]) -> bool:
        """Whether a transaction's logs show this venue's program creating a pool, successfully."""

    @abstractmethod
    def created_pools(self, tx: ChainTransaction) -> list[CreatedPool]:
        """The pools `tx`'s instructions create on this venue.

        Raises:
            ValueError: A creating instruction that cannot be decoded.
        """

    @abstractmethod
    def mint_filters(self, mint: Pubkey) -> list[Filters]:
        """`getProgramAccounts` filter sets that together find every pool trading `mint`."""

    @abstractmethod
    def pool_mints(self, data: bytes) -> tuple[str, str]:
        """A pool account's two mints, in the venue's order.

        Raises:
            ValueError: The bytes are not a pool of this venue.
        """


class RaydiumLaunches(LaunchVenue):
    """Raydium AMM v4: `initialize2` opens a pool; `AmmInfo` keeps its coin and pc mints."""

    name = "raydium"

    def __init__(self, program_id: str = str(RAYDIUM_AMM_V4)) -> None:
        super().__init__(program_id)

    def is_launch(self, logs: Sequence[str]) -> bool:
        try:
            return find_pool_creation(logs, self.program_key) is not None
        except RaydiumError:
            # The parser decodes the `ray_log` only inside a frame that printed a successful
            # `initialize2`: a pool was created, whatever its garbled log says.
            return True

    def created_pools(self, tx: ChainTransaction) -> list[CreatedPool]:
        created = new_pool_from_transaction(tx.account_keys, tx.instructions, self.program_key)
        if created is None:
            return []
        accounts = created.accounts
        return [CreatedPool(str(accounts.amm), str(accounts.coin_mint), str(accounts.pc_mint))]

    def mint_filters(self, mint: Pubkey) -> list[Filters]:
        return [pool_filters_by_mint(mint, side="coin"), pool_filters_by_mint(mint, side="pc")]

    def pool_mints(self, data: bytes) -> tuple[str, str]:
        pool = AMM_INFO.decode(data)
        return str(pool.coin_vault_mint), str(pool.pc_vault_mint)


class MeteoraLaunches(LaunchVenue):
    """Meteora DLMM: the `InitializeLbPair` family opens a pair; `LbPair` keeps token X and Y."""

    name = "meteora"

    def __init__(self, program_id: str = str(DLMM_PROGRAM_ID)) -> None:
        """Raises:
        ValueError: Another program id: the DLMM package's parsers know only the one DLMM
            program, which has the same id on every cluster.
        """
        if program_id != str(DLMM_PROGRAM_ID):
            raise ValueError(
                f"Meteora DLMM is {DLMM_PROGRAM_ID} on every cluster, not {program_id}"
            )
        super().__init__(program_id)

    def is_launch(self, logs: Sequence[str]) -> bool:
        return is_pair_creation(logs)

    def created_pools(self, tx: ChainTransaction) -> list[CreatedPool]:
        pairs = new_pairs_in_transaction(tx.account_keys, tx.instructions)
        return [
            CreatedPool(str(pair.lb_pair), str(pair.token_x_mint), str(pair.token_y_mint))
            for pair in pairs
        ]

    def mint_filters(self, mint: Pubkey) -> list[Filters]:
        return [pair_filters_by_mint(mint, side="x"), pair_filters_by_mint(mint, side="y")]

    def pool_mints(self, data: bytes) -> tuple[str, str]:
        pair = LB_PAIR.decode(data)
        return str(pair.token_x_mint), str(pair.token_y_mint)


def launch_venues(raydium_program: str, meteora_program: str) -> list[LaunchVenue]:
    """Both venues with a cluster's program ids (`oee.clusters.ClusterProfile`)."""
    return [RaydiumLaunches(raydium_program), MeteoraLaunches(meteora_program)]
