"""Caddy: ``header_up <name> {http.request.tls.client.certificate_der_base64}``.

Caddy's HTTP placeholders: ``certificate_der_base64`` is the leaf's DER in standard, padded
base64 (Go ``base64.StdEncoding``). Caddy has no fixed header name; the proxy configuration
chooses one. Without a client certificate Caddy (2.6, ``header_up``) cannot fill the
placeholder and leaves its text as it is: the header holds
``{http.request.tls.client.certificate_der_base64}`` literally. That text, like an empty
value, means "no certificate" -- the proxy's marker, as Apache's ``(null)`` is.
"""

from __future__ import annotations

from cryptography import x509

from ._common import decode_base64, load_der, refuse_folded, strip_ows

__all__ = ["FORMAT", "parse"]

FORMAT = "caddy"
_UNFILLED = "{http.request.tls.client.certificate_der_base64}"


def parse(value: str, chain: list[str] | None = None) -> list[x509.Certificate]:
    """The leaf certificate, or ``[]`` for an empty value."""
    text, lead = strip_ows(value)
    # Checked before the marker: "{...},VALUE" is a client's value beside the proxy's.
    refuse_folded(text, FORMAT, offset=lead)
    if not text or text == _UNFILLED:
        return []
    return [load_der(decode_base64(text, FORMAT, offset=lead), FORMAT, offset=lead)]
