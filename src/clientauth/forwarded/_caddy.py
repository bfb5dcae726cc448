"""Caddy: ``header_up <name> {http.request.tls.client.certificate_der_base64}``.

Caddy's HTTP placeholders: ``certificate_der_base64`` is the leaf's DER in standard, padded
base64 (Go ``base64.StdEncoding``). Caddy has no fixed header name; the proxy configuration
chooses one. Without a client certificate the placeholder is empty.
"""

from __future__ import annotations

from cryptography import x509

from ._common import decode_base64, load_der, strip_ows

__all__ = ["FORMAT", "parse"]

FORMAT = "caddy"


def parse(value: str, chain: list[str] | None = None) -> list[x509.Certificate]:
    """The leaf certificate, or ``[]`` for an empty value."""
    text, lead = strip_ows(value)
    if not text:
        return []
    return [load_der(decode_base64(text, FORMAT, offset=lead), FORMAT, offset=lead)]
