"""Tests for clientauth.names: RFC 8705 2.1.2 registered names and certificate matching."""

from __future__ import annotations

import contextlib
import inspect
import ipaddress
import json
import time
import timeit
import warnings
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clientauth
from certs import issue, name, new_key
from clientauth import names
from clientauth.names import (
    MAX_NAME_LENGTH,
    NAME_FIELDS,
    RegisteredName,
    certificate_name_keys,
    dn_of,
    format_dn,
    parse_dn,
)

DN, DNS, URI, IP, EMAIL = NAME_FIELDS
VECTORS = json.loads((Path(__file__).parent / "vectors" / "names_dn.json").read_text("utf-8"))
_KEY = new_key()  # one key for every test certificate: signing is what we need, not variety


def cert(
    subject: x509.Name | None = None,
    *,
    dns: tuple[str, ...] = (),
    uri: tuple[str, ...] = (),
    ip: tuple[str, ...] = (),
    email: tuple[str, ...] = (),
) -> x509.Certificate:
    """A self-signed certificate with the given subject (default CN=client) and SANs."""
    return issue(
        name("client") if subject is None else subject,
        key=_KEY,
        san_dns=dns,
        san_uri=uri,
        san_ip=ip,
        san_email=email,
    ).cert


def xname(*rdns: Any) -> x509.Name:
    """An x509.Name from RDNs in ASN.1 order; an RDN is (oid, value[, type]) or a list of them."""
    out = []
    for rdn in rdns:
        avas = rdn if isinstance(rdn, list) else [rdn]
        out.append(
            x509.RelativeDistinguishedName(x509.NameAttribute(a[0], a[1], *a[2:]) for a in avas)
        )
    return x509.Name(out)


ACME = xname(
    (NameOID.COUNTRY_NAME, "US"),
    (NameOID.ORGANIZATION_NAME, "Acme"),
    (NameOID.COMMON_NAME, "client"),
)


def registered(field: str, value: str) -> RegisteredName:
    return RegisteredName.parse(field, value)


# -- contract ------------------------------------------------------------------------------


class TestContract:
    def test_all_is_sorted_and_complete(self) -> None:
        """__all__ lists every public name, sorted the way ruff (RUF022) sorts it."""
        public = {
            k
            for k, v in vars(names).items()
            if not k.startswith("_")
            and not inspect.ismodule(v)
            and getattr(v, "__module__", names.__name__) == names.__name__
            and k != "annotations"
        }
        assert set(names.__all__) == public | {"MAX_NAME_LENGTH", "NAME_FIELDS"}
        consts = [n for n in names.__all__ if n.isupper()]
        classes = [n for n in names.__all__ if n[0].isupper() and not n.isupper()]
        funcs = [n for n in names.__all__ if n[0].islower()]
        assert names.__all__ == sorted(consts) + sorted(classes) + sorted(funcs)

    def test_fields(self) -> None:
        """NAME_FIELDS are the five RFC 8705 2.1.2 metadata names, in RFC order."""
        assert NAME_FIELDS == (
            "tls_client_auth_subject_dn",
            "tls_client_auth_san_dns",
            "tls_client_auth_san_uri",
            "tls_client_auth_san_ip",
            "tls_client_auth_san_email",
        )

    def test_unknown_field(self) -> None:
        """An unknown field is a ParseError, not a KeyError."""
        with pytest.raises(clientauth.ParseError, match="unknown name field"):
            RegisteredName.parse("tls_client_auth_san_foo", "x")

    @pytest.mark.parametrize("field", NAME_FIELDS)
    def test_empty_refused(self, field: str) -> None:
        """An empty registered name is refused for every field."""
        with pytest.raises(clientauth.ParseError):
            RegisteredName.parse(field, "")

    @pytest.mark.parametrize("value", ["", "CN=a\x00", "CN=" + "a" * MAX_NAME_LENGTH, "CN=a,"])
    def test_dn_field_raises_distinguished_name_error(self, value: str) -> None:
        """Every refusal of a subject DN registration is a DistinguishedNameError, including
        the checks made before parsing (empty, too long, control characters)."""
        with pytest.raises(clientauth.DistinguishedNameError):
            RegisteredName.parse(DN, value)

    @pytest.mark.parametrize("field", NAME_FIELDS)
    def test_non_string_refused(self, field: str) -> None:
        """A non-string value is a ParseError (JSON may hold numbers or lists)."""
        with pytest.raises(clientauth.ParseError):
            RegisteredName.parse(field, 12345)  # type: ignore[arg-type]

    @pytest.mark.parametrize("field", NAME_FIELDS)
    def test_too_long_refused_without_echo(self, field: str) -> None:
        """Inputs over MAX_NAME_LENGTH are refused as a whole, and the message does not echo
        the input."""
        value = "CN=" + "a" * MAX_NAME_LENGTH if field == DN else "a" * (MAX_NAME_LENGTH + 1)
        with pytest.raises(clientauth.ParseError) as info:
            RegisteredName.parse(field, value)
        assert "aaaa" not in str(info.value)
        assert len(str(info.value)) < 200

    def test_dn_errors_are_distinguished_name_errors(self) -> None:
        """DN problems raise DistinguishedNameError (a ParseError and a ValueError)."""
        with pytest.raises(clientauth.DistinguishedNameError) as info:
            RegisteredName.parse(DN, "CN=a,,O=b")
        assert isinstance(info.value, clientauth.ParseError)
        assert isinstance(info.value, ValueError)
        assert info.value.position == 5

    def test_frozen_and_hashable(self) -> None:
        """RegisteredName is immutable and usable as a dict key; equal registrations are
        equal objects only when value and key are."""
        a = registered(DNS, "a.example")
        with pytest.raises(AttributeError):
            a.value = "b.example"  # type: ignore[misc]
        assert {a: 1}[registered(DNS, "a.example")] == 1
        assert registered(DNS, "A.example").key == a.key

    def test_keys_consistent_with_certificate_name_keys(self) -> None:
        """For every field, matches() agrees with membership of (field, key) in
        certificate_name_keys(): the registry index and the verifier decide alike."""
        c = cert(
            ACME,
            dns=("a.example", "B.example."),
            uri=("spiffe://Example.org/ns/a",),
            ip=("192.0.2.1", "2001:db8::1"),
            email=("Alice@Example.com",),
        )
        keys = certificate_name_keys(c)
        cases = [
            (DN, "CN=client,O=Acme,C=US"),
            (DN, "CN=client,O=Acme"),
            (DNS, "a.example"),
            (DNS, "b.example"),
            (DNS, "c.example"),
            (URI, "SPIFFE://example.org/ns/a"),
            (URI, "spiffe://example.org/NS/a"),
            (IP, "2001:0db8:0:0:0:0:0:1"),
            (IP, "192.0.2.2"),
            (EMAIL, "Alice@example.COM"),
            (EMAIL, "alice@example.com"),
        ]
        for field, value in cases:
            r = registered(field, value)
            assert r.matches(c) == ((r.field, r.key) in keys), (field, value)
        assert len(keys) == 7

    def test_registry_finds_client_by_certificate(self) -> None:
        """load_clients + find_by_certificate locate a tls_client_auth client from a
        certificate whose subject is written differently from the registration."""
        registry = clientauth.load_clients(
            [
                {
                    "client_id": "c1",
                    "token_endpoint_auth_method": "tls_client_auth",
                    "tls_client_auth_subject_dn": "/c=us/o=ACME/cn=Client",
                },
                {
                    "client_id": "c2",
                    "token_endpoint_auth_method": "tls_client_auth",
                    "tls_client_auth_san_dns": "A.Example.",
                },
            ]
        )
        assert [c.client_id for c in registry.find_by_certificate(cert(ACME))] == ["c1"]
        other = cert(name("x"), dns=("a.example",))
        assert [c.client_id for c in registry.find_by_certificate(other)] == ["c2"]

    def test_registry_refuses_control_characters(self) -> None:
        """Client metadata with a NUL in a registered name is refused at load time."""
        with pytest.raises(clientauth.ClientMetadataError, match="control"):
            clientauth.load_clients(
                [
                    {
                        "client_id": "c1",
                        "token_endpoint_auth_method": "tls_client_auth",
                        "tls_client_auth_san_dns": "a.example\x00.evil",
                    }
                ]
            )


