"""The simulator's whole state as one JSON document, and a simulator built back from one.

What a chain must not forget: every account the simulated chain created (wallets, token
accounts, mints, pools, vaults, bin arrays, markets: litesvm's bytes, exactly), the ledger's
history (landed transactions with their records, landed swaps, airdrop signatures, the
blockhash counter), launches and their creation transactions, the block height, and what the
price process needs to go on sensibly (reference prices, each pair's venue gap and center).

Not kept, on purpose: transactions in flight (they never land, as if the leader dropped them),
issued blockhashes (expired after a restart: the engine signs again), the runtime fault rates
(a restart starts from the `OEE_SIM_*_RATE` settings) and the random streams' positions (they
restart from seeds derived from the seed and the restart count).

This module reads the world's private fields: it is the world's persistence, kept out of
`oee.sim.world` so the market model stays about markets.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any

from solders.pubkey import Pubkey

from oee.domain.tokens import Token
from oee.sim import snapshot_codec as codec
from oee.sim.launches import LAUNCH_VOLATILITY
from oee.sim.ledger import SimLedger
from oee.sim.markets import Market
from oee.sim.meteora_pool import MeteoraPool
from oee.sim.raydium_pool import RaydiumPool
from oee.sim.world import METEORA, SimWorld
from oee.solana.layout import LayoutError
from oee.venues.meteora import PROGRAM_ID as DLMM_PROGRAM
from oee.venues.meteora.layout import BIN_ARRAY

Json = Any


def capture(world: SimWorld, ledger: SimLedger, generation: int) -> dict[str, Json]:
    """Everything a restart needs, as JSON-ready values (account bytes still to encode).

    Args:
        world: The market and its chain.
        ledger: The chain's history.
        generation: How many times this chain has been restored so far.
    """
    world.advance()
    now = world.now()
    store = world.bank.store
    accounts = []
    for address in store.addresses():
        account = store.get(address)
        if account is not None:
            accounts.append(codec.account_json(address, account))
    markets = [
        {
            "mints": [market.token_a.mint, market.token_b.mint],
            "center": str(market.center),
            "gap": str(market.gap),
        }
        for market in world._markets.values()
    ]
    return {
        "generation": generation,
        "savedAt": time.time(),
        "height": world.heights.at(now),
        "accounts": accounts,
        "blockhashesIssued": ledger.blockhashes.issued,
        "processed": {sig: codec.processed_json(tx) for sig, tx in ledger.history.processed_all()},
        "swaps": [codec.swap_json(swap) for swap in ledger.history.landed_swaps()],
        "airdrops": ledger.airdrops.state(),
        "launches": [codec.launch_json(launch, now) for launch in world._launcher.launches()],
        "launchRecords": [codec.launch_record_json(r) for r in world.launch_txs.records()],
        "reference": {symbol: str(price) for symbol, price in world._reference.items()},
        "markets": markets,
    }


def restore(world: SimWorld, ledger: SimLedger, state: dict[str, Json]) -> int:
    """Bring a freshly built world and ledger (same seed) to the snapshot's state.

    Returns:
        The block height the chain resumes at.

    Raises:
        KeyError, ValueError, TypeError: The document is not a snapshot of this format.
    """
    generation = int(state["generation"]) + 1
    _restore_accounts(world, state["accounts"])
    now = world.now()
    launches = [codec.launch_from(data, now) for data in state["launches"]]
    world.launch_txs.restore([codec.launch_record_from(r) for r in state["launchRecords"]])
    for launch in launches:
        _reopen_market(world, launch.token, launch.quote, launch.pools)
    world._launcher.restore(launches, generation)
    for data in state["markets"]:
        market = world._markets[frozenset(data["mints"])]
        market.center, market.gap = Decimal(data["center"]), Decimal(data["gap"])
    world._reference.update({s: Decimal(price) for s, price in state["reference"].items()})
    world._rng = random.Random(f"oee-sim/world/{world.seed}/restart/{generation}")
    _remember_bin_arrays(world)
    processed = [(sig, codec.processed_from(tx)) for sig, tx in state["processed"].items()]
    ledger.history.restore(processed, [codec.swap_from(swap) for swap in state["swaps"]])
    ledger.airdrops.restore(state["airdrops"]["landed"], state["airdrops"]["funded"])
    ledger.blockhashes.resume(int(state["blockhashesIssued"]))
    return world.heights.resume(int(state["height"]), float(state["savedAt"]))


def _restore_accounts(world: SimWorld, rows: list[list[Json]]) -> None:
    """Every account as saved; accounts the fresh world made that the saved one lacks are
    closed (the saved chain had closed them)."""
    store = world.bank.store
    saved = dict(codec.account_from(row) for row in rows)
    for address in store.addresses():
        if address not in saved:
            store.close(address)
    for address, account in saved.items():
        store.set(address, account)
    world.bank.note_holdings(list(saved))


def _reopen_market(world: SimWorld, token: Token, quote: Token, pools: Any) -> None:
    """A launched token's market over its pools' restored accounts."""
    market = Market(token, quote, Decimal(0), Decimal(0))
    for pool in pools:
        address = Pubkey.from_string(pool.address)
        if pool.venue == METEORA.name:
            market.pools[pool.venue] = MeteoraPool(world.bank, address, world.unix_time)
        else:
            market.pools[pool.venue] = RaydiumPool(world.bank, address, world.epoch)
    world._tokens[token.mint] = token
    world._register(market)
    world._launched.append(market)
    world._volatility[token.symbol] = LAUNCH_VOLATILITY


def _remember_bin_arrays(world: SimWorld) -> None:
    """Tell each DLMM pair which bin arrays it has had (they outlive their liquidity)."""
    by_pair: dict[str, set[int]] = {}
    for _, account in world.bank.store.owned_by(DLMM_PROGRAM):
        if len(account.data) != BIN_ARRAY.size:
            continue
        try:
            array = BIN_ARRAY.decode(bytes(account.data))
        except LayoutError:
            continue
        by_pair.setdefault(str(array.lb_pair), set()).add(array.index)
    for pool in world.pools():
        if isinstance(pool, MeteoraPool):
            pool.remember_bin_arrays(by_pair.get(pool.address, set()))
