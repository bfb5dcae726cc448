"""Registered certificate names (RFC 8705 section 2.1.2) and how a certificate matches them.

A ``tls_client_auth`` client registers exactly one name; a certificate that chains to a trust
anchor authenticates the client only if it carries that name. This module turns the registered
string into a comparison *key* once, at load time, and computes the same kind of key from a
certificate per request, so matching is one tuple or string comparison.

Comparison rules, by field:

``tls_client_auth_subject_dn``
    RFC 4514 string (``CN=client,O=Acme,C=US``, most specific RDN first) or OpenSSL slash form
    (``/C=US/O=Acme/CN=client``, ASN.1 order). Attribute types compare by OID; values compare
    after RFC 4518-style preparation (NFKC, case folding, insignificant-space folding), so the
    ASN.1 string type (PrintableString, UTF8String, BMPString ...) never matters
    (RFC 5280 section 7.1). RDN order matters; order *inside* a multi-valued RDN does not.
``tls_client_auth_san_dns``
    ASCII case-insensitive, one trailing dot ignored, a non-ASCII registration is converted to
    its A-label (stdlib IDNA 2003 codec). No wildcard semantics: ``*.example.com`` matches only
    a certificate that literally carries ``*.example.com``.
``tls_client_auth_san_uri``
    Scheme and host compared case-insensitively (RFC 3986 section 6.2.2.1); everything else,
    including percent-encoding, byte for byte.
``tls_client_auth_san_ip``
    Address equality (any IPv4/IPv6 text form). An IPv4-mapped IPv6 address
    (``::ffff:192.0.2.1``) is a different name from ``192.0.2.1``: the certificate carries 16
    octets, not 4, and RFC 5280 section 4.2.1.6 compares the octets.
``tls_client_auth_san_email``
    Local part exact, domain case-insensitive (RFC 5280 section 7.5).

What is deliberately *not* done: RFC 4518 "map to nothing" of invisible characters (soft
hyphen, zero-width space ...): such characters make a registered name invalid and a
certificate name unmatchable instead, so invisible differences can never make two names equal.
Certificate names holding control characters (NUL included), unassigned or private-use code
points, or non-string attribute values never match anything. SmtpUTF8Mailbox (RFC 9598) and
other ``otherName`` SANs are not compared.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import unicodedata
from collections.abc import Callable, Hashable, Iterable
from typing import TypeAlias

from cryptography import x509
from cryptography.x509.name import _ASN1Type

from ._cache import CertificateMemo
from ._x509 import CERTIFICATE_ERRORS as _CERTIFICATE_ERRORS
from .exceptions import DistinguishedNameError, ParseError

__all__ = [
    "MAX_NAME_LENGTH",
    "NAME_FIELDS",
    "DistinguishedName",
    "RegisteredName",
    "certificate_name_keys",
    "dn_of",
    "format_dn",
    "parse_dn",
]

_NAME_KEYS: CertificateMemo[frozenset[tuple[str, Hashable]]] = CertificateMemo()
_FIELD_KEYS: CertificateMemo[dict[str, frozenset[Hashable]]] = CertificateMemo()

MAX_NAME_LENGTH = 4096
"""Longest registered name accepted, in characters. Real DNs and SANs are well under 1 KiB;
the cap bounds parsing work and memory on hostile configuration."""

_SUBJECT_DN = "tls_client_auth_subject_dn"
_SAN_DNS = "tls_client_auth_san_dns"
_SAN_URI = "tls_client_auth_san_uri"
_SAN_IP = "tls_client_auth_san_ip"
_SAN_EMAIL = "tls_client_auth_san_email"

NAME_FIELDS = (_SUBJECT_DN, _SAN_DNS, _SAN_URI, _SAN_IP, _SAN_EMAIL)
"""The RFC 8705 section 2.1.2 client metadata fields, in the order the RFC lists them."""

_DNKey: TypeAlias = tuple[tuple[tuple[str, str], ...], ...]
"""Comparison key of a DN: RDNs in ASN.1 order, each a sorted tuple of (dotted OID, prepared
value)."""

# -- attribute types -----------------------------------------------------------------------

# (dotted OID, names); the first name is the one format_dn writes. RFC 4514 section 3 names
# first, then RFC 4519 / PKCS #9 / CA-Browser Forum long names, then the short forms OpenSSL
# and Microsoft CertStrToName use. "SN" is surname (RFC 4519, OpenSSL), not serialNumber.
_ATTRIBUTE_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("2.5.4.3", ("CN", "commonName")),
    ("2.5.4.4", ("surname", "SN")),
    ("2.5.4.5", ("serialNumber",)),
    ("2.5.4.6", ("C", "countryName")),
    ("2.5.4.7", ("L", "localityName")),
    ("2.5.4.8", ("ST", "stateOrProvinceName", "S")),
    ("2.5.4.9", ("STREET", "streetAddress")),
    ("2.5.4.10", ("O", "organizationName")),
    ("2.5.4.11", ("OU", "organizationalUnitName")),
    ("2.5.4.12", ("title", "T")),
    ("2.5.4.13", ("description",)),
    ("2.5.4.15", ("businessCategory",)),
    ("2.5.4.16", ("postalAddress",)),
    ("2.5.4.17", ("postalCode",)),
    ("2.5.4.18", ("postOfficeBox",)),
    ("2.5.4.20", ("telephoneNumber",)),
    ("2.5.4.41", ("name",)),
    ("2.5.4.42", ("givenName", "GN", "G")),
    ("2.5.4.43", ("initials",)),
    ("2.5.4.44", ("generationQualifier",)),
    ("2.5.4.45", ("x500UniqueIdentifier",)),
    ("2.5.4.46", ("dnQualifier",)),
    ("2.5.4.65", ("pseudonym",)),
    ("2.5.4.72", ("role",)),
    ("2.5.4.97", ("organizationIdentifier",)),
    ("0.9.2342.19200300.100.1.1", ("UID", "userId")),
    ("0.9.2342.19200300.100.1.25", ("DC", "domainComponent")),
    ("1.2.840.113549.1.9.1", ("emailAddress", "E", "email")),
    ("1.2.840.113549.1.9.2", ("unstructuredName",)),
    ("1.2.840.113549.1.9.8", ("unstructuredAddress",)),
    ("1.3.6.1.4.1.311.60.2.1.1", ("jurisdictionLocalityName", "jurisdictionL")),
    ("1.3.6.1.4.1.311.60.2.1.2", ("jurisdictionStateOrProvinceName", "jurisdictionST")),
    ("1.3.6.1.4.1.311.60.2.1.3", ("jurisdictionCountryName", "jurisdictionC")),
    ("1.2.643.3.131.1.1", ("INN",)),
    ("1.2.643.100.1", ("OGRN",)),
    ("1.2.643.100.3", ("SNILS",)),
)
# RFC 4512 section 1.4: descriptors are case-insensitive.
_TYPE_BY_NAME = {n.lower(): oid for oid, names in _ATTRIBUTE_TYPES for n in names}
_NAME_BY_TYPE = {oid: names[0] for oid, names in _ATTRIBUTE_TYPES}

# -- character classes ---------------------------------------------------------------------

# Categories refused in registered names and unmatchable in certificate names: controls,
# format (invisible) characters, surrogates, private use, unassigned (RFC 4518 section 2.4
# prohibits the last three), line/paragraph separators. Zs spaces are allowed and folded.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_REPLACEMENT = "\ufffd"  # RFC 4518 section 2.4: prohibited
_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_KEYCHAR = _ALPHA | _DIGITS | {"-"}
_SCHEME_CHARS = _ALPHA | _DIGITS | frozenset("+-.")
# RFC 4514 section 2.4 / 3: characters a backslash may escape literally.
_ESCAPABLE = frozenset('"+,;<>\\ #=')
# RFC 4514 section 3 (SUTF1 excludes them): unescaped they are an error, not data. ';' was an
# RDN separator and '"' a quote in RFC 2253 / 1779, so guessing would silently change meaning.
_MUST_ESCAPE = frozenset('";<>')
# IDNA 2003 (stdlib) and IDNA 2008 (what CAs issue today) disagree on these: refuse to guess.
_IDNA_DEVIATIONS = frozenset("\u00df\u03c2")
_IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address)


def _bad_char_at(value: str) -> int | None:
    """Index of the first character a name must not contain, or None."""
    if value.isprintable() and _REPLACEMENT not in value:
        return None  # fast path: isprintable() already excludes every bad category
    for i, c in enumerate(value):
        if c == _REPLACEMENT or unicodedata.category(c) in _BAD_CATEGORIES:
            return i
    return None


def _prepare(value: str) -> str | None:
    """RFC 4518-style preparation of one attribute value; None if it must never match.

    RFC 4518 section 2: transcode (done: values are str), map (NFKC + case folding, as
    NFKC_Casefold does: fold, then re-normalise because folding can denormalise), prohibit,
    insignificant space handling (section 2.6.1: trim, collapse inner runs to one space).
    """
    if value.isascii():
        if not value.isprintable():
            return None
        # NFKC and case folding are the identity / lower() on printable ASCII.
        return " ".join(value.lower().split())
    if _bad_char_at(value) is not None:
        return None
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return " ".join(folded.split())


# Certificates of one deployment repeat the same few values (C=US, O=<issuer org>, ...);
# memoising preparation cuts the per-request DN key to a few microseconds. Only short values
# are cached, so hostile certificates cannot make the cache large (<= ~1 MiB of keys).
_CACHED_VALUE_LENGTH = 128


@functools.lru_cache(maxsize=4096)
def _prepare_cached(value: str) -> str | None:
    return _prepare(value)


def _printable(value: str) -> str:
    """``value`` with non-printable characters escaped, for explanations and logs."""
    if value.isprintable():
        return value
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
        for c in value
    )


# -- distinguished names -------------------------------------------------------------------


def _rdn_key(rdn: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...] | None:
    # RFC 4514 section 2.2 / X.501: an RDN is a SET, so its order carries no meaning.
    prepared: list[tuple[str, str]] = []
    for oid, value in rdn:
        folded = _prepare(value)
        if folded is None:
            return None
        prepared.append((oid, folded))
    prepared.sort()
    return tuple(prepared)


@dataclasses.dataclass(frozen=True, slots=True)
class DistinguishedName:
    """A parsed distinguished name.

    ``rdns`` holds the RDNs in ASN.1 order (least specific first, the order of
    ``x509.Name.rdns``), each a tuple of ``(dotted OID, value as written)``. Two instances are
    equal when their ``key`` is, i.e. when they name the same entity under the comparison
    rules of this module. ``str()`` gives the RFC 4514 form (most specific RDN first), which
    :func:`parse_dn` reads back to an equal name.
    """

    rdns: tuple[tuple[tuple[str, str], ...], ...] = dataclasses.field(compare=False)
    key: _DNKey = dataclasses.field(repr=False)

    @classmethod
    def _build(cls, rdns: list[list[tuple[str, str]]], where: int | None) -> DistinguishedName:
        frozen = tuple(tuple(rdn) for rdn in rdns)
        keys = []
        for rdn in frozen:
            key = _rdn_key(rdn)
            if key is None:
                raise DistinguishedNameError(
                    "a value holds a control, invisible, private-use or unassigned character",
                    position=where,
                )
            keys.append(key)
        return cls(frozen, tuple(keys))

    def __str__(self) -> str:
        return ",".join(
            "+".join(f"{_type_name(oid)}={_escape(value)}" for oid, value in rdn)
            for rdn in reversed(self.rdns)
        )


def _type_name(oid: str) -> str:
    # RFC 4514 section 2.3: a known short name, otherwise the dotted-decimal OID.
    return _NAME_BY_TYPE.get(oid, oid)


def _escape(value: str) -> str:
    """RFC 4514 section 2.4 escaping; non-printable characters become ``\\XX`` UTF-8 pairs."""
    out: list[str] = []
    last = len(value) - 1
    for i, c in enumerate(value):
        if c in '"+,;<>\\' or (i == 0 and c in " #") or (i == last and c == " "):
            out.append("\\" + c)
        elif not c.isprintable() or c == _REPLACEMENT:
            out.append("".join(f"\\{b:02X}" for b in c.encode("utf-8", "surrogatepass")))
        else:
            out.append(c)
    return "".join(out)


def _dn_key(name: x509.Name) -> _DNKey | None:
    """The comparison key of a certificate's name, or None if it can never match."""
    keys: list[tuple[tuple[str, str], ...]] = []
    for rdn in name.rdns:
        prepared: list[tuple[str, str]] = []
        for attribute in rdn:
            value = attribute.value
            if not isinstance(value, str) or attribute._type not in _STRING_TYPES:
                # BIT STRING, OCTET STRING (which cryptography hands back as text) and other
                # non-character-string values: no RFC 4518 rule applies, and comparing their
                # octets with a registered string would be a guess.
                return None
            if len(value) <= _CACHED_VALUE_LENGTH:
                folded = _prepare_cached(value)
            else:
                folded = _prepare(value)
            if folded is None:
                return None
            prepared.append((attribute.oid.dotted_string, folded))
        if len(prepared) > 1:
            prepared.sort()
        keys.append(tuple(prepared))
    return tuple(keys)


