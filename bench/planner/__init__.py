"""Planner benchmark (see __main__.py)."""
