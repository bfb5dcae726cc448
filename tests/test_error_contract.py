"""Error contract: every public parser and verifier, fed garbage, refuses -- and only refuses.

What must hold, for every input below (random bytes and text, truncated DER of real
certificates, 10 MB values, wrong Python types, non-UTF-8, NUL bytes):

* the only exceptions that come out are :class:`clientauth.ClientAuthError` subclasses;
* functions that return a verdict (``authenticate``, ``verify``, ``extract``) return a failed
  one: garbage is NEVER accepted;
* parsers never turn garbage into a certificate.

Cases that broke the contract when first found (by these tests and the fuzzers) were pinned
as strict xfails while they awaited a fix; all are fixed and remain here as regression tests
(``TestKnownEscapes`` and the cases around it). The hypothesis tests tolerate exactly the
exception types in ``KNOWN_ESCAPES`` -- none today.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clientauth
from certs import NOW, Pki, clock, issue, name, self_signed
from clientauth import (
    Authenticator,
    AuthResult,
    CertificateCheck,
    Client,
    ClientAuthError,
    ClientRequest,
    ForwardedCertificates,
    ForwardedOutcome,
    PinnedVerifier,
    PKIVerifier,
    certificate_thumbprint,
    check_binding,
    check_introspection_binding,
    decode_bound_token,
    generate_secret,
    hash_secret,
    load_clients,
    parse_forwarded,
)
from clientauth._x509 import load_certificate
from clientauth.forwarded import CHAIN_FORMATS, FORMATS
from clientauth.names import NAME_FIELDS, RegisteredName, certificate_name_keys, parse_dn
from clientauth.request import extract_credentials, parse_basic_authorization

GARBAGE = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SMALL = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Exception types tolerated while a reported escape awaits its fix (none today: the escapes
# the fuzzers found are fixed and pinned as regression tests in TestKnownEscapes).
KNOWN_ESCAPES: tuple[type[BaseException], ...] = ()

_PKI = Pki.create("Contract Corp")
_LEAF = _PKI.leaf("contract-client", san_dns=["client.example"])
_PINNED = self_signed("contract-pinned")
_FOREIGN = Pki.create("Contract Corp")  # same names, other keys: a rogue look-alike CA
_FOREIGN_LEAF = _FOREIGN.leaf("contract-client", san_dns=["client.example"])
_SECRET = generate_secret()
_CERTS = [_LEAF, _PKI.intermediate, _PKI.root, _PINNED]
_REGISTRY = load_clients([
    {"client_id": "basic", "client_secret_hash": hash_secret(_SECRET)},
    {"client_id": "post", "token_endpoint_auth_method": "client_secret_post",
     "client_secret_hash": hash_secret(_SECRET)},
    {"client_id": "hdr", "token_endpoint_auth_method": "client_secret_header",
     "client_secret_hash": hash_secret(_SECRET)},
    {"client_id": "mtls", "token_endpoint_auth_method": "tls_client_auth",
     "tls_client_auth_subject_dn": "CN=someone-else"},
    {"client_id": "pinned", "token_endpoint_auth_method": "self_signed_tls_client_auth",
     "tls_client_certificate_thumbprints": ["A" * 43]},
    # Issue 14: client assertions (their garbage: tests/test_assertion_properties.py too).
    {"client_id": "jwt", "token_endpoint_auth_method": "client_secret_jwt",
     "client_secret": "contract-mac-key-" + "m" * 48},
])
_PKI_CLIENT = Client.from_metadata({
    "client_id": "mtls", "token_endpoint_auth_method": "tls_client_auth",
    "tls_client_auth_subject_dn": "CN=contract-client",
})
_PINNED_CLIENT = Client.from_metadata({
    "client_id": "pinned", "token_endpoint_auth_method": "self_signed_tls_client_auth",
    "tls_client_certificates": [_PINNED.pem],
})
_HMAC_KEY = "contract-hmac-key-" + "k" * 48
_THUMB = certificate_thumbprint(_LEAF.cert)

HUGE = "A" * (10 * 1024 * 1024)
HUGE_BYTES = HUGE.encode()
WRONG_TYPES: list[Any] = [None, 0, 1.5, True, [], {}, ["a"], {"a": "b"}, object(),
                          b"bytes", "text", bytearray(b"x")]


def _tname(value: object) -> str:
    return type(value).__name__ + ("-" + repr(value)[:8] if isinstance(value, str | bytes) else "")


def _auth(**kwargs: Any) -> Authenticator:
    return Authenticator(_REGISTRY, trust_anchors=[_PKI.root.cert],
                         intermediates=[_PKI.intermediate.cert], now=clock(),
                         audience="https://as.example", **kwargs)


_AUTH = _auth()
_AUTH_FWD = {
    fmt: _auth(forwarded=ForwardedCertificates(fmt, trusted_proxies=["10.0.0.0/8"]))
    for fmt in sorted(FORMATS)
}
_PKI_VERIFIER = PKIVerifier([_PKI.root.cert], intermediates=[_PKI.intermediate.cert],
                            now=clock())
_PINNED_VERIFIER = PinnedVerifier(now=clock())


TOLERATED = object()
"""What :func:`outcome` returns for an exception listed in KNOWN_ESCAPES."""


def outcome(fn: Callable[[], Any], *, tolerate: tuple[type[BaseException], ...] = ()) -> Any:
    """Call ``fn``; return its value, or the ClientAuthError it raised (or TOLERATED for a
    known escape). Anything else fails the test with the exception named."""
    try:
        return fn()
    except ClientAuthError as exc:
        return exc
    except tolerate:
        return TOLERATED
    except Exception as exc:  # the contract is broken: say how
        pytest.fail(f"{type(exc).__module__}.{type(exc).__qualname__} escaped: {exc!r}"[:500])


def refused_result(value: Any) -> None:
    """A verdict-returning call on garbage: a failed verdict (or a ClientAuthError)."""
    if value is TOLERATED or isinstance(value, ClientAuthError):
        return
    if isinstance(value, AuthResult | CertificateCheck):
        assert not value.ok, f"garbage accepted: {value!r}"
        assert value.failure is not None
        return
    if isinstance(value, ForwardedOutcome):
        assert not value.chain, "garbage yielded a forwarded certificate"
        return
    pytest.fail(f"unexpected return value {value!r}"[:300])


def no_certificate(value: Any) -> None:
    """A parser fed garbage: refused, or 'no certificate' -- never a certificate."""
    assert value is TOLERATED or isinstance(value, ClientAuthError) or value == [], (
        f"garbage parsed as {value!r}"[:300]
    )


# -- inputs ---------------------------------------------------------------------------------

def truncated_der() -> st.SearchStrategy[bytes]:
    """A real certificate's DER, cut short (never the whole thing)."""
    return st.sampled_from([c.der for c in _CERTS]).flatmap(
        lambda der: st.integers(0, len(der) - 1).map(lambda n: der[:n])
    )


