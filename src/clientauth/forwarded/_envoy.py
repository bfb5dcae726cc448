"""Envoy: ``x-forwarded-client-cert`` (XFCC).

Envoy HTTP header docs, "x-forwarded-client-cert": the value is a comma-separated list of
*elements*, one per proxy hop that appended one (leftmost oldest: the edge proxy's view of
the original client comes first). An element is ``;``-separated ``key=value`` pairs; keys
are case-insensitive. Keys: ``By`` (a URI SAN of the proxy's own certificate), ``Hash`` (hex
SHA-256 of the client certificate's DER), ``Cert`` (the URL-encoded PEM leaf), ``Chain`` (the
URL-encoded PEM chain *including* the leaf), ``Subject``, ``URI``, ``DNS``.

How Envoy builds one element (``ConnectionManagerUtility::mutateXfccRequestHeader`` in
Envoy's ``source/common/http/conn_manager_utility.cc``), in this order: ``By=<uri>`` once per
URI SAN of its own certificate, unquoted; ``Hash=<64 lowercase hex>``; then the configured
details in a fixed order -- ``Cert="..."`` and ``Chain="..."`` (quoted; the PEM with LF,
space, ``+``, ``/`` and ``=`` percent-encoded), ``Subject="..."`` (quoted; the OpenSSL
``XN_FLAG_RFC2253`` string, whose own escaping turns ``"`` into ``\\"`` and ``\\`` into
``\\\\``), ``URI=<uri>`` once per URI SAN (or one empty ``URI=``; before Envoy 1.25 only the
first), ``DNS=<name>`` once per DNS SAN. ``By``, ``URI`` and ``DNS`` are written **verbatim
and unquoted** (Envoy's own code carries "TODO: handle the special characters in By and URI
fields"): whoever controls the client certificate's SANs controls those bytes.

Security choices:

* Splitting happens only outside double quotes, so a ``Subject`` DN full of commas cannot
  fake a new element. Quoted values are kept as written (Envoy adds no escaping layer of its
  own; a ``\\"`` inside ``Subject`` is the DN's escape).
* Every element must have the shape Envoy writes: known keys only; ``Hash``, ``Cert``,
  ``Chain``, ``Subject`` at most once (a parser that takes the first and one that takes the
  last would see different clients); ``By`` before everything else; nothing but ``URI`` /
  ``DNS`` after the first ``URI`` / ``DNS`` (anything after them can only have come from a
  SAN); ``Hash`` wherever ``Cert`` or ``Chain`` is.
* Every element that carries its certificate must round-trip with it: ``Hash`` is its
  SHA-256, ``Chain`` starts with ``Cert``, the ``URI`` and ``DNS`` values are exactly its SANs
  and ``Subject`` is its subject. A certificate whose URI or DNS SAN holds ``,`` or ``;`` (the
  injection of a forged element, or of pairs, through Envoy's unquoted values) splits its own
  value, which then no longer equals the SAN: the whole header is refused.
* An element carrying ``URI`` / ``DNS`` values *without* its certificate cannot be checked;
  whatever follows it may be forged, so the chosen element must not come after one.
* With several elements the parser does not guess which hop is the client: the caller names
  it with ``element`` (``0`` for the original client when each hop appends, ``-1`` for the
  peer of the last proxy) or, better, with ``element_by``: the one element whose ``By`` is
  the given proxy identity; two elements claiming it are refused.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import re

from cryptography import x509

from clientauth._cache import LRU, CertificateMemo
from clientauth._x509 import CERTIFICATE_ERRORS, certificate_thumbprint
from clientauth.exceptions import ConfigurationError, DistinguishedNameError, ForwardedHeaderError
from clientauth.names import dn_of, parse_dn

from ._common import (
    MAX_CACHED_HEADER_SIZE,
    load_pem_certificates,
    percent_decode,
    strip_ows,
)

__all__ = [
    "FORMAT",
    "MAX_IDENTITY_LENGTH",
    "MAX_PAIRS",
    "check_element_by",
    "parse",
    "split_elements",
]

FORMAT = "envoy"

# The start of one key=value pair, up to the value: either its opening double quote or the
# whole unquoted value, which stops at a separator or a quote (a quote there is an error,
# reported by the caller). The possessive quantifiers (Python 3.11) forbid backtracking.
_PAIR = re.compile(r'[ \t]*+([^=,;"]+?)[ \t]*=[ \t]*+(?:"|([^,;"]*+))')
# The rest of a quoted value holding a backslash: runs and backslash escapes up to the closing
# quote, possessive so that an unterminated quote fails in linear time.
_QUOTED_REST = re.compile(r'(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_OWS = re.compile(r"[^ \t]")
_HASH = re.compile(r"[0-9a-fA-F]{64}")

MAX_PAIRS = 512
"""Most key=value pairs read from one XFCC value (all elements). Real ones hold a handful per
hop, ``DNS`` / ``URI`` repeating once per SAN; the cap bounds work on a trusted proxy's
pathological header (16K pairs would take ~70 ms)."""

MAX_IDENTITY_LENGTH = 2048
"""Longest ``element_by`` proxy identity accepted (a URI SAN; SPIFFE IDs are at most 2048
bytes, SPIFFE-ID specification section 2.3)."""

_KEYS = frozenset({"by", "hash", "cert", "chain", "subject", "uri", "dns"})
_ONCE = frozenset({"hash", "cert", "chain", "subject"})
# Characters Envoy cannot write unquoted into a By value without breaking the header, and
# whitespace (never part of a URI, RFC 3986 appendix C).
_BAD_IDENTITY = frozenset(',;"\\ \t')

Pair = tuple[str, str, int]
"""``(lowercased key, value as written between the quotes, offset of the value)``."""


def split_elements(text: str, offset: int = 0) -> list[list[Pair]]:
    """Elements of an XFCC value, each a list of pairs in order. ``text`` must be non-empty."""
    elements: list[list[Pair]] = [[]]
    pos, end, count = 0, len(text), 0
    pair = _PAIR.match
    while True:
        count += 1
        if count > MAX_PAIRS:
            raise ForwardedHeaderError(f"more than {MAX_PAIRS} key=value pairs", format=FORMAT)
        match = pair(text, pos)
        if match is None:
            raise ForwardedHeaderError("expected key=value", format=FORMAT, position=offset + pos)
        key, plain = match.groups()
        if plain is not None:
            value, value_at, pos = plain.rstrip(" \t"), match.start(2), match.end()
        else:
            value_at = match.end()
            close = _closing_quote(text, value_at)
            if close == -1:
                raise ForwardedHeaderError(
                    "unbalanced or misplaced double quote",
                    format=FORMAT,
                    position=offset + value_at - 1,
                )
            value, pos = text[value_at:close], close + 1
            if pos < end and text[pos] in " \t":
                found = _NOT_OWS.search(text, pos)
                pos = end if found is None else found.start()
        elements[-1].append((key.lower(), value, offset + value_at))
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


def _closing_quote(text: str, start: int) -> int:
    """Index of the double quote closing a quoted value whose text starts at ``start``, or -1.

    Envoy's long values (the percent-encoded ``Cert`` and ``Chain``) hold no backslash: the
    first quote closes them, found by ``str.find`` (a regex character class reads such a
    value several times slower). A backslash escapes the next character, quotes included,
    as in the ``Subject`` DN's own escaping; such a value is read with ``_QUOTED_REST``.
    """
    close = text.find('"', start)
    if close == -1 or text.find("\\", start, close) == -1:
        return close
    rest = _QUOTED_REST.match(text, start)
    return -1 if rest is None else rest.end() - 1


def check_element_by(value: object) -> str:
    """Validate an ``element_by`` proxy identity (configuration: raises ConfigurationError)."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_IDENTITY_LENGTH
        or not value.isascii()
        or not value.isprintable()
        or not _BAD_IDENTITY.isdisjoint(value)
    ):
        raise ConfigurationError(
            "element_by must be the proxy's identity as Envoy writes it in By= (a URI SAN of "
            f"the proxy's certificate, e.g. spiffe://...): printable ASCII, at most "
            f"{MAX_IDENTITY_LENGTH} characters, without spaces, quotes, backslashes, ',' or ';'"
        )
    return value


