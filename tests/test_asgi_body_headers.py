"""The ASGI adapter's one pass over the headers for the body's framing (issue 18).

What must hold: every Content-Type and Content-Length value is found, in order, whatever the
case of the name (the ASGI spec does not promise lower-case names), repeats are kept (the
middleware refuses them), and no other header is taken for one of them.
"""

from __future__ import annotations

from clientauth.asgi import _body_headers


class TestBodyHeaders:
    def test_found_in_any_case_with_repeats(self) -> None:
        """Mixed-case names are read; two values of one header are both returned."""
        headers = [
            (b"Content-Type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"10"),
            (b"CONTENT-LENGTH", b"11"),
        ]
        assert _body_headers(headers) == (
            ["application/x-www-form-urlencoded"], ["10", "11"]
        )

    def test_other_headers_ignored(self) -> None:
        """Same-length names and look-alikes are not taken for the framing headers."""
        headers = [
            (b"content-typf", b"x"),      # as long as content-type
            (b"content-lengtx", b"1"),    # as long as content-length
            (b"x-content-type", b"y"),
            (b"authorization", b"Basic abc"),
        ]
        assert _body_headers(headers) == ([], [])

    def test_values_read_as_latin_1(self) -> None:
        """Header bytes are ISO-8859-1 on the wire, as everywhere else in clientauth."""
        assert _body_headers([(b"content-type", b"text/plain; x=\xe9")]) == (
            ["text/plain; x=\u00e9"], []
        )
