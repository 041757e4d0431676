"""Adapters of the notional-limiter port."""
