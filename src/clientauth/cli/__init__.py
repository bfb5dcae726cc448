"""The ``clientauth`` command (also ``python -m clientauth``).

Secrets are never taken from the command line (argv is visible to every user through ``ps``):
``check`` reads them from standard input or an environment variable.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from .._version import __version__
from .._x509 import (
    CERTIFICATE_ERRORS,
    EXTENSION_ERRORS,
    certificate_thumbprint,
)
from ..exceptions import CertificateParseError, ClientAuthError, ParseError
from ..result import AuthMethod, AuthResult
from ._common import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    add_expiry_option,
    add_registry_option,
    credentials_summary,
    expiry,
    failed,
    iso_z,
    method_type,
    open_registry,
    read_bytes,
    read_certificates,
    registry_target,
    where,
)
from ._common import now as cli_now
from ._terminal import terminal_lines

__all__ = ["main"]

# The exit statuses docs/cli.md lists, defined once in _cli_common.
_EXIT_OK, _EXIT_FAILED, _EXIT_USAGE = EXIT_OK, EXIT_REFUSED, EXIT_USAGE


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status: 0 ok, 1 refused (``check``) or an unexpected
    demo outcome, 2 usage or configuration error, 3 no such client, secret or certificate,
    4 internal error (a bug)."""
    out = stdout or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(out)
        return _EXIT_USAGE
    try:
        return int(args.func(args, out))
    except ClientAuthError as exc:
        print(terminal_lines(f"clientauth: {exc}"), file=sys.stderr)
        return _EXIT_USAGE
    except OSError as exc:
        print(terminal_lines(f"clientauth: {exc.filename or ''}: {exc.strerror}"),
              file=sys.stderr)
        return _EXIT_USAGE
    except Exception as exc:
        # A crash must not read as exit 1, "authentication refused".
        return failed(exc)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clientauth", description="Client authentication: secrets and RFC 8705 mutual TLS."
    )
    parser.add_argument("--version", action="version", version=f"clientauth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    secret = sub.add_parser("secret", help="generate or hash client secrets")
    secret_sub = secret.add_subparsers(dest="secret_command", metavar="ACTION", required=True)
    gen = secret_sub.add_parser(
        "generate", help="a new secret (printed once) and the metadata entry holding its hash"
    )
    gen.add_argument("--client-id", default="my-client", help="client_id for the metadata entry")
    gen.add_argument(
        "--method",
        default=AuthMethod.CLIENT_SECRET_BASIC.value,
        type=method_type(m for m in AuthMethod if m.uses_secret),
        metavar="METHOD",
        help="token_endpoint_auth_method: client_secret_basic (default), client_secret_post "
        "or client_secret_header",
    )
    add_expiry_option(gen, "client_secret_expires_at: the secret")
    gen.set_defaults(func=_cmd_secret_generate)
    hsh = secret_sub.add_parser("hash", help="hash a secret read from standard input")
    hsh.add_argument("--scheme", default="sha256",
                     choices=["sha256", "argon2id", "bcrypt", "pbkdf2_sha256"])
    hsh.set_defaults(func=_cmd_secret_hash)

    check = sub.add_parser(
        "check", help="explain whether a secret, certificate or client assertion "
        "authenticates a client"
    )
    add_registry_option(check)
    check.add_argument("--client-id", help="the client to check (certificates: optional)")
    how = check.add_mutually_exclusive_group()
    how.add_argument("--secret-stdin", action="store_true", help="read the secret from stdin")
    how.add_argument("--secret-env", metavar="VAR", help="read the secret from this variable")
    how.add_argument("--cert", metavar="FILE", help="client certificate (PEM or DER), or chain")
    how.add_argument("--assertion", metavar="FILE",
                     help="a client assertion JWT (private_key_jwt / client_secret_jwt; "
                     "'-' for stdin): which RFC 7523 rule it fails")
    check.add_argument("--audience", metavar="URL", action="append", default=[],
                       help="an accepted assertion aud: the issuer identifier and/or token "
                       "endpoint URL (repeatable; required with --assertion)")
    check.add_argument("--chain", metavar="FILE", action="append", default=[],
                       help="intermediate certificate(s) the client presents (PEM)")
    check.add_argument("--trust-anchor", metavar="FILE", action="append", default=[],
                       help="trusted root(s) for tls_client_auth (PEM)")
    check.add_argument("--intermediate", metavar="FILE", action="append", default=[],
                       help="intermediates pool (PEM)")
    check.add_argument("--method", type=method_type(m for m in AuthMethod if m.uses_secret),
                       metavar="METHOD", default=None,
                       help="how to present the secret: client_secret_basic, "
                       "client_secret_post or client_secret_header (default: the registered "
                       "method)")
    check.add_argument("--at", metavar="ISO-8601", help="check at this time instead of now")
    check.set_defaults(func=_cmd_check)

    thumb = sub.add_parser("thumbprint", help="print a certificate's x5t#S256 (RFC 8705 3.1)")
    thumb.add_argument("file", help="certificate, PEM or DER ('-' for stdin)")
    thumb.set_defaults(func=_cmd_thumbprint)

    insp = sub.add_parser("inspect", help="describe a certificate")
    insp.add_argument("file", help="certificate, PEM or DER ('-' for stdin)")
    insp.add_argument("--json", action="store_true", help="machine-readable output")
    insp.set_defaults(func=_cmd_inspect)

    demo = sub.add_parser("demo", help="run every method, in process and over local HTTP")
    demo.add_argument("--in-process-only", action="store_true",
                      help="skip the end-to-end part (no local HTTP server)")
    demo.set_defaults(func=_cmd_demo)

    from ._clients import register  # noqa: PLC0415 - the `client` lifecycle commands

    register(sub)
    return parser


# -- secret -------------------------------------------------------------------------------


def _cmd_secret_generate(args: argparse.Namespace, out: TextIO) -> int:
    from ..secret import generate_secret, hash_secret  # noqa: PLC0415

    secret = generate_secret()
    entry: dict[str, Any] = {
        "client_id": args.client_id,
        "token_endpoint_auth_method": args.method,
        "client_secret_hash": hash_secret(secret),
    }
    expires_in = expiry(args)
    if expires_in is not None:
        # RFC 7591 2: client_secret_expires_at is seconds since the epoch.
        entry["client_secret_expires_at"] = int((cli_now() + expires_in).timestamp())
    print("client secret (shown once; give it to the client, store only the hash):", file=out)
    print(f"  {secret}", file=out)
    print("\nclient metadata entry:", file=out)
    print(json.dumps(entry, indent=2), file=out)
    return _EXIT_OK


def _cmd_secret_hash(args: argparse.Namespace, out: TextIO) -> int:
    from ..secret import hash_secret  # noqa: PLC0415

    secret = _read_secret_stdin()
    print(hash_secret(secret, scheme=args.scheme), file=out)
    return _EXIT_OK


def _read_secret_stdin() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("client secret: ")
    data = sys.stdin.readline()
    return data.rstrip("\r\n")


# -- check --------------------------------------------------------------------------------


def _cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    import base64  # noqa: PLC0415
    from urllib.parse import quote  # noqa: PLC0415

    from ..authenticator import Authenticator  # noqa: PLC0415
    from ..request import ClientRequest  # noqa: PLC0415

    target = registry_target(args)
    registry = open_registry(target)
    at = _parse_time(args.at) if args.at else cli_now()
    anchors = [c for f in args.trust_anchor for c in _read_certs(f)]
    pool = [c for f in args.intermediate for c in _read_certs(f)]
    if args.assertion and not args.audience:
        raise _usage("--assertion needs --audience (the issuer identifier or token endpoint)")
    auth = Authenticator(registry, trust_anchors=anchors, intermediates=pool, now=lambda: at,
                         # Only --assertion reads it; the placeholder keeps a registry with
                         # assertion clients checkable for secrets and certificates.
                         audience=args.audience or "clientauth-check:no-audience")

    client = registry.get(args.client_id) if args.client_id else None
    if args.client_id and client is None:
        print(f"client:    {args.client_id!r} is not registered in {where(target)}", file=out)
        return EXIT_NOT_FOUND
    if client is not None:
        print(f"client:    {client.client_id} ({client.method.value})", file=out)
        _describe_client(client, at, out)

    if args.cert:
        chain = [*_read_certs(args.cert), *(c for f in args.chain for c in _read_certs(f))]
        form = {"client_id": args.client_id} if args.client_id else None
        request = ClientRequest(form=form, tls_chain=chain)
        leaf = chain[0]
        print(f"presented: certificate {leaf.subject.rfc4514_string() or '(empty subject)'}",
              file=out)
        print(f"           issuer {leaf.issuer.rfc4514_string()}", file=out)
        print(f"           x5t#S256 {certificate_thumbprint(leaf)}", file=out)
    elif args.assertion:
        request = _assertion_request(args, out)
    else:
        if client is None:
            raise _usage("--client-id is required to check a secret")
        if args.secret_env:
            secret = os.environ.get(args.secret_env)
            if secret is None:
                raise _usage(f"environment variable {args.secret_env} is not set")
        elif args.secret_stdin:
            secret = _read_secret_stdin()
        else:
            raise _usage("give --secret-stdin, --secret-env VAR or --cert FILE")
        method = args.method or (
            client.method if client.method.uses_secret else AuthMethod.CLIENT_SECRET_BASIC
        )
        if method is AuthMethod.CLIENT_SECRET_BASIC:
            token = f"{quote(client.client_id, safe='')}:{quote(secret, safe='')}"
            request = ClientRequest(
                [("authorization", "Basic " + base64.b64encode(token.encode()).decode())]
            )
        elif method is AuthMethod.CLIENT_SECRET_POST:
            request = ClientRequest(form={"client_id": client.client_id, "client_secret": secret})
        else:
            request = ClientRequest([("client_id", client.client_id), ("client_secret", secret)])
        print(f"presented: a secret via {method.value}", file=out)
    return _report(auth.authenticate(request), out)


def _assertion_request(args: argparse.Namespace, out: TextIO) -> Any:
    """The form a client would send with the assertion in ``--assertion`` (issue 14). The
    replay store here is fresh: whether the server already saw the jti is not known."""
    from ..assertion import parse_assertion  # noqa: PLC0415
    from ..request import JWT_BEARER, ClientRequest  # noqa: PLC0415

    token = read_bytes(args.assertion).decode("ascii", "replace").strip()
    form = {"client_assertion_type": JWT_BEARER, "client_assertion": token}
    if args.client_id:
        form["client_id"] = args.client_id
    try:
        parsed = parse_assertion(token)
    except ParseError:
        print("presented: a client assertion that is not a compact JWS", file=out)
    else:
        header, claims = parsed.header, parsed.claims
        print(f"presented: a client assertion, alg {header.get('alg')!r}, "
              f"kid {header.get('kid')!r}", file=out)
        for name in ("iss", "sub", "aud", "iat", "nbf", "exp", "jti"):
            if name in claims:
                print(f"           {name} {claims[name]!r}", file=out)
    return ClientRequest(form=form)


def _describe_client(client: Any, at: datetime, out: TextIO) -> None:
    print(f"           {credentials_summary(client, at)}", file=out)


def _report(result: AuthResult, out: TextIO) -> int:
    if result.ok:
        print(f"outcome:   AUTHENTICATED as {result.client_id} ({result.method})", file=out)
        if result.expires_at:
            print(f"           credential expires {iso_z(result.expires_at)}", file=out)
        for notice in result.notices:
            print(f"notice:    {notice}", file=out)
        return _EXIT_OK
    print(f"outcome:   REFUSED {result.failure} ({result.error})", file=out)
    print(f"why:       {result.detail}", file=out)
    for notice in result.notices:
        print(f"notice:    {notice}", file=out)
    return _EXIT_FAILED


# -- certificates -------------------------------------------------------------------------


def _read_bytes(path: str) -> bytes:
    return read_bytes(path)


def _read_certs(path: str) -> list[x509.Certificate]:
    return read_certificates(path)


def _leaf(path: str) -> x509.Certificate:
    """The certificate a file holds; of a chain file, its first (the leaf), as ``check
    --cert`` takes it."""
    return read_certificates(path)[0]


def _cmd_thumbprint(args: argparse.Namespace, out: TextIO) -> int:
    print(certificate_thumbprint(_leaf(args.file)), file=out)
    return _EXIT_OK


def describe_certificate(cert: x509.Certificate) -> dict[str, Any]:
    """The facts ``clientauth inspect`` prints."""
    sans: dict[str, list[str]] = {}
    san = _extension(cert, x509.SubjectAlternativeName)
    if san is not None:
        for kind, cls in (("dns", x509.DNSName), ("uri", x509.UniformResourceIdentifier),
                          ("ip", x509.IPAddress), ("email", x509.RFC822Name)):
            values = [str(v) for v in san.get_values_for_type(cls)]
            if values:
                sans[kind] = values
    constraints = _extension(cert, x509.BasicConstraints)
    eku = _extension(cert, x509.ExtendedKeyUsage)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        # RFC 5280 4.1.2.1: the encoded value is one less (v3 is 2).
        "version": cert.version.value + 1,
        "serial": format(cert.serial_number, "x"),
        "not_before": iso_z(cert.not_valid_before_utc),
        "not_after": iso_z(cert.not_valid_after_utc),
        "san": sans,
        "ca": bool(constraints and constraints.ca),
        "extended_key_usage": [_EKU_NAMES.get(o, o.dotted_string) for o in eku] if eku else [],
        "self_signed": _self_signed(cert),
        "x5t#S256": certificate_thumbprint(cert),
    }


