"""``parse_forwarded``: one entry point over the per-format parsers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cryptography import x509

from clientauth.exceptions import ConfigurationError, ForwardedHeaderError

from . import _apache, _aws_alb, _azure, _caddy, _envoy, _haproxy, _nginx, _rfc9440, _traefik
from ._common import MAX_CHAIN_CERTS, MAX_HEADER_SIZE, header_text

__all__ = ["CHAIN_FORMATS", "FORMATS", "parse_forwarded"]

_Parser = Callable[[str, "list[str] | None"], list[x509.Certificate]]

_PARSERS: dict[str, _Parser] = {
    _rfc9440.FORMAT: _rfc9440.parse,
    _nginx.FORMAT: _nginx.parse,
    _haproxy.FORMAT: _haproxy.parse,
    _apache.FORMAT: _apache.parse,
    _envoy.FORMAT: _envoy.parse,
    _traefik.FORMAT: _traefik.parse,
    _aws_alb.FORMAT: _aws_alb.parse,
    _caddy.FORMAT: _caddy.parse,
    _azure.FORMAT: _azure.parse,
}

FORMATS: frozenset[str] = frozenset(_PARSERS)
"""The format names :func:`parse_forwarded` and ``ForwardedCertificates`` accept."""

CHAIN_FORMATS: frozenset[str] = frozenset({_rfc9440.FORMAT, _haproxy.FORMAT, _apache.FORMAT})
"""Formats whose chain travels in a header of its own (``chain=``)."""

_MAX_CHAIN_VALUES = 2 * MAX_CHAIN_CERTS
"""Most chain values (field lines, or Apache ``CHAIN_n`` headers incl. trailing ``(null)``)."""


def parse_forwarded(
    format: str,
    value: str | bytes,
    *,
    chain: str | bytes | Sequence[str | bytes] | None = None,
    element: int | None = None,
    element_by: str | None = None,
) -> list[x509.Certificate]:
    """Decode the client certificate a TLS-terminating proxy forwarded, leaf first.

    ``format`` is one of :data:`FORMATS`. ``value`` is the certificate header's value as
    received (``str``, or ``bytes`` read as ISO-8859-1). ``chain`` is the separate chain
    header for ``rfc9440`` (``Client-Cert-Chain``; several field lines may be given as a
    sequence), ``haproxy`` (``ssl_c_chain_der``) and ``apache`` (the ``CHAIN_0..n`` values
    in order). ``element`` picks the XFCC element (proxy hop) for ``envoy`` when there are
    several; Python indexing, so ``0`` is the oldest and ``-1`` the newest. ``element_by``
    picks instead the one element whose ``By`` is that proxy identity (a URI SAN of the
    proxy's own certificate); every element must round-trip with its own certificate.

    Returns ``[]`` when the header says there is no certificate (empty, ``(null)``, ...).
    Raises :class:`~clientauth.ForwardedHeaderError` (a ``ValueError``) for any malformed
    value, with ``position`` where it is meaningful; nothing else, whatever the value.
    This decodes only: it does not verify the certificate, nor that the header came from a
    trusted proxy -- that is :class:`ForwardedCertificates`' job.

    Raises :class:`~clientauth.ConfigurationError` for an unknown ``format``, or ``chain`` /
    ``element`` given to a format that has no use for them.
    """
    if not isinstance(format, str) or format not in _PARSERS:
        raise ConfigurationError(
            f"unknown forwarded-certificate format; expected one of {sorted(FORMATS)}"
        )
    if element is not None:
        if format != _envoy.FORMAT:
            raise ConfigurationError("element= applies to the envoy format only")
        if not isinstance(element, int) or isinstance(element, bool):
            raise ConfigurationError("element must be an int")
    if element_by is not None:
        if format != _envoy.FORMAT:
            raise ConfigurationError("element_by= applies to the envoy format only")
        if element is not None:
            raise ConfigurationError("give element= or element_by=, not both")
        _envoy.check_element_by(element_by)
    chains: list[str] | None = None
    if chain is not None:
        if format not in CHAIN_FORMATS:
            raise ConfigurationError(
                f"chain= applies to the {', '.join(sorted(CHAIN_FORMATS))} formats only"
            )
        if isinstance(chain, str | bytes | bytearray | memoryview):
            chains = [header_text(chain, format, "chain")]
        elif isinstance(chain, Sequence):
            if len(chain) > _MAX_CHAIN_VALUES:
                raise ForwardedHeaderError("too many chain values", format=format)
            chains = [header_text(item, format, "chain") for item in chain]
            if sum(map(len, chains)) > MAX_HEADER_SIZE:
                raise ForwardedHeaderError(
                    f"chain larger than {MAX_HEADER_SIZE} characters", format=format
                )
        else:
            raise ForwardedHeaderError(
                f"chain must be str, bytes or a sequence, not {type(chain).__name__}",
                format=format,
            )
    text = header_text(value, format)
    if format == _envoy.FORMAT:
        return _envoy.parse(text, None, element, element_by)
    return _PARSERS[format](text, chains)
