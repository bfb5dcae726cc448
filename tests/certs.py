"""Certificate factory for the tests: CAs, intermediates, leaves, self-signed certificates.

Everything is generated at test time relative to an injected clock (``NOW``), so nothing
committed can rot. Keys are P-256 by default (fast); pass ``key=`` for RSA or others.

    pki = Pki.create()                                   # root + intermediate
    leaf = pki.leaf(cn="client-1", san_dns=["a.example"])
    leaf.cert, leaf.key, leaf.pem, pki.chain_for(leaf)
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
"""The tests' fixed clock. Certificates are valid from NOW - 1 day to NOW + 365 days."""

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def clock(at: datetime = NOW) -> Any:
    """A ``now=`` callable returning ``at``."""
    return lambda: at


class Clock:
    """A settable ``now=`` callable: ``clock()`` returns ``clock.at``; ``advance()`` moves it
    (``clock.advance(30)`` or ``clock.advance(minutes=9, seconds=59)``)."""

    def __init__(self, at: datetime = NOW) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float = 0, **kwargs: float) -> None:
        self.at += timedelta(seconds=seconds, **kwargs)


def new_key(kind: str = "ec") -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def name(cn: str | None = None, **attrs: str) -> x509.Name:
    """``name("x", O="Acme", C="US")`` -> C=US, O=Acme, CN=x (RFC 5280 order: C first)."""
    oids = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME,
            "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "L": NameOID.LOCALITY_NAME,
            "ST": NameOID.STATE_OR_PROVINCE_NAME}
    rdns = [x509.NameAttribute(oids[k], v) for k, v in attrs.items()]
    if cn is not None:
        rdns.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(rdns)


@dataclasses.dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey

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

    def write(self, directory: Any, stem: str) -> tuple[str, str]:
        """Write ``stem.pem`` and ``stem.key`` into ``directory``; returns both paths."""
        cert_path, key_path = f"{directory}/{stem}.pem", f"{directory}/{stem}.key"
        with open(cert_path, "w") as fh:
            fh.write(self.pem)
        with open(key_path, "w") as fh:
            fh.write(self.key_pem)
        return cert_path, key_path


def issue(
    subject: x509.Name,
    *,
    issuer: Issued | None = None,
    key: PrivateKey | None = None,
    ca: bool = False,
    path_length: int | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    eku: Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.CLIENT_AUTH,),
    san_dns: Sequence[str] = (),
    san_uri: Sequence[str] = (),
    san_ip: Sequence[str] = (),
    san_email: Sequence[str] = (),
    san_critical: bool = False,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    serial: int | None = None,
    extra: Sequence[tuple[x509.ExtensionType, bool]] = (),
    ski_aki: bool = True,
) -> Issued:
    """Issue one certificate. ``issuer=None`` makes it self-signed."""
    key = key or new_key()
    signer_key = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before or NOW - timedelta(days=1))
        .not_valid_after(not_after or NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
                       critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                          crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False,
                          key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                          data_encipherment=False, key_agreement=False, key_cert_sign=False,
                          crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True,
        )
        if eku is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if ski_aki:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        aki_key = issuer.key.public_key() if issuer else key.public_key()
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(aki_key), critical=False
        )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in san_dns]
    sans += [x509.UniformResourceIdentifier(u) for u in san_uri]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in san_ip]
    sans += [x509.RFC822Name(e) for e in san_email]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=san_critical)
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier(crl_url)], None, None, None)]),
            critical=False,
        )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess([x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier(ocsp_url))]),
            critical=False,
        )
    for ext, critical in extra:
        builder = builder.add_extension(ext, critical=critical)
    return Issued(builder.sign(signer_key, hashes.SHA256()), key)


def self_signed(cn: str = "self-signed-client", **kwargs: Any) -> Issued:
    """A self-signed end-entity certificate (the RFC 8705 2.2 kind)."""
    return issue(name(cn), **kwargs)


@dataclasses.dataclass(frozen=True)
class Pki:
    """A root CA and one intermediate CA that issues client certificates."""

    root: Issued
    intermediate: Issued

    @classmethod
    def create(cls, org: str = "Example Corp", *, key: str = "ec") -> Pki:
        root = issue(name(f"{org} Root CA", O=org), ca=True, key=new_key(key),
                     not_before=NOW - timedelta(days=30), not_after=NOW + timedelta(days=3650))
        inter = issue(name(f"{org} Issuing CA", O=org), issuer=root, ca=True, path_length=0,
                      key=new_key(key), not_before=NOW - timedelta(days=30),
                      not_after=NOW + timedelta(days=1825))
        return cls(root, inter)

    def leaf(self, cn: str = "client", *, org: str | None = None, **kwargs: Any) -> Issued:
        subject = name(cn, O=org) if org else name(cn)
        return issue(subject, issuer=self.intermediate, **kwargs)

    def chain_for(self, leaf: Issued) -> list[x509.Certificate]:
        """Leaf + intermediate (what a client presents; the root stays with the server)."""
        return [leaf.cert, self.intermediate.cert]