def _pem(der: bytes) -> str:
    return ("-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der).decode()
            + "-----END CERTIFICATE-----\n")


def encodings(der: bytes) -> list[str]:
    """``der`` in every way a proxy encodes a certificate."""
    pem = _pem(der)
    b64 = base64.b64encode(der).decode()
    return [b64, f":{b64}:", pem, pem.replace("\n", " "), urllib.parse.quote(pem, safe=""),
            urllib.parse.quote(pem, safe="+=/"), f'Cert="{urllib.parse.quote(pem, safe="")}"']


garbage_bytes = st.one_of(st.binary(max_size=2048), truncated_der())
garbage_text = st.one_of(
    st.text(max_size=512),
    st.binary(max_size=512).map(lambda b: b.decode("latin-1")),
    truncated_der().flatmap(lambda der: st.sampled_from(encodings(der))),
)
HAND_PICKED: list[Any] = [
    "", " ", "\x00", "\x00" * 100, "(null)", "::", ":", ",", ";", '"', "%", "%zz", "%00",
    "-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----",
    "\udcff", "\ud800abc", "\ufeff", "\u202e", b"\xff\xfe\xfd", b"\xc3\x28", b"\x00\x00",
    HUGE, HUGE_BYTES,
]


# -- parsers --------------------------------------------------------------------------------


class TestParseForwarded:
    @pytest.mark.parametrize("fmt", sorted(FORMATS))
    @GARBAGE
    @given(value=st.one_of(garbage_text, garbage_bytes))
    def test_garbage_value(self, fmt: str, value: str | bytes) -> None:
        """Every format refuses garbage with ForwardedHeaderError, never a certificate."""
        no_certificate(outcome(lambda: parse_forwarded(fmt, value), tolerate=KNOWN_ESCAPES))

    @pytest.mark.parametrize("fmt", sorted(CHAIN_FORMATS))
    @SMALL
    @given(value=st.one_of(garbage_text, garbage_bytes),
           chain=st.one_of(garbage_text, garbage_bytes, st.lists(garbage_text, max_size=4)))
    def test_garbage_chain(self, fmt: str, value: str | bytes, chain: Any) -> None:
        """A garbage chain= (str, bytes or a list of lines) is refused like a garbage value."""
        no_certificate(
            outcome(lambda: parse_forwarded(fmt, value, chain=chain), tolerate=KNOWN_ESCAPES)
        )

    @pytest.mark.parametrize("fmt", sorted(FORMATS))
    @pytest.mark.parametrize("value", HAND_PICKED, ids=_tname)
    def test_hand_picked(self, fmt: str, value: Any) -> None:
        """NUL, lone surrogates, BOM, bidi overrides, broken armor, 10 MB: refused."""
        no_certificate(outcome(lambda: parse_forwarded(fmt, value)))

    @pytest.mark.parametrize("fmt", sorted(FORMATS))
    @pytest.mark.parametrize("value", WRONG_TYPES, ids=_tname)
    def test_wrong_types(self, fmt: str, value: Any) -> None:
        """Wrong Python types for the value are refused with a ClientAuthError."""
        no_certificate(outcome(lambda: parse_forwarded(fmt, value)))

    @pytest.mark.parametrize("fmt", sorted(CHAIN_FORMATS))
    @pytest.mark.parametrize("chain", [
        *(v for v in WRONG_TYPES if v is not None and v != []), [None], [1], HUGE, [HUGE],
        ["x"] * 1000,
    ], ids=_tname)
    def test_wrong_chain_types(self, fmt: str, chain: Any) -> None:
        """Wrong types, huge and over-long chain values are refused (``None`` and ``[]``
        mean "no chain header" and are valid)."""
        leaf = f":{base64.b64encode(_LEAF.der).decode()}:" if fmt == "rfc9440" else "x"
        no_certificate(outcome(lambda: parse_forwarded(fmt, leaf, chain=chain)))

    @pytest.mark.parametrize("fmt", sorted(FORMATS))
    def test_every_truncation_of_a_real_certificate(self, fmt: str) -> None:
        """Every prefix of a real leaf's DER (step 7), in every encoding, is refused."""
        der = _LEAF.der
        for n in range(0, len(der), 7):
            for text in encodings(der[:n]):
                no_certificate(outcome(lambda text=text: parse_forwarded(fmt, text)))


