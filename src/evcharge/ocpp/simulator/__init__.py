"""Simulated OCPP 1.6J charge points (the `ocpp` library's client side) for tests and benchmarks."""
