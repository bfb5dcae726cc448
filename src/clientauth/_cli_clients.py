"""``clientauth client ...``: client lifecycle commands against a JSON registry file or a
database URL.

    add, rotate-secret, revoke-secret, pin-cert, unpin-cert, show, list, remove, migrate

``--registry`` is a path to a JSON file or a SQLAlchemy URL (``sqlite:///clients.db``,
``postgresql+psycopg://user@host/db``); it defaults to ``$CLIENTAUTH_REGISTRY``, which keeps
a database password out of argv (visible to every user through ``ps``).

Secrets are generated here and printed once (``add``, ``rotate-secret``); they are never
read from argv, and ``show`` / ``list`` never print a secret or a secret hash. Every change
is validated in full before it is written, and written atomically (a file: temporary file +
``os.replace`` under a lock; a database: one transaction with optimistic concurrency), so a
failed command leaves the registry as it was. Exit status: 0 done, 1 no such client / secret /
certificate, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import secrets as _stdlib_secrets
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TextIO

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ._clock import system_now
from ._terminal import terminal_lines
from ._x509 import certificate_thumbprint, load_certificate
from .clients import MAX_SECRETS_PER_CLIENT, Client, StoredSecret, parse_moment
from .exceptions import ClientAuthError, ConfigurationError, ParseError
from .names import NAME_FIELDS
from .result import AuthMethod

__all__ = ["MAX_DURATION", "MAX_SECRETS_PER_CLIENT", "REGISTRY_ENV", "register"]

REGISTRY_ENV = "CLIENTAUTH_REGISTRY"
"""Environment variable naming the registry when ``--registry`` is not given."""

MAX_DURATION = timedelta(days=3650)
"""Longest expiry accepted by ``--keep-old-for`` / ``--expires-in``."""

_EXIT_OK, _EXIT_NOT_FOUND = 0, 1
_MAX_INPUT = 1024 * 1024  # metadata documents and certificate files
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DURATION = re.compile(r"^(\d{1,9})([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SECRET_FIELDS = ("client_secret_hash", "client_secret_expires_at", "client_secrets")


class _Store(Protocol):
    """What the commands need from FileRegistry and SQLRegistry alike."""

    def get(self, client_id: str) -> Client | None: ...
    def add(self, client: Client) -> None: ...
    def update(self, client_id: str, change: Callable[[Client], Client]) -> Client | None: ...
    def remove(self, client_id: str) -> bool: ...
    def __iter__(self) -> Iterator[Client]: ...


class _NotFound(Exception):
    """Exit status 1: the client, secret or certificate named does not exist."""


def register(subparsers: Any) -> None:
    """Add the ``client`` command group to the CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "client", help="manage registered clients in a JSON file or a database"
    )
    sub = parser.add_subparsers(dest="client_command", metavar="ACTION", required=True)

    def action(name: str, text: str, func: Callable[..., int], *, client_id: bool = True,
               optional_id: bool = False) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=text, description=text)
        if client_id:
            p.add_argument("client_id", nargs="?" if optional_id else None, metavar="CLIENT_ID")
        p.add_argument(
            "--registry", metavar="PATH_OR_URL", default=os.environ.get(REGISTRY_ENV),
            help=f"JSON file or database URL (default: ${REGISTRY_ENV})",
        )
        p.set_defaults(func=_guard(func))
        return p

    add = action("add", "register a client (a secret method prints its new secret once)",
                 _cmd_add, optional_id=True)
    add.add_argument("--method", choices=[m.value for m in AuthMethod],
                     help="token_endpoint_auth_method (default: client_secret_basic)")
    add.add_argument("--metadata", metavar="FILE",
                     help="RFC 7591 client metadata JSON document ('-' for stdin)")
    names = add.add_mutually_exclusive_group()
    for field in NAME_FIELDS:
        flag = "--" + field.removeprefix("tls_client_auth_").replace("_", "-")
        names.add_argument(flag, dest=field, metavar="NAME",
                           help=f"tls_client_auth: the registered {field}")
    add.add_argument("--cert", metavar="FILE", action="append", default=[],
                     help="self_signed_tls_client_auth: pin this certificate (repeatable)")
    add.add_argument("--thumbprint", metavar="X5T", action="append", default=[],
                     help="self_signed_tls_client_auth: pin this x5t#S256 (repeatable)")
    add.add_argument("--jwks-uri", metavar="URL", help="self_signed_tls_client_auth: jwks_uri")
    add.add_argument("--trust-anchor", metavar="FILE", action="append", default=[],
                     help="tls_client_auth: a trust anchor for this client only (PEM)")
    add.add_argument("--expires-in", metavar="DURATION",
                     help="secret methods: the secret expires after this (e.g. 90d; default never)")
    add.add_argument("--json", action="store_true",
                     help="print an RFC 7591 registration response instead of text")

    rot = action("rotate-secret", "issue a new secret (printed once); old ones expire later",
                 _cmd_rotate)
    rot.add_argument("--keep-old-for", metavar="DURATION", required=True,
                     help="old secrets stay valid this long (e.g. 24h; 0 revokes them now)")
    rot.add_argument("--expires-in", metavar="DURATION",
                     help="the new secret expires after this (default never)")
    rot.add_argument("--json", action="store_true", help="machine-readable output")

    rev = action("revoke-secret", "delete one or more of a client's secrets", _cmd_revoke)
    which = rev.add_mutually_exclusive_group(required=True)
    which.add_argument("--label", help="the secret's label, as `client show` lists it")
    which.add_argument("--secret-stdin", action="store_true",
                       help="the secret whose value is read from standard input")
    which.add_argument("--expired", action="store_true", help="every expired secret")
    which.add_argument("--all-but-newest", action="store_true",
                       help="every secret except the most recently issued")

    for name, func, text in (
        ("pin-cert", _cmd_pin, "pin a certificate (self_signed_tls_client_auth)"),
        ("unpin-cert", _cmd_unpin, "remove a pinned certificate"),
    ):
        p = action(name, text, func)
        cert = p.add_mutually_exclusive_group(required=True)
        cert.add_argument("--cert", metavar="FILE", help="the certificate (PEM or DER)")
        cert.add_argument("--thumbprint", metavar="X5T", help="its x5t#S256")
        if name == "pin-cert":
            p.add_argument("--replace", action="store_true",
                           help="unpin every other certificate (re-pin)")

    show = action("show", "describe a client (never shows a secret or its hash)", _cmd_show)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    lst = action("list", "list registered clients", _cmd_list, client_id=False)
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    action("remove", "delete a client", _cmd_remove)
    action("migrate", "create or upgrade the database schema", _cmd_migrate, client_id=False)


