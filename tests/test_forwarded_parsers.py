"""The forwarded-certificate parsers: each proxy's header, as that proxy writes it.

Every header value here is produced by hand the way the proxy or cloud produces it (the
encoder helpers cite where each rule comes from); certificates come from tests/certs.py,
except the RFC 9440 Appendix A vectors, which are the RFC's own bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
from pathlib import Path

import pytest
from cryptography import x509

import xfcc_builder
from certs import Issued, Pki, issue, name, self_signed
from clientauth import ConfigurationError, ForwardedHeaderError, forwarded
from clientauth.forwarded import FORMATS, parse_forwarded
from clientauth.forwarded._common import MAX_HEADER_SIZE, percent_decode, split_der

# -- encoders: what each proxy puts on the wire ---------------------------------------------


def b64(der: bytes) -> str:
    return base64.b64encode(der).decode("ascii")


def nginx_escaped(pem: str) -> str:
    """``$ssl_client_escaped_cert``: ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT) keeps only the
    RFC 3986 unreserved characters and writes uppercase hex -- quote(safe="") exactly."""
    return urllib.parse.quote(pem, safe="")


def nginx_legacy(pem: str, *, unfolded: bool) -> str:
    """``$ssl_client_cert``: every LF becomes LF+TAB, final LF dropped; a recipient that
    unfolds obs-fold (RFC 9112 5.2) sees SP instead of the line break."""
    folded = pem.rstrip("\n").replace("\n", "\n\t")
    return folded.replace("\n\t", " \t") if unfolded else folded


def apache(pem: str) -> str:
    """mod_headers ``%{SSL_CLIENT_CERT}s``: CR/LF replaced by spaces."""
    return pem.replace("\r", " ").replace("\n", " ")


def envoy_url_encode(pem: str) -> str:
    """Envoy's urlEncodedPemEncodedPeerCertificate: StrReplaceAll of LF, SP, + / =."""
    for char, escape in (("\n", "%0A"), (" ", "%20"), ("+", "%2B"), ("/", "%2F"), ("=", "%3D")):
        pem = pem.replace(char, escape)
    return pem


def xfcc(cert: Issued, *, chain: list[Issued] | None = None, by: str = "spiffe://mesh/gw") -> str:
    """One XFCC element exactly as Envoy writes it (tests/xfcc_builder.py), every detail on."""
    return xfcc_builder.element(cert.cert, by=[by], chain=[c.cert for c in chain or ()],
                                details=xfcc_builder.DETAILS if chain is not None else
                                [d for d in xfcc_builder.DETAILS if d != "chain"])


def traefik(*certs: Issued, legacy: bool = False) -> str:
    """passTLSClientCert pem=true: armor and line breaks stripped, joined with ','; before
    v2.9.2 also url.QueryEscape'd (quote_plus with only unreserved kept)."""
    value = ",".join(b64(c.der) for c in certs)
    return urllib.parse.quote_plus(value, safe="") if legacy else value


def aws_alb(*certs: Issued) -> str:
    """ALB: URL-encoded PEM 'with +, = and / as safe characters'."""
    return urllib.parse.quote("".join(c.pem for c in certs), safe="+=/")


# -- RFC 9440 Appendix A, as printed (folded for display: each line break + SP is removed) --

_RFC9440 = json.loads(
    (Path(__file__).parent / "vectors" / "rfc9440_appendix_a.json").read_text()
)
RFC9440_CLIENT_CERT: str = _RFC9440["client_cert"]
RFC9440_CLIENT_CERT_CHAIN: str = _RFC9440["client_cert_chain"]



# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def leaf(pki: Pki) -> Issued:
    # The encodings differ on '+' and '/': use a certificate whose base64 carries both (keys
    # are random, so about one certificate in twenty lacks one of them -- draw again).
    for _ in range(50):
        issued = pki.leaf("client-1", san_dns=["client.example"])
        if "+" in b64(issued.der) and "/" in b64(issued.der):
            return issued
    raise AssertionError("no certificate with '+' and '/' in its base64 after 50 draws")


def names(certs: list[x509.Certificate]) -> list[str]:
    return [c.subject.rfc4514_string() for c in certs]


def raises(fmt: str, value: str | bytes, **kwargs: object) -> ForwardedHeaderError:
    with pytest.raises(ForwardedHeaderError) as info:
        parse_forwarded(fmt, value, **kwargs)  # type: ignore[arg-type]
    assert info.value.format == fmt
    return info.value


