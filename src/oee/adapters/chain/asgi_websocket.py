"""A WebSocket to an ASGI app in this process: the embedded engine's way to its simulator's PubSub.

The embedded default runs the simulator's app inside the engine and reaches its HTTP routes
through `httpx.ASGITransport`; this is the same for its WebSocket route. The app runs as a task
with an ASGI `websocket` scope, reading from one queue (`websocket.connect`, then each frame the
client sends, then `websocket.disconnect`) while what it sends lands in another (`accept`, the
frames, `close`). The client sees the same frames and parsing as over a socket, minus the
socket, so the PubSub client and the launch feed above it cannot tell the two apart.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from oee.adapters.chain.websocket import ConnectionLost, Connector, WsConnection

# The ASGI callable, spelled as Starlette spells it (without importing Starlette).
Message = MutableMapping[str, Any]
AsgiApp = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[Message]],
        Callable[[Message], Awaitable[None]],
    ],
    Awaitable[None],
]
CLOSE_WAIT_S = 5.0  # how long a closing client waits for the app to finish its side


class AsgiWebSocket:
    """One WebSocket session with an ASGI app, driven in-process (a `WsConnection`)."""

    def __init__(self, app: AsgiApp, path: str = "/", host: str = "sim") -> None:
        """Prepare a session with `app`'s WebSocket route at `path`; `open` starts it.

        Args:
            app: The ASGI application (the simulator's Starlette app).
            path: The route's path.
            host: The `Host` header the app sees.
        """
        self._app = app
        self._scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": (host, 80),
            "client": ("127.0.0.1", 0),
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(b"host", host.encode())],
            "subprotocols": [],
            "state": {},
            "extensions": {},
        }
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._to_client: asyncio.Queue[str | None] = asyncio.Queue()  # None: closed
        self._accepted: asyncio.Future[bool] | None = None
        self._closed: str | None = None  # why, once closed from either side
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Run the app's side and wait for its handshake answer.

        Raises:
            ConnectionLost: The app refused the connection (closed it, answered HTTP, or
                ended) instead of accepting it.
        """
        self._accepted = asyncio.get_running_loop().create_future()
        self._to_app.put_nowait({"type": "websocket.connect"})
        self._task = asyncio.create_task(self._serve())
        self._task.add_done_callback(self._app_ended)
        if not await self._accepted:
            raise ConnectionLost(f"the app refused the WebSocket: {self._closed}")

    async def _serve(self) -> None:
        """The app's side of the session."""
        await self._app(self._scope, self._to_app.get, self._receive)

    async def send(self, text: str) -> None:
        if self._closed is not None:
            raise ConnectionLost(f"closed: {self._closed}")
        self._to_app.put_nowait({"type": "websocket.receive", "text": text})

    async def recv(self) -> str:
        text = await self._to_client.get()
        if text is None:
            self._to_client.put_nowait(None)  # every later recv ends the same way
            raise ConnectionLost(f"closed: {self._closed}")
        return text

    async def close(self) -> None:
        if self._closed is None:
            self._end("closed by the client")
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
        task = self._task
        if task is None or task.done():
            return
        # The app's own failure was recorded when its task ended; closing never raises it.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(task), CLOSE_WAIT_S)
        if not task.done():  # the app ignored the disconnect
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _receive(self, message: Message) -> None:
        """What the app sends (the ASGI `send` callable)."""
        kind = message.get("type")
        if kind == "websocket.accept":
            self._answer(True)
        elif kind == "websocket.send" and self._closed is None:
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            self._to_client.put_nowait(text)
        elif kind == "websocket.close":
            self._end(f"closed by the app: {message.get('code', 1000)} {message.get('reason', '')}")
            # As a server would, answer the app's next receive with the disconnect it caused.
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": message.get("code")})
        elif kind == "websocket.http.response.start":
            self._end(f"the app answered HTTP {message.get('status')}")

    def _answer(self, accepted: bool) -> None:
        if self._accepted is not None and not self._accepted.done():
            self._accepted.set_result(accepted)

    def _end(self, why: str) -> None:
        if self._closed is None:
            self._closed = why
            self._to_client.put_nowait(None)
        self._answer(False)  # no effect once the handshake was answered

    def _app_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            self._end("the app's task was cancelled")
        elif (error := task.exception()) is not None:
            self._end(f"the app failed: {error!r}")
        else:
            self._end("the app ended the session")


def asgi_connector(app: AsgiApp, path: str = "/") -> Connector:
    """Connections to `app`'s WebSocket route at `path`, in this process (embedded mode)."""

    @asynccontextmanager
    async def open_connection() -> AsyncIterator[WsConnection]:
        connection = AsgiWebSocket(app, path)
        try:
            await connection.open()
            yield connection
        finally:
            await connection.close()

    return open_connection
