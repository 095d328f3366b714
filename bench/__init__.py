"""Benchmarks: each sub-package runs alone (`python -m bench.<name>`); `make bench` runs all."""
