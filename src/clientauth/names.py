"""Registered certificate names (RFC 8705 section 2.1.2) and how a certificate matches them.

INTERFACE PLACEHOLDER -- to be replaced wholesale by the full implementation (RFC 4514 /
OpenSSL-slash DN parsing, RFC 4518-style comparison, SAN normalisation). The public surface
below is the contract the rest of the package uses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable

from cryptography import x509

from .exceptions import ParseError

__all__ = ["NAME_FIELDS", "RegisteredName", "certificate_name_keys"]

NAME_FIELDS = (
    "tls_client_auth_subject_dn",
    "tls_client_auth_san_dns",
    "tls_client_auth_san_uri",
    "tls_client_auth_san_ip",
    "tls_client_auth_san_email",
)


@dataclasses.dataclass(frozen=True, slots=True)
class RegisteredName:
    field: str
    value: str
    key: Hashable

    @classmethod
    def parse(cls, field: str, value: str) -> RegisteredName:
        if field not in NAME_FIELDS:
            raise ParseError(f"unknown name field {field!r}")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ParseError("control character in registered name")
        return cls(field, value, value.lower())

    def matches(self, certificate: x509.Certificate) -> bool:
        return (self.field, self.key) in certificate_name_keys(certificate)

    def presented(self, certificate: x509.Certificate) -> tuple[str, ...]:
        return tuple(str(k) for f, k in certificate_name_keys(certificate) if f == self.field)


def certificate_name_keys(certificate: x509.Certificate) -> frozenset[tuple[str, Hashable]]:
    keys: set[tuple[str, Hashable]] = {
        ("tls_client_auth_subject_dn", certificate.subject.rfc4514_string().lower())
    }
    return frozenset(keys)
