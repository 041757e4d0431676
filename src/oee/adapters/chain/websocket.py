"""A WebSocket as the PubSub client sees it: text frames in and out, and one way of ending.

Two implementations fit `WsConnection`: a real socket (`websocket_connector`, the `websockets`
library's asyncio client, with its protocol-level keepalive pings) and the in-process one
(`oee.adapters.chain.asgi_websocket`) that drives an ASGI app's WebSocket route directly, as
the embedded engine reaches its simulator. Both end the same way, with `ConnectionLost`, so the
client above them handles a dropped socket, a refused handshake and a closed app alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

# A PubSub node has nothing to say to a client that stays quiet, and proxies in front of hosted
# nodes drop idle connections after a minute or so: a ping every 20 s keeps the socket alive and
# notices a dead peer within about 40 s, while the node is silent between launches.
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 20.0
OPEN_TIMEOUT_S = 10.0
MAX_MESSAGE_BYTES = 8 * 1024 * 1024  # a notification with long logs, far above any real one


class ConnectionLost(Exception):
    """The WebSocket is closed, or could not be opened (the message says which and why)."""


class WsConnection(Protocol):
    """An open WebSocket carrying text frames."""

    async def send(self, text: str) -> None:
        """Send one text frame.

        Raises:
            ConnectionLost: The connection is closed.
        """

    async def recv(self) -> str:
        """The next text frame (a binary one is read as UTF-8).

        Raises:
            ConnectionLost: The connection closed, from either side.
        """

    async def close(self) -> None:
        """Close the connection; safe to call when it is already closed."""


# Opens one connection for the length of an `async with` (raising `ConnectionLost` when it
# cannot): what the PubSub client is given, so it can open a new one after each disconnect.
Connector = Callable[[], AbstractAsyncContextManager[WsConnection]]


class _Socket:
    """`WsConnection` over a `websockets` client connection."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    async def send(self, text: str) -> None:
        try:
            await self._connection.send(text)
        except ConnectionClosed as closed:
            raise ConnectionLost(f"closed while sending: {closed}") from None

    async def recv(self) -> str:
        try:
            frame = await self._connection.recv()
        except ConnectionClosed as closed:
            raise ConnectionLost(str(closed)) from None
        return frame if isinstance(frame, str) else frame.decode("utf-8", "replace")

    async def close(self) -> None:
        await self._connection.close()


def websocket_connector(
    url: str,
    *,
    open_timeout_s: float = OPEN_TIMEOUT_S,
    ping_interval_s: float | None = PING_INTERVAL_S,
    ping_timeout_s: float | None = PING_TIMEOUT_S,
) -> Connector:
    """Connections to the PubSub endpoint at `url` (`ws://` or `wss://`) over a real socket.

    Args:
        url: The node's WebSocket URL.
        open_timeout_s: Longest wait for the TCP, TLS and WebSocket handshakes.
        ping_interval_s: Keepalive ping period; None sends none.
        ping_timeout_s: A ping unanswered this long closes the connection; None waits forever.

    Raises:
        ValueError: `url` is not a `ws://` or `wss://` URL (a setting to fix, not to retry).
    """
    if not url.startswith(("ws://", "wss://")):
        raise ValueError(f"a PubSub URL starts with ws:// or wss://, not {url!r}")

    @asynccontextmanager
    async def open_connection() -> AsyncIterator[WsConnection]:
        try:
            connection = await connect(
                url,
                open_timeout=open_timeout_s,
                ping_interval=ping_interval_s,
                ping_timeout=ping_timeout_s,
                max_size=MAX_MESSAGE_BYTES,
                # Notifications are small JSON: compression costs CPU on both ends for little.
                compression=None,
            )
        except (OSError, TimeoutError, WebSocketException) as error:
            raise ConnectionLost(f"cannot connect to {url}: {error!r}") from None
        try:
            yield _Socket(connection)
        finally:
            await connection.close()

    return open_connection
