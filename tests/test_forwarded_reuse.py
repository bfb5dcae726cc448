"""What the forwarded parsers remember between requests, and what they must not shortcut.

A client's next request forwards the very same certificate: the parsers load its DER once
(``_common.load_der`` through ``_x509.load_certificate``) and Envoy's element checks read
the SANs and the rendered subject once per certificate object. None of that may change a
verdict: DER that holds PEM armor in a subject is still read as DER, and an Envoy
``Subject`` equal to the certificate's rendered subject is still refused when that subject
can never match a DN, and percent-decoding's shortcut decodes and refuses as the strict
decoder does.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
from urllib.parse import unquote_to_bytes

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

import xfcc_builder
from certs import Pki, issue, name
from clientauth import ForwardedHeaderError
from clientauth.forwarded import parse_forwarded
from clientauth.forwarded._common import percent_decode


def _b64(der: bytes) -> str:
    return base64.b64encode(der).decode("ascii")


class TestSameCertificateAgain:
    @pytest.mark.parametrize("fmt", ["rfc9440", "haproxy", "envoy"])
    def test_same_header_gives_the_same_certificate_object(self, fmt: str) -> None:
        """The same forwarded certificate is parsed once: a second request with the same
        header gets the very certificate object the first one got (equal, and identical)."""
        leaf = Pki.create().leaf("reuse-client", san_dns=["reuse.example"])
        value = {
            "rfc9440": f":{_b64(leaf.der)}:",
            "haproxy": _b64(leaf.der),
            "envoy": xfcc_builder.element(leaf.cert, by=["spiffe://mesh/gw"]),
        }[fmt]
        first = parse_forwarded(fmt, value)[0]
        second = parse_forwarded(fmt, value)[0]
        assert first == leaf.cert
        assert second is first

    def test_der_holding_pem_armor_is_still_read_as_der(self) -> None:
        """A DER certificate whose subject contains the PEM BEGIN line is loaded as DER,
        every time (the shared loader would sniff it as PEM, so it is not used for it)."""
        marker = "-----BEGIN CERTIFICATE-----"
        leaf = issue(name(marker))
        assert marker.encode() in leaf.der
        for _ in range(2):
            certs = parse_forwarded("rfc9440", f":{_b64(leaf.der)}:")
            assert certs == [leaf.cert]


class TestEnvoySubjectShortcut:
    def test_rendered_subject_that_can_never_match_is_refused(self) -> None:
        """A Subject written exactly as cryptography renders the leaf's subject is accepted
        without parsing it back only when that subject can match a DN at all: a subject
        with a control character (never matchable) is refused as before."""
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bad\x01name")])
        leaf = issue(subject)
        rendered = leaf.cert.subject.rfc4514_string()
        value = (
            f"Hash={hashlib.sha256(leaf.der).hexdigest()};"
            f'Cert="{xfcc_builder.url_encoded_pem(leaf.cert)}";Subject="{rendered}"'
        )
        with pytest.raises(ForwardedHeaderError, match="Subject"):
            parse_forwarded("envoy", value)
        with pytest.raises(ForwardedHeaderError, match="Subject"):
            parse_forwarded("envoy", value)  # and again, with the memo filled

    def test_rendered_subject_of_another_certificate_is_refused(self) -> None:
        """The shortcut compares with *this* leaf's rendering: another certificate's
        subject, however well written, is refused."""
        pki = Pki.create()
        leaf, other = pki.leaf("alice", org="Acme"), pki.leaf("mallory", org="Acme")
        parse_forwarded("envoy", xfcc_builder.element(other.cert, by=["spiffe://mesh/gw"]))
        value = (
            f"Hash={hashlib.sha256(leaf.der).hexdigest()};"
            f'Cert="{xfcc_builder.url_encoded_pem(leaf.cert)}";'
            f'Subject="{other.cert.subject.rfc4514_string()}"'
        )
        with pytest.raises(ForwardedHeaderError, match="Subject"):
            parse_forwarded("envoy", value)


def _strict_unquote(text: str) -> tuple[str, int | None]:
    """The reference: refuse a '%' without two hex digits, then non-ASCII, then decode."""
    bad = re.search(r"%(?![0-9A-Fa-f]{2})", text)
    if bad is not None:
        return "malformed", bad.start()
    if not text.isascii():
        return "non-ascii", None
    raw = unquote_to_bytes(text)
    return (raw.decode("ascii"), None) if raw.isascii() else ("not-ascii-decoded", None)


class TestPercentDecodeShortcut:
    def test_matches_the_strict_reference(self) -> None:
        """The shortcut for values holding only the proxies' five escapes decodes exactly
        as strict percent-decoding does, and refuses what it refuses (at the same position
        for a malformed escape), on values built from escapes, fragments of them and
        stray '%'."""
        pieces = ["%0A", "%20", "%2B", "%2F", "%3D", "%2b", "%41", "%", "%2", "%%", "0A",
                  "A", "b", "+", "/", "=", " ", "%C3%A9", "\xe9", "%zz"]
        rng = random.Random(18)
        for _ in range(3000):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
            expected, position = _strict_unquote(text)
            if expected in {"malformed", "non-ascii", "not-ascii-decoded"}:
                with pytest.raises(ForwardedHeaderError) as info:
                    percent_decode(text, "envoy", offset=5)
                if position is not None:
                    assert info.value.position == 5 + position, text
            else:
                assert percent_decode(text, "envoy", offset=5) == expected, text