@dataclasses.dataclass(slots=True)
class _Element:
    """One element's pairs, grouped by key (layout already checked), and its certificates."""

    at: int
    by: list[str] = dataclasses.field(default_factory=list)
    once: dict[str, tuple[str, int]] = dataclasses.field(default_factory=dict)
    uri: list[str] = dataclasses.field(default_factory=list)
    dns: list[str] = dataclasses.field(default_factory=list)
    certs: list[x509.Certificate] = dataclasses.field(default_factory=list)

    @property
    def unverifiable(self) -> bool:
        """SAN values Envoy wrote unquoted, with no certificate to check them against."""
        return not self.certs and bool(self.uri or self.dns)


def _shape(pairs: list[Pair], index: int) -> _Element:
    """The element's pairs, refused unless laid out the way Envoy writes them."""
    element = _Element(pairs[0][2])
    sans_started = dns_started = False
    for key, value, at in pairs:
        if key not in _KEYS:
            raise ForwardedHeaderError(
                f"element {index}: unknown key (Envoy writes By, Hash, Cert, Chain, Subject, "
                "URI, DNS)",
                format=FORMAT,
                position=at,
            )
        if key == "by":
            if element.once or sans_started:
                raise ForwardedHeaderError(
                    f"element {index}: By after other keys", format=FORMAT, position=at
                )
            element.by.append(value)
        elif key in _ONCE:
            if sans_started:
                # Only a URI or DNS SAN written unquoted can have put it there.
                raise ForwardedHeaderError(
                    f"element {index}: {key} after URI/DNS values", format=FORMAT, position=at
                )
            if key in element.once:
                raise ForwardedHeaderError(
                    f"element {index}: repeated {key} key", format=FORMAT, position=at
                )
            element.once[key] = (value, at)
        elif key == "uri":
            if dns_started:
                raise ForwardedHeaderError(
                    f"element {index}: URI after DNS", format=FORMAT, position=at
                )
            sans_started = True
            element.uri.append(value)
        else:
            sans_started = dns_started = True
            element.dns.append(value)
    return element


