"""Benchmarks: each sub-package is runnable on its own (`python -m bench.<name>`); `make bench` runs all."""
