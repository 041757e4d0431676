"""One JSON-RPC 2.0 call over the process's transport to the node, with the node's failures mapped.

Shared by the `Chain` port (`oee.adapters.chain.rpc`) and the account reads of the on-chain
venue adapters, so both see a node the same way: HTTP 429/5xx, timeouts, unreachable hosts and
the node's own "busy" codes are retryable `RPC_UNAVAILABLE`; other HTTP answers and unknown
error codes are `RPC_ERROR`; an error object the caller may want to read itself (a preflight
failure, a missing method) comes back as `RpcFault`.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import orjson

from oee.adapters.chain.rpc_transport import RpcTransport, transport_for
from oee.adapters.http1 import Http1Client
from oee.domain.errors import ExecutionError

RETRYABLE_RPC_CODES = frozenset({-32603, -32005, -32004, -32016})
# Writes: never held in a batch window nor sent twice by the HTTP client on a stale connection
# (a re-sent airdrop is a second airdrop; a send's latency is the order's).
ALONE = frozenset({"sendTransaction", "requestAirdrop"})


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


def result_of(reply: Any, method: str) -> Any:
    """The `result` of one decoded JSON-RPC reply.

    Raises:
        RpcFault: The reply is an error object.
        ExecutionError: RPC_UNAVAILABLE for something that is not a JSON-RPC reply.
    """
    if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
        raise unavailable(f"{method}: RPC node answered with no JSON-RPC response")
    if "error" in reply:
        fault = reply["error"] if isinstance(reply["error"], dict) else {}
        raise RpcFault(fault.get("code", 0), fault.get("message", ""), fault.get("data"))
    return reply["result"]


def decode(content: bytes) -> Any:
    """JSON from the node (orjson; the standard parser for what orjson refuses, e.g. an
    integer past 64 bits).

    Raises:
        ValueError: The body is not JSON.
    """
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


class JsonRpc:
    """Calls one node's JSON-RPC endpoint; each request is encoded and decoded once.

    With a batch window, concurrent reads share batch requests (`oee.adapters.chain.rpc_batch`);
    writes (`ALONE`) always go alone and at once.
    """

    def __init__(
        self,
        client: httpx.AsyncClient | Http1Client | RpcTransport,
        url: str,
        *,
        timeout_s: float = 10.0,
        batch_window_s: float = 0.0,
        batch_max: int = 64,
    ) -> None:
        """Args:
        client: The process's HTTP client (bound to `url`), or a transport of its own (the
            in-process simulator's).
        url: The node's JSON-RPC endpoint.
        timeout_s: Per request (the lean client does not count waiting for a connection).
        batch_window_s: Reads arriving within this window share one batch request; 0: every
            call is a request of its own.
        batch_max: Calls per batch request at most.
        """
        self._transport = transport_for(client, url)
        self._url = url  # the endpoint, as configured (what `oee check` and tests show)
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._batcher = None
        if batch_window_s > 0:
            # Imported here: the batcher reads replies with this module's `result_of`.
            from oee.adapters.chain.rpc_batch import RpcBatcher

            self._batcher = RpcBatcher(self.post, batch_window_s, batch_max)

    async def call(self, method: str, params: list[Any]) -> Any:
        """The call's `result`.

        Raises:
            RpcFault: The node answered an error object.
            ExecutionError: RPC_UNAVAILABLE (retryable) or RPC_ERROR (another HTTP status).
        """
        if self._batcher is not None and method not in ALONE:
            return await self._batcher.call(method, params)
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        reply = await self.post(orjson.dumps(request), method, repeatable=method not in ALONE)
        return result_of(reply, method)

    async def post(self, body: bytes, label: str, *, repeatable: bool = True) -> Any:
        """Send an encoded request or batch; the decoded answer, HTTP failures mapped.

        Args:
            label: Names the call(s) in error messages.
            repeatable: The body may be sent twice (see `RpcTransport.post`).

        Raises:
            ExecutionError: RPC_UNAVAILABLE (retryable) or RPC_ERROR (another HTTP status).
        """
        try:
            status, content = await self._transport.post(
                body, timeout_s=self.timeout_s, repeatable=repeatable
            )
        except TimeoutError:
            raise unavailable(f"{label} timed out after {self.timeout_s} s") from None
        except ConnectionError as error:
            raise unavailable(f"{label}: RPC node unreachable ({error})") from None
        if status == 429 or status >= 500:
            raise unavailable(f"{label}: RPC node answered HTTP {status}")
        if status != 200:
            raise ExecutionError(
                f"{label}: RPC node answered HTTP {status}", code="RPC_ERROR", retryable=False
            )
        try:
            return decode(content)
        except ValueError:
            raise unavailable(f"{label}: RPC node answered with invalid JSON") from None

    async def result(self, method: str, params: list[Any]) -> Any:
        """As `call`, with every error object mapped by `generic`."""
        try:
            return await self.call(method, params)
        except RpcFault as fault:
            raise generic(fault) from None
