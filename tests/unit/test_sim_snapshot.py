"""The simulated chain survives a restart: snapshot → restore is the identity on what it keeps."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest
from solders.keypair import Keypair

from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.domain.ports import ComputeBudget, TxState
from oee.domain.tokens import LAMPORTS_PER_SOL, resolve_token
from oee.settings import SimSettings
from oee.sim import build_sim
from oee.sim.launches import LaunchRequest
from oee.sim.ledger import NATIVE_MINT, SimLedger
from oee.sim.persistence import SnapshotError, Snapshots
from oee.sim.snapshot_file import snapshot_path
from oee.sim.world import SimWorld
from oee.solana.budget import DEFAULT_COMPUTE_UNIT_LIMIT
from tests.support.fakes import FakeClock
from tests.support.swaps import SimSwaps, with_amounts

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")


def fresh(**settings: float) -> tuple[FakeClock, SimWorld, SimLedger]:
    clock = FakeClock()
    world, ledger = build_sim(SimSettings(latency_scale=0.0, **settings), now=clock)
    return clock, world, ledger


def every_account(world: SimWorld) -> dict[str, tuple[int, bytes, str, bool, int]]:
    store = world.bank.store
    found = {}
    for address in store.addresses():
        account = store.get(address)
        if account is not None:
            found[str(address)] = (
                account.lamports, bytes(account.data), str(account.owner), account.executable,
                account.rent_epoch,
            )  # fmt: skip
    return found


def busy_chain(tmp_path: Path) -> tuple[FakeClock, SimWorld, SimLedger, Snapshots, list[str]]:
    """A chain with a wallet, a launch, a landed swap and a failed one, snapshotted."""
    clock, world, ledger = fresh()
    snapshots = Snapshots.open(world, ledger, tmp_path)
    builder = SwapTransactionBuilder(Keypair())
    swaps = SimSwaps(world, ledger)
    ledger.airdrop(str(builder.wallet), NATIVE_MINT, 1_000 * LAMPORTS_PER_SOL)
    world.launch(LaunchRequest(symbol="MOON", decimals=6))
    signatures = []
    for impossible in (False, True):  # the second cannot be met: it fails with slippage
        clock.t += 3.0
        quote = world.quote("meteora", SOL, USDC, LAMPORTS_PER_SOL)
        swap = swaps.instruction(
            "meteora", SOL, USDC, builder.wallet, LAMPORTS_PER_SOL, quote.amount_out
        )
        if impossible:
            swap = with_amounts(swap, LAMPORTS_PER_SOL, 10**15)
        signed = swaps.signed(
            builder, "meteora", SOL, USDC, LAMPORTS_PER_SOL, quote.amount_out,
            ledger.latest_blockhash(), swap=swap,
            budget=ComputeBudget(DEFAULT_COMPUTE_UNIT_LIMIT, 25_000),
        )  # fmt: skip
        signatures.append(ledger.send(signed.raw_tx))
    clock.t += 1.0
    ledger.block_height()  # lands them
    return clock, world, ledger, snapshots, signatures


def test_a_restored_chain_is_the_saved_one(tmp_path: Path) -> None:
    _, world, ledger, snapshots, signatures = busy_chain(tmp_path)
    issued = ledger.latest_blockhash()
    stats = snapshots.save()
    height = ledger.block_height()
    accounts = every_account(world)
    statuses = [ledger.signature_status(s) for s in signatures]
    assert [s.state for s in statuses if s is not None] == [TxState.LANDED, TxState.FAILED]
    records = [ledger.processed(s) for s in signatures]
    launch_sig = world.launched()[0].pools[0].signature
    snapshots.release()  # as a stopped process would

    _, world2, ledger2 = fresh()
    restored = Snapshots.open(world2, ledger2, tmp_path)
    assert stats.accounts == len(accounts)
    assert every_account(world2) == accounts  # every account byte-identical
    assert [ledger2.signature_status(s) for s in signatures] == statuses
    assert [ledger2.processed(s) for s in signatures] == records
    assert ledger2.landed_swaps() == ledger.landed_swaps()
    assert ledger2.processed(launch_sig) == ledger.processed(launch_sig)
    [launch] = world2.launched()
    assert (launch.token.symbol, launch.pools) == ("MOON", world.launched()[0].pools)
    assert ledger2.block_height() > height  # the chain moves on, never back
    # The launched token trades again: its pools are views over the restored accounts.
    moon = world2.token(launch.token.mint)
    assert moon is not None
    assert world2.quote("raydium", moon, SOL, 10**6).amount_out > 0
    # Blockhashes continue: none issued before the restart comes back.
    assert ledger2.blockhashes.issued == ledger.blockhashes.issued
    assert ledger2.latest_blockhash().blockhash != issued.blockhash
    assert not ledger2.is_blockhash_valid(issued.blockhash)  # expired by the restart
    assert world2.reference_price("SOL") == pytest.approx(
        world.reference_price("SOL"), rel=Decimal("0.05")
    )
    restored.release()


def test_the_wallet_keeps_its_token_accounts(tmp_path: Path) -> None:
    _, _, ledger, snapshots, _ = busy_chain(tmp_path)
    [wallet] = {swap.wallet for swap in ledger.landed_swaps()}
    snapshots.save()
    snapshots.release()
    _, world2, ledger2 = fresh()
    Snapshots.open(world2, ledger2, tmp_path)
    assert ledger2.balances(wallet) == ledger.balances(wallet)
    assert ledger2.token_accounts(wallet) == ledger.token_accounts(wallet)


def test_a_steered_price_survives_a_restart(tmp_path: Path) -> None:
    _, world, ledger = fresh(volatility_scale=0)
    snapshots = Snapshots.open(world, ledger, tmp_path)
    snapshots.save()
    moved = world.move(SOL, USDC, Decimal(7)).after
    assert snapshots.changed()  # the move wrote the pools' accounts
    snapshots.save()
    snapshots.release()
    _, world2, ledger2 = fresh(volatility_scale=0)
    Snapshots.open(world2, ledger2, tmp_path)
    assert world2.prices(SOL, USDC) == moved


def test_no_change_no_new_snapshot(tmp_path: Path) -> None:
    _, world, ledger = fresh()
    snapshots = Snapshots.open(world, ledger, tmp_path)
    assert snapshots.changed()  # never saved
    snapshots.save()
    assert not snapshots.changed()
    ledger.airdrop(str(Keypair().pubkey()), NATIVE_MINT, 1)
    assert snapshots.changed()


def test_a_second_simulator_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    _, world, ledger = fresh()
    running = Snapshots.open(world, ledger, tmp_path)
    _, world2, ledger2 = fresh()
    with pytest.raises(SnapshotError, match="another simulator is using"):
        Snapshots.open(world2, ledger2, tmp_path)
    assert running.directory == tmp_path


def document(version: int = 1, seed: int = 7, state: object = None) -> bytes:
    body = {"format": "oee-sim-snapshot", "version": version, "seed": seed, "state": state}
    return gzip.compress(json.dumps(body).encode())


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"not gzip at all", "unreadable"),
        (gzip.compress(b'{"format": "something-else"}'), "unreadable"),
        (document(version=99, state={}), "format version 99, newer"),
        (document(seed=8, state={}), "OEE_SIM_SEED=8"),
        (document(state={"accounts": []}), "does not fit"),
    ],
)
def test_a_bad_snapshot_fails_start_naming_the_file_and_the_reset(
    tmp_path: Path, content: bytes, says: str
) -> None:
    snapshot_path(tmp_path).write_bytes(content)
    _, world, ledger = fresh()
    with pytest.raises(SnapshotError) as caught:
        Snapshots.open(world, ledger, tmp_path)
    assert says in str(caught.value)
    assert str(snapshot_path(tmp_path)) in str(caught.value)
    assert "oee sim reset" in str(caught.value)
    Snapshots.open(world, ledger, tmp_path / "other")  # the lock was released
