"""Decoding steps shared by the forwarded-certificate formats.

Every helper is pure, works on text the format parser already holds, and raises only
:class:`~clientauth.ForwardedHeaderError` carrying the format name and, where one exists, the
offset in that text where decoding failed. Messages never echo the input: a forwarded header
is attacker-controlled whenever it did not come from the proxy.

Header values arrive as ``str`` or ``bytes``. Bytes are read as ISO-8859-1, the HTTP wire
charset (RFC 9110 section 5.5), so every byte maps to one character and offsets agree; every
certificate encoding used by the proxies is ASCII, so anything else is refused where it
matters rather than at the door (an Envoy ``Subject`` may carry other octets and is not ours
to judge).
"""

from __future__ import annotations

import binascii
import functools
import re
from collections.abc import Iterable, Sequence
from urllib.parse import unquote_to_bytes

from cryptography import x509

from clientauth._x509 import (
    DECODE_ERRORS,
    MAX_CERTIFICATE_SIZE,
    MAX_CHAIN_LENGTH,
    check_usable,
    load_certificate,
)
from clientauth.exceptions import ForwardedHeaderError

__all__ = [
    "MAX_CACHED_HEADER_SIZE",
    "MAX_CHAIN_CERTS",
    "MAX_HEADER_SIZE",
    "decode_base64",
    "fold_name",
    "foreign_spellings",
    "header_text",
    "load_der",
    "load_pem_certificates",
    "percent_decode",
    "refuse_folded",
    "split_der",
    "strip_ows",
]

MAX_HEADER_SIZE = 64 * 1024
"""Longest forwarded header value accepted, in characters (bytes on the wire). Ten RSA-4096
certificates as percent-encoded PEM fit in about 35 KiB; the cap bounds work on hostile
input before any decoding starts."""

MAX_CACHED_HEADER_SIZE = 16 * 1024
"""Longest forwarded header text (leaf, or leaf and chain) whose parse is remembered: a few
RSA-4096 certificates as percent-encoded PEM. Longer ones are parsed every time."""

MAX_CHAIN_CERTS = MAX_CHAIN_LENGTH
"""Most certificates accepted from one request's forwarded headers, leaf included."""

_WATCH_CACHE_SIZE = 64
"""Distinct header-name configurations whose folded forms are remembered (one per
``ForwardedCertificates`` in practice)."""

_OWS = " \t"
_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
_PEM_END = "-----END CERTIFICATE-----"
_PEM_BEGIN_BYTES = _PEM_BEGIN.encode("ascii")
# RFC 7468 section 3: parsers should ignore whitespace inside the base64 text. Proxies fold
# PEM lines into spaces (Apache mod_headers), tabs (nginx $ssl_client_cert) or keep CR/LF.
_PEM_WS = b" \t\r\n"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
_COMMON_ESCAPES = (("%0A", "\n"), ("%20", " "), ("%2B", "+"), ("%2F", "/"), ("%3D", "="))


