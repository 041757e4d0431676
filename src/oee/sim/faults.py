"""The simulator's fault rate, adjustable while it runs.

The quote services and the JSON-RPC node share one `Faults` and read `rate` on every request,
so `POST /admin/faults` (a demo, a chaos run) changes what the next request sees without a
restart. The seeded draws stay reproducible for a run whose rate is never changed.
"""

from __future__ import annotations

import json
import math


class Faults:
    """The chance (0..1) that a quote or a send fails with a transient fault."""

    def __init__(self, rate: float = 0.0) -> None:
        self.rate = _checked(rate)

    def set_rate(self, rate: float) -> None:
        """Change the rate for every request from now on.

        Raises:
            ValueError: `rate` is not a number from 0 to 1.
        """
        self.rate = _checked(rate)


def parse_rate(body: bytes) -> float:
    """The rate of a `{"rate": 0.3}` body; raises ValueError saying what is wrong."""
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError('the body must be JSON: {"rate": 0.3}') from None
    rate = data.get("rate") if isinstance(data, dict) else None
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise ValueError('the body must be {"rate": <a number from 0 to 1>}')
    return _checked(float(rate))


def _checked(rate: float) -> float:
    if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
        raise ValueError(f"rate must be a number from 0 to 1, got {rate!r}")
    return float(rate)
