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
failed command leaves the registry as it was. Exit status (``_cli_common``): 0 done, 2 usage
or configuration error, 3 no such client / secret / certificate.

``add`` registers the method its credential options call for (a registered name:
``tls_client_auth``; a pin: ``self_signed_tls_client_auth``; none: ``client_secret_basic``)
and refuses an option the method would ignore.
"""

from __future__ import annotations

import argparse
import getpass
import json
import secrets as _stdlib_secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .._x509 import certificate_thumbprint
from ..clients import MAX_SECRETS_PER_CLIENT, Client, StoredSecret, parse_moment
from ..exceptions import ParseError
from ..names import NAME_FIELDS
from ..result import AuthMethod
from ..secret import generate_secret
from ._common import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    MAX_DURATION,
    MAX_FILE,
    REGISTRY_ENV,
    add_expiry_option,
    add_registry_option,
    credentials_summary,
    duration,
    expiry,
    is_url,
    iso_z,
    method_type,
    open_registry,
    read_certificates,
    registry_target,
    where,
)
from ._common import now as cli_now
from ._terminal import terminal_lines

__all__ = ["MAX_DURATION", "MAX_SECRETS_PER_CLIENT", "REGISTRY_ENV", "register"]

_SECRET_FIELDS = ("client_secret_hash", "client_secret_expires_at", "client_secrets")
_SECRET_METHODS = frozenset(m for m in AuthMethod if m.uses_secret)
_TLS = frozenset({AuthMethod.TLS_CLIENT_AUTH})
_SELF_SIGNED = frozenset({AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH})


class _NotFound(Exception):
    """Exit status 3: the client, secret or certificate named does not exist."""


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
        add_registry_option(p)
        p.set_defaults(func=_guard(func))
        return p

    add = action("add", "register a client (a secret method prints its new secret once)",
                 _cmd_add, optional_id=True)
    add.add_argument("--method", type=method_type(AuthMethod), metavar="METHOD",
                     help="token_endpoint_auth_method (default: inferred from the credential "
                     "options, else client_secret_basic); one of "
                     + ", ".join(m.value for m in AuthMethod))
    add.add_argument("--metadata", metavar="FILE",
                     help="RFC 7591 client metadata JSON document ('-' for stdin)")
    names = add.add_mutually_exclusive_group()
    for field in NAME_FIELDS:
        names.add_argument(_flag(field), dest=field, metavar="NAME",
                           help=f"tls_client_auth: the registered {field}")
    add.add_argument("--cert", metavar="FILE", action="append", default=[],
                     help="self_signed_tls_client_auth: pin this certificate (a chain file: "
                     "its first, the leaf; repeatable)")
    add.add_argument("--thumbprint", metavar="X5T", action="append", default=[],
                     help="self_signed_tls_client_auth: pin this x5t#S256 (repeatable)")
    add.add_argument("--jwks-uri", metavar="URL",
                     help="self_signed_tls_client_auth (or private_key_jwt): jwks_uri")
    add.add_argument("--trust-anchor", metavar="FILE", action="append", default=[],
                     help="tls_client_auth: trust anchor(s) for this client only (PEM)")
    add_expiry_option(add, "secret methods: the secret")
    add.add_argument("--json", action="store_true",
                     help="print an RFC 7591 registration response instead of text")

    rot = action("rotate-secret", "issue a new secret (printed once); old ones expire later",
                 _cmd_rotate)
    rot.add_argument("--keep-old-for", metavar="DURATION", required=True,
                     help="old secrets stay valid this long (e.g. 24h; 0 revokes them now)")
    add_expiry_option(rot, "the new secret")
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
        cert.add_argument("--cert", metavar="FILE",
                          help="the certificate (PEM or DER; a chain file: its leaf)")
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


def _flag(field: str) -> str:
    """The option for a registered-name field: tls_client_auth_subject_dn -> --subject-dn."""
    return "--" + field.removeprefix("tls_client_auth_").replace("_", "-")


def _guard(func: Callable[[argparse.Namespace, TextIO], int]) -> Callable[..., int]:
    def run(args: argparse.Namespace, out: TextIO) -> int:
        args.registry = registry_target(args)
        try:
            return func(args, out)
        except _NotFound as exc:
            _say(f"clientauth: {exc}", file=sys.stderr)
            return EXIT_NOT_FOUND

    return run


def _update(args: argparse.Namespace, change: Callable[[Client], Client]) -> Client:
    store = open_registry(args.registry)
    updated = store.update(args.client_id, change)
    if updated is None:
        raise _NotFound(f"no client {args.client_id!r} in {where(args.registry)}")
    return updated


# -- add ----------------------------------------------------------------------------------

# What each credential field means only for some methods, and which method it implies when
# none is stated (RFC 7591 2 defaults to client_secret_basic, which would register the field
# and never use it). A jwks_uri in a metadata document has other uses (RFC 7591 2: request
# objects, encryption keys), so only the --jwks-uri option is held to a method.
_APPLIES: tuple[tuple[str, frozenset[AuthMethod], AuthMethod | None], ...] = (
    *((field, _TLS, AuthMethod.TLS_CLIENT_AUTH) for field in NAME_FIELDS),
    ("tls_client_auth_trust_anchors", _TLS, AuthMethod.TLS_CLIENT_AUTH),
    ("tls_client_certificates", _SELF_SIGNED, AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH),
    ("tls_client_certificate_thumbprints", _SELF_SIGNED,
     AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH),
    ("client_secret_hash", _SECRET_METHODS, None),
    ("client_secrets", _SECRET_METHODS, None),
)
_OPTION_OF = {
    **{field: _flag(field) for field in NAME_FIELDS},
    "tls_client_auth_trust_anchors": "--trust-anchor",
    "tls_client_certificates": "--cert",
    "tls_client_certificate_thumbprints": "--thumbprint",
}


def _method_for(document: dict[str, Any], options: set[str],
                extra: list[tuple[str, frozenset[AuthMethod], AuthMethod | None]]
                ) -> tuple[str, str]:
    """The method to register and why: the one stated, else the one the credential fields
    imply, else client_secret_basic. Refuses (exit 2) fields that imply different methods
    and any field the method would ignore; ``options`` are the fields given as options
    (named by their option in messages), ``extra`` further option-only constraints."""

    def label(field: str) -> str:
        return _OPTION_OF.get(field, field) if field in options else field

    given = [(label(f), methods, implies) for f, methods, implies in _APPLIES
             if document.get(f) not in (None, [], "")] + extra
    stated = document.get("token_endpoint_auth_method")
    why = "as stated"
    if stated is None:
        implied = {implies: what for what, _, implies in given if implies is not None}
        if len(implied) > 1:
            raise ParseError(
                " and ".join(f"{what} implies {method.value}" for method, what in implied.items())
                + ": register one kind of credential per client"
            )
        if implied:
            chosen, source = next(iter(implied.items()))
            why = f"inferred from {source}"
        else:
            chosen, why = AuthMethod.CLIENT_SECRET_BASIC, "the default"
        stated = chosen.value
        document["token_endpoint_auth_method"] = stated
    try:
        method = AuthMethod(stated)
    except ValueError:
        return str(stated), why  # Client.from_metadata names the unknown method
    for what, methods, _ in given:
        if method not in methods:
            raise ParseError(
                f"{what} applies to {' or '.join(sorted(m.value for m in methods))}, not "
                f"{method.value}: it would be registered and never used"
            )
    return method.value, why


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

    options: set[str] = set()

    def put(field: str, value: object) -> None:
        if field in document and document[field] != value:
            raise ParseError(f"{field} given both in --metadata and as an option, differently")
        document[field] = value
        options.add(field)

    if args.client_id is not None:
        put("client_id", args.client_id)
    # RFC 7591 3.2.1: the server issues the client_id when the request has none.
    document.setdefault("client_id", _stdlib_secrets.token_urlsafe(16))
    if args.method is not None:
        put("token_endpoint_auth_method", args.method.value)
    for field in NAME_FIELDS:
        if getattr(args, field) is not None:
            put(field, getattr(args, field))
    if args.cert:
        put("tls_client_certificates", [_pem(_read_cert(f)) for f in args.cert])
    if args.thumbprint:
        put("tls_client_certificate_thumbprints", list(args.thumbprint))
    if args.trust_anchor:
        put("tls_client_auth_trust_anchors",
            [_pem(c) for f in args.trust_anchor for c in read_certificates(f)])
    extra: list[tuple[str, frozenset[AuthMethod], AuthMethod | None]] = []
    if args.jwks_uri:
        put("jwks_uri", args.jwks_uri)
        extra.append(("--jwks-uri", _SELF_SIGNED | {AuthMethod.PRIVATE_KEY_JWT},
                      AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH))
    expires_in = expiry(args)
    if args.expires_in is not None or args.expires_in_days is not None:
        option = "--expires-in" if args.expires_in is not None else "--expires-in-days"
        extra.append((option, _SECRET_METHODS, None))
    method_name, why = _method_for(document, options, extra)

    now = cli_now()
    secret: str | None = None
    expires_at = 0
    uses_secret = method_name in {m.value for m in _SECRET_METHODS}
    has_secret = any(f in document for f in ("client_secret_hash", "client_secrets"))
    if has_secret and expires_in is not None:
        raise ParseError(
            "--expires-in applies to the secret generated here; the metadata already holds "
            "one (set its expiry there: client_secret_expires_at, or expires_at in "
            "client_secrets)"
        )
    if uses_secret and not has_secret:
        secret, stored = StoredSecret.issue(expires_in=expires_in, now=now)
        if stored.expires_at is not None:
            expires_at = _epoch(stored.expires_at)
        document["client_secrets"] = [stored.to_entry()]
    elif method_name == AuthMethod.CLIENT_SECRET_JWT.value:
        # Issue 14: client_secret_jwt's MAC key must be kept usable (RFC 7591 client_secret),
        # so it is stored as it is -- generated here and printed once, like any secret.
        secret = generate_secret()
        document["client_secret"] = secret
    client = Client.from_metadata(document)  # every check before anything is written
    open_registry(args.registry, create=True).add(client)

    if args.json:
        # RFC 7591 3.2.1: client_id_issued_at and client_secret_expires_at are seconds since
        # the epoch (0: never), the registration response's own format.
        response: dict[str, Any] = {
            "client_id": client.client_id,
            "client_id_issued_at": _epoch(now),
            "token_endpoint_auth_method": client.method.value,
        }
        if secret is not None:
            response["client_secret"] = secret
            response["client_secret_expires_at"] = expires_at
        _say(json.dumps(response, indent=2), file=out)
        return EXIT_OK
    _say(f"added client {client.client_id!r} ({client.method.value}"
         + ("" if why == "as stated" else f", {why}") + f") to {where(args.registry)}",
         file=out)
    _say(f"client_id: {client.client_id}", file=out)
    if secret is not None and client.method is AuthMethod.CLIENT_SECRET_JWT:
        _say("client_secret (shown once; the client MACs its assertions with it; the registry "
             "keeps it usable, which is why private_key_jwt is preferred):", file=out)
        _say(f"  {secret}", file=out)
    elif secret is not None:
        _print_secret(secret, expires_at, out)
    return EXIT_OK


# -- secrets ------------------------------------------------------------------------------


def _cmd_rotate(args: argparse.Namespace, out: TextIO) -> int:
    keep = duration(args.keep_old_for, "--keep-old-for")
    now = cli_now()
    expires_in = expiry(args)
    # Issued once, outside the change: a retried database update must store the same secret.
    secret, entry = StoredSecret.issue(expires_in=expires_in, now=now)
    client = _update(args, lambda c: c.rotate_secret(entry, keep_old_for=keep, now=now))
    kept = len(client.secrets) - 1  # rotate_secret appends the new secret last
    deadline = now + keep
    expires_at = _epoch(entry.expires_at) if entry.expires_at is not None else 0
    if args.json:
        _say(json.dumps({"client_id": client.client_id, "client_secret": secret,
                          "client_secret_expires_at": expires_at, "label": entry.label,
                          "old_secrets_expire_at": iso_z(deadline) if kept else None},
                         indent=2),
              file=out)
        return EXIT_OK
    _say(f"rotated the secret of client {client.client_id!r} (new label {entry.label})",
          file=out)
    if kept:
        _say(f"{kept} older secret(s) stay valid until {iso_z(deadline)}", file=out)
    else:
        _say("older secrets are revoked", file=out)
    _print_secret(secret, expires_at, out)
    return EXIT_OK


def _cmd_revoke(args: argparse.Namespace, out: TextIO) -> int:
    now = cli_now()
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
    return EXIT_OK


def _show_moment(value: object) -> str | None:
    """A stored time for display: ISO 8601 when it parses, else the stored value as text
    (escaped on output like every other field)."""
    if value is None or value == 0:
        return None
    moment = value if isinstance(value, datetime) else parse_moment(value)
    return iso_z(moment) if moment is not None else f"unreadable: {value!r}"


def _print_secret(secret: str, expires_at: int, out: TextIO) -> None:
    _say("client secret (shown once; give it to the client, it is stored only as a hash):",
          file=out)
    _say(f"  {secret}", file=out)
    if expires_at:
        _say(f"expires {iso_z(datetime.fromtimestamp(expires_at, UTC))}", file=out)


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
    if cert is not None and cert.not_valid_after_utc <= cli_now():
        _say(f"warning: the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}",
              file=out)
    if client.jwks_uri:
        _say(f"note: certificates from jwks_uri {client.jwks_uri} are accepted too", file=out)
    return EXIT_OK


def _cmd_unpin(args: argparse.Namespace, out: TextIO) -> int:
    thumbprint = certificate_thumbprint(_read_cert(args.cert)) if args.cert else args.thumbprint

    def change(client: Client) -> Client:
        new = client.unpin_certificate(thumbprint)
        if new == client:
            raise _NotFound(f"{thumbprint} is not pinned for client {client.client_id!r}")
        return new

    client = _update(args, change)
    _say(f"unpinned {thumbprint} from client {client.client_id!r}", file=out)
    return EXIT_OK


# -- show / list --------------------------------------------------------------------------


def _describe(client: Client, now: datetime) -> dict[str, Any]:
    """A client's metadata with every secret hash replaced by facts about the secret."""
    described: dict[str, Any] = {
        k: v for k, v in client.to_metadata().items()
        if k not in (*_SECRET_FIELDS, "tls_client_certificates", "tls_client_auth_trust_anchors",
                     "client_secret")
    }
    described["token_endpoint_auth_method"] = client.method.value
    if "client_secret" in client.metadata:
        # client_secret_jwt's MAC key (issue 14): its presence is a fact, its value never shown.
        described["client_secret"] = "(set; not shown)"
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
        "not_after": iso_z(cert.not_valid_after_utc),
    }


