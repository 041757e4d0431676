"""A web page the user happens to open must not trade with, or read from, their engine.

Browsers let any page send a form or a plain-text POST anywhere and open a WebSocket to any
host, sending its `Origin`. The engine accepts JSON bodies only (tests/integration/
test_api_http.py) and WebSockets only from its own page, from non-browser clients (no
`Origin`) or from origins configured in `OEE_CORS_ORIGINS`; CORS answers only those origins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support.api import Api, embedded_engine, serve_api

# Every test here runs with the submit served directly and through the routed stack.
pytestmark = pytest.mark.usefixtures("api_path")

FRIEND = "https://desk.example.com"
EVIL = "https://evil.example"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    engine = await embedded_engine(tmp_path, cors_origins=f"{FRIEND}/, http://127.0.0.1:9")
    async for served in serve_api(engine):
        yield served


async def handshake(api: Api, path: str, origin: str | None) -> int:
    """The handshake's outcome: 101 when accepted, else the HTTP status of the refusal
    (negated when the refusal does not name ORIGIN_NOT_ALLOWED)."""
    headers: dict[str, Any] = {} if origin is None else {"Origin": origin}
    try:
        async with connect(api.ws_base + path, additional_headers=headers, open_timeout=10):
            return 101
    except InvalidStatus as refused:
        response = refused.response
    status = response.status_code
    return status if b"ORIGIN_NOT_ALLOWED" in (response.body or b"") else -status


@pytest.mark.parametrize("path", ["/ws/orders", "/ws/orders/0b6a3a52-3c1e-4c55-9d0e-6f1f3f1d2a10"])
async def test_websockets_open_only_from_allowed_origins(api: Api, path: str) -> None:
    own = api.ws_base.replace("ws://", "http://")
    assert await handshake(api, path, None) == 101  # the CLI, bots: no Origin at all
    assert await handshake(api, path, own) == 101  # the engine's own dashboard
    assert await handshake(api, path, FRIEND) == 101  # configured (trailing slash ignored)
    assert await handshake(api, path, FRIEND.upper()) == 101  # origins are case-insensitive
    assert await handshake(api, path, EVIL) == 403
    assert await handshake(api, path, "null") == 403  # sandboxed frames and file:// pages
    assert await handshake(api, path, own + ".evil.example") == 403


async def test_cors_answers_only_the_configured_origins(api: Api) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    friendly = await api.http.options(
        "/api/orders/execute", headers={"Origin": FRIEND, **preflight}
    )
    assert friendly.headers["access-control-allow-origin"] == FRIEND
    hostile = await api.http.options("/api/orders/execute", headers={"Origin": EVIL, **preflight})
    assert "access-control-allow-origin" not in hostile.headers
    read = await api.http.get("/api/orders/active", headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in read.headers


async def test_without_configured_origins_no_cors_header_is_ever_sent(tmp_path: Path) -> None:
    async for api in serve_api(await embedded_engine(tmp_path)):
        reply = await api.http.get("/api/orders/active", headers={"Origin": FRIEND})
        assert "access-control-allow-origin" not in reply.headers
        assert await handshake(api, "/ws/orders", FRIEND) == 403


def test_a_malformed_origin_setting_is_refused_at_start() -> None:
    from pydantic import ValidationError

    from oee.settings import Settings

    with pytest.raises(ValidationError, match="not a web origin"):
        Settings(cors_origins="https://ok.example, desk.example.com/path")
