"""Stream tokens: how a browser, which cannot set headers on a WebSocket, proves its key.

`POST /api/stream-tokens` (with the key in a header) answers a token valid for
`TOKEN_TTL_S`, which the page passes as `?token=` when it opens a WebSocket (or an
`EventSource`). A token names its key and its expiry and is signed with HMAC-SHA256. The
signing secret is `OEE_STREAM_TOKEN_SECRET` or, unset, derived from the configured keys, so any
API process configured with the same keys accepts a token another one issued, with nothing
shared at run time; changing the keys invalidates every token. A token is accepted on streams
only, never as an API key, and only while its key is still configured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from oee.api.deps import principal_of
from oee.api.examples import error_responses, ok
from oee.api.keys import KeyRing, Principal
from oee.settings import Settings

TOKEN_TTL_S = 60
_MAX_TOKEN_LENGTH = 512  # longer is not ours: refused before any decoding

router = APIRouter(prefix="/api", tags=["streams"])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_secret(settings: Settings, keyring: KeyRing) -> bytes:
    """`OEE_STREAM_TOKEN_SECRET`, else a secret derived from the configured keys (in open
    mode, where no token is checked, a random one)."""
    if not keyring.enabled:
        return secrets.token_bytes(32)
    if settings.stream_token_secret is not None:
        configured = settings.stream_token_secret.get_secret_value().encode()
        return hmac.new(b"oee stream tokens v1", configured, hashlib.sha256).digest()
    return hmac.new(b"oee stream tokens v1", keyring.fingerprint(), hashlib.sha256).digest()


class StreamTokens:
    """Issues and verifies stream tokens for the keys of one `KeyRing`."""

    def __init__(
        self, keyring: KeyRing, secret: bytes, now: Callable[[], float] = time.time
    ) -> None:
        self._keyring, self._secret, self._now = keyring, secret, now

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()

    def issue(self, principal: Principal) -> tuple[str, int]:
        """A token for `principal`'s key and the Unix time it expires at."""
        expires = int(self._now()) + TOKEN_TTL_S
        # The nonce makes each token distinct, so one seen in a log says nothing of the next.
        name = principal.name or ""  # open mode: a token nothing will check
        payload = f"{name}\n{expires}\n{secrets.token_hex(8)}".encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}", expires

    def verify(self, token: str) -> Principal | None:
        """The key a valid, unexpired token was issued to, or None (forged, expired, revoked)."""
        if len(token) > _MAX_TOKEN_LENGTH or token.count(".") != 1:
            return None
        encoded, signature = token.split(".")
        try:
            payload, mac = _unb64(encoded), _unb64(signature)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._sign(payload)):
            return None
        name, expires, _ = payload.decode().split("\n")
        if int(expires) <= self._now():
            return None
        return self._keyring.named(name)


_TOKEN_EXAMPLE = {
    "token": "YWxpY2UKMTc2NDA2MDA2MApmMWQ0YTljMmI3ZTAzODZk.3q2-7wEjRWeJq83vASNFZ4mrze8BI0Vn",
    "expiresAt": "2026-11-25T09:01:00Z",
}


@router.post(
    "/stream-tokens",
    summary="A short-lived token for opening a stream from a browser",
    description="Browsers cannot send headers on a WebSocket. Call this with your API key "
    f"(no body) and open the stream with `?token=<token>` within {TOKEN_TTL_S} s, e.g. "
    "`/ws/orders?token=...`; it is also accepted by the Server-Sent Events stream. The token "
    "stands for the key that asked for it, until it expires. An engine running without keys "
    "(open mode) answers a token too, which its streams ignore, so a client need not know the "
    "mode.",
    responses=ok(_TOKEN_EXAMPLE, "The token and when it expires.") | error_responses(),
)
async def stream_token(request: Request) -> JSONResponse:
    """Issue a stream token for the calling key."""
    tokens: StreamTokens = request.app.state.stream_tokens
    token, expires = tokens.issue(principal_of(request))
    at = datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")
    return JSONResponse({"token": token, "expiresAt": at}, headers={"Cache-Control": "no-store"})
