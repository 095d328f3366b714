"""Run every benchmark in turn: `make bench` (or `python -m bench [name ...]`)."""

import runpy
import sys

BENCHMARKS = ("planner", "create_order", "ocpp")


def main() -> None:
    names = sys.argv[1:] or list(BENCHMARKS)
    for name in names:
        print(f"\n=== bench.{name} ===", flush=True)
        sys.argv = [f"bench.{name}"]
        runpy.run_module(f"bench.{name}", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
