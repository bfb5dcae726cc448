"""Apache httpd: ``RequestHeader set X-Client-Cert "%{SSL_CLIENT_CERT}s"``.

mod_ssl exports ``SSL_CLIENT_CERT`` (PEM) and ``SSL_CLIENT_CERT_CHAIN_n`` (PEM, n = 0, 1,
...; from ``SSL_get_peer_cert_chain``, so the leaf is not among them). mod_headers cannot put
a line break in a field value and replaces CR/LF with spaces, giving
``-----BEGIN CERTIFICATE----- MIIB... -----END CERTIFICATE-----``. A variable that is not
set expands to the literal ``(null)``: that is how "no certificate" arrives, and how the
unused ``CHAIN_n`` headers of a fixed configuration arrive.

The chain is passed as the sequence of ``CHAIN_0..n`` values in order. Trailing ``(null)``
values are ignored; a certificate after a ``(null)`` means a gap, which no mod_ssl produces.
"""

from __future__ import annotations

from cryptography import x509

from clientauth.exceptions import ForwardedHeaderError

from ._common import MAX_CHAIN_CERTS, load_pem_certificates, refuse_folded, strip_ows

__all__ = ["FORMAT", "parse"]

FORMAT = "apache"
_ABSENT = ("", "(null)")


def parse(value: str, chain: list[str] | None = None) -> list[x509.Certificate]:
    """The leaf, then the ``CHAIN_n`` certificates (if given), leaf first."""
    text, lead = strip_ows(value)
    # Checked before the "(null)" marker: "(null),PEM" is a client's PEM beside the proxy's
    # "no certificate".
    refuse_folded(text, FORMAT, offset=lead)
    rest: list[x509.Certificate] = []
    gap = False
    for index, item in enumerate(chain or ()):
        item_text, item_lead = strip_ows(item)
        refuse_folded(item_text, FORMAT, offset=item_lead, what=f"chain certificate {index}")
        if item_text in _ABSENT:
            gap = True
            continue
        if gap:
            raise ForwardedHeaderError(
                f"chain certificate {index} follows an empty one", format=FORMAT
            )
        rest.extend(load_pem_certificates(item_text, FORMAT, offset=item_lead, limit=1))
        if len(rest) + 1 > MAX_CHAIN_CERTS:
            raise ForwardedHeaderError(f"more than {MAX_CHAIN_CERTS} certificates", format=FORMAT)
    if text in _ABSENT:
        if rest:
            raise ForwardedHeaderError("chain without a client certificate", format=FORMAT)
        return []
    leaf = load_pem_certificates(text, FORMAT, offset=lead, limit=1)[0]
    if rest and rest[0] == leaf:
        del rest[0]
    return [leaf, *rest]
