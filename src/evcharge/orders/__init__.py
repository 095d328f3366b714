"""Seed B: charge orders — the ledger of charging sessions to bill."""
