"""Properties that must hold for all inputs (hypothesis; bounded, the file runs in seconds).

* RFC 6749 2.3.1: Basic encode (form-urlencode each part, ':' join, base64) then decode
  returns the original id and secret, for arbitrary text.
* x5t#S256 thumbprints are stable (same certificate, any accepted form -> same value) and
  distinct certificates have distinct thumbprints.
* A parsed DN survives ``str()`` -> ``parse_dn`` with an equal key, and so does the RFC 4514
  string cryptography writes for a generated certificate subject.
* Each proxy format: a header built the way that proxy builds it parses back to the same
  certificate(s).
"""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
from urllib.parse import quote_plus

from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clientauth
from certs import Pki, name
from clientauth import certificate_thumbprint, parse_forwarded
from clientauth.names import dn_of, parse_dn
from clientauth.request import parse_basic_authorization

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_PKI = Pki.create("Property Corp")
_LEAVES = [_PKI.leaf(f"prop-{i}", san_dns=[f"c{i}.example"]) for i in range(4)]
_INTER = _PKI.intermediate

# Text without surrogates (not encodable as UTF-8) -- what a real client can send.
utf8_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)


class TestBasicRoundTrip:
    @PROPS
    @given(client_id=utf8_text.filter(bool), secret=utf8_text)
    def test_encode_decode(self, client_id: str, secret: str) -> None:
        """decode(encode(id, secret)) == (id, secret) for any text (RFC 6749 2.3.1)."""
        pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
        header = "Basic " + base64.b64encode(pair.encode()).decode()
        assert parse_basic_authorization(header) == (client_id, secret)

    @PROPS
    @given(client_id=utf8_text.filter(lambda t: t and ":" not in t and "%" not in t
                                      and "+" not in t),
           secret=utf8_text.filter(lambda t: "%" not in t and "+" not in t))
    def test_unencoded_safe_values_also_decode(self, client_id: str, secret: str) -> None:
        """Ids and secrets without ':', '%', '+' decode the same whether or not the client
        form-encoded them (most clients don't) -- generated secrets are in this class."""
        header = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        assert parse_basic_authorization(header) == (client_id, secret)


class TestThumbprints:
    @PROPS
    @given(index=st.integers(0, len(_LEAVES) - 1))
    def test_stable_across_forms(self, index: int) -> None:
        """Certificate object, its DER and a re-parsed copy give one thumbprint, equal to
        base64url(SHA-256(DER))."""
        leaf = _LEAVES[index]
        expected = base64.urlsafe_b64encode(hashlib.sha256(leaf.der).digest()).rstrip(
            b"=").decode()
        again = x509.load_pem_x509_certificate(leaf.pem.encode())
        assert {certificate_thumbprint(leaf.cert), certificate_thumbprint(leaf.der),
                certificate_thumbprint(again)} == {expected}

    def test_distinct_certificates_distinct_thumbprints(self) -> None:
        """No two generated certificates share a thumbprint."""
        certs = [*_LEAVES, _INTER, _PKI.root]
        assert len({certificate_thumbprint(c.cert) for c in certs}) == len(certs)

    @PROPS
    @given(data=st.binary(min_size=1, max_size=300))
    def test_bytes_thumbprint_is_sha256(self, data: bytes) -> None:
        """For DER bytes the thumbprint is the hash as given (43 base64url characters)."""
        thumb = certificate_thumbprint(data)
        assert base64.urlsafe_b64decode(thumb + "=") == hashlib.sha256(data).digest()


attribute_values = st.text(
    st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")),
    min_size=1, max_size=20,
).filter(lambda t: t.strip() == t and t.strip())
rdn_types = st.sampled_from(["CN", "O", "OU", "L", "ST", "DC", "UID", "2.5.4.97",
                             "serialNumber", "emailAddress"])


