"""The JSON-RPC client's own CPU per call: httpx vs the lean HTTP/1.1 client vs batched reads.

Issue #13: a py-spy profile put half of the worker's Python time in httpx/httpcore. This runs
`--calls` JSON-RPC reads (`getLatestBlockhash`, what every order asks for) through the engine's
`JsonRpc`, `--concurrency` in flight, and reports the client process's CPU per call:

- over a socket to an `oee sim` child process (latency 0): `httpx` (the old client, a pool of
  16), `lean` (`oee.adapters.http1`, 16 connections) and `batched` (lean, concurrent reads in
  batches: window 2 ms, up to 64 a batch). The simulator's CPU is not counted;
- in this process (the embedded deployment): `asgi` (httpx's ASGITransport into the sim app,
  the old path) and `inprocess` (the sim's JSON-RPC handler called directly). Here the CPU
  includes the simulator's answering, the same in both.

Modes alternate within each round (the machine is shared); the median of `--rounds` is shown.

    .venv/bin/python benchmarks/rpc_client.py --calls 3000 --concurrency 64 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sim_throughput import SimProcess

from oee.adapters.chain.jsonrpc import JsonRpc
from oee.adapters.chain.rpc_transport import InProcessTransport
from oee.adapters.http1 import Http1Client
from oee.settings import SimSettings
from oee.sim import build_sim
from oee.sim.app import create_sim_app

METHOD = "getLatestBlockhash"
PARAMS: list[Any] = [{"commitment": "confirmed"}]


async def run_calls(rpc: JsonRpc, calls: int, concurrency: int) -> float:
    """CPU seconds of this process per call, after a short warm-up."""
    queue = iter(range(calls))

    async def lane() -> None:
        for _ in queue:
            await rpc.call(METHOD, PARAMS)

    await asyncio.gather(*(rpc.call(METHOD, PARAMS) for _ in range(concurrency)))  # warm up
    started = time.process_time()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return (time.process_time() - started) / calls


async def main(args: argparse.Namespace) -> None:
    settings = SimSettings(latency_scale=0)
    world, ledger = build_sim(settings)
    app = create_sim_app(world, ledger, settings)
    results: dict[str, list[float]] = {}
    async with SimProcess(seed=7) as sim:
        httpx_client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
            timeout=httpx.Timeout(10.0, connect=3.0),
        )
        lean = Http1Client(connections=16)
        asgi = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        modes: dict[str, Callable[[], JsonRpc]] = {
            "httpx": lambda: JsonRpc(httpx_client, sim.url),
            "lean": lambda: JsonRpc(lean, sim.url),
            "batched": lambda: JsonRpc(lean, sim.url, batch_window_s=0.002, batch_max=64),
            "asgi": lambda: JsonRpc(asgi, "http://sim/"),
            "inprocess": lambda: JsonRpc(InProcessTransport(app.state.json_rpc), "http://sim/"),
        }
        for _ in range(args.rounds):
            for name, make in modes.items():
                measure: Awaitable[float] = run_calls(make(), args.calls, args.concurrency)
                results.setdefault(name, []).append(await measure)
        await httpx_client.aclose()
        await lean.aclose()
        await asgi.aclose()
    base = {"httpx": "httpx", "lean": "httpx", "batched": "httpx", "asgi": "asgi"}
    print(f"{METHOD}, {args.calls} calls, {args.concurrency} in flight, median of {args.rounds}")
    print(f"{'mode':<10} {'µs/call':>9} {'vs old':>8}")
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, value in medians.items():
        old = medians[base.get(name, "asgi")]
        print(f"{name:<10} {value * 1e6:>9.0f} {old / value:>7.1f}x")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