def _guard(func: Callable[[argparse.Namespace, TextIO], int]) -> Callable[..., int]:
    def run(args: argparse.Namespace, out: TextIO) -> int:
        if not args.registry:
            raise ParseError(f"give --registry PATH_OR_URL (or set ${REGISTRY_ENV})")
        try:
            return func(args, out)
        except _NotFound as exc:
            _say(f"clientauth: {exc}", file=sys.stderr)
            return _EXIT_NOT_FOUND
        except ClientAuthError:
            raise
        except Exception as exc:
            sqlalchemy = sys.modules.get("sqlalchemy")
            if sqlalchemy is not None and isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
                # First line only: the driver's reason; parameters are hidden by the engine.
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
                raise ConfigurationError(
                    f"database error: {reason[0] if reason else type(exc).__name__}"
                ) from None
            raise

    return run


def _open(target: str, *, create: bool = False) -> _Store:
    if _URL.match(target):
        from .registry_sql import SQLRegistry  # noqa: PLC0415 - SQLAlchemy is optional

        # No cache: each command reads the database once and must see the latest state.
        return SQLRegistry(target, cache_ttl=0)
    from .registry_file import FileRegistry  # noqa: PLC0415

    return FileRegistry(target, reload_interval=0, create=create)


def _where(target: str) -> str:
    if _URL.match(target):
        from sqlalchemy import make_url  # noqa: PLC0415

        try:
            return make_url(target).render_as_string(hide_password=True)
        except ValueError:  # ArgumentError, or a bad port: SQLRegistry reports it
            return "the database"
    return target


def _update(args: argparse.Namespace, change: Callable[[Client], Client]) -> Client:
    store = _open(args.registry)
    updated = store.update(args.client_id, change)
    if updated is None:
        raise _NotFound(f"no client {args.client_id!r} in {_where(args.registry)}")
    return updated


# -- add ----------------------------------------------------------------------------------


