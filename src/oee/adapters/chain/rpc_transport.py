"""How a JSON-RPC body reaches the node: over HTTP, or straight into an in-process simulator.

Every transport takes the encoded request body and returns the HTTP status and the answer's
body, raising `TimeoutError` or `ConnectionError` when no answer came: `JsonRpc` maps the rest
(`oee.adapters.chain.jsonrpc`). Three of them:

- `Http1Transport`: the lean keep-alive client (`oee.adapters.http1`), the production path;
- `InProcessTransport`: the embedded simulator's own JSON-RPC handler, called with the same
  bytes a socket would carry (so it parses the same request objects), minus HTTP entirely;
- `HttpxTransport`: any `httpx.AsyncClient` (tests' mock and ASGI transports, one-off tools).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

import httpx

from oee.adapters.http1 import Http1Client

_HEADERS = {"content-type": "application/json"}

# The simulator's JSON-RPC endpoint as a function: the request body in, (status, body) out.
RpcHandler = Callable[[bytes], Awaitable[tuple[int, bytes]]]


class RpcTransport(Protocol):
    """Carries one JSON-RPC body (a request or a batch) to the node."""

    async def post(self, body: bytes, *, timeout_s: float, repeatable: bool) -> tuple[int, bytes]:
        """The answer's HTTP status and body.

        Args:
            timeout_s: For the exchange (a transport may not count waiting for a connection).
            repeatable: The body may be sent twice without acting twice (every read).

        Raises:
            TimeoutError: No answer in time.
            ConnectionError: The node could not be reached.
        """
        ...


class Http1Transport:
    """POSTs to `url` over the lean keep-alive client; a busy pool queues untimed."""

    def __init__(self, client: Http1Client, url: str) -> None:
        self._client, self._url = client, url

    async def post(self, body: bytes, *, timeout_s: float, repeatable: bool) -> tuple[int, bytes]:
        response = await self._client.post_json(
            self._url, body, timeout_s=timeout_s, retry=repeatable
        )
        return response.status, response.body


class InProcessTransport:
    """Calls the in-process simulator's JSON-RPC handler (its latency and faults included)."""

    def __init__(self, handler: RpcHandler) -> None:
        self._handler = handler

    async def post(self, body: bytes, *, timeout_s: float, repeatable: bool) -> tuple[int, bytes]:
        async with asyncio.timeout(timeout_s):
            return await self._handler(body)


class HttpxTransport:
    """POSTs to `url` through an `httpx.AsyncClient`."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self._client = client
        self._url = httpx.URL(url)  # parsed once: a string costs a parse on every request

    async def post(self, body: bytes, *, timeout_s: float, repeatable: bool) -> tuple[int, bytes]:
        try:
            # asyncio's timeout, not only httpx's: an ASGI transport applies none.
            async with asyncio.timeout(timeout_s):
                response = await self._client.post(self._url, content=body, headers=_HEADERS)
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.TransportError as error:
            raise ConnectionError(repr(error)) from None
        return response.status_code, response.content


def transport_for(client: httpx.AsyncClient | Http1Client | RpcTransport, url: str) -> RpcTransport:
    """The transport for `client` (an HTTP client is bound to `url`; a transport is as is)."""
    if isinstance(client, httpx.AsyncClient):
        return HttpxTransport(client, url)
    if isinstance(client, Http1Client):
        return Http1Transport(client, url)
    return client
