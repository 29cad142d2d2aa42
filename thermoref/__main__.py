"""Command line: ``python -m thermoref selftest`` runs the partition-function bench."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m thermoref", description="thermoref command line")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("selftest", help="run the partition-function bench; exit 0 when every outcome is the expected one")
    args = parser.parse_args(argv)
    if args.command == "selftest":
        from .selftest import main as selftest_main

        return selftest_main()
    return 2  # unreachable: argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
