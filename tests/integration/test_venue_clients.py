"""The venue quote clients against the simulator's quote services, and the whole executor over HTTP.

Real components: the simulator's ASGI app (in-process through `httpx.ASGITransport`, or served
by uvicorn on a socket where timeouts and connections matter), the SQLite store and the
executor with `RpcChain`, `RaydiumVenue` and `MeteoraVenue` (their swaps built by the on-chain
readers from the quoted pools' accounts).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.pubkey import Pubkey

from oee.adapters.bus.memory import MemoryBus
from oee.adapters.chain.rpc import RpcChain
from oee.adapters.chain.transactions import SwapTransactionBuilder, load_or_create_keypair
from oee.adapters.clock import SystemClock
from oee.adapters.store.migrate import migrate
from oee.adapters.store.sqlalchemy import SqlAlchemyStore
from oee.adapters.venues.meteora import MeteoraVenue
from oee.adapters.venues.onchain.meteora import MeteoraOnchain
from oee.adapters.venues.onchain.raydium import RaydiumOnchain
from oee.adapters.venues.raydium import RaydiumVenue
from oee.devtools.inloop import serving
from oee.domain.errors import ExecutionError
from oee.domain.orders import Order, SubmitOrder
from oee.domain.ports import Venue
from oee.domain.status import OrderStatus
from oee.domain.tokens import LAMPORTS_PER_SOL, Token, resolve_token
from oee.services.executor import Executor, RetryPolicy
from oee.settings import SimSettings
from oee.sim import SimWorld, build_sim
from oee.sim.app import create_sim_app, server_config
from oee.sim.faucet import fund

SOL, USDC, BONK, JUP = (resolve_token(s) for s in ("SOL", "USDC", "BONK", "JUP"))
BASE = "http://sim"


class FrozenClock:
    """The world stands still, so the HTTP quote and the in-process quote see the same pools."""

    def __call__(self) -> float:
        return 1_000.0


def venues_over(http: httpx.AsyncClient, base: str, timeout_s: float = 2.0) -> list[Venue]:
    """The quote-service venues, building their swaps from the same node's accounts."""
    chain = RpcChain(http, f"{base}/")
    return [
        RaydiumVenue(http, f"{base}/raydium", builder=RaydiumOnchain(chain), timeout_s=timeout_s),
        MeteoraVenue(http, f"{base}/meteora", builder=MeteoraOnchain(chain), timeout_s=timeout_s),
    ]


@pytest.fixture
async def frozen() -> AsyncIterator[tuple[SimWorld, httpx.AsyncClient]]:
    sim = SimSettings(latency_scale=0)
    world, ledger = build_sim(sim, now=FrozenClock())
    transport = httpx.ASGITransport(app=create_sim_app(world, ledger, sim))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield world, http


@pytest.mark.parametrize(
    ("token_in", "token_out", "amount"),
    [(SOL, USDC, 1_500_000_000), (USDC, SOL, 250_000_000), (BONK, JUP, 10**12), (JUP, SOL, 7)],
)
async def test_quotes_equal_the_worlds_own(
    frozen: tuple[SimWorld, httpx.AsyncClient], token_in: Token, token_out: Token, amount: int
) -> None:
    world, http = frozen
    for venue in venues_over(http, BASE):
        quote = await venue.quote(token_in, token_out, amount)
        assert quote == world.quote(venue.name, token_in, token_out, amount)
    assert [v.program_id for v in venues_over(http, BASE)] == [s.program_id for s in world.venues]


async def test_the_wire_shapes_follow_each_venues_api(
    frozen: tuple[SimWorld, httpx.AsyncClient],
) -> None:
    world, http = frozen
    params = {"inputMint": SOL.mint, "outputMint": USDC.mint, "amount": "1000000000"}
    raydium = (await http.get("/raydium/compute/swap-base-in", params=params)).json()
    assert (raydium["success"], raydium["version"], raydium["data"]["swapType"]) == (
        True,
        "V1",
        "BaseIn",
    )
    data = raydium["data"]
    assert set(data) >= {"inputAmount", "outputAmount", "otherAmountThreshold", "priceImpactPct"}
    (route,) = data["routePlan"]
    assert set(route) >= {"poolId", "inputMint", "outputMint", "feeMint", "feeRate", "feeAmount"}
    assert int(data["otherAmountThreshold"]) == int(data["outputAmount"]) * 9_950 // 10_000

    meteora = (await http.get("/meteora/quote", params={**params, "slippageBps": "100"})).json()
    assert set(meteora) >= {
        "consumedInAmount", "outAmount", "fee", "protocolFee", "minOutAmount", "priceImpact",
        "binArraysPubkey", "poolAddress",
    }  # fmt: skip
    assert int(meteora["minOutAmount"]) == int(meteora["outAmount"]) * 9_900 // 10_000
    Pubkey.from_string(meteora["binArraysPubkey"][0])
    assert meteora["poolAddress"] == world.quote("meteora", SOL, USDC, 10**9).pool


