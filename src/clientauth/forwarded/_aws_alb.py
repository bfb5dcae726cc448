"""AWS Application Load Balancer mutual TLS: ``X-Amzn-Mtls-Clientcert(-Leaf)``.

ALB user guide, "HTTP headers and mutual TLS": in *verify* mode the ALB checks the chain
against its trust store and sends ``X-Amzn-Mtls-Clientcert-Leaf``, the leaf "in URL-encoded
PEM format, with ``+``, ``=`` and ``/`` as safe characters"; in *passthrough* mode it checks
nothing and sends ``X-Amzn-Mtls-Clientcert``, the whole chain the client presented in the
same encoding (PEM blocks one after another, leaf first).

So the value is percent-decoded with ``unquote`` semantics, never ``unquote_plus``: a
literal ``+`` is base64 data, and turning it into a space would corrupt the certificate
without a decoding error (it would just be dropped as whitespace). Both headers are read by
this one parser; which header is configured decides which mode is trusted.
"""

from __future__ import annotations

from cryptography import x509

from ._common import load_pem_certificates, percent_decode, refuse_folded, strip_ows

__all__ = ["FORMAT", "parse"]

FORMAT = "aws-alb"


def parse(value: str, chain: list[str] | None = None) -> list[x509.Certificate]:
    """The certificates in the header, leaf first; ``[]`` for an empty value."""
    text, lead = strip_ows(value)
    if not text:
        return []
    # The ALB escapes ',' (it is not among its safe characters): a literal one joins values.
    refuse_folded(text, FORMAT, offset=lead)
    # Positions refer to the percent-decoded text.
    return load_pem_certificates(percent_decode(text, FORMAT, offset=lead), FORMAT)
