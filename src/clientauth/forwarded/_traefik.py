"""Traefik: the ``passTLSClientCert`` middleware with ``pem: true``.

Traefik writes ``X-Forwarded-Tls-Client-Cert``: every certificate the client presented
(Go's ``tls.ConnectionState.PeerCertificates``, leaf first), each PEM stripped of its armor
and line breaks -- i.e. bare standard base64 of the DER -- joined with ``,``. Releases before
v2.9.2 also passed the joined value through ``url.QueryEscape`` (``+ / = ,`` become
``%2B %2F %3D %2C``); base64 never contains ``%``, so a ``%`` means that older form.
Without a client certificate Traefik does not set the header.

Because ``,`` is this format's own separator, a WSGI server's fold of two spellings of the
header (``A,B``) reads as a chain; only an empty member (a fold with an empty value) is
refused. The other formats refuse any comma; docs/security.md says what that leaves to the
deployer behind Traefik.
"""

from __future__ import annotations

from cryptography import x509

from clientauth.exceptions import ForwardedHeaderError

from ._common import MAX_CHAIN_CERTS, decode_base64, load_der, percent_decode, strip_ows

__all__ = ["FORMAT", "parse"]

FORMAT = "traefik"


def parse(value: str, chain: list[str] | None = None) -> list[x509.Certificate]:
    """Every certificate in the header, leaf first; ``[]`` for an empty value."""
    text, lead = strip_ows(value)
    if not text:
        return []
    if "%" in text:
        # Positions from here on refer to the percent-decoded text.
        text, lead = percent_decode(text, FORMAT, offset=lead), 0
    parts = text.split(",")
    if len(parts) > MAX_CHAIN_CERTS:
        raise ForwardedHeaderError(f"more than {MAX_CHAIN_CERTS} certificates", format=FORMAT)
    certs: list[x509.Certificate] = []
    start = lead
    for part in parts:
        item, item_lead = strip_ows(part)
        der = decode_base64(item, FORMAT, offset=start + item_lead)
        certs.append(load_der(der, FORMAT, offset=start + item_lead))
        start += len(part) + 1
    return certs