class TestForwardedExtract:
    @pytest.mark.parametrize("fmt", sorted(FORMATS))
    @SMALL
    @given(values=st.lists(st.one_of(garbage_text, garbage_bytes), min_size=1, max_size=3),
           peer=st.sampled_from(["10.1.1.1", "192.0.2.1", "not-an-ip", "", "[::1]", "\x00"]))
    def test_garbage_headers(self, fmt: str, values: list[Any], peer: str) -> None:
        """extract() never raises for request content and never yields a chain from garbage."""
        fwd = ForwardedCertificates(fmt, trusted_proxies=["10.0.0.0/8"],
                                    shared_secret=("x-proxy-secret", "s" * 32))
        headers = [(fwd.header, v) for v in values]
        headers.append(("x-proxy-secret", "s" * 32))
        headers.append(("client-cert-chain", values[0]))
        refused_result(outcome(lambda: fwd.extract(ClientRequest(headers, peer=peer or None)),
                               tolerate=KNOWN_ESCAPES))


class TestDistinguishedNames:
    @GARBAGE
    @given(text=st.one_of(st.text(max_size=300), st.binary(max_size=300).map(
        lambda b: b.decode("latin-1")), st.from_regex(r"([A-Za-z0-9.]{1,8}=[^,+]{0,10}[,+]){1,6}")))
    def test_parse_dn_garbage(self, text: str) -> None:
        """parse_dn refuses with DistinguishedNameError or returns a DistinguishedName."""
        result = outcome(lambda: parse_dn(text))
        assert isinstance(result, ClientAuthError | clientauth.names.DistinguishedName)

    @pytest.mark.parametrize("field", NAME_FIELDS)
    @GARBAGE
    @given(text=st.text(max_size=200))
    def test_registered_name_garbage(self, field: str, text: str) -> None:
        """RegisteredName.parse refuses with a ParseError, never another exception."""
        outcome(lambda: RegisteredName.parse(field, text))

    @pytest.mark.parametrize("field", NAME_FIELDS)
    @pytest.mark.parametrize("value", ["a\x00b", "CN=a\x00", "x\x1b[31m", "a\u200bb", "\x7f"],
                             ids=repr)
    def test_control_characters_refused(self, field: str, value: str) -> None:
        """DESIGN: registered names containing NUL or control characters are refused."""
        assert isinstance(outcome(lambda: RegisteredName.parse(field, value)), ClientAuthError)

    @pytest.mark.parametrize("value", [*WRONG_TYPES, HUGE], ids=_tname)
    def test_parse_dn_wrong_types(self, value: Any) -> None:
        """Non-str and 10 MB DN inputs raise DistinguishedNameError (or parse, for str)."""
        outcome(lambda: parse_dn(value))

    @pytest.mark.parametrize("field", NAME_FIELDS)
    @pytest.mark.parametrize("value", [*WRONG_TYPES, HUGE], ids=_tname)
    def test_registered_name_wrong_types(self, field: str, value: Any) -> None:
        """Non-str and 10 MB registered names raise a ParseError."""
        outcome(lambda: RegisteredName.parse(field, value))

    @pytest.mark.parametrize("field", [
        None, 0, "", "tls_client_auth_san_nope", "\x00",
        [],
        {},
    ], ids=repr)
    def test_registered_name_unknown_field(self, field: Any) -> None:
        """An unknown field name raises a ParseError."""
        assert isinstance(outcome(lambda: RegisteredName.parse(field, "x")), ClientAuthError)