def header_text(value: object, fmt: str, what: str = "header") -> str:
    """``value`` as text, size-capped. Bytes are read as ISO-8859-1 (never fails)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        if len(raw) > MAX_HEADER_SIZE:
            raise ForwardedHeaderError(f"{what} larger than {MAX_HEADER_SIZE} bytes", format=fmt)
        text = raw.decode("latin-1")
    else:
        raise ForwardedHeaderError(
            f"{what} must be str or bytes, not {type(value).__name__}", format=fmt
        )
    if len(text) > MAX_HEADER_SIZE:
        raise ForwardedHeaderError(f"{what} larger than {MAX_HEADER_SIZE} characters", format=fmt)
    return text


def refuse_folded(text: str, fmt: str, *, offset: int = 0, what: str = "header") -> None:
    """Refuse a value holding ``,``: several field lines joined into one.

    RFC 9110 section 5.3 lets a recipient combine field lines of the same name with commas,
    and a WSGI server does just that for every name that maps to one ``environ`` key
    (``X-Client-Cert`` and ``X_Client_Cert`` are both ``HTTP_X_CLIENT_CERT``; wsgiref joins
    them with ``,``). None of the single-certificate encodings contains a literal comma --
    base64, PEM armor, percent-escapes (``%2C``), ``(null)``, ``-`` -- so a comma means a
    second value arrived under the same key, possibly a client's: never honoured.
    """
    comma = text.find(",")
    if comma != -1:
        raise ForwardedHeaderError(
            f"{what} holds several values joined with ',' (a duplicated or differently spelled "
            "header); it must arrive exactly once",
            format=fmt,
            position=offset + comma,
        )


def fold_name(name: str) -> str:
    """A field name as a WSGI server keys it: letter case and ``-`` versus ``_`` lost
    (PEP 3333 ``HTTP_*`` variables, after CGI, RFC 3875 section 4.1.18)."""
    return name.lower().replace("_", "-")


def foreign_spellings(
    names: Iterable[str], watched: Sequence[str], prefixes: Sequence[str] = ()
) -> list[str]:
    """The field ``names`` (lowercase) that fold into a ``watched`` name without being it.

    ``watched`` holds the names as configured (lowercase); ``prefixes`` are configured name
    prefixes followed by a decimal index (Apache's ``...-chain-0``, ``...-chain-1``). Under
    ASGI the names arrive as sent, so a client's ``x-ssl_client-cert`` beside the proxy's
    ``x-ssl-client-cert`` shows up here; under WSGI the server has already merged them into
    one value (see :func:`refuse_folded`).
    """
    exact, folded, folded_prefixes, dashed = _watch(tuple(watched), tuple(prefixes))
    out: list[str] = []
    for name in names:
        if dashed and "_" not in name:
            # Every watched name is written with dashes: only a '_' can fold into one.
            continue
        if not _is_named(name, exact, prefixes) and _is_named(
            fold_name(name), folded, folded_prefixes
        ):
            out.append(name)
    return out


@functools.lru_cache(maxsize=_WATCH_CACHE_SIZE)
def _watch(
    watched: tuple[str, ...], prefixes: tuple[str, ...]
) -> tuple[frozenset[str], frozenset[str], tuple[str, ...], bool]:
    """What :func:`foreign_spellings` compares with, computed once per configuration."""
    dashed = not any("_" in name for name in (*watched, *prefixes))
    return (
        frozenset(watched),
        frozenset(map(fold_name, watched)),
        tuple(map(fold_name, prefixes)),
        dashed,
    )


def _is_named(name: str, names: frozenset[str], prefixes: Sequence[str]) -> bool:
    return name in names or any(
        name.startswith(prefix) and name[len(prefix) :].isdigit() for prefix in prefixes
    )


def strip_ows(text: str) -> tuple[str, int]:
    """Drop leading/trailing SP and HTAB (RFC 9110 section 5.5: not part of the field value).

    Returns the stripped text and the offset of its first character in ``text``."""
    stripped = text.lstrip(_OWS)
    lead = len(text) - len(stripped)
    return stripped.rstrip(_OWS), lead


def percent_decode(text: str, fmt: str, *, offset: int = 0) -> str:
    """Strict percent-decoding (RFC 3986 section 2.1) of a value that must decode to ASCII.

    ``urllib.parse.unquote`` leaves a stray ``%`` alone; here it is an error, since a proxy
    that escapes never emits one. ``+`` stays ``+``: none of the proxies use form encoding,
    and base64 is full of ``+`` (AWS ALB leaves it literal).
    """
    if "%" not in text:
        if not text.isascii():
            raise _not_ascii(text, fmt, offset)
        return text
    # Every '%' starting one of the escapes the proxies use leaves with it (no replacement
    # yields a '%'): none left means none was malformed, and the decoding is done.
    decoded = text
    for escape, char in _COMMON_ESCAPES:
        decoded = decoded.replace(escape, char)
    if "%" not in decoded and text.isascii():
        return decoded
    bad = _BAD_ESCAPE.search(text)
    if bad is not None:
        raise ForwardedHeaderError(
            "malformed percent-escape", format=fmt, position=offset + bad.start()
        )
    if not text.isascii():
        raise _not_ascii(text, fmt, offset)
    # Every '%' now starts a valid escape, and one of them is not among the common ones
    # (the proxies escape little more than the PEM line breaks, spaces and base64's
    # '+ / ='): the general decoder.
    raw = unquote_to_bytes(text)
    if not raw.isascii():
        raise ForwardedHeaderError(
            "percent-decoded value is not ASCII", format=fmt, position=offset
        )
    return raw.decode("ascii")


def _not_ascii(text: str, fmt: str, offset: int) -> ForwardedHeaderError:
    match = _NOT_ASCII.search(text)
    position = offset + (match.start() if match else 0)
    return ForwardedHeaderError("non-ASCII character", format=fmt, position=position)


def decode_base64(text: str, fmt: str, *, offset: int = 0, what: str = "certificate") -> bytes:
    """Strict standard base64 (RFC 4648 section 4) with padding, no whitespace."""
    if not text:
        raise ForwardedHeaderError(f"empty {what}", format=fmt, position=offset)
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except DECODE_ERRORS:
        # binascii.Error is a ValueError; so is a str with non-ASCII characters.
        match = _NOT_BASE64.search(text)
        position = offset + (match.start() if match else 0)
        raise ForwardedHeaderError(
            f"{what} is not valid base64", format=fmt, position=position
        ) from None


def load_der(der: bytes, fmt: str, *, offset: int | None = None) -> x509.Certificate:
    """One DER certificate. Trailing bytes after the certificate are refused by cryptography.

    A client's next request forwards the very same DER: ``_x509.load_certificate`` parses
    it once and answers again from its cache (the same certificate object, already checked
    by ``check_usable``), which costs less than the DER load alone. That helper sniffs for a
    PEM header *inside* the bytes, and a DER certificate may legitimately contain that text
    (in a subject string): such DER is loaded here directly, since the encoding is known.
    """
    if len(der) > MAX_CERTIFICATE_SIZE:
        raise ForwardedHeaderError(
            f"certificate larger than {MAX_CERTIFICATE_SIZE} bytes", format=fmt, position=offset
        )
    try:
        if der and _PEM_BEGIN_BYTES not in der:
            # Without the PEM marker, load_certificate is exactly DER load + check_usable.
            return load_certificate(der)
        # check_usable: cryptography parses lazily; refuse here what would raise later.
        return check_usable(x509.load_der_x509_certificate(der))
    except DECODE_ERRORS:
        raise ForwardedHeaderError(
            "not a valid DER certificate", format=fmt, position=offset
        ) from None


def load_pem_certificates(
    text: str, fmt: str, *, offset: int = 0, limit: int = MAX_CHAIN_CERTS
) -> list[x509.Certificate]:
    """Every ``CERTIFICATE`` PEM block in ``text`` (RFC 7468 section 5), in order.

    Whitespace (SP, HTAB, CR, LF) is allowed between blocks and inside the base64 text, so
    PEM whose line breaks a proxy turned into spaces or tabs decodes as well. Any other text
    outside the blocks is refused: proxies emit none, and explanatory text is where
    injection would hide. Decoding is done here (base64 then DER) rather than with
    ``load_pem_x509_certificate``, which needs real line breaks and is several times slower.
    """
    certs: list[x509.Certificate] = []
    pos = 0
    while True:
        begin = text.find(_PEM_BEGIN, pos)
        gap_end = len(text) if begin == -1 else begin
        gap = text[pos:gap_end]
        if gap.strip(_OWS + "\r\n"):
            stray = len(gap) - len(gap.lstrip(_OWS + "\r\n"))
            raise ForwardedHeaderError(
                "unexpected text outside PEM armor", format=fmt, position=offset + pos + stray
            )
        if begin == -1:
            break
        body_start = begin + len(_PEM_BEGIN)
        end = text.find(_PEM_END, body_start)
        if end == -1:
            raise ForwardedHeaderError(
                "PEM certificate without END line", format=fmt, position=offset + begin
            )
        body = text[body_start:end]
        if not body.isascii():
            raise _not_ascii(body, fmt, offset + body_start)
        compact = body.encode("ascii").translate(None, _PEM_WS)
        der = decode_base64(compact.decode("ascii"), fmt, offset=offset + body_start)
        certs.append(load_der(der, fmt, offset=offset + body_start))
        if len(certs) > limit:
            raise ForwardedHeaderError(f"more than {limit} certificates", format=fmt)
        pos = end + len(_PEM_END)
    if not certs:
        raise ForwardedHeaderError("no PEM certificate", format=fmt, position=offset)
    return certs


def split_der(data: bytes, fmt: str, *, limit: int = MAX_CHAIN_CERTS) -> list[bytes]:
    """Split concatenated DER certificates by reading each outer SEQUENCE header.

    X.690 section 8.1.3 / 10.1: DER uses the definite form with the fewest length octets.
    Each piece is returned as-is for the certificate parser; positions are byte offsets in
    ``data``.
    """
    out: list[bytes] = []
    i, n = 0, len(data)
    while i < n:
        if data[i] != 0x30:
            raise ForwardedHeaderError("expected a DER SEQUENCE", format=fmt, position=i)
        if i + 1 >= n:
            raise ForwardedHeaderError("truncated DER length", format=fmt, position=i)
        first = data[i + 1]
        if first < 0x80:
            length, header = first, 2
        elif first == 0x80:
            raise ForwardedHeaderError("indefinite length is not DER", format=fmt, position=i + 1)
        else:
            count = first & 0x7F
            if count > 4 or i + 2 + count > n:
                raise ForwardedHeaderError("bad DER length", format=fmt, position=i + 1)
            octets = data[i + 2 : i + 2 + count]
            length, header = int.from_bytes(octets, "big"), 2 + count
            if octets[0] == 0 or length < 0x80:
                raise ForwardedHeaderError(
                    "DER length not in its shortest form", format=fmt, position=i + 1
                )
        end = i + header + length
        if end > n:
            raise ForwardedHeaderError("truncated DER certificate", format=fmt, position=i)
        if end - i > MAX_CERTIFICATE_SIZE:
            raise ForwardedHeaderError(
                f"certificate larger than {MAX_CERTIFICATE_SIZE} bytes", format=fmt, position=i
            )
        out.append(data[i:end])
        if len(out) > limit:
            raise ForwardedHeaderError(f"more than {limit} certificates", format=fmt)
        i = end
    if not out:
        raise ForwardedHeaderError("empty certificate data", format=fmt, position=0)
    return out
