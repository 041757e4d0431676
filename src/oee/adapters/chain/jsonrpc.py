"""One JSON-RPC 2.0 call over the process's shared HTTP client, with the node's failures mapped.

Shared by the `Chain` port (`oee.adapters.chain.rpc`) and the account reads of the on-chain
venue adapters, so both see a node the same way: HTTP 429/5xx, timeouts, unreachable hosts and
the node's own "busy" codes are retryable `RPC_UNAVAILABLE`; other HTTP answers and unknown
error codes are `RPC_ERROR`; an error object the caller may want to read itself (a preflight
failure, a missing method) comes back as `RpcFault`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx

from oee.domain.errors import ExecutionError

RETRYABLE_RPC_CODES = frozenset({-32603, -32005, -32004, -32016})
_HEADERS = {"content-type": "application/json"}


class RpcFault(Exception):
    """The node answered a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def unavailable(message: str) -> ExecutionError:
    """A retryable failure to get an answer from the node."""
    return ExecutionError(message, code="RPC_UNAVAILABLE", retryable=True)


def generic(fault: RpcFault) -> ExecutionError:
    """The `ExecutionError` for an error object the caller has no special reading of."""
    if fault.code in RETRYABLE_RPC_CODES:
        return unavailable(f"RPC error {fault.code}: {fault.message}")
    return ExecutionError(
        f"RPC error {fault.code}: {fault.message}", code="RPC_ERROR", retryable=False
    )


class JsonRpc:
    """Calls one node's JSON-RPC endpoint; each request is encoded and decoded once."""

    def __init__(self, client: httpx.AsyncClient, url: str, *, timeout_s: float = 10.0) -> None:
        """Args:
        client: The process's one HTTP client (its pool keeps connections alive).
        url: The node's JSON-RPC endpoint.
        timeout_s: Per call, on top of the client's own timeouts (which an ASGI transport
            does not apply).
        """
        self._client = client
        self._url = httpx.URL(url)  # parsed once: a string costs a parse on every request
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)

    async def call(self, method: str, params: list[Any]) -> Any:
        """The call's `result`.

        Raises:
            RpcFault: The node answered an error object.
            ExecutionError: RPC_UNAVAILABLE (retryable) or RPC_ERROR (another HTTP status).
        """
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        body = json.dumps(request, separators=(",", ":")).encode()
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await self._client.post(self._url, content=body, headers=_HEADERS)
        except (TimeoutError, httpx.TimeoutException):
            raise unavailable(f"{method} timed out after {self.timeout_s} s") from None
        except httpx.TransportError as error:
            raise unavailable(f"{method}: RPC node unreachable ({error!r})") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise unavailable(f"{method}: RPC node answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise ExecutionError(
                f"{method}: RPC node answered HTTP {response.status_code}",
                code="RPC_ERROR",
                retryable=False,
            )
        try:
            reply = json.loads(response.content)
        except ValueError:
            raise unavailable(f"{method}: RPC node answered with invalid JSON") from None
        if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
            raise unavailable(f"{method}: RPC node answered with no JSON-RPC response")
        if "error" in reply:
            fault = reply["error"] if isinstance(reply["error"], dict) else {}
            raise RpcFault(fault.get("code", 0), fault.get("message", ""), fault.get("data"))
        return reply["result"]

    async def result(self, method: str, params: list[Any]) -> Any:
        """As `call`, with every error object mapped by `generic`."""
        try:
            return await self.call(method, params)
        except RpcFault as fault:
            raise generic(fault) from None
