"""Loading certificates from the forms users hand us, and the RFC 8705 thumbprint.

Internal: the public names are re-exported by ``clientauth`` (``certificate_thumbprint``) and
used by every verifier, so there is one place where "a certificate-like value" is defined.

cryptography parses lazily: ``load_der_x509_certificate`` checks the outer structure, and a
subject holding a UTF8String with invalid UTF-8 (or a BIT STRING under CN, or a GeneralizedTime
in year 0) raises only when ``subject`` (or ``not_valid_before_utc``) is first read -- anywhere
in the library, long after the certificate "loaded". :func:`check_usable` decides once, where a
certificate enters, that every attribute the library reads can be read; every loader here
applies it, so a certificate that got past a loader never raises later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

from ._cache import LRU, CertificateMemo
from .exceptions import CertificateParseError

__all__ = [
    "CERTIFICATE_ERRORS",
    "DECODE_ERRORS",
    "EXTENSION_ERRORS",
    "MAX_CERTIFICATE_SIZE",
    "MAX_CHAIN_LENGTH",
    "CertificateLike",
    "certificate_thumbprint",
    "check_usable",
    "is_ca",
    "load_certificate",
    "load_certificates",
    "load_pem_bundle",
    "load_x5c",
]

CertificateLike: TypeAlias = "x509.Certificate | bytes | bytearray | memoryview | str"
"""An ``x509.Certificate``, DER bytes, or PEM (``str`` or ``bytes``)."""

MAX_CERTIFICATE_SIZE = 64 * 1024
"""Largest encoded certificate accepted (PEM or DER), in bytes. Real client certificates are
1-4 KiB; the cap bounds parsing work on hostile input."""

MAX_CHAIN_LENGTH = 10
"""Most certificates accepted in one presented chain (leaf included)."""

# What cryptography raises for bytes that are not a certificate it can load. InvalidVersion
# (e.g. a version INTEGER of 3) is not a ValueError. A serial number that is not positive
# (RFC 5280 4.1.2.2) only warns today (CryptographyDeprecationWarning); where warnings are
# errors the warning is raised, and is a refusal like any other.
DECODE_ERRORS: tuple[type[Exception], ...] = (ValueError, x509.InvalidVersion, Warning)
# What reading a parsed certificate's extensions can raise (a repeated extension, a general
# name type cryptography does not model).
EXTENSION_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)
CERTIFICATE_ERRORS: tuple[type[Exception], ...] = (
    *DECODE_ERRORS,
    *EXTENSION_ERRORS[1:],
    TypeError,
    UnsupportedAlgorithm,
)
"""Everything reading any attribute of a loaded certificate can raise: ValueError (bad string
encodings, year 0, malformed extensions), TypeError (a BIT STRING where a string belongs,
IP name constraints that are not networks), UnsupportedAlgorithm (unknown key or signature
algorithms), DuplicateExtension, UnsupportedGeneralNameType, InvalidVersion, and -- where
warnings are errors -- the warnings cryptography emits while reading (a CN over 64
characters, a serial that is not positive). Code that reads what :func:`check_usable` does
not vouch for (the public key, the signature algorithm) catches these."""

_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
_DER = Encoding.DER


def load_certificate(value: CertificateLike) -> x509.Certificate:
    """One certificate from an ``x509.Certificate``, DER bytes, or PEM text/bytes.

    Raises :class:`~clientauth.CertificateParseError` (a ``ValueError``) for anything else,
    including PEM holding more than one certificate and a certificate whose attributes
    cannot be read (:func:`check_usable`), whatever form it came in.
    """
    if isinstance(value, x509.Certificate):
        return check_usable(value)
    if isinstance(value, str | bytes) and len(value) <= _MAX_CACHED_ENCODING:
        # The same PEM/DER arrives again and again (a long-lived TLS connection, a client's
        # next request): parse it once. Only successful parses are remembered.
        cached = _PARSED.peek(value)
        if cached is not None:
            return cached
        certificate = _load_certificate(value)
        _PARSED.put(value, certificate)
        return certificate
    return _load_certificate(value)


# 1024 entries of at most 8 KiB each: real client certificates are 1-4 KiB as PEM.
_MAX_CACHED_ENCODING = 8 * 1024
_PARSED: LRU[str | bytes, x509.Certificate] = LRU(1024)


def _load_certificate(value: CertificateLike) -> x509.Certificate:
    if isinstance(value, str):
        try:
            data = value.encode("ascii")
        except UnicodeEncodeError:
            raise CertificateParseError("PEM text is not ASCII") from None
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
    else:
        raise CertificateParseError(
            f"expected a certificate, DER bytes or PEM, got {type(value).__name__}"
        )
    if len(data) > MAX_CERTIFICATE_SIZE:
        raise CertificateParseError(f"certificate larger than {MAX_CERTIFICATE_SIZE} bytes")
    if not data:
        raise CertificateParseError("empty certificate")
    if _PEM_BEGIN in data:
        if data.count(_PEM_BEGIN) != 1:
            raise CertificateParseError("PEM holds more than one certificate")
        try:
            certificate = x509.load_pem_x509_certificate(data)
        except DECODE_ERRORS:
            raise CertificateParseError("not a valid PEM certificate") from None
        return check_usable(certificate)
    try:
        certificate = x509.load_der_x509_certificate(data)
    except DECODE_ERRORS:
        raise CertificateParseError("not a valid DER certificate") from None
    return check_usable(certificate)


def check_usable(certificate: x509.Certificate) -> x509.Certificate:
    """``certificate`` itself, once every attribute the library reads has been read.

    Subject and issuer (each attribute value), every extension and its value, the validity
    period and the serial number: what the verifiers, the name index, the CLI and the audit
    trail look at. Raises :class:`~clientauth.CertificateParseError` naming the part that
    cannot be read. Not read: the public key and the signature algorithm, which only path
    validation uses (it reports its own failures), and which must not stop a pinned
    certificate whose key type cryptography does not model -- the TLS stack proved it.

    The verdict is remembered per certificate: the same object again costs a dictionary
    lookup, another object with the same encoding (the same certificate parsed again for a new
    request) a comparison of the encodings, after which the entry names that object. The
    verdict depends on the encoding alone (``tests/test_usable_verdicts.py``).
    """
    key = certificate.signature
    hit = _USABLE.peek(key)
    if hit is not None and hit[0] is certificate:
        problem = hit[1]
    elif hit is not None and hit[0] == certificate:
        # The same encoding in another object (a pinned certificate parsed from the
        # registry, then from each request's DER): the verdict holds. The entry now names
        # this object, so that its next check is an identity test -- comparing two
        # certificates costs about 1 us, more than the rest of a pinned verify's checks.
        problem = hit[1]
        _USABLE.put(key, (certificate, problem))
    else:
        # Keyed by the signature bytes, which anyone can copy: the comparison above is what
        # makes a verdict apply, so a look-alike only ever replaces the entry.
        problem = _unreadable_part(certificate)
        _USABLE.put(key, (certificate, problem))
    if problem is not None:
        raise CertificateParseError(f"the certificate's {problem} cannot be read")
    return certificate


def _unreadable_part(certificate: x509.Certificate) -> str | None:
    """The first attribute of ``certificate`` that cannot be read, or ``None``.

    Building each object is what reads it: cryptography decodes every attribute value of a
    name while building the ``x509.Name`` (that is where invalid UTF-8 or a misplaced BIT
    STRING raises), and every extension value while building ``extensions``; the objects
    are then kept on the certificate, so the readers after this one get them for free.
    Walking the built values again decides nothing more (tests/test_hostile_certificates.py
    proves the verdicts on the hostile corpus).
    """
    part = "subject"
    try:
        _ = certificate.subject
        part = "issuer"
        _ = certificate.issuer
        part = "extensions"
        _ = certificate.extensions
        part = "validity period"
        _ = certificate.not_valid_before_utc, certificate.not_valid_after_utc
        part = "serial number"
        _ = certificate.serial_number
    except CERTIFICATE_ERRORS:
        return part
    return None


# Signature bytes -> (a certificate, its verdict: None if usable, else the unreadable part).
_USABLE: LRU[bytes, tuple[x509.Certificate, str | None]] = LRU(4096)


def load_certificates(
    values: Iterable[CertificateLike], *, limit: int = MAX_CHAIN_LENGTH
) -> tuple[x509.Certificate, ...]:
    """Several certificates (a chain, leaf first, or a set of anchors), each as for
    :func:`load_certificate`. A PEM ``str``/``bytes`` element may hold a bundle."""
    out: list[x509.Certificate] = []
    for value in values:
        # A value parsed before is one certificate (only those are remembered, by
        # load_certificate): the common case, a client's chain on its next request, skips the
        # search for a PEM bundle.
        cached = _PARSED.peek(value) if isinstance(value, str | bytes) else None
        if cached is not None:
            out.append(cached)
        elif isinstance(value, str | bytes) and _pem_count(value) > 1:
            out.extend(load_pem_bundle(value))
        else:
            out.append(load_certificate(value))
        if len(out) > limit:
            raise CertificateParseError(f"more than {limit} certificates")
    return tuple(out)


def _pem_count(value: str | bytes) -> int:
    if isinstance(value, str):
        return value.count(_PEM_BEGIN.decode("ascii"))
    return value.count(_PEM_BEGIN)


def load_pem_bundle(data: str | bytes) -> tuple[x509.Certificate, ...]:
    """Every certificate in a PEM bundle (order kept). Raises if there is none."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    if len(raw) > MAX_CERTIFICATE_SIZE * MAX_CHAIN_LENGTH:
        raise CertificateParseError("PEM bundle too large")
    try:
        certs = x509.load_pem_x509_certificates(raw)
    except DECODE_ERRORS:
        raise CertificateParseError("not a valid PEM certificate bundle") from None
    return tuple(check_usable(c) for c in certs)


