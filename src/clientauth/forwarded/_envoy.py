"""Envoy: ``x-forwarded-client-cert`` (XFCC).

Envoy HTTP header docs, "x-forwarded-client-cert": the value is a comma-separated list of
*elements*, one per proxy hop that appended one (leftmost oldest: the edge proxy's view of
the original client comes first). An element is ``;``-separated ``key=value`` pairs; keys
are case-insensitive; a value holding ``,`` ``;`` or ``=`` is double-quoted, with ``"``
inside escaped as ``\\"``. Keys: ``By``, ``Hash`` (hex SHA-256 of the client certificate's
DER), ``Cert`` (the URL-encoded PEM leaf), ``Chain`` (the URL-encoded PEM chain *including*
the leaf), ``Subject``, ``URI``, ``DNS`` (``By``/``URI``/``DNS`` may repeat). Envoy quotes
``Cert``, ``Chain`` and ``Subject`` and URL-encodes the PEM by replacing ``\\n``, space,
``+``, ``/`` and ``=``; decoding is generic percent-decoding.

Security choices:

* Splitting happens only outside double quotes, so a ``Subject`` DN full of commas (the
  RFC 4514 form Envoy emits) cannot fake a new element.
* A repeated ``Cert`` or ``Chain`` key in one element is refused: a parser that takes the
  first and one that takes the last would see different clients.
* With several elements the parser does not guess which hop is the client: the caller names
  it with ``element`` (``0`` for the original client when each hop appends, ``-1`` for the
  peer of the last proxy).
* ``Hash``, when present with a certificate, must match it; ``Chain`` must start with
  ``Cert`` when both are present.
"""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from clientauth.exceptions import ForwardedHeaderError

from ._common import load_pem_certificates, percent_decode, strip_ows

__all__ = ["FORMAT", "parse", "split_elements"]

FORMAT = "envoy"

# One key=value pair. A quoted value is "..." with backslash escapes, read in runs; the
# possessive quantifiers (Python 3.11) forbid backtracking into a run, so an unterminated
# quote fails in linear time. An unquoted value stops at a separator or a quote (a quote
# there is an error, reported by the caller).
_PAIR = re.compile(
    r'[ \t]*+([^=,;"]+?)[ \t]*=[ \t]*+(?:"((?:[^"\\]++|\\.)*+)"|([^,;"]*+))[ \t]*+',
    re.DOTALL,
)
_ESCAPE = re.compile(r'\\(["\\])')
_SHA256 = hashes.SHA256()

MAX_PAIRS = 512
"""Most key=value pairs read from one XFCC value (all elements). Real ones hold a handful per
hop, ``DNS`` / ``URI`` repeating once per SAN; the cap bounds work on a trusted proxy's
pathological header (16K pairs would take ~70 ms)."""

Pair = tuple[str, str, int]
"""``(lowercased key, unescaped value, offset of the value in the header)``."""


def split_elements(text: str, offset: int = 0) -> list[list[Pair]]:
    """Elements of an XFCC value, each a list of pairs in order. ``text`` must be non-empty."""
    elements: list[list[Pair]] = [[]]
    pos, end, count = 0, len(text), 0
    while True:
        count += 1
        if count > MAX_PAIRS:
            raise ForwardedHeaderError(f"more than {MAX_PAIRS} key=value pairs", format=FORMAT)
        match = _PAIR.match(text, pos)
        if match is None:
            raise ForwardedHeaderError("expected key=value", format=FORMAT, position=offset + pos)
        quoted = match.group(2)
        if quoted is not None:
            value = _ESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted
            value_at = match.start(2)
        else:
            value, value_at = match.group(3).rstrip(" \t"), match.start(3)
        elements[-1].append((match.group(1).lower(), value, offset + value_at))
        pos = match.end()
        if pos == end:
            return elements
        separator = text[pos]
        if separator == ";":
            pos += 1
        elif separator == ",":
            elements.append([])
            pos += 1
        else:
            message = (
                "unbalanced or misplaced double quote"
                if separator == '"'
                else ("unexpected character after a value")
            )
            raise ForwardedHeaderError(message, format=FORMAT, position=offset + pos)


def parse(
    value: str, chain: list[str] | None = None, element: int | None = None
) -> list[x509.Certificate]:
    """The certificates of the chosen element, leaf first; ``[]`` when it has none."""
    text, lead = strip_ows(value)
    if not text:
        return []
    elements = split_elements(text, lead)
    if element is None:
        if len(elements) > 1:
            raise ForwardedHeaderError(
                f"{len(elements)} elements (proxy hops); configure which one is the client",
                format=FORMAT,
            )
        pairs = elements[0]
    else:
        if not -len(elements) <= element < len(elements):
            raise ForwardedHeaderError(
                f"element {element} requested, header has {len(elements)}", format=FORMAT
            )
        pairs = elements[element]

    found: dict[str, tuple[str, int]] = {}
    for key, item, at in pairs:
        if key in ("cert", "chain", "hash"):
            if key in found:
                raise ForwardedHeaderError(f"repeated {key} key", format=FORMAT, position=at)
            found[key] = (item, at)

    leaf: x509.Certificate | None = None
    certs: list[x509.Certificate] = []
    if "cert" in found:
        item, at = found["cert"]
        # Positions past percent-decoding refer to the decoded PEM.
        leaf = load_pem_certificates(percent_decode(item, FORMAT, offset=at), FORMAT, limit=1)[0]
        certs = [leaf]
    if "chain" in found:
        item, at = found["chain"]
        certs = load_pem_certificates(percent_decode(item, FORMAT, offset=at), FORMAT)
        if leaf is not None and certs[0] != leaf:
            raise ForwardedHeaderError("Chain does not start with Cert", format=FORMAT, position=at)
    if certs and "hash" in found:
        digest, at = found["hash"]
        if certs[0].fingerprint(_SHA256).hex() != digest.lower():
            raise ForwardedHeaderError("Hash does not match Cert", format=FORMAT, position=at)
    return certs
