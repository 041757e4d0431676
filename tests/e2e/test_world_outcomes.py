"""What the simulated world's harder moments do to orders: funds, slippage moves, stale hashes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from oee.settings import Settings, SimSettings
from tests.support.engine import serve_engine
from tests.support.streams import follow, submit


def world(**faults: Any) -> SimSettings:
    # 0.01: blocks of 4 ms, so a stale blockhash expires within a few milliseconds.
    return SimSettings(latency_scale=0.01, **faults)


async def test_a_swap_the_wallet_cannot_pay_fails_before_signing_and_spends_nothing(
    settings_factory: Callable[..., Settings],
) -> None:
    # No price-impact check: these swaps' impact is huge, and the balance check is the subject.
    async for server in serve_engine(settings_factory(sim=world(), max_price_impact_bps=None)):
        before = (await server.client.get("/api/wallet")).json()
        sol = int(before["lamports"]) // 10**9
        bodies = [
            # The faucet granted $10M of USDC; this sells twice that.
            {"tokenIn": "USDC", "tokenOut": "SOL", "amountIn": 20_000_000, "slippageBps": 5000},
            # Every SOL the wallet has: nothing left for the fee and the token accounts' rent.
            {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": sol, "slippageBps": 5000},
        ]
        for body in bodies:
            order_id = await submit(server, body)
            frames = await follow(server, order_id, "?since=0")
            assert (frames[-1]["type"], frames[-1]["error"]) == ("failed", "INSUFFICIENT_BALANCE")
            assert [f["type"] for f in frames] == ["pending", "routing", "building", "failed"]
            assert body["tokenIn"] in frames[-1]["reason"]
            view = (await server.client.get(f"/api/orders/{order_id}")).json()
            (attempt,) = view["attempts"]
            assert (attempt["outcome"], attempt["txHash"], attempt["feeLamports"]) == (
                "failed",
                None,
                None,
            )
        after = (await server.client.get("/api/wallet")).json()
        assert after["lamports"] == before["lamports"]  # no fee: nothing was ever sent
        assert after["tokens"] == before["tokens"]


async def test_a_trade_ahead_fails_a_tight_order_and_a_tolerant_one_fills(
    settings_factory: Callable[..., Settings],
) -> None:
    moved = world(slippage_move_rate=1.0, slippage_move_bps=300)
    async for server in serve_engine(settings_factory(sim=moved)):
        tight, tolerant = await asyncio.gather(
            submit(
                server, {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 2, "slippageBps": 50}
            ),
            submit(
                server, {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 2, "slippageBps": 800}
            ),
        )
        failed = (await follow(server, tight, "?since=0"))[-1]
        assert (failed["type"], failed["error"]) == ("failed", "SLIPPAGE_EXCEEDED")
        filled = (await follow(server, tolerant, "?since=0"))[-1]
        assert filled["type"] == "confirmed"
        details = (await server.client.get(f"/api/orders/{tolerant}")).json()
        chosen = next(q for q in details["quotes"] if q["venue"] == filled["chosenDex"])
        # Paid from the landed balances, below the quote the pool moved away from.
        assert int(details["result"]["amountOut"]) < int(chosen["amountOut"])


async def test_stale_blockhashes_are_signed_again_until_one_lands(
    settings_factory: Callable[..., Settings],
) -> None:
    stale = world(expired_blockhash_rate=0.5, slow_confirm_rate=0.3, slow_confirm_ms=2000)
    async for server in serve_engine(settings_factory(sim=stale, max_attempts=8)):
        ids = await asyncio.gather(*(submit(server) for _ in range(6)))
        logs = await asyncio.gather(*(follow(server, i, "?since=0") for i in ids))
        assert [frames[-1]["type"] for frames in logs] == ["confirmed"] * 6
        details = (await server.client.get(f"/api/orders/{ids[0]}")).json()
        assert details["attempts"][-1]["feeLamports"] == details["result"]["feeLamports"] > 0
        for attempt in details["attempts"][:-1]:
            assert attempt["feeLamports"] is None  # expired unlanded: no fee
        retried = [f for frames in logs for f in frames if f["type"] == "pending" and f["seq"] > 1]
        assert retried, "half the blockhashes stale: some attempt must have expired"
        assert {f["error"] for f in retried} == {"BLOCKHASH_EXPIRED"}