class TestBasicAndCredentials:
    @GARBAGE
    @given(value=st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300).map(lambda b: "Basic " + base64.b64encode(b).decode()),
        st.text(max_size=100).map(lambda t: "Basic " + t),
    ))
    def test_basic_garbage(self, value: str) -> None:
        """parse_basic_authorization returns (str, str) or raises CredentialsError."""
        result = outcome(lambda: parse_basic_authorization(value))
        if not isinstance(result, ClientAuthError):
            assert isinstance(result, tuple) and all(isinstance(p, str) for p in result)

    @pytest.mark.parametrize("value", [
        HUGE, "Basic " + HUGE, "Basic \x00", "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Basic " + base64.b64encode(
            b"%C3%28:x").decode(), "Basic =", "Basic a", "Basic\t\t", "\udcff",
    ], ids=lambda v: repr(v)[:20])
    def test_basic_hand_picked(self, value: str) -> None:
        """10 MB, NUL, non-UTF-8 (raw and percent-encoded), bad padding: CredentialsError."""
        assert isinstance(outcome(lambda: parse_basic_authorization(value)), ClientAuthError)

    @pytest.mark.parametrize("value", [
        v for v in WRONG_TYPES if not isinstance(v, str)
    ], ids=_tname)
    def test_basic_wrong_types(self, value: Any) -> None:
        """A non-str Authorization value raises CredentialsError."""
        assert isinstance(outcome(lambda: parse_basic_authorization(value)), ClientAuthError)

    @GARBAGE
    @given(headers=st.lists(st.tuples(
        st.sampled_from(["authorization", "client_id", "client_secret", "x-other"]),
        st.one_of(st.text(max_size=100), st.binary(max_size=100))), max_size=4),
        form=st.none() | st.dictionaries(
            st.sampled_from(["client_id", "client_secret", "other"]),
            st.one_of(st.text(max_size=50), st.lists(st.text(max_size=10), max_size=3),
                      st.binary(max_size=10), st.integers(), st.none()), max_size=3))
    def test_extract_garbage(self, headers: list[Any], form: Any) -> None:
        """extract_credentials returns Presented or raises CredentialsError."""
        request = ClientRequest(headers, form=form)
        outcome(lambda: extract_credentials(request))

    @pytest.mark.parametrize("value", [None, {}, "x"], ids=_tname)
    def test_extract_wrong_types(self, value: Any) -> None:
        """extract_credentials on a non-request raises a ClientAuthError."""
        assert isinstance(outcome(lambda: extract_credentials(value)), ClientAuthError)


class TestClientRequest:
    @pytest.mark.parametrize("headers", [
        None, 1, [1], [("a",)], [("a", "b", "c")], [(None, "v")], [("a", None)], [("a", 1)],
        [["a", ["b"]]], "ab",
    ], ids=lambda v: repr(v)[:20])
    def test_garbage_headers(self, headers: Any) -> None:
        """Headers that are not (str|bytes, str|bytes) pairs raise ConfigurationError."""
        assert isinstance(outcome(lambda: ClientRequest(headers)), ClientAuthError)

    @pytest.mark.parametrize("kwargs", [
        {"form": 1}, {"form": "client_id=x"}, {"form": [("client_id", "x")]}, {"query": 5},
        {"peer": 1}, {"peer": b"1.2.3.4"},
        {"tls_chain": None},
    ], ids=repr)
    def test_garbage_arguments(self, kwargs: dict[str, Any]) -> None:
        """Bad form/query/peer/tls_chain arguments raise ConfigurationError."""
        assert isinstance(outcome(lambda: ClientRequest(**kwargs)), ClientAuthError)

    @pytest.mark.parametrize("value", ["\x00", b"\xff\xfe", HUGE, HUGE_BYTES, "\udcff"],
                             ids=lambda v: repr(v)[:10])
    def test_odd_header_content_is_accepted_for_later_refusal(self, value: Any) -> None:
        """NUL, non-UTF-8, 10 MB values build a request (refused later, by extraction)."""
        request = ClientRequest([("authorization", value), ("client_id", value)])
        refused_result(outcome(lambda: _AUTH.authenticate(request)))


class TestCertificateParsing:
    @GARBAGE
    @given(data=st.one_of(garbage_bytes, garbage_text))
    def test_load_certificate_garbage(self, data: bytes | str) -> None:
        """load_certificate raises CertificateParseError for anything that is not a cert."""
        result = outcome(lambda: load_certificate(data), tolerate=KNOWN_ESCAPES)
        assert result is TOLERATED or isinstance(result, ClientAuthError), f"parsed: {result!r}"

    @pytest.mark.parametrize("value", [*WRONG_TYPES, HUGE, HUGE_BYTES, "\x00", b"\x00",
                                       _LEAF.pem + _LEAF.pem, "é" * 10], ids=_tname)
    def test_load_certificate_wrong_input(self, value: Any) -> None:
        """Wrong types, 10 MB, NUL, two PEM blocks, non-ASCII PEM: CertificateParseError."""
        assert isinstance(outcome(lambda: load_certificate(value)), ClientAuthError)

    @pytest.mark.parametrize("value", [v for v in WRONG_TYPES if not isinstance(
        v, bytes | bytearray)] + [b""], ids=_tname)
    def test_thumbprint_wrong_types(self, value: Any) -> None:
        """certificate_thumbprint of a non-certificate (or empty DER) raises."""
        assert isinstance(outcome(lambda: certificate_thumbprint(value)), ClientAuthError)

    @SMALL
    @given(data=st.binary(min_size=1, max_size=200))
    def test_thumbprint_of_bytes_hashes_as_given(self, data: bytes) -> None:
        """Documented: DER bytes are hashed, not parsed -- so any bytes give a thumbprint of
        the right shape (a thumbprint is not an acceptance)."""
        thumb = certificate_thumbprint(data)
        assert len(thumb) == 43 and "=" not in thumb


