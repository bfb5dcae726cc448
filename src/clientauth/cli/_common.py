"""What every ``clientauth`` command shares, defined once: the exit statuses, the registry
option, the spelling of methods, the expiry option, reading certificate files and printing
times. ``docs/cli.md`` documents each of them; ``tests/test_cli_consistency.py`` holds every
command to them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from .._clock import Clock, aware, system_now
from .._x509 import load_certificate, load_pem_bundle
from ..exceptions import ClientAuthError, ParseError
from ..result import AuthMethod
from ._terminal import terminal_lines

if TYPE_CHECKING:
    from cryptography import x509

    from ..clients import Client

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "MAX_DURATION",
    "MAX_FILE",
    "REGISTRY_ENV",
    "Store",
    "add_expiry_option",
    "add_registry_option",
    "clock",
    "credentials_summary",
    "duration",
    "expiry",
    "failed",
    "is_url",
    "iso_z",
    "method_type",
    "now",
    "open_registry",
    "read_bytes",
    "read_certificates",
    "registry_target",
    "where",
]

clock: Clock = system_now
"""The commands' clock (issue, rotate and expiry times; "expired" in listings). Tests replace
it (``monkeypatch.setattr(clientauth._cli_common, "clock", ...)``) instead of asserting
against the wall clock."""


def now() -> datetime:
    """The time now by :data:`clock`, checked like every ``now=`` (an aware datetime)."""
    return aware(clock())


# The exit statuses, as docs/cli.md lists them. Every command uses these and no other.
EXIT_OK = 0
"""Done; for ``check``: the credential authenticates the client."""
EXIT_REFUSED = 1
"""``check``: the credential is refused; ``demo``: a scenario did not turn out as expected."""
EXIT_USAGE = 2
"""Usage or configuration error: a bad option, an unreadable or invalid file, registry or
metadata, a change the library's rules refuse, a database error. Nothing was changed."""
EXIT_NOT_FOUND = 3
"""The client, secret or pinned certificate named on the command line does not exist."""
EXIT_INTERNAL = 4
"""A bug: an exception no command expected (the traceback is printed). Never 1, which a
script would read as "authentication refused"."""

REGISTRY_ENV = "CLIENTAUTH_REGISTRY"
"""Environment variable naming the registry when ``--registry`` is not given."""

MAX_DURATION = timedelta(days=3650)
"""Longest duration accepted by ``--expires-in`` / ``--keep-old-for``."""

MAX_FILE = 1024 * 1024
"""Largest file (certificate, chain, metadata document) a command reads, in bytes."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DURATION = re.compile(r"^(\d{1,9})([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_STDIN = "-"

# -- unexpected exceptions ----------------------------------------------------------------


def failed(exc: Exception) -> int:
    """The exit status for an exception the command did not handle: a database error is a
    configuration error (2, its first line printed: the driver's reason, never the query's
    parameters, which the engine hides); anything else is a bug (4, with the traceback)."""
    sqlalchemy = sys.modules.get("sqlalchemy")
    if sqlalchemy is not None and isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        message = f"database error: {reason[0] if reason else type(exc).__name__}"
        print(terminal_lines(f"clientauth: {message}"), file=sys.stderr)
        return EXIT_USAGE
    traceback.print_exception(exc, file=sys.stderr)
    print(f"clientauth: internal error ({type(exc).__name__}); please report it with the "
          "traceback above", file=sys.stderr)
    return EXIT_INTERNAL


# -- the registry option ----------------------------------------------------------------------


def add_registry_option(parser: argparse.ArgumentParser) -> None:
    """``--registry PATH_OR_URL`` (default ``$CLIENTAUTH_REGISTRY``), and ``--clients``, the
    name ``check`` used before, as a hidden alias."""
    parser.add_argument(
        "--registry", metavar="PATH_OR_URL", default=os.environ.get(REGISTRY_ENV),
        help=f"client registry: a JSON file or a database URL (default: ${REGISTRY_ENV})",
    )
    parser.add_argument("--clients", dest="registry", help=argparse.SUPPRESS)


def registry_target(args: argparse.Namespace) -> str:
    """The registry the command works on; a usage error when none is named."""
    target: str | None = args.registry
    if not target:
        raise ParseError(f"give --registry PATH_OR_URL (or set ${REGISTRY_ENV})")
    return target


class Store(Protocol):
    """What the commands need from FileRegistry and SQLRegistry alike."""

    def get(self, client_id: str) -> Client | None: ...
    def find_by_certificate(self, certificate: x509.Certificate) -> Sequence[Client]: ...
    def add(self, client: Client) -> None: ...
    def update(self, client_id: str, change: Callable[[Client], Client]) -> Client | None: ...
    def remove(self, client_id: str) -> bool: ...
    def __iter__(self) -> Iterator[Client]: ...


def is_url(target: str) -> bool:
    return _URL.match(target) is not None


def open_registry(target: str, *, create: bool = False) -> Store:
    """A JSON file or a SQLAlchemy URL, read afresh (no cache: a command must see the latest
    state)."""
    if is_url(target):
        from ..registry.sql import SQLRegistry  # noqa: PLC0415 - SQLAlchemy is optional

        return SQLRegistry(target, cache_ttl=0)
    from ..registry.file import FileRegistry  # noqa: PLC0415

    return FileRegistry(target, reload_interval=0, create=create)


def where(target: str) -> str:
    """The registry as printed: a database URL without its password."""
    if is_url(target):
        from sqlalchemy import make_url  # noqa: PLC0415

        try:
            return make_url(target).render_as_string(hide_password=True)
        except ValueError:  # ArgumentError, or a bad port: SQLRegistry reports it
            return "the database"
    return target


# -- methods ------------------------------------------------------------------------------

METHOD_ALIASES = {
    "basic": AuthMethod.CLIENT_SECRET_BASIC,
    "post": AuthMethod.CLIENT_SECRET_POST,
    "header": AuthMethod.CLIENT_SECRET_HEADER,
}
"""Short names ``check --method`` took before; the RFC 7591 / RFC 8705 names are the
documented spelling everywhere."""


def method_type(allowed: Iterable[AuthMethod]) -> Callable[[str], AuthMethod]:
    """An argparse ``type``: a method by its registered name (or a short alias), one of
    ``allowed``; anything else is a usage error listing the names."""
    choices = tuple(allowed)

    def parse(text: str) -> AuthMethod:
        method = METHOD_ALIASES.get(text)
        if method is None:
            try:
                method = AuthMethod(text)
            except ValueError:
                method = None
        if method is None or method not in choices:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected one of " + ", ".join(m.value for m in choices)
            )
        return method

    parse.__name__ = "method"  # argparse names the type in its messages
    return parse


# -- durations and expiry -----------------------------------------------------------------


def duration(text: str, option: str) -> timedelta:
    """``90d``, ``24h``, ``30m``, ``45s`` or plain seconds, at most :data:`MAX_DURATION`."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ParseError(f"{option} {text!r}: expected a number with s, m, h or d (e.g. 24h)")
    value = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    if value > MAX_DURATION:
        raise ParseError(f"{option}: at most {MAX_DURATION.days} days")
    return value


