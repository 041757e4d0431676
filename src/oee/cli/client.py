"""The CLI's client of a running engine: HTTP calls and WebSocket streams, one error type.

Client commands must start fast and run where the engine is not installed as a server, so this
module imports httpx and websockets only — never the engine, SQLAlchemy or BullMQ. Every
failure a user can meet (engine not running, a refused order, a bad URL) becomes a `CliError`
whose one line says what happened; the commands print it and exit non-zero.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus, InvalidURI

URL_ENV = "OEE_URL"
KEY_ENV = "OEE_API_KEY"
DEFAULT_URL = "http://localhost:3000"
# What a refused key means for someone at a terminal, beside the engine's own message.
_KEY_HINTS = {
    401: f"pass --api-key or set {KEY_ENV}",
    403: "this needs an admin key",
}


class CliError(Exception):
    """A failure to show as one line: a machine `code` and a `message` in words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def unreachable(base_url: str) -> CliError:
    """The engine did not accept a connection at `base_url`."""
    return CliError(
        "UNREACHABLE",
        f"the engine isn't reachable at {base_url}; start one with `oee serve` "
        f"(or point --url / {URL_ENV} at a running engine)",
    )


def check_base_url(base_url: str) -> str:
    """`base_url` without a trailing slash.

    Raises:
        CliError: `BAD_URL` unless it is an http:// or https:// URL.
    """
    scheme, sep, rest = base_url.partition("://")
    if not sep or scheme not in ("http", "https") or not rest.strip("/"):
        raise CliError("BAD_URL", f"the URL must look like http://host:port, got {base_url!r}")
    return base_url.rstrip("/")


def _server_error(status: int, body: bytes, reason: str) -> CliError:
    try:
        answer = json.loads(body)
        code, message = str(answer["code"]), str(answer["message"])
    except (ValueError, KeyError, TypeError):  # not the engine's error shape (a proxy, say)
        code, message = f"HTTP_{status}", body.decode(errors="replace")[:200] or reason
    hint = f"; {_KEY_HINTS[status]}" if status in _KEY_HINTS else ""
    return CliError(code, f"{message} (HTTP {status}){hint}")


def auth_headers(api_key: str | None) -> dict[str, str]:
    """The header that carries `api_key` (none without a key: an open engine needs none).

    Raises:
        CliError: `BAD_API_KEY` for a key that cannot be sent in a header.
    """
    if not api_key:
        return {}
    if not all("!" <= c <= "~" for c in api_key):
        raise CliError("BAD_API_KEY", "an API key is printable ASCII without spaces")
    return {"Authorization": f"Bearer {api_key}"}


