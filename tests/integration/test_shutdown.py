"""A stopping API tells its WebSocket clients to reconnect elsewhere, in both deployments."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from oee.api.app import create_app
from oee.bootstrap import Engine
from oee.devtools.inloop import serving
from tests.support.api import Driver

SERVICE_RESTART = 1012  # RFC 6455 registry: "reconnect", as load balancers and clients read it


async def test_shutdown_closes_streams_with_service_restart(api_engine: Engine) -> None:
    driver = Driver(api_engine)
    running = serving(create_app(api_engine))
    port = await running.__aenter__()
    stopped = False
    try:
        order_id = await driver.submit()
        async with connect(f"ws://127.0.0.1:{port}/ws/orders/{order_id}") as ws:
            assert json.loads(await ws.recv())["type"] == "snapshot"
            stopping = asyncio.create_task(running.__aexit__(None, None, None))
            stopped = True
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(10):
                    await ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == SERVICE_RESTART
            await stopping
    finally:
        if not stopped:
            await running.__aexit__(None, None, None)