# -- control and invisible characters ------------------------------------------------------


BAD_CHARACTERS = [
    "\x00",  # NUL
    "\x01",
    "\t",
    "\n",
    "\r",
    "\x1b",  # ESC (terminal injection)
    "\x7f",  # DEL
    "\x85",  # NEL (C1 control)
    "\u00ad",  # soft hyphen (Cf)
    "\u200b",  # zero-width space (Cf)
    "\u200d",  # zero-width joiner (Cf)
    "\u202e",  # right-to-left override (Cf)
    "\u2028",  # line separator (Zl)
    "\ue000",  # private use (Co)
    "\U000e0001",  # language tag (Cf)
    "\u0378",  # unassigned (Cn)
    "\ufffd",  # replacement character (RFC 4518 2.4)
    "\ud800",  # lone surrogate (Cs)
]


class TestControlCharacters:
    @pytest.mark.parametrize("bad", BAD_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
    @pytest.mark.parametrize(
        ("field", "template"),
        [
            (DN, "CN=a{}b,O=Acme"),
            (DNS, "a{}b.example"),
            (URI, "https://a.example/{}"),
            (IP, "192.0.2.1{}"),
            (EMAIL, "a{}b@example.com"),
        ],
    )
    def test_refused_at_parse(self, field: str, template: str, bad: str) -> None:
        """A registered name holding a control, invisible, private-use, unassigned or
        surrogate character is refused, with the position of that character."""
        value = template.format(bad)
        with pytest.raises(clientauth.ParseError) as info:
            RegisteredName.parse(field, value)
        assert info.value.position == value.index(bad)

    @pytest.mark.parametrize("escape", ["\\00", "\\0A", "\\7F", "\\E2\\80\\8B", "\\C2\\85"])
    def test_escaped_control_in_dn_refused(self, escape: str) -> None:
        """RFC 4514 hex escapes cannot smuggle a control or invisible character into a DN."""
        with pytest.raises(clientauth.DistinguishedNameError, match="escaped control"):
            parse_dn(f"CN=a{escape}b")

    def test_hex_value_control_refused(self) -> None:
        """A #hex BER value holding a NUL is refused too."""
        with pytest.raises(clientauth.DistinguishedNameError):
            parse_dn("CN=#0c03610062")

    def test_cert_dns_with_nul_never_matches(self) -> None:
        """A certificate SAN 'a.example\\x00.evil' matches neither 'a.example' nor anything
        else, and is left out of certificate_name_keys()."""
        c = cert(dns=("a.example\x00.evil",))
        assert not registered(DNS, "a.example").matches(c)
        assert not registered(DNS, "a.example.evil").matches(c)
        assert not any(f == DNS for f, _ in certificate_name_keys(c))

    def test_cert_email_and_uri_with_nul_never_match(self) -> None:
        """NUL tricks in rfc822Name and URI SANs do not match the prefix."""
        c = cert(email=("a@example.com\x00.evil",), uri=("https://a.example\x00.evil/",))
        assert not registered(EMAIL, "a@example.com").matches(c)
        assert not registered(URI, "https://a.example").matches(c)
        assert not registered(URI, "https://a.example/").matches(c)
        assert certificate_name_keys(c) == {(DN, registered(DN, "CN=client").key)}

    @pytest.mark.parametrize("bad", ["\x00", "\n", "\u200b", "\u202e", "\u00ad"])
    def test_cert_dn_with_bad_character_never_matches(self, bad: str) -> None:
        """A certificate subject holding a NUL / control / invisible character matches no
        registration (not even one without that character) and has no DN key."""
        c = cert(xname((NameOID.ORGANIZATION_NAME, "Acme"), (NameOID.COMMON_NAME, f"ad{bad}min")))
        assert not registered(DN, "CN=admin,O=Acme").matches(c)
        assert not registered(DN, "CN=ad min,O=Acme").matches(c)
        assert not any(f == DN for f, _ in certificate_name_keys(c))
        assert dn_of(c.subject) is None

    def test_presented_escapes_control_characters(self) -> None:
        """presented() shows non-printable characters escaped, never raw (log injection)."""
        c = cert(
            xname((NameOID.COMMON_NAME, "a\x00b\nc")),
            dns=("a.example\x00.evil",),
        )
        (dn,) = registered(DN, "CN=x").presented(c)
        assert dn == "CN=a\\00b\\0Ac"
        assert registered(DNS, "x.example").presented(c) == ("a.example\\x00.evil",)


# -- DN parsing ----------------------------------------------------------------------------


class TestDNParsing:
    def test_rfc4514_order_is_reversed_asn1(self) -> None:
        """RFC 4514 2.1: the string lists the most specific RDN first; rdns are kept in
        ASN.1 order, like x509.Name.rdns."""
        d = parse_dn("CN=client,O=Acme,C=US")
        assert d.rdns == ((("2.5.4.6", "US"),), (("2.5.4.10", "Acme"),), (("2.5.4.3", "client"),))
        assert d.key == dn_of(ACME).key  # type: ignore[union-attr]

    def test_slash_form_is_asn1_order(self) -> None:
        """OpenSSL slash form lists RDNs least specific first."""
        assert parse_dn("/C=US/O=Acme/CN=client") == parse_dn("CN=client,O=Acme,C=US")

    @pytest.mark.parametrize(("a", "b"), VECTORS["same"])
    def test_vector_same(self, a: str, b: str) -> None:
        """Vector pairs that name the same entity parse to equal keys."""
        assert parse_dn(a).key == parse_dn(b).key
        assert parse_dn(a) == parse_dn(b)

    @pytest.mark.parametrize(("a", "b"), VECTORS["different"])
    def test_vector_different(self, a: str, b: str) -> None:
        """Vector pairs that name different entities parse to different keys."""
        assert parse_dn(a).key != parse_dn(b).key

    @pytest.mark.parametrize(
        ("short", "oid"),
        [
            ("CN", NameOID.COMMON_NAME),
            ("C", NameOID.COUNTRY_NAME),
            ("O", NameOID.ORGANIZATION_NAME),
            ("OU", NameOID.ORGANIZATIONAL_UNIT_NAME),
            ("L", NameOID.LOCALITY_NAME),
            ("ST", NameOID.STATE_OR_PROVINCE_NAME),
            ("STREET", NameOID.STREET_ADDRESS),
            ("DC", NameOID.DOMAIN_COMPONENT),
            ("UID", NameOID.USER_ID),
            ("SERIALNUMBER", NameOID.SERIAL_NUMBER),
            ("emailAddress", NameOID.EMAIL_ADDRESS),
            ("E", NameOID.EMAIL_ADDRESS),
            ("title", NameOID.TITLE),
            ("GN", NameOID.GIVEN_NAME),
            ("givenName", NameOID.GIVEN_NAME),
            ("SN", NameOID.SURNAME),
            ("surname", NameOID.SURNAME),
            ("initials", NameOID.INITIALS),
            ("generationQualifier", NameOID.GENERATION_QUALIFIER),
            ("dnQualifier", NameOID.DN_QUALIFIER),
            ("pseudonym", NameOID.PSEUDONYM),
            ("organizationIdentifier", NameOID.ORGANIZATION_IDENTIFIER),
            ("businessCategory", NameOID.BUSINESS_CATEGORY),
            ("postalCode", NameOID.POSTAL_CODE),
            ("jurisdictionCountryName", NameOID.JURISDICTION_COUNTRY_NAME),
            ("jurisdictionC", NameOID.JURISDICTION_COUNTRY_NAME),
            ("jurisdictionST", NameOID.JURISDICTION_STATE_OR_PROVINCE_NAME),
            ("jurisdictionL", NameOID.JURISDICTION_LOCALITY_NAME),
            ("unstructuredName", NameOID.UNSTRUCTURED_NAME),
            ("INN", NameOID.INN),
            ("OGRN", NameOID.OGRN),
            ("SNILS", NameOID.SNILS),
        ],
    )
    def test_attribute_type_names(self, short: str, oid: x509.ObjectIdentifier) -> None:
        """Attribute type names map to their OID, case-insensitively (RFC 4512 1.4)."""
        for spelling in (short, short.lower(), short.upper()):
            assert parse_dn(f"{spelling}=v").rdns == (((oid.dotted_string, "v"),),)

    def test_every_cryptography_name_oid_has_a_name(self) -> None:
        """Every attribute type cryptography names (NameOID) can be written by name, and
        format_dn never needs the dotted form for them."""
        skip = {"UNSIGNED"}  # not a naming attribute
        for attr in dir(NameOID):
            if attr.isupper() and attr not in skip:
                oid = getattr(NameOID, attr).dotted_string
                written = format_dn(xname((getattr(NameOID, attr), "vv")))
                assert not written.startswith(oid), attr
                assert parse_dn(written).rdns == (((oid, "vv"),),), attr

    @pytest.mark.parametrize(
        "text",
        ["2.5.4.97=VATDE-123", "OID.2.5.4.97=VATDE-123", "oid.2.5.4.97=VATDE-123"],
    )
    def test_numeric_oid(self, text: str) -> None:
        """Numeric OIDs, with or without the 'OID.' prefix (RFC 4514 3 / RFC 1779)."""
        assert parse_dn(text).rdns == ((("2.5.4.97", "VATDE-123"),),)

    def test_unknown_numeric_oid_kept(self) -> None:
        """An OID nobody has a name for still parses and prints back in dotted form."""
        d = parse_dn("1.3.6.1.4.1.99999.1=x")
        assert str(d) == "1.3.6.1.4.1.99999.1=x"

    @pytest.mark.parametrize(
        ("text", "position"),
        [
            ("2.5.04.3=x", 0),  # leading zero (RFC 4512 1.4)
            ("2=x", 0),  # one arc
            ("2..5=x", 0),
            ("2.5.=x", 0),
            ("3.1=x", 0),  # first arc 0..2
            ("1.40=x", 0),  # second arc < 40 under 0 and 1
            ("OID.x=y", 4),
            ("CN=a,OID.=b", 9),
        ],
    )
    def test_bad_numeric_oid(self, text: str, position: int) -> None:
        """Malformed numeric OIDs are refused with the position of the OID."""
        with pytest.raises(clientauth.DistinguishedNameError) as info:
            parse_dn(text)
        assert info.value.position == position

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("CN=a\\,b", "a,b"),
            ("CN=a\\+b", "a+b"),
            ('CN=a\\"b', 'a"b'),
            ("CN=a\\\\b", "a\\b"),
            ("CN=a\\<b\\>", "a<b>"),
            ("CN=a\\;b", "a;b"),
            ("CN=a\\=b", "a=b"),
            ("CN=a=b", "a=b"),
            ("CN=\\#a", "#a"),
            ("CN=a#b", "a#b"),
            ("CN=\\ a", " a"),
            ("CN=a\\ ", "a "),
            ("CN=a ", "a"),
            ("CN=\\41\\42", "AB"),
            ("CN=\\c3\\a9", "\u00e9"),
            ("CN=\\E2\\82\\AC", "\u20ac"),
            ("CN=\u00e9\u20ac", "\u00e9\u20ac"),
            ("CN=", ""),
            ("CN=a/b", "a/b"),
        ],
    )
    def test_rfc4514_escapes(self, text: str, value: str) -> None:
        """RFC 4514 2.4 / 3 escapes: special characters and UTF-8 hex pairs."""
        assert parse_dn(text).rdns == ((("2.5.4.3", value),),)

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("CN=#0c03616263", "abc"),  # UTF8String
            ("CN=#130341424", None),  # odd number of digits -> error
            ("CN=#1303414243", "ABC"),  # PrintableString
            ("CN=#1603616263", "abc"),  # IA5String
            ("CN=#1e0400e90061", "\u00e9a"),  # BMPString
            ("CN=#1c08000000e900000061", "\u00e9a"),  # UniversalString
            ("CN=#140141", "A"),  # TeletexString
            ("CN=#0c8103616263", "abc"),  # long-form length
            ("CN=#0C03616263 ", "abc"),  # trailing space tolerated
        ],
    )
    def test_hex_values(self, text: str, value: str | None) -> None:
        """RFC 4514 #hexstring values holding a BER character string are decoded."""
        if value is None:
            with pytest.raises(clientauth.DistinguishedNameError):
                parse_dn(text)
        else:
            assert parse_dn(text).rdns == ((("2.5.4.3", value),),)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("CN=#0403616263", "only character strings"),  # OCTET STRING
            ("CN=#020101", "only character strings"),  # INTEGER
            ("CN=#0c", "too short"),
            ("CN=#0c0461", "length"),
            ("CN=#0c016162", "length"),
            ("CN=#0c80", "BER length"),  # indefinite
            ("CN=#0c85000000000161", "BER length"),
            ("CN=#0c02c328", "not valid"),  # bad UTF-8
            ("CN=#1e0161", "not valid"),  # odd BMPString
            ("CN=#", "even"),
            ("CN=#1 Company", "escape a literal"),
            ("CN=#zz", "escape a literal"),
        ],
    )
    def test_hex_values_refused(self, text: str, message: str) -> None:
        """Hex values that are not a well-formed BER character string are refused clearly."""
        with pytest.raises(clientauth.DistinguishedNameError, match=message):
            parse_dn(text)

    @pytest.mark.parametrize(
        ("text", "rdns"),
        [
            ("/CN=a\\/b", ((("2.5.4.3", "a/b"),),)),
            ("/CN=a\\+b", ((("2.5.4.3", "a+b"),),)),
            ("/CN=a\\\\b", ((("2.5.4.3", "a\\b"),),)),
            ("/CN=a,b", ((("2.5.4.3", "a,b"),),)),
            ("/CN=#0c", ((("2.5.4.3", "#0c"),),)),
            ("/CN=\\41", ((("2.5.4.3", "41"),),)),
            ("/C=US/CN=a+O=b", ((("2.5.4.6", "US"),), (("2.5.4.3", "a"), ("2.5.4.10", "b")))),
            ("  /CN=x", ((("2.5.4.3", "x"),),)),
            ("/CN=", ((("2.5.4.3", ""),),)),
        ],
    )
    def test_slash_form(self, text: str, rdns: Any) -> None:
        """Slash form: '/' separates, '+' joins, a backslash makes the next character
        literal (OpenSSL -subj), and there is no hex form."""
        assert parse_dn(text).rdns == rdns

    @pytest.mark.parametrize(
        ("text", "position", "message"),
        [
            ("", 0, "empty"),
            ("   ", 0, "empty"),
            ("CN", 2, "'='"),
            ("CN a", 3, "'='"),
            ("=a", 0, "attribute type"),
            ("foo=bar", 0, "unknown attribute type"),
            ("CN=a,foo=bar", 5, "unknown attribute type"),
            ("CN=a,", 5, "attribute type"),
            ("CN=a,,O=b", 5, "attribute type"),
            ("CN=a+", 5, "attribute type"),
            ("CN=a+,O=b", 5, "attribute type"),
            (",CN=a", 0, "attribute type"),
            ("CN=a;O=b", 4, "must be escaped"),
            ('CN="a,b"', 3, "must be escaped"),
            ("CN=<a>", 3, "must be escaped"),
            ("CN=a\\", 4, "backslash"),
            ("CN=a\\x", 4, "backslash"),
            ("CN=a\\4", 4, "backslash"),
            ("CN=a\\4g", 4, "backslash"),
            ("CN=\\C3", 3, "UTF-8"),
            ("CN=\\FF", 3, "UTF-8"),
            ("/", 1, "attribute type"),
            ("/CN=a/", 6, "attribute type"),
            ("/CN=a//O=b", 6, "attribute type"),
            ("/CN=a/O", 7, "'='"),
            ("/CN=a\\", 5, "backslash"),
            ("\u00e9=x", 0, "attribute type"),
            ("C\u00e9=x", 1, "'='"),
        ],
    )
    def test_errors_carry_position(self, text: str, position: int, message: str) -> None:
        """Garbage raises DistinguishedNameError with where it failed and a clear reason."""
        with pytest.raises(clientauth.DistinguishedNameError, match=message) as info:
            parse_dn(text)
        assert info.value.position == position

    def test_non_string_refused(self) -> None:
        """parse_dn of bytes is a DistinguishedNameError, not a TypeError."""
        with pytest.raises(clientauth.DistinguishedNameError):
            parse_dn(b"CN=a")  # type: ignore[arg-type]

    def test_error_does_not_echo_input(self) -> None:
        """Messages name the problem, never the refused text (it may be large or hostile)."""
        with pytest.raises(clientauth.DistinguishedNameError) as info:
            parse_dn("CN=a,secretish-attribute=x")
        assert "secretish" not in str(info.value)


