"""Tools for measuring and testing the engine from the outside: never imported by the engine."""
