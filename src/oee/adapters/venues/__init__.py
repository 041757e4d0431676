"""Adapters of the venues port."""
