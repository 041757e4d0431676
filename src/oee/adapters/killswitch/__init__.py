"""Adapters of the kill-switch port."""
