"""One error shape for every failure: `{"code": "<MACHINE_CODE>", "message": "<words>"}`.

Client mistakes become 4xx with a stable code; a backing service that cannot be reached becomes
503 naming it; anything else is a 500 that is logged here and never leaks a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from types import TracebackType
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oee.domain.errors import IdempotencyConflict, InvalidOrder
from oee.services.admission import Overloaded

log = structlog.get_logger(__name__)

# Starlette raises HTTPException with only a status for routing failures; give them codes.
_HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "BODY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class ApiError(Exception):
    """A request the API refuses, with the status, machine code and message to answer."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers
        self.extra = extra


def error_body(
    code: str,
    message: str,
    errors: list[dict[str, str]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON body of every error answer; `errors` lists `{field, message}` when known, and
    `extra` adds what a code documents beside them (`ORDER_NOT_CANCELLABLE`'s `status`)."""
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def error_response(
    status: int,
    code: str,
    message: str,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """An error answer in the one shape clients can rely on."""
    body = error_body(code, message, errors, extra)
    return JSONResponse(body, status_code=status, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    # FastAPI locations start with where the value came from ("body", "query", "path").
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in {"body", "query", "path"} else loc
    return ".".join(str(p) for p in parts) or "body"


async def _refused(_: Request, exc: Exception) -> Response:
    answer = refusal(exc)
    assert answer is not None  # registered only for the exceptions `refusal` answers
    return answer


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field_name(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
    message = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return error_response(422, "VALIDATION_ERROR", message, errors)


def _status_name(status: int) -> str:
    try:
        return HTTPStatus(status).name
    except ValueError:  # a status outside the standard list
        return "HTTP_ERROR" if status < 500 else "INTERNAL_ERROR"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code) or _status_name(exc.status_code)
    headers = exc.headers
    if exc.status_code == 404:
        message = "no such route; see /docs for the API"
    elif exc.status_code == 405:
        allowed = allowed_methods(request)
        headers = {**(exc.headers or {}), "Allow": ", ".join(allowed)}
        message = f"method not allowed here; allowed: {', '.join(allowed)}"
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, code, message, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this request's path.

    Starlette's own 405 names only the first route whose path matched, so a path served by
    two routes (a GET and a POST declared apart) would advertise half of what it allows.
    `app.state.routes` is every route of the app, flat (`create_app` sets it).
    """
    matching = [r for r in request.app.state.routes if r.matches(request.scope)[0] != Match.NONE]
    # A literal path is a resource of its own: `/api/orders/execute` also fits the template
    # `/api/orders/{order_id}`, whose GET answers 405 there, so only the literal route counts.
    literal = [r for r in matching if not getattr(r, "param_convertors", None)]
    methods: set[str] = set()
    for route in literal or matching:
        methods.update(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
    return sorted(methods)


def refusal(exc: Exception) -> Response | None:
    """The answer to a refused request's exception, else None: the app's handler for
    them, and what `oee.api.direct` answers without the handlers."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.errors, exc.headers, exc.extra)
    if isinstance(exc, InvalidOrder):
        return error_response(422, exc.code, exc.message)
    if isinstance(exc, IdempotencyConflict):
        return error_response(409, exc.code, exc.message)
    if isinstance(exc, Overloaded):  # admission refused the submit (inside OrderService.submit)
        headers = {"Retry-After": str(exc.retry_after_s)}
        return error_response(503, exc.code, exc.message, headers=headers)
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that shape client errors, and the guard for everything else."""
    for refused in (ApiError, InvalidOrder, IdempotencyConflict, Overloaded):
        app.add_exception_handler(refused, _refused)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(UnexpectedErrorMiddleware)


def unavailable_dependency(exc: BaseException) -> str | None:
    """Name the backing service when `exc` says it cannot be reached, else None.

    Connection failures are told apart from bugs by type (driver and socket errors), and the
    service is named by the exception's module or, failing that, by the adapter it was raised in.
    """
    for err in _chain(exc):
        if not _is_connection_failure(err):
            continue
        return _named_by_module(type(err).__module__) or _named_by_traceback(err.__traceback__)
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _is_connection_failure(err: BaseException) -> bool:
    module = type(err).__module__
    name = type(err).__name__
    if module.startswith("sqlalchemy"):
        return _is_sqlalchemy_connection_failure(err, name)
    if module.startswith("redis"):
        return name in {"ConnectionError", "TimeoutError", "BusyLoadingError"}
    if module.startswith("asyncpg"):
        return "Connection" in name or _is_connection_sqlstate(err)
    if module.startswith("uvicorn"):
        return False  # the HTTP client went away, not a dependency
    return isinstance(err, OSError)  # ConnectionError and TimeoutError included


# PostgreSQL SQLSTATEs that mean "no usable connection": class 08, shutdown, too many clients.
_CONNECTION_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}


def _is_connection_sqlstate(err: object) -> bool:
    state = str(getattr(err, "sqlstate", None) or getattr(err, "pgcode", None) or "")
    return state.startswith("08") or state in _CONNECTION_SQLSTATES


def _is_sqlalchemy_connection_failure(err: BaseException, name: str) -> bool:
    # OperationalError covers "could not connect" and "server closed the connection";
    # TimeoutError is the pool's checkout giving up (every connection busy: try again); a
    # DBAPIError that invalidated its connection lost it; one with no statement was raised
    # while connecting (e.g. "database is not currently accepting connections").
    if name in {"OperationalError", "InterfaceError", "TimeoutError"}:
        return True
    if getattr(err, "connection_invalidated", False):
        return True
    if hasattr(err, "orig") and getattr(err, "statement", "") is None:
        return True
    return _is_connection_sqlstate(getattr(err, "orig", None))


_MODULE_NAMES = (
    ("sqlalchemy", "the order store (database)"),
    ("asyncpg", "the order store (PostgreSQL)"),
    ("aiosqlite", "the order store (SQLite)"),
    ("sqlite3", "the order store (SQLite)"),
    ("redis", "Redis"),
    ("bullmq", "the job queue (Redis)"),
)

_ADAPTER_NAMES = (
    ("oee.adapters.store", "the order store (database)"),
    ("oee.adapters.queue", "the job queue"),
    ("oee.adapters.bus", "the event bus"),
    ("oee.adapters.venues", "a venue"),
    ("oee.adapters.chain", "the chain RPC node"),
)


def _named_by_module(module: str) -> str | None:
    return next((name for prefix, name in _MODULE_NAMES if module.startswith(prefix)), None)


def _named_by_traceback(tb: TracebackType | None) -> str:
    # The innermost adapter frame is the dependency that was being talked to.
    name = "a backing service"
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        found = next((n for prefix, n in _ADAPTER_NAMES if module.startswith(prefix)), None)
        name = found or _named_by_module(module) or name
        tb = tb.tb_next
    return name


class UnexpectedErrorMiddleware:
    """Answer 503 for an unreachable dependency and 500 for a bug, logging either once.

    A plain ASGI middleware instead of a handler for `Exception`: Starlette re-raises after such
    a handler, so the server would print the traceback a second time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise  # too late to answer; let the server close the connection
            response = self.answer(scope, exc)
            await response(scope, receive, send)

    @staticmethod
    def answer(scope: Scope, exc: Exception) -> Response:
        """The 503 (a dependency is unreachable) or 500 answer to `exc`, logged."""
        where = {"method": scope.get("method"), "path": scope.get("path")}
        dependency = unavailable_dependency(exc)
        if dependency is not None:
            log.warning("dependency_unavailable", dependency=dependency, error=repr(exc), **where)
            return error_response(
                503,
                "SERVICE_UNAVAILABLE",
                f"{dependency} is unavailable right now; retry shortly",
                headers={"Retry-After": "1"},
            )
        log.exception("unhandled_error", **where)
        return error_response(500, "INTERNAL_ERROR", "internal error; it has been logged")