_E = TypeVar("_E", bound=x509.ExtensionType)

# RFC 5280 4.2.1.12 names (id-kp-*), and the few other purposes cryptography names; any
# other purpose is shown by its dotted OID.
_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    ExtendedKeyUsageOID.IPSEC_IKE: "ipsecIKE",  # RFC 4945 5.1.3.12
    ExtendedKeyUsageOID.SMARTCARD_LOGON: "smartcardLogon",
    ExtendedKeyUsageOID.KERBEROS_PKINIT_KDC: "pkinitKDC",  # RFC 4556 3.2.4
    ExtendedKeyUsageOID.CERTIFICATE_TRANSPARENCY: "certificateTransparency",  # RFC 6962 3.1
}


def _extension(cert: x509.Certificate, kind: type[_E]) -> _E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    except EXTENSION_ERRORS:
        raise CertificateParseError("the certificate's extensions cannot be read") from None


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except InvalidSignature:
        return False
    except CERTIFICATE_ERRORS:  # an unknown key or signature algorithm, too
        return False
    return True


def _cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    cert = _leaf(args.file)
    try:
        info = describe_certificate(cert)
    except ClientAuthError as exc:  # an extension that cannot be read
        raise _usage(f"{args.file}: {exc}") from None
    if args.json:
        print(json.dumps(info, indent=2), file=out)
        return _EXIT_OK
    width = max(len(k) for k in info)
    for key, value in info.items():
        shown = value
        if key == "san":
            shown = "; ".join(f"{k}: {', '.join(v)}" for k, v in value.items()) or "(none)"
        elif key == "extended_key_usage":
            shown = ", ".join(value) or "(none)"
        elif key == "subject" and not value:
            shown = "(empty)"
        print(f"{key:<{width}}  {shown}", file=out)
    return _EXIT_OK


