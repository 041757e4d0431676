"""Adapters: one sub-package per port, one module per technology."""
