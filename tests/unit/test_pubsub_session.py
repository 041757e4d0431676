"""The PubSub client over the in-process WebSocket: against the simulator's own PubSub route,
and against peers that misbehave in ways a node might (a scripted connection, small apps)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from oee.adapters.chain.asgi_websocket import AsgiWebSocket, asgi_connector
from oee.adapters.chain.pubsub import PubSubError, PubSubSession
from oee.adapters.chain.websocket import ConnectionLost
from oee.settings import SimSettings
from oee.sim.launches import LaunchRequest
from oee.sim.world import METEORA, RAYDIUM
from tests.support.sim import SimNode, sim_node

WAIT_S = 10.0  # a safety net, never a measured time


@pytest.fixture
async def node() -> AsyncIterator[SimNode]:
    async with sim_node(SimSettings(latency_scale=0.0)) as node:
        yield node


def collector() -> tuple[list[Any], asyncio.Event, Any]:
    """A sink that keeps what it is given and says when it got something."""
    got: list[Any] = []
    arrived = asyncio.Event()

    def sink(result: Any) -> None:
        got.append(result)
        arrived.set()

    return got, arrived, sink


async def test_notifications_reach_the_sink_of_their_subscription_only(node: SimNode) -> None:
    ray, ray_arrived, ray_sink = collector()
    met, _, met_sink = collector()
    async with (
        asgi_connector(node.app)() as connection,
        PubSubSession(connection) as session,
    ):
        ray_id = await session.subscribe(
            "logsSubscribe", [{"mentions": [RAYDIUM.program_id]}], ray_sink
        )
        met_id = await session.subscribe(
            "logsSubscribe", [{"mentions": [METEORA.program_id]}], met_sink
        )
        assert ray_id != met_id
        launch = node.world.launch(LaunchRequest(symbol="MOON", decimals=6, venues=("raydium",)))
        await asyncio.wait_for(ray_arrived.wait(), WAIT_S)
        [result] = ray
        assert result["value"]["signature"] == launch.pools[0].signature
        assert result["value"]["err"] is None
        assert met == []  # the same connection's other subscription heard nothing

        assert await session.unsubscribe("logsUnsubscribe", ray_id) is True
        # Ask something after the launch below: its answer comes after any notification would.
        node.world.launch(LaunchRequest(symbol="NEXT", decimals=6, venues=("raydium",)))
        with pytest.raises(PubSubError) as caught:
            await session.request("logsUnsubscribe", [ray_id])
        assert (caught.value.code, caught.value.message) == (-32602, "Invalid subscription id.")
        assert len(ray) == 1


async def test_the_nodes_error_objects_are_raised_with_their_code(node: SimNode) -> None:
    _, _, sink = collector()
    async with asgi_connector(node.app)() as connection, PubSubSession(connection) as session:
        two = [{"mentions": [RAYDIUM.program_id, METEORA.program_id]}]
        with pytest.raises(PubSubError) as caught:
            await session.subscribe("logsSubscribe", two, sink)
        assert caught.value.code == -32602
        assert "Only 1 address supported" in caught.value.message
        with pytest.raises(PubSubError) as unknown:
            await session.request("accountSubscribe", ["x"])
        assert unknown.value.code == -32601


class Scripted:
    """A peer that answers a subscribe with its reply and a notification in the same breath."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()

    async def send(self, text: str) -> None:
        request = json.loads(text)
        reply = {"jsonrpc": "2.0", "result": 7, "id": request["id"]}
        note = {
            "jsonrpc": "2.0",
            "method": "logsNotification",
            "params": {"result": {"value": "first"}, "subscription": 7},
        }
        for frame in (reply, "not json", note, {"params": {"subscription": 99}}):
            self.inbox.put_nowait(json.dumps(frame) if isinstance(frame, dict) else frame)

    async def recv(self) -> str:
        frame = await self.inbox.get()
        if frame is None:
            raise ConnectionLost("the peer went away")
        return frame

    async def close(self) -> None:
        self.inbox.put_nowait(None)


async def test_a_notification_right_behind_the_subscribe_reply_is_not_lost() -> None:
    got, arrived, sink = collector()
    peer = Scripted()
    async with PubSubSession(peer) as session:
        assert await session.subscribe("logsSubscribe", ["all"], sink) == 7
        await asyncio.wait_for(arrived.wait(), WAIT_S)
        assert got == [
            {"value": "first"}
        ]  # an unreadable frame and a stranger's notification passed over
        await peer.close()
        with pytest.raises(ConnectionLost, match="went away"):
            await asyncio.wait_for(session.closed(), WAIT_S)


async def test_a_request_in_flight_fails_when_the_connection_ends() -> None:
    peer = Scripted()
    peer.send = _swallow  # type: ignore[method-assign]  # a peer that never answers
    async with PubSubSession(peer) as session:
        asked = asyncio.create_task(session.request("slotSubscribe", []))
        await asyncio.sleep(0)  # the request is sent and waiting
        await peer.close()
        with pytest.raises(ConnectionLost):
            await asyncio.wait_for(asked, WAIT_S)


async def _swallow(text: str) -> None:
    return None


async def closes_at_once(websocket: WebSocket) -> None:
    await websocket.close(code=1008)


async def accepts_then_ends(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("bye")
    await websocket.close(code=1001)


async def test_the_in_process_socket_ends_like_a_socket() -> None:
    app = Starlette(
        routes=[WebSocketRoute("/refuse", closes_at_once), WebSocketRoute("/", accepts_then_ends)]
    )
    refused = AsgiWebSocket(app, "/refuse")
    with pytest.raises(ConnectionLost, match="refused"):
        await refused.open()
    await refused.close()

    async with asgi_connector(app)() as connection:
        assert await connection.recv() == "bye"
        for _ in range(2):  # and every later read ends the same way
            with pytest.raises(ConnectionLost, match="1001"):
                await connection.recv()
        with pytest.raises(ConnectionLost):
            await connection.send("hello?")