class TestClientMetadata:
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
            st.sampled_from(["client_id", "token_endpoint_auth_method", "client_secret_hash",
                             "client_secrets", "tls_client_auth_subject_dn", "jwks",
                             "tls_client_auth_san_dns", "tls_client_certificates",
                             "tls_client_certificate_thumbprints", "jwks_uri", "keys", "x5c",
                             "hash", "expires_at", "client_secret_expires_at", "clients",
                             "tls_client_auth_trust_anchors", "tls_client_auth_san_ip"]),
            inner, max_size=5),
        max_leaves=20,
    )

    @GARBAGE
    @given(document=json_values)
    def test_load_clients_garbage(self, document: Any) -> None:
        """load_clients refuses garbage documents with ClientMetadataError / ConfigError."""
        if isinstance(document, str):
            document = [document]  # a str is a path; covered below
        outcome(lambda: load_clients(document), tolerate=KNOWN_ESCAPES)

    @GARBAGE
    @given(metadata=json_values)
    def test_from_metadata_garbage(self, metadata: Any) -> None:
        """Client.from_metadata raises ClientMetadataError for garbage."""
        outcome(lambda: Client.from_metadata(metadata), tolerate=KNOWN_ESCAPES)

    @pytest.mark.parametrize("metadata", [
        {"client_id": "x", "token_endpoint_auth_method": "self_signed_tls_client_auth",
         "tls_client_certificates": [_pem(_LEAF.der[:200])]},
        {"client_id": "x", "token_endpoint_auth_method": "self_signed_tls_client_auth",
         "jwks": {"keys": [{"x5c": [base64.b64encode(_LEAF.der[:-1]).decode()]}]}},
        {"client_id": "x", "client_secret_hash": "$sha256$" + "A" * 10000},
        {"client_id": "x", "client_secret_hash": hash_secret(_SECRET),
         "client_secret_expires_at": 10**30},
        {"client_id": "x", "client_secret_hash": hash_secret(_SECRET),
         "client_secret_expires_at": float("nan")},
        {"client_id": "x" * 10_000_000},
        {"client_id": "a\x00b", "client_secret_hash": hash_secret(_SECRET)},
        {"client_id": "x", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": HUGE},
        {"client_id": "x", "client_secret": _SECRET},
    ], ids=lambda m: repr(m)[:40])
    def test_metadata_hand_picked(self, metadata: dict[str, Any]) -> None:
        """Truncated pinned certs, broken hashes, absurd expiries, 10 MB names: refused."""
        assert isinstance(outcome(lambda: Client.from_metadata(metadata)), ClientAuthError)

    @pytest.mark.parametrize("source", [
        None, 1, 1.5, {"clients": 1}, {"other": []}, b"[]", "/nonexistent/clients.json",
        "clients\x00.json",
    ], ids=repr)
    def test_load_clients_wrong_sources(self, source: Any) -> None:
        """Wrong document types, missing files and bad paths raise a ClientAuthError."""
        assert isinstance(outcome(lambda: load_clients(source)), ClientAuthError)

    @pytest.mark.parametrize("content", [b"\xff\xfe", b"[" * 100_000, b"{", b"\x00",
                                         b'{"clients": [1]}', b"[" + b"1," * 100 + b"]"],
                             ids=lambda c: repr(c)[:12])
    def test_load_clients_garbage_files(self, tmp_path: Any, content: bytes) -> None:
        """Non-UTF-8, deeply nested, truncated JSON files: ConfigurationError."""
        path = tmp_path / "clients.json"
        path.write_bytes(content)
        assert isinstance(outcome(lambda: load_clients(str(path))), ClientAuthError)


# -- verifiers ------------------------------------------------------------------------------

chain_items = st.one_of(
    garbage_bytes, garbage_text, st.sampled_from([None, 1, [], {}, object()]),
)


class TestVerifiers:
    @GARBAGE
    @given(chain=st.one_of(st.lists(chain_items, max_size=4), chain_items))
    def test_pki_verify_garbage(self, chain: Any) -> None:
        """PKIVerifier.verify returns a failed CertificateCheck for any garbage chain."""
        refused_result(outcome(lambda: _PKI_VERIFIER.verify(chain, _PKI_CLIENT),
                               tolerate=KNOWN_ESCAPES))

    @GARBAGE
    @given(chain=st.one_of(st.lists(chain_items, max_size=4), chain_items))
    def test_pinned_verify_garbage(self, chain: Any) -> None:
        """PinnedVerifier.verify returns a failed CertificateCheck for any garbage chain."""
        refused_result(outcome(lambda: _PINNED_VERIFIER.verify(chain, _PINNED_CLIENT)))

    @pytest.mark.parametrize("chain", [
        [_PKI.intermediate.cert], [_PKI.root.cert], [_PINNED.cert], [_LEAF.cert] * 11,
        [_FOREIGN_LEAF.cert, _FOREIGN.intermediate.cert], [HUGE_BYTES], [_LEAF.der[:-1]],
        [_LEAF.pem + _LEAF.pem],
    ], ids=["intermediate", "root", "foreign-self-signed", "11-long", "look-alike-ca",
            "10MB", "truncated", "two-pem"])
    def test_pki_refuses_wrong_chains(self, chain: list[Any]) -> None:
        """CA certs as leaf, foreign certs, over-long and malformed chains: refused."""
        refused_result(outcome(lambda: _PKI_VERIFIER.verify(chain, _PKI_CLIENT)))

    @pytest.mark.parametrize("chain", [[_LEAF.cert], [_PKI.root.cert], [], [None], "pem"],
                             ids=["other-leaf", "root", "empty", "none", "str"])
    def test_pinned_refuses_unpinned(self, chain: Any) -> None:
        """Only the pinned certificate passes the pinned verifier."""
        refused_result(outcome(lambda: _PINNED_VERIFIER.verify(chain, _PINNED_CLIENT)))


class TestAuthenticate:
    header_names = st.sampled_from([
        "authorization", "client_id", "client_secret", "content-type", "client-cert",
        "client-cert-chain", "x-ssl-client-cert", "x-forwarded-client-cert", "x-client-cert",
        "x-forwarded-tls-client-cert", "x-amzn-mtls-clientcert", "x-arr-clientcert",
    ])
    header_values = st.one_of(
        garbage_text, st.binary(max_size=200),
        st.sampled_from(["basic", "mtls", "pinned", "post", "hdr", "nobody"]),
        st.binary(max_size=60).map(lambda b: "Basic " + base64.b64encode(b).decode()),
        st.sampled_from(["basic", "post", "nobody"]).flatmap(lambda cid: st.text(
            min_size=1, max_size=60).map(lambda s: "Basic " + base64.b64encode(
                f"{cid}:{s}".encode("utf-8", "surrogatepass")).decode())),
    )
    forms = st.none() | st.dictionaries(
        st.sampled_from(["client_id", "client_secret", "grant_type", "client_assertion",
                         "client_assertion_type"]),
        st.one_of(st.sampled_from(["basic", "post", "hdr", "mtls", "pinned", "nobody", "jwt",
                                   "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                   "e30.eyJzdWIiOiJqd3QifQ.AA"]),
                  st.text(max_size=60), st.lists(st.text(max_size=5), max_size=2)),
        max_size=4)

    @GARBAGE
    @given(headers=st.lists(st.tuples(header_names, header_values), max_size=5), form=forms,
           chain=st.lists(st.one_of(garbage_bytes, garbage_text), max_size=3),
           fmt=st.sampled_from([None, *sorted(FORMATS)]),
           peer=st.sampled_from([None, "10.0.0.1", "192.0.2.1", "garbage"]))
    def test_garbage_requests_never_authenticate(
        self, headers: list[Any], form: Any, chain: list[Any], fmt: str | None, peer: Any
    ) -> None:
        """authenticate() returns a failed AuthResult for any garbage request; never raises
        for client input, never accepts without the secret or the key."""
        request = outcome(lambda: ClientRequest(headers, form=form, peer=peer, tls_chain=chain))
        if isinstance(request, ClientAuthError):
            return
        auth = _AUTH if fmt is None else _AUTH_FWD[fmt]
        refused_result(outcome(lambda: auth.authenticate(request), tolerate=KNOWN_ESCAPES))

    @pytest.mark.parametrize("value", WRONG_TYPES, ids=_tname)
    def test_wrong_request_type(self, value: Any) -> None:
        """A non-ClientRequest is a programming error: ConfigurationError."""
        assert isinstance(outcome(lambda: _AUTH.authenticate(value)), ClientAuthError)

    @pytest.mark.parametrize("tls_chain", [
        [HUGE_BYTES], [_LEAF.der[:100]], [b"\x00" * 64], ["\x00"], [_LEAF.pem[:-30]],
        [_PINNED.der[:-1]], [_LEAF.der + b"\x00"],
    ], ids=["10MB", "truncated", "nul", "nul-str", "cut-pem", "cut-pinned", "trailing"])
    @pytest.mark.parametrize("client_id", ["mtls", "pinned", "basic", "nobody"])
    def test_garbage_tls_chain(self, tls_chain: list[Any], client_id: str) -> None:
        """A malformed TLS chain fails as malformed_certificate, for every client kind."""
        result = _AUTH.authenticate(
            ClientRequest(form={"client_id": client_id}, tls_chain=tls_chain)
        )
        refused_result(result)
        assert result.failure is clientauth.Failure.MALFORMED_CERTIFICATE

    def test_huge_form_and_headers(self) -> None:
        """10 MB form values and headers are refused as malformed credentials."""
        for request in (
            ClientRequest(form={"client_id": "post", "client_secret": HUGE}),
            ClientRequest(form={"client_id": HUGE, "client_secret": _SECRET}),
            ClientRequest([("client_id", "hdr"), ("client_secret", HUGE)]),
            ClientRequest([("authorization", "Basic " + HUGE)]),
        ):
            result = _AUTH.authenticate(request)
            refused_result(result)
            assert result.error == "invalid_request"


# -- token binding --------------------------------------------------------------------------

claims_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["cnf", "x5t#S256", "jkt", "active", "exp", "sub"]), inner,
        max_size=4),
    max_leaves=12,
)
presented = st.one_of(
    st.none(), garbage_bytes, garbage_text, st.sampled_from([1, [], {}, object()]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            min_size=43, max_size=43),
)