def _load(element: _Element, index: int) -> None:
    """Decode the element's certificates and check every value against them."""
    once = element.once
    if "cert" in once:
        item, at = once["cert"]
        # Positions past percent-decoding refer to the decoded PEM.
        element.certs = load_pem_certificates(
            percent_decode(item, FORMAT, offset=at), FORMAT, limit=1
        )
    if "chain" in once:
        item, at = once["chain"]
        chain = load_pem_certificates(percent_decode(item, FORMAT, offset=at), FORMAT)
        if element.certs and chain[0] != element.certs[0]:
            raise ForwardedHeaderError(
                f"element {index}: Chain does not start with Cert", format=FORMAT, position=at
            )
        element.certs = chain
    if not element.certs:
        return
    leaf = element.certs[0]
    if "hash" not in once:
        raise ForwardedHeaderError(
            f"element {index}: a certificate without Hash (Envoy always writes both)",
            format=FORMAT,
            position=element.at,
        )
    digest, at = once["hash"]
    if not _HASH.fullmatch(digest) or certificate_thumbprint(leaf) != _x5t(digest):
        raise ForwardedHeaderError(
            f"element {index}: Hash does not match the certificate", format=FORMAT, position=at
        )
    if element.uri or element.dns:
        sans = _sans(leaf)
        if sans is None:
            raise ForwardedHeaderError(
                f"element {index}: the certificate's SAN cannot be read to check URI/DNS",
                format=FORMAT,
                position=element.at,
            )
        uris, names = sans
        expected = uris or [""]  # Envoy writes "URI=" for a certificate without one
        # Envoy before 1.25 wrote only the first URI SAN.
        if element.uri and element.uri != expected and element.uri != expected[:1]:
            raise ForwardedHeaderError(
                f"element {index}: URI values are not the certificate's URI SANs (a SAN "
                "holding ',' or ';' splits Envoy's unquoted value)",
                format=FORMAT,
                position=element.at,
            )
        if element.dns and element.dns != names:
            raise ForwardedHeaderError(
                f"element {index}: DNS values are not the certificate's DNS SANs (a SAN "
                "holding ',' or ';' splits Envoy's unquoted value)",
                format=FORMAT,
                position=element.at,
            )
    if "subject" in once:
        text, at = once["subject"]
        if not _subject_matches(text, leaf):
            raise ForwardedHeaderError(
                f"element {index}: Subject is not the certificate's subject",
                format=FORMAT,
                position=at,
            )


# The same leaf object comes back for the same forwarded certificate (_common.load_der):
# what is read from it to check the element is read once. The lists are never modified.
_SANS: CertificateMemo[tuple[list[str], list[str]] | None] = CertificateMemo()
_RENDERED: CertificateMemo[str | None] = CertificateMemo()


def _sans(leaf: x509.Certificate) -> tuple[list[str], list[str]] | None:
    """The leaf's URI and DNS SANs in order; ``None`` when the extension cannot be read."""
    return _SANS.get(leaf, _read_sans)


def _read_sans(leaf: x509.Certificate) -> tuple[list[str], list[str]] | None:
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    except CERTIFICATE_ERRORS:
        return None
    return (
        [g.value for g in san if isinstance(g, x509.UniformResourceIdentifier)],
        [g.value for g in san if isinstance(g, x509.DNSName)],
    )


