"""Build the hostile-certificate corpus: certificates that load (or nearly load) but carry
what a careful reader must survive.

Run ``python3 tests/vectors/hostile/generate.py`` to rewrite the ``*.der`` files and
``MANIFEST.json`` next to this script. The output is deterministic (keys derived from fixed
seeds, RFC 6979 deterministic ECDSA), so ``tests/test_hostile_certificates.py`` checks that
the committed files are exactly what this script builds.

cryptography's ``CertificateBuilder`` refuses most of these (it validates what it encodes),
so the TBSCertificate (RFC 5280 4.1) is assembled by hand from DER primitives (X.690) and
signed with the corpus CA key. Every leaf is issued by ``ca.der`` (valid 2000 to 9999, so
nothing here expires; tests use an injected clock) with, unless the entry says otherwise:
subject ``O=Hostile, CN=client``, a SAN dNSName ``client.hostile.example``, keyUsage
digitalSignature, EKU clientAuth, validity 2025-01-01 to 9999-12-31.

Each entry names what is odd about it; some are refused by cryptography at load time (they
check that every loader refuses them the same way), most load and fail only when an
attribute is read (cryptography parses lazily).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, x448, x25519

HERE = Path(__file__).parent

# -- DER primitives (X.690 8 and 10) ------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def seq(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def set_of(*items: bytes) -> bytes:
    return tlv(0x31, b"".join(items))


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out += bytes(reversed(chunk))
    return tlv(0x06, bytes(out))


def integer(value: int) -> bytes:
    return tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def raw_integer(content: bytes) -> bytes:
    return tlv(0x02, content)


def explicit(number: int, content: bytes) -> bytes:
    return tlv(0xA0 | number, content)


def bit_string(content: bytes, unused: int = 0) -> bytes:
    return tlv(0x03, bytes([unused]) + content)


def octet_string(content: bytes) -> bytes:
    return tlv(0x04, content)


def boolean(value: bool) -> bytes:
    return tlv(0x01, b"\xff" if value else b"\x00")


NULL = tlv(0x05, b"")


def utf8(content: bytes) -> bytes:
    return tlv(0x0C, content)


def printable(content: bytes) -> bytes:
    return tlv(0x13, content)


def ia5(content: bytes) -> bytes:
    return tlv(0x16, content)


def utc_time(text: str) -> bytes:
    return tlv(0x17, text.encode("ascii"))


def generalized_time(text: str) -> bytes:
    return tlv(0x18, text.encode("ascii"))


# -- X.509 pieces (RFC 5280 4.1) ------------------------------------------------------------

CN, ORG, EMAIL, X500_UID = "2.5.4.3", "2.5.4.10", "1.2.840.113549.1.9.1", "2.5.4.45"
SAN, BC, KU, EKU, NC = "2.5.29.17", "2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.30"
SKI, AKI, POLICIES, CRL_DP, AIA = "2.5.29.14", "2.5.29.35", "2.5.29.32", "2.5.29.31", (
    "1.3.6.1.5.5.7.1.1"
)
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"))
EC_PUBLIC_KEY, P256 = "1.2.840.10045.2.1", "1.2.840.10045.3.1.7"


def attribute(type_oid: str, value: bytes) -> bytes:
    return seq(oid(type_oid), value)


def rdn(*attributes: bytes) -> bytes:
    return set_of(*attributes)


def name(*rdns: bytes) -> bytes:
    return seq(*rdns)


def simple_name(common_name: bytes, organization: bytes = b"Hostile") -> bytes:
    return name(rdn(attribute(ORG, utf8(organization))), rdn(attribute(CN, utf8(common_name))))


def extension(type_oid: str, value: bytes, critical: bool = False) -> bytes:
    # DER (X.690 11.5): a BOOLEAN critical equal to its DEFAULT FALSE is omitted.
    return seq(oid(type_oid), *([boolean(True)] if critical else []), octet_string(value))


def _key(seed: bytes) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(
        int.from_bytes(hashlib.sha256(seed).digest(), "big"), ec.SECP256R1()
    )


CA_KEY = _key(b"clientauth hostile corpus: CA")
LEAF_KEY = _key(b"clientauth hostile corpus: leaf")
CA_NAME = name(
    rdn(attribute(ORG, utf8(b"Hostile"))), rdn(attribute(CN, utf8(b"Hostile Corpus CA")))
)


def spki(key: ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey | x448.X448PrivateKey
         | x25519.X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_id(key: ec.EllipticCurvePrivateKey) -> bytes:
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return hashlib.sha1(point, usedforsecurity=False).digest()  # RFC 5280 4.2.1.2 (1)


SAN_DEFAULT = extension(SAN, seq(tlv(0x82, b"client.hostile.example")))
KU_DEFAULT = extension(KU, bit_string(b"\x80", 7), critical=True)
EKU_DEFAULT = extension(EKU, seq(oid(CLIENT_AUTH)))
AKI_DEFAULT = extension(AKI, seq(tlv(0x80, _key_id(CA_KEY))))
DEFAULT_EXTENSIONS = (KU_DEFAULT, EKU_DEFAULT, SAN_DEFAULT, AKI_DEFAULT)
NOT_BEFORE = utc_time("250101000000Z")
NOT_AFTER = generalized_time("99991231235959Z")


def certificate(
    *,
    subject: bytes | None = None,
    issuer: bytes = CA_NAME,
    serial: bytes | None = None,
    validity: bytes | None = None,
    key: bytes | None = None,
    extensions: Sequence[bytes] | None = DEFAULT_EXTENSIONS,
    version: bytes | None = None,
    signature_algorithm: bytes = ECDSA_SHA256,
    outer_algorithm: bytes | None = None,
    signature: bytes | None = None,
    signer: ec.EllipticCurvePrivateKey = CA_KEY,
) -> bytes:
    """One DER certificate; every argument replaces a default part verbatim."""
    items = [
        explicit(0, integer(2)) if version is None else version,
        integer(0x1D0C5A11) if serial is None else serial,
        signature_algorithm,
        issuer,
        seq(NOT_BEFORE, NOT_AFTER) if validity is None else validity,
        simple_name(b"client") if subject is None else subject,
        spki(LEAF_KEY) if key is None else key,
    ]
    if extensions is not None:
        items.append(explicit(3, seq(*extensions)))
    tbs = seq(*items)
    if signature is None:
        signature = signer.sign(tbs, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    return seq(tbs, outer_algorithm or signature_algorithm, bit_string(signature))


def ca_certificate() -> bytes:
    """The corpus CA: self-signed, cA=TRUE, valid 2000-01-01 to 9999-12-31."""
    return certificate(
        subject=CA_NAME,
        serial=integer(1),
        validity=seq(utc_time("000101000000Z"), NOT_AFTER),
        key=spki(CA_KEY),
        extensions=[
            extension(BC, seq(boolean(True)), critical=True),
            extension(KU, bit_string(b"\x06", 1), critical=True),  # keyCertSign, cRLSign
            extension(SKI, octet_string(_key_id(CA_KEY))),
        ],
    )


def with_extension(*extra: bytes) -> list[bytes]:
    return [*DEFAULT_EXTENSIONS, *extra]


def replacing(type_oid: str, replacement: bytes) -> list[bytes]:
    """The default extensions with the one of ``type_oid`` replaced."""
    marker = oid(type_oid)
    return [replacement if e[2 : 2 + len(marker)] == marker else e for e in DEFAULT_EXTENSIONS]


def san(*general_names: bytes) -> list[bytes]:
    """The default extensions with the SAN replaced by one holding ``general_names``."""
    return replacing(SAN, extension(SAN, seq(*general_names)))


def _subject(value: bytes, type_oid: str = CN) -> bytes:
    return name(rdn(attribute(ORG, utf8(b"Hostile"))), rdn(attribute(type_oid, value)))


def _x_key(private: Callable[[bytes], object], size: int, seed: bytes) -> bytes:
    key = private(hashlib.sha512(seed).digest()[:size])
    return spki(key)  # type: ignore[arg-type]


def _rsa_spki(modulus: int, exponent: int) -> bytes:
    return seq(
        seq(oid("1.2.840.113549.1.1.1"), NULL),
        bit_string(seq(integer(modulus), integer(exponent))),
    )


def _ec_spki(parameters: bytes, point: bytes) -> bytes:
    return seq(seq(oid(EC_PUBLIC_KEY), parameters), bit_string(point))


_POINT = spki(LEAF_KEY)[-65:]


def entries() -> dict[str, tuple[str, bytes]]:
    """name -> (what is odd about it, DER)."""
    e: dict[str, tuple[str, bytes]] = {}

    def add(key: str, why: str, der: bytes) -> None:
        assert key not in e, key
        e[key] = (why, der)

    add("baseline", "a well-formed leaf (the control: every entry point must accept it "
        "where it should)", certificate())
    # -- subject and issuer: string encodings and wrong types (RFC 5280 4.1.2.4, X.520)
    bad_strings = {
        "utf8-invalid": (utf8(b"\xff\xfeclient"), "UTF8String holding bytes that are not UTF-8"),
        "utf8-truncated": (utf8(b"client\xc3"), "UTF8String ending inside a sequence"),
        "utf8-overlong": (utf8(b"\xc0\xafclient"), "UTF8String with an overlong encoding"),
        "utf8-surrogate": (utf8(b"\xed\xa0\x80"), "UTF8String encoding a UTF-16 surrogate"),
        "utf8-nul": (utf8(b"victim\x00.evil"), "UTF8String with an embedded NUL"),
        "utf8-controls": (utf8(b"cli\x1b[2Jent\r\n"), "UTF8String with terminal escapes"),
        "utf8-bidi": (utf8("client\u202etxt.exe".encode()), "UTF8String with a bidi override"),
        "utf8-empty": (utf8(b""), "an empty UTF8String"),
        "bitstring": (bit_string(b"client"), "a BIT STRING where a string belongs"),
        "octetstring": (octet_string(b"client"), "an OCTET STRING where a string belongs"),
        "integer": (integer(42), "an INTEGER where a string belongs"),
        "null": (NULL, "a NULL where a string belongs"),
        "boolean": (boolean(True), "a BOOLEAN where a string belongs"),
        "sequence": (seq(utf8(b"client")), "a SEQUENCE where a string belongs"),
        "oid": (oid("1.2.3"), "an OBJECT IDENTIFIER where a string belongs"),
        "utctime": (utc_time("250101000000Z"), "a UTCTime where a string belongs"),
        "ia5-8bit": (ia5(b"cli\xe9nt"), "IA5String with an 8-bit byte"),
        "printable-bad": (printable(b"client*@"), "PrintableString with '*' and '@'"),
        "teletex": (tlv(0x14, b"cli\xe9nt\x1b"), "TeletexString with 8-bit and ESC bytes"),
        "bmp-odd": (tlv(0x1E, b"\x00c\x00"), "BMPString with an odd length"),
        "bmp-surrogate": (tlv(0x1E, b"\xd8\x00\x00c"), "BMPString with a lone surrogate"),
        "universal-bad": (tlv(0x1C, b"\x00\x11\x00\x00"), "UniversalString beyond U+10FFFF"),
        "numeric-bad": (tlv(0x12, b"12a"), "NumericString with a letter"),
        "visible-ctl": (tlv(0x1A, b"cli\x07ent"), "VisibleString with a control byte"),
        "graphic": (tlv(0x19, b"client"), "GraphicString (no codec)"),
        "general": (tlv(0x1B, b"client"), "GeneralString (no codec)"),
        "videotex": (tlv(0x15, b"client"), "VideotexString (no codec)"),
        "unknown-tag": (tlv(0x1F, b"client"), "an unknown universal tag"),
        "context-tag": (tlv(0x80, b"client"), "a context-specific tag"),
    }
    for label, (value, why) in bad_strings.items():
        add(f"subject-cn-{label}", f"subject CN: {why}", certificate(subject=_subject(value)))
    for label in ("utf8-invalid", "bitstring", "integer", "bmp-odd"):
        value, why = bad_strings[label]
        add(f"issuer-cn-{label}", f"issuer CN: {why}", certificate(issuer=_subject(value)))
    add("selfsigned-cn-utf8-invalid", "self-signed (issuer = subject), CN not UTF-8: what an "
        "attacker sends through a proxy that forwards unverified certificates",
        certificate(subject=_subject(utf8(b"\xff\xfe")), issuer=_subject(utf8(b"\xff\xfe")),
                    key=spki(CA_KEY)))
    add("subject-email-utf8-invalid", "subject emailAddress as a UTF8String that is not UTF-8",
        certificate(subject=_subject(utf8(b"al\xffice@example.com"), EMAIL)))
    add("subject-email-bitstring", "subject emailAddress as a BIT STRING",
        certificate(subject=_subject(bit_string(b"alice@example.com"), EMAIL)))
    add("subject-email-no-at", "subject emailAddress without '@'",
        certificate(subject=_subject(ia5(b"alice"), EMAIL)))
    add("subject-uid-bitstring-bad", "x500UniqueIdentifier BIT STRING with 9 unused bits",
        certificate(subject=_subject(bit_string(b"\x01", 9), X500_UID)))
    add("subject-unknown-oid-bad-utf8", "an unknown attribute type with invalid UTF-8",
        certificate(subject=_subject(utf8(b"\xff"), "1.2.3.4.5")))
    add("subject-huge-oid-arc", "an attribute type OID with a 200-digit arc",
        certificate(subject=_subject(utf8(b"x"), "1.2." + "9" * 200)))
    add("subject-empty-set", "an RDN that is an empty SET",
        certificate(subject=name(rdn(attribute(ORG, utf8(b"Hostile"))), set_of())))
    add("subject-attribute-three-items", "an AttributeTypeAndValue with a third element",
        certificate(subject=name(rdn(seq(oid(CN), utf8(b"client"), utf8(b"extra"))))))
    add("subject-attribute-no-value", "an AttributeTypeAndValue with no value",
        certificate(subject=name(rdn(seq(oid(CN))))))
    add("subject-empty-no-san", "empty subject and no SAN (RFC 5280 4.2.1.6 refuses)",
        certificate(subject=name(), extensions=[KU_DEFAULT, EKU_DEFAULT, AKI_DEFAULT]))
    add("subject-empty-noncritical-san", "empty subject with a non-critical SAN",
        certificate(subject=name()))
    add("subject-2000-rdns", "2000 RDNs in the subject",
        certificate(subject=name(*[rdn(attribute(CN, utf8(b"c%d" % i))) for i in range(2000)])))
    add("subject-1000-multivalued", "one RDN holding 1000 attributes",
        certificate(subject=name(rdn(*[attribute(CN, utf8(b"c%d" % i)) for i in range(1000)]))))
    add("subject-long-value", "a 30000-byte CN",
        certificate(subject=_subject(utf8(b"a" * 30000))))
    add("subject-dn-injection", "a CN holding RFC 4514 specials (',', '+', '=', '\\\\')",
        certificate(subject=_subject(utf8(b"client,O=Acme+CN=admin\\"))))
    # -- extensions (RFC 5280 4.2)
    def ext(key: str, why: str, extensions: list[bytes]) -> None:
        add(key, why, certificate(extensions=extensions))

    def extra(type_oid: str, value: bytes, critical: bool = False) -> list[bytes]:
        return with_extension(extension(type_oid, value, critical))

    def instead(type_oid: str, value: bytes, critical: bool = False) -> list[bytes]:
        return replacing(type_oid, extension(type_oid, value, critical))

    ext("san-garbage", "SAN whose value is not DER", instead(SAN, b"\x30\x05\x82\x09abc"))
    ext("san-empty-sequence", "SAN with no names (RFC 5280 4.2.1.6: at least one)", san())
    ext("san-trailing-data", "SAN followed by trailing bytes in the OCTET STRING",
        instead(SAN, seq(tlv(0x82, b"a.example")) + b"\x00"))
    ext("san-dns-8bit", "dNSName with 8-bit bytes", san(tlv(0x82, b"cli\xe9nt.example")))
    ext("san-dns-nul", "dNSName with an embedded NUL", san(tlv(0x82, b"victim.example\x00.evil")))
    ext("san-email-8bit", "rfc822Name with 8-bit bytes", san(tlv(0x81, b"al\xffice@x.example")))
    ext("san-uri-8bit", "uniformResourceIdentifier with 8-bit bytes",
        san(tlv(0x86, b"https://\xff/")))
    ext("san-ip-5-bytes", "iPAddress of 5 octets", san(tlv(0x87, b"\x01\x02\x03\x04\x05")))
    ext("san-ip-empty", "iPAddress of 0 octets", san(tlv(0x87, b"")))
    ext("san-ip-network", "iPAddress of 8 octets (a name-constraint form in a SAN)",
        san(tlv(0x87, b"\xc0\x00\x02\x01\xff\xff\xff\xff")))
    ext("san-othername-garbage", "otherName whose value is not DER",
        san(tlv(0xA0, oid("1.2.3") + b"\xa0\x02\x05")))
    ext("san-x400", "x400Address (a type cryptography does not model)", san(tlv(0xA3, seq())))
    ext("san-edi-party", "ediPartyName (a type cryptography does not model)",
        san(tlv(0xA5, seq(tlv(0xA1, utf8(b"x"))))))
    ext("san-directory-bad-utf8", "directoryName holding invalid UTF-8",
        san(tlv(0xA4, _subject(utf8(b"\xff")))))
    ext("san-registered-id-bad", "registeredID that is not an OID", san(tlv(0x88, b"\x80\x80")))
    ext("eku-garbage", "EKU that is not a SEQUENCE of OIDs", instead(EKU, seq(utf8(b"client"))))
    ext("eku-empty", "EKU with no purposes", instead(EKU, seq()))
    ext("eku-any-only", "EKU anyExtendedKeyUsage only", instead(EKU, seq(oid("2.5.29.37.0"))))
    ext("eku-server-only", "EKU serverAuth only", instead(EKU, seq(oid("1.3.6.1.5.5.7.3.1"))))
    ext("bc-garbage", "basicConstraints that is not a SEQUENCE", extra(BC, integer(1), True))
    ext("bc-ca-true", "a leaf asserting cA=TRUE", extra(BC, seq(boolean(True)), True))
    ext("bc-pathlen-negative", "basicConstraints with pathLenConstraint -1",
        extra(BC, seq(boolean(True), integer(-1)), True))
    ext("bc-pathlen-huge", "basicConstraints with a 38-byte pathLenConstraint",
        extra(BC, seq(boolean(True), integer(2**300)), True))
    ext("nc-garbage", "nameConstraints that is not DER", extra(NC, b"\x30\x03\xa0\x01", True))
    ext("nc-ip-not-network", "nameConstraints iPAddress with a non-contiguous mask",
        extra(NC, seq(tlv(0xA0, seq(tlv(0x87, b"\xc0\x00\x02\x00\xff\x00\xff\x00")))), True))
    ext("nc-empty", "nameConstraints with neither subtree (RFC 5280 4.2.1.10 forbids)",
        extra(NC, seq(), True))
    ext("ku-garbage", "keyUsage that is not a BIT STRING", instead(KU, integer(5), True))
    ext("ku-unused-9", "keyUsage BIT STRING claiming 9 unused bits",
        instead(KU, bit_string(b"\x80", 9), True))
    ext("ku-empty", "keyUsage with no bits set", instead(KU, bit_string(b""), True))
    ext("aki-garbage", "authorityKeyIdentifier that is not DER", instead(AKI, b"\x30\x80\x00"))
    ext("aki-serial-only", "authorityKeyIdentifier with a serial but no issuer (RFC 5280 "
        "4.2.1.1 needs both)", instead(AKI, seq(tlv(0x82, b"\x01"))))
    ext("ski-garbage", "subjectKeyIdentifier that is not an OCTET STRING", extra(SKI, integer(7)))
    ext("policies-garbage", "certificatePolicies with a string for a policy OID",
        extra(POLICIES, seq(seq(utf8(b"x")))))
    ext("crldp-garbage", "cRLDistributionPoints with an 8-bit URI",
        extra(CRL_DP, seq(seq(tlv(0xA0, tlv(0xA0, tlv(0x86, b"\xff")))))))
    ext("aia-garbage", "authorityInfoAccess without an access location",
        extra(AIA, seq(seq(oid("1.3.6.1.5.5.7.48.1")))))
    ext("sct-garbage", "a signed certificate timestamp list that is not TLS-encoded",
        extra("1.3.6.1.4.1.11129.2.4.2", octet_string(b"\xff\xff")))
    ext("duplicate-san", "two SAN extensions (RFC 5280 4.2: at most one)",
        with_extension(SAN_DEFAULT))
    ext("duplicate-eku", "two EKU extensions", with_extension(EKU_DEFAULT))
    ext("duplicate-unknown", "the same unknown extension twice",
        with_extension(extension("1.2.3.4", NULL), extension("1.2.3.4", NULL)))
    ext("unknown-critical", "an unknown critical extension", extra("1.2.3.4.5.6", NULL, True))
    ext("critical-false-encoded", "critical FALSE written out (DER forbids the default)",
        with_extension(seq(oid("1.2.3.4"), boolean(False), octet_string(NULL))))
    add("extensions-empty", "an extensions field holding no extension",
        certificate(extensions=[]))
    add("extensions-v1", "extensions in a version 1 certificate",
        certificate(version=b""))
    add("version-2", "version 2 (v2) certificate with extensions",
        certificate(version=explicit(0, integer(1))))
    add("version-4", "version INTEGER 3 (no such version)",
        certificate(version=explicit(0, integer(3))))
    # -- validity (RFC 5280 4.1.2.5)
    def validity(key: str, why: str, not_before: bytes, not_after: bytes = NOT_AFTER) -> None:
        add(f"validity-{key}", why, certificate(validity=seq(not_before, not_after)))

    validity("utc-1950", "notBefore UTCTime 50 (= 1950)", utc_time("500101000000Z"))
    validity("utc-2049", "notAfter UTCTime 49 (= 2049)", NOT_BEFORE, utc_time("491231235959Z"))
    validity("generalized-2049", "notAfter as GeneralizedTime 2049 (RFC 5280: UTCTime until "
             "2049)", NOT_BEFORE, generalized_time("20491231235959Z"))
    validity("generalized-2050", "notAfter GeneralizedTime 2050", NOT_BEFORE,
             generalized_time("20500101000000Z"))
    validity("generalized-year-0", "notBefore GeneralizedTime year 0000",
             generalized_time("00000101000000Z"))
    validity("generalized-1", "notBefore GeneralizedTime year 0001",
             generalized_time("00010101000000Z"))
    validity("reversed", "notBefore after notAfter", generalized_time("99991231235959Z"),
             utc_time("250101000000Z"))
    validity("expired", "valid 2001 only", utc_time("010101000000Z"), utc_time("011231235959Z"))
    validity("utc-no-seconds", "UTCTime without seconds", utc_time("2501010000Z"))
    validity("utc-offset", "UTCTime with a +0100 offset", utc_time("250101000000+0100"))
    validity("generalized-fraction", "GeneralizedTime with fractional seconds",
             generalized_time("20250101000000.5Z"))
    validity("generalized-local", "GeneralizedTime without Z", generalized_time("20250101000000"))
    validity("month-13", "UTCTime month 13", utc_time("251301000000Z"))
    validity("feb-30", "UTCTime February 30", utc_time("250230000000Z"))
    validity("leap-second", "UTCTime 23:59:60", utc_time("251231235960Z"))
    add("validity-wrong-type", "validity of two INTEGERs",
        certificate(validity=seq(integer(0), integer(1))))
    # -- serial numbers (RFC 5280 4.1.2.2)
    add("serial-negative", "a negative serial", certificate(serial=integer(-5)))
    add("serial-zero", "serial 0", certificate(serial=integer(0)))
    add("serial-empty", "a 0-length serial INTEGER", certificate(serial=raw_integer(b"")))
    add("serial-21-bytes", "a 21-byte serial (RFC 5280: at most 20)",
        certificate(serial=integer(2**160)))
    add("serial-200-bytes", "a 200-byte serial", certificate(serial=integer(2**1590)))
    add("serial-non-minimal", "a serial with a redundant leading zero byte",
        certificate(serial=raw_integer(b"\x00\x01")))
    # -- keys (RFC 5280 4.1.2.7)
    dsa_parameters = seq(integer(2**1023 + 1155), integer(2**159 + 7), integer(2))
    add("key-dsa", "a DSA key", certificate(key=seq(
        seq(oid("1.2.840.10040.4.1"), dsa_parameters), bit_string(integer(3)))))
    add("key-ed448", "an Ed448 key",
        certificate(key=_x_key(ed448.Ed448PrivateKey.from_private_bytes, 57, b"ed448")))
    add("key-x448", "an X448 (key agreement only) key",
        certificate(key=_x_key(x448.X448PrivateKey.from_private_bytes, 56, b"x448")))
    add("key-x25519", "an X25519 (key agreement only) key",
        certificate(key=_x_key(x25519.X25519PrivateKey.from_private_bytes, 32, b"x25519")))
    add("key-unknown-oid", "a key of an unknown algorithm",
        certificate(key=seq(seq(oid("1.2.3.4.5")), bit_string(b"\x01\x02\x03"))))
    add("key-ec-off-curve", "an EC point not on P-256",
        certificate(key=_ec_spki(oid(P256), b"\x04" + b"\x01" * 64)))
    add("key-ec-unknown-curve", "an EC key on an unknown named curve",
        certificate(key=_ec_spki(oid("1.2.3.4"), _POINT)))
    add("key-ec-explicit", "EC explicit (specifiedCurve) parameters",
        certificate(key=_ec_spki(seq(integer(1), seq(oid("1.2.840.10045.1.1"), integer(7))),
                                 _POINT)))
    add("key-ec-no-parameters", "an EC key without parameters",
        certificate(key=seq(seq(oid(EC_PUBLIC_KEY)), bit_string(_POINT))))
    add("key-ec-empty-point", "an EC key with an empty point",
        certificate(key=_ec_spki(oid(P256), b"")))
    add("key-rsa-tiny", "a 12-bit RSA key", certificate(key=_rsa_spki(3233, 17)))
    add("key-rsa-even", "an RSA key with an even modulus",
        certificate(key=_rsa_spki(2**2048, 65537)))
    add("key-rsa-exponent-1", "an RSA key with exponent 1",
        certificate(key=_rsa_spki(2**2047 + 1, 1)))
    add("key-rsa-garbage", "an RSA key whose BIT STRING is not DER",
        certificate(key=seq(seq(oid("1.2.840.113549.1.1.1"), NULL), bit_string(b"\x30\x80"))))
    add("key-bitstring-unused", "a key BIT STRING with unused bits",
        certificate(key=seq(seq(oid(EC_PUBLIC_KEY), oid(P256)), bit_string(_POINT, 3))))
    # -- signature algorithms (RFC 5280 4.1.1.2)
    add("sigalg-unknown", "an unknown signature algorithm",
        certificate(signature_algorithm=seq(oid("1.2.3.4.5.6"))))
    add("sigalg-md5-rsa", "md5WithRSAEncryption",
        certificate(signature_algorithm=seq(oid("1.2.840.113549.1.1.4"), NULL)))
    add("sigalg-ecdsa-sha1", "ecdsa-with-SHA1",
        certificate(signature_algorithm=seq(oid("1.2.840.10045.4.1"))))
    add("sigalg-ecdsa-null-params", "ecdsa-with-SHA256 with NULL parameters (RFC 5758: absent)",
        certificate(signature_algorithm=seq(oid("1.2.840.10045.4.3.2"), NULL)))
    add("sigalg-pss-garbage", "RSASSA-PSS with parameters that are not RSASSA-PSS-params",
        certificate(signature_algorithm=seq(oid("1.2.840.113549.1.1.10"), utf8(b"x"))))
    add("sigalg-pss-empty", "RSASSA-PSS with empty parameters (all defaults: SHA-1)",
        certificate(signature_algorithm=seq(oid("1.2.840.113549.1.1.10"), seq())))
    add("sigalg-mismatch", "TBS says ecdsa-with-SHA256, the outer field ecdsa-with-SHA384",
        certificate(outer_algorithm=seq(oid("1.2.840.10045.4.3.3"))))
    add("sigalg-ed25519-on-ecdsa", "Ed25519 algorithm over an ECDSA signature",
        certificate(signature_algorithm=seq(oid("1.3.101.112"))))
    add("signature-empty", "an empty signature", certificate(signature=b""))
    add("signature-garbage", "a signature that is not an ECDSA-Sig-Value",
        certificate(signature=b"\x30\x80\xff"))
    add("signature-wrong-key", "a well-formed signature by another key",
        certificate(signer=LEAF_KEY))
    return e


def main() -> None:
    built = entries()
    for old in HERE.glob("*.der"):
        old.unlink()
    (HERE / "ca.der").write_bytes(ca_certificate())
    manifest = {}
    for key, (why, der) in sorted(built.items()):
        (HERE / f"{key}.der").write_bytes(der)
        manifest[key] = why
    (HERE / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(f"{len(built)} certificates written to {HERE}")


if __name__ == "__main__":
    main()
