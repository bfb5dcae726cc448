"""Who may forward a certificate: :class:`ForwardedCertificates`.

A TLS-terminating proxy verifies the client certificate and passes it on in a header. Any
client can send that header too, so the header is honoured only when the request provably
came through the proxy: the immediate peer is in ``trusted_proxies``, the request carries
the proxy's shared secret, and/or the TLS peer presented one of the proxy's own certificates
(``proxy_certificates``: mutual TLS on the proxy-to-app hop); every technique configured must
hold. From anyone else it is ignored and reported
(:attr:`~clientauth.Notice.UNTRUSTED_FORWARDED_HEADER`). What is *not* verified here: the
certificate itself -- chain, validity, names are the verifiers' job, unless the user opts in
to trusting the proxy's verify flag.
"""

from __future__ import annotations

import base64
import dataclasses
import hmac
import ipaddress
import re
from collections.abc import Iterable
from types import MappingProxyType

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from clientauth._cache import LRU, CertificateMemo
from clientauth._x509 import CertificateLike, load_certificates
from clientauth.exceptions import ConfigurationError, ForwardedHeaderError, ParseError
from clientauth.request import ClientRequest
from clientauth.result import Failure, Notice

from . import _apache, _aws_alb, _azure, _caddy, _envoy, _haproxy, _nginx, _rfc9440, _traefik
from ._common import MAX_CACHED_HEADER_SIZE, MAX_CHAIN_CERTS, foreign_spellings
from ._parse import CHAIN_FORMATS, FORMATS, parse_forwarded

__all__ = ["DEFAULT_HEADERS", "ForwardedCertificates", "ForwardedOutcome"]

DEFAULT_HEADERS: MappingProxyType[str, str] = MappingProxyType(
    {
        # RFC 9440 section 2.2
        _rfc9440.FORMAT: "client-cert",
        # the conventional proxy_set_header / RequestHeader names
        _nginx.FORMAT: "x-ssl-client-cert",
        _haproxy.FORMAT: "x-ssl-client-cert",
        _apache.FORMAT: "x-client-cert",
        # Envoy's own header name
        _envoy.FORMAT: "x-forwarded-client-cert",
        # Traefik passTLSClientCert's fixed name
        _traefik.FORMAT: "x-forwarded-tls-client-cert",
        # ALB verify mode; passthrough mode sends x-amzn-mtls-clientcert (set header=)
        _aws_alb.FORMAT: "x-amzn-mtls-clientcert-leaf",
        # Caddy has no fixed name; this is what clientauth's examples configure
        _caddy.FORMAT: "x-client-cert",
        # App Service's fixed name
        _azure.FORMAT: "x-arr-clientcert",
    }
)
"""Certificate header read for each format when ``header=`` is not given (lowercase)."""

DEFAULT_CHAIN_HEADERS: MappingProxyType[str, str] = MappingProxyType(
    {_rfc9440.FORMAT: "client-cert-chain"}  # RFC 9440 section 2.3
)

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")
"""RFC 9110 section 5.6.2 ``tchar``, lowercase (names are compared lowercased)."""
_MIN_SECRET_LENGTH = 16
# Parsed-header cache: entries of at most MAX_CACHED_HEADER_SIZE of header text (one
# client's leaf, or leaf and chain), 1024 of them per ForwardedCertificates; peer-address
# verdicts likewise bounded.
_PARSED_CACHE_SIZE = 1024
_PEER_CACHE_SIZE = 1024
_OWS = " \t"
# RFC 8705 section 3.1 x5t#S256: base64url (RFC 4648 section 5) of a SHA-256 digest, no
# padding -- 43 characters, the last one carrying 2 bits (so one of A, E, I, ..., w).
_THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")
_PEM_MARKER = "-----BEGIN"
_SHA256 = hashes.SHA256()
# The proxy's one certificate arrives with every request (the same object, from the parse
# cache): its digest is remembered rather than re-encoded and hashed each time.
_DIGESTS: CertificateMemo[bytes] = CertificateMemo(_PEER_CACHE_SIZE)


