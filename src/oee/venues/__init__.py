"""On-chain venues: each package holds one DEX program's real wire formats and exact integer math."""