class TestDistinguishedName:
    def test_str_is_rfc4514(self) -> None:
        """str() writes RFC 4514: most specific first, preferred short names, escapes."""
        d = parse_dn("/C=US/O=Acme\\, Inc./OU=a+CN=#b /2.5.4.97=x")
        assert str(d) == "organizationIdentifier=x,OU=a+CN=\\#b\\ ,O=Acme\\, Inc.,C=US"

    def test_equality_is_semantic(self) -> None:
        """Two DistinguishedNames are equal (and hash equal) when their keys are, however
        they were written."""
        a, b = parse_dn("CN=Client,O=Acme"), parse_dn("/o=ACME/cn=client")
        assert a == b
        assert hash(a) == hash(b)
        assert a.rdns != b.rdns
        assert a != parse_dn("CN=client,O=Acme,C=US")

    def test_dn_of_matches_cryptography_rfc4514_string(self) -> None:
        """dn_of(x509.Name) and parse_dn(name.rfc4514_string()) give equal keys."""
        n = xname(
            (NameOID.DOMAIN_COMPONENT, "com"),
            (NameOID.DOMAIN_COMPONENT, "example"),
            [(NameOID.ORGANIZATIONAL_UNIT_NAME, "Eng, R+D"), (NameOID.USER_ID, "j#doe")],
            (NameOID.EMAIL_ADDRESS, "a@example.com"),
            (NameOID.COMMON_NAME, " Doe; John <jd> "),
        )
        assert parse_dn(n.rfc4514_string()) == dn_of(n)
        assert parse_dn(format_dn(n)) == dn_of(n)

    def test_dn_of_refuses_non_string_values(self) -> None:
        """A BIT STRING attribute value makes the name unmatchable: dn_of returns None and
        format_dn still shows it."""
        n = xname(
            (NameOID.COMMON_NAME, "a"),
            (NameOID.X500_UNIQUE_IDENTIFIER, b"\x01\x02", _ASN1Type.BitString),
        )
        assert dn_of(n) is None
        assert format_dn(n) == "x500UniqueIdentifier=#0102,CN=a"

    def test_format_dn_empty(self) -> None:
        """An empty name formats as the empty string."""
        assert format_dn(x509.Name([])) == ""