@dataclasses.dataclass(frozen=True, slots=True)
class ForwardedOutcome:
    """What :meth:`ForwardedCertificates.extract` found in one request.

    ``chain`` is the forwarded certificates, leaf first; ``()`` when none was forwarded or
    the header was ignored. ``failure`` is :attr:`~clientauth.Failure.FORWARDED_HEADER_INVALID`
    when a *trusted* proxy's header is malformed or duplicated. ``notices`` holds
    :attr:`~clientauth.Notice.UNTRUSTED_FORWARDED_HEADER` when the header came from anyone
    else and was ignored. ``proxy_verified`` is true only when the user opted in to the
    proxy's verify flag and the flag said success. ``peer_is_proxy`` is true when the
    request's TLS peer presented one of the configured ``proxy_certificates``: that
    certificate is the proxy's, never a client credential, whether or not a header was
    forwarded.
    """

    chain: tuple[x509.Certificate, ...]
    source: str
    failure: Failure | None = None
    detail: str = ""
    notices: tuple[Notice, ...] = ()
    proxy_verified: bool = False
    peer_is_proxy: bool = False


class ForwardedCertificates:
    """Reads a client certificate forwarded by a trusted TLS-terminating proxy.

    ``format`` names the proxy's encoding (see :data:`FORMATS`); ``header`` and
    ``chain_header`` override the default names (:data:`DEFAULT_HEADERS`; for ``apache``,
    ``chain_header`` is a *prefix*: ``x-client-cert-chain-`` reads ``...-0``, ``...-1``, ...).

    Trust: ``trusted_proxies`` are the addresses / networks (``"10.0.0.0/8"``, ``"::1"``) of
    the proxies; the request's ``peer`` must be one. ``peer`` is an IP address without a
    port (``"[::1]"`` brackets are tolerated; IPv4-mapped IPv6 matches the IPv4 network); a
    peer that is missing or unparseable is untrusted (a proxy on a Unix socket needs
    ``shared_secret``). ``shared_secret=(header_name, value)`` requires the proxy to send
    that header with that value (compared in constant time). ``proxy_certificates`` pins the
    certificate the proxy presents on its own TLS connection to the app (nginx
    ``proxy_ssl_certificate``, HAProxy ``server ... ssl crt``, Apache
    ``SSLProxyMachineCertificateFile``, Caddy ``tls_client_auth``): each pin is PEM text, an
    ``x509.Certificate`` or its ``x5t#S256`` (:func:`~clientauth.certificate_thumbprint`), and
    the request's TLS peer leaf (``ClientRequest.tls_chain[0]``) must match one (compared in
    constant time; give two while rotating). A TLS peer that matches is the proxy: its
    certificate is never taken as a client's, with or without a header. Any other TLS peer is
    an ordinary direct-mTLS client, and a header it sends is ignored. Every technique
    configured must hold; at least one is required, ``0.0.0.0/0`` / ``::/0`` and an empty pin
    list are refused.

    ``element`` (an index) or ``element_by`` (the proxy identity Envoy writes as ``By=``, a
    URI SAN of the proxy's own certificate) picks the XFCC element for ``envoy`` (see
    :func:`parse_forwarded`); prefer ``element_by``. Whatever is chosen, every element must
    round-trip with its own certificate (``Hash``, ``URI``, ``DNS``, ``Subject``), so a client
    certificate whose SANs smuggle separators cannot forge an element.

    ``verify_header`` names the proxy's verify-result header (nginx ``$ssl_client_verify``,
    Apache ``SSL_CLIENT_VERIFY``: ``SUCCESS``; HAProxy ``ssl_c_verify``: ``0`` -- set
    ``verify_success``). When it is configured and does not say ``verify_success``, the
    forwarded certificate is dropped. ``trust_proxy_verification=True`` additionally marks
    the outcome ``proxy_verified`` on success (off by default; requires ``verify_header``).
    What the :class:`~clientauth.Authenticator` then trusts is exactly the proxy's *path
    validation*: that the chain leads to a CA the proxy trusts, with valid signatures, name
    constraints and path length -- for ``tls_client_auth`` clients that registered no
    ``tls_client_auth_trust_anchors`` (the result carries ``Notice.PROXY_VERIFIED_ONLY``).
    Still checked locally on the leaf: readable extensions and RFC 5280 4.2.1.6 (empty
    subject needs a critical SAN), not a CA, validity period, ``clientAuth`` when an EKU is
    present, key strength, the registered name. A client with its own trust anchors is always
    verified locally (the proxy's CA list says nothing about them), and revocation checking
    cannot be combined with the opt-in (refused when the Authenticator is built).

    Configure once, use from any thread: instances are immutable.
    """

    __slots__ = (
        "_chain_header",
        "_element",
        "_element_by",
        "_format",
        "_header",
        "_networks",
        "_nothing",
        "_parsed",
        "_peers",
        "_pins",
        "_quick",
        "_secret",
        "_secret_header",
        "_source",
        "_trust_verification",
        "_verify_header",
        "_verify_success",
    )

    _format: str
    _parsed: LRU[tuple[str, tuple[str, ...] | None], tuple[x509.Certificate, ...]]
    _peers: LRU[str, bool]
    _header: str
    _chain_header: str | None
    _networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    _secret_header: str | None
    _secret: bytes | None
    _pins: tuple[bytes, ...]
    _element: int | None
    _element_by: str | None
    _trust_verification: bool
    _verify_header: str | None
    _verify_success: str
    _source: str
    _nothing: ForwardedOutcome
    _quick: tuple[frozenset[str], str | None] | None

    def __init__(
        self,
        format: str,
        *,
        header: str | None = None,
        chain_header: str | None = None,
        trusted_proxies: Iterable[str] = (),
        shared_secret: tuple[str, str] | None = None,
        proxy_certificates: Iterable[CertificateLike] | None = None,
        element: int | None = None,
        element_by: str | None = None,
        trust_proxy_verification: bool = False,
        verify_header: str | None = None,
        verify_success: str = "SUCCESS",
    ) -> None:
        if not isinstance(format, str) or format not in FORMATS:
            raise ConfigurationError(
                f"unknown forwarded-certificate format; expected one of {sorted(FORMATS)}"
            )
        header = _header_name(header if header is not None else DEFAULT_HEADERS[format], "header")
        if chain_header is not None and format not in CHAIN_FORMATS:
            raise ConfigurationError(
                f"chain_header applies to the {', '.join(sorted(CHAIN_FORMATS))} formats only"
            )
        if chain_header is None:
            chain_header = DEFAULT_CHAIN_HEADERS.get(format)
        if chain_header is not None:
            chain_header = _header_name(chain_header, "chain_header")
        networks = _networks(trusted_proxies)
        secret_header: str | None = None
        secret: bytes | None = None
        if shared_secret is not None:
            secret_header, secret = _shared_secret(shared_secret)
        pins = _proxy_pins(proxy_certificates) if proxy_certificates is not None else ()
        if not networks and secret is None and not pins:
            raise ConfigurationError(
                "forwarded certificates need trusted_proxies, shared_secret and/or "
                "proxy_certificates: without them anyone could send the header"
            )
        if element is not None and (
            format != _envoy.FORMAT or not isinstance(element, int) or isinstance(element, bool)
        ):
            raise ConfigurationError("element must be an int, and applies to envoy only")
        if element_by is not None:
            if format != _envoy.FORMAT:
                raise ConfigurationError("element_by applies to envoy only")
            if element is not None:
                raise ConfigurationError("give element or element_by, not both")
            element_by = _envoy.check_element_by(element_by)
        if not isinstance(trust_proxy_verification, bool):
            raise ConfigurationError("trust_proxy_verification must be a bool")
        if verify_header is not None:
            verify_header = _header_name(verify_header, "verify_header")
        if trust_proxy_verification and verify_header is None:
            raise ConfigurationError(
                "trust_proxy_verification needs verify_header: the header carrying the "
                "proxy's verify result"
            )
        if not isinstance(verify_success, str) or not verify_success.strip(_OWS):
            raise ConfigurationError("verify_success must be a non-empty string")
        names = [n for n in (header, chain_header, secret_header, verify_header) if n]
        if len(set(names)) != len(names):
            raise ConfigurationError(
                "header, chain_header, shared-secret and verify headers must all differ"
            )

        for slot, value in (
            ("_format", format),
            ("_header", header),
            ("_chain_header", chain_header),
            ("_networks", networks),
            ("_secret_header", secret_header),
            ("_secret", secret),
            ("_pins", pins),
            ("_element", element),
            ("_element_by", element_by),
            ("_trust_verification", trust_proxy_verification),
            ("_verify_header", verify_header),
            ("_verify_success", verify_success.strip(_OWS)),
            ("_source", f"forwarded:{format}"),
            ("_nothing", ForwardedOutcome((), f"forwarded:{format}")),
            ("_quick", _quick_names(format, names, chain_header)),
            # Caches of derived facts (parsed headers, peer verdicts): the settings above
            # never change; these only remember what they imply.
            ("_parsed", LRU(_PARSED_CACHE_SIZE)),
            ("_peers", LRU(_PEER_CACHE_SIZE)),
        ):
            object.__setattr__(self, slot, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ForwardedCertificates is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ForwardedCertificates is immutable")

    def __repr__(self) -> str:
        # The shared secret is a credential: only its header name is shown.
        secret = f"({self._secret_header!r}, '***')" if self._secret_header else "None"
        return (
            f"ForwardedCertificates({self._format!r}, header={self._header!r}, "
            f"chain_header={self._chain_header!r}, "
            f"trusted_proxies={[str(n) for n in self._networks]!r}, shared_secret={secret}, "
            f"proxy_certificates={[_b64url(pin) for pin in self._pins]!r}, "
            f"element={self._element!r}, element_by={self._element_by!r}, "
            f"trust_proxy_verification={self._trust_verification!r}, "
            f"verify_header={self._verify_header!r})"
        )

    @property
    def format(self) -> str:
        """The configured format name."""
        return self._format

    @property
    def header(self) -> str:
        """The certificate header read (lowercase)."""
        return self._header

    @property
    def proxy_certificates(self) -> tuple[str, ...]:
        """The ``x5t#S256`` of each pinned proxy certificate (``()`` when none is pinned)."""
        return tuple(_b64url(pin) for pin in self._pins)

    @property
    def trust_proxy_verification(self) -> bool:
        """Whether the proxy's verify flag stands in for the local path validation."""
        return self._trust_verification

    @property
    def source(self) -> str:
        """``"forwarded:<format>"``, the :attr:`AuthResult.source` of what this reads."""
        return self._source

    def extract(self, request: ClientRequest) -> ForwardedOutcome:
        """The certificate chain a trusted proxy forwarded with ``request``.

        Never raises for request content: a malformed or duplicated header from a trusted
        proxy is a ``failure``; a header from an untrusted peer is ignored with a notice.
        """
        peer_is_proxy = bool(self._pins) and self._pinned_peer(request)
        outcome = self._extract(request, peer_is_proxy)
        return dataclasses.replace(outcome, peer_is_proxy=True) if peer_is_proxy else outcome

    def _carries_nothing(self, request: ClientRequest) -> bool:
        """Whether :meth:`extract` would answer "nothing forwarded" without a certificate
        from the TLS layer: no header this policy reads, nor another spelling of one. For the
        Authenticator's shortcut (``authenticator.py``); ``False`` when unsure."""
        return self._quick is not None and not _may_carry(request, *self._quick)

    def _extract(self, request: ClientRequest, peer_is_proxy: bool) -> ForwardedOutcome:
        if self._carries_nothing(request):
            # Most requests carry no forwarded header at all (issue 18): one pass over the
            # names says so, and the answer is the one the checks below would reach.
            return self._nothing
        values = request.header_values(self._header)
        chain_lines = self._chain_values(request)
        verify_values = request.header_values(self._verify_header) if self._verify_header else []
        foreign = self._foreign_spellings(request)
        if not values and not any(chain_lines) and not verify_values and not foreign:
            return ForwardedOutcome((), self._source)

        why_untrusted = self._untrusted(request, peer_is_proxy)
        if why_untrusted:
            # Name what was sent: a spoofing attempt must not read as "no certificate" in logs.
            sent = [name for name, found in (
                (self._header, values),
                (self._chain_header, any(chain_lines)),
                (self._verify_header, verify_values),
            ) if name and found] + [repr(name) for name in foreign]
            return ForwardedOutcome(
                (),
                self._source,
                detail=f"forwarded certificate header {', '.join(sent)} ignored: {why_untrusted}",
                notices=(Notice.UNTRUSTED_FORWARDED_HEADER,),
            )

        if foreign:
            # Another spelling of a forwarded header is one header to a WSGI server (and to
            # many frameworks): the proxy let a client's copy through. Never honoured.
            return self._invalid(
                f"header {foreign[0]} is another spelling of a forwarded header; the proxy "
                "must delete every client-sent spelling"
            )
        if len(values) > 1:
            return self._invalid(f"header {self._header} given {len(values)} times")
        if len(verify_values) > 1:
            return self._invalid(f"header {self._verify_header} given {len(verify_values)} times")
        chain: list[str] | None = None
        if self._format == _apache.FORMAT:
            for index, lines in enumerate(chain_lines):
                if len(lines) > 1:
                    return self._invalid(
                        f"header {self._chain_header}{index} given {len(lines)} times"
                    )
            chain = [lines[0] for lines in chain_lines if lines] or None
        elif chain_lines:
            lines = chain_lines[0]
            if len(lines) > 1 and self._format != _rfc9440.FORMAT:
                # RFC 9440's chain is a List: several field lines are one value (RFC 9110
                # section 5.3). Every other chain header is a single value.
                return self._invalid(f"header {self._chain_header} given {len(lines)} times")
            chain = lines or None

        proxy_verified = False
        if verify_values:
            if verify_values[0].strip(_OWS) != self._verify_success:
                # The proxy says it did not verify (nginx "NONE" / "FAILED:reason"): whatever
                # it forwarded is not a verified client certificate.
                return ForwardedOutcome(
                    (),
                    self._source,
                    detail="the proxy reports the client certificate as not verified",
                )
            proxy_verified = self._trust_verification

        value = values[0] if values else ""
        # A client's next request carries the very same header: parse it once. Keyed by the
        # exact header text, so a hit is the same input; only successful parses are kept.
        key = (value, None if chain is None else tuple(chain))
        certs = self._parsed.get(key)
        if certs is None:
            try:
                certs = tuple(
                    parse_forwarded(
                        self._format,
                        value,
                        chain=chain,
                        element=self._element,
                        element_by=self._element_by,
                    )
                )
            except ForwardedHeaderError as exc:
                return self._invalid(str(exc))
            if len(value) + sum(map(len, chain or ())) <= MAX_CACHED_HEADER_SIZE:
                self._parsed.put(key, certs)
        return ForwardedOutcome(certs, self._source, proxy_verified=proxy_verified and bool(certs))

    # -- helpers

    def _trusted_peer(self, peer: str | None) -> bool:
        if peer is None:
            return False
        known = self._peers.get(peer)
        if known is None:
            known = _peer_in(peer, self._networks)
            if len(peer) <= 64:  # addresses only; anything longer is not one anyway
                self._peers.put(peer, known)
        return known

    def _chain_values(self, request: ClientRequest) -> list[list[str]]:
        """Field lines of each chain header: one entry, or one per Apache ``CHAIN_n``."""
        if self._chain_header is None:
            return []
        if self._format != _apache.FORMAT:
            lines = request.header_values(self._chain_header)
            return [lines] if lines else []
        out: list[list[str]] = []
        # Apache: CHAIN_0, CHAIN_1, ... up to the first one not sent (one spare slot so that
        # a chain that is too long is seen, and refused by the parser).
        for index in range(2 * MAX_CHAIN_CERTS):
            lines = request.header_values(f"{self._chain_header}{index}")
            if not lines:
                break
            out.append(lines)
        return out

    def _foreign_spellings(self, request: ClientRequest) -> list[str]:
        """Header names that a WSGI server would fold into one of ours (``_`` for ``-``)."""
        watched = [n for n in (self._header, self._secret_header, self._verify_header) if n]
        prefixes: list[str] = []
        if self._chain_header is not None:
            (prefixes if self._format == _apache.FORMAT else watched).append(self._chain_header)
        return foreign_spellings((name for name, _ in request.headers), watched, prefixes)

    def _pinned_peer(self, request: ClientRequest) -> bool:
        """Whether the TLS peer's leaf is one of the pinned proxy certificates."""
        if not request.tls_chain:
            return False
        try:
            # Only the leaf: a PEM element may hold a bundle (leaf first), as for the chain.
            leaf = load_certificates(request.tls_chain[:1])[0]
        except ParseError:
            return False  # unreadable: not the proxy; read_certificates reports it
        digest = _DIGESTS.get(leaf, _sha256)
        matched = False
        for pin in self._pins:
            # Every pin is compared, each in constant time: nothing is learnt from timing.
            matched |= hmac.compare_digest(digest, pin)
        return matched

    def _untrusted(self, request: ClientRequest, peer_is_proxy: bool) -> str:
        """Why the request did not come from a trusted proxy, or ``""`` if it did."""
        if self._networks and not self._trusted_peer(request.peer):
            return "the peer is not a trusted proxy"
        if self._pins and not peer_is_proxy:
            return (
                "the TLS peer presented no certificate"
                if not request.tls_chain
                else "the TLS peer's certificate is not a pinned proxy certificate"
            )
        if self._secret is not None and self._secret_header is not None:
            presented = request.header_values(self._secret_header)
            if len(presented) != 1:
                return (
                    "the proxy's shared secret is missing"
                    if not presented
                    else ("the proxy's shared-secret header is repeated")
                )
            candidate = presented[0].strip(_OWS).encode("utf-8", "surrogatepass")
            if not hmac.compare_digest(candidate, self._secret):
                return "the proxy's shared secret does not match"
        return ""

    def _invalid(self, detail: str) -> ForwardedOutcome:
        return ForwardedOutcome(
            (), self._source, failure=Failure.FORWARDED_HEADER_INVALID, detail=detail
        )


def _header_name(name: object, label: str) -> str:
    if not isinstance(name, str) or not name or not set(name.lower()) <= _TOKEN_CHARS:
        raise ConfigurationError(f"{label} must be an HTTP field name (RFC 9110 token)")
    return name.lower()


def _networks(
    entries: Iterable[str],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    if isinstance(entries, str):
        entries = (entries,)
    try:
        items = list(entries)
    except TypeError:
        raise ConfigurationError("trusted_proxies must be a list of addresses / networks") from None
    out: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for entry in items:
        if isinstance(entry, ipaddress.IPv4Network | ipaddress.IPv6Network):
            network = entry
        elif isinstance(entry, ipaddress.IPv4Address | ipaddress.IPv6Address | str):
            try:
                # strict: "10.0.0.1/8" is almost certainly a typo for a host or "10.0.0.0/8".
                network = ipaddress.ip_network(entry, strict=True)
            except ValueError:
                raise ConfigurationError(
                    f"trusted_proxies entry {entry!r} is not an IP address or network"
                ) from None
        else:
            raise ConfigurationError("trusted_proxies entries must be strings")
        if network.prefixlen == 0:
            # No permissive fallback (docs/design.md, "No unsafe defaults"): "everyone is a
            # proxy" disables the check.
            raise ConfigurationError(f"trusted_proxies entry {str(network)!r} trusts everyone")
        out.append(network)
    return tuple(out)


def _proxy_pins(entries: object) -> tuple[bytes, ...]:
    """SHA-256 digests of the pinned proxy certificates (what x5t#S256 encodes)."""
    if isinstance(entries, str | bytes | x509.Certificate):
        raise ConfigurationError("proxy_certificates must be a list of pins, not one pin")
    if not isinstance(entries, Iterable):
        raise ConfigurationError(
            "proxy_certificates must be a list of PEM texts, certificates or x5t#S256 values"
        )
    items = list(entries)
    if not items:
        # An empty list (say, read from an empty file) would silently drop the requirement.
        raise ConfigurationError("proxy_certificates is empty: pin at least one certificate")
    pins: list[bytes] = []
    for index, entry in enumerate(items):
        if isinstance(entry, str) and _PEM_MARKER not in entry:
            text = entry.strip()
            if not _THUMBPRINT.fullmatch(text):
                raise ConfigurationError(
                    f"proxy_certificates[{index}] is neither PEM nor an x5t#S256 thumbprint "
                    "(43 base64url characters, the SHA-256 of the certificate's DER)"
                )
            digest = base64.urlsafe_b64decode(text + "=")
        elif isinstance(entry, str | bytes | x509.Certificate):
            try:
                (certificate,) = load_certificates([entry], limit=1)
            except (ParseError, ValueError):
                raise ConfigurationError(
                    f"proxy_certificates[{index}] is not one readable certificate"
                ) from None
            digest = certificate.fingerprint(_SHA256)
        else:
            raise ConfigurationError(
                f"proxy_certificates[{index}] must be PEM text, an x509.Certificate or an "
                f"x5t#S256 string, not {type(entry).__name__}"
            )
        if digest not in pins:
            pins.append(digest)
    return tuple(pins)


def _sha256(certificate: x509.Certificate) -> bytes:
    return certificate.fingerprint(_SHA256)


def _b64url(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _shared_secret(pair: object) -> tuple[str, bytes]:
    if not isinstance(pair, tuple) or len(pair) != 2:
        raise ConfigurationError("shared_secret must be a (header_name, value) pair")
    name, value = pair
    name = _header_name(name, "shared_secret header name")
    if (
        not isinstance(value, str)
        or not value.isascii()
        or not value.isprintable()
        or value != value.strip(_OWS)
        or len(value) < _MIN_SECRET_LENGTH
    ):
        # Never echo the value.
        raise ConfigurationError(
            f"shared_secret value must be printable ASCII without surrounding spaces, "
            f"at least {_MIN_SECRET_LENGTH} characters (use clientauth.generate_secret())"
        )
    return name, value.encode("ascii")


def _peer_in(
    peer: str | None, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    if not peer:
        return False
    text = peer.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
            address = address.ipv4_mapped
        elif address.scope_id:
            address = ipaddress.IPv6Address(text.partition("%")[0])
    return any(address in network for network in networks)


def _quick_names(
    format: str, names: list[str], chain_header: str | None
) -> tuple[frozenset[str], str | None] | None:
    """What :func:`_may_carry` looks for: every configured header name, and Apache's chain
    prefix. ``None`` when a configured name holds a ``_``: then a dashed name can fold into
    it, and only the full check (:meth:`ForwardedCertificates._foreign_spellings`) decides."""
    if any("_" in name for name in names):
        return None
    return frozenset(names), chain_header if format == _apache.FORMAT else None


def _may_carry(request: ClientRequest, names: frozenset[str], prefix: str | None) -> bool:
    """Whether ``request`` has a header that the forwarded checks read: a configured name,
    an Apache chain header, or any name with a ``_`` (a possible other spelling of one)."""
    for name, _ in request.headers:
        if name in names or "_" in name or (prefix is not None and name.startswith(prefix)):
            return True
    return False