def certificate_thumbprint(certificate: x509.Certificate | bytes | bytearray | memoryview) -> str:
    """The RFC 8705 section 3.1 ``x5t#S256`` of a certificate: base64url (no padding) of the
    SHA-256 of its DER encoding. Accepts an ``x509.Certificate`` or its DER bytes."""
    if isinstance(certificate, x509.Certificate):
        return _THUMBPRINTS.get(certificate, _thumbprint_of_certificate)
    if isinstance(certificate, bytes | bytearray | memoryview):
        der = bytes(certificate)
        if not der:
            raise CertificateParseError("empty certificate")
    else:
        raise CertificateParseError(
            f"expected a certificate or DER bytes, got {type(certificate).__name__}"
        )
    return _x5t(der)


def _thumbprint_of_certificate(certificate: x509.Certificate) -> str:
    return _x5t(certificate.public_bytes(_DER))


def _x5t(der: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


# Re-encoding a certificate to hash it costs more than the hash: remember per object.
_THUMBPRINTS: CertificateMemo[str] = CertificateMemo()


def is_ca(certificate: x509.Certificate) -> bool | None:
    """Whether ``certificate`` is a CA certificate: basicConstraints cA=TRUE (RFC 5280
    4.2.1.9; no basicConstraints means not a CA). ``None`` when its extensions cannot be
    parsed -- each caller says so in its own words (falsy: never taken for a CA)."""
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
    except CERTIFICATE_ERRORS:
        return None


def load_x5c(x5c: object) -> x509.Certificate:
    """The certificate of a JWK's ``x5c`` member: RFC 7517 4.7, a list of base64 (not
    base64url) DER certificates, the first of which holds the key. Raises
    :class:`~clientauth.CertificateParseError` saying which of the two went wrong."""
    # JSON gives lists; a tuple comes from metadata built in Python.
    if not isinstance(x5c, list | tuple) or not x5c or not isinstance(x5c[0], str):
        raise CertificateParseError("x5c must be a non-empty list of base64 DER certificates")
    try:
        return load_certificate(base64.b64decode(x5c[0], validate=True))
    except (binascii.Error, ValueError):
        raise CertificateParseError("x5c[0] is not a base64 DER certificate") from None
