"""``clientauth client ...``: client lifecycle commands (add, rotate-secret, revoke-secret,
pin-cert, unpin-cert, show, list) against a JSON registry file or a database URL."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``client`` command group to the CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "client", help="manage registered clients (not yet available)"
    )
    parser.set_defaults(func=_not_available)


def _not_available(args: argparse.Namespace, out: Any) -> int:
    print("clientauth client: the lifecycle commands are not available yet", file=out)
    return 2
