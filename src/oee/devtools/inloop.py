"""Serve the API inside the caller's event loop on a free port (for tests)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette

from oee.api.server import server_config


@asynccontextmanager
async def serving(
    app: Starlette,
    *,
    config: Callable[[Any], uvicorn.Config] | None = None,
    stop_timeout_s: float = 15.0,
    port: int = 0,
) -> AsyncIterator[int]:
    """Run `app` with uvicorn on a 127.0.0.1 port until the block ends; yields the port.

    Args:
        app: The engine's API (served with its `server_config`) or another ASGI app.
        config: How to serve `app` (e.g. `oee.sim.app.server_config` for the simulator).
        stop_timeout_s: Longest wait for a graceful stop.
        port: The port to listen on; 0 picks a free one. Pass the port of a server that was
            stopped to start it again where its clients reconnect.

    Raises:
        Exception: whatever made start-up fail (e.g. the lifespan raising).
    """
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says TCP, and without it every keep-alive request waits ~40 ms (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # A port just given up still has connections in TIME_WAIT; a server listens there anyway.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server((config or server_config)(app))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # start-up failed: raise its error
            await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, stop_timeout_s)
        sock.close()
