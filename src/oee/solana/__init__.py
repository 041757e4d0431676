"""What the engine and the simulator both need of Solana itself: account layouts as data, and
the System, SPL Token, Associated Token Account, compute-budget and memo programs."""