# -- DN matching against certificates ------------------------------------------------------


class TestSubjectDNMatching:
    @pytest.mark.parametrize(
        "registered_dn",
        [
            "CN=client,O=Acme,C=US",
            "cn=CLIENT,o=acme,c=us",
            "CN=  client ,O=Acme,C=US",
            "/C=US/O=Acme/CN=client",
            "2.5.4.3=client,2.5.4.10=Acme,2.5.4.6=US",
            "CN=\uff43\uff4c\uff49\uff45\uff4e\uff54,O=Acme,C=US",  # fullwidth (NFKC)
        ],
    )
    def test_same_name_matches(self, registered_dn: str) -> None:
        """The same DN, written in any accepted way, matches the certificate."""
        assert registered(DN, registered_dn).matches(cert(ACME))

    @pytest.mark.parametrize(
        "registered_dn",
        [
            "C=US,O=Acme,CN=client",  # reversed order
            "/CN=client/O=Acme/C=US",  # slash form, wrong order
            "CN=client,O=Acme",  # missing RDN
            "CN=client,OU=Eng,O=Acme,C=US",  # extra RDN
            "CN=client,O=Acme,C=US,DC=com",  # extra RDN at the top
            "CN=client+O=Acme,C=US",  # merged into one RDN
            "CN=client\\,O=Acme,C=US",  # escaped comma: one CN value
            "CN=clients,O=Acme,C=US",
            "CN=client,O=Acme,C=UK",
            "UID=client,O=Acme,C=US",  # same value, different type
            "CN=cli ent,O=Acme,C=US",
        ],
    )
    def test_different_name_does_not_match(self, registered_dn: str) -> None:
        """Order, number and type of RDNs all matter; so do value differences beyond case
        and insignificant space."""
        assert not registered(DN, registered_dn).matches(cert(ACME))

    def test_escaped_comma_in_cn(self) -> None:
        """CN=Doe\\, John matches a certificate whose CN is 'Doe, John', not one with two
        RDNs CN=Doe and CN=John."""
        r = registered(DN, "CN=Doe\\, John,O=Acme")
        assert r.matches(
            cert(xname((NameOID.ORGANIZATION_NAME, "Acme"), (NameOID.COMMON_NAME, "Doe, John")))
        )
        assert not r.matches(
            cert(
                xname(
                    (NameOID.ORGANIZATION_NAME, "Acme"),
                    (NameOID.COMMON_NAME, "John"),
                    (NameOID.COMMON_NAME, "Doe"),
                )
            )
        )

    @pytest.mark.parametrize("order", ["CN=a+OU=b,O=Acme", "OU=b+CN=a,O=Acme"])
    def test_multi_valued_rdn_either_order(self, order: str) -> None:
        """Inside a multi-valued RDN the attribute order does not matter (it is a SET);
        the certificate's encoding order does not either."""
        c1 = cert(
            xname(
                (NameOID.ORGANIZATION_NAME, "Acme"),
                [(NameOID.COMMON_NAME, "a"), (NameOID.ORGANIZATIONAL_UNIT_NAME, "b")],
            )
        )
        c2 = cert(
            xname(
                (NameOID.ORGANIZATION_NAME, "Acme"),
                [(NameOID.ORGANIZATIONAL_UNIT_NAME, "b"), (NameOID.COMMON_NAME, "a")],
            )
        )
        r = registered(DN, order)
        assert r.matches(c1)
        assert r.matches(c2)

    def test_multi_valued_rdn_is_not_two_rdns(self) -> None:
        """CN=a+OU=b is a different name from CN=a,OU=b."""
        c = cert(
            xname(
                (NameOID.ORGANIZATION_NAME, "Acme"),
                (NameOID.ORGANIZATIONAL_UNIT_NAME, "b"),
                (NameOID.COMMON_NAME, "a"),
            )
        )
        assert registered(DN, "CN=a,OU=b,O=Acme").matches(c)
        assert not registered(DN, "CN=a+OU=b,O=Acme").matches(c)

    @pytest.mark.parametrize(
        "asn1_type",
        [
            _ASN1Type.UTF8String,
            _ASN1Type.PrintableString,
            _ASN1Type.BMPString,
            _ASN1Type.UniversalString,
            _ASN1Type.T61String,
            _ASN1Type.IA5String,
        ],
    )
    def test_string_type_does_not_matter(self, asn1_type: _ASN1Type) -> None:
        """RFC 5280 7.1: PrintableString vs UTF8String (or BMP, Universal, Teletex, IA5)
        encodings of the same text match."""
        c = cert(
            xname(
                (NameOID.COUNTRY_NAME, "US", asn1_type),
                (NameOID.ORGANIZATION_NAME, "Acme", asn1_type),
            )
        )
        assert registered(DN, "O=Acme,C=US").matches(c)

    def test_hex_registration_matches(self) -> None:
        """A #hex BER value registers the decoded text, whatever string type it names."""
        r = registered(DN, "CN=#1306636c69656e74,O=#0c0441636d65,C=US")
        assert r.matches(cert(ACME))

    def test_unicode_case_and_normalisation(self) -> None:
        """Values compare after NFKC and Unicode case folding (RFC 4518 2.2-2.3)."""
        c = cert(
            xname(
                (NameOID.ORGANIZATION_NAME, "M\u00fcller Stra\u00dfe GmbH"),
                (NameOID.COMMON_NAME, "\u00c9cole"),
            )
        )
        assert registered(DN, "CN=e\u0301cole,O=M\u00dcLLER STRASSE gmbh").matches(c)
        assert not registered(DN, "CN=Ecole,O=Muller Strasse GmbH").matches(c)

    def test_non_breaking_space_folds(self) -> None:
        """Unicode space separators count as insignificant space (RFC 4518 2.6.1)."""
        c = cert(xname((NameOID.COMMON_NAME, "Acme\u00a0\u3000Corp ")))
        assert registered(DN, "CN=acme corp").matches(c)

    def test_numeric_oid_matches(self) -> None:
        """A registration by numeric OID matches the attribute in the certificate."""
        c = cert(xname((NameOID.ORGANIZATION_IDENTIFIER, "VATDE-123"), (NameOID.COMMON_NAME, "x")))
        assert registered(DN, "CN=x,2.5.4.97=VATDE-123").matches(c)
        assert registered(DN, "CN=x,organizationIdentifier=vatde-123").matches(c)
        assert not registered(DN, "CN=x,2.5.4.98=VATDE-123").matches(c)

    def test_bit_string_value_never_matches(self) -> None:
        """A subject holding a non-string value never matches, and matches() does not raise."""
        c = cert(
            xname(
                (NameOID.COMMON_NAME, "a"),
                (NameOID.X500_UNIQUE_IDENTIFIER, b"\x01", _ASN1Type.BitString),
            )
        )
        assert not registered(DN, "CN=a").matches(c)
        assert not any(f == DN for f, _ in certificate_name_keys(c))
        assert registered(DN, "CN=a").presented(c) == ("x500UniqueIdentifier=#01,CN=a",)

    def test_octet_string_value_never_matches(self) -> None:
        """A CN encoded as OCTET STRING (which cryptography returns as text) is not
        compared as a string: it never matches."""
        good = issue(xname((NameOID.COMMON_NAME, "PATCHME1")), key=_KEY).cert
        der = good.public_bytes(Encoding.DER)
        patched = x509.load_der_x509_certificate(
            der.replace(b"\x0c\x08PATCHME1", b"\x04\x08PATCHME1")
        )
        assert registered(DN, "CN=PATCHME1").matches(good)
        assert not registered(DN, "CN=PATCHME1").matches(patched)
        assert not any(f == DN for f, _ in certificate_name_keys(patched))

    def test_empty_subject_has_no_dn(self) -> None:
        """A certificate with an empty subject carries no DN (SAN-only certificates)."""
        c = issue(x509.Name([]), key=_KEY, san_dns=["a.example"], san_critical=True).cert
        assert not any(f == DN for f, _ in certificate_name_keys(c))
        assert registered(DN, "CN=a").presented(c) == ()
        assert not registered(DN, "CN=a").matches(c)

    def test_presented_is_rfc4514(self) -> None:
        """presented() gives the subject in RFC 4514 form, which parses back to a
        registration that matches."""
        c = cert(xname((NameOID.ORGANIZATION_NAME, "Acme, Inc."), (NameOID.COMMON_NAME, "a+b")))
        (shown,) = registered(DN, "CN=x").presented(c)
        assert shown == "CN=a\\+b,O=Acme\\, Inc."
        assert registered(DN, shown).matches(c)


