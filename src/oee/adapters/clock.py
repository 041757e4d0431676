"""The system clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


class SystemClock:
    """Wall-clock UTC time and real sleeps."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
