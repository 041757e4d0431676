"""Typed domain errors, each with a stable machine code and a human message."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises; `code` is stable and machine readable."""

    code = "DOMAIN_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidOrder(DomainError):
    """A submitted order breaks a rule (unknown token, bad amount, bad slippage, ...)."""

    code = "INVALID_ORDER"


class IllegalTransition(DomainError):
    """A status change that the order state machine does not allow."""

    code = "ILLEGAL_TRANSITION"


class StaleOrder(DomainError):
    """The order changed since it was read: another worker owns this step now."""

    code = "STALE_ORDER"


class IdempotencyConflict(DomainError):
    """An idempotency key already names an order with a different request."""

    code = "IDEMPOTENCY_KEY_REUSED"


class NoRoute(DomainError):
    """No venue returned a usable quote."""

    code = "NO_ROUTE"


class ExecutionError(DomainError):
    """A failure while executing an order.

    `retryable` tells the executor whether a fresh attempt may succeed (timeouts, rate limits,
    an expired blockhash that did not land) or whether the order must fail now (slippage,
    insufficient funds).
    """

    code = "EXECUTION_ERROR"

    def __init__(
        self, message: str, *, code: str, retryable: bool, fee_lamports: int | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retryable = retryable
        # Set when the transaction landed and failed on chain: its fee was paid all the same.
        self.fee_lamports = fee_lamports