# -- SAN dNSName ---------------------------------------------------------------------------


class TestUnreadableCertificates:
    """cryptography parses lazily: reading a certificate's subject or extensions may raise.
    Matching and lookup (which the registries index by) never raise; an unreadable part
    names nothing."""

    _HOSTILE = Path(__file__).parent / "vectors" / "hostile"

    def _load(self, corpus: str) -> x509.Certificate:
        return x509.load_der_x509_certificate((self._HOSTILE / f"{corpus}.der").read_bytes())

    @pytest.mark.parametrize("corpus", [
        "subject-cn-utf8-invalid", "subject-cn-bitstring", "subject-email-bitstring",
        "san-garbage", "duplicate-san", "san-x400",
    ])
    def test_never_raises(self, corpus: str) -> None:
        """Every function taking a certificate answers for an unreadable one."""
        cert = self._load(corpus)
        keys = certificate_name_keys(cert)
        assert ("tls_client_auth_subject_dn", ()) not in keys
        for field, value in (("tls_client_auth_subject_dn", "CN=client,O=Hostile"),
                             ("tls_client_auth_san_dns", "client.hostile.example")):
            registered = RegisteredName.parse(field, value)
            assert registered.matches(cert) is (
                field == "tls_client_auth_san_dns" and corpus.startswith("subject-")
            )
            registered.presented(cert)

    def test_warnings_as_errors(self) -> None:
        """Where warnings are errors, the warning cryptography raises while building a CN
        over 64 characters (ub-common-name) makes the subject unreadable, not an exception;
        the SAN still names the certificate."""
        cert = self._load("subject-long-value")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            keys = certificate_name_keys(cert)
            assert RegisteredName.parse(
                "tls_client_auth_subject_dn", "CN=client,O=Hostile"
            ).presented(cert) == ()
        assert keys == {("tls_client_auth_san_dns", "client.hostile.example")}


