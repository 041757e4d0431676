"""The simulated Solana world: pools, prices and a chain ledger, run in-process today."""
