"""A headless Chromium for the dashboard's tests, driven by Playwright for Python.

Debian's Chromium (`/usr/bin/chromium`, installed by `scripts/test` when missing). Without it
(or without Playwright) the tests are skipped with a message; in CI (`CI=true`) they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.support.services import IN_CI

CHROMIUM = os.environ.get("OEE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CONFIRM_TIMEOUT_MS = 30_000


def _unavailable(message: str) -> None:
    message = f"{message}; scripts/test installs it (apt-get install chromium)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A launched browser, closed at the end of the block."""
    if shutil.which(CHROMIUM) is None:
        _unavailable(f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("the playwright package is missing (pip install -e '.[dev]')")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@asynccontextmanager
async def dashboard_page(
    browser: Any,
    url: str,
    viewport: tuple[int, int] = (1440, 900),
    *,
    enforce_csp: bool = False,
) -> AsyncIterator[Any]:
    """The dashboard open in a fresh context; the block fails on any JavaScript error.

    The page's Content-Security-Policy forbids `eval`, which Playwright's string predicates
    (`wait_for_function("...")`) use: it is bypassed unless `enforce_csp`; a test of its own
    loads the page under the policy.
    """
    width, height = viewport
    context = await browser.new_context(
        viewport={"width": width, "height": height}, bypass_csp=not enforce_csp
    )
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    await opened.goto(url)
    yield opened
    await context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def row(order_id: str) -> str:
    """The selector of an order's row in the dashboard's table."""
    return f'#order-rows tr[data-order-id="{order_id}"]'
