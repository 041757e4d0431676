"""`oee check`: the honest readiness probe of a cluster, sending nothing.

It does what the engine does for an order, short of signing and sending: reads the pair's pools
from the chain (`getProgramAccounts`), quotes each venue from their accounts, builds each
venue's real swap transaction and runs `simulateTransaction` on it, and reads the priority fee
it would pay. Every step prints as it goes; the first thing missing ends the probe with a
clear line and exit code 1 (settings it cannot start with: 2).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from oee.adapters.chain.rpc import RpcChain
    from oee.adapters.chain.transactions import SwapTransactionBuilder
    from oee.adapters.venues.onchain.venue import OnchainVenue
    from oee.clusters import ClusterProfile
    from oee.domain.tokens import Token
    from oee.settings import Settings

T = TypeVar("T")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
PROBE_AIRDROP_LAMPORTS = 10 * 10**9  # the simulator's faucet also hands out starter tokens


class NotReady(Exception):
    """Something the engine needs is missing; the message says what."""


@dataclass
class Probe:
    """What one `oee check` run works with."""

    settings: Settings
    profile: ClusterProfile
    chain: RpcChain
    url: str


def check(
    cluster: Annotated[
        str | None,
        typer.Option(help="sim, devnet or mainnet-beta (env: OEE_CLUSTER; default sim)."),
    ] = None,
    pair: Annotated[str, typer.Option(help="The pair to probe, IN/OUT.")] = "SOL/USDC",
    amount: Annotated[str, typer.Option(help="How much of IN to quote and simulate.")] = "0.1",
    rpc_url: Annotated[
        str | None, typer.Option("--rpc-url", help="JSON-RPC node (env: OEE_RPC_URL).")
    ] = None,
) -> None:
    """Probe a cluster: find the pair's pools, quote them, build and simulate a swap; send nothing.

    Against the simulator start `oee sim` first and point OEE_RPC_URL (or --rpc-url) at it;
    devnet and mainnet-beta use their public endpoints unless OEE_RPC_URL says otherwise.
    Exits 0 when every venue is ready, 1 naming what is missing.
    """
    from oee.cli.server import _run

    settings = _load(cluster, rpc_url)
    _run(lambda: _main(settings, pair, amount))


def _load(cluster: str | None, rpc_url: str | None) -> Settings:
    from oee.logs import configure_logging
    from oee.settings import Settings

    overrides: dict[str, Any] = {
        k: v for k, v in (("cluster", cluster), ("rpc_url", rpc_url)) if v is not None
    }
    try:
        settings = Settings(**overrides)  # validated: mainnet's opt-in rules apply here too
    except Exception as error:
        err.print(f"[red]error:[/] invalid settings: {error}")
        raise typer.Exit(2) from None
    configure_logging("WARNING", settings.log_format)
    return settings


async def _main(settings: Settings, pair: str, amount: str) -> None:
    import httpx

    from oee.adapters.chain.rpc import RpcChain
    from oee.clusters import PROFILES

    profile = PROFILES[settings.cluster]
    url = settings.rpc_url or profile.rpc_url
    if url is None:
        err.print(
            "[red]not ready:[/] oee check reads a running chain: start `oee sim` and set "
            "OEE_RPC_URL (or --rpc-url) to it"
        )
        raise typer.Exit(1)
    async with httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)) as client:
        probe = Probe(settings, profile, RpcChain(client, url, timeout_s=15.0), url)
        try:
            await _probe(probe, pair, amount)
        except NotReady as missing:
            out.print(f"[red]not ready:[/] {missing}")
            raise typer.Exit(1) from None
    out.print(f"[green]ready:[/] {settings.cluster} can quote, build and simulate {pair}")


async def _probe(probe: Probe, pair: str, amount: str) -> None:
    from oee.domain.errors import DomainError
    from oee.domain.tokens import parse_amount

    out.print(f"cluster   {probe.profile.name}  rpc {probe.url}")
    try:
        symbol_in, symbol_out = pair.split("/")
        token_in = probe.profile.registry.resolve(symbol_in)
        token_out = probe.profile.registry.resolve(symbol_out)
        amount_in = token_in.to_base_units(parse_amount(amount))
    except (ValueError, DomainError) as error:
        raise NotReady(f"bad pair or amount: {error}") from None
    height = await _step("chain", probe.chain.block_height())
    out.print(f"  ✓ block height {height}")
    wallet = await _wallet(probe)
    from oee.bootstrap import chain_venues

    failures = []
    for venue in chain_venues(probe.settings, probe.chain):
        try:
            await _venue(probe, venue, wallet, token_in, token_out, amount_in)
        except NotReady as missing:
            out.print(f"  ✗ {missing}")
            failures.append(str(missing))
    if failures:
        raise NotReady("; ".join(failures))


async def _venue(
    probe: Probe, venue: OnchainVenue[Any], signer: SwapTransactionBuilder, token_in: Token,
    token_out: Token, amount_in: int,
) -> None:  # fmt: skip
    from oee.domain.ports import ComputeBudget, SwapPlan, SwapRequest
    from oee.domain.routing import min_amount_out
    from oee.services.fees import ComputeBudgeter, FeePolicy

    name = venue.name
    out.print(f"{name:<9} program {venue.program_id}")
    pools = await _step(f"{name}: getProgramAccounts", venue.pools(token_in, token_out))
    if not pools:
        raise NotReady(f"{name}: no {token_in.symbol}/{token_out.symbol} pool on chain")
    out.print(f"  ✓ {len(pools)} pool(s): {', '.join(address for address, _ in pools)}")
    started = time.perf_counter()
    quote = await _step(f"{name}: quote", venue.quote(token_in, token_out, amount_in))
    took = (time.perf_counter() - started) * 1000
    got = token_out.from_base_units(quote.amount_out)
    out.print(
        f"  ✓ quote {token_in.from_base_units(amount_in)} {token_in.symbol} → {got} "
        f"{token_out.symbol} on {quote.pool} (fee {quote.fee_bps} bps, impact "
        f"{quote.price_impact_bps} bps, {took:.0f} ms)"
    )
    floor = min_amount_out(quote.amount_out, 100)
    request = SwapRequest(
        quote, token_in, token_out, signer.owner, signer.token_account(token_in.mint),
        signer.token_account(token_out.mint), amount_in, floor,
    )  # fmt: skip
    swap = await _step(f"{name}: build", venue.swap_instruction(request))
    out.print(f"  ✓ swap instruction: {len(swap.accounts)} accounts, {len(swap.data)} data bytes")
    plan = SwapPlan(name, swap, token_in, token_out, amount_in, floor, "oee check")
    blockhash = await _step("getLatestBlockhash", probe.chain.latest_blockhash())
    draft = signer.draft(plan, ComputeBudget(1_400_000, 0), blockhash)
    units = await _step(f"{name}: simulateTransaction", probe.chain.simulate_units(draft))
    settings = probe.settings
    policy = FeePolicy(
        simulate=True, margin=settings.compute_margin, percentile=settings.cu_price_percentile,
        min_price=settings.min_cu_price_microlamports,
        max_price=settings.max_cu_price_microlamports,
    )  # fmt: skip
    price = await ComputeBudgeter(probe.chain, signer, policy).unit_price(quote.pool)
    limit = int(units * (1 + policy.margin)) + 1
    fee = 5_000 + -(-price * limit // 1_000_000)
    out.print(
        f"  ✓ simulated: {units} compute units (limit {limit} with a {policy.margin:.0%} margin); "
        f"price {price} µlamports/CU (p{policy.percentile}); fee ≈ {fee} lamports"
    )


async def _wallet(probe: Probe) -> SwapTransactionBuilder:
    """The engine's wallet when its file exists, else a throwaway one funded by the faucet."""
    from solders.keypair import Keypair

    from oee.adapters.chain.transactions import SwapTransactionBuilder, read_keypair

    path = probe.settings.wallet_file
    if path.exists():
        keypair, origin = read_keypair(path), f"the engine wallet ({path})"
    else:
        keypair, origin = Keypair(), "a throwaway wallet (no engine wallet file yet)"
    signer = SwapTransactionBuilder(keypair)
    out.print(f"wallet    {signer.owner} — {origin}")
    balances = await _step("getBalance", probe.chain.balances(signer.owner))
    if balances.lamports == 0 and probe.profile.name == "sim":
        airdrop = probe.chain.request_airdrop(signer.owner, PROBE_AIRDROP_LAMPORTS)
        await _step("requestAirdrop", airdrop)
        deadline = time.monotonic() + 15
        while (await _step("getBalance", probe.chain.balances(signer.owner))).lamports == 0:
            if time.monotonic() > deadline:
                raise NotReady("the faucet's airdrop did not land within 15 s")
            await asyncio.sleep(0.2)
        out.print(f"  ✓ airdrop of {PROBE_AIRDROP_LAMPORTS // 10**9} SOL landed")
    elif balances.lamports == 0:
        out.print("  ! the wallet holds no SOL: simulations will fail until it is funded")
    else:
        out.print(f"  ✓ {Decimal(balances.lamports).scaleb(-9)} SOL")
    return signer


async def _step(what: str, pending: Awaitable[T]) -> T:
    """Await one read; an execution error becomes `NotReady` naming the step."""
    from oee.domain.errors import ExecutionError

    try:
        return await pending
    except ExecutionError as error:
        raise NotReady(f"{what}: {error.code}: {error.message}") from None
