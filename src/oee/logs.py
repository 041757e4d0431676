"""Structured logging: JSON lines in production, readable lines in a terminal."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import orjson
import structlog


def _dumps(value: Any, default: Callable[[Any], Any] | None = None, **_: Any) -> str:
    # orjson renders a line in about half the time `json` takes. What it cannot (an integer
    # past 64 bits) falls back to `json`; `default` is structlog's repr() of unknown objects.
    try:
        return orjson.dumps(value, default=default, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value, default=default)


def json_renderer() -> structlog.typing.Processor:
    """The JSON lines renderer (orjson, with `json` as a fallback)."""
    return structlog.processors.JSONRenderer(serializer=_dumps)


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Configure structlog once per process.

    Args:
        level: Minimum level name (DEBUG, INFO, WARNING, ...).
        fmt: "json", "console", or "auto" (console when stderr is a terminal, else JSON).
    """
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        json_renderer()
        if as_json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info
            if as_json
            else structlog.processors.StackInfoRenderer(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(
        level=numeric, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    # One INFO line per HTTP request to the chain and venues would drown the engine's own logs,
    # and Alembic announces every plugin it loads on each start (migrate.py logs one line).
    for chatty in ("httpx", "httpcore", "alembic"):
        logging.getLogger(chatty).setLevel(max(numeric, logging.WARNING))
