"""Simulator throughput: signed swap transactions the simulator lands per second at zero latency.

The simulator runs with OEE_SIM_LATENCY_SCALE=0, so what is measured is its own cost per
transaction. Each run funds a few wallets, looks up the pools, then goes through three phases,
each timed on its own:

1. sign: every transaction is signed with `SwapTransactionBuilder` up front (client CPU only):
   0.01 SOL -> USDC/USDT and 1 USDC/USDT -> SOL, alternating pairs and venues, with
   min_amount_out 1 so that slippage never fails one, and a memo that makes each one distinct.
   The swap instructions are the venues' real ones, built once per wallet and leg beforehand by
   the engine's on-chain venue adapters from the pools' accounts (found with
   getProgramAccounts, read with getMultipleAccounts);
2. send: `sendTransaction` (base64, preflight on unless --skip-preflight) with --concurrency
   requests in flight, each on its own keep-alive connection;
3. land: `getSignatureStatuses` in batches of up to 256 until every accepted transaction is
   `confirmed`/`finalized` or failed. By default one poller runs during the sends (a pipelined
   client); --poll-after starts it once every send has been answered.

Where the simulator runs:

    # a fresh `oee sim` child process on a free port (the default, --target inprocess)
    .venv/bin/python benchmarks/sim_throughput.py --txs 5000 --concurrency 64
    .venv/bin/python benchmarks/sim_throughput.py --txs 5000 --concurrency 64 --skip-preflight
    # an `oee sim` that is already running (e.g. `OEE_SIM_LATENCY_SCALE=0 oee sim --port 8899`)
    .venv/bin/python benchmarks/sim_throughput.py --rpc-url http://127.0.0.1:8899/ --txs 2000
    # SimLedger.send / signature_status called directly: the ledger's own cost, no JSON, no HTTP
    .venv/bin/python benchmarks/sim_throughput.py --direct --txs 5000
    # SolanaRpc.handle called directly: JSON-RPC (and preflight) without the HTTP server
    .venv/bin/python benchmarks/sim_throughput.py --direct-rpc --txs 5000
    # the sim app served by uvicorn in this script's own event loop (one process to profile)
    .venv/bin/python benchmarks/sim_throughput.py --target loop --txs 2000
    # direct, direct-rpc, and an `oee sim` child with and without preflight, side by side with
    # their ratios; 3 interleaved rounds, the median of each (the figures in docs/benchmarks.md)
    .venv/bin/python benchmarks/sim_throughput.py --suite --rounds 3 --txs 5000 --concurrency 64

Wallets are funded with the JSON-RPC method `requestAirdrop` (topping up any registry token
that is short through `POST /admin/airdrop`); a simulator without `requestAirdrop` is funded
entirely through `POST /admin/airdrop`. The HTTP client is a minimal keep-alive HTTP/1.1 client
so that the client, which shares the machine, costs the simulator as little CPU as possible;
`--client httpx` uses httpx instead. `--json` prints a machine-readable summary on stdout. The
exit status is 1 when a transaction was lost (accepted, yet neither landed nor failed by the
end) or none landed, 2 when the simulator could not be started or reached.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import itertools
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
from machine import machine
from rich.console import Console
from rich.table import Table
from solders.keypair import Keypair
from wire import RawHttp, process_cpu_seconds

from oee.adapters.chain.rpc import Account, AccountsAt
from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.adapters.venues.onchain.meteora import MeteoraOnchain
from oee.adapters.venues.onchain.raydium import RaydiumOnchain
from oee.adapters.venues.onchain.venue import OnchainVenue
from oee.devtools.engine_process import EngineStartError, free_port, signal_group
from oee.domain.orders import SignedSwap
from oee.domain.ports import (
    Blockhash,
    ComputeBudget,
    SwapInstruction,
    SwapPlan,
    SwapRequest,
    TxState,
)
from oee.domain.tokens import Token, resolve_token
from oee.loadtest import percentile
from oee.settings import SimSettings

console = Console(stderr=True, soft_wrap=True)

SOL = resolve_token("SOL")
QUOTE_SYMBOLS = ("USDC", "USDT")
VENUES = ("raydium", "meteora")
SOL_IN = 10_000_000  # 0.01 SOL per SOL -> USDC/USDT swap
TOKEN_IN = 1_000_000  # 1 USDC/USDT per swap back to SOL (about 0.0067 SOL)
MIN_OUT = 1  # slippage never fails a swap
CU_PRICE = 10_000  # micro-lamports; the limit is the venue's default for a swap transaction
NATIVE_MINT = "11111111111111111111111111111111"  # how /admin/airdrop names lamports
AIRDROP_LAMPORTS = 100 * 10**9  # a wallet's SOL: fees, wSOL account rent and 0.01 SOL a swap
# The least of each token a wallet starts with (topped up when a faucet gave less).
TOKEN_FLOOR = {resolve_token(symbol).mint: 1_000 * 10**6 for symbol in QUOTE_SYMBOLS}
BLOCKHASH_EVERY = 256  # transactions signed per blockhash (each lives ~60 s)
MAX_STATUS_BATCH = 256  # signatures per getSignatureStatuses, as on agave
LANDED = ("confirmed", "finalized")
SEND_CONFIG = {"encoding": "base64", "preflightCommitment": "confirmed"}

Probe = Callable[[], float | None]  # CPU seconds used so far


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join((__doc__ or "").split("\n\n")[1:]),
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--target",
        choices=["inprocess", "loop"],
        default="inprocess",
        help="a simulator this run starts: inprocess = a fresh `oee sim` child process on a "
        "free port (its own CPU, a real socket); loop = the same app under uvicorn in this "
        "script's event loop (client and server share one core; simplest to profile)",
    )
    where.add_argument(
        "--rpc-url", help="an `oee sim` already running, e.g. http://127.0.0.1:8899/"
    )
    where.add_argument(
        "--direct", action="store_true", help="SimLedger.send/signature_status, no JSON, no HTTP"
    )
    where.add_argument(
        "--direct-rpc", action="store_true", help="SolanaRpc.handle in this process, no HTTP"
    )
    where.add_argument(
        "--suite",
        action="store_true",
        help="a run of each, back to back: --direct, --direct-rpc, and HTTP to an `oee sim` "
        "child with and without preflight; prints them side by side with their ratios",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="with --suite: repeat it, report the median runs"
    )
    parser.add_argument("--txs", type=int, default=2000, help="transactions to sign and send")
    parser.add_argument("--concurrency", type=int, default=64, help="sends in flight at once")
    parser.add_argument("--wallets", type=int, default=8, help="signing wallets (keypairs)")
    parser.add_argument("--skip-preflight", action="store_true", help="sendTransaction config")
    parser.add_argument(
        "--poll-after", action="store_true", help="poll statuses only once every send is answered"
    )
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw", help="HTTP client")
    parser.add_argument("--seed", type=int, default=7, help="OEE_SIM_SEED of a simulator we start")
    parser.add_argument(
        "--land-timeout", type=float, default=30.0, help="seconds after the last send to land"
    )
    parser.add_argument("--request-timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--sim-pid", type=int, help="with --rpc-url: report this process's CPU")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    parser.add_argument("--no-progress", action="store_true", help="no progress line per second")
    args = parser.parse_args(argv)
    if min(args.txs, args.concurrency, args.wallets, args.rounds) < 1:
        parser.error("--txs, --concurrency, --wallets and --rounds must be positive")
    return args


# -- machine and CPU ---------------------------------------------------------------------------


# -- transports: how a request reaches the simulator ---------------------------------------------


class Transport(Protocol):
    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]: ...

    async def aclose(self) -> None: ...


class HttpxTransport:
    """The same requests through httpx (what the engine's RpcChain uses)."""

    def __init__(self, url: str, size: int, timeout_s: float) -> None:
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        self._root = url.rstrip("/")
        self._client = httpx.AsyncClient(limits=limits, timeout=timeout_s, trust_env=False)
        self._headers = {"content-type": "application/json"}

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        url = self._root + path
        response = await self._client.request(method, url, content=body, headers=self._headers)
        return response.status_code, response.content

    async def aclose(self) -> None:
        await self._client.aclose()


class InProcessRpc:
    """`SolanaRpc.handle` in this process: JSON-RPC without HTTP; /admin/airdrop on the ledger."""

    def __init__(self, rpc: Any, ledger: Any) -> None:
        self._rpc, self._ledger = rpc, ledger

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if (method, path) == ("POST", "/"):
            return 200, self._rpc.handle(body)
        if (method, path) == ("POST", "/admin/airdrop"):
            data = json.loads(body)
            owner, mint = data["owner"], data.get("mint") or NATIVE_MINT
            balance = self._ledger.airdrop(owner, mint, int(data["amount"]))
            return 200, json.dumps({"owner": owner, "mint": mint, "balance": str(balance)}).encode()
        return 404, b"{}"

    async def aclose(self) -> None:
        pass


TRANSPORT_ERRORS = (
    OSError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    httpx.HTTPError,
)


class RpcFault(Exception):
    """A JSON-RPC error object, or an HTTP status other than 200 (code: minus the status)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.data = code, message, data


class Unreachable(Exception):
    """The request got no answer (connection refused or reset, timeout)."""


class Rpc:
    """Solana JSON-RPC and the simulator's other routes over one transport."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._ids = itertools.count(1)

    async def call(self, method: str, params: list[Any]) -> Any:
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        body = json.dumps(request, separators=(",", ":")).encode()
        try:
            status, data = await self.transport.request("POST", "/", body)
        except (*TRANSPORT_ERRORS, TimeoutError) as error:
            raise Unreachable(f"{method}: {error!r}") from None
        if status != 200:
            raise RpcFault(-status, f"HTTP {status}", data[:200].decode(errors="replace"))
        reply = json.loads(data)
        if "error" in reply:
            error = reply["error"]
            raise RpcFault(int(error.get("code", 0)), str(error.get("message")), error.get("data"))
        return reply["result"]

    async def http_json(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        body = b"" if payload is None else json.dumps(payload).encode()
        try:
            status, data = await self.transport.request(method, path, body)
        except (*TRANSPORT_ERRORS, TimeoutError) as error:
            raise Unreachable(f"{method} {path}: {error!r}") from None
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data.decode(errors="replace")


def fault_key(fault: RpcFault) -> str:
    """How a refused send is counted: the preflight's transaction error, else code and message."""
    if fault.code == -32002 and isinstance(fault.data, dict) and fault.data.get("err") is not None:
        return f"preflight {compact(fault.data['err'])}"
    return f"{fault.code} {fault.message[:80]}"


def compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


# -- the simulator under test --------------------------------------------------------------------


class SimProcess:
    """`oee sim` as a child process on a free port with latency 0, stopped when the block ends."""

    def __init__(self, seed: int, startup_timeout_s: float = 60.0) -> None:
        self._seed, self._startup_timeout_s = seed, startup_timeout_s
        self._bin = str(Path(sys.executable).with_name("oee"))
        self._tmp = Path(tempfile.mkdtemp(prefix="oee-sim-bench-"))
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def __aenter__(self) -> SimProcess:
        try:
            for attempt in (1, 2, 3):  # the free port may be taken before the child binds it
                await self._start()
                try:
                    await self._wait_healthy()
                    return self
                except EngineStartError as error:
                    if "address already in use" not in str(error) or attempt == 3:
                        raise
                    await self.stop()
                    self.port = free_port()
        except BaseException:
            await self.close()
            raise
        raise AssertionError("unreachable")

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OEE_")}
        env |= {
            "OEE_SIM_LATENCY_SCALE": "0",
            "OEE_SIM_SEED": str(self._seed),
            "OEE_LOG_LEVEL": "WARNING",
            "OEE_DATA_DIR": str(self._tmp / "data"),
        }
        with (self._tmp / "sim.log").open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                self._bin, "sim", "--host", "127.0.0.1", "--port", str(self.port),
                env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,
            )  # fmt: skip

    async def _wait_healthy(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self._startup_timeout_s
        async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    raise EngineStartError(
                        f"oee sim exited with {self.proc.returncode}\n{self.tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}health")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise EngineStartError(f"oee sim gave no /health in time\n{self.tail()}")

    def cpu_seconds(self) -> float | None:
        return None if self.proc is None else process_cpu_seconds(self.proc.pid)

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            text = (self._tmp / "sim.log").read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    async def stop(self) -> int | None:
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.returncode is None:
            signal_group(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                signal_group(proc.pid, signal.SIGKILL)
                await proc.wait()
        signal_group(proc.pid, signal.SIGKILL)
        return proc.returncode

    async def close(self) -> None:
        try:
            await asyncio.shield(self.stop())
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)


def local_sim(seed: int) -> tuple[Any, Any, SimSettings]:
    """A world and ledger in this process, latency 0 (imported here: --rpc-url needs no sim)."""
    from oee.sim import build_sim

    settings = SimSettings(latency_scale=0, seed=seed)
    world, ledger = build_sim(settings)
    return world, ledger, settings


# -- what is sent ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leg:
    """One kind of swap a wallet makes: a venue, a direction and an amount."""

    venue: str
    token_in: Token
    token_out: Token
    amount_in: int


def legs() -> list[Leg]:
    """A wallet's cycle: SOL -> X and back on each venue, for X in USDC, USDT."""
    cycle = []
    for symbol in QUOTE_SYMBOLS:
        token = resolve_token(symbol)
        for venue in VENUES:
            cycle.append(Leg(venue, SOL, token, SOL_IN))
            cycle.append(Leg(venue, token, SOL, TOKEN_IN))
    return cycle


class RpcAccounts:
    """The account reads the engine's on-chain venues make (`AccountSource`), over `Rpc`."""

    def __init__(self, rpc: Rpc) -> None:
        self._rpc = rpc

    async def multiple_accounts(self, addresses: list[str]) -> AccountsAt:
        answer = await self._rpc.call("getMultipleAccounts", [addresses, {"encoding": "base64"}])
        found = tuple(None if v is None else _account(v) for v in answer["value"])
        return AccountsAt(int(answer["context"]["slot"]), found)

    async def program_accounts(
        self, program_id: str, filters: list[dict[str, Any]]
    ) -> list[tuple[str, Account]]:
        config = {"encoding": "base64", "filters": filters}
        found = await self._rpc.call("getProgramAccounts", [program_id, config])
        return [(entry["pubkey"], _account(entry["account"])) for entry in found]


def _account(entry: dict[str, Any]) -> Account:
    return Account(entry["owner"], int(entry["lamports"]), base64.b64decode(entry["data"][0]))


@dataclass(frozen=True, slots=True)
class Prepared:
    """A leg's swap instruction for one wallet, and the compute budget its transaction sets."""

    leg: Leg
    swap: SwapInstruction
    budget: ComputeBudget


async def prepare(rpc: Rpc, builders: list[SwapTransactionBuilder]) -> list[list[Prepared]]:
    """Every wallet's legs as real swap instructions, built as the engine builds them."""
    source = RpcAccounts(rpc)
    adapters: dict[str, OnchainVenue[Any]] = {
        "raydium": RaydiumOnchain(source),
        "meteora": MeteoraOnchain(source),
    }
    prepared: list[list[Prepared]] = [[] for _ in builders]
    for leg in legs():
        venue = adapters[leg.venue]
        quote = await venue.quote(leg.token_in, leg.token_out, leg.amount_in)  # names the pool
        budget = ComputeBudget(venue.compute_units, CU_PRICE)
        for builder, mine in zip(builders, prepared, strict=True):
            request = SwapRequest(
                quote, leg.token_in, leg.token_out, builder.owner,
                builder.token_account(leg.token_in.mint),
                builder.token_account(leg.token_out.mint), leg.amount_in, MIN_OUT,
            )  # fmt: skip
            mine.append(Prepared(leg, await venue.swap_instruction(request), budget))
    return prepared


def sign_all(
    n: int,
    builders: list[SwapTransactionBuilder],
    prepared: list[list[Prepared]],
    blockhashes: list[Blockhash],
) -> tuple[list[SignedSwap], float]:
    """Sign `n` swaps; returns them and the seconds it took (CPU only, no I/O)."""
    run = uuid.uuid4().hex[:8]
    txs = []
    started = time.perf_counter()
    for i in range(n):
        wallet = i % len(builders)
        mine = prepared[wallet]
        one = mine[(i // len(builders)) % len(mine)]
        leg = one.leg
        plan = SwapPlan(
            leg.venue, one.swap, leg.token_in, leg.token_out, leg.amount_in, MIN_OUT,
            f"sim-bench/{run}/{i}",
        )  # fmt: skip
        txs.append(builders[wallet].sign(plan, one.budget, blockhashes[i // BLOCKHASH_EVERY]))
    return txs, time.perf_counter() - started


# -- bookkeeping -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What happened to every transaction, and when."""

    total: int
    started: float = field(default_factory=time.perf_counter)
    sent: int = 0  # accepted: sendTransaction answered with the signature
    answered: int = 0  # sends answered one way or the other
    landed: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # on-chain error -> count
    rejected: Counter[str] = field(default_factory=Counter)  # send refused -> count
    latencies: list[float] = field(default_factory=list)
    pending: dict[str, None] = field(default_factory=dict)  # accepted, outcome unknown
    first_send: float | None = None
    sends_done: float | None = None
    last_outcome: float | None = None
    status_calls: int = 0

    def outcome(self, signature: str, err: Any | None) -> None:
        del self.pending[signature]
        if err is None:
            self.landed += 1
        else:
            self.failed[compact(err)] += 1
        self.last_outcome = time.perf_counter()

    def line(self) -> str:
        elapsed = time.perf_counter() - self.started
        since = time.perf_counter() - (self.first_send or time.perf_counter())
        rate = self.landed / since if since > 0 else 0.0
        return (
            f"[{elapsed:6.1f}s] sent {self.sent}/{self.total}  landed {self.landed} "
            f"({rate:,.0f}/s)  failed {sum(self.failed.values())}  "
            f"rejected {sum(self.rejected.values())}  awaiting status {len(self.pending)}"
        )


class Ticker:
    """A progress line on stderr at most once a second (call `maybe` from a loop, or run `task`)."""

    def __init__(self, tally: Tally, enabled: bool) -> None:
        self._tally, self._enabled = tally, enabled
        self._next = time.perf_counter() + 1.0

    def maybe(self) -> None:
        now = time.perf_counter()
        if self._enabled and now >= self._next:
            self._next = max(self._next + 1.0, now + 0.5)
            print(self._tally.line(), file=sys.stderr, flush=True)

    async def task(self) -> None:
        while self._enabled:
            await asyncio.sleep(max(0.01, self._next - time.perf_counter()))
            self.maybe()


# -- the direct run: the ledger alone ----------------------------------------------------------


def run_direct(args: argparse.Namespace) -> dict[str, Any]:
    """SimLedger.send and signature_status called in a loop: the ledger's own cost."""
    from oee.sim.ledger import LedgerError
    from oee.sim.rpc import SolanaRpc

    world, ledger, settings = local_sim(args.seed)
    builders = [SwapTransactionBuilder(Keypair()) for _ in range(args.wallets)]
    try:  # the faucet behind requestAirdrop: lamports and a starter amount of every token
        from oee.sim.faucet import fund as faucet

        funding = "oee.sim.faucet.fund"
    except ImportError:  # a simulator from before the faucet: its balance book

        def faucet(world: Any, ledger: Any, owner: str, lamports: int) -> None:
            ledger.airdrop(owner, NATIVE_MINT, lamports)
            for mint, amount in TOKEN_FLOOR.items():
                ledger.airdrop(owner, mint, amount)

        funding = "SimLedger.airdrop"
    for builder in builders:
        faucet(world, ledger, str(builder.wallet), AIRDROP_LAMPORTS)
    # The instructions are built over JSON-RPC in this process, as the engine reads the pools.
    setup = Rpc(InProcessRpc(SolanaRpc(world, ledger, settings), ledger))
    prepared = asyncio.run(prepare(setup, builders))
    blockhashes = [ledger.latest_blockhash() for _ in range(math.ceil(args.txs / BLOCKHASH_EVERY))]
    txs, sign_s = sign_all(args.txs, builders, prepared, blockhashes)
    if not args.no_progress:
        console.print(
            f"funded {len(builders)} wallets ({funding}); signed {len(txs)} swaps in "
            f"{sign_s:.2f} s; sending one at a time to SimLedger.send"
        )
    tally = Tally(args.txs)
    ticker = Ticker(tally, not args.no_progress)
    cpu0 = time.process_time()  # the ledger and the loop driving it: one process
    tally.first_send = time.perf_counter()
    for tx in txs:
        sent_at = time.perf_counter()
        try:
            signature = ledger.send(tx.raw_tx)
        except LedgerError as error:
            tally.rejected[error.code] += 1
        else:
            tally.sent += 1
            tally.pending[signature] = None
        tally.answered += 1
        tally.latencies.append(time.perf_counter() - sent_at)
        ticker.maybe()
    tally.sends_done = time.perf_counter()
    deadline = tally.sends_done + args.land_timeout
    while tally.pending and time.perf_counter() < deadline:
        batch = list(itertools.islice(tally.pending, MAX_STATUS_BATCH))
        tally.status_calls += 1
        progressed = False
        for signature in batch:
            status = ledger.signature_status(signature)
            if status is not None:
                landed = status.state is TxState.LANDED
                tally.outcome(signature, None if landed else status.error_code)
                progressed = True
            else:  # not landed yet: to the back of the queue
                del tally.pending[signature]
                tally.pending[signature] = None
        ticker.maybe()
        if not progressed:
            time.sleep(0.01)
    cpu = {"process_cpu_s": time.process_time() - cpu0}
    return summarise(args, tally, sign_s, cpu) | {"funding": funding}


# -- the RPC runs ------------------------------------------------------------------------------------


async def fund(rpc: Rpc, owners: list[str], timeout_s: float) -> str:
    """Give every wallet lamports and tokens; says how (requestAirdrop or /admin/airdrop)."""
    faucet = True
    for owner in owners:
        try:
            await rpc.call("requestAirdrop", [owner, AIRDROP_LAMPORTS])
        except RpcFault as fault:
            if fault.code != -32601:  # anything but "Method not found" is a real failure
                raise
            faucet = False
            await admin_airdrop(rpc, owner, NATIVE_MINT, AIRDROP_LAMPORTS)
            for mint, amount in TOKEN_FLOOR.items():
                await admin_airdrop(rpc, owner, mint, amount)
    if not faucet:
        return "/admin/airdrop"
    await wait_funded(rpc, owners, timeout_s)
    topped = 0
    for owner in owners:  # a first airdrop grants some of every token: top up what is short
        for mint, floor in TOKEN_FLOOR.items():
            have = await token_balance(rpc, owner, mint)
            if have < floor:
                await admin_airdrop(rpc, owner, mint, floor - have)
                topped += 1
    return "requestAirdrop" + (f" (+{topped} token top-ups via /admin/airdrop)" if topped else "")


async def admin_airdrop(rpc: Rpc, owner: str, mint: str, amount: int) -> None:
    body: dict[str, Any] = {"owner": owner, "amount": amount}
    if mint != NATIVE_MINT:
        body["mint"] = mint
    status, reply = await rpc.http_json("POST", "/admin/airdrop", body)
    if status != 200:
        raise RuntimeError(f"POST /admin/airdrop answered {status}: {reply}")


async def token_balance(rpc: Rpc, owner: str, mint: str) -> int:
    result = await rpc.call(
        "getTokenAccountsByOwner", [owner, {"mint": mint}, {"encoding": "jsonParsed"}]
    )
    return sum(
        int(account["account"]["data"]["parsed"]["info"]["tokenAmount"]["amount"])
        for account in result["value"]
    )


async def wait_funded(rpc: Rpc, owners: list[str], timeout_s: float) -> None:
    """Wait until every wallet holds its airdrop (a faucet may land it later, like devnet's)."""
    deadline = time.monotonic() + timeout_s
    waiting = list(owners)
    while waiting:
        balances = [(await rpc.call("getBalance", [owner]))["value"] for owner in waiting]
        waiting = [
            o for o, lamports in zip(waiting, balances, strict=True) if lamports < AIRDROP_LAMPORTS
        ]
        if waiting:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(waiting)} airdrops not credited in {timeout_s} s")
            await asyncio.sleep(0.05)


async def send_all(rpc: Rpc, txs: list[SignedSwap], args: argparse.Namespace, tally: Tally) -> None:
    """`sendTransaction` for every transaction, `args.concurrency` at a time."""
    config = SEND_CONFIG | {"skipPreflight": args.skip_preflight}
    queue: Iterator[SignedSwap] = iter(txs)  # shared by the lanes: one event loop, no race

    async def lane() -> None:
        for tx in queue:
            sent_at = time.perf_counter()
            try:
                signature = await rpc.call("sendTransaction", [tx.raw_tx, config])
            except RpcFault as fault:
                tally.rejected[fault_key(fault)] += 1
            except Unreachable as error:
                # Unknown whether it was accepted: counted as refused, never polled.
                tally.rejected[f"no answer: {str(error)[:60]}"] += 1
            else:
                if signature != tx.signature:
                    tally.rejected[f"answered another signature {signature}"] += 1
                else:
                    tally.sent += 1
                    tally.pending[signature] = None
            tally.answered += 1
            tally.latencies.append(time.perf_counter() - sent_at)
            if tally.answered % 64 == 0:
                # An in-process node answers without suspending: let the poller and the
                # progress line have a turn.
                await asyncio.sleep(0)

    tally.first_send = time.perf_counter()
    # An in-process node answers within the call: more lanes would only take turns.
    lanes = 1 if args.direct_rpc else min(args.concurrency, len(txs))
    await asyncio.gather(*(lane() for _ in range(lanes)))
    tally.sends_done = time.perf_counter()


async def poll_landings(
    rpc: Rpc, tally: Tally, sends_done: asyncio.Event, timeout_s: float
) -> None:
    """getSignatureStatuses, 256 at a time, until every accepted transaction has an outcome."""
    while True:
        if not tally.pending:
            if sends_done.is_set():
                return
            await asyncio.sleep(0.005)
            continue
        batch = list(itertools.islice(tally.pending, MAX_STATUS_BATCH))
        tally.status_calls += 1
        result = await rpc.call("getSignatureStatuses", [batch])
        progressed = False
        for signature, status in zip(batch, result["value"], strict=True):
            if status and status.get("confirmationStatus") in LANDED:
                tally.outcome(signature, status.get("err"))
                progressed = True
            elif signature in tally.pending:  # not yet: to the back of the queue
                del tally.pending[signature]
                tally.pending[signature] = None
        if sends_done.is_set():
            assert tally.sends_done is not None
            if time.perf_counter() > tally.sends_done + timeout_s:
                return  # whatever is still pending is lost
        if not progressed:
            await asyncio.sleep(0.005 if not sends_done.is_set() else 0.05)


async def measure(rpc: Rpc, args: argparse.Namespace, probes: dict[str, Probe]) -> dict[str, Any]:
    """Fund, find the pools, sign, then send and land; returns the summary.

    Args:
        rpc: The simulator under test.
        args: The command line.
        probes: CPU seconds so far, by name, sampled around the send and land phases.
    """
    builders = [SwapTransactionBuilder(Keypair()) for _ in range(args.wallets)]
    funding = await fund(rpc, [str(b.wallet) for b in builders], args.land_timeout)
    prepared = await prepare(rpc, builders)
    blockhashes = []
    for _ in range(math.ceil(args.txs / BLOCKHASH_EVERY)):
        value = (await rpc.call("getLatestBlockhash", [{"commitment": "confirmed"}]))["value"]
        blockhashes.append(Blockhash(value["blockhash"], value["lastValidBlockHeight"]))
    txs, sign_s = sign_all(args.txs, builders, prepared, blockhashes)
    if not args.no_progress:
        console.print(
            f"funded {len(builders)} wallets ({funding}); signed {len(txs)} swaps in "
            f"{sign_s:.2f} s; sending {1 if args.direct_rpc else args.concurrency} at a time, "
            f"preflight {'off' if args.skip_preflight else 'on'}"
        )
    # Every connection the run uses is opened (and accepted by the server) before the clock
    # starts; a connection first opened while 64 others are busy can wait seconds for its
    # first answer.
    await asyncio.gather(*(rpc.call("getHealth", []) for _ in range(args.concurrency + 1)))
    tally = Tally(args.txs)
    ticker = asyncio.create_task(Ticker(tally, not args.no_progress).task())
    sends_done = asyncio.Event()
    before = {name: probe() for name, probe in probes.items()}
    try:
        if args.poll_after:
            await send_all(rpc, txs, args, tally)
            sends_done.set()
            await poll_landings(rpc, tally, sends_done, args.land_timeout)
        else:
            poller = asyncio.create_task(poll_landings(rpc, tally, sends_done, args.land_timeout))
            try:
                await send_all(rpc, txs, args, tally)
            finally:
                sends_done.set()
            await poller
    finally:
        ticker.cancel()
    cpu = {name: cpu_delta(before[name], probe()) for name, probe in probes.items()}
    return summarise(args, tally, sign_s, cpu) | {"funding": funding}


def cpu_delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


async def run_rpc(args: argparse.Namespace) -> dict[str, Any]:
    """Every mode that speaks JSON-RPC: an `oee sim` child, --rpc-url, --target loop, --direct-rpc."""
    async with contextlib.AsyncExitStack() as stack:
        # Client and simulator share this process unless the simulator is a process of its own.
        probes: dict[str, Probe] = {"process_cpu_s": time.process_time}
        if args.direct_rpc:
            from oee.sim.rpc import SolanaRpc

            world, ledger, settings = local_sim(args.seed)
            transport: Transport = InProcessRpc(SolanaRpc(world, ledger, settings), ledger)
        else:
            if args.rpc_url:
                url = args.rpc_url
                probes = {"client_cpu_s": time.process_time}
                if args.sim_pid:
                    probes["sim_cpu_s"] = functools.partial(process_cpu_seconds, args.sim_pid)
            elif args.target == "loop":
                url = await stack.enter_async_context(serve_in_loop(args.seed))
            else:
                sim = await stack.enter_async_context(SimProcess(args.seed))
                url = sim.url
                probes = {"sim_cpu_s": sim.cpu_seconds, "client_cpu_s": time.process_time}
            make = RawHttp if args.client == "raw" else HttpxTransport
            transport = make(url, args.concurrency + 2, args.request_timeout)
        stack.push_async_callback(transport.aclose)
        return await measure(Rpc(transport), args, probes)


@contextlib.asynccontextmanager
async def serve_in_loop(seed: int) -> Any:
    """The sim app under uvicorn in this event loop on a free port; yields its URL."""
    from oee.devtools.inloop import serving
    from oee.sim.app import create_sim_app, server_config

    world, ledger, settings = local_sim(seed)
    async with serving(create_sim_app(world, ledger, settings), config=server_config) as port:
        yield f"http://127.0.0.1:{port}/"


# -- the report ----------------------------------------------------------------------------------


def target_label(args: argparse.Namespace) -> str:
    if args.direct:
        return "direct: SimLedger.send/signature_status, no JSON, no HTTP"
    if args.direct_rpc:
        return "direct-rpc: SolanaRpc.handle, no HTTP"
    if args.rpc_url:
        return f"HTTP JSON-RPC to {args.rpc_url}"
    if args.target == "loop":
        return "HTTP JSON-RPC to the sim app in this process's event loop"
    return "HTTP JSON-RPC to an `oee sim` child process"


def summarise(
    args: argparse.Namespace, tally: Tally, sign_s: float, cpu: dict[str, float | None]
) -> dict[str, Any]:
    first = tally.first_send or tally.started
    sends_done = tally.sends_done or first
    end = max(tally.last_outcome or sends_done, sends_done)
    wall = end - first
    latencies = sorted(tally.latencies)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    direct = args.direct or args.direct_rpc  # one call at a time: the sends never yield
    summary: dict[str, Any] = {
        "target": target_label(args),
        "preflight": None if args.direct else not args.skip_preflight,
        "concurrency": 1 if direct else args.concurrency,
        "client": None if direct else args.client,
        "poll": "after" if args.direct or args.poll_after else "during",
        "wallets": args.wallets,
        "txs": args.txs,
        "signed_per_s": round(args.txs / sign_s, 1) if sign_s > 0 else None,
        "sign_s": round(sign_s, 3),
        "sent": tally.sent,
        "rejected": sum(tally.rejected.values()),
        "rejected_by_error": dict(tally.rejected),
        "landed": tally.landed,
        "failed": sum(tally.failed.values()),
        "failed_by_error": dict(tally.failed),
        "lost": len(tally.pending),
        "send_s": round(sends_done - first, 3),
        "sent_per_s": round(tally.answered / (sends_done - first), 1)
        if sends_done > first
        else None,
        "send_p50_ms": None if p50 is None else round(p50 * 1000, 3),
        "send_p99_ms": None if p99 is None else round(p99 * 1000, 3),
        "status_calls": tally.status_calls,
        "wall_s": round(wall, 3),
        "landed_per_s": round(tally.landed / wall, 1) if wall > 0 else None,
    }
    for name, seconds in cpu.items():
        summary[name] = None if seconds is None else round(seconds, 2)
        per_tx = None
        if seconds is not None and tally.landed:
            per_tx = round(seconds / tally.landed * 1000, 3)
        summary[name.removesuffix("_s") + "_ms_per_landed"] = per_tx
    return summary


def render(summary: dict[str, Any], info: dict[str, Any], out: Console) -> None:
    table = Table(title=f"simulator throughput, latency 0: {summary['target']}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    headline = {"landed_per_s": "landed tx/s"}
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
        label = headline.get(key, key.replace("_per_", "/").replace("_", " "))
        text = f"[bold]{value}[/]" if key in headline else str(value)
        table.add_row(f"[bold]{label}[/]" if key in headline else label, text)
    out.print(table)
    render_machine(info, out)


def render_machine(info: dict[str, Any], out: Console) -> None:
    out.print(
        f"machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"load average before {' '.join(info['loadavg_before'] or ['?'])}"
    )


# The suite: each run's name and what it changes in the command line.
SUITE = (
    ("direct", {"direct": True}),
    ("direct-rpc", {"direct_rpc": True}),
    ("http", {}),
    ("http-skip-preflight", {"skip_preflight": True}),
)


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    summary: dict[str, Any] = run_direct(args) if args.direct else run_loop(run_rpc(args))
    return summary


def run_suite(args: argparse.Namespace) -> dict[str, Any]:
    """Every SUITE run, `args.rounds` times interleaved; the median run of each and the ratios.

    On a shared, noisy machine the rounds' spread says how far to trust a figure, and the
    ratios between runs of one round move much less than the figures themselves.
    """
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in SUITE}
    for round_no in range(1, args.rounds + 1):
        for name, changes in SUITE:
            if not args.no_progress:
                console.print(f"[bold]{name}[/] (round {round_no}/{args.rounds}): {args.txs} txs")
            rounds[name].append(run_one(argparse.Namespace(**(vars(args) | changes))))
    runs = {name: median_run(results) for name, results in rounds.items()}
    rate = {name: run["landed_per_s"] or 0.0 for name, run in runs.items()}
    ratios = {
        f"{name}_vs_direct": round(rate[name] / rate["direct"], 3) if rate["direct"] else None
        for name in rate
        if name != "direct"
    }
    if rate["http-skip-preflight"]:
        ratios["http_vs_http-skip-preflight"] = round(rate["http"] / rate["http-skip-preflight"], 3)
    spread = {name: [r["landed_per_s"] for r in results] for name, results in rounds.items()}
    every = [(name, run) for name, results in rounds.items() for run in results]
    return {"runs": runs, "ratios": ratios, "landed_per_s_by_round": spread, "all_runs": every}


def median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median landed tx/s (the lower middle one of an even count)."""
    ranked = sorted(results, key=lambda run: run["landed_per_s"] or 0.0)
    return ranked[(len(ranked) - 1) // 2]


def render_suite(suite: dict[str, Any], info: dict[str, Any], out: Console) -> None:
    rounds = len(next(iter(suite["landed_per_s_by_round"].values())))
    what = "one run each" if rounds == 1 else f"the median of {rounds} rounds"
    table = Table(title=f"simulator throughput, latency 0, {what}")
    columns = ["landed", "lost", "landed tx/s", "vs direct", "send p50 / p99 ms"]
    columns += ["sim CPU ms/tx", "client CPU ms/tx"]
    table.add_column("run")
    for column in columns:
        table.add_column(column, justify="right")
    for name, run in suite["runs"].items():
        sim_cpu = run.get("sim_cpu_ms_per_landed", run.get("process_cpu_ms_per_landed"))
        every = suite["landed_per_s_by_round"][name]
        rate = f"[bold]{run['landed_per_s']}[/]"
        if len(every) > 1:
            rate += f" ({min(every)}-{max(every)})"
        table.add_row(
            name, str(run["landed"]), str(run["lost"]), rate,
            str(suite["ratios"].get(f"{name}_vs_direct", 1.0)),
            f"{run['send_p50_ms']} / {run['send_p99_ms']}", str(sim_cpu),
            str(run.get("client_cpu_ms_per_landed", "-")),
        )  # fmt: skip
    out.print(table)
    out.print(
        "sim CPU: of the `oee sim` process; in-process runs (direct, direct-rpc) count this "
        "whole process, the loop driving the simulator included"
    )
    render_machine(info, out)


def main(argv: list[str] | None = None) -> int:
    """Run one measurement (or the suite); returns the exit status (see the module's docstring)."""
    args = parse_args(argv)
    info = machine()
    out = Console(stderr=args.json, width=140)
    try:
        if args.suite:
            suite = run_suite(args)
            runs = [run for _, run in suite.pop("all_runs")]  # every round's, not the medians
            render_suite(suite, info, out)
            result = {"machine": info, **suite}
        else:
            runs = [run_one(args)]
            render(runs[0], info, out)
            result = {"machine": info, **runs[0]}
    except (EngineStartError, Unreachable, RpcFault, RuntimeError, OSError) as error:
        console.print(f"[red]error:[/] {error}")
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    broken = [run for run in runs if run["lost"] or not run["landed"]]
    for run in broken:
        console.print(f"[red]{run['target']}: {run['lost']} lost, {run['landed']} landed[/]")
    return 1 if broken else 0


def run_loop(coroutine: Any) -> Any:
    """Run on uvloop when it is installed (as `oee sim` does), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; the simulator was stopped[/]")
        sys.exit(130)
