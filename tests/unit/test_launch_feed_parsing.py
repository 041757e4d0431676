"""From notification to `PoolLaunch`: which notifications are launches, reading the creating
transaction (a v0 one through a CPI too), and `pools_of`'s scan.

Launch logs and transactions are the simulator's (the venues' real formats); the failed
creation is a real mainnet transaction (`tests/fixtures/raydium`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from solders.hash import Hash
from solders.instruction import CompiledInstruction
from solders.message import MessageAddressTableLookup, MessageHeader, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from oee.adapters.chain.rpc import Account
from oee.adapters.launches.feed import PubSubLaunchFeed
from oee.adapters.launches.notifications import launch_in
from oee.adapters.launches.transactions import read_transaction
from oee.adapters.launches.venues import MeteoraLaunches, RaydiumLaunches
from oee.domain.ports import PoolLaunch
from oee.settings import SimSettings
from oee.sim.launches import Launch, LaunchRequest
from oee.sim.rpc_wire import slot
from oee.solana.base58 import b58encode
from oee.venues.meteora import PROGRAM_ID as DLMM
from oee.venues.raydium import RAYDIUM_AMM_V4
from oee.venues.raydium.execution import SwapOutcome
from oee.venues.raydium.launches import swap_base_in_logs
from oee.venues.raydium.layout import AmmStatus, SwapBaseInLog
from tests.support.sim import SimNode, sim_node

FIXTURES = Path(__file__).parents[1] / "fixtures" / "raydium"
RAYDIUM, METEORA = RaydiumLaunches(), MeteoraLaunches()
SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


@pytest.fixture
async def node() -> AsyncIterator[SimNode]:
    async with sim_node(SimSettings(latency_scale=0.0)) as node:
        yield node


def notification(signature: str, logs: Sequence[str], err: Any = None, at: int = 5) -> Any:
    """A `logsNotification`'s `params.result`, as agave sends it."""
    return {
        "context": {"slot": at},
        "value": {"signature": signature, "err": err, "logs": list(logs)},
    }


def launched(node: SimNode, **request: Any) -> Launch:
    return node.world.launch(LaunchRequest(**{"symbol": "MOON", "decimals": 6, **request}))


def logs_of(node: SimNode, signature: str) -> tuple[str, ...]:
    record = node.world.launch_txs.get(signature)
    assert record is not None
    return record.logs


async def test_each_venues_launch_is_recognised_by_its_own_subscription(node: SimNode) -> None:
    launch = launched(node)
    ray, met = launch.pools
    at = slot(launch.block_height)
    ray_note = notification(ray.signature, logs_of(node, ray.signature), at=at)
    met_note = notification(met.signature, logs_of(node, met.signature), at=at)
    assert launch_in(RAYDIUM, ray_note) == (ray.signature, at)
    assert launch_in(METEORA, met_note) == (met.signature, at)
    assert launch_in(RAYDIUM, met_note) is None
    assert launch_in(METEORA, ray_note) is None


def test_swaps_and_failed_creations_are_not_launches() -> None:
    landed = SwapOutcome(AmmStatus.SWAP_ONLY, None, None, SwapBaseInLog(10, 0, 2, 10, 100, 100, 8))
    swap = swap_base_in_logs(landed, consumed=30_000, limit=200_000)
    assert launch_in(RAYDIUM, notification("swap", swap)) is None
    real = json.loads((FIXTURES / "initialize2_repeat_create_amm.json").read_text())
    failed = notification(real["signature"], real["logMessages"], err=real["err"])
    assert launch_in(RAYDIUM, failed) is None
    # Its frame failed too: the logs alone say so, whatever `err` claims.
    assert launch_in(RAYDIUM, notification(real["signature"], real["logMessages"])) is None
    dlmm_swap = [
        f"Program {DLMM} invoke [1]",
        "Program log: Instruction: Swap",
        f"Program {DLMM} success",
    ]
    assert launch_in(METEORA, notification("swap", dlmm_swap)) is None


async def test_a_creation_with_a_garbled_init_log_still_counts(node: SimNode) -> None:
    ray = launched(node, venues=("raydium",)).pools[0]
    logs = [
        "Program log: ray_log: !!!" if line.startswith("Program log: ray_log:") else line
        for line in logs_of(node, ray.signature)
    ]
    assert launch_in(RAYDIUM, notification(ray.signature, logs)) == (ray.signature, 5)


@pytest.mark.parametrize(
    "result",
    [
        None,
        "text",
        {"value": None},
        {"value": {"signature": "s", "err": None}},
        {"value": {"signature": 7, "err": None, "logs": []}},
    ],
)
def test_malformed_notifications_are_passed_over(result: Any) -> None:
    assert launch_in(RAYDIUM, result) is None