class TestBinding:
    @GARBAGE
    @given(claims=claims_values, certificate=presented)
    def test_check_binding_garbage(self, claims: Any, certificate: Any) -> None:
        """check_binding raises InvalidToken/BindingMismatch for garbage; it passes only if
        the claims really carry the presented thumbprint."""
        result = outcome(lambda: check_binding(claims, certificate), tolerate=KNOWN_ESCAPES)
        if result is None:  # passed: only a genuine match may
            assert isinstance(claims, dict) and isinstance(claims.get("cnf"), dict)
            assert claims["cnf"].get("x5t#S256") == certificate

    @GARBAGE
    @given(response=claims_values, certificate=presented)
    def test_introspection_garbage(self, response: Any, certificate: Any) -> None:
        """check_introspection_binding refuses garbage responses with InvalidToken."""
        outcome(lambda: check_introspection_binding(response, certificate),
                tolerate=KNOWN_ESCAPES)

    @GARBAGE
    @given(token=st.one_of(
        st.text(max_size=300), st.binary(max_size=300),
        st.lists(st.binary(max_size=60).map(
            lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()), min_size=3,
            max_size=3).map(".".join),
        st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3).map(
            lambda d: "eyJhbGciOiJIUzI1NiJ9." + base64.urlsafe_b64encode(
                json.dumps(d).encode()).rstrip(b"=").decode() + ".AAAA"),
    ), certificate=presented)
    def test_decode_bound_token_garbage(self, token: Any, certificate: Any) -> None:
        """decode_bound_token refuses every garbage token with InvalidToken."""
        result = outcome(lambda: decode_bound_token(
            token, _HMAC_KEY, algorithms=["HS256"], certificate=certificate
        ), tolerate=KNOWN_ESCAPES)
        assert result is TOLERATED or isinstance(result, ClientAuthError), "token accepted"

    @pytest.mark.parametrize("token", [*WRONG_TYPES, HUGE, HUGE_BYTES, "a.b.c", "..", "\x00"],
                             ids=_tname)
    def test_decode_bound_token_wrong_input(self, token: Any) -> None:
        """Wrong types, 10 MB and degenerate tokens raise InvalidToken."""
        result = outcome(lambda: decode_bound_token(
            token, _HMAC_KEY, algorithms=["HS256"], certificate=_LEAF.cert))
        assert isinstance(result, ClientAuthError)

    def test_alg_none_and_wrong_key_refused(self) -> None:
        """An unsigned token and one signed with another key are refused."""
        claims = {"cnf": {"x5t#S256": _THUMB}, "exp": NOW + timedelta(hours=1)}
        unsigned = jwt.encode(claims, key=None, algorithm="none")
        forged = jwt.encode(claims, "another-key-" + "x" * 48, algorithm="HS256")
        for token in (unsigned, forged):
            assert isinstance(outcome(lambda token=token: decode_bound_token(
                token, _HMAC_KEY, algorithms=["HS256"], certificate=_LEAF.cert,
                options={"verify_exp": False})), ClientAuthError)

    @pytest.mark.parametrize("claims", [*WRONG_TYPES, {"cnf": None}, {"cnf": "x"},
                                        {"cnf": {"x5t#S256": None}}, {"cnf": {"x5t#S256": 1}},
                                        {"cnf": {"x5t#S256": _THUMB + "\x00"}},
                                        {"cnf": {"x5t#S256": "é" * 43}}], ids=_tname)
    def test_check_binding_wrong_claims(self, claims: Any) -> None:
        """Non-object claims and malformed cnf raise InvalidToken/BindingMismatch."""
        assert isinstance(outcome(lambda: check_binding(claims, _LEAF.cert)), ClientAuthError)

    @pytest.mark.parametrize("certificate", [None, 1, [], {}, object(), "", "x" * 42,
                                             _THUMB[:-1] + "=", HUGE, b"", _LEAF.der[:50]],
                             ids=_tname)
    def test_check_binding_wrong_certificate(self, certificate: Any) -> None:
        """An unusable presented certificate never matches a real binding."""
        claims = {"cnf": {"x5t#S256": _THUMB}}
        assert isinstance(outcome(lambda: check_binding(claims, certificate)), ClientAuthError)