# -- demo -------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from ._demo import _world, run_demo, run_http_demo  # noqa: PLC0415

    started = time.perf_counter()
    world = _world()
    print("clientauth demo: a generated PKI, an in-memory registry, every method good and bad\n",
          file=out)
    sections = [("In process: Authenticator.authenticate(ClientRequest(...))", run_demo(world))]
    if not args.in_process_only:
        sections.append(("End to end: a WSGI app with clientauth on 127.0.0.1, real HTTP",
                         run_http_demo(world)))
    rows = [row for _, section in sections for row in section]
    for title, section in sections:
        print(title, file=out)
        _table(section, out)
        print(file=out)
    print("Certificate tools: `clientauth inspect` on the payments client's certificate "
          "(x5t#S256 is what `clientauth thumbprint` prints)", file=out)
    info = describe_certificate(world.leaf.cert)
    for key in ("subject", "issuer", "not_after", "extended_key_usage", "self_signed",
                "x5t#S256"):
        print(f"  {key:<19}{info[key]}", file=out)
    print(file=out)
    bad = sum(1 for r in rows if not r.as_expected)
    print(f"{len(rows)} scenarios, {len(rows) - bad} as expected, {bad} unexpected "
          f"({time.perf_counter() - started:.2f} s)", file=out)
    return _EXIT_OK if bad == 0 else _EXIT_FAILED


def _table(rows: Sequence[Any], out: TextIO) -> None:
    headers = ("scenario", "client", "method", "outcome", "check")
    table = [
        (r.scenario, r.client_id or "-", r.method, _clip(r.outcome, 96),
         "ok" if r.as_expected else "UNEXPECTED")
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


# -- helpers ----------------------------------------------------------------------------


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _usage(f"--at {text!r} is not an ISO-8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _usage(message: str) -> ParseError:
    return ParseError(message)