def add_expiry_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--expires-in DURATION`` (the documented form) and ``--expires-in-days N`` (the form
    ``secret generate`` took before, kept as an alias)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--expires-in", metavar="DURATION",
                       help=f"{what} expires after this (e.g. 90d, 24h; 0 or absent: never)")
    group.add_argument("--expires-in-days", metavar="N", help=argparse.SUPPRESS)


def expiry(args: argparse.Namespace) -> timedelta | None:
    """The expiry the options give; ``None`` for never (absent, or 0)."""
    if args.expires_in_days is not None:
        days = args.expires_in_days.strip()
        if not days.isdigit():
            raise ParseError(f"--expires-in-days {days!r}: expected a whole number of days")
        value = duration(days + "d", "--expires-in-days")
    elif args.expires_in is not None:
        value = duration(args.expires_in, "--expires-in")
    else:
        return None
    return value or None


# -- certificate files --------------------------------------------------------------------


def read_bytes(path: str, *, limit: int = MAX_FILE) -> bytes:
    """A file's content (``-``: standard input), at most ``limit`` bytes."""
    if path == _STDIN:
        data = sys.stdin.buffer.read(limit + 1)
    else:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    if len(data) > limit:
        raise ParseError(f"{_shown(path)}: larger than {limit} bytes")
    return data


def read_certificates(path: str) -> list[x509.Certificate]:
    """Every certificate in a PEM or DER file, leaf first as a chain file holds them. An
    error names the file."""
    data = read_bytes(path)
    try:
        if data.count(b"-----BEGIN CERTIFICATE-----") > 1:
            return list(load_pem_bundle(data))
        return [load_certificate(data)]
    except ClientAuthError as exc:
        raise ParseError(f"{_shown(path)}: {exc}") from None


def _shown(path: str) -> str:
    return "standard input" if path == _STDIN else path


# -- times --------------------------------------------------------------------------------


def iso_z(moment: datetime) -> str:
    """The one time format of the CLI's output: ISO 8601 in UTC with ``Z``, whole seconds
    (``2026-06-01T12:00:00Z``)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def credentials_summary(client: Client, at: datetime) -> str:
    """One line on what a client authenticates with, for ``client list`` and ``check``:
    counts and public names only, never a secret, hash or MAC key."""
    method = client.method
    if method is AuthMethod.CLIENT_SECRET_JWT:
        return "client_secret (MAC key, not shown)"
    if method is AuthMethod.PRIVATE_KEY_JWT:
        return f"{len(client.assertion_keys)} signing key(s)" + (
            f", jwks_uri {client.jwks_uri}" if client.jwks_uri else ""
        )
    if method.uses_secret:
        live = sum(1 for s in client.secrets if not s.expired(at))
        return f"{live} live secret(s) of {len(client.secrets)}"
    if client.registered_name is not None:
        return f"{client.registered_name.field} = {client.registered_name.value}"
    return f"{len(client.pinned_thumbprints)} pinned certificate(s)" + (
        f", jwks_uri {client.jwks_uri}" if client.jwks_uri else ""
    )