# -- known escapes, pinned ------------------------------------------------------------------

def _bad_version_der() -> bytes:
    """A real leaf whose X.509 version INTEGER says 3 (v4, which does not exist)."""
    der = bytearray(_LEAF.der)
    at = der.index(b"\xa0\x03\x02\x01\x02")
    der[at + 4] = 3
    return bytes(der)






def _duplicate_extension_cert() -> x509.Certificate:
    """A leaf carrying two extensions with the same OID (RFC 5280 4.2 forbids it): issued with
    two private extensions of equal length, then the second OID is rewritten to the first."""
    first, second = x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), x509.ObjectIdentifier(
        "1.3.6.1.4.1.55555.2")
    leaf = _PKI.leaf("dup-ext", san_dns=["client.example"], extra=[
        (x509.UnrecognizedExtension(first, b"\x05\x00"), False),
        (x509.UnrecognizedExtension(second, b"\x05\x00"), False),
    ])
    oid = bytes.fromhex("06092b0601040183b20302")  # DER of the second OID
    assert leaf.der.count(oid) == 1
    return x509.load_der_x509_certificate(leaf.der.replace(oid, oid[:-1] + b"\x01"))




def _bitstring_subject_cert() -> x509.Certificate:
    """A leaf whose subject CN is a BIT STRING: issued with a BIT STRING
    x500UniqueIdentifier (2.5.4.45, allowed), whose OID is then rewritten to CN (2.5.4.3)."""
    from cryptography.x509.name import _ASN1Type

    subject = x509.Name([x509.NameAttribute(
        x509.oid.NameOID.X500_UNIQUE_IDENTIFIER, b"\x00\x01", _type=_ASN1Type.BitString)])
    leaf = issue(subject, issuer=_PKI.intermediate)
    oid = bytes.fromhex("060355042d")
    assert leaf.der.count(oid) == 1
    return x509.load_der_x509_certificate(leaf.der.replace(oid, bytes.fromhex("0603550403")))


