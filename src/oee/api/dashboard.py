"""The live dashboard at `/`: one page, its ES modules, its style sheet and vendored uPlot.

The page is plain HTML, CSS and JavaScript modules shipped inside the package
(`oee/api/static/`): no build step and nothing fetched from the internet, so it works offline
and from a wheel. Its charts are drawn by uPlot, vendored byte for byte under `static/vendor/`
with its licence (see the README there). It reads only the public API: the `WS /ws/orders`
firehose, `POST /api/orders/execute` (market, limit and sniper orders),
`POST /api/orders/{id}/cancel`, `GET /api/orders/...` (an order's story from its view and its
timeline), `GET /api/quotes` (the live best price beside a watching limit order),
`GET /api/wallet` and the simulator relays of `oee.api.sim_relays` and `oee.api.sim_moves`
behind its demo controls; the page's files stay out of OpenAPI.

Only the files named in `ASSETS` are served, each with its own content type: a request path
never reaches the filesystem. The page carries a Content-Security-Policy that lets it load
scripts, styles and connections from its own origin only.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from oee.api.errors import ApiError

router = APIRouter()

_JS = "text/javascript; charset=utf-8"
_CSS = "text/css; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
# The page's modules (static/js/), one concern each; `main.js` imports the rest.
MODULES = (
    "api",
    "charts",
    "config",
    "demo",
    "faults",
    "firehose",
    "flow",
    "form",
    "launches",
    "main",
    "orders",
    "plot",
    "ring",
    "stats",
    "story",
    "table",
    "timeline",
    "util",
    "wallet",
    "watching",
)
# Path under /static/ -> content type: everything the page loads, and nothing else.
ASSETS = {
    "dashboard.css": _CSS,
    **{f"js/{name}.js": _JS for name in MODULES},
    "vendor/uPlot.iife.min.js": _JS,
    "vendor/uPlot.min.css": _CSS,
    "vendor/uPlot.LICENSE": _TEXT,
}
# Same origin only (a WebSocket to the page's own host is 'self' too). uPlot sizes its
# elements through the style property, which a style-src policy does not govern.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# The page changes with the package; browsers may keep it briefly but must check back.
_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


@cache
def _asset(name: str) -> bytes:
    return resources.files("oee.api").joinpath("static", *name.split("/")).read_bytes()


@router.get("/", include_in_schema=False)
async def dashboard() -> Response:
    """The dashboard page."""
    headers = {**_CACHE, "Content-Security-Policy": CSP}
    return Response(
        _asset("dashboard.html"), media_type="text/html; charset=utf-8", headers=headers
    )


@router.get("/static/{name:path}", include_in_schema=False)
async def static(name: str) -> Response:
    """The page's modules, style sheets and vendored files (only those in `ASSETS`)."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise ApiError(404, "NOT_FOUND", f"no static file {name[:60]!r}")
    return Response(_asset(name), media_type=media_type, headers=_CACHE)
