"""Adapters of the chain port."""