# -- RFC 9440 -------------------------------------------------------------------------------


class TestRfc9440:
    def test_appendix_a_example(self) -> None:
        """The RFC's own Client-Cert decodes to its certificate: CN=BC, SAN bdc@example.com."""
        [cert] = parse_forwarded("rfc9440", RFC9440_CLIENT_CERT)
        assert cert.subject.rfc4514_string() == "CN=BC"
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.RFC822Name) == ["bdc@example.com"]

    def test_appendix_a_chain(self) -> None:
        """Client-Cert-Chain (leaf excluded) follows the leaf: intermediate, then root."""
        certs = parse_forwarded("rfc9440", RFC9440_CLIENT_CERT, chain=RFC9440_CLIENT_CERT_CHAIN)
        assert names(certs) == [
            "CN=BC",
            "CN=LA Intermediate CA,O=Let's Authenticate",
            "CN=Let's Authenticate Root Authority,O=Let's Authenticate,C=US",
        ]

    def test_generated_leaf_and_chain(self, pki: Pki, leaf: Issued) -> None:
        """A leaf and intermediate encoded as sf-binary round-trip to the same certificates."""
        certs = parse_forwarded("rfc9440", f":{b64(leaf.der)}:",
                                chain=f":{b64(pki.intermediate.der)}:")
        assert certs == [leaf.cert, pki.intermediate.cert]

    def test_chain_as_several_field_lines(self, pki: Pki, leaf: Issued) -> None:
        """RFC 9110 5.3: chain field lines are combined as one list."""
        lines = [f":{b64(pki.intermediate.der)}:", f":{b64(pki.root.der)}:"]
        certs = parse_forwarded("rfc9440", f":{b64(leaf.der)}:", chain=lines)
        assert certs == [leaf.cert, pki.intermediate.cert, pki.root.cert]

    def test_parameters_are_ignored(self, leaf: Issued) -> None:
        """RFC 9651 3.1.2 parameters are syntax-checked and ignored (RFC 9440 defines none)."""
        [cert] = parse_forwarded("rfc9440", f':{b64(leaf.der)}:;x=1;y="z";flag')
        assert cert == leaf.cert

    def test_missing_padding_accepted(self, leaf: Issued) -> None:
        """RFC 9651 4.2.7: parsers SHOULD NOT fail when '=' padding is missing."""
        unpadded = b64(leaf.der).rstrip("=")
        [cert] = parse_forwarded("rfc9440", f":{unpadded}:")
        assert cert == leaf.cert

    def test_surrounding_whitespace(self, leaf: Issued) -> None:
        """Leading/trailing OWS is not part of the field value."""
        assert parse_forwarded("rfc9440", f" \t:{b64(leaf.der)}: ") == [leaf.cert]

    @pytest.mark.parametrize("value", ["", "  ", "::"])
    def test_no_certificate(self, value: str) -> None:
        """An empty field or the empty byte sequence (an empty template) means no cert."""
        assert parse_forwarded("rfc9440", value) == []

    @pytest.mark.parametrize(
        "template",
        [
            ":{d}:, :{d}:",  # a list, not an item
            "(:{d}:)",  # an inner list
            '"{d}"',  # a string
            "{d}",  # bare base64 is a token / garbage
            ":{d}",  # unterminated
            ":{d}:x",  # trailing garbage
            ":{d}!:",  # outside the base64 alphabet
        ],
    )
    def test_wrong_structure(self, leaf: Issued, template: str) -> None:
        """Client-Cert must be exactly one Byte Sequence item."""
        raises("rfc9440", template.format(d=b64(leaf.der)))

    @pytest.mark.parametrize("chain", ["(:{d}:)", ':{d}:, "x"', ":{d}:, ::", ":{d}:,"])
    def test_chain_wrong_structure(self, pki: Pki, leaf: Issued, chain: str) -> None:
        """Client-Cert-Chain members are non-empty Byte Sequences, no inner lists."""
        raises("rfc9440", f":{b64(leaf.der)}:", chain=chain.format(d=b64(pki.intermediate.der)))

    def test_chain_without_leaf(self, pki: Pki) -> None:
        """RFC 9440 2.3: a chain without a Client-Cert is refused, not half-used."""
        raises("rfc9440", "", chain=f":{b64(pki.intermediate.der)}:")

    def test_error_position(self, leaf: Issued) -> None:
        """Structured-field errors carry the offset in the value."""
        error = raises("rfc9440", f"  :{b64(leaf.der)}: junk")
        assert error.position is not None and error.position > len(b64(leaf.der))

    def test_too_long_chain(self, pki: Pki, leaf: Issued) -> None:
        """At most MAX_CHAIN_CERTS certificates in all."""
        chain = ", ".join([f":{b64(pki.intermediate.der)}:"] * forwarded.MAX_CHAIN_CERTS)
        raises("rfc9440", f":{b64(leaf.der)}:", chain=chain)


