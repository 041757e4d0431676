"""The simulated chain's snapshot: its size and what taking and restoring one costs.

Builds the default world (or one busier by `--swaps` landed swaps), snapshots it a few times
into a temporary directory and restores it into a fresh world, printing bytes, accounts and
milliseconds (the figures in docs/simulator.md).

    .venv/bin/python benchmarks/sim_snapshot.py [--swaps 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from solders.keypair import Keypair

from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.domain.tokens import LAMPORTS_PER_SOL, resolve_token
from oee.settings import SimSettings
from oee.sim import build_sim
from oee.sim.ledger import NATIVE_MINT, SimLedger
from oee.sim.persistence import Snapshots
from oee.sim.world import SimWorld

SOL, USDC = resolve_token("SOL"), resolve_token("USDC")


def land_swaps(world: SimWorld, ledger: SimLedger, count: int) -> None:
    """`count` small SOL→USDC swaps, alternating venues, each landed (latency off)."""
    builder = SwapTransactionBuilder(Keypair())
    ledger.airdrop(str(builder.wallet), NATIVE_MINT, 10_000 * LAMPORTS_PER_SOL)
    for n in range(count):
        venue = ("raydium", "meteora")[n % 2]
        quote = world.quote(venue, SOL, USDC, LAMPORTS_PER_SOL // 10)
        signed = builder.build(
            venue, world.venue(venue).program_id, quote.pool, SOL, USDC,
            LAMPORTS_PER_SOL // 10, 1, ledger.latest_blockhash(),
        )  # fmt: skip
        ledger.send(signed.raw_tx)
        ledger.block_height()  # lands it


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=0, help="landed swaps before measuring")
    parser.add_argument("--repeat", type=int, default=5, help="snapshots taken")
    args = parser.parse_args()
    settings = SimSettings(latency_scale=0)
    world, ledger = build_sim(settings)
    land_swaps(world, ledger, args.swaps)
    directory = Path(tempfile.mkdtemp(prefix="oee-sim-snapshot-"))
    snapshots = Snapshots.open(world, ledger, directory)
    runs = [snapshots.save() for _ in range(args.repeat)]
    size, accounts = runs[-1].size, runs[-1].accounts
    capture = statistics.median(run.capture_s for run in runs) * 1000
    write = statistics.median(run.write_s for run in runs) * 1000
    print(f"snapshot: {size / 1000:.0f} KB, {accounts} accounts, {args.swaps} swaps landed")
    print(f"  read the state {capture:.1f} ms (event loop), encode + write {write:.1f} ms")
    snapshots.release()
    started = time.perf_counter()
    fresh_world, fresh_ledger = build_sim(settings)
    built = time.perf_counter()
    Snapshots.open(fresh_world, fresh_ledger, directory).release()
    restored = time.perf_counter()
    print(
        f"  build the world {(built - started) * 1000:.0f} ms, "
        f"restore the snapshot {(restored - built) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
