"""What a route takes from its request: the engine, the caller, a size-limited body, an order
id, a limit."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Path
from fastapi.responses import JSONResponse
from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from oee.api.errors import ApiError, error_body
from oee.api.keys import OPEN, Principal
from oee.api.requests import EXPIRES_AT_PATTERN
from oee.bootstrap import Engine
from oee.domain.orders import Order

RECENT_DEFAULT = 20
RECENT_MAX = 500
CLOSE_POLICY_VIOLATION = 1008
_ID_MAX_LEN = 64  # how much of a bad id an error message repeats
_UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# The path parameter as OpenAPI declares it (`order_id: OrderIdPath` in a route).
OrderIdPath = Annotated[
    str, Path(description="The order's id (a UUID).", json_schema_extra={"format": "uuid"})
]


def engine_of(conn: HTTPConnection) -> Engine:
    """The engine `create_app` was given (HTTP requests and WebSockets alike)."""
    engine: Engine = conn.app.state.engine
    return engine


# Where `oee.api.access.AccessMiddleware` leaves the authenticated caller in the ASGI scope.
PRINCIPAL = "oee.principal"


def principal_of(conn: HTTPConnection) -> Principal:
    """Who is calling: the key the access middleware authenticated, or `OPEN` without keys.

    Raises:
        RuntimeError: Keys are configured but nothing authenticated this request (a route
            the middleware was bypassed for): fail closed rather than serve it as open.
    """
    principal: Principal | None = conn.scope.get(PRINCIPAL)
    if principal is not None:
        return principal
    if conn.app.state.keyring.enabled:
        raise RuntimeError(f"{conn.url.path} was not authenticated")
    return OPEN


async def visible_order(conn: HTTPConnection, order_id: str) -> Order:
    """The order, if the caller may see it (its owner's key, or an admin key).

    Raises:
        ApiError: 404 `ORDER_NOT_FOUND` for an unknown order and for another key's order
            alike, so a key cannot learn which ids exist.
    """
    order = await engine_of(conn).orders.get(order_id)
    if order is None or not principal_of(conn).sees(order.owner):
        raise order_not_found(order_id)
    return order


def order_not_found(order_id: str) -> ApiError:
    """404 `ORDER_NOT_FOUND`: what both an unknown order and another key's order answer."""
    return ApiError(404, "ORDER_NOT_FOUND", f"no order with id {order_id}")


def require_json(request: Request) -> None:
    """Refuse a request whose Content-Type is not JSON (`application/json` or `*/*+json`).

    This is the engine's guard against cross-site forgery: a web page can make a browser send
    a form or a `text/plain` body anywhere without asking, but a JSON content type only after
    a CORS preflight, which the engine does not grant to origins it was not told to trust.

    Raises:
        ApiError: 415 `UNSUPPORTED_MEDIA_TYPE`.
    """
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    shown = repr(media[:60]) if media else "none"
    raise ApiError(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        f"send the request as JSON with Content-Type: application/json (got {shown})",
        headers={"Accept-Post": "application/json"},
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The JSON request body, refused as soon as it is known to exceed `limit` bytes.

    The content type is checked first (`require_json`). The declared Content-Length is checked
    next, and the streamed bytes are counted too, so a chunked upload or a client that lies
    about its length cannot make the server buffer more.

    Raises:
        ApiError: 415 `UNSUPPORTED_MEDIA_TYPE`, 413 `BODY_TOO_LARGE`, or 400 `INCOMPLETE_BODY`
            if the client went away.
    """
    require_json(request)
    return await _read_limited(request, limit)


async def read_optional_body(request: Request, limit: int) -> bytes:
    """The body of a POST that needs none (`POST /api/orders/{id}/cancel`), possibly empty.

    No body and no Content-Type is fine (`curl -X POST`); a Content-Type that is not JSON is
    415 even with an empty body (what an HTML form sends), and so is a body without one.

    Raises:
        ApiError: 415 `UNSUPPORTED_MEDIA_TYPE`, 413 `BODY_TOO_LARGE`, 400 `INCOMPLETE_BODY`.
    """
    if "content-type" in request.headers:
        require_json(request)
        return await _read_limited(request, limit)
    raw = await _read_limited(request, limit)
    if raw:
        require_json(request)  # raises: a body must say it is JSON
    return raw


async def _read_limited(request: Request, limit: int) -> bytes:
    too_large = ApiError(413, "BODY_TOO_LARGE", f"the request body must be at most {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(
            400, "INCOMPLETE_BODY", "the client closed before sending the body"
        ) from None
    return b"".join(chunks)


def origin_allowed(conn: HTTPConnection, allowed: frozenset[str]) -> bool:
    """Whether a WebSocket handshake may come from its `Origin`.

    Browsers send `Origin` on every WebSocket handshake and let any page open one to any host,
    so without this check any web page a user visits could read their engine's streams.
    Allowed: no `Origin` at all (not a browser: the CLI, bots, `websockets`), the engine's own
    page (the origin's host is the request's `Host`), and the configured origins
    (`OEE_CORS_ORIGINS`).
    """
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    if origin in allowed:
        return True
    host = conn.headers.get("host", "").lower()
    return bool(host) and origin.split("://", 1)[-1] == host


async def accept_from_allowed_origin(ws: WebSocket) -> bool:
    """Accept the handshake, or refuse it with 403 `ORIGIN_NOT_ALLOWED` (see `origin_allowed`).

    Returns:
        Whether the socket was accepted.
    """
    engine = engine_of(ws)
    if origin_allowed(ws, engine.settings.allowed_origins):
        await ws.accept()
        return True
    body = error_body(
        "ORIGIN_NOT_ALLOWED",
        f"WebSocket connections from {ws.headers.get('origin', '')[:80]!r} are not allowed; "
        "add the origin to OEE_CORS_ORIGINS to let its pages connect",
    )
    await refuse_handshake(ws, JSONResponse(body, status_code=403))
    return False


async def refuse_handshake(ws: WebSocket, response: JSONResponse) -> None:
    """Refuse a WebSocket handshake with `response` (an HTTP error instead of the upgrade).

    A server without the ASGI denial-response extension cannot send a body: the socket is
    closed before it is accepted, which such servers answer with a bare 403.
    """
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(response)
    else:
        await ws.close(CLOSE_POLICY_VIOLATION)


def websocket_not_found(default: ASGIApp) -> ASGIApp:
    """The router's answer to a path no route serves: for a WebSocket handshake, 404
    `NOT_FOUND` with the usual error body (Starlette's own is a bare 403); `default` otherwise."""

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await default(scope, receive, send)
            return
        body = error_body("NOT_FOUND", "no such route; see /docs for the API")
        await refuse_handshake(WebSocket(scope, receive, send), JSONResponse(body, 404))

    return not_found


def parse_order_id(raw: str) -> str:
    """The canonical (lowercase) form of an order id: a UUID in its 8-4-4-4-12 hex text form,
    any case, as the OpenAPI schema declares it (`format: uuid`).

    Raises:
        ApiError: 400 `INVALID_ORDER_ID` when `raw` is anything else.
    """
    try:
        if not _UUID_TEXT.fullmatch(raw):
            raise ValueError(raw)
        return str(uuid.UUID(raw))
    except ValueError:
        shown = raw if len(raw) <= _ID_MAX_LEN else raw[: _ID_MAX_LEN - 3] + "..."
        raise ApiError(400, "INVALID_ORDER_ID", f"order id {shown!r} is not a UUID") from None


def parse_limit(raw: str | None) -> int:
    """The `limit` query parameter of `/api/orders/recent`: an integer from 1 to 500.

    Raises:
        ApiError: 422 `INVALID_LIMIT` for anything else.
    """
    if raw is None:
        return RECENT_DEFAULT
    text = raw
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and 1 <= int(text) <= RECENT_MAX):
        shown = raw if len(raw) <= 20 else raw[:17] + "..."
        raise ApiError(
            422,
            "INVALID_LIMIT",
            f"limit must be an integer from 1 to {RECENT_MAX}, got {shown!r}",
            [{"field": "limit", "message": f"an integer from 1 to {RECENT_MAX}"}],
        )
    return int(text)


# `since` of `/api/orders/recent` as a duration back from now: 90s, 10m, 2h, 7d.
_AGO = re.compile(r"([0-9]{1,5})([smhd])", re.ASCII)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_AT = re.compile(EXPIRES_AT_PATTERN, re.ASCII)
SINCE_HELP = (
    "an ISO-8601 date-time with its offset (e.g. 2026-12-04T18:00:00Z) or a duration back "
    "from now (e.g. 90s, 10m, 2h, 7d)"
)


def parse_created_since(raw: str | None, now: datetime) -> datetime | None:
    """The `since` query parameter of `/api/orders/recent`: an instant, or a duration before
    `now`.

    Raises:
        ApiError: 422 `INVALID_SINCE_TIME` for anything else.
    """
    if raw is None:
        return None
    text = raw.strip()
    ago = _AGO.fullmatch(text)
    if ago is not None:
        return now - timedelta(seconds=int(ago.group(1)) * _UNIT_S[ago.group(2)])
    try:
        if _AT.fullmatch(text):
            return datetime.fromisoformat(text)
    except ValueError:  # the right shape but no such date (a 30th of February)
        pass
    shown = raw if len(raw) <= 40 else raw[:37] + "..."
    raise ApiError(
        422,
        "INVALID_SINCE_TIME",
        f"since must be {SINCE_HELP}, got {shown!r}",
        [{"field": "since", "message": "a date-time with its offset, or a duration like 10m"}],
    )


def parse_choice(params: QueryParams, name: str, choices: tuple[str, ...], code: str) -> str | None:
    """An optional query parameter that must be one of `choices` (`status`, `type` of
    `/api/orders/recent`), given at most once.

    Raises:
        ApiError: 422 `code` (`INVALID_STATUS`, `INVALID_TYPE`) for anything else.
    """
    values = params.getlist(name)
    if not values:
        return None
    if len(values) == 1 and values[0] in choices:
        return values[0]
    shown = ", ".join(repr(v if len(v) <= 20 else v[:17] + "...") for v in values[:3])
    message = f"{name} must be one of {', '.join(choices)}, got {shown}"
    raise ApiError(422, code, message, [{"field": name, "message": f"one of {', '.join(choices)}"}])


IDEMPOTENCY_HEADER = "Idempotency-Key"
_MAX_KEY_LENGTH = 255


def parse_idempotency_key(value: str | None) -> str | None:
    """The `Idempotency-Key` header, checked: 1-255 printable ASCII characters, or absent.

    Raises:
        ApiError: 400 `INVALID_IDEMPOTENCY_KEY`.
    """
    if value is None:
        return None
    if not 0 < len(value) <= _MAX_KEY_LENGTH or not all(" " < c <= "~" for c in value):
        raise ApiError(
            400,
            "INVALID_IDEMPOTENCY_KEY",
            f"{IDEMPOTENCY_HEADER} must be 1-{_MAX_KEY_LENGTH} printable ASCII characters "
            "without spaces",
        )
    return value