class EngineClient:
    """The engine's HTTP API and WebSocket streams, from a base URL. Use with `async with`."""

    def __init__(
        self, base_url: str, *, timeout_s: float = 10.0, api_key: str | None = None
    ) -> None:
        """Prepare a client; nothing connects before the first call.

        Args:
            base_url: The engine's base URL, e.g. http://localhost:3000.
            timeout_s: Longest wait for one HTTP answer or WebSocket handshake.
            api_key: Sent as `Authorization: Bearer` on every call and stream, when given.

        Raises:
            CliError: `BAD_URL` for a URL that is not http(s).
        """
        self.base_url = check_base_url(base_url)
        self.timeout_s = timeout_s
        self.headers = auth_headers(api_key)
        # trust_env=False: no proxy from the environment between the CLI and its engine.
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout_s, trust_env=False, headers=self.headers
        )

    async def __aenter__(self) -> EngineClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.ConnectError:
            raise unreachable(self.base_url) from None
        except httpx.TimeoutException:
            message = f"{self.base_url} did not answer within {self.timeout_s:g} s"
            raise CliError("TIMEOUT", message) from None
        except httpx.HTTPError as error:
            raise CliError("HTTP_ERROR", f"{type(error).__name__}: {error}") from None
        if not response.is_success:
            raise _server_error(response.status_code, response.content, response.reason_phrase)
        try:
            return response.json()
        except ValueError:
            raise CliError("BAD_RESPONSE", f"{method} {path} did not answer JSON") from None

    async def health(self) -> dict[str, Any]:
        """`GET /health`: proves the engine is up."""
        answer: dict[str, Any] = await self._call("GET", "/health")
        return answer

    async def worker_slots(self) -> int | None:
        """`GET /api/engine`'s `workerSlots`: what the engine runs at once, when it says (None
        for an API-only process, or an engine older than that route)."""
        try:
            answer: dict[str, Any] = await self._call("GET", "/api/engine")
        except CliError as error:
            if error.code in ("NOT_FOUND", "HTTP_404"):
                return None
            raise
        slots = answer.get("workerSlots")
        return slots if isinstance(slots, int) else None

    async def submit(
        self,
        token_in: str,
        token_out: str,
        amount: str,
        slippage_bps: int,
        terms: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """`POST /api/orders/execute`; the amount goes out as the decimal string typed.

        Args:
            token_in: Token sold.
            token_out: Token bought (a sniper order's mint).
            amount: Whole tokens of `token_in`, as typed.
            slippage_bps: Tolerated slippage.
            terms: The body's other fields as the API names them (`type`, `limitPrice`,
                `expiresAt`, `ttlSeconds`, `venues`, `maxPriceImpactBps`); only those given.
        """
        body: dict[str, Any] = {
            "tokenIn": token_in,
            "tokenOut": token_out,
            "amountIn": amount,
            "slippageBps": slippage_bps,
            **(terms or {}),
        }
        answer: dict[str, Any] = await self._call("POST", "/api/orders/execute", json=body)
        return answer

    async def order(self, order_id: str) -> dict[str, Any]:
        """`GET /api/orders/{id}`: the full order view."""
        answer: dict[str, Any] = await self._call("GET", f"/api/orders/{order_id}")
        return answer

    async def timeline(self, order_id: str) -> dict[str, Any]:
        """`GET /api/orders/{id}/timeline`: `{"orderId", "status", "events"}`, events as the
        streams send them, oldest first."""
        path = f"/api/orders/{quote(order_id, safe='')}/timeline"
        answer: dict[str, Any] = await self._call("GET", path)
        return answer

    async def quotes(
        self, token_in: str, token_out: str, amount: str, slippage_bps: int | None = None
    ) -> dict[str, Any]:
        """`GET /api/quotes`: every venue's quote (or its error) and the routing decision."""
        params: dict[str, str | int] = {
            "tokenIn": token_in,
            "tokenOut": token_out,
            "amountIn": amount,
        }
        if slippage_bps is not None:
            params["slippageBps"] = slippage_bps
        answer: dict[str, Any] = await self._call("GET", "/api/quotes", params=params)
        return answer

    async def cancel(self, order_id: str) -> dict[str, Any]:
        """`POST /api/orders/{id}/cancel` (no body): the order view, cancelled."""
        path = f"/api/orders/{quote(order_id, safe='')}/cancel"
        answer: dict[str, Any] = await self._call("POST", path)
        return answer

    async def active(self) -> dict[str, Any]:
        """`GET /api/orders/active`: `{"activeCount", "orderIds"}`."""
        answer: dict[str, Any] = await self._call("GET", "/api/orders/active")
        return answer

    async def recent(
        self,
        limit: int,
        *,
        status: str | None = None,
        order_type: str | None = None,
        since: str | None = None,
    ) -> list[dict[str, Any]]:
        """`GET /api/orders/recent?limit=N[&status=S][&type=T][&since=W]`: order views, newest
        first; `since` goes as typed (the engine reads an instant or a duration like 10m)."""
        params: dict[str, str | int] = {"limit": limit}
        for name, value in (("status", status), ("type", order_type), ("since", since)):
            if value is not None:
                params[name] = value
        answer: list[dict[str, Any]] = await self._call("GET", "/api/orders/recent", params=params)
        return answer

    async def wallet(self) -> dict[str, Any]:
        """`GET /api/wallet`: the engine wallet's address and balances."""
        answer: dict[str, Any] = await self._call("GET", "/api/wallet")
        return answer

    async def sim_move(self, pair: str, percent: Decimal) -> dict[str, Any]:
        """`POST /api/sim/move`: push `pair`'s price by `percent` % in the engine's simulator.

        The percent goes out as a JSON number: an integer when whole, else a float (the range
        is -90 to 900, so a float carries every digit a person types).
        """
        number = int(percent) if percent == percent.to_integral_value() else float(percent)
        body = {"pair": pair, "percent": number}
        answer: dict[str, Any] = await self._call("POST", "/api/sim/move", json=body)
        return answer

    async def halt(self, reason: str | None = None) -> dict[str, Any]:
        """`POST /api/admin/halt`: stop new orders routing; the kill switch's state."""
        body = {"reason": reason} if reason else {}
        answer: dict[str, Any] = await self._call("POST", "/api/admin/halt", json=body)
        return answer

    async def resume(self) -> dict[str, Any]:
        """`POST /api/admin/resume`: trade again; the kill switch's state."""
        answer: dict[str, Any] = await self._call("POST", "/api/admin/resume", json={})
        return answer

    async def halt_state(self) -> dict[str, Any]:
        """`GET /api/admin/halt`: whether trading is halted, since when, by whom, why."""
        answer: dict[str, Any] = await self._call("GET", "/api/admin/halt")
        return answer

    @asynccontextmanager
    async def stream(self, path: str) -> AsyncIterator[ClientConnection]:
        """A WebSocket to `path` (e.g. `/ws/orders`), with connection failures as `CliError`."""
        scheme, rest = self.base_url.split("://", 1)
        url = f"{'wss' if scheme == 'https' else 'ws'}://{rest}{path}"
        try:
            ws = await connect(
                url,
                proxy=None,
                open_timeout=self.timeout_s,
                max_size=None,
                additional_headers=self.headers,
            )
        except InvalidStatus as error:
            refused = error.response
            reason = f"the engine refused the WebSocket {path}"
            raise _server_error(refused.status_code, bytes(refused.body or b""), reason) from None
        except InvalidURI:
            raise CliError("BAD_URL", f"{url} is not a WebSocket URL") from None
        except TimeoutError:
            message = f"{self.base_url} did not open a WebSocket within {self.timeout_s:g} s"
            raise CliError("TIMEOUT", message) from None
        except OSError:
            raise unreachable(self.base_url) from None
        async with ws:
            yield ws


async def frames(ws: ClientConnection) -> AsyncIterator[dict[str, Any]]:
    """Each frame as JSON until the server closes; an `error` frame raises its `CliError`.

    Raises:
        CliError: An error frame (its own code) or an abnormal close (`CONNECTION_LOST`).
    """
    try:
        async for raw in ws:
            frame: dict[str, Any] = json.loads(raw)
            if frame.get("type") == "error":
                raise CliError(str(frame.get("code")), str(frame.get("message")))
            yield frame
    except ConnectionClosedError as closed:
        code = closed.rcvd.code if closed.rcvd else None
        message = f"the stream broke off (close code {code}); the engine may have stopped"
        raise CliError("CONNECTION_LOST", message) from None