class TestDNS:
    @pytest.mark.parametrize(
        ("reg", "san", "match"),
        [
            ("a.example", "a.example", True),
            ("A.EXAMPLE", "a.example", True),
            ("a.example", "A.Example", True),
            ("a.example.", "a.example", True),
            ("a.example", "a.example.", True),
            ("a.example", "b.example", False),
            ("a.example", "a.example.evil", False),
            ("a.example", "evila.example", False),
            ("a.example", "x.a.example", False),
            ("a.example", "*.example", False),  # no wildcard semantics
            ("*.example", "a.example", False),
            ("*.example", "*.example", True),  # literal equality only
            ("*.example", "*.EXAMPLE.", True),
            ("b\u00fccher.example", "xn--bcher-kva.example", True),  # U-label -> A-label
            ("B\u00dcCHER.example", "xn--bcher-kva.example", True),
            ("xn--bcher-kva.example", "XN--BCHER-KVA.example", True),
            ("bucher.example", "xn--bcher-kva.example", False),
            ("\uff41.example", "a.example", True),  # fullwidth, IDNA nameprep
        ],
    )
    def test_matching(self, reg: str, san: str, match: bool) -> None:
        """dNSName comparison: ASCII case-insensitive, one trailing dot ignored, IDNA
        U-labels registered as A-labels, wildcards compared literally."""
        assert registered(DNS, reg).matches(cert(dns=(san,))) is match

    def test_any_of_several(self) -> None:
        """The registered name matches when it is any one of the certificate's dNSNames."""
        c = cert(dns=("x.example", "a.example", "y.example"))
        assert registered(DNS, "a.example").matches(c)
        assert registered(DNS, "a.example").presented(c) == ("x.example", "a.example", "y.example")

    def test_other_san_types_ignored(self) -> None:
        """A URI or email SAN with the same text is not a dNSName."""
        c = cert(uri=("a.example:x",), email=("a.example",))
        assert not registered(DNS, "a.example").matches(c)
        assert registered(DNS, "a.example").presented(c) == ()

    @pytest.mark.parametrize(
        "value",
        [
            "a..example",
            ".a.example",
            ".",
            "a.example..",
            "a example",
            " a.example",
            "a.example ",
            "\u00e9" * 70 + ".example",  # IDNA label too long
            "stra\u00dfe.example",  # IDNA 2003 / 2008 deviation
            "\u03c2.example",
            "a\u3000b.example",  # ideographic space
        ],
    )
    def test_refused(self, value: str) -> None:
        """Invalid DNS registrations are refused at parse, not silently never matched."""
        with pytest.raises(clientauth.ParseError):
            RegisteredName.parse(DNS, value)

    def test_deviation_message(self) -> None:
        """IDNA deviation characters get a message telling what to register instead."""
        with pytest.raises(clientauth.ParseError, match="A-label") as info:
            RegisteredName.parse(DNS, "stra\u00dfe.example")
        assert info.value.position == 4


