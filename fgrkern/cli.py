"""The ``fgrkern`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ._version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fgrkern",
        description="Emergence of Fermi's Golden Rule (PRL 129, 140402): theory, numerics, Figure 2.",
    )
    parser.add_argument("--version", action="version", version=f"fgrkern {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return 0