async def test_the_new_pools_come_from_the_creating_transactions(node: SimNode) -> None:
    launch = launched(node, quote="USDC")
    mint = launch.token.mint
    for venue, pool in zip((RAYDIUM, METEORA), launch.pools, strict=True):
        answer = await node.chain.transaction(pool.signature)
        assert answer is not None
        tx = read_transaction(pool.signature, answer)
        assert (tx.succeeded, tx.slot) == (True, slot(launch.block_height))
        [created] = venue.created_pools(tx)
        assert (created.pool, created.mint_a, created.mint_b) == (pool.address, mint, USDC)
        other = METEORA if venue is RAYDIUM else RAYDIUM
        assert other.created_pools(tx) == []
    assert await node.chain.transaction(str(Signature.default())) is None


async def test_a_pair_created_through_a_cpi_in_a_v0_transaction_is_found(node: SimNode) -> None:
    """A launchpad migrating a token: the DLMM creation is an inner instruction whose accounts
    come from an address lookup table (`meta.loadedAddresses`)."""
    pool = launched(node, venues=("meteora",)).pools[0]
    answer = await node.chain.transaction(pool.signature)
    assert answer is not None
    original = read_transaction(pool.signature, answer)
    keys = list(original.account_keys)
    [creation] = [ix for ix in original.instructions if keys[ix.program_id_index] == DLMM]
    launchpad = Pubkey.new_unique()
    static = [keys[0], launchpad]  # the signer and the program it calls
    loaded = [key for key in keys if key not in static]
    writable, readonly = loaded[:-2], loaded[-2:]
    index = {key: i for i, key in enumerate([*static, *writable, *readonly])}
    outer = CompiledInstruction(1, b"migrate", bytes([0]))
    lookup = MessageAddressTableLookup(
        Pubkey.new_unique(), bytes(range(len(writable))), bytes(range(len(readonly)))
    )
    message = MessageV0(MessageHeader(1, 0, 1), static, Hash.default(), [outer], [lookup])
    raw = bytes(VersionedTransaction.populate(message, [Signature.default()]))
    inner = {
        "programIdIndex": index[DLMM],
        "accounts": [index[keys[i]] for i in creation.accounts],
        "data": b58encode(bytes(creation.data)),
        "stackHeight": 2,
    }
    meta = {
        "err": None,
        "innerInstructions": [{"index": 0, "instructions": [inner]}],
        "loadedAddresses": {
            "writable": [str(k) for k in writable],
            "readonly": [str(k) for k in readonly],
        },
    }
    tx = read_transaction(
        "cpi", {"slot": 9, "transaction": [base64.b64encode(raw).decode(), "base64"], "meta": meta}
    )
    [created] = METEORA.created_pools(tx)
    assert created.pool == pool.address


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"transaction": ["AAAA", "base64"]},
        {"transaction": {"message": {}}},
        {"transaction": ["x", "base58"]},
    ],
)
def test_an_unreadable_transaction_is_a_value_error(answer: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unreadable getTransaction answer for sig"):
        read_transaction("sig", answer)


class Scans:
    """A node's getProgramAccounts that returns `pools` whatever the filters (as a node that
    ignored them would), once per filter set; it has no transactions."""

    def __init__(self, pools: dict[str, list[tuple[str, Account]]]) -> None:
        self.pools = pools
        self.asked: list[tuple[str, list[dict[str, Any]]]] = []

    async def program_accounts(
        self, program_id: str, filters: Sequence[dict[str, Any]]
    ) -> list[tuple[str, Account]]:
        self.asked.append((program_id, list(filters)))
        return self.pools.get(program_id, [])

    async def transaction(self, signature: str) -> dict[str, Any] | None:
        return None


def _connect() -> Any:
    raise AssertionError("pools_of never opens a WebSocket")


async def test_pools_of_asks_both_mint_positions_of_both_venues_and_lists_each_pool_once() -> None:
    snapshot = json.loads((FIXTURES / "amm_info_sol_usdc.json").read_text())
    address = snapshot["pubkey"]
    sol_usdc = Account(
        snapshot["owner"], snapshot["lamports"], base64.b64decode(snapshot["data_base64"])
    )
    impostor = Account(str(Pubkey.new_unique()), 1, sol_usdc.data)  # not the program's
    garbage = Account(str(RAYDIUM_AMM_V4), 1, b"\x00" * 10)
    scans = Scans({
        str(RAYDIUM_AMM_V4): [(address, sol_usdc), ("Imp0ster", impostor), ("Garb4ge", garbage)],
    })  # fmt: skip
    feed = PubSubLaunchFeed(_connect, scans, [RAYDIUM, METEORA])

    found = await feed.pools_of(SOL)

    assert found == [PoolLaunch("raydium", address, SOL, USDC, signature=None, slot=None)]
    asked = [(program, filters[1]["memcmp"]["offset"]) for program, filters in scans.asked]
    assert sorted(asked) == sorted([
        (str(RAYDIUM_AMM_V4), 400), (str(RAYDIUM_AMM_V4), 432), (str(DLMM), 88), (str(DLMM), 120),
    ])  # fmt: skip
    assert all(f[1]["memcmp"]["bytes"] == SOL for _, f in scans.asked)
    assert await feed.pools_of(USDC) == found  # the same pool, from its other side
    assert await feed.pools_of(str(Pubkey.new_unique())) == []  # a node ignoring the filter
    with pytest.raises(ValueError, match="public key"):
        await feed.pools_of("not-a-mint")
