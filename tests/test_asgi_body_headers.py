"""The ASGI adapter's one pass over the headers (issue 18): the body's framing, and the lone
Basic header of the middleware's shortcut.

What must hold: every Content-Type and Content-Length value is found, in order, whatever the
case of the name (the ASGI spec does not promise lower-case names), repeats are kept (the
middleware refuses them), and no other header is taken for one of them -- with the shortcut's
reading on or off. The Authorization value is returned only when it is the one header the
authenticator reads; the outcomes of the shortcut are checked against ``authenticate`` in
``tests/test_asgi_lone_basic.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from clientauth.asgi import _HeaderKinds, _scan_headers
from clientauth.authenticator import LoneBasicReads
from clientauth.exceptions import ConfigurationError
from clientauth.request import MAX_HEADERS

PLAIN: LoneBasicReads = (frozenset({b"client_id", b"client_secret"}), False, None)
FORWARDED: LoneBasicReads = (frozenset({b"client-cert", b"x-proxy-secret"}), True, b"ssl_")
BASIC = b"Basic YTpi"


def _scan(headers: Any, reads: LoneBasicReads | None) -> tuple[list[str], list[str], bytes | None]:
    return _scan_headers(headers, _HeaderKinds(reads))

readings = pytest.mark.parametrize("reads", [None, PLAIN, FORWARDED], ids=["off", "plain", "fwd"])


class TestBodyHeaders:
    @readings
    def test_found_in_any_case_with_repeats(self, reads: LoneBasicReads | None) -> None:
        """Mixed-case names are read; two values of one header are both returned."""
        headers = [
            (b"Content-Type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"10"),
            (b"CONTENT-LENGTH", b"11"),
        ]
        assert _scan(headers, reads)[:2] == (
            ["application/x-www-form-urlencoded"], ["10", "11"]
        )

    @readings
    def test_other_headers_ignored(self, reads: LoneBasicReads | None) -> None:
        """Same-length names and look-alikes are not taken for the framing headers."""
        headers = [
            (b"content-typf", b"x"),      # as long as content-type
            (b"content-lengtx", b"1"),    # as long as content-length
            (b"x-content-type", b"y"),
            (b"authorization", b"Basic abc"),
        ]
        assert _scan(headers, reads)[:2] == ([], [])

    @readings
    def test_values_read_as_latin_1(self, reads: LoneBasicReads | None) -> None:
        """Header bytes are ISO-8859-1 on the wire, as everywhere else in clientauth."""
        assert _scan([(b"content-type", b"text/plain; x=\xe9")], reads)[:2] == (
            ["text/plain; x=\u00e9"], []
        )

    @readings
    @pytest.mark.parametrize("pair", [(b"a",), (b"a", b"b", b"c"), (1, b"x")])
    def test_malformed_pair_is_a_configuration_error(
        self, reads: LoneBasicReads | None, pair: tuple[object, ...]
    ) -> None:
        """What no server passes is a ConfigurationError (as request_from_scope raises),
        not an AttributeError from deep inside."""
        with pytest.raises(ConfigurationError):
            _scan([pair, (b"content-type", b"text/plain")], reads)  # type: ignore[list-item]


class TestLoneAuthorization:
    def test_off_never_returns_one(self) -> None:
        assert _scan([(b"authorization", BASIC)], None)[2] is None

    @pytest.mark.parametrize("reads", [PLAIN, FORWARDED], ids=["plain", "fwd"])
    def test_lone_header_returned_in_any_case(self, reads: LoneBasicReads) -> None:
        headers = [(b"host", b"x"), (b"Authorization", BASIC), (b"content-length", b"0")]
        assert _scan(headers, reads) == ([], ["0"], BASIC)

    @pytest.mark.parametrize("reads", [PLAIN, FORWARDED], ids=["plain", "fwd"])
    @pytest.mark.parametrize("other", [
        (b"authorization", BASIC),        # a second one, even equal
        (b"AUTHORIZATION", b"Bearer x"),
        (b"client_id", b"a"),             # a custom credential header
        (b"Client_Secret", b"b"),
    ])
    def test_any_other_credential_header_refuses(
        self, reads: LoneBasicReads, other: tuple[bytes, bytes]
    ) -> None:
        for headers in ([(b"authorization", BASIC), other], [other, (b"authorization", BASIC)]):
            assert _scan(headers, reads)[2] is None

    @pytest.mark.parametrize("other", [
        (b"client-cert", b":x:"), (b"X-Proxy-Secret", b"s"), (b"x_proxy_secret", b"s"),
        (b"ssl_client_cert_chain_0", b"x"), (b"SSL_anything", b"x"), (b"a_b", b"c"),
    ])
    def test_forwarded_names_and_other_spellings_refuse(self, other: tuple[bytes, bytes]) -> None:
        """Any name the forwarded policy may read -- its own, a ``_`` spelling, its prefix."""
        assert _scan([(b"authorization", BASIC), other], FORWARDED)[2] is None
        # Without a forwarded policy, only the configured names count.
        expected = None if other[0].lower() in PLAIN[0] else BASIC
        assert _scan([(b"authorization", BASIC), other], PLAIN)[2] == expected

    def test_not_bytes_or_too_many_or_not_a_list_refuses(self) -> None:
        assert _scan([(b"authorization", "Basic YTpi")], PLAIN)[2] is None  # type: ignore[list-item]
        assert _scan([("authorization", BASIC)], PLAIN)[2] is None  # type: ignore[list-item]
        # Another header's value is not read: a str there (the general path accepts one)
        # changes nothing.
        assert _scan([(b"x", "y"), (b"authorization", BASIC)], PLAIN)[2] == BASIC  # type: ignore[list-item]
        assert _scan(((b"authorization", BASIC),), PLAIN)[2] is None
        many = [(b"x-%d" % i, b"v") for i in range(MAX_HEADERS)]
        assert _scan([(b"authorization", BASIC), *many[1:]], PLAIN)[2] == BASIC
        assert _scan([(b"authorization", BASIC), *many], PLAIN)[2] is None
