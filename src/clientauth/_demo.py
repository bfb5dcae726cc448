"""The embedded demo: a generated PKI, an in-memory registry, and one request per scenario.

Nothing here is used by the library itself; ``clientauth demo`` runs it. Every certificate
is generated at start-up (P-256, valid around the demo clock), so there is nothing to install
and nothing that expires on disk.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ._x509 import certificate_thumbprint
from .authenticator import Authenticator
from .binding import bind_claims, check_binding
from .clients import load_clients
from .exceptions import BindingMismatch
from .forwarded import ForwardedCertificates
from .request import ClientRequest
from .result import AuthResult
from .secret import generate_secret, hash_secret

__all__ = ["DemoRow", "run_demo"]

DEMO_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class DemoRow:
    scenario: str
    expected_ok: bool
    ok: bool
    client_id: str | None
    method: str
    outcome: str

    @property
    def as_expected(self) -> bool:
        return self.ok == self.expected_ok


@dataclasses.dataclass(frozen=True, slots=True)
class _Cert:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _issue(
    cn: str,
    issuer: _Cert | None,
    *,
    ca: bool = False,
    org: str = "Demo Corp",
    days: int = 365,
    start: datetime | None = None,
    eku: bool = True,
) -> _Cert:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])
    start = start or DEMO_NOW - timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                (issuer.key if issuer else key).public_key()
            ),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        if eku:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
    return _Cert(builder.sign((issuer.key if issuer else key), hashes.SHA256()), key)


def run_demo() -> list[DemoRow]:
    """Run every scenario and return one row each (the CLI prints them as a table)."""
    now = DEMO_NOW
    secret, rotated_old, rotated_new, expired = (generate_secret() for _ in range(4))
    odd_secret = "p%ss:w+rd/" + generate_secret()  # needs RFC 6749 2.3.1 form-encoding
    root = _issue("Demo Root CA", None, ca=True, days=3650, start=now - timedelta(days=30))
    inter = _issue("Demo Issuing CA", root, ca=True, days=1825, start=now - timedelta(days=30))
    leaf = _issue("payments-service", inter)
    expired_leaf = _issue("payments-service", inter, start=now - timedelta(days=400))
    rogue_root = _issue("Demo Root CA", None, ca=True, days=3650)  # same DN, another key
    rogue_leaf = _issue("payments-service", rogue_root)
    pinned = _issue("device-42", None)
    impostor = _issue("device-42", None)  # same subject, another key
    epoch = int(now.timestamp())
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
        ]
    )
    forwarded = ForwardedCertificates("nginx", trusted_proxies=["10.0.0.0/8"])
    auth = Authenticator(
        registry, trust_anchors=[root.cert], intermediates=[inter.cert], now=lambda: now,
        forwarded=forwarded,
    )

    def basic(cid: str, sec: str) -> tuple[str, str]:
        raw = f"{quote(cid, safe='')}:{quote(sec, safe='')}".encode()
        return ("Authorization", "Basic " + base64.b64encode(raw).decode())

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
                               tls_chain=[rogue_leaf.cert, rogue_root.cert])),
        ("mTLS PKI, no certificate", False, lambda: ClientRequest(form={"client_id": "payments"})),
        ("self-signed, pinned certificate", True,
         lambda: ClientRequest(form={"client_id": "device-42"}, tls_chain=[pinned.cert])),
        ("self-signed, same subject, other key", False,
         lambda: ClientRequest(form={"client_id": "device-42"}, tls_chain=[impostor.cert])),
        ("nginx header from trusted proxy 10.0.0.5", True,
         lambda: ClientRequest([("X-SSL-Client-Cert", nginx_leaf)], peer="10.0.0.5")),
        ("nginx header sent by 203.0.113.9 (spoof)", False,
         lambda: ClientRequest([("X-SSL-Client-Cert", nginx_leaf)], peer="203.0.113.9")),
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
        rows.append(DemoRow(name, expected, ok, "payments", "token binding", outcome))
    return rows


def _row(name: str, expected: bool, result: AuthResult) -> DemoRow:
    if result.ok:
        outcome = "accepted"
        if result.notices:
            outcome += " (" + ", ".join(result.notices) + ")"
    else:
        outcome = f"{result.error}: {result.failure}"
        if result.notices:
            outcome += " [" + ", ".join(result.notices) + "]"
    return DemoRow(
        name,
        expected,
        result.ok,
        result.client_id,
        result.method.value if result.method else "-",
        outcome,
    )
