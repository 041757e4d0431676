"""The pure domain: orders, their state machine, events, tokens, AMM math and routing.

Nothing in this package performs IO or imports asyncio, a database, Redis or a web framework.
"""
