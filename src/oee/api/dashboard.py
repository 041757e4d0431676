"""The live dashboard at `/`: one page and its script and style sheet.

The page is plain HTML, CSS and JavaScript shipped inside the package (`oee/api/static/`): no
build step and nothing fetched from the internet, so it works offline and from a wheel. It
reads only the public API: the `WS /ws/orders` firehose, `POST /api/orders/execute` (market,
limit and sniper orders), `POST /api/orders/{id}/cancel`, `GET /api/orders/...`,
`GET /api/quotes` (the live best price beside a watching limit order), `GET /api/wallet` and
the simulator relays of `oee.api.sim_relays` and `oee.api.sim_moves` behind its demo
controls; the page's files stay out of OpenAPI.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from oee.api.errors import ApiError

router = APIRouter()

_STATIC = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
# The page changes with the package; browsers may keep it briefly but must check back.
_CACHE = {"Cache-Control": "no-cache"}


@cache
def _asset(name: str) -> bytes:
    return resources.files("oee.api").joinpath("static", name).read_bytes()


@router.get("/", include_in_schema=False)
async def dashboard() -> Response:
    """The dashboard page."""
    return Response(_asset("dashboard.html"), media_type="text/html; charset=utf-8", headers=_CACHE)


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    """The page's script and style sheet (only those: no path ever reaches the filesystem)."""
    media_type = _STATIC.get(name)
    if media_type is None:
        raise ApiError(404, "NOT_FOUND", f"no static file {name[:60]!r}")
    return Response(_asset(name), media_type=media_type, headers=_CACHE)
