"""Throw-away certificates for tests, demos and docs -- never for production.

    ca = CertificateAuthority("Example Corp")            # root + issuing intermediate
    client = ca.issue("payments-service", san_dns=["payments.example"])
    client.cert, client.pem, client.key_pem, ca.chain_for(client)
    device = self_signed("device-42")                     # RFC 8705 2.2 style

Keys are P-256; validity is computed from ``now`` (default: the system clock), so tests with
an injected clock get certificates valid around that clock.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertificateAuthority", "IssuedCertificate", "self_signed"]


@dataclasses.dataclass(frozen=True)
class IssuedCertificate:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey = dataclasses.field(repr=False)

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")


def _issue(
    subject: x509.Name,
    issuer: IssuedCertificate | None,
    *,
    ca: bool,
    not_before: datetime,
    not_after: datetime,
    san_dns: Sequence[str] = (),
    san_uri: Sequence[str] = (),
    san_ip: Sequence[str] = (),
    san_email: Sequence[str] = (),
) -> IssuedCertificate:
    key = ec.generate_private_key(ec.SECP256R1())
    signer = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in san_dns]
    names += [x509.UniformResourceIdentifier(u) for u in san_uri]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in san_ip]
    names += [x509.RFC822Name(e) for e in san_email]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return IssuedCertificate(builder.sign(signer, hashes.SHA256()), key)


def _name(common_name: str, organization: str | None) -> x509.Name:
    attributes = []
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


class CertificateAuthority:
    """A root CA and an issuing intermediate CA that signs client certificates."""

    def __init__(self, organization: str = "Example Corp", *, now: datetime | None = None) -> None:
        self.organization = organization
        self.now = now or datetime.now(UTC)
        start = self.now - timedelta(days=30)
        self.root = _issue(_name(f"{organization} Root CA", organization), None, ca=True,
                           not_before=start, not_after=start + timedelta(days=3650))
        self.intermediate = _issue(
            _name(f"{organization} Issuing CA", organization), self.root, ca=True,
            not_before=start, not_after=start + timedelta(days=1825),
        )

    def issue(
        self,
        common_name: str,
        *,
        days: int = 365,
        not_before: datetime | None = None,
        san_dns: Sequence[str] = (),
        san_uri: Sequence[str] = (),
        san_ip: Sequence[str] = (),
        san_email: Sequence[str] = (),
    ) -> IssuedCertificate:
        """A client certificate (clientAuth EKU), subject ``O=<org>, CN=<common_name>``."""
        start = not_before or self.now - timedelta(days=1)
        return _issue(
            _name(common_name, self.organization), self.intermediate, ca=False,
            not_before=start, not_after=start + timedelta(days=days),
            san_dns=san_dns, san_uri=san_uri, san_ip=san_ip, san_email=san_email,
        )

    def chain_for(self, leaf: IssuedCertificate) -> list[x509.Certificate]:
        """What a client presents: its certificate, then the intermediate."""
        return [leaf.cert, self.intermediate.cert]


def self_signed(
    common_name: str, *, days: int = 365, now: datetime | None = None
) -> IssuedCertificate:
    """A self-signed client certificate, the kind RFC 8705 2.2 pins."""
    start = (now or datetime.now(UTC)) - timedelta(days=1)
    return _issue(_name(common_name, None), None, ca=False, not_before=start,
                  not_after=start + timedelta(days=days))
