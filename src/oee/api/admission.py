"""How the API answers a submit that admission refuses: 503 `OVERLOADED` with `Retry-After`.

The check itself runs inside `OrderService.submit` (`oee.services.admission`), so every path
that submits (the execute route, and any faster front door onto the same function) is guarded
the same way; this module only shapes the answer.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from oee.api.errors import error_response
from oee.services.admission import Overloaded


def overloaded_response(exc: Overloaded) -> JSONResponse:
    """The 503 for a refused submit: code `OVERLOADED`, the reason, and when to come back."""
    return error_response(
        503, exc.code, exc.message, headers={"Retry-After": str(exc.retry_after_s)}
    )


async def _overloaded(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Overloaded)
    return overloaded_response(exc)


def install_admission_handler(app: FastAPI) -> None:
    """Answer `Overloaded` from any route with `overloaded_response`."""
    app.add_exception_handler(Overloaded, _overloaded)
