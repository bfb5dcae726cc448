"""The embedded demo: a generated PKI, an in-memory registry, and one request per scenario.

Nothing here is used by the library itself; ``clientauth demo`` runs it. Every certificate
is generated at start-up (P-256, valid around the demo clock), so there is nothing to install
and nothing that expires on disk.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast
from urllib.parse import quote

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from .._x509 import certificate_thumbprint
from ..authenticator import Authenticator
from ..binding import bind_claims, check_binding
from ..clients import MemoryRegistry, load_clients
from ..exceptions import BindingMismatch
from ..forwarded import ForwardedCertificates
from ..request import JWT_BEARER, ClientRequest
from ..result import AuthResult, Failure
from ..secret import generate_secret, hash_secret
from ..testing import CertificateAuthority, IssuedCertificate, self_signed

__all__ = ["DemoRow", "run_demo", "run_http_demo"]

DEMO_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DEMO_ISSUER = "https://as.demo.example"  # the audience client assertions must name


@dataclasses.dataclass(frozen=True, slots=True)
class DemoRow:
    scenario: str
    expected_ok: bool
    ok: bool
    client_id: str | None
    method: str
    outcome: str
    as_expected: bool


@dataclasses.dataclass(frozen=True)
class _World:
    """Everything the demo generates once: secrets, a PKI, pinned certificates, a registry."""

    secret: str
    rotated_old: str
    rotated_new: str
    expired: str
    odd_secret: str
    root: IssuedCertificate
    inter: IssuedCertificate
    leaf: IssuedCertificate
    expired_leaf: IssuedCertificate
    rogue_issuer: IssuedCertificate
    rogue_leaf: IssuedCertificate
    pinned: IssuedCertificate
    impostor: IssuedCertificate
    registry: MemoryRegistry
    signer_key: ec.EllipticCurvePrivateKey = dataclasses.field(repr=False)
    mac_secret: str = dataclasses.field(repr=False)


def _world() -> _World:
    now = DEMO_NOW
    secret, rotated_old, rotated_new, expired = (generate_secret() for _ in range(4))
    odd_secret = "p%ss:w+rd/" + generate_secret()  # needs RFC 6749 2.3.1 form-encoding
    ca = CertificateAuthority("Demo Corp", now=now)
    rogue = CertificateAuthority("Demo Corp", now=now)  # same DNs, other keys
    leaf = ca.issue("payments-service")
    pinned = self_signed("device-42", now=now)
    epoch = int(now.timestamp())
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer_jwk = {**json.loads(ECAlgorithm.to_jwk(signer_key.public_key())), "kid": "k1"}
    mac_secret = generate_secret()
    registry = load_clients(
        [
            {"client_id": "reports", "client_secret_hash": hash_secret(secret)},
            {"client_id": "billing", "token_endpoint_auth_method": "client_secret_post",
             "client_secret_hash": hash_secret(secret)},
            {"client_id": "gateway", "token_endpoint_auth_method": "client_secret_header",
             "client_secret_hash": hash_secret(secret)},
            {"client_id": "legacy:app", "client_secret_hash": hash_secret(odd_secret)},
            {"client_id": "rotating", "client_secrets": [
                {"hash": hash_secret(rotated_old), "expires_at": epoch + 7 * 86400},
                {"hash": hash_secret(rotated_new)},
                {"hash": hash_secret(expired), "expires_at": epoch - 86400}]},
            {"client_id": "payments", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_subject_dn": "CN=payments-service, O=Demo Corp"},
            {"client_id": "ledger", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_subject_dn": "CN=ledger-service,O=Demo Corp"},
            {"client_id": "device-42", "token_endpoint_auth_method": "self_signed_tls_client_auth",
             "tls_client_certificates": [pinned.pem]},
            {"client_id": "signer", "token_endpoint_auth_method": "private_key_jwt",
             "jwks": {"keys": [signer_jwk]}},
            {"client_id": "batch", "token_endpoint_auth_method": "client_secret_jwt",
             "client_secret": mac_secret},
        ]
    )
    return _World(
        secret, rotated_old, rotated_new, expired, odd_secret, ca.root, ca.intermediate, leaf,
        ca.issue("payments-service", not_before=now - timedelta(days=400)),
        rogue.intermediate, rogue.issue("payments-service"), pinned,
        self_signed("device-42", now=now),  # same subject as the pinned one, another key
        registry,
        signer_key,
        mac_secret,
    )


def run_demo(world: _World | None = None) -> list[DemoRow]:
    """Run every in-process scenario and return one row each (the CLI prints a table)."""
    w = world or _world()
    now = DEMO_NOW
    secret, rotated_old, rotated_new, expired, odd_secret = (
        w.secret, w.rotated_old, w.rotated_new, w.expired, w.odd_secret)
    root, inter, leaf, expired_leaf = w.root, w.inter, w.leaf, w.expired_leaf
    rogue_issuer, rogue_leaf, pinned, impostor = w.rogue_issuer, w.rogue_leaf, w.pinned, w.impostor
    registry = w.registry
    forwarded = ForwardedCertificates("nginx", trusted_proxies=["10.0.0.0/8"])
    auth = Authenticator(
        registry, trust_anchors=[root.cert], intermediates=[inter.cert], now=lambda: now,
        forwarded=forwarded, audience=DEMO_ISSUER,
    )

    def basic(cid: str, sec: str) -> tuple[str, str]:
        raw = f"{quote(cid, safe='')}:{quote(sec, safe='')}".encode()
        return ("Authorization", "Basic " + base64.b64encode(raw).decode())

    epoch = int(now.timestamp())
    serial = iter(range(1_000_000))

    def assertion(cid: str, *, aud: str = DEMO_ISSUER, age: int = 0) -> str:
        # RFC 7523 3: iss = sub = client id, aud = this server, exp, single-use jti.
        claims = {"iss": cid, "sub": cid, "aud": aud, "iat": epoch - age,
                  "exp": epoch - age + 60, "jti": f"demo-{next(serial)}"}
        if cid == "signer":
            return jwt.encode(claims, w.signer_key, algorithm="ES256", headers={"kid": "k1"})
        return jwt.encode(claims, w.mac_secret.encode(), algorithm="HS256")

    def assert_(token: str) -> ClientRequest:
        return ClientRequest(form={"client_assertion_type": JWT_BEARER,
                                   "client_assertion": token})

    signed, maced = assertion("signer"), assertion("batch")
    nginx_leaf = quote(leaf.pem, safe="")
    scenarios: list[tuple[str, bool, Callable[[], ClientRequest]]] = [
        ("Basic, right secret", True, lambda: ClientRequest([basic("reports", secret)])),
        ("Basic, wrong secret", False,
         lambda: ClientRequest([basic("reports", secret[:-1] + "x")])),
        ("Basic, id and secret with ':' '%' '+'", True,
         lambda: ClientRequest([basic("legacy:app", odd_secret)])),
        ("Basic, garbage header", False, lambda: ClientRequest([("Authorization", "Basic %%%")])),
        ("form body (client_secret_post)", True,
         lambda: ClientRequest(form={"client_id": "billing", "client_secret": secret})),
        ("form body, client registered for Basic", False,
         lambda: ClientRequest(form={"client_id": "reports", "client_secret": secret})),
        ("client_id/client_secret headers", True,
         lambda: ClientRequest([("client_id", "gateway"), ("client_secret", secret)])),
        ("Basic and form at once", False,
         lambda: ClientRequest([basic("billing", secret)],
                               form={"client_id": "billing", "client_secret": secret})),
        ("unknown client", False, lambda: ClientRequest([basic("nobody", secret)])),
        ("rotation: old secret, still live", True,
         lambda: ClientRequest([basic("rotating", rotated_old)])),
        ("rotation: new secret", True, lambda: ClientRequest([basic("rotating", rotated_new)])),
        ("rotation: expired secret", False, lambda: ClientRequest([basic("rotating", expired)])),
        ("mTLS PKI, registered DN", True,
         lambda: ClientRequest(form={"client_id": "payments"}, tls_chain=[leaf.cert, inter.cert])),
        ("mTLS PKI, leaf only (intermediate from pool)", True,
         lambda: ClientRequest(form={"client_id": "payments"}, tls_chain=[leaf.cert])),
        ("mTLS PKI, no client_id (found by DN)", True,
         lambda: ClientRequest(tls_chain=[leaf.cert, inter.cert])),
        ("mTLS PKI, another client's name", False,
         lambda: ClientRequest(form={"client_id": "ledger"}, tls_chain=[leaf.cert])),
        ("mTLS PKI, expired certificate", False,
         lambda: ClientRequest(form={"client_id": "payments"}, tls_chain=[expired_leaf.cert])),
        ("mTLS PKI, rogue CA with the same DN", False,
         lambda: ClientRequest(form={"client_id": "payments"},
                               tls_chain=[rogue_leaf.cert, rogue_issuer.cert])),
        ("mTLS PKI, no certificate", False, lambda: ClientRequest(form={"client_id": "payments"})),
        ("self-signed, pinned certificate", True,
         lambda: ClientRequest(form={"client_id": "device-42"}, tls_chain=[pinned.cert])),
        ("self-signed, same subject, other key", False,
         lambda: ClientRequest(form={"client_id": "device-42"}, tls_chain=[impostor.cert])),
        ("nginx header from trusted proxy 10.0.0.5", True,
         lambda: ClientRequest([("X-SSL-Client-Cert", nginx_leaf)], peer="10.0.0.5")),
        ("nginx header sent by 203.0.113.9 (spoof)", False,
         lambda: ClientRequest([("X-SSL-Client-Cert", nginx_leaf)], peer="203.0.113.9")),
        ("private_key_jwt, signed assertion", True, lambda: assert_(signed)),
        ("private_key_jwt, same assertion again", False, lambda: assert_(signed)),
        ("private_key_jwt, wrong audience", False,
         lambda: assert_(assertion("signer", aud="https://elsewhere.example"))),
        ("private_key_jwt, expired assertion", False,
         lambda: assert_(assertion("signer", age=600))),
        ("client_secret_jwt, MACed assertion", True, lambda: assert_(maced)),
        ("client_secret_jwt, same assertion again", False, lambda: assert_(maced)),
        ("client_secret_jwt, wrong audience", False,
         lambda: assert_(assertion("batch", aud="https://elsewhere.example"))),
        ("client_secret_jwt, expired assertion", False,
         lambda: assert_(assertion("batch", age=600))),
    ]
    rows = [_row(name, expected, auth.authenticate(make())) for name, expected, make in scenarios]

    # RFC 8705 section 3: a token bound to the certificate that authenticated.
    claims = bind_claims({"sub": "payments", "scope": "pay"}, leaf.cert)
    for name, cert, expected in (
        ("bound token, same certificate", leaf.cert, True),
        ("bound token, another certificate", impostor.cert, False),
    ):
        try:
            check_binding(claims, cert)
            outcome, ok = f"cnf.x5t#S256 = {certificate_thumbprint(cert)[:16]}...", True
        except BindingMismatch as exc:
            outcome, ok = f"BindingMismatch: {exc}", False
        rows.append(DemoRow(name, expected, ok, "payments", "token binding", outcome,
                            ok == expected))
    return rows


def _row(name: str, expected: bool, result: AuthResult) -> DemoRow:
    if result.ok:
        outcome = "accepted"
        if result.notices:
            outcome += " (" + ", ".join(result.notices) + ")"
    else:
        outcome = f"{result.error}: {result.failure}"
        if result.failure is Failure.INVALID_ASSERTION:
            outcome += f" ({result.detail.partition(':')[0]})"  # the RFC 7523 check that failed
        if result.notices:
            outcome += " [" + ", ".join(result.notices) + "]"
    return DemoRow(
        name,
        expected,
        result.ok,
        result.client_id,
        result.method.value if result.method else "-",
        outcome,
        result.ok == expected,
    )


# -- end to end over HTTP ---------------------------------------------------------------


def run_http_demo(world: _World | None = None) -> list[DemoRow]:
    """Start a real HTTP server on 127.0.0.1 (stdlib wsgiref) guarded by the WSGI adapters,
    send real requests for each method, good and bad, and report what came back.

    ``/token`` is an OAuth-style token endpoint behind ``wsgi.ClientAuthMiddleware``; a local
    "proxy" forwards the payments client's certificate nginx-style with its shared secret.
    ``/api`` is a resource server behind ``wsgi.BoundTokenMiddleware``: its Bearer token must
    be bound (RFC 8705 3) to the certificate of the same request.
    """
    import http.client  # noqa: PLC0415 - only the demo needs these
    import threading  # noqa: PLC0415
    from wsgiref.simple_server import WSGIRequestHandler, make_server  # noqa: PLC0415

    import jwt  # noqa: PLC0415

    from ..wsgi import BoundTokenMiddleware, ClientAuthMiddleware  # noqa: PLC0415

    w = world or _world()
    proxy_secret = generate_secret()
    forwarded = ForwardedCertificates(
        "nginx", trusted_proxies=["127.0.0.1/32"], shared_secret=("x-proxy-secret", proxy_secret)
    )
    auth = Authenticator(
        w.registry, trust_anchors=[w.root.cert], intermediates=[w.inter.cert],
        now=lambda: DEMO_NOW, forwarded=forwarded, audience=DEMO_ISSUER,
        id_header="x-client-id", secret_header="x-client-secret",
    )
    signing_key = ec.generate_private_key(ec.SECP256R1())

    def verify_token(token: str) -> dict[str, object]:
        return dict(jwt.decode(token, signing_key.public_key(), algorithms=["ES256"],
                               options={"verify_exp": False}))

    def token_endpoint(
        environ: dict[str, object], start_response: Callable[..., object]
    ) -> list[bytes]:
        result = cast(AuthResult, environ["clientauth"])  # put there by the middleware
        start_response("200 OK", [("content-type", "text/plain")])
        return [f"{result.client_id} via {result.source}".encode()]

    def api(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"resource granted"]

    guarded_token = ClientAuthMiddleware(token_endpoint, authenticator=auth, max_body_size=2048)
    guarded_api = BoundTokenMiddleware(api, verify_token=verify_token, forwarded=forwarded)

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> object:
        target = guarded_api if environ.get("PATH_INFO") == "/api" else guarded_token
        return target(environ, start_response)

    class _Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]

    def send(method: str, path: str, headers: dict[str, str], body: str = "") -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(method, path, body=body.encode(), headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            challenge = response.getheader("www-authenticate")
            return response.status, text + (f"  [{challenge}]" if challenge else "")
        finally:
            conn.close()

    def basic(cid: str, sec: str) -> dict[str, str]:
        raw = f"{quote(cid, safe='')}:{quote(sec, safe='')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    via_proxy = {"X-SSL-Client-Cert": quote(w.leaf.pem, safe=""), "X-Proxy-Secret": proxy_secret}
    bound = jwt.encode(bind_claims({"sub": "payments"}, w.leaf.cert), signing_key, "ES256")
    bound_other = jwt.encode(bind_claims({"sub": "payments"}, w.impostor.cert), signing_key,
                             "ES256")
    cases: list[tuple[str, int, str, str, dict[str, str], str]] = [
        ("Basic, right secret", 200, "POST", "/token", basic("reports", w.secret), ""),
        ("Basic, wrong secret", 401, "POST", "/token", basic("reports", "nope"), ""),
        ("form post, right secret", 200, "POST", "/token", form,
         f"grant_type=client_credentials&client_id=billing&client_secret={w.secret}"),
        ("id/secret headers", 200, "POST", "/token",
         {"X-Client-Id": "gateway", "X-Client-Secret": w.secret}, ""),
        ("Basic and form together", 400, "POST", "/token", {**basic("billing", w.secret), **form},
         f"client_id=billing&client_secret={w.secret}"),
        ("garbage Authorization", 400, "POST", "/token", {"Authorization": "Basic %%%"}, ""),
        ("form body over the limit", 413, "POST", "/token", form,
         "client_id=billing&x=" + "a" * 4096),
        ("certificate via trusted proxy", 200, "POST", "/token", via_proxy, ""),
        ("certificate header, no proxy secret", 401, "POST", "/token",
         {"X-SSL-Client-Cert": quote(w.leaf.pem, safe="")}, ""),
        ("API: token bound to this certificate", 200, "GET", "/api",
         {**via_proxy, "Authorization": f"Bearer {bound}"}, ""),
        ("API: token bound to another certificate", 401, "GET", "/api",
         {**via_proxy, "Authorization": f"Bearer {bound_other}"}, ""),
        ("API: no token", 401, "GET", "/api", via_proxy, ""),
    ]
    rows = []
    try:
        for label, expected, method, path, headers, body in cases:
            status, text = send(method, path, headers, body)
            outcome = f"{status} {text}"
            rows.append(DemoRow(
                f"{method} {path}: {label}", expected == 200, status == 200, None, "http",
                outcome if status == expected else f"{outcome} (expected {expected})",
                status == expected,
            ))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    return rows