# -- SAN iPAddress -------------------------------------------------------------------------


class TestIP:
    @pytest.mark.parametrize(
        ("reg", "san", "match"),
        [
            ("192.0.2.1", "192.0.2.1", True),
            ("192.0.2.1", "192.0.2.2", False),
            ("2001:db8::1", "2001:db8::1", True),
            ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1", True),
            ("2001:db8::1", "2001:db8:0:0:0:0:0:1", True),
            ("2001:DB8::A", "2001:db8::a", True),
            ("::ffff:192.0.2.1", "192.0.2.1", False),  # v4-mapped stays distinct
            ("192.0.2.1", "::ffff:192.0.2.1", False),
            ("::ffff:192.0.2.1", "::ffff:c000:201", True),
            ("::1", "127.0.0.1", False),
        ],
    )
    def test_matching(self, reg: str, san: str, match: bool) -> None:
        """iPAddress comparison is by address octets: any text form of the same address
        matches; IPv4 and IPv4-mapped IPv6 are different names (4 vs 16 octets)."""
        assert registered(IP, reg).matches(cert(ip=(san,))) is match

    @pytest.mark.parametrize(
        "value",
        [
            "192.0.2",
            "192.0.2.256",
            "192.000.002.001",  # leading zeros are ambiguous (octal)
            "192.0.2.1/32",
            "2001:db8::/32",
            "fe80::1%eth0",
            "2001:db8:::1",
            " 192.0.2.1",
            "localhost",
            "0x7f.1",
        ],
    )
    def test_refused(self, value: str) -> None:
        """Anything but a single IPv4/IPv6 address is refused at parse."""
        with pytest.raises(clientauth.ParseError):
            RegisteredName.parse(IP, value)

    def test_presented(self) -> None:
        """presented() lists the certificate's addresses in canonical text form."""
        c = cert(ip=("192.0.2.1", "2001:0db8::0001"), dns=("a.example",))
        assert registered(IP, "192.0.2.9").presented(c) == ("192.0.2.1", "2001:db8::1")

    def test_key_is_octets(self) -> None:
        """The key is the packed address, the same bytes the certificate carries."""
        assert (
            registered(IP, "::ffff:192.0.2.1").key
            == ipaddress.ip_address("::ffff:192.0.2.1").packed
        )


# -- SAN URI -------------------------------------------------------------------------------


class TestURI:
    @pytest.mark.parametrize(
        ("reg", "san", "match"),
        [
            ("spiffe://example.org/ns/a", "spiffe://example.org/ns/a", True),
            ("SPIFFE://EXAMPLE.ORG/ns/a", "spiffe://example.org/ns/a", True),
            ("spiffe://example.org/ns/a", "spiffe://example.org/NS/a", False),  # path exact
            ("spiffe://example.org/ns/a", "spiffe://example.org/ns/a/", False),
            ("spiffe://example.org/ns/a", "spiffe://example.org/ns/%61", False),  # no decoding
            (
                "https://User@Host.example:8443/p?q=A#F",
                "https://User@host.EXAMPLE:8443/p?q=A#F",
                True,
            ),
            ("https://user@host.example/", "https://USER@host.example/", False),  # userinfo
            ("https://host.example:443/", "https://host.example/", False),  # no port defaults
            ("https://[2001:DB8::1]:8443/x", "https://[2001:db8::1]:8443/x", True),
            ("https://Host.example?Q", "https://host.example?Q", True),
            ("https://Host.example#Frag", "https://host.example#Frag", True),
            ("https://host.example?q", "https://host.example?Q", False),
            ("urn:Example:Client", "URN:Example:Client", True),
            ("urn:example:client", "urn:Example:Client", False),  # no authority: exact
            ("mailto:A@B.example", "MAILTO:A@B.example", True),
            ("https://host.example", "https://host.example.evil", False),
        ],
    )
    def test_matching(self, reg: str, san: str, match: bool) -> None:
        """URI comparison: scheme and host case-insensitive (RFC 3986 6.2.2.1), everything
        else byte for byte."""
        assert registered(URI, reg).matches(cert(uri=(san,))) is match

    @pytest.mark.parametrize(
        "value",
        [
            "example.org/path",  # relative
            "//example.org/path",
            ":x",
            "1http://x",
            "ht tp://x",
            "https://ex ample.org",
            "https://b\u00fccher.example/",  # IRI, not a URI
        ],
    )
    def test_refused(self, value: str) -> None:
        """A registration that is not an absolute ASCII URI is refused."""
        with pytest.raises(clientauth.ParseError):
            RegisteredName.parse(URI, value)

    def test_relative_cert_uri_never_matches(self) -> None:
        """A certificate URI without a scheme has no key (it cannot equal a registration)."""
        c = cert(uri=("example.org/x",))
        assert not any(f == URI for f, _ in certificate_name_keys(c))
        assert registered(URI, "x:example.org/x").presented(c) == ("example.org/x",)


# -- SAN rfc822Name ------------------------------------------------------------------------


class TestEmail:
    @pytest.mark.parametrize(
        ("reg", "san", "match"),
        [
            ("alice@example.com", "alice@example.com", True),
            ("alice@EXAMPLE.com", "alice@example.COM", True),
            ("Alice@example.com", "alice@example.com", False),  # local part exact (RFC 5280 7.5)
            ("alice@example.com", "alice@example.com.evil", False),
            ("alice@example.com", "malice@example.com", False),
            ('"a@b"@example.com', '"a@b"@EXAMPLE.com', True),
            ("alice@b\u00fccher.example", "alice@xn--bcher-kva.example", True),
            ("alice@example.com", "example.com", False),
        ],
    )
    def test_matching(self, reg: str, san: str, match: bool) -> None:
        """rfc822Name comparison: exact local part, case-insensitive domain, IDNA domain."""
        assert registered(EMAIL, reg).matches(cert(email=(san,))) is match

    @pytest.mark.parametrize(
        "value",
        [
            "alice",
            "@example.com",
            "alice@",
            "al ice@example.com",
            "j\u00f6rg@example.com",  # SmtpUTF8Mailbox, not supported
            "alice@example..com",
            "alice@example.com.",
        ],
    )
    def test_refused(self, value: str) -> None:
        """Malformed or unsupported email registrations are refused."""
        with pytest.raises(clientauth.ParseError):
            RegisteredName.parse(EMAIL, value)