# -- nginx ----------------------------------------------------------------------------------


class TestNginx:
    def test_escaped_cert(self, leaf: Issued) -> None:
        """$ssl_client_escaped_cert: uppercase %XX, '+' as %2B, LF as %0A."""
        value = nginx_escaped(leaf.pem)
        assert "%2B" in value and "%0A" in value and "+" not in value
        assert parse_forwarded("nginx", value) == [leaf.cert]

    def test_lowercase_hex_accepted(self, leaf: Issued) -> None:
        """RFC 3986 2.1: hex digits in escapes are case-insensitive."""
        value = nginx_escaped(leaf.pem).replace("%2B", "%2b").replace("%0A", "%0a")
        assert parse_forwarded("nginx", value) == [leaf.cert]

    @pytest.mark.parametrize("unfolded", [False, True])
    def test_legacy_ssl_client_cert(self, leaf: Issued, unfolded: bool) -> None:
        """$ssl_client_cert: tab-folded lines, or those lines unfolded into SP+TAB."""
        assert parse_forwarded("nginx", nginx_legacy(leaf.pem, unfolded=unfolded)) == [
            leaf.cert
        ]

    def test_empty_is_no_certificate(self) -> None:
        """An empty variable means no client certificate."""
        assert parse_forwarded("nginx", "") == []

    @pytest.mark.parametrize("bad", ["%G1", "%0", "%", "%%41"])
    def test_bad_percent_escape(self, leaf: Issued, bad: str) -> None:
        """A stray or short escape is an error with its position, not passed through."""
        value = nginx_escaped(leaf.pem)
        error = raises("nginx", value + bad)
        assert error.position == len(value)

    def test_two_certificates_refused(self, pki: Pki, leaf: Issued) -> None:
        """nginx forwards the leaf only; two PEM blocks are not what it sends."""
        raises("nginx", nginx_escaped(leaf.pem + pki.intermediate.pem))

    def test_text_outside_armor_refused(self, leaf: Issued) -> None:
        """Explanatory text around the PEM block is not accepted."""
        raises("nginx", nginx_escaped("subject=CN=x\n" + leaf.pem))


# -- HAProxy --------------------------------------------------------------------------------


class TestHaproxy:
    def test_leaf(self, leaf: Issued) -> None:
        """%[ssl_c_der,base64]: one line of base64 DER."""
        assert parse_forwarded("haproxy", b64(leaf.der)) == [leaf.cert]

    def test_chain_split_by_der_lengths(self, pki: Pki, leaf: Issued) -> None:
        """%[ssl_c_chain_der,base64]: concatenated DER split by each SEQUENCE length."""
        chain = b64(pki.intermediate.der + pki.root.der)
        certs = parse_forwarded("haproxy", b64(leaf.der), chain=chain)
        assert certs == [leaf.cert, pki.intermediate.cert, pki.root.cert]

    def test_chain_repeating_the_leaf(self, pki: Pki, leaf: Issued) -> None:
        """A chain that starts with the leaf does not list the leaf twice."""
        chain = b64(leaf.der + pki.intermediate.der)
        assert parse_forwarded("haproxy", b64(leaf.der), chain=chain) == [
            leaf.cert, pki.intermediate.cert,
        ]

    def test_rsa_certificate_long_form_lengths(self) -> None:
        """An RSA certificate (two-octet DER lengths) splits as well."""
        rsa = self_signed("rsa-client", key=__import__("certs").new_key("rsa"))
        other = self_signed("ec-client")
        certs = parse_forwarded("haproxy", b64(other.der), chain=b64(rsa.der + rsa.der))
        assert certs == [other.cert, rsa.cert, rsa.cert]

    @pytest.mark.parametrize("value", ["", "-"])
    def test_no_certificate(self, value: str) -> None:
        """A failed sample fetch yields an empty string ('-' in log contexts)."""
        assert parse_forwarded("haproxy", value) == []
        assert parse_forwarded("haproxy", value, chain=value) == []

    def test_truncated_base64(self, leaf: Issued) -> None:
        """Base64 cut mid-quantum is refused."""
        raises("haproxy", b64(leaf.der)[:-3])

    def test_garbage_after_der(self, leaf: Issued) -> None:
        """Bytes after the certificate's SEQUENCE are refused, not ignored."""
        raises("haproxy", b64(leaf.der + b"\x00\x01"))

    def test_truncated_chain(self, pki: Pki, leaf: Issued) -> None:
        """A chain whose last certificate is cut short is refused."""
        raises("haproxy", b64(leaf.der), chain=b64(pki.intermediate.der + pki.root.der[:-10]))

    def test_chain_without_leaf(self, pki: Pki) -> None:
        """A chain with no client certificate is refused."""
        raises("haproxy", "", chain=b64(pki.intermediate.der))

    def test_one_chain_value_only(self, pki: Pki, leaf: Issued) -> None:
        """The chain header is a single value."""
        raises("haproxy", b64(leaf.der), chain=[b64(pki.intermediate.der)] * 2)


