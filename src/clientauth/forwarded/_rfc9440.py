"""RFC 9440 ``Client-Cert`` / ``Client-Cert-Chain``: structured-field byte sequences.

RFC 9440 section 2.2: ``Client-Cert`` is an Item Structured Header Field (RFC 9651 section
3.3) whose value MUST be a Byte Sequence holding the DER certificate. Section 2.3:
``Client-Cert-Chain`` is a List whose members are Byte Sequences, in TLS order, *without*
the leaf. Neither defines parameters; RFC 9651 section 3.1.2 makes parameters a generic
extension point, so they are parsed (to validate the syntax) and ignored.

Parsing: the proxies emit exactly ``:base64:`` items (and ``, ``-joined lists of them). That
shape is checked and decoded in C (``binascii``); anything else (parameters, odd
spacing, missing padding, errors) goes to ``http_sf``, mnot's RFC 9651 parser, whose answer
is authoritative. ``http_sf`` alone costs ~40 us on a 500-byte certificate, twenty times
the certificate load itself, because it checks the base64 alphabet byte by byte in Python.
"""

from __future__ import annotations

import binascii
import re

import http_sf
from cryptography import x509

from clientauth.exceptions import ForwardedHeaderError

from ._common import MAX_CHAIN_CERTS, load_der, refuse_folded, strip_ows

__all__ = ["FORMAT", "parse"]

FORMAT = "rfc9440"

_LIST_SEPARATOR = re.compile(r"[ \t]*,[ \t]*")
_MAX_SEMICOLONS = 256
"""Parameters are ignored, so thousands of them are only work: a value with more ``;`` than
this is refused before the (pure-Python) structured-field parser sees it."""


def parse(value: str, chain: list[str] | None) -> list[x509.Certificate]:
    """The leaf from ``Client-Cert`` and the rest from ``Client-Cert-Chain`` lines, if any.

    An empty field, or the empty byte sequence ``::`` (what a proxy template like HAProxy's
    ``:%[ssl_c_der,base64]:`` yields without a certificate), means no certificate.
    """
    text, lead = strip_ows(value)
    # Client-Cert is an Item, never a List (section 2.2): a ',' joins two field lines.
    refuse_folded(text, FORMAT, offset=lead)
    leaf_der = _parse_item(text, lead) if text else b""
    rest: list[bytes] = []
    if chain:
        # RFC 9110 section 5.3: several field lines of a list field combine with ", ".
        rest = _parse_list(", ".join(chain))
    if not leaf_der:
        if rest:
            # RFC 9440 section 2.3: the chain accompanies a Client-Cert; alone it is broken.
            raise ForwardedHeaderError("Client-Cert-Chain without Client-Cert", format=FORMAT)
        return []
    if len(rest) + 1 > MAX_CHAIN_CERTS:
        raise ForwardedHeaderError(f"more than {MAX_CHAIN_CERTS} certificates", format=FORMAT)
    certs = [load_der(leaf_der, FORMAT, offset=lead)]
    certs.extend(load_der(der, FORMAT) for der in rest)
    return certs


def _fast_binary(text: str) -> bytes | None:
    """``:base64:`` with canonical padded base64, decoded; ``None`` for anything else.

    ``a2b_base64(strict_mode=True)`` enforces the alphabet and the padding rules itself, so
    it stands in for the RFC 9651 section 4.2.7 checks on this shape (a differential test
    against http_sf holds it to that).
    """
    if len(text) < 6 or text[0] != ":" or text[-1] != ":" or len(text) % 4 != 2:
        return None
    try:
        return binascii.a2b_base64(text[1:-1], strict_mode=True)
    except ValueError:
        return None


def _parse_item(text: str, lead: int) -> bytes:
    fast = _fast_binary(text)
    if fast is not None:
        return fast
    item = _sf_parse(text, "item", lead)
    if not isinstance(item, tuple) or not isinstance(item[0], bytes):
        raise ForwardedHeaderError(
            "Client-Cert is not a byte sequence", format=FORMAT, position=lead
        )
    return item[0]


def _parse_list(text: str) -> list[bytes]:
    text, lead = strip_ows(text)
    if not text:
        return []
    parts = _LIST_SEPARATOR.split(text)
    if len(parts) > MAX_CHAIN_CERTS:
        raise ForwardedHeaderError(f"more than {MAX_CHAIN_CERTS} certificates", format=FORMAT)
    fast: list[bytes] = []
    for part in parts:
        der = _fast_binary(part)
        if der is None:
            break
        fast.append(der)
    else:
        return fast
    members = _sf_parse(text, "list", lead)
    if not isinstance(members, list):  # pragma: no cover - tltype="list" returns a list
        raise ForwardedHeaderError("Client-Cert-Chain is not a list", format=FORMAT)
    out: list[bytes] = []
    for index, member in enumerate(members):
        if not isinstance(member, tuple) or not isinstance(member[0], bytes):
            raise ForwardedHeaderError(
                f"Client-Cert-Chain member {index} is not a byte sequence", format=FORMAT
            )
        if not member[0]:
            raise ForwardedHeaderError(f"Client-Cert-Chain member {index} is empty", format=FORMAT)
        out.append(member[0])
    if len(out) > MAX_CHAIN_CERTS:
        raise ForwardedHeaderError(f"more than {MAX_CHAIN_CERTS} certificates", format=FORMAT)
    return out


def _sf_parse(text: str, tltype: str, lead: int) -> http_sf.StructuredType:
    if text.count(";") > _MAX_SEMICOLONS:
        raise ForwardedHeaderError("too many parameters", format=FORMAT)
    if not text.isascii():
        # RFC 9651 section 4.2: a field value with non-ASCII octets fails parsing.
        position = next(i for i, ch in enumerate(text) if not ch.isascii())
        raise ForwardedHeaderError("non-ASCII character", format=FORMAT, position=lead + position)
    try:
        return http_sf.parse(text.encode("ascii"), tltype=tltype)
    except ValueError as exc:  # http_sf.StructuredFieldError
        at = getattr(exc, "position", None)
        raise ForwardedHeaderError(
            "not a valid structured field",
            format=FORMAT,
            position=lead + at if isinstance(at, int) else None,
        ) from None
