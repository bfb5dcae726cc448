"""Azure App Service: ``X-ARR-ClientCert``.

App Service docs ("Configure TLS mutual authentication"): the front ends put the client
certificate in ``X-ARR-ClientCert`` as base64 of the DER (their samples decode it with
``Convert.FromBase64String``) and do not validate it unless told to. Application Gateway
rewrite rules that copy ``{var_client_certificate}`` into the same header send PEM instead,
sometimes percent-encoded; both armoured forms are tolerated and must hold one certificate.
"""

from __future__ import annotations

from cryptography import x509

from ._common import (
    decode_base64,
    load_der,
    load_pem_certificates,
    percent_decode,
    refuse_folded,
    strip_ows,
)

__all__ = ["FORMAT", "parse"]

FORMAT = "azure"
_PEM_ESCAPED = "-----BEGIN%20CERTIFICATE-----"


def parse(value: str, chain: list[str] | None = None) -> list[x509.Certificate]:
    """The leaf certificate, or ``[]`` for an empty value."""
    text, lead = strip_ows(value)
    if not text:
        return []
    refuse_folded(text, FORMAT, offset=lead)
    if text.startswith(_PEM_ESCAPED):
        return load_pem_certificates(percent_decode(text, FORMAT, offset=lead), FORMAT, limit=1)
    if text.startswith("-----BEGIN"):
        return load_pem_certificates(text, FORMAT, offset=lead, limit=1)
    return [load_der(decode_base64(text, FORMAT, offset=lead), FORMAT, offset=lead)]
