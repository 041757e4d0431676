"""Who may call what: one ASGI middleware authenticates every request before any route runs.

Installed only when keys are configured. Every path needs a key except the ones that hold no
data (`OPEN_PATHS`: liveness, readiness, the API docs and the dashboard's page, which asks for
a key itself); a route added later is protected by default. A key comes as
`Authorization: Bearer <key>` or `X-API-Key: <key>`; a stream (a WebSocket or the SSE route)
may instead carry `?token=` from `POST /api/stream-tokens`, because browsers cannot set headers
there. The caller is left in the scope for routes (`oee.api.deps.principal_of`), which scope
every order read to its owner. Admin-only paths (`/metrics`, the simulator relays) answer 403
to other keys, and so does the kill switch (`/api/admin/...`). Refusals are the usual error body: 401 `UNAUTHENTICATED` with
`WWW-Authenticate: Bearer`, 403 `FORBIDDEN`, and 429 `RATE_LIMITED` for an address that sent
too many wrong keys (`oee.api.limits.AuthFailures`); a WebSocket is refused at the handshake.
Neither the key nor the token is ever logged or repeated in a message.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from oee.api.deps import PRINCIPAL, refuse_handshake
from oee.api.errors import error_response
from oee.api.examples import error_example
from oee.api.keys import KeyRing, Principal
from oee.api.limits import AuthFailures
from oee.api.stream_tokens import StreamTokens

OPEN_PATHS = frozenset(
    {"/health", "/ready", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/"}
)
OPEN_PREFIXES = ("/static/",)  # the dashboard's modules, style sheets and vendored uPlot
ADMIN_PATHS = frozenset({"/metrics"})
# The simulator relays change the world every order sees; admin holds the kill switch.
ADMIN_PREFIXES = ("/api/sim/", "/api/admin/")
_SSE_PATH = re.compile(r"/api/orders/[^/]+/events")

MISSING = "this engine needs an API key: send Authorization: Bearer <key> or X-API-Key: <key>"
_MISSING_ON_STREAMS = f"{MISSING} (or ?token= from POST /api/stream-tokens)"
_NOT_BEARER = "the Authorization header must be 'Bearer <API key>'"
_UNKNOWN = "the API key is not valid"
_BAD_TOKEN = "the stream token is invalid or expired: get a new one from POST /api/stream-tokens"


def needs_key(path: str) -> bool:
    """Whether `path` needs a key when keys are configured."""
    return path not in OPEN_PATHS and not path.startswith(OPEN_PREFIXES)


def admin_only(path: str) -> bool:
    """Whether `path` needs an admin key."""
    return path in ADMIN_PATHS or path.startswith(ADMIN_PREFIXES)


def accepts_token(scope: Scope) -> bool:
    """Whether a stream token may stand in for the key: on WebSockets and the SSE stream."""
    return scope["type"] == "websocket" or _SSE_PATH.fullmatch(scope["path"]) is not None


class AccessMiddleware:
    """Authenticate every request that needs a key, and refuse what its key may not do."""

    def __init__(
        self,
        app: ASGIApp,
        keyring: KeyRing,
        tokens: StreamTokens,
        failures: AuthFailures | None = None,  # None: wrong keys are not limited
    ) -> None:
        self.app, self.keyring, self.tokens, self.failures = app, keyring, tokens, failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not needs_key(scope["path"]):
            await self.app(scope, receive, send)
            return
        # An address that sent too many wrong keys is refused before its key is checked.
        locked = self.failures.lockout(scope) if self.failures is not None else None
        response = locked or await self.admit(scope)
        if response is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await response(scope, receive, send)
        else:
            await refuse_handshake(WebSocket(scope, receive, send), response)

    async def admit(self, scope: Scope) -> JSONResponse | None:
        """Leave the caller in the scope and return None, or return the refusal."""
        principal, problem = self.authenticate(scope)
        if principal is None:
            headers = {"WWW-Authenticate": 'Bearer realm="oee"', "Cache-Control": "no-store"}
            refused = error_response(401, "UNAUTHENTICATED", problem, headers=headers)
            if self.failures is None:
                return refused
            return await self.failures.failed(scope) or refused
        if admin_only(scope["path"]) and not principal.admin:
            message = f"this needs an admin key (OEE_ADMIN_KEYS); key {principal.name!r} is not one"
            return error_response(403, "FORBIDDEN", message)
        scope[PRINCIPAL] = principal
        return None

    def authenticate(self, scope: Scope) -> tuple[Principal | None, str]:
        """The caller, or None and why not (words safe to send back: no secret in them)."""
        authorization = api_key = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"x-api-key":
                api_key = value
        if authorization is not None:
            scheme, _, secret = authorization.decode("latin-1").strip().partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                return None, _NOT_BEARER
            return self.keyring.identify(secret.strip()), _UNKNOWN
        if api_key is not None:
            return self.keyring.identify(api_key.decode("latin-1").strip()), _UNKNOWN
        if not accepts_token(scope):
            return None, MISSING
        token = QueryParams(scope["query_string"]).get("token")
        if token is None:
            return None, _MISSING_ON_STREAMS
        return self.tokens.verify(token), _BAD_TOKEN


SECURITY_SCHEMES = {
    "bearerKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (OEE_API_KEYS / OEE_ADMIN_KEYS) as `Authorization: Bearer`.",
    },
    "apiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same key in the `X-API-Key` header.",
    },
}
_DENIALS = {
    "401": ("UNAUTHENTICATED", "No valid API key (only when the engine runs with keys)."),
    "403": ("FORBIDDEN", "An admin-only call made with a key that is not an admin key."),
    "429": (
        "RATE_LIMITED",
        "The caller's address sent too many wrong keys; retry after `Retry-After` seconds.",
    ),
}

_RETRY_AFTER = {
    "headers": {
        "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}},
    }
}


def document_access(schema: dict[str, Any]) -> None:
    """Declare both ways to send a key, and on every operation that needs one, the key and
    its refusals (401, and 403 where an admin key is needed).

    Declared whether or not this engine has keys: the API is the same document for every
    deployment, so a client generated from it can send keys, and an open engine ignores them.
    """
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for path, methods in schema.get("paths", {}).items():
        if not needs_key(path):
            continue
        # 429 here is for wrong keys; `document_limits` then widens it on the rate-limited paths.
        statuses = ("401", "403", "429") if admin_only(path) else ("401", "429")
        for operation in methods.values():
            operation["security"] = [{"bearerKey": []}, {"apiKeyHeader": []}]
            for status in statuses:
                code, description = _DENIALS[status]
                operation["responses"][status] = {
                    "description": f"{description} Codes: `{code}`.",
                    **(_RETRY_AFTER if status == "429" else {}),
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ErrorBody"},
                            "examples": {code: {"summary": code, "value": error_example(code)}},
                        }
                    },
                }
