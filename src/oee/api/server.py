"""The one place that says how the API is served (uvicorn with uvloop and httptools)."""

from __future__ import annotations

import uvicorn
from starlette.applications import Starlette


def server_config(app: Starlette, *, host: str = "127.0.0.1", port: int = 0) -> uvicorn.Config:
    """Uvicorn settings for the engine's app; `oee serve`, `oee api` and the tests all use these.

    Args:
        app: The app from `create_app`.
        host: Interface to bind (ignored when the caller passes its own sockets).
        port: Port to bind (likewise).
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="httptools",
        ws="websockets-sansio",
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