def dn_of(name: x509.Name) -> DistinguishedName | None:
    """The :class:`DistinguishedName` of an ``x509.Name`` (e.g. ``certificate.subject``).

    ``None`` when the name holds a value that can never match a registered DN: a non-string
    value (BIT STRING ...) or a string with control, invisible, private-use or unassigned
    characters.
    """
    key = _dn_key(name)
    if key is None:
        return None
    rdns = tuple(tuple((a.oid.dotted_string, str(a.value)) for a in rdn) for rdn in name.rdns)
    return DistinguishedName(rdns, key)


def format_dn(name: x509.Name) -> str:
    """An ``x509.Name`` in RFC 4514 form, safe to log: never raises, escapes non-printable
    characters as ``\\XX``, shows non-string values as ``#`` + hex of their raw content (for
    display; that is not the BER encoding RFC 4514 section 2.4 describes)."""
    parts = []
    for rdn in reversed(name.rdns):
        avas = []
        for attribute in rdn:
            value = attribute.value
            shown = "#" + value.hex() if isinstance(value, bytes) else _escape(str(value))
            avas.append(f"{_type_name(attribute.oid.dotted_string)}={shown}")
        parts.append("+".join(avas))
    return ",".join(parts)


def parse_dn(text: str) -> DistinguishedName:
    """Parse a DN string: RFC 4514 (``CN=x,O=Acme,C=US``) or OpenSSL slash form
    (``/C=US/O=Acme/CN=x``, recognised by its leading ``/``).

    RFC 4514: attribute types by name (case-insensitive) or numeric OID (``2.5.4.97``,
    ``OID.2.5.4.97``); ``+`` joins a multi-valued RDN; backslash escapes of special characters
    and ``\\XX`` hex pairs (UTF-8); ``#`` hex values holding a BER character string. Spaces
    around ``,`` ``+`` ``=`` are tolerated. Unescaped ``" ; < >`` are refused (RFC 2253/1779
    quoting and ``;`` separators are not supported).

    Slash form: ``/`` separates RDNs, ``+`` joins a multi-valued RDN, a backslash makes the
    next character literal (OpenSSL ``-subj``); there is no hex form.

    Raises :class:`~clientauth.DistinguishedNameError` with the position of the problem;
    messages never echo the input.
    """
    if not isinstance(text, str):
        raise DistinguishedNameError(f"a DN must be a string, not {type(text).__name__}")
    if len(text) > MAX_NAME_LENGTH:
        raise DistinguishedNameError(f"DN longer than {MAX_NAME_LENGTH} characters")
    bad = _bad_char_at(text)
    if bad is not None:
        raise DistinguishedNameError(
            "DN holds a control, invisible, private-use or unassigned character", position=bad
        )
    parser = _DNParser(text)
    return parser.parse()