async def test_an_unknown_pair_is_no_pool_and_a_bad_request_is_refused(
    frozen: tuple[SimWorld, httpx.AsyncClient],
) -> None:
    _, http = frozen
    stranger = Token("NEW", str(Pubkey.new_unique()), 6)
    for venue in venues_over(http, BASE):
        with pytest.raises(ExecutionError) as caught:
            await venue.quote(SOL, stranger, 1_000)
        assert (caught.value.code, caught.value.retryable) == ("NO_POOL", False)
    refused = await http.get(
        "/raydium/compute/swap-base-in",
        params={"inputMint": SOL.mint, "outputMint": USDC.mint, "amount": "-5"},
    )
    assert (refused.json()["success"], refused.json()["msg"]) == (False, "REQ_AMOUNT_ERROR")
    bad = await http.get("/meteora/quote", params={"inputMint": "x", "outputMint": USDC.mint})
    assert (bad.status_code, bad.json()["error"]) == (400, "BAD_REQUEST")


async def test_an_amount_larger_than_the_bins_is_insufficient_liquidity(
    frozen: tuple[SimWorld, httpx.AsyncClient],
) -> None:
    _, http = frozen
    (_, meteora) = venues_over(http, BASE)
    with pytest.raises(ExecutionError) as caught:
        await meteora.quote(SOL, USDC, 10**15)
    assert (caught.value.code, caught.value.retryable) == ("INSUFFICIENT_LIQUIDITY", False)
    answer = await http.get(
        "/meteora/quote",
        params={"inputMint": SOL.mint, "outputMint": USDC.mint, "amount": str(10**15)},
    )
    assert (answer.status_code, answer.json()["error"]) == (422, "INSUFFICIENT_LIQUIDITY")


async def test_rate_limits_and_stalls_are_retryable() -> None:
    sim = SimSettings(latency_scale=0, fault_rate=1.0)
    world, ledger = build_sim(sim)
    async with (
        serving(create_sim_app(world, ledger, sim), config=server_config) as port,
        httpx.AsyncClient() as http,
    ):
        url = f"http://127.0.0.1:{port}"
        seen: dict[str, set[str]] = {}
        for venue in venues_over(http, url, timeout_s=0.2):
            for _ in range(12):
                with pytest.raises(ExecutionError) as caught:
                    await venue.quote(SOL, USDC, 10**9)
                assert caught.value.retryable
                seen.setdefault(venue.name, set()).add(caught.value.code)
        assert seen == {
            "raydium": {"VENUE_RATE_LIMITED", "VENUE_TIMEOUT"},
            "meteora": {"VENUE_RATE_LIMITED", "VENUE_TIMEOUT"},
        }
        for _ in range(20):
            try:
                limited = await http.get(f"{url}/meteora/quote", timeout=0.2)
            except httpx.TimeoutException:
                continue  # a stall
            assert (limited.status_code, limited.headers["retry-after"]) == (429, "1")
            break
        else:
            pytest.fail("no 429 in 20 faulty answers")


async def test_an_unreachable_service_is_retryable() -> None:
    async with httpx.AsyncClient() as http:
        for venue in venues_over(http, "http://127.0.0.1:1"):
            with pytest.raises(ExecutionError) as caught:
                await venue.quote(SOL, USDC, 10**9)
            assert (caught.value.code, caught.value.retryable) == ("VENUE_UNAVAILABLE", True)


# -- the executor end to end over the protocols ----------------------------------------------


@pytest.mark.parametrize("transport", ["socket", "asgi"])
async def test_the_executor_confirms_over_json_rpc_and_quote_apis(
    tmp_path: Path, transport: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oee.sqlite3'}"
    await migrate(url)
    store = SqlAlchemyStore.from_url(url)
    # 0.01: blocks of 4 ms, landings after 20-30 ms, quotes after about 2 ms.
    sim = SimSettings(latency_scale=0.01)
    world, ledger = build_sim(sim)
    keypair = load_or_create_keypair(tmp_path / "wallet.json")
    fund(world, ledger, str(keypair.pubkey()), 1_000 * LAMPORTS_PER_SOL)
    try:
        async with _client(create_sim_app(world, ledger, sim), transport) as (http, base):
            executor = Executor(
                store,
                MemoryBus(),
                venues_over(http, base),
                RpcChain(http, f"{base}/"),
                SwapTransactionBuilder(keypair),
                SystemClock(),
                retry=RetryPolicy(max_attempts=3, base_delay_s=0.01),
                quote_timeout_s=2,
                confirm_poll_s=0.01,
            )
            orders = [await _new_order(store) for _ in range(3)]
            await asyncio.gather(*(executor.run(order.id) for order in orders))
        for order in orders:
            final = await store.get(order.id)
            assert final is not None
            assert final.status is OrderStatus.CONFIRMED
            assert final.fill is not None
            # Exactly one swap landed for the order (a stalled loop may cost it an attempt),
            # and the fill is what landed, read back from the transaction's balances.
            (swap,) = [s for s in ledger.landed_swaps() if (s.memo or "").startswith(order.id)]
            assert (final.fill.tx_hash, final.fill.amount_out) == (swap.signature, swap.amount_out)
            assert final.fill.fee_lamports == swap.fee_lamports
    finally:
        await store.close()


@asynccontextmanager
async def _client(app: Any, transport: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An HTTP client onto the app: over a real socket, or in-process as the embedded engine."""
    if transport == "asgi":
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            yield http, BASE
        return
    async with serving(app, config=server_config) as port, httpx.AsyncClient() as http:
        base = f"http://127.0.0.1:{port}"
        yield http, base


async def _new_order(store: SqlAlchemyStore) -> Order:
    order, event = Order.accept(
        SubmitOrder.parse("SOL", "USDC", "0.5", 100), str(uuid.uuid4()), SystemClock().now()
    )
    await store.create(order, event)
    return order
