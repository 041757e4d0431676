"""Limit orders placed and followed through a running engine's HTTP API (process tests)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx


async def statuses(client: httpx.AsyncClient, ids: list[str]) -> list[str]:
    """Each order's status now, in the order of `ids`."""
    views = await asyncio.gather(*(client.get(f"/api/orders/{i}") for i in ids))
    return [view.json()["status"] for view in views]


async def until_all(client: httpx.AsyncClient, ids: list[str], status: str) -> None:
    """Wait (at most 60 s) until every order is in `status`."""
    async with asyncio.timeout(60):
        while set(await statuses(client, ids)) != {status}:
            await asyncio.sleep(0.2)


async def sol_limit_above_market(client: httpx.AsyncClient) -> dict[str, Any]:
    """A 1 SOL -> USDC limit order's body, its limit 2 % above the best quote now (it waits)."""
    quote = await client.get(
        "/api/quotes", params={"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": "1"}
    )
    price = max(Decimal(str(q["price"])) for q in quote.json()["quotes"])
    limit = str((price * Decimal("1.02")).quantize(Decimal("0.01")))
    return {
        "tokenIn": "SOL",
        "tokenOut": "USDC",
        "amountIn": "1",
        "type": "limit",
        "limitPrice": limit,
    }


async def place_watching(client: httpx.AsyncClient, body: dict[str, Any], count: int) -> list[str]:
    """Place `count` orders of `body` and wait until all are watching; their ids."""
    placed = await asyncio.gather(
        *(client.post("/api/orders/execute", json=body) for _ in range(count))
    )
    assert all(p.status_code == 200 for p in placed), placed[0].text
    ids = [p.json()["orderId"] for p in placed]
    await until_all(client, ids, "watching")
    return ids