class TestKnownEscapes:
    """Each test pins one reported bug; it XPASSes (and fails the run) once fixed."""

    def test_load_certificate_invalid_version(self) -> None:
        """A certificate with an invalid version is a CertificateParseError."""
        with pytest.raises(ClientAuthError):
            load_certificate(_bad_version_der())

    @pytest.mark.parametrize("fmt", ["caddy", "rfc9440", "nginx"])
    def test_parse_forwarded_invalid_version(self, fmt: str) -> None:
        """parse_forwarded refuses it with ForwardedHeaderError."""
        der = _bad_version_der()
        value = {"caddy": base64.b64encode(der).decode(),
                 "rfc9440": f":{base64.b64encode(der).decode()}:",
                 "nginx": urllib.parse.quote(_pem(der), safe="")}[fmt]
        with pytest.raises(ClientAuthError):
            parse_forwarded(fmt, value)

    def test_authenticate_tls_chain_invalid_version(self) -> None:
        """authenticate() answers malformed_certificate instead of raising."""
        result = _AUTH.authenticate(
            ClientRequest(form={"client_id": "mtls"}, tls_chain=[_bad_version_der()])
        )
        assert result.failure is clientauth.Failure.MALFORMED_CERTIFICATE

    def test_authenticate_forwarded_invalid_version(self) -> None:
        """A trusted proxy's header with such a certificate is forwarded_header_invalid."""
        value = base64.b64encode(_bad_version_der()).decode()
        auth = _AUTH_FWD["caddy"]
        header = ForwardedCertificates("caddy", trusted_proxies=["10.0.0.0/8"]).header
        result = auth.authenticate(ClientRequest([(header, value)], peer="10.0.0.1"))
        assert result.failure is clientauth.Failure.FORWARDED_HEADER_INVALID

    def test_load_clients_invalid_version(self) -> None:
        """A pinned certificate with an invalid version is a ClientMetadataError."""
        with pytest.raises(ClientAuthError):
            load_clients([{"client_id": "p",
                           "token_endpoint_auth_method": "self_signed_tls_client_auth",
                           "tls_client_certificates": [_pem(_bad_version_der())]}])

    def test_certificate_name_keys_duplicate_extension(self) -> None:
        """Name keys of a certificate with a repeated extension: empty, never an exception
        (names.py promises "never raises for odd certificates")."""
        assert certificate_name_keys(_duplicate_extension_cert()) == frozenset()

    def test_registered_name_matches_duplicate_extension(self) -> None:
        """RegisteredName.matches is False for such a certificate."""
        registered = RegisteredName.parse("tls_client_auth_san_dns", "client.example")
        assert registered.matches(_duplicate_extension_cert()) is False

    def test_authenticate_without_client_id_duplicate_extension(self) -> None:
        """authenticate() with such a TLS chain and no client_id fails, without raising
        (identification by certificate goes through MemoryRegistry.find_by_certificate)."""
        result = _AUTH.authenticate(ClientRequest(tls_chain=[_duplicate_extension_cert()]))
        refused_result(result)

    def test_duplicate_extension_control(self) -> None:
        """Control: the crafted certificate parses, and with a client_id it is refused by
        the PKI verifier (pki.py already catches DuplicateExtension)."""
        cert = _duplicate_extension_cert()
        with pytest.raises(x509.DuplicateExtension):
            _ = cert.extensions
        result = _AUTH.authenticate(ClientRequest(form={"client_id": "mtls"}, tls_chain=[cert]))
        refused_result(result)

    def test_certificate_name_keys_bitstring_subject(self) -> None:
        """Name keys of a certificate with a BIT STRING CN: empty, never an exception."""
        assert certificate_name_keys(_bitstring_subject_cert()) == frozenset()

    def test_authenticate_without_client_id_bitstring_subject(self) -> None:
        """authenticate() with such a TLS chain and no client_id fails, without raising."""
        refused_result(_AUTH.authenticate(ClientRequest(tls_chain=[_bitstring_subject_cert()])))

    def test_bitstring_subject_control(self) -> None:
        """Control: the crafted certificate parses; its subject is what raises."""
        cert = _bitstring_subject_cert()
        with pytest.raises(TypeError, match="BitString"):
            _ = cert.subject

    def test_valid_version_still_parses(self) -> None:
        """Control: the unmodified certificate loads (the edit above is the only change)."""
        assert load_certificate(_LEAF.der) == _LEAF.cert
        assert issue(name("control")).cert.version == x509.Version.v3
