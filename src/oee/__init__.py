"""Order execution engine for Solana DEX trading.

Quotes Raydium and Meteora, routes each order to the better net output, builds and signs the
transaction, submits and confirms it, and streams every step to the client over WebSocket.
"""

__version__ = "0.1.0"
