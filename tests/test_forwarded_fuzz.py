"""Error contract of the forwarded parsers: whatever the input, only ForwardedHeaderError.

Hypothesis feeds every format random text, random bytes, and structured mutations of valid
headers (the inputs most likely to reach deep into a decoder). Bounded: 300 examples per
strategy and format, no deadline (a shared CI machine is noisy); the file runs in well under
a minute.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.parse

import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certs import Pki
from clientauth import ClientRequest, ForwardedHeaderError
from clientauth.forwarded import FORMATS, ForwardedCertificates, parse_forwarded

_PKI = Pki.create("Fuzz Corp")
_LEAF = _PKI.leaf("fuzz-client")
_CHAIN = [_LEAF, _PKI.intermediate]


def _b64(der: bytes) -> str:
    return base64.b64encode(der).decode("ascii")


def _envoy_pem(pem: str) -> str:
    return urllib.parse.quote(pem, safe="-")


VALID: dict[str, list[str]] = {
    "rfc9440": [f":{_b64(_LEAF.der)}:", f":{_b64(_LEAF.der)}:;a=1"],
    "nginx": [urllib.parse.quote(_LEAF.pem, safe=""), _LEAF.pem.replace("\n", "\n\t")],
    "haproxy": [_b64(_LEAF.der)],
    "apache": [_LEAF.pem.replace("\n", " "), "(null)"],
    "envoy": [
        # As Envoy writes it (tests/xfcc_builder.py): parses, so mutations reach every check.
        f'By=spiffe://a;Hash={hashlib.sha256(_LEAF.der).hexdigest()};'
        f'Cert="{_envoy_pem(_LEAF.pem)}";Subject="CN=fuzz-client";URI=,'
        f'By=b;Hash={hashlib.sha256(_LEAF.der).hexdigest()};Cert="{_envoy_pem(_LEAF.pem)}"',
        f'By=spiffe://a;Hash={hashlib.sha256(_LEAF.der).hexdigest()};'
        f'Cert="{_envoy_pem(_LEAF.pem)}";Chain="{_envoy_pem(_LEAF.pem + _PKI.intermediate.pem)}";'
        f'Subject="CN=fuzz-client,O=A\\"B, C";URI=spiffe://x;DNS=a,By=b;Cert="{_envoy_pem(_LEAF.pem)}"'
    ],
    "traefik": [",".join(_b64(c.der) for c in _CHAIN)],
    "aws-alb": [urllib.parse.quote(_LEAF.pem + _PKI.intermediate.pem, safe="+=/")],
    "caddy": [_b64(_LEAF.der)],
    "azure": [_b64(_LEAF.der), _LEAF.pem.replace("\n", " ")],
}
CHAINS: dict[str, list[str]] = {
    "rfc9440": [f":{_b64(_PKI.intermediate.der)}:, :{_b64(_PKI.root.der)}:"],
    "haproxy": [_b64(_PKI.intermediate.der + _PKI.root.der)],
    "apache": [_PKI.intermediate.pem.replace("\n", " "), "(null)"],
}
SPECIAL = [*',;="\\%:()-+/ \t\r\n\x00\x7f\x80\xff', "%0", "%zz", "::", "(null)", "-----"]

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@st.composite
def mutated(draw: st.DrawFn, base: str) -> str:
    """A valid header with 1-4 edits: delete, insert, replace, duplicate, truncate, swap."""
    value = base
    for _ in range(draw(st.integers(1, 4))):
        if not value:
            value = draw(st.sampled_from(SPECIAL))
            continue
        i = draw(st.integers(0, len(value) - 1))
        j = draw(st.integers(i, min(len(value), i + 64)))
        op = draw(st.sampled_from(["delete", "insert", "replace", "dup", "truncate", "swap"]))
        if op == "delete":
            value = value[:i] + value[j:]
        elif op == "insert":
            piece = draw(st.sampled_from(SPECIAL) | st.text(max_size=4))
            value = value[:i] + piece + value[i:]
        elif op == "replace":
            value = value[:i] + draw(st.sampled_from(SPECIAL)) + value[i + 1 :]
        elif op == "dup":
            value = value[:j] + value[i:j] + value[j:]
        elif op == "truncate":
            value = value[:i]
        else:
            value = value[i:] + value[:i]
    return value


def check(fmt: str, value: str | bytes, chain: object = None, element: int | None = None
          ) -> None:
    kwargs: dict[str, object] = {}
    if chain is not None:
        kwargs["chain"] = chain
    if element is not None:
        kwargs["element"] = element
    try:
        certs = parse_forwarded(fmt, value, **kwargs)  # type: ignore[arg-type]
    except ForwardedHeaderError as exc:
        error = exc
    else:
        error = None
    if error is not None:
        assert error.format == fmt
        return
    assert isinstance(certs, list)
    assert all(isinstance(c, x509.Certificate) for c in certs)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
class TestNothingElseEscapes:
    @FUZZ
    @given(value=st.text(max_size=300))
    def test_random_text(self, fmt: str, value: str) -> None:
        """Arbitrary Unicode text."""
        check(fmt, value)

    @FUZZ
    @given(value=st.binary(max_size=300))
    def test_random_bytes(self, fmt: str, value: bytes) -> None:
        """Arbitrary bytes, UTF-8 or not."""
        check(fmt, value)

    @FUZZ
    @given(data=st.data())
    def test_mutated_valid_header(self, fmt: str, data: st.DataObject) -> None:
        """Structured mutations of a real header, as str and as bytes."""
        base = data.draw(st.sampled_from(VALID[fmt]))
        value = data.draw(mutated(base))
        element = data.draw(st.sampled_from([None, 0, -1, 5])) if fmt == "envoy" else None
        check(fmt, value, element=element)
        check(fmt, value.encode("utf-8", "surrogatepass"), element=element)


@pytest.mark.parametrize("fmt", sorted(CHAINS))
class TestChainInputs:
    @FUZZ
    @given(data=st.data())
    def test_mutated_chain(self, fmt: str, data: st.DataObject) -> None:
        """Valid leaf, mutated chain (single value or a list of lines)."""
        chain = data.draw(mutated(data.draw(st.sampled_from(CHAINS[fmt]))))
        as_list = data.draw(st.booleans())
        check(fmt, VALID[fmt][0], chain=[chain, chain] if as_list else chain)


_HEADER_NAMES = sorted({"client-cert", "client-cert-chain", "x-ssl-client-cert", "x-client-cert",
                        "x-forwarded-client-cert", "x-forwarded-tls-client-cert",
                        "x-amzn-mtls-clientcert-leaf", "x-arr-clientcert", "x-verify",
                        "x-proxy-secret"})
_SECRET = "0123456789abcdef0123"


class TestPolicyNeverRaises:
    @FUZZ
    @given(
        data=st.data(),
        fmt=st.sampled_from(sorted(FORMATS)),
        peer=st.none() | st.sampled_from(["10.0.0.1", "::1", "[::1]", "bogus", "10.0.0.1:80"]),
    )
    def test_extract(self, data: st.DataObject, fmt: str, peer: str | None) -> None:
        """ForwardedCertificates.extract returns an outcome for any request."""
        value = st.text(max_size=80) | st.sampled_from([*SPECIAL, _SECRET, "SUCCESS"])
        value |= mutated(VALID[fmt][0])
        headers = data.draw(st.lists(st.tuples(st.sampled_from(_HEADER_NAMES), value),
                                     max_size=5))
        policy = ForwardedCertificates(
            fmt, trusted_proxies=["10.0.0.0/8", "::1"], verify_header="x-verify",
            shared_secret=("x-proxy-secret", _SECRET) if data.draw(st.booleans()) else None,
        )
        outcome = policy.extract(ClientRequest(headers, peer=peer))
        assert outcome.source == f"forwarded:{fmt}"
        assert all(isinstance(c, x509.Certificate) for c in outcome.chain)


class TestFastPathsAgreeWithReference:
    @FUZZ
    @given(inner=st.text(alphabet="AB+/=:9 ", max_size=24))
    def test_sf_binary_fast_path(self, inner: str) -> None:
        """Whatever the C fast path accepts, http_sf (RFC 9651) decodes to the same bytes."""
        import http_sf

        from clientauth.forwarded._rfc9440 import _fast_binary

        text = f":{inner}:"
        fast = _fast_binary(text)
        if fast is not None:
            assert http_sf.parse(text.encode("ascii"), tltype="item") == (fast, {})

    @FUZZ
    @given(text=st.text(alphabet="%0AaBb2F3D5+/=x \n", max_size=40))
    def test_percent_decode(self, text: str) -> None:
        """percent_decode equals strict unquote_to_bytes on every input it accepts."""
        from clientauth.forwarded._common import percent_decode

        try:
            decoded = percent_decode(text, "nginx")
        except ForwardedHeaderError:
            return
        assert decoded.encode("ascii") == urllib.parse.unquote_to_bytes(text)
