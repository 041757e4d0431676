"""Helpers shared by the test suites, by topic; fixtures stay in the `conftest.py` files.

Test modules and conftest files import helpers from here, never from one another:
`services` (the real PostgreSQL and Redis), `engine` (a whole engine on a port), `api` (the API
over adapters a test picks, and `Driver`), `streams` (following an order's stream), `cli` (the
`oee` command as a subprocess), `fakes` (test doubles), `accounts` (an in-memory account source
for the on-chain venues), `sim` (the simulator in-process, reached over JSON-RPC by the
engine's adapters), `swaps` (real swap transactions built from the simulator's accounts).
"""