def _cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    client = open_registry(args.registry).get(args.client_id)
    if client is None:
        raise _NotFound(f"no client {args.client_id!r} in {where(args.registry)}")
    facts = _describe(client, cli_now())
    if args.json:
        _say(json.dumps(facts, indent=2, ensure_ascii=False), file=out)
        return EXIT_OK
    width = max(len(k) for k in facts)
    for key, value in facts.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            _say(f"{key}:", file=out)
            for item in value:
                _say("  - " + ", ".join(f"{k} {v}" for k, v in item.items()), file=out)
        else:
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            _say(f"{key:<{width}}  {shown}", file=out)
    return EXIT_OK


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    store = open_registry(args.registry)
    now = cli_now()
    rows = []
    for client in sorted(store, key=lambda c: c.client_id):
        summary = credentials_summary(client, now)
        rows.append({"client_id": client.client_id, "method": client.method.value,
                     "credentials": summary})
    if args.json:
        _say(json.dumps(rows, indent=2, ensure_ascii=False), file=out)
        return EXIT_OK
    for row in rows:
        _say(f"{row['client_id']}  {row['method']}  {row['credentials']}", file=out)
    _say(f"{len(rows)} client(s) in {where(args.registry)}", file=out)
    return EXIT_OK


def _cmd_remove(args: argparse.Namespace, out: TextIO) -> int:
    if not open_registry(args.registry).remove(args.client_id):
        raise _NotFound(f"no client {args.client_id!r} in {where(args.registry)}")
    _say(f"removed client {args.client_id!r}", file=out)
    return EXIT_OK


