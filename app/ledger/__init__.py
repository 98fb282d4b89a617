"""The ledger: drivers' wallets and their entries."""