# -- properties ----------------------------------------------------------------------------

_VALUE_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"),
        blacklist_characters="\ufffd",
    ),
    max_size=12,
)
_TYPES = st.sampled_from(
    [
        NameOID.COMMON_NAME,
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
        NameOID.COUNTRY_NAME,
        NameOID.DOMAIN_COMPONENT,
        NameOID.SERIAL_NUMBER,
        NameOID.ORGANIZATION_IDENTIFIER,
        x509.ObjectIdentifier("1.3.6.1.4.1.99999.7"),
    ]
)
_RDNS = st.lists(
    st.lists(st.tuples(_TYPES, _VALUE_TEXT), min_size=1, max_size=3, unique=True),
    min_size=1,
    max_size=5,
)
_FUZZ = st.one_of(
    st.text(max_size=80),
    st.text(alphabet='CNOU=,+/\\#;"<> 0123456789abcdefABCDEF.\u00e9\x00', max_size=80),
)


def _name_from(rdns: list[list[tuple[x509.ObjectIdentifier, str]]]) -> x509.Name:
    # Lengths outside X.520 upper bounds (C is exactly 2) are fine here: certificates in the
    # wild break them, and matching must cope. cryptography warns when not validating.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return x509.Name(
            [
                x509.RelativeDistinguishedName(
                    [
                        x509.NameAttribute(o, v, _ASN1Type.UTF8String, _validate=False)
                        for o, v in rdn
                    ]
                )
                for rdn in rdns
            ]
        )


_PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TestProperties:
    @_PROPERTY
    @given(field=st.sampled_from(NAME_FIELDS), text=_FUZZ)
    def test_parse_returns_or_raises_parse_error(self, field: str, text: str) -> None:
        """RegisteredName.parse on arbitrary text returns a name or raises ParseError;
        nothing else ever escapes."""
        error: clientauth.ParseError | None = None
        try:
            r = RegisteredName.parse(field, text)
        except clientauth.ParseError as exc:
            error = exc
        else:
            hash(r.key)
        if error is not None:
            assert error.position is None or 0 <= error.position <= len(text)

    @_PROPERTY
    @given(text=_FUZZ)
    def test_parse_dn_round_trips(self, text: str) -> None:
        """Any string parse_dn accepts prints (str) to a string that parses to an equal key."""
        try:
            d = parse_dn(text)
        except clientauth.DistinguishedNameError:
            return
        assert parse_dn(str(d)).key == d.key

    @_PROPERTY
    @given(rdns=_RDNS)
    def test_generated_names_round_trip(
        self, rdns: list[list[tuple[x509.ObjectIdentifier, str]]]
    ) -> None:
        """For generated names: dn_of(name), parse_dn(str(dn_of(name))),
        parse_dn(format_dn(name)) and parse_dn(name.rfc4514_string()) all have one key."""
        n = _name_from(rdns)
        d = dn_of(n)
        assert d is not None
        assert parse_dn(str(d)).key == d.key
        assert parse_dn(format_dn(n)).key == d.key
        assert parse_dn(n.rfc4514_string()).key == d.key

    @_PROPERTY
    @given(rdns=_RDNS, data=st.data())
    def test_reordering_rdns_changes_the_key(
        self, rdns: list[list[tuple[x509.ObjectIdentifier, str]]], data: st.DataObject
    ) -> None:
        """Permuting RDNs gives an equal key only if the permuted sequence of RDN keys is
        the same (order matters); permuting inside an RDN never changes the key."""
        d = dn_of(_name_from(rdns))
        assert d is not None
        inner = [data.draw(st.permutations(rdn)) for rdn in rdns]
        assert dn_of(_name_from(inner)) == d
        outer = data.draw(st.permutations(rdns))
        other = dn_of(_name_from(outer))
        assert other is not None
        assert (other.key == d.key) == (
            [names._rdn_key(tuple((o.dotted_string, v) for o, v in r)) for r in outer]
            == [names._rdn_key(tuple((o.dotted_string, v) for o, v in r)) for r in rdns]
        )


# -- performance ---------------------------------------------------------------------------


class TestPerformance:
    @pytest.mark.parametrize(
        "text",
        [
            "\\" * MAX_NAME_LENGTH,
            "CN=" + "\\," * ((MAX_NAME_LENGTH - 3) // 2),
            "CN=a+" * (MAX_NAME_LENGTH // 5),
            "/CN=a" * (MAX_NAME_LENGTH // 5),
            "CN=#" + "0" * (MAX_NAME_LENGTH - 4),
            "2." + "1." * ((MAX_NAME_LENGTH - 4) // 2) + "1=x",
            "CN=" + " " * (MAX_NAME_LENGTH - 3),
            "CN=" + "\u00e9" * (MAX_NAME_LENGTH - 3),
        ],
    )
    def test_hostile_dn_is_linear(self, text: str) -> None:
        """Worst-case DN strings at the length cap parse (or fail) in well under 250 ms: the
        parser is linear, with no backtracking."""
        start = time.perf_counter()
        with contextlib.suppress(clientauth.DistinguishedNameError):
            parse_dn(text)
        assert time.perf_counter() - start < 0.25

    def test_matches_is_cheap(self) -> None:
        """matches() on a typical certificate costs microseconds, not milliseconds (it is on
        the per-request path). The bound is loose to stay reliable on slow CI machines."""
        c = cert(
            xname(
                (NameOID.COUNTRY_NAME, "DE"),
                (NameOID.ORGANIZATION_NAME, "M\u00fcller AG"),
                (NameOID.ORGANIZATIONAL_UNIT_NAME, "Eng"),
                (NameOID.COMMON_NAME, "client"),
            ),
            dns=("a.example", "b.example"),
        )
        dn = registered(DN, "CN=client,OU=Eng,O=M\u00fcller AG,C=DE")
        dns = registered(DNS, "b.example")
        rounds = 500

        def run() -> None:
            for _ in range(rounds):
                assert dn.matches(c)
                assert dns.matches(c)

        # The best of several runs, so a busy machine does not make the test flaky.
        per_call = min(timeit.repeat(run, number=1, repeat=5)) / (2 * rounds)
        assert per_call < 200e-6
