"""The `minik8s` command: bring clusters up and down, and small tools around them.

The command line is a contract (DESIGN.md §8): scripts, labs and tests rely on it.
`up`, `down`, `status` and `chaos` arrive with the API server and nodes; today the
command reports its version and says so.
"""
from __future__ import annotations

import argparse
import sys

from minik8s import __version__


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="minik8s", description="Kubernetes, small enough to read.")
    p.add_argument("--version", action="version", version=f"minik8s {__version__}")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("version", help="print the version")
    for name in ("up", "down", "status"):
        sub.add_parser(name, help=f"{name} a cluster (coming with the API server issue)")
    return p


def main(argv: list | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"minik8s {__version__}")
        return 0
    if args.command in ("up", "down", "status"):
        print(f"minik8s {args.command}: not available yet (the HTTP API server comes next)",
              file=sys.stderr)
        return 2
    build_parser().print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