def _cmd_add(args: argparse.Namespace, out: TextIO) -> int:
    document: dict[str, Any] = {}
    if args.metadata:
        try:
            loaded = json.loads(_read_text(args.metadata))
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"--metadata: not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise ParseError("--metadata must hold one JSON object (RFC 7591 client metadata)")
        document = loaded
    if "client_secret" in document:
        raise ParseError(
            "the metadata holds a clear-text client_secret: remove it (a new secret is "
            "generated and printed once) or give client_secret_hash"
        )

    def put(field: str, value: object) -> None:
        if field in document and document[field] != value:
            raise ParseError(f"{field} given both in --metadata and as an option, differently")
        document[field] = value

    if args.client_id is not None:
        put("client_id", args.client_id)
    # RFC 7591 3.2.1: the server issues the client_id when the request has none.
    document.setdefault("client_id", _stdlib_secrets.token_urlsafe(16))
    if args.method is not None:
        put("token_endpoint_auth_method", args.method)
    method_name = document.setdefault(
        "token_endpoint_auth_method", AuthMethod.CLIENT_SECRET_BASIC.value
    )
    for field in NAME_FIELDS:
        if getattr(args, field) is not None:
            put(field, getattr(args, field))
    if args.cert:
        put("tls_client_certificates", [_pem(_read_cert(f)) for f in args.cert])
    if args.thumbprint:
        put("tls_client_certificate_thumbprints", list(args.thumbprint))
    if args.trust_anchor:
        put("tls_client_auth_trust_anchors", [_pem(_read_cert(f)) for f in args.trust_anchor])
    if args.jwks_uri:
        put("jwks_uri", args.jwks_uri)

    now = system_now()
    secret: str | None = None
    expires_at = 0
    uses_secret = method_name in {m.value for m in AuthMethod if m.uses_secret}
    if args.expires_in is not None and not uses_secret:
        raise ParseError(f"--expires-in applies to secret methods, not {method_name}")
    if uses_secret and not any(f in document for f in ("client_secret_hash", "client_secrets")):
        expires_in = None if args.expires_in is None else _duration(args.expires_in,
                                                                    "--expires-in")
        secret, stored = StoredSecret.issue(expires_in=expires_in, now=now)
        if stored.expires_at is not None:
            expires_at = _epoch(stored.expires_at)
        document["client_secrets"] = [stored.to_entry()]
    client = Client.from_metadata(document)  # every check before anything is written
    _open(args.registry, create=True).add(client)

    if args.json:
        response: dict[str, Any] = {
            "client_id": client.client_id,
            "client_id_issued_at": _epoch(now),
            "token_endpoint_auth_method": client.method.value,
        }
        if secret is not None:
            response["client_secret"] = secret
            response["client_secret_expires_at"] = expires_at
        _say(json.dumps(response, indent=2), file=out)
        return _EXIT_OK
    _say(f"added client {client.client_id!r} ({client.method.value}) "
          f"to {_where(args.registry)}", file=out)
    _say(f"client_id: {client.client_id}", file=out)
    if secret is not None:
        _print_secret(secret, expires_at, out)
    return _EXIT_OK


# -- secrets ------------------------------------------------------------------------------


def _cmd_rotate(args: argparse.Namespace, out: TextIO) -> int:
    keep = _duration(args.keep_old_for, "--keep-old-for")
    now = system_now()
    expires_in = _duration(args.expires_in, "--expires-in") if args.expires_in else None
    # Issued once, outside the change: a retried database update must store the same secret.
    secret, entry = StoredSecret.issue(expires_in=expires_in, now=now)
    client = _update(args, lambda c: c.rotate_secret(entry, keep_old_for=keep, now=now))
    kept = len(client.secrets) - 1  # rotate_secret appends the new secret last
    deadline = _epoch(now + keep)
    expires_at = _epoch(entry.expires_at) if entry.expires_at is not None else 0
    if args.json:
        _say(json.dumps({"client_id": client.client_id, "client_secret": secret,
                          "client_secret_expires_at": expires_at, "label": entry.label,
                          "old_secrets_expire_at": deadline if kept else None}, indent=2),
              file=out)
        return _EXIT_OK
    _say(f"rotated the secret of client {client.client_id!r} (new label {entry.label})",
          file=out)
    if kept:
        _say(f"{kept} older secret(s) stay valid until {_iso(deadline)}", file=out)
    else:
        _say("older secrets are revoked", file=out)
    _print_secret(secret, expires_at, out)
    return _EXIT_OK