def _x5t(digest: str) -> str:
    """A ``Hash`` value (64 hex digits, checked) as an RFC 8705 section 3.1 ``x5t#S256``:
    the form whose computation :func:`certificate_thumbprint` remembers per certificate."""
    return base64.urlsafe_b64encode(bytes.fromhex(digest)).rstrip(b"=").decode("ascii")


def _rendered_subject(leaf: x509.Certificate) -> str | None:
    """The leaf's subject as cryptography writes it in RFC 4514 form, when that subject can
    match a DN at all (``dn_of``); ``None`` otherwise."""
    try:
        subject = leaf.subject
        if not subject.rdns or dn_of(subject) is None:
            return None
        return subject.rfc4514_string()
    except CERTIFICATE_ERRORS:
        return None


def _subject_matches(text: str, leaf: x509.Certificate) -> bool:
    """Whether an RFC 2253 ``Subject`` names the leaf's subject (RFC 4518 comparison)."""
    if text and text == _RENDERED.get(leaf, _rendered_subject):
        # The subject itself, written by an RFC 4514 writer: no need to parse it back.
        return True
    try:
        subject = leaf.subject
        if not subject.rdns:
            return text == ""
        theirs = dn_of(subject)
    except CERTIFICATE_ERRORS:
        return False
    if theirs is None or not text:
        return False
    candidates = [text]
    if not text.isascii():
        # Bytes on the wire are read as ISO-8859-1; a writer that put raw UTF-8 there (Envoy
        # escapes it as \XX) still names the same subject.
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            candidates.append(text.encode("latin-1").decode("utf-8"))
    for candidate in candidates:
        try:
            if parse_dn(candidate) == theirs:
                return True
        except DistinguishedNameError:
            continue
    return False


# A client's next request through the same proxies carries the very same XFCC value, and
# reading it again (pairs, percent-decoding, PEM, the round-trip checks) would give the same
# answer: the certificates chosen from a value are remembered, keyed by the exact value *and*
# the choice of element, since the same value may be accepted under one choice and refused
# under another. Only values that parsed are remembered, so a refusal is recomputed (and
# raised) every time; nothing else goes into the answer (the certificate checks depend on the
# encoding alone). The value is certificate material the proxy forwards in clear, not a secret.
_Choice = tuple[str, int | None, str | None]
_RESULTS_SIZE = 512  # values of at most MAX_CACHED_HEADER_SIZE: at most 8 MiB of keys
_RESULTS: LRU[_Choice, tuple[x509.Certificate, ...]] = LRU(_RESULTS_SIZE)


def parse(
    value: str,
    chain: list[str] | None = None,
    element: int | None = None,
    element_by: str | None = None,
) -> list[x509.Certificate]:
    """The certificates of the chosen element, leaf first; ``[]`` when it has none."""
    if len(value) > MAX_CACHED_HEADER_SIZE:
        return _parse(value, element, element_by)
    key = (value, element, element_by)
    certs = _RESULTS.get(key)
    if certs is None:
        certs = tuple(_parse(value, element, element_by))
        _RESULTS.put(key, certs)
    return list(certs)


def _parse(value: str, element: int | None, element_by: str | None) -> list[x509.Certificate]:
    text, lead = strip_ows(value)
    if not text:
        return []
    elements = [_shape(pairs, i) for i, pairs in enumerate(split_elements(text, lead))]
    count = len(elements)
    if element_by is not None:
        matches = [i for i, e in enumerate(elements) if element_by in e.by]
        if not matches:
            raise ForwardedHeaderError(
                "no element was written by the configured proxy (By=)", format=FORMAT
            )
        if len(matches) > 1:
            raise ForwardedHeaderError(
                f"{len(matches)} elements claim the configured proxy's By=", format=FORMAT
            )
        chosen = matches[0]
    elif element is None:
        if count > 1:
            raise ForwardedHeaderError(
                f"{count} elements (proxy hops); configure which one is the client",
                format=FORMAT,
            )
        chosen = 0
    else:
        if not -count <= element < count:
            raise ForwardedHeaderError(
                f"element {element} requested, header has {count}", format=FORMAT
            )
        chosen = element % count

    for index, item in enumerate(elements):
        _load(item, index)
    for index in range(chosen):
        if elements[index].unverifiable:
            raise ForwardedHeaderError(
                f"element {index} carries URI/DNS values without its certificate: they cannot "
                f"be checked, so element {chosen} after it may be forged",
                format=FORMAT,
                position=elements[index].at,
            )
    return elements[chosen].certs
