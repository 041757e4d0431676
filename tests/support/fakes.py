"""Test doubles shared across the suites."""

from __future__ import annotations


class FakeClock:
    """Monotonic seconds that only move when the test says so (`clock.t += 2.5`)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t
