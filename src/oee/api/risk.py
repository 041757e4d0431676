"""The pre-trade checks a submit answers at once (`docs/decisions.md` says which run where).

- **Token lists** (`OEE_TOKEN_ALLOWLIST`, `OEE_TOKEN_DENYLIST`): an order naming a refused token
  on either side (a sniper's mint too) is 403 `TOKEN_NOT_ALLOWED`, naming the field at fault.
  The lists are known at submit, so nothing is stored for an order that could never trade.
- **Kill switch** (`POST /api/admin/halt`): while trading is halted every submit (market, limit
  and sniper) answers 503 `HALTED` with the halt's `reason` and `since`, and no `Retry-After`:
  the halt lasts until an admin resumes it, not for a known time.
"""

from __future__ import annotations

from oee.api.errors import ApiError
from oee.bootstrap import Engine
from oee.domain.orders import SubmitOrder


def check_tokens(engine: Engine, cmd: SubmitOrder) -> None:
    """Refuse an order that names a token this engine does not trade.

    Raises:
        ApiError: 403 `TOKEN_NOT_ALLOWED`, with each refused side in `errors`.
    """
    policy = engine.token_policy
    if not policy.active:
        return
    refused = policy.refusals((("tokenIn", cmd.token_in), ("tokenOut", cmd.token_out)))
    if refused:
        engine.metrics.risk_refusals_for("TOKEN_NOT_ALLOWED").inc()
        errors = [{"field": field, "message": message} for field, message in refused]
        raise ApiError(403, "TOKEN_NOT_ALLOWED", "; ".join(m for _, m in refused), errors)


async def check_trading(engine: Engine) -> None:
    """Refuse a new order while trading is halted.

    Raises:
        ApiError: 503 `HALTED`, with the halt's `reason` and `since`.
    """
    halt = await engine.halt.halted()
    if halt is None:
        return
    engine.metrics.risk_refusals_for("HALTED").inc()
    since = halt.at.isoformat() if halt.at is not None else None
    who = f" by {halt.by}" if halt.by else ""
    why = f": {halt.reason}" if halt.reason else ""
    raise ApiError(
        503,
        "HALTED",
        f"trading is halted since {since} ({who.strip() or 'by an admin'}{why}): no new orders "
        "until an admin resumes it",
        extra={"reason": halt.reason, "since": since},
    )
