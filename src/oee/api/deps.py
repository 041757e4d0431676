"""What a route takes from its request: the engine, a size-limited body, an order id, a limit."""

from __future__ import annotations

import uuid

from starlette.requests import ClientDisconnect, HTTPConnection, Request

from oee.api.errors import ApiError
from oee.bootstrap import Engine

RECENT_DEFAULT = 20
RECENT_MAX = 500
_ID_MAX_LEN = 64  # longer than any spelling of a UUID ("urn:uuid:{...}")


def engine_of(conn: HTTPConnection) -> Engine:
    """The engine `create_app` was given (HTTP requests and WebSockets alike)."""
    engine: Engine = conn.app.state.engine
    return engine


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it is known to exceed `limit` bytes.

    The declared Content-Length is checked first, and the streamed bytes are counted too, so a
    chunked upload or a client that lies about its length cannot make the server buffer more.

    Raises:
        ApiError: 413 `BODY_TOO_LARGE`, or 400 `INCOMPLETE_BODY` if the client went away.
    """
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


def parse_order_id(raw: str) -> str:
    """The canonical (lowercase, hyphenated) form of an order id, however the client spelt it.

    Raises:
        ApiError: 400 `INVALID_ORDER_ID` when `raw` is not a UUID.
    """
    try:
        if len(raw) > _ID_MAX_LEN:
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
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and 1 <= int(text) <= RECENT_MAX):
        shown = raw if len(raw) <= 20 else raw[:17] + "..."
        raise ApiError(
            422,
            "INVALID_LIMIT",
            f"limit must be an integer from 1 to {RECENT_MAX}, got {shown!r}",
            [{"field": "limit", "message": f"an integer from 1 to {RECENT_MAX}"}],
        )
    return int(text)


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