# -- Apache ---------------------------------------------------------------------------------


class TestApache:
    def test_spaces_for_line_breaks(self, leaf: Issued) -> None:
        """mod_headers replaces CR/LF with spaces."""
        value = apache(leaf.pem)
        assert value.startswith("-----BEGIN CERTIFICATE----- MII")
        assert parse_forwarded("apache", value) == [leaf.cert]

    def test_plain_pem(self, leaf: Issued) -> None:
        """PEM with its line breaks intact (e.g. via mod_wsgi's environ) decodes too."""
        assert parse_forwarded("apache", leaf.pem) == [leaf.cert]

    @pytest.mark.parametrize("value", ["(null)", "", " (null) "])
    def test_null_is_no_certificate(self, value: str) -> None:
        """An unset SSL_CLIENT_CERT expands to the literal (null)."""
        assert parse_forwarded("apache", value) == []

    def test_chain_headers_with_trailing_nulls(self, pki: Pki, leaf: Issued) -> None:
        """CHAIN_0..n in order; the unused trailing ones are (null)."""
        chain = [apache(pki.intermediate.pem), apache(pki.root.pem), "(null)", "(null)"]
        certs = parse_forwarded("apache", apache(leaf.pem), chain=chain)
        assert certs == [leaf.cert, pki.intermediate.cert, pki.root.cert]

    def test_chain_gap_refused(self, pki: Pki, leaf: Issued) -> None:
        """A certificate after a (null) chain slot is a gap no mod_ssl produces."""
        raises("apache", apache(leaf.pem), chain=["(null)", apache(pki.intermediate.pem)])

    def test_chain_without_leaf(self, pki: Pki) -> None:
        """Chain certificates without the client's own are refused."""
        raises("apache", "(null)", chain=[apache(pki.intermediate.pem)])

    def test_percent_encoding_is_not_apache(self, leaf: Issued) -> None:
        """Apache does not escape; an escaped value is refused rather than guessed at."""
        raises("apache", nginx_escaped(leaf.pem))

    def test_missing_end_line(self, leaf: Issued) -> None:
        """PEM without its END line is refused at the BEGIN line's offset."""
        value = apache(leaf.pem).replace("-----END CERTIFICATE-----", "")
        assert raises("apache", value).position == 0


# -- Envoy XFCC -----------------------------------------------------------------------------