class TestDistinguishedNameRoundTrip:
    @PROPS
    @given(rdns=st.lists(st.lists(st.tuples(rdn_types, attribute_values), min_size=1,
                                  max_size=2), min_size=1, max_size=5))
    def test_str_parse_round_trip(self, rdns: list[list[tuple[str, str]]]) -> None:
        """parse_dn(str(parse_dn(s))) has the key of parse_dn(s), for RFC 4514 strings built
        with escaping from arbitrary values."""
        def esc(value: str) -> str:
            out = "".join("\\" + c if c in '"+,;<>\\=' else c for c in value)
            if out.startswith(("#", " ")):
                out = "\\" + out
            return out

        text = ",".join("+".join(f"{t}={esc(v)}" for t, v in rdn) for rdn in rdns)
        dn = parse_dn(text)
        assert parse_dn(str(dn)).key == dn.key

    @PROPS
    @given(cn=attribute_values, org=attribute_values)
    def test_certificate_subject_round_trip(self, cn: str, org: str) -> None:
        """The RFC 4514 string cryptography writes for a subject parses to the subject's
        own key (what a user copies from `openssl x509 -subject` style output)."""
        subject = name(cn, O=org)
        dn = dn_of(subject)
        assert dn is not None
        assert parse_dn(subject.rfc4514_string()).key == dn.key
        assert parse_dn(str(dn)).key == dn.key

    def test_slash_form_equals_rfc4514(self) -> None:
        """/C=US/O=Acme/CN=x (OpenSSL, ASN.1 order) is CN=x,O=Acme,C=US (RFC 4514)."""
        assert parse_dn("/C=US/O=Acme/CN=x").key == parse_dn("CN=x,O=Acme,C=US").key


def _pem(c: x509.Certificate) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return c.public_bytes(Encoding.PEM).decode()


def _der(c: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return c.public_bytes(Encoding.DER)


def _b64(c: x509.Certificate) -> str:
    return base64.b64encode(_der(c)).decode()


def encode(fmt: str, leaf: x509.Certificate, chain: list[x509.Certificate]
           ) -> tuple[str, object]:
    """(value, chain=) as each proxy emits them (docs/design.md, "Forwarded-certificate
    formats")."""
    pem = _pem(leaf)
    if fmt == "rfc9440":  # sf-binary; chain an sf-list without the leaf
        return f":{_b64(leaf)}:", ", ".join(f":{_b64(c)}:" for c in chain) or None
    if fmt == "nginx":  # $ssl_client_escaped_cert: percent-encoded PEM
        return urllib.parse.quote(pem, safe=""), None
    if fmt == "haproxy":  # ssl_c_der,base64 ; chain = concatenated DER, base64
        joined = b"".join(_der(c) for c in chain)
        return _b64(leaf), base64.b64encode(joined).decode() if chain else None
    if fmt == "apache":  # PEM with newlines turned into spaces; CHAIN_n values
        return pem.replace("\n", " "), [_pem(c).replace("\n", " ") for c in chain] or None
    if fmt == "envoy":  # XFCC Cert="<url-encoded PEM>"
        return (f'Hash={hashlib.sha256(_der(leaf)).hexdigest()};'
                f'Cert="{urllib.parse.quote(pem, safe="")}"'), None
    if fmt == "traefik":  # comma-joined bare base64 DER, leaf first
        return ",".join(_b64(c) for c in [leaf, *chain]), None
    if fmt == "aws-alb":  # percent-encoded PEM chain, '+ = /' literal
        return urllib.parse.quote("".join(_pem(c) for c in [leaf, *chain]), safe="+=/"), None
    return _b64(leaf), None  # caddy, azure


FORMAT_CARRIES_CHAIN = {"rfc9440", "haproxy", "apache", "traefik", "aws-alb"}


class TestForwardedRoundTrip:
    @PROPS
    @given(fmt=st.sampled_from(sorted(clientauth.forwarded.FORMATS)),
           index=st.integers(0, len(_LEAVES) - 1), with_chain=st.booleans())
    def test_encode_parse(self, fmt: str, index: int, with_chain: bool) -> None:
        """parse_forwarded(fmt, proxy_encode(cert)) == [cert] (+ chain where carried)."""
        leaf = _LEAVES[index].cert
        chain = [_INTER.cert] if with_chain and fmt in FORMAT_CARRIES_CHAIN else []
        value, chain_value = encode(fmt, leaf, chain)
        assert parse_forwarded(fmt, value, chain=chain_value) == [leaf, *chain]

    @PROPS
    @given(fmt=st.sampled_from(sorted(clientauth.forwarded.FORMATS)),
           index=st.integers(0, len(_LEAVES) - 1))
    def test_bytes_and_str_agree(self, fmt: str, index: int) -> None:
        """A header given as Latin-1 bytes parses like the same header as str."""
        value, chain_value = encode(fmt, _LEAVES[index].cert, [])
        assert parse_forwarded(fmt, value.encode("latin-1")) == parse_forwarded(fmt, value)
        assert chain_value is None

    def test_subject_of_parsed_leaf(self) -> None:
        """Sanity: what comes back is the certificate with the expected subject."""
        (leaf,) = parse_forwarded("caddy", _b64(_LEAVES[0].cert))
        assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "prop-0"
