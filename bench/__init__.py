"""Benchmarks: each sub-package runs on its own (`python -m bench.<name>`); `make bench` all."""
