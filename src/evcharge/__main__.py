"""`python -m evcharge` is the `evcharge` command."""

from evcharge.cli import main

main()