def _cmd_migrate(args: argparse.Namespace, out: TextIO) -> int:
    if not is_url(args.registry):
        raise ParseError("migrate applies to a database URL; a JSON file has no schema")
    from ..registry.sql import SQLRegistry  # noqa: PLC0415

    registry = SQLRegistry(args.registry, cache_ttl=0)
    before = registry.schema_version()
    after = registry.create_schema()
    if before == after:
        _say(f"schema version {after}: up to date", file=out)
    else:
        _say(f"schema version {before or 'none'} -> {after}", file=out)
    return EXIT_OK


# -- helpers ------------------------------------------------------------------------------


def _say(text: str, *, file: TextIO) -> None:
    """Print one message. Every output path goes through here: registry content is written
    by whoever registered the client (an RFC 7591 document), so control characters in it
    are escaped before they reach the operator's terminal."""
    print(terminal_lines(text), file=file)


def _read_text(path: str) -> str:
    if path == "-":
        data = sys.stdin.read(MAX_FILE + 1)
    else:
        with open(path, encoding="utf-8") as fh:
            data = fh.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise ParseError(f"{path}: larger than {MAX_FILE} bytes")
    return data


def _read_cert(path: str) -> x509.Certificate:
    """The certificate in a file; of a chain file, its first (the leaf), as ``check --cert``
    and ``clientauth thumbprint`` take it."""
    return read_certificates(path)[0]


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode("ascii")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())
