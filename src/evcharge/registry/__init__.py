"""Customers, contracts, gateways and charging devices on the seed's own path hierarchy."""