class _DNParser:
    """Single left-to-right pass, no backtracking: linear in the input length."""

    __slots__ = ("n", "pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0

    def fail(self, message: str, position: int | None = None) -> DistinguishedNameError:
        return DistinguishedNameError(message, position=self.pos if position is None else position)

    def skip_spaces(self) -> None:
        while self.pos < self.n and self.text[self.pos] == " ":
            self.pos += 1

    def parse(self) -> DistinguishedName:
        self.skip_spaces()
        if self.pos == self.n:
            raise self.fail("empty distinguished name", 0)
        if self.text[self.pos] == "/":
            return self.parse_slash()
        return self.parse_rfc4514()

    # RFC 4514 section 3: distinguishedName = [ RDN *( COMMA RDN ) ], most specific first.
    def parse_rfc4514(self) -> DistinguishedName:
        rdns: list[list[tuple[str, str]]] = []
        while True:
            rdns.append(self.rdn(self.rfc4514_value))
            if self.pos == self.n:
                break
            # rfc4514_value stops only at ',' '+' or the end.
            self.pos += 1
        rdns.reverse()  # RFC 4514 section 2.1: the string lists RDNs in reverse ASN.1 order
        return DistinguishedName._build(rdns, None)

    # OpenSSL X509_NAME_oneline / -subj: ASN.1 order, '/' before every RDN.
    def parse_slash(self) -> DistinguishedName:
        rdns: list[list[tuple[str, str]]] = []
        while self.pos < self.n:
            # At a '/': parse() found one here, and rdn() returns only at the end or where
            # slash_value stopped, which is a '/' ('+' it consumes itself).
            self.pos += 1
            rdns.append(self.rdn(self.slash_value))
        return DistinguishedName._build(rdns, None)

    def rdn(self, value_parser: Callable[[], str]) -> list[tuple[str, str]]:
        """One RDN: ``type=value`` pairs joined by ``+`` (multi-valued, RFC 4514 2.2)."""
        rdn: list[tuple[str, str]] = []
        while True:
            oid = self.attribute_type()
            start = self.pos
            value = value_parser()
            self.check_value(value, start)
            rdn.append((oid, value))
            if self.pos < self.n and self.text[self.pos] == "+":
                self.pos += 1
                continue
            return rdn

    def check_value(self, value: str, start: int) -> None:
        # Escapes (\00, \1F, hex values) can smuggle characters the raw-text check never saw.
        if _bad_char_at(value) is not None:
            raise self.fail(
                "value holds an escaped control, invisible, private-use or unassigned character",
                start,
            )

    # RFC 4514 section 3: attributeType = descr / numericoid; optional "OID." prefix as
    # RFC 1779 and many tools write it. Consumes through the '='.
    def attribute_type(self) -> str:
        self.skip_spaces()
        text, start = self.text, self.pos
        if start < self.n and text[start] in _ALPHA:
            end = start
            while end < self.n and text[end] in _KEYCHAR:
                end += 1
            word = text[start:end].lower()
            self.pos = end
            if word == "oid" and end < self.n and text[end] == ".":
                self.pos = end + 1
                oid = self.numericoid()
            else:
                found = _TYPE_BY_NAME.get(word)
                if found is None:
                    raise self.fail("unknown attribute type name; write its numeric OID", start)
                oid = found
        elif start < self.n and text[start] in _DIGITS:
            oid = self.numericoid()
        else:
            raise self.fail("expected an attribute type (a name or a numeric OID)", start)
        self.skip_spaces()
        if self.pos >= self.n or text[self.pos] != "=":
            raise self.fail("expected '=' after the attribute type")
        self.pos += 1
        return oid

    # RFC 4512 section 1.4: numericoid = number 1*( DOT number ), no leading zeros.
    def numericoid(self) -> str:
        text, start = self.text, self.pos
        end = start
        while end < self.n and (text[end] in _DIGITS or text[end] == "."):
            end += 1
        self.pos = end
        arcs = text[start:end].split(".")
        if len(arcs) < 2 or any(not a or (len(a) > 1 and a[0] == "0") for a in arcs):
            raise self.fail("malformed numeric OID", start)
        dotted = ".".join(arcs)
        try:
            x509.ObjectIdentifier(dotted)
        except ValueError:
            raise self.fail("invalid numeric OID", start) from None
        return dotted

    def rfc4514_value(self) -> str:
        self.skip_spaces()
        if self.pos < self.n and self.text[self.pos] == "#":
            return self.hex_value()
        text, n = self.text, self.n
        start = self.pos
        buf = bytearray()
        keep = 0  # unescaped trailing spaces are not part of the value (RFC 4514 section 2.4)
        pos = start
        while pos < n:
            c = text[pos]
            if c in ",+":
                break
            if c == "\\":
                d = text[pos + 1] if pos + 1 < n else ""
                if d and d in _ESCAPABLE:
                    buf += d.encode("ascii")
                    pos += 2
                elif d in _HEX and pos + 2 < n and text[pos + 2] in _HEX:
                    buf.append(int(text[pos + 1 : pos + 3], 16))
                    pos += 3
                else:
                    raise self.fail("invalid backslash escape (RFC 4514 section 2.4)", pos)
                keep = len(buf)
                continue
            if c in _MUST_ESCAPE:
                raise self.fail("this character must be escaped with a backslash in RFC 4514", pos)
            buf += c.encode("utf-8")
            if c != " ":
                keep = len(buf)
            pos += 1
        self.pos = pos
        try:
            return buf[:keep].decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("escaped hex pairs are not valid UTF-8", start) from None

    # RFC 4514 section 2.4 / 3: hexstring = SHARP 1*hexpair, the BER encoding of the value.
    def hex_value(self) -> str:
        text, n = self.text, self.n
        start = self.pos
        pos = start + 1
        while pos < n and text[pos] in _HEX:
            pos += 1
        digits = text[start + 1 : pos]
        while pos < n and text[pos] == " ":
            pos += 1
        if pos < n and text[pos] not in ",+":
            raise self.fail(
                "a value starting with '#' is hex-encoded BER; escape a literal '#' as \\#", pos
            )
        if not digits or len(digits) % 2:
            raise self.fail("hex value needs an even, non-zero number of hex digits", start)
        self.pos = pos
        return _decode_ber_string(bytes.fromhex(digits), start)

    def slash_value(self) -> str:
        text, n = self.text, self.n
        out: list[str] = []
        pos = self.pos
        while pos < n:
            c = text[pos]
            if c in "/+":
                break
            if c == "\\":
                if pos + 1 >= n:
                    raise self.fail("backslash at the end of the DN", pos)
                out.append(text[pos + 1])
                pos += 2
                continue
            out.append(c)
            pos += 1
        self.pos = pos
        return "".join(out)


# X.680 universal tags of the character string types X.520 attributes use, and their codecs
# (TeletexString as Latin-1, as cryptography and OpenSSL treat it in practice).
_STRING_TAGS = {
    0x0C: "utf-8",  # UTF8String
    0x12: "ascii",  # NumericString
    0x13: "ascii",  # PrintableString
    0x14: "latin-1",  # TeletexString
    0x16: "ascii",  # IA5String
    0x1A: "ascii",  # VisibleString
    0x1C: "utf-32-be",  # UniversalString
    0x1E: "utf-16-be",  # BMPString
}


_STRING_TYPES = frozenset(t for t in _ASN1Type if t.value in _STRING_TAGS)


def _decode_ber_string(data: bytes, position: int) -> str:
    """The text of a BER-encoded character string (RFC 4514 hexstring); refuses anything else."""
    if len(data) < 2:
        raise DistinguishedNameError("hex value is too short to be BER", position=position)
    encoding = _STRING_TAGS.get(data[0])
    if encoding is None:
        raise DistinguishedNameError(
            f"hex value has ASN.1 tag 0x{data[0]:02x}; only character strings are supported",
            position=position,
        )
    length, offset = data[1], 2
    if length & 0x80:
        count = length & 0x7F
        # Indefinite length (0x80) is not allowed for primitive strings in DER; >4 length
        # octets cannot fit in a 4096-character input anyway.
        if count == 0 or count > 4 or len(data) < 2 + count:
            raise DistinguishedNameError("hex value has a bad BER length", position=position)
        length, offset = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
    if offset + length != len(data):
        raise DistinguishedNameError(
            "hex value's BER length does not match its content", position=position
        )
    try:
        return data[offset:].decode(encoding)
    except UnicodeDecodeError:
        raise DistinguishedNameError(
            "hex value's content is not valid for its string type", position=position
        ) from None


# -- subject alternative names -------------------------------------------------------------


def _dns_key(value: str) -> str | None:
    """Key of a certificate dNSName (IA5String, so A-labels only); None if unmatchable."""
    if not (value.isascii() and value.isprintable()):
        return None
    if value.endswith("."):
        value = value[:-1]
    return value.lower()


def _uri_key(value: str) -> str | None:
    """RFC 3986 section 6.2.2.1: lower-case scheme and host, nothing else."""
    if not (value.isascii() and value.isprintable()):
        return None
    colon = value.find(":")
    if colon < 1 or value[0] not in _ALPHA or any(c not in _SCHEME_CHARS for c in value[:colon]):
        return None
    scheme, rest = value[:colon].lower(), value[colon + 1 :]
    if rest.startswith("//"):
        # RFC 3986 section 3.2: the authority ends at the next '/', '?' or '#'.
        end = len(rest)
        for stop in "/?#":
            i = rest.find(stop, 2)
            if i != -1 and i < end:
                end = i
        authority = rest[2:end]
        at = authority.rfind("@")
        userinfo, hostport = authority[: at + 1], authority[at + 1 :]
        if hostport.startswith("["):
            close = hostport.find("]")
            split = close + 1 if close != -1 else len(hostport)
        else:
            colon = hostport.find(":")
            split = colon if colon != -1 else len(hostport)
        host, port = hostport[:split], hostport[split:]
        rest = "//" + userinfo + host.lower() + port + rest[end:]
    return scheme + ":" + rest


def _email_key(value: str) -> str | None:
    """RFC 5280 section 7.5: exact local part, case-insensitive domain."""
    if not (value.isascii() and value.isprintable()):
        return None
    at = value.rfind("@")
    if at <= 0 or at == len(value) - 1:
        return None
    return value[:at] + "@" + value[at + 1 :].lower()


_SAN_TYPES: dict[str, type[x509.GeneralName]] = {
    _SAN_DNS: x509.DNSName,
    _SAN_URI: x509.UniformResourceIdentifier,
    _SAN_IP: x509.IPAddress,
    _SAN_EMAIL: x509.RFC822Name,
}
_FIELD_BY_SAN_TYPE = {t: f for f, t in _SAN_TYPES.items()}


def _san_key(field: str, value: object) -> Hashable | None:
    if field == _SAN_IP:
        # A network here (8 or 32 octets) is a name-constraints form, never a SAN address.
        return value.packed if isinstance(value, _IP_TYPES) else None
    if not isinstance(value, str):
        return None
    if field == _SAN_DNS:
        return _dns_key(value)
    if field == _SAN_URI:
        return _uri_key(value)
    return _email_key(value)


def _sans(certificate: x509.Certificate) -> Iterable[x509.GeneralName] | None:
    """The SAN entries; ``None`` when the extensions cannot be read (malformed, or repeated,
    which RFC 5280 4.2 forbids): such a certificate names nothing at all."""
    try:
        extensions = certificate.extensions
    except _CERTIFICATE_ERRORS:
        return None
    # A plain loop is about twice as fast as get_extension_for_class (hot path); cryptography
    # already refuses certificates with a duplicated extension (RFC 5280 section 4.2).
    for extension in extensions:
        value = extension.value
        if isinstance(value, x509.SubjectAlternativeName):
            return value
    return ()


def _subject(certificate: x509.Certificate) -> x509.Name | None:
    try:
        return certificate.subject
    except _CERTIFICATE_ERRORS:
        # cryptography refuses some attribute encodings when building the Name (a BIT STRING
        # value under any OID but x500UniqueIdentifier raises TypeError, invalid UTF-8 a
        # ValueError): no name, no match.
        return None


def certificate_name_keys(certificate: x509.Certificate) -> frozenset[tuple[str, Hashable]]:
    """Every ``(field, key)`` pair the certificate carries: its subject DN (unless empty or
    unmatchable) and each dNSName, URI, iPAddress and rfc822Name SAN. A certificate carries
    a registered name exactly when ``(name.field, name.key)`` is in this set.

    Remembered per certificate object: lookup by certificate and the name check of the same
    request, and every request reusing a cached parsed certificate, normalise its names once.
    """
    return _NAME_KEYS.get(certificate, _compute_name_keys)


def _compute_name_keys(certificate: x509.Certificate) -> frozenset[tuple[str, Hashable]]:
    try:
        return _name_keys(certificate)
    except _CERTIFICATE_ERRORS:
        # Certificates are checked where they enter (clientauth._x509.check_usable); one that
        # did not pass there and still cannot be read names nothing, rather than raising.
        return frozenset()


def _field_keys(certificate: x509.Certificate, field: str) -> frozenset[Hashable]:
    """The keys of ``field`` in :func:`certificate_name_keys` of ``certificate``, deciding only
    ``field``: the same reads, in the same order, with the same outcomes. Remembered per
    certificate object and field (a client's certificate comes back with its every request)."""
    fields = _FIELD_KEYS.get(certificate, _no_fields)
    keys = fields.get(field)
    if keys is None:
        try:
            keys = _compute_field_keys(certificate, field)
        except _CERTIFICATE_ERRORS:
            keys = frozenset()
        fields[field] = keys  # one dict per certificate; a race computes it twice, alike
    return keys


def _no_fields(certificate: x509.Certificate) -> dict[str, frozenset[Hashable]]:
    return {}


def _compute_field_keys(certificate: x509.Certificate, field: str) -> frozenset[Hashable]:
    sans = _sans(certificate)
    if sans is None:
        return frozenset()
    if field == _SUBJECT_DN:
        subject = _subject(certificate)
        dn_key = _dn_key(subject) if subject is not None else None
        # an empty subject names nothing (RFC 5280 section 4.1.2.6)
        return frozenset((dn_key,)) if dn_key else frozenset()
    kind = _SAN_TYPES[field]
    keys = (_san_key(field, name.value) for name in sans if type(name) is kind)
    return frozenset(key for key in keys if key is not None)


def _name_keys(certificate: x509.Certificate) -> frozenset[tuple[str, Hashable]]:
    sans = _sans(certificate)
    if sans is None:
        return frozenset()
    keys: set[tuple[str, Hashable]] = set()
    subject = _subject(certificate)
    if subject is not None:
        dn_key = _dn_key(subject)
        if dn_key:  # an empty subject names nothing (RFC 5280 section 4.1.2.6)
            keys.add((_SUBJECT_DN, dn_key))
    for general_name in sans:
        field = _FIELD_BY_SAN_TYPE.get(type(general_name))
        if field is not None:
            key = _san_key(field, general_name.value)
            if key is not None:
                keys.add((field, key))
    return frozenset(keys)


# -- registration --------------------------------------------------------------------------


def _refuse(message: str, position: int | None = None) -> ParseError:
    return ParseError(message, position=position)


def _no_space(value: str, what: str) -> None:
    for i, c in enumerate(value):
        if c.isspace():
            raise _refuse(f"{what} must not contain whitespace", i)


def _to_a_label(domain: str, what: str) -> str:
    if domain.isascii():
        return domain
    for i, c in enumerate(domain):
        if c in _IDNA_DEVIATIONS:
            raise _refuse(
                f"{what} holds a character IDNA 2003 and IDNA 2008 convert differently; "
                "register the A-label (xn--...) the certificate carries",
                i,
            )
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise _refuse(f"{what} is not a valid internationalised domain name") from None


def _registered_dn(value: str) -> Hashable:
    return parse_dn(value).key


def _registered_dns(value: str) -> Hashable:
    _no_space(value, "a DNS name")
    name = value[:-1] if value.endswith(".") else value
    name = _to_a_label(name, "the DNS name")
    if not name or any(not label for label in name.split(".")):
        raise _refuse("a DNS name must not have empty labels")
    # Printable ASCII by now (RegisteredName.parse refused control and invisible characters,
    # _no_space whitespace, and IDNA output is ASCII): _dns_key always gives a key here, the
    # same one a certificate's dNSName gets.
    return _dns_key(name)


def _registered_uri(value: str) -> Hashable:
    _no_space(value, "a URI")
    if not value.isascii():
        raise _refuse("a URI must be ASCII: percent-encode other characters (RFC 3986)")
    key = _uri_key(value)
    if key is None:
        raise _refuse("not an absolute URI: expected scheme ':' ... (RFC 3986 section 4.3)")
    return key


def _registered_ip(value: str) -> Hashable:
    if "%" in value:
        raise _refuse("an IP address SAN has no zone index", value.index("%"))
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise _refuse("not an IPv4 or IPv6 address") from None
    return address.packed


def _registered_email(value: str) -> Hashable:
    _no_space(value, "an email address")
    at = value.rfind("@")
    if at <= 0 or at == len(value) - 1:
        raise _refuse("an email address needs a local part, '@' and a domain")
    local, domain = value[:at], value[at + 1 :]
    if not local.isascii():
        raise _refuse(
            "a non-ASCII local part is carried as SmtpUTF8Mailbox (RFC 9598), "
            "which is not supported"
        )
    domain = _to_a_label(domain, "the email domain")
    if any(not label for label in domain.split(".")):
        raise _refuse("the email domain must not have empty labels")
    # Printable ASCII with an inner '@' by now (checked above and in RegisteredName.parse):
    # _email_key always gives a key here, the same one a certificate's rfc822Name gets.
    return _email_key(local + "@" + domain)


_REGISTERED_KEY: dict[str, Callable[[str], Hashable]] = {
    _SUBJECT_DN: _registered_dn,
    _SAN_DNS: _registered_dns,
    _SAN_URI: _registered_uri,
    _SAN_IP: _registered_ip,
    _SAN_EMAIL: _registered_email,
}


@dataclasses.dataclass(frozen=True, slots=True)
class RegisteredName:
    """The one certificate name a ``tls_client_auth`` client registered (RFC 8705 2.1.2).

    ``field`` is one of :data:`NAME_FIELDS`, ``value`` the string as registered, ``key`` its
    normalised comparison key: two registrations that mean the same name have equal keys, and
    a certificate carries the name exactly when :func:`certificate_name_keys` holds
    ``(field, key)``. Build with :meth:`parse`.
    """

    field: str
    value: str
    key: Hashable

    @classmethod
    def parse(cls, field: str, value: str) -> RegisteredName:
        """Validate ``value`` for ``field`` and precompute its key.

        Raises :class:`~clientauth.ParseError` (:class:`~clientauth.DistinguishedNameError`
        for a subject DN) naming the problem and, where it helps, its position.
        """
        if not isinstance(field, str) or not isinstance(value, str):
            raise _refuse("a registered name and its field must be strings")
        compute = _REGISTERED_KEY.get(field)
        if compute is None:
            raise ParseError("unknown name field; expected one of " + ", ".join(NAME_FIELDS))
        # DN problems are DistinguishedNameErrors however early they are found.
        error = DistinguishedNameError if field == _SUBJECT_DN else ParseError
        if not isinstance(value, str):
            raise error(f"a registered name must be a string, not {type(value).__name__}")
        if not value:
            raise error("a registered name must not be empty", position=0)
        if len(value) > MAX_NAME_LENGTH:
            raise error(f"a registered name must be at most {MAX_NAME_LENGTH} characters")
        bad = _bad_char_at(value)
        if bad is not None:
            raise error(
                "a registered name must not hold control, invisible, private-use or "
                "unassigned characters",
                position=bad,
            )
        return cls(field, value, compute(value))

    def matches(self, certificate: x509.Certificate) -> bool:
        """Whether ``certificate`` carries this name. Never raises for odd certificates: a
        name that cannot be compared does not match.

        The same answer as ``(field, key) in certificate_name_keys(certificate)``, computed
        for this one field only: a client identified by its ``client_id`` needs no other
        key of a certificate the verifier sees for the first time."""
        return self.key in _field_keys(certificate, self.field)

    def presented(self, certificate: x509.Certificate) -> tuple[str, ...]:
        """The names of this kind ``certificate`` carries, printable (for "registered X,
        presented Y" explanations): the subject in RFC 4514 form, or each SAN of this type."""
        if self.field == _SUBJECT_DN:
            subject = _subject(certificate)
            if subject is None or not subject.rdns:
                return ()
            return (format_dn(subject),)
        kind = _SAN_TYPES[self.field]
        return tuple(
            _printable(str(general_name.value))
            for general_name in _sans(certificate) or ()
            if type(general_name) is kind
        )
