"""Orders placed over HTTP and followed over a real WebSocket, on an `EngineServer`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from oee.domain.status import TERMINAL
from tests.support.engine import EngineServer

ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1.5, "slippageBps": 50}


async def submit(server: EngineServer, body: dict[str, Any] | None = None) -> str:
    """Place an order (`ORDER` unless `body`); its id."""
    response = await server.client.post("/api/orders/execute", json=body or ORDER)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["wsUrl"] == f"/ws/orders/{payload['orderId']}"
    return str(payload["orderId"])


async def follow(server: EngineServer, order_id: str, query: str = "") -> list[dict[str, Any]]:
    """Every frame until the server closes the stream (it must, after a terminal event)."""
    frames: list[dict[str, Any]] = []
    url = f"{server.ws_url}/ws/orders/{order_id}{query}"
    async with asyncio.timeout(30), websockets.connect(url) as ws:
        async for message in ws:
            frames.append(json.loads(message))
        assert ws.close_code == 1000
    return frames


def final_status(frames: list[dict[str, Any]]) -> str:
    """The terminal status a stream ended on (a snapshot of a finished order counts)."""
    last = frames[-1]
    return str(last["order"]["status"] if last["type"] == "snapshot" else last["type"])


def assert_stream_well_formed(frames: list[dict[str, Any]]) -> None:
    """Seqs strictly increase and the stream ends on a terminal status."""
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(set(seqs)), f"seq not strictly increasing: {seqs}"
    assert final_status(frames) in TERMINAL