def _cmd_revoke(args: argparse.Namespace, out: TextIO) -> int:
    now = system_now()
    presented = None
    if args.secret_stdin:
        text = (getpass.getpass("secret to revoke: ") if sys.stdin.isatty()
                else sys.stdin.readline().rstrip("\r\n"))
        presented = text.encode("utf-8", "surrogateescape")
    removed: list[str] = []

    def change(client: Client) -> Client:
        new = client.revoke_secrets(label=args.label, secret=presented, expired=args.expired,
                                    all_but_newest=args.all_but_newest, now=now)
        if new == client:
            raise _NotFound(f"no matching secret for client {client.client_id!r}")
        removed[:] = [label for s, label in zip(client.secrets, client.secret_labels(),
                                                 strict=True) if s not in new.secrets]
        return new

    client = _update(args, change)
    _say(f"revoked {len(removed)} secret(s) of client {client.client_id!r}: "
          + ", ".join(removed), file=out)
    return _EXIT_OK


def _show_moment(value: object) -> str | None:
    """A stored time for display: ISO 8601 when it parses, else the stored value as text
    (escaped on output like every other field)."""
    if value is None or value == 0:
        return None
    moment = value if isinstance(value, datetime) else parse_moment(value)
    return moment.isoformat() if moment is not None else f"unreadable: {value!r}"


def _print_secret(secret: str, expires_at: int, out: TextIO) -> None:
    _say("client secret (shown once; give it to the client, it is stored only as a hash):",
          file=out)
    _say(f"  {secret}", file=out)
    if expires_at:
        _say(f"expires {_iso(expires_at)}", file=out)


# -- certificates -------------------------------------------------------------------------


def _cmd_pin(args: argparse.Namespace, out: TextIO) -> int:
    cert = _read_cert(args.cert) if args.cert else None
    pin: x509.Certificate | str = cert if cert is not None else args.thumbprint
    thumbprint = certificate_thumbprint(cert) if cert is not None else args.thumbprint
    already: list[bool] = []

    def change(client: Client) -> Client:
        new = client.pin_certificate(pin, replace=args.replace)
        already[:] = [new == client]
        return new

    client = _update(args, change)
    if already[0]:
        _say(f"{thumbprint} is already pinned for client {client.client_id!r}", file=out)
    else:
        _say(f"pinned {thumbprint} for client {client.client_id!r}"
              + (" (every other certificate unpinned)" if args.replace else ""), file=out)
    if cert is not None and cert.not_valid_after_utc <= system_now():
        _say(f"warning: the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}",
              file=out)
    if client.jwks_uri:
        _say(f"note: certificates from jwks_uri {client.jwks_uri} are accepted too", file=out)
    return _EXIT_OK


def _cmd_unpin(args: argparse.Namespace, out: TextIO) -> int:
    thumbprint = certificate_thumbprint(_read_cert(args.cert)) if args.cert else args.thumbprint

    def change(client: Client) -> Client:
        new = client.unpin_certificate(thumbprint)
        if new == client:
            raise _NotFound(f"{thumbprint} is not pinned for client {client.client_id!r}")
        return new

    client = _update(args, change)
    _say(f"unpinned {thumbprint} from client {client.client_id!r}", file=out)
    return _EXIT_OK


# -- show / list --------------------------------------------------------------------------


def _describe(client: Client, now: datetime) -> dict[str, Any]:
    """A client's metadata with every secret hash replaced by facts about the secret."""
    described: dict[str, Any] = {
        k: v for k, v in client.to_metadata().items()
        if k not in (*_SECRET_FIELDS, "tls_client_certificates", "tls_client_auth_trust_anchors")
    }
    described["token_endpoint_auth_method"] = client.method.value
    if client.method.uses_secret:
        described["secrets"] = [
            {
                "label": label,
                "created_at": _show_moment(s.created_at),
                "expires_at": _show_moment(s.expires_at),
                "status": "expired" if s.expired(now) else "live",
            }
            for s, label in zip(client.secrets, client.secret_labels(), strict=True)
        ]
    if client.pinned_certificates:
        described["pinned_certificates"] = [_cert_facts(c) for c in client.pinned_certificates]
    if client.trust_anchors:
        described["trust_anchors"] = [_cert_facts(c) for c in client.trust_anchors]
    return described