class TestEnvoy:
    def test_element_as_envoy_writes_it(self, pki: Pki) -> None:
        """By;Hash;Cert;Subject (RFC 2253, commas escaped, quoted);URI;DNS;DNS."""
        cert = issue(name("client-1", O="Acme, Inc.", OU="Payments, Team"),
                     issuer=pki.intermediate, san_dns=["client.example", "www.client.example"],
                     san_uri=["spiffe://mesh/client"])
        value = xfcc(cert)
        assert ";URI=spiffe://mesh/client;DNS=client.example;DNS=www.client.example" in value
        assert parse_forwarded("envoy", value) == [cert.cert]

    def test_chain_key_includes_leaf(self, pki: Pki, leaf: Issued) -> None:
        """Chain is the whole chain, leaf included: it is not added twice."""
        value = xfcc(leaf, chain=[pki.intermediate])
        assert parse_forwarded("envoy", value) == [leaf.cert, pki.intermediate.cert]

    def test_chain_not_starting_with_cert(self, pki: Pki, leaf: Issued) -> None:
        """Cert and Chain naming different leaves is refused."""
        value = xfcc(leaf, chain=[pki.intermediate])
        good_chain = envoy_url_encode(leaf.pem + pki.intermediate.pem)
        raises("envoy", value.replace(good_chain, envoy_url_encode(pki.intermediate.pem)))

    def test_hash_mismatch(self, leaf: Issued) -> None:
        """A Hash that is not the SHA-256 of Cert's DER is refused."""
        value = xfcc(leaf)
        digest = hashlib.sha256(leaf.der).hexdigest()
        raises("envoy", value.replace(digest, "0" * 64))
        raises("envoy", value.replace(digest, "00" + digest))

    def test_hash_required_with_cert(self, leaf: Issued) -> None:
        """Envoy writes Hash whenever a peer certificate exists: Cert without it is refused."""
        raises("envoy", f'Cert="{envoy_url_encode(leaf.pem)}"')

    def test_keys_case_insensitive(self, leaf: Issued) -> None:
        """Keys are case-insensitive."""
        value = f'hAsH={hashlib.sha256(leaf.der).hexdigest()};cErT="{envoy_url_encode(leaf.pem)}"'
        assert parse_forwarded("envoy", value) == [leaf.cert]

    def test_unquoted_cert(self, leaf: Issued) -> None:
        """A percent-encoded PEM needs no quotes; an unquoted Cert value is read too."""
        value = f"Hash={hashlib.sha256(leaf.der).hexdigest()};Cert={envoy_url_encode(leaf.pem)}"
        assert parse_forwarded("envoy", value) == [leaf.cert]

    def test_escaped_quote_in_subject(self, pki: Pki) -> None:
        r"""A subject with '"', '\', ',' and ';': OpenSSL escapes them (\" \\ \, \;),
        the quoted value does not end early and the DN still names the certificate."""
        cert = issue(name('say "hi"\\, there;x=y'), issuer=pki.intermediate)
        value = xfcc(cert)
        assert '\\"hi\\"' in value
        assert parse_forwarded("envoy", value) == [cert.cert]

    @pytest.mark.parametrize("key", ["Cert", "Chain", "cert", "Hash", "Subject"])
    def test_repeated_key_refused(self, leaf: Issued, key: str) -> None:
        """A second Cert/Chain/Hash/Subject in one element is an injection attempt."""
        value = xfcc(leaf, chain=[]).split(";URI=")[0]
        extra = {"Hash": "Hash=" + hashlib.sha256(leaf.der).hexdigest(),
                 "Subject": 'Subject="CN=client-1"'}.get(
                     key, f'{key}="{envoy_url_encode(leaf.pem)}"')
        raises("envoy", f"{value};{extra}")

    def test_several_elements_need_a_choice(self, pki: Pki, leaf: Issued) -> None:
        """Two hops: refused unless element= names the client's."""
        proxy = pki.leaf("proxy-1")
        value = f"{xfcc(leaf)},{xfcc(proxy)}"
        raises("envoy", value)
        assert parse_forwarded("envoy", value, element=0) == [leaf.cert]
        assert parse_forwarded("envoy", value, element=-1) == [proxy.cert]

    def test_list_lines_joined_with_comma_space(self, pki: Pki, leaf: Issued) -> None:
        """Elements separated by ', ' (combined field lines) split the same way."""
        value = f"{xfcc(leaf)}, {xfcc(pki.leaf('p'))}"
        assert parse_forwarded("envoy", value, element=0) == [leaf.cert]

    def test_element_out_of_range(self, leaf: Issued) -> None:
        """Asking for a hop the header does not have is refused."""
        raises("envoy", xfcc(leaf), element=1)

    def test_element_without_cert(self) -> None:
        """An element with only By/Hash/Subject (no Cert) carries no certificate."""
        assert parse_forwarded("envoy", 'By=spiffe://a;Hash=ab;Subject="CN=x,O=y"') == []
        assert parse_forwarded("envoy", "") == []

    def test_utf8_subject(self, pki: Pki) -> None:
        """Envoy escapes non-ASCII subject octets as \\XX (RFC 2253); raw UTF-8 octets from
        another writer name the same subject and are tolerated too."""
        cert = issue(name("J\u00fcrgen"), issuer=pki.intermediate)
        value = xfcc(cert)
        assert parse_forwarded("envoy", value) == [cert.cert]
        raw = value.replace(xfcc_builder.rfc2253_subject(cert.cert), "CN=J\u00fcrgen")
        assert parse_forwarded("envoy", raw.encode("utf-8")) == [cert.cert]

    def test_subject_as_openssl_renders_it(self, pki: Pki) -> None:
        """Subjects with many attribute types, a multi-valued RDN, escapes and non-ASCII,
        rendered by OpenSSL's XN_FLAG_RFC2253 (what Envoy calls), name their certificate."""
        from cryptography.x509.oid import NameOID

        def rdn(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.RelativeDistinguishedName:
            return x509.RelativeDistinguishedName([x509.NameAttribute(o, v) for o, v in pairs])

        subject = x509.Name([
            rdn((NameOID.COUNTRY_NAME, "DE")),
            rdn((NameOID.DOMAIN_COMPONENT, "corp")),
            rdn((NameOID.ORGANIZATION_NAME, 'M\u00fcller + S\u00f6hne; "GmbH"'),
                (NameOID.ORGANIZATIONAL_UNIT_NAME, "#1 <ops>")),
            rdn((NameOID.USER_ID, "u42")),
            rdn((NameOID.SERIAL_NUMBER, "0007")),
            rdn((NameOID.EMAIL_ADDRESS, "a@b.example")),
            rdn((NameOID.COMMON_NAME, " lead\\trail ")),
        ])
        cert = issue(subject, issuer=pki.intermediate)
        assert parse_forwarded("envoy", xfcc(cert)) == [cert.cert]
        other = xfcc(cert).replace("u42", "u43")
        raises("envoy", other)

    def test_commas_inside_quotes_do_not_split(self, pki: Pki) -> None:
        """A Subject of commas does not create elements (no element= needed)."""
        cert = issue(name("a", OU="b,c", O="d", C="EE"), issuer=pki.intermediate)
        assert parse_forwarded("envoy", xfcc(cert)) == [cert.cert]

    @pytest.mark.parametrize(
        "value",
        [
            'By=a;Subject="CN=x,O=y',  # unbalanced quote
            'By=a;Subject=CN"x"',  # quote inside an unquoted value
            'By=a;Subject="x"y',  # text after the closing quote
            "By=a;;Subject=x",  # empty pair
            "By=a;",  # trailing separator
            "By",  # no '='
            "=a",  # no key
            "By=a;Foo=b",  # a key Envoy never writes
            "Hash=ab;By=a",  # By after another key
            "URI=a;Hash=ab",  # Hash after a SAN value
            "DNS=a;URI=b",  # URI after DNS
        ],
    )
    def test_malformed(self, value: str) -> None:
        """Malformed XFCC syntax, or a layout Envoy never writes, is refused with a position."""
        assert raises("envoy", value).position is not None

    def test_unbalanced_quote_position(self) -> None:
        """The error points at the quote that never closes."""
        assert raises("envoy", 'By=a;Subject="CN=x').position == 13


# -- Traefik --------------------------------------------------------------------------------


class TestTraefik:
    def test_leaf_and_chain(self, pki: Pki, leaf: Issued) -> None:
        """Bare base64 DER joined with ',', leaf first."""
        value = traefik(leaf, pki.intermediate)
        assert "-----" not in value
        assert parse_forwarded("traefik", value) == [leaf.cert, pki.intermediate.cert]

    def test_legacy_query_escaped(self, pki: Pki, leaf: Issued) -> None:
        """Before v2.9.2 the value was url.QueryEscape'd ('+' as %2B, ',' as %2C)."""
        value = traefik(leaf, pki.intermediate, legacy=True)
        assert "%2C" in value and "%2B" in value
        assert parse_forwarded("traefik", value) == [leaf.cert, pki.intermediate.cert]

    def test_empty(self) -> None:
        """No header value, no certificate."""
        assert parse_forwarded("traefik", "") == []

    def test_empty_item_refused(self, leaf: Issued) -> None:
        """',,' or a trailing ',' is not a certificate list Traefik writes."""
        raises("traefik", b64(leaf.der) + ",")

    def test_bad_item_position(self, leaf: Issued) -> None:
        """The position names the start of the offending item."""
        value = b64(leaf.der) + ",AAAA"
        assert raises("traefik", value).position == len(b64(leaf.der)) + 1

    def test_too_many(self, leaf: Issued) -> None:
        """More than MAX_CHAIN_CERTS is refused before decoding."""
        raises("traefik", ",".join([b64(leaf.der)] * (forwarded.MAX_CHAIN_CERTS + 1)))


# -- AWS ALB --------------------------------------------------------------------------------


class TestAwsAlb:
    def test_leaf_keeps_plus_literal(self, leaf: Issued) -> None:
        """'+ = /' stay literal and are decoded as base64, never '+' -> space."""
        value = aws_alb(leaf)
        assert "+" in value and "%0A" in value and "%20" in value
        assert parse_forwarded("aws-alb", value) == [leaf.cert]
        # unquote_plus would have silently changed the certificate: prove the test can tell.
        assert urllib.parse.unquote_plus(value) != leaf.pem

    def test_passthrough_chain(self, pki: Pki, leaf: Issued) -> None:
        """Passthrough mode: the whole chain, PEM blocks one after another."""
        certs = parse_forwarded("aws-alb", aws_alb(leaf, pki.intermediate))
        assert certs == [leaf.cert, pki.intermediate.cert]

    def test_empty(self) -> None:
        """An empty value is no certificate."""
        assert parse_forwarded("aws-alb", "") == []

    def test_non_ascii_escape(self, leaf: Issued) -> None:
        """An escape decoding to a non-ASCII byte is refused."""
        raises("aws-alb", aws_alb(leaf).replace("%0A", "%C3%A9", 1))


# -- Caddy and Azure ------------------------------------------------------------------------


class TestCaddyAndAzure:
    @pytest.mark.parametrize("fmt", ["caddy", "azure"])
    def test_base64_der(self, leaf: Issued, fmt: str) -> None:
        """{http.request.tls.client.certificate_der_base64} / X-ARR-ClientCert."""
        assert parse_forwarded(fmt, b64(leaf.der)) == [leaf.cert]

    @pytest.mark.parametrize("fmt", ["caddy", "azure"])
    def test_empty(self, fmt: str) -> None:
        """An empty placeholder / header is no certificate."""
        assert parse_forwarded(fmt, "") == []

    def test_azure_tolerates_pem(self, leaf: Issued) -> None:
        """Application Gateway rewrites may send PEM, plain or percent-encoded."""
        assert parse_forwarded("azure", apache(leaf.pem)) == [leaf.cert]
        assert parse_forwarded("azure", nginx_escaped(leaf.pem)) == [leaf.cert]

    def test_caddy_refuses_pem(self, leaf: Issued) -> None:
        """Caddy's placeholder is DER; PEM there is a misconfiguration."""
        raises("caddy", apache(leaf.pem))


# -- what every format refuses --------------------------------------------------------------


def valid_header(fmt: str, leaf: Issued) -> str:
    return {
        "rfc9440": f":{b64(leaf.der)}:",
        "nginx": nginx_escaped(leaf.pem),
        "haproxy": b64(leaf.der),
        "apache": apache(leaf.pem),
        "envoy": xfcc(leaf),
        "traefik": traefik(leaf),
        "aws-alb": aws_alb(leaf),
        "caddy": b64(leaf.der),
        "azure": b64(leaf.der),
    }[fmt]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
class TestEveryFormat:
    def test_valid_header_str_and_bytes(self, leaf: Issued, fmt: str) -> None:
        """The same header as str or as ISO-8859-1 bytes gives the same certificate."""
        value = valid_header(fmt, leaf)
        assert parse_forwarded(fmt, value) == [leaf.cert]
        assert parse_forwarded(fmt, value.encode("latin-1")) == [leaf.cert]

    def test_non_utf8_bytes(self, leaf: Issued, fmt: str) -> None:
        """Bytes that are not UTF-8 in the certificate part are a ForwardedHeaderError."""
        value = valid_header(fmt, leaf).encode("latin-1")
        cut = value.index(b"MII") + 10  # inside the certificate, whatever the wrapping
        raises(fmt, value[:cut] + b"\xff\xfe" + value[cut:])

    def test_oversized(self, fmt: str) -> None:
        """Values over MAX_HEADER_SIZE are refused before any decoding."""
        error = raises(fmt, "A" * (MAX_HEADER_SIZE + 1))
        assert error.position is None
        raises(fmt, b"A" * (MAX_HEADER_SIZE + 1))

    def test_truncated(self, leaf: Issued, fmt: str) -> None:
        """A header cut in the middle of the certificate is refused."""
        value = valid_header(fmt, leaf)
        raises(fmt, value[: len(value) // 2])

    def test_not_a_certificate(self, fmt: str) -> None:
        """Well-encoded bytes that are not a certificate are refused."""
        junk = b"\x30\x03\x02\x01\x01"
        value = {
            "rfc9440": f":{b64(junk)}:",
            "nginx": nginx_escaped(_pem(junk)),
            "apache": apache(_pem(junk)),
            "envoy": f'Cert="{envoy_url_encode(_pem(junk))}"',
            "aws-alb": urllib.parse.quote(_pem(junk), safe="+=/"),
        }.get(fmt, b64(junk))
        raises(fmt, value)

    def test_wrong_type(self, fmt: str) -> None:
        """A value that is neither str nor bytes is a ForwardedHeaderError too."""
        raises(fmt, 42)  # type: ignore[arg-type]

    def test_message_never_echoes_input(self, fmt: str) -> None:
        """Error messages describe, never quote, the refused value."""
        marker = "SECRETMARKERxyz"
        for value in (marker, f":{marker}:", f'Cert="{marker}"', f"-----BEGIN {marker}"):
            messages: list[str] = []
            try:
                parse_forwarded(fmt, value)
            except ForwardedHeaderError as exc:
                messages.append(str(exc))
            assert all(marker not in message for message in messages)


def _pem(der: bytes) -> str:
    body = b64(der)
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


# -- shared helpers and the entry point -----------------------------------------------------


class TestSplitDer:
    def test_lengths(self) -> None:
        """Short and long definite lengths split exactly."""
        short = b"\x30\x03\x02\x01\x01"
        long = b"\x30\x81\x80" + b"\x04\x7e" + b"a" * 126
        assert split_der(short + long + short, "haproxy") == [short, long, short]

    @pytest.mark.parametrize(
        ("data", "position"),
        [
            (b"\x31\x00", 0),  # not a SEQUENCE
            (b"\x30", 0),  # no length
            (b"\x30\x80\x00\x00", 1),  # indefinite length (BER)
            (b"\x30\x81\x05abcde", 1),  # long form for a short length
            (b"\x30\x82\x00\x85" + b"a" * 0x85, 1),  # leading zero length octet
            (b"\x30\x05abc", 0),  # truncated content
            (b"\x30\x85\x01\x00\x00\x00\x00", 1),  # absurd length-of-length
            (b"", 0),  # nothing at all
        ],
    )
    def test_malformed(self, data: bytes, position: int) -> None:
        """Non-DER or truncated framing is refused at the offending byte."""
        with pytest.raises(ForwardedHeaderError) as info:
            split_der(data, "haproxy")
        assert info.value.position == position


class TestPercentDecode:
    def test_plus_stays_plus(self) -> None:
        """'+' is data, not a space (no form decoding anywhere)."""
        assert percent_decode("a+b%2Bc%20d", "aws-alb") == "a+b+c d"

    def test_stray_percent(self) -> None:
        """A '%' not followed by two hex digits is an error at its offset."""
        with pytest.raises(ForwardedHeaderError) as info:
            percent_decode("abc%zz", "nginx")
        assert info.value.position == 3


class TestEntryPoint:
    def test_formats(self) -> None:
        """The nine documented formats, no more."""
        assert {"rfc9440", "nginx", "haproxy", "apache", "envoy", "traefik",
                           "aws-alb", "caddy", "azure"} == FORMATS

    def test_public_names(self) -> None:
        """__all__ is sorted (isort style, as ruff RUF022 keeps it: CONSTANTS, Classes,
        functions) and is exactly the package's public names."""

        def isort_key(name: str) -> tuple[int, str]:
            kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
            return kind, name

        assert forwarded.__all__ == sorted(forwarded.__all__, key=isort_key)
        public = {n for n in vars(forwarded) if not n.startswith("_")}
        public -= {"annotations"}
        assert set(forwarded.__all__) == public

    def test_unknown_format(self) -> None:
        """An unknown format is a configuration error, not a header error."""
        with pytest.raises(ConfigurationError):
            parse_forwarded("iis", "x")

    @pytest.mark.parametrize("fmt", ["nginx", "envoy", "traefik", "aws-alb", "caddy", "azure"])
    def test_chain_only_where_it_exists(self, fmt: str) -> None:
        """chain= for a format without a chain header is a configuration error."""
        with pytest.raises(ConfigurationError):
            parse_forwarded(fmt, "", chain="x")

    def test_element_only_for_envoy(self) -> None:
        """element= for anything but envoy, or not an int, is a configuration error."""
        with pytest.raises(ConfigurationError):
            parse_forwarded("nginx", "", element=0)
        with pytest.raises(ConfigurationError):
            parse_forwarded("envoy", "", element=True)

    def test_chain_wrong_type(self) -> None:
        """A chain that is not str/bytes/sequence is a header error."""
        raises("rfc9440", "", chain=42)
