"""nginx: ``$ssl_client_escaped_cert`` (and the deprecated ``$ssl_client_cert``).

ngx_http_ssl_module: ``$ssl_client_escaped_cert`` "returns the client certificate in the PEM
format (urlencoded)" (1.13.5+). It is escaped with ``ngx_escape_uri(..., NGX_ESCAPE_URI_
COMPONENT)``: every octet but the RFC 3986 unreserved ones becomes ``%XX`` with uppercase
hex, so line breaks are ``%0A``, spaces ``%20`` and base64's ``+ / =`` are ``%2B %2F %3D``.

The older ``$ssl_client_cert`` is PEM "with each line except the first prepended with the
tab character", meant for ``proxy_set_header``; by the time it reaches the application the
line breaks may be obs-folded (RFC 9112 section 5.2) into spaces or kept as ``\\n\\t``.
It contains no ``%``, so one parser reads both: percent-decode when escaped, then PEM with
whitespace anywhere between base64 lines.

No certificate: the variable is empty, and ``proxy_set_header`` drops a field whose value is
empty, so the header is absent; an empty value is read the same way. nginx has no variable
for the rest of the client's chain: leaf only.
"""

from __future__ import annotations

from cryptography import x509

from ._common import load_pem_certificates, percent_decode, refuse_folded, strip_ows

__all__ = ["FORMAT", "parse"]

FORMAT = "nginx"


def parse(value: str, chain: list[str] | None = None) -> list[x509.Certificate]:
    """The leaf certificate, or ``[]`` for an empty value."""
    text, lead = strip_ows(value)
    if not text:
        return []
    # nginx escapes ',' as %2C: a literal one joins two values.
    refuse_folded(text, FORMAT, offset=lead)
    if "%" in text:
        # Positions from here on refer to the percent-decoded text.
        return load_pem_certificates(percent_decode(text, FORMAT, offset=lead), FORMAT, limit=1)
    return load_pem_certificates(text, FORMAT, offset=lead, limit=1)
