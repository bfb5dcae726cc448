"""Every hostile certificate of tests/vectors/hostile/ through every entry point that reads one.

What must hold: for every certificate of the corpus and every public way a certificate gets
into clientauth (verifiers, the authenticator over direct TLS and over each proxy format,
registration, every registry's lookup by certificate, audit, the CLI, the uvicorn TLS
extension, token binding, the ASGI and WSGI middleware), the outcome is a failed result or an
exception of clientauth's own tree -- never another exception, never a 500. cryptography
parses lazily, so "it loaded" proves nothing: the corpus holds certificates that load and
raise only when their subject, issuer, extensions or dates are read.

The corpus is valid from 2025 to 9999 and checked at the fixed clock ``NOW``; the generator
is deterministic, and a test checks the committed files are what it builds.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import importlib.util
import io
import json
import logging
import urllib.parse
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

import clientauth
from certs import NOW, clock
from clientauth import (
    Authenticator,
    Client,
    ClientAuthError,
    ClientRequest,
    ForwardedCertificates,
    MemoryRegistry,
    PKIVerifier,
    _x509,
    bind_claims,
    certificate_thumbprint,
    check_binding,
    cli,
)
from clientauth._x509 import load_certificate
from clientauth.audit import AUDIT_LOGGER, AuditEvent
from clientauth.forwarded import FORMATS, parse_forwarded
from clientauth.names import RegisteredName, certificate_name_keys
from clientauth.pinned import PinnedVerifier
from clientauth.registry_file import FileRegistry
from clientauth.registry_sql import SQLRegistry
from clientauth.result import AuthResult, CertificateCheck
from clientauth.servers.uvicorn import tls_extension

# cryptography warns about some corpus entries (a CN over 64 characters, a serial that is not
# positive); the warnings are the point, not noise worth a summary.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Attribute's length", "ignore:Parsed a serial number"
)

HOSTILE = Path(__file__).parent / "vectors" / "hostile"
MANIFEST: dict[str, str] = json.loads((HOSTILE / "MANIFEST.json").read_text())
PROXY = "10.0.0.5"
DN = "CN=client,O=Hostile"
SAN_DNS = "client.hostile.example"


def _pem(der: bytes) -> str:
    body = base64.b64encode(der).decode("ascii")
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


@dataclass(frozen=True)
class Hostile:
    """One corpus entry in every form an entry point takes."""

    name: str
    der: bytes
    pem: str
    cert: x509.Certificate | None  # None: cryptography refuses it at load time

    @property
    def obj(self) -> x509.Certificate | bytes:
        """The object when cryptography loads it, else the DER (entry points take both)."""
        return self.cert if self.cert is not None else self.der


def _load(name: str) -> Hostile:
    der = (HOSTILE / f"{name}.der").read_bytes()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-positive serials warn at load
            cert: x509.Certificate | None = x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion):
        cert = None
    return Hostile(name, der, _pem(der), cert)


CORPUS = [_load(name) for name in sorted(MANIFEST)]


# -- the world the certificates are thrown at ----------------------------------------------


@dataclass
class World:
    ca: x509.Certificate
    baseline: Hostile
    clients: list[Client]
    registries: dict[str, Any]
    pki: PKIVerifier
    pinned: PinnedVerifier
    auth: Authenticator
    audit_events: list[AuditEvent]
    files: Path


def _metadata(ca_pem: str, baseline_pem: str) -> list[dict[str, Any]]:
    return [
        {"client_id": "dn", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": DN},
        {"client_id": "dns", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_san_dns": SAN_DNS},
        {"client_id": "own-anchor", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_san_dns": "own." + SAN_DNS,
         "tls_client_auth_trust_anchors": [ca_pem]},
        {"client_id": "pinned", "token_endpoint_auth_method": "self_signed_tls_client_auth",
         "tls_client_certificates": [baseline_pem]},
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    files = tmp_path_factory.mktemp("hostile")
    ca_der = (HOSTILE / "ca.der").read_bytes()
    ca = x509.load_der_x509_certificate(ca_der)
    (files / "ca.pem").write_text(_pem(ca_der))
    baseline = next(h for h in CORPUS if h.name == "baseline")
    metadata = _metadata(_pem(ca_der), baseline.pem)
    (files / "clients.json").write_text(json.dumps(metadata))
    clients = [Client.from_metadata(m) for m in metadata]
    sql = SQLRegistry("sqlite://")
    sql.create_schema()
    for client in clients:
        sql.add(client)
    registries = {
        "MemoryRegistry": MemoryRegistry(clients),
        "FileRegistry": FileRegistry(files / "clients.json", now=clock(NOW)),
        "SQLRegistry": sql,
    }
    events: list[AuditEvent] = []
    auth = Authenticator(registries["MemoryRegistry"], trust_anchors=[ca], now=clock(NOW),
                         audit=events.append)
    # A real handler on the audit logger, so every event is also formatted and logged.
    logger = logging.getLogger(AUDIT_LOGGER)
    sink = logging.StreamHandler(io.StringIO())
    sink.setLevel(logging.DEBUG)
    logger.addHandler(sink)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield World(
            ca=ca, baseline=baseline, clients=clients, registries=registries,
            pki=PKIVerifier([ca], now=clock(NOW)),
            pinned=PinnedVerifier(now=clock(NOW)), auth=auth, audit_events=events, files=files,
        )
    finally:
        logger.removeHandler(sink)
        logger.setLevel(old_level)


def _client(world: World, client_id: str) -> Client:
    return next(c for c in world.clients if c.client_id == client_id)


# -- the entry points ------------------------------------------------------------------------

EntryPoint = Callable[[World, Hostile], object]
ENTRY_POINTS: dict[str, EntryPoint] = {}


def entry(name: str) -> Callable[[EntryPoint], EntryPoint]:
    def register(fn: EntryPoint) -> EntryPoint:
        ENTRY_POINTS[name] = fn
        return fn

    return register


def _authenticate(world: World, h: Hostile, chain: list[Any], client_id: str | None) -> object:
    form = {"client_id": client_id} if client_id else None
    return world.auth.authenticate(ClientRequest(form=form, tls_chain=chain, peer="192.0.2.1"))


entry("load_certificate(DER)")(lambda w, h: load_certificate(h.der))
entry("load_certificate(PEM)")(lambda w, h: load_certificate(h.pem))
entry("check_usable")(lambda w, h: _x509.check_usable(h.cert) if h.cert else None)
entry("PKIVerifier.verify, subject-DN client")(
    lambda w, h: w.pki.verify([h.obj], _client(w, "dn")))  # type: ignore[list-item]
entry("PKIVerifier.verify, SAN client")(
    lambda w, h: w.pki.verify([h.obj], _client(w, "dns")))  # type: ignore[list-item]
entry("PKIVerifier.verify, client's own anchors")(
    lambda w, h: w.pki.verify([h.obj], _client(w, "own-anchor")))  # type: ignore[list-item]
entry("PKIVerifier.verify, as an intermediate")(
    lambda w, h: w.pki.verify([w.baseline.cert, h.obj], _client(w, "dn")))  # type: ignore[list-item]
entry("PKIVerifier(require_san=True).verify")(
    lambda w, h: PKIVerifier([w.ca], now=clock(NOW), require_san=True).verify(
        [h.obj], _client(w, "dns")))  # type: ignore[list-item]
entry("PKIVerifier.verify_chain")(lambda w, h: w.pki.verify_chain([h.obj]))  # type: ignore[list-item]
entry("PKIVerifier(trust_anchors=[it])")(lambda w, h: PKIVerifier([h.der], now=clock(NOW)))
entry("PKIVerifier(intermediates=[it])")(
    lambda w, h: PKIVerifier([w.ca], intermediates=[h.der], now=clock(NOW)))


@entry("PinnedVerifier.verify, another pin")
def _pinned_other(w: World, h: Hostile) -> object:
    return w.pinned.verify([h.obj], _client(w, "pinned"))  # type: ignore[list-item]


@entry("PinnedVerifier.verify, this certificate pinned")
def _pinned_self(w: World, h: Hostile) -> object:
    client = Client.from_metadata({
        "client_id": "self", "token_endpoint_auth_method": "self_signed_tls_client_auth",
        "tls_client_certificate_thumbprints": [certificate_thumbprint(h.der)],
    })
    return w.pinned.verify([h.obj], client)  # type: ignore[list-item]


@entry("Client.from_metadata, tls_client_certificates")
def _register_pem(w: World, h: Hostile) -> object:
    return Client.from_metadata({
        "client_id": "c", "token_endpoint_auth_method": "self_signed_tls_client_auth",
        "tls_client_certificates": [h.pem]})


@entry("Client.from_metadata, jwks x5c")
def _register_x5c(w: World, h: Hostile) -> object:
    return Client.from_metadata({
        "client_id": "c", "token_endpoint_auth_method": "self_signed_tls_client_auth",
        "jwks": {"keys": [{"kty": "EC", "x5c": [base64.b64encode(h.der).decode()]}]}})


@entry("Client.from_metadata, tls_client_auth_trust_anchors")
def _register_anchor(w: World, h: Hostile) -> object:
    return Client.from_metadata({
        "client_id": "c", "token_endpoint_auth_method": "tls_client_auth",
        "tls_client_auth_subject_dn": DN, "tls_client_auth_trust_anchors": [h.pem]})


for _label, _chain, _client_id in (
    ("DER, subject-DN client", "der", "dn"),
    ("DER, SAN client", "der", "dns"),
    ("DER, client's own anchors", "der", "own-anchor"),
    ("DER, pinned client", "der", "pinned"),
    ("DER, no client_id (identified by certificate)", "der", None),
    ("PEM, no client_id", "pem", None),
    ("x509 object, subject-DN client", "obj", "dn"),
    ("x509 object, no client_id", "obj", None),
    ("as an intermediate, subject-DN client", "intermediate", "dn"),
):
    def _make(chain: str, client_id: str | None) -> EntryPoint:
        def run(w: World, h: Hostile) -> object:
            presented: list[Any] = {
                "der": [h.der], "pem": [h.pem], "obj": [h.obj],
                "intermediate": [w.baseline.der, h.der],
            }[chain]
            return _authenticate(w, h, presented, client_id)

        return run

    entry(f"Authenticator.authenticate, tls_chain {_label}")(_make(_chain, _client_id))


@entry("audit: AuditEvent.from_result, as_dict, message, the logger")
def _audit(w: World, h: Hostile) -> object:
    w.audit_events.clear()
    result = _authenticate(w, h, [h.der], None)
    assert isinstance(result, AuthResult)
    event = AuditEvent.from_result(result, peer="192.0.2.1", time=NOW)
    json.dumps(event.as_dict())
    event.message()
    for emitted in w.audit_events:
        json.dumps(emitted.as_dict())
        emitted.message()
    return result


for _registry in ("MemoryRegistry", "FileRegistry", "SQLRegistry"):
    def _make_lookup(registry: str) -> EntryPoint:
        def run(w: World, h: Hostile) -> object:
            if h.cert is None:
                return None  # takes an x509.Certificate; loaders refused this one
            return w.registries[registry].find_by_certificate(h.cert)

        return run

    entry(f"{_registry}.find_by_certificate")(_make_lookup(_registry))


@entry("names: certificate_name_keys, RegisteredName.matches / presented")
def _names(w: World, h: Hostile) -> object:
    if h.cert is None:
        return None
    certificate_name_keys(h.cert)
    for field, value in (("tls_client_auth_subject_dn", DN), ("tls_client_auth_san_dns", SAN_DNS),
                         ("tls_client_auth_san_email", "a@b.example")):
        registered = RegisteredName.parse(field, value)
        registered.matches(h.cert)
        registered.presented(h.cert)
    return None


def _cli(w: World, h: Hostile, *args: str) -> object:
    path = w.files / "leaf.der"
    path.write_bytes(h.der)
    argv = [a.replace("{cert}", str(path)).replace("{dir}", str(w.files)) for a in args]
    status = cli.main(argv, stdout=io.StringIO())
    assert status in (0, 1, 2), status
    return status


entry("CLI thumbprint")(lambda w, h: _cli(w, h, "thumbprint", "{cert}"))
entry("CLI inspect")(lambda w, h: _cli(w, h, "inspect", "{cert}"))
entry("CLI inspect --json")(lambda w, h: _cli(w, h, "inspect", "--json", "{cert}"))
entry("CLI check --cert --client-id")(lambda w, h: _cli(
    w, h, "check", "--clients", "{dir}/clients.json", "--cert", "{cert}", "--client-id", "dn",
    "--trust-anchor", "{dir}/ca.pem", "--at", NOW.isoformat()))
entry("CLI check --cert (identified by certificate)")(lambda w, h: _cli(
    w, h, "check", "--clients", "{dir}/clients.json", "--cert", "{cert}",
    "--trust-anchor", "{dir}/ca.pem", "--at", NOW.isoformat()))


class _FakeSSLObject:
    """What tls_extension reads from ssl.SSLObject after a handshake."""

    def __init__(self, chain: list[bytes]) -> None:
        self._chain = chain

    def getpeercert(self, binary_form: bool = False) -> bytes:
        return self._chain[0]

    def get_unverified_chain(self) -> list[bytes]:
        return list(self._chain)

    def cipher(self) -> tuple[str, str, int]:
        return ("TLS_AES_128_GCM_SHA256", "TLSv1.3", 128)

    def version(self) -> str:
        return "TLSv1.3"


entry("servers.uvicorn.tls_extension")(
    lambda w, h: tls_extension(_FakeSSLObject([h.der])))  # type: ignore[arg-type]
entry("certificate_thumbprint")(lambda w, h: certificate_thumbprint(h.obj))
entry("bind_claims (object or DER)")(lambda w, h: bind_claims({"sub": "x"}, h.obj))
entry("bind_claims (PEM)")(lambda w, h: bind_claims({"sub": "x"}, h.pem))


@entry("check_binding (object, PEM, DER)")
def _check_binding(w: World, h: Hostile) -> object:
    claims = bind_claims({}, w.baseline.der)
    for presented in (h.obj, h.pem, h.der):
        with contextlib.suppress(clientauth.BindingMismatch):
            check_binding(claims, presented)
    return None


def _forwarded_header(fmt: str, h: Hostile) -> str:
    b64 = base64.b64encode(h.der).decode("ascii")
    return {
        "rfc9440": f":{b64}:",
        "nginx": urllib.parse.quote(h.pem, safe=""),
        "haproxy": b64,
        "apache": h.pem.replace("\n", " "),
        "envoy": (f"Hash={hashlib.sha256(h.der).hexdigest()};"
                  f'Cert="{urllib.parse.quote(h.pem, safe="")}"'),
        "traefik": b64,
        "aws-alb": urllib.parse.quote(h.pem, safe="+=/"),
        "caddy": b64,
        "azure": b64,
    }[fmt]


def _forwarded_request(fmt: str, h: Hostile, client_id: str | None = None) -> ClientRequest:
    header = clientauth.forwarded.DEFAULT_HEADERS[fmt]
    form = {"client_id": client_id} if client_id else None
    return ClientRequest([(header, _forwarded_header(fmt, h))], form=form, peer=PROXY)


for _fmt in sorted(FORMATS):
    def _make_forwarded(fmt: str) -> tuple[EntryPoint, EntryPoint]:
        def parse(w: World, h: Hostile) -> object:
            return parse_forwarded(fmt, _forwarded_header(fmt, h))

        def authenticate(w: World, h: Hostile) -> object:
            auth = _forwarded_authenticators(w)[fmt]
            return auth.authenticate(_forwarded_request(fmt, h))

        return parse, authenticate

    _parse, _auth = _make_forwarded(_fmt)
    entry(f"parse_forwarded {_fmt}")(_parse)
    entry(f"ForwardedCertificates {_fmt} + Authenticator")(_auth)

_FORWARDED: dict[int, dict[str, Authenticator]] = {}


def _forwarded_authenticators(w: World) -> dict[str, Authenticator]:
    found = _FORWARDED.get(id(w))
    if found is None:
        found = {
            fmt: Authenticator(
                w.registries["MemoryRegistry"], trust_anchors=[w.ca], now=clock(NOW),
                forwarded=ForwardedCertificates(fmt, trusted_proxies=["10.0.0.0/8"]),
            )
            for fmt in FORMATS
        }
        _FORWARDED[id(w)] = found
    return found


def _asgi(app: Any, scope: dict[str, Any]) -> int:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    assert status != 500
    return int(status)


async def _ok_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _scope(headers: list[tuple[bytes, bytes]], tls_chain: list[str] | None) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "https", "path": "/token", "raw_path": b"/token", "root_path": "",
        "query_string": b"", "headers": headers, "client": (PROXY, 5000),
        "server": ("127.0.0.1", 443),
    }
    if tls_chain is not None:
        scope["extensions"] = {"tls": {"client_cert_chain": tls_chain}}
    return scope


@entry("asgi.ClientAuthMiddleware, TLS extension")
def _asgi_tls(w: World, h: Hostile) -> object:
    app = clientauth.asgi.ClientAuthMiddleware(_ok_asgi, authenticator=w.auth)
    return _asgi(app, _scope([], [h.pem]))


@entry("asgi.ClientAuthMiddleware, forwarded nginx header")
def _asgi_forwarded(w: World, h: Hostile) -> object:
    app = clientauth.asgi.ClientAuthMiddleware(
        _ok_asgi, authenticator=_forwarded_authenticators(w)["nginx"])
    header = _forwarded_header("nginx", h).encode("latin-1")
    return _asgi(app, _scope([(b"x-ssl-client-cert", header)], None))


@entry("asgi.BoundTokenMiddleware, TLS extension")
def _asgi_bound(w: World, h: Hostile) -> object:
    claims = bind_claims({"sub": "x"}, w.baseline.der)
    app = clientauth.asgi.BoundTokenMiddleware(_ok_asgi, verify_token=lambda token: claims)
    return _asgi(app, _scope([(b"authorization", b"Bearer abc")], [h.pem]))


def _wsgi(w: World, environ: dict[str, Any], auth: Authenticator) -> object:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    base = {"REQUEST_METHOD": "POST", "PATH_INFO": "/token", "SCRIPT_NAME": "",
            "QUERY_STRING": "", "SERVER_NAME": "localhost", "SERVER_PORT": "443",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": PROXY, "wsgi.url_scheme": "https",
            "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"}
    body = clientauth.wsgi.ClientAuthMiddleware(app, authenticator=auth)({**base, **environ},
                                                                         start_response)
    b"".join(body)
    assert statuses
    assert not statuses[0].startswith("500")
    return statuses[0]


entry("wsgi.ClientAuthMiddleware, forwarded nginx header")(lambda w, h: _wsgi(
    w, {"HTTP_X_SSL_CLIENT_CERT": _forwarded_header("nginx", h)},
    _forwarded_authenticators(w)["nginx"]))
entry("wsgi.ClientAuthMiddleware, mod_wsgi SSL_CLIENT_CERT")(
    lambda w, h: _wsgi(w, {"SSL_CLIENT_CERT": h.pem}, w.auth))


# -- the test ----------------------------------------------------------------------------

# The corpus certificates that authenticate a client: the baseline, and leaves whose oddity
# is in a part nobody asks to be perfect (key of the leaf -- the TLS handshake proves it --,
# serial, dates within range, a subject or SAN entry the registered name does not use).
# Anything else that authenticates is a finding. Chains that carry the certificate after the
# baseline leaf (it is then an unused extra) and pins of the certificate itself are checked
# apart: any readable certificate may pass there.
AUTHENTICATES = frozenset({
    "baseline", "key-ed448", "key-rsa-even", "ku-empty", "san-dns-nul", "san-empty-sequence",
    "san-ip-network", "serial-21-bytes", "serial-zero", "subject-1000-multivalued",
    "subject-2000-rdns", "subject-cn-numeric-bad", "subject-cn-octetstring",
    "subject-cn-utctime", "subject-cn-utf8-bidi", "subject-cn-utf8-controls",
    "subject-cn-utf8-empty", "subject-cn-utf8-nul", "subject-cn-visible-ctl",
    "subject-dn-injection", "subject-email-no-at", "subject-long-value",
    "subject-uid-bitstring-bad", "validity-generalized-1", "validity-generalized-2050",
    "validity-utc-1950", "validity-utc-2049",
})
_ANY_READABLE = ("as an intermediate", "this certificate pinned")


def _readable(h: Hostile) -> bool:
    try:
        _x509.check_usable(h.cert) if h.cert is not None else load_certificate(h.der)
    except ClientAuthError:
        return False
    return True


def _accepted(outcome: object) -> bool:
    if isinstance(outcome, AuthResult | CertificateCheck):
        return outcome.ok
    return False


@pytest.mark.parametrize("entry_point", list(ENTRY_POINTS))
def test_no_certificate_escapes(world: World, entry_point: str) -> None:
    """Each corpus certificate through this entry point gives a result or a ClientAuthError:
    no other exception escapes, and nothing outside AUTHENTICATES is accepted."""
    run = ENTRY_POINTS[entry_point]
    escapes: list[str] = []
    accepted: list[str] = []
    for hostile in CORPUS:
        try:
            outcome = run(world, hostile)
        except ClientAuthError:
            continue
        except Exception as exc:  # the point: nothing else may escape
            escapes.append(f"{hostile.name}: {type(exc).__name__}: {exc}"[:300])
            continue
        if _accepted(outcome):
            accepted.append(hostile.name)
    assert escapes == []
    if any(marker in entry_point for marker in _ANY_READABLE):
        assert [name for name in accepted if not _readable(_load(name))] == []
    else:
        assert sorted(set(accepted) - AUTHENTICATES) == []


def test_accepted_certificates_are_the_expected_ones(world: World) -> None:
    """Authentication succeeds for the baseline and for no certificate the usability check
    refuses (a certificate that cannot be read never authenticates anyone)."""
    baseline = world.auth.authenticate(ClientRequest(form={"client_id": "dn"},
                                                     tls_chain=[world.baseline.der]))
    assert baseline.ok, baseline.detail
    for hostile in CORPUS:
        if hostile.cert is None:
            continue
        try:
            _x509.check_usable(hostile.cert)
        except ClientAuthError:
            for client_id in ("dn", "dns", "pinned", None):
                result = _authenticate(world, hostile, [hostile.der], client_id)
                assert isinstance(result, AuthResult)
                assert not result.ok
                assert result.failure == clientauth.Failure.MALFORMED_CERTIFICATE


def test_corpus_is_what_the_generator_builds() -> None:
    """The committed DER files are byte for byte what generate.py builds (it is
    deterministic), so the corpus cannot drift from its documentation."""
    spec = importlib.util.spec_from_file_location("hostile_generate", HOSTILE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.entries()
    assert sorted(built) == sorted(MANIFEST)
    assert {p.stem for p in HOSTILE.glob("*.der")} == {*MANIFEST, "ca"}
    for name, (why, der) in built.items():
        assert MANIFEST[name] == why
        assert (HOSTILE / f"{name}.der").read_bytes() == der, name
    assert (HOSTILE / "ca.der").read_bytes() == module.ca_certificate()


def test_corpus_covers_lazy_failures() -> None:
    """The corpus holds certificates of each kind: refused at load, loading but unreadable
    when an attribute is read (the class of the finding), and readable."""
    at_load = [h for h in CORPUS if h.cert is None]
    lazy = []
    for h in CORPUS:
        if h.cert is None:
            continue
        try:
            _x509.check_usable(h.cert)
        except ClientAuthError:
            lazy.append(h.name)
    assert len(at_load) >= 20
    assert len(lazy) >= 50
    assert {"subject-cn-utf8-invalid", "subject-cn-bitstring", "issuer-cn-utf8-invalid",
            "validity-generalized-year-0", "duplicate-san", "san-garbage"} <= set(lazy)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_forwarded_parsers_refuse_unreadable(fmt: str) -> None:
    """Each proxy format's parser is an edge: a certificate that loads but cannot be read is
    a ForwardedHeaderError there (so a trusted proxy's header with it is a failed request),
    not a certificate handed on to raise later."""
    for name in ("subject-cn-utf8-invalid", "subject-cn-bitstring", "validity-generalized-year-0"):
        hostile = _load(name)
        with pytest.raises(clientauth.ForwardedHeaderError):
            parse_forwarded(fmt, _forwarded_header(fmt, hostile))
        result = _forwarded_plain_authenticator(fmt).authenticate(
            _forwarded_request(fmt, hostile, "dn"))
        assert not result.ok
        assert result.failure is clientauth.Failure.FORWARDED_HEADER_INVALID, result.detail


def _forwarded_plain_authenticator(fmt: str) -> Authenticator:
    ca = x509.load_der_x509_certificate((HOSTILE / "ca.der").read_bytes())
    registry = MemoryRegistry([Client.from_metadata(_metadata(_pem(ca.public_bytes(
        Encoding.DER)), _load("baseline").pem)[0])])
    return Authenticator(registry, trust_anchors=[ca], now=clock(NOW),
                         forwarded=ForwardedCertificates(fmt, trusted_proxies=["10.0.0.0/8"]))


def test_serial_warning_as_error_is_ours() -> None:
    """Where warnings are errors, cryptography's warning for a non-positive serial (RFC 5280
    4.1.2.2) raises at load; clientauth turns it into its own CertificateParseError."""
    der = (HOSTILE / "serial-negative.der").read_bytes()
    _x509._PARSED.clear()  # parsed (with a mere warning) by earlier tests: parse afresh
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(clientauth.CertificateParseError):
            load_certificate(der)
        with pytest.raises(clientauth.ForwardedHeaderError):
            parse_forwarded("haproxy", base64.b64encode(der).decode())


def test_long_attribute_warning_as_error_is_ours() -> None:
    """cryptography warns (UserWarning) when it builds a CN longer than 64 characters
    (RFC 5280 Appendix A ub-common-name); where warnings are errors that warning is raised
    when the subject is read, and the usability check turns it into our error."""
    der = (HOSTILE / "subject-long-value.der").read_bytes()
    _x509._USABLE.clear()  # verdicts of earlier tests (warnings not errors): decide afresh
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cert = x509.load_der_x509_certificate(der)
        with pytest.raises(clientauth.CertificateParseError):
            _x509.check_usable(cert)
        keys = certificate_name_keys(cert)
        assert not any(field == "tls_client_auth_subject_dn" for field, _ in keys)


def test_certificate_errors_cover_every_lazy_failure() -> None:
    """Reading every attribute of every corpus certificate raises only CERTIFICATE_ERRORS,
    the tuple the library catches (a new exception type in cryptography fails here first)."""
    for h in CORPUS:
        if h.cert is None:
            continue
        for read in (lambda c: c.subject, lambda c: c.issuer, lambda c: list(c.extensions),
                     lambda c: c.public_key(), lambda c: c.not_valid_before_utc,
                     lambda c: c.not_valid_after_utc, lambda c: c.serial_number,
                     lambda c: c.signature_hash_algorithm,
                     lambda c: c.signature_algorithm_parameters,
                     lambda c: c.public_bytes(Encoding.DER)):
            with contextlib.suppress(*_x509.CERTIFICATE_ERRORS):
                read(h.cert)