def _cert_facts(cert: x509.Certificate) -> dict[str, str]:
    return {
        "x5t#S256": certificate_thumbprint(cert),
        "subject": cert.subject.rfc4514_string(),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }


def _cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    client = _open(args.registry).get(args.client_id)
    if client is None:
        raise _NotFound(f"no client {args.client_id!r} in {_where(args.registry)}")
    facts = _describe(client, system_now())
    if args.json:
        _say(json.dumps(facts, indent=2, ensure_ascii=False), file=out)
        return _EXIT_OK
    width = max(len(k) for k in facts)
    for key, value in facts.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            _say(f"{key}:", file=out)
            for item in value:
                _say("  - " + ", ".join(f"{k} {v}" for k, v in item.items()), file=out)
        else:
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            _say(f"{key:<{width}}  {shown}", file=out)
    return _EXIT_OK


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    store = _open(args.registry)
    now = system_now()
    rows = []
    for client in sorted(store, key=lambda c: c.client_id):
        if client.method.uses_secret:
            live = sum(1 for s in client.secrets if not s.expired(now))
            summary = f"{live} live secret(s) of {len(client.secrets)}"
        elif client.registered_name is not None:
            summary = f"{client.registered_name.field} = {client.registered_name.value}"
        else:
            summary = f"{len(client.pinned_thumbprints)} pinned certificate(s)" + (
                f", jwks_uri {client.jwks_uri}" if client.jwks_uri else ""
            )
        rows.append({"client_id": client.client_id, "method": client.method.value,
                     "credentials": summary})
    if args.json:
        _say(json.dumps(rows, indent=2, ensure_ascii=False), file=out)
        return _EXIT_OK
    for row in rows:
        _say(f"{row['client_id']}  {row['method']}  {row['credentials']}", file=out)
    _say(f"{len(rows)} client(s) in {_where(args.registry)}", file=out)
    return _EXIT_OK


def _cmd_remove(args: argparse.Namespace, out: TextIO) -> int:
    if not _open(args.registry).remove(args.client_id):
        raise _NotFound(f"no client {args.client_id!r} in {_where(args.registry)}")
    _say(f"removed client {args.client_id!r}", file=out)
    return _EXIT_OK


def _cmd_migrate(args: argparse.Namespace, out: TextIO) -> int:
    if not _URL.match(args.registry):
        raise ParseError("migrate applies to a database URL; a JSON file has no schema")
    from .registry_sql import SQLRegistry  # noqa: PLC0415

    registry = SQLRegistry(args.registry, cache_ttl=0)
    before = registry.schema_version()
    after = registry.create_schema()
    if before == after:
        _say(f"schema version {after}: up to date", file=out)
    else:
        _say(f"schema version {before or 'none'} -> {after}", file=out)
    return _EXIT_OK


# -- helpers ------------------------------------------------------------------------------


def _say(text: str, *, file: TextIO) -> None:
    """Print one message. Every output path goes through here: registry content is written
    by whoever registered the client (an RFC 7591 document), so control characters in it
    are escaped before they reach the operator's terminal."""
    print(terminal_lines(text), file=file)


def _read_text(path: str) -> str:
    if path == "-":
        data = sys.stdin.read(_MAX_INPUT + 1)
    else:
        with open(path, encoding="utf-8") as fh:
            data = fh.read(_MAX_INPUT + 1)
    if len(data) > _MAX_INPUT:
        raise ParseError(f"{path}: larger than {_MAX_INPUT} bytes")
    return data


def _read_cert(path: str) -> x509.Certificate:
    with open(path, "rb") as fh:
        data = fh.read(_MAX_INPUT + 1)
    if len(data) > _MAX_INPUT:
        raise ParseError(f"{path}: larger than {_MAX_INPUT} bytes")
    return load_certificate(data)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode("ascii")


def _duration(text: str, option: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if match is None:
        raise ParseError(f"{option} {text!r}: expected a number with s, m, h or d (e.g. 24h)")
    value = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    if value > MAX_DURATION:
        raise ParseError(f"{option}: at most {MAX_DURATION.days} days")
    return value


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
