"""HAProxy: ``%[ssl_c_der,base64]`` and, for the chain, ``%[ssl_c_chain_der,base64]``.

HAProxy configuration manual, 7.3.4: ``ssl_c_der`` is the client certificate in DER;
the ``base64`` converter makes it one header-safe line (RFC 4648 standard alphabet, padded).
``ssl_c_chain_der`` (2.2+) is the chain the client presented, each certificate in DER,
concatenated; it comes from ``SSL_get_peer_cert_chain``, which on a server excludes the
leaf, so the DER is split by reading each outer SEQUENCE length. Should a build include the
leaf anyway, a first chain certificate identical to the leaf is dropped.

No certificate: the sample fetch fails and the log-format expression yields an empty string
(``-`` in some log contexts); both mean no certificate, unless the configuration guards the
``set-header`` with ``if { ssl_c_used }`` and the header is simply absent.
"""

from __future__ import annotations

from cryptography import x509

from clientauth.exceptions import ForwardedHeaderError

from ._common import MAX_CHAIN_CERTS, decode_base64, load_der, refuse_folded, split_der, strip_ows

__all__ = ["FORMAT", "parse"]

FORMAT = "haproxy"
_ABSENT = ("", "-")


def parse(value: str, chain: list[str] | None = None) -> list[x509.Certificate]:
    """The leaf, then the certificates of the chain header (if given), leaf first."""
    text, lead = strip_ows(value)
    # Checked before the "no certificate" markers: "-," or "," is a fold too.
    refuse_folded(text, FORMAT, offset=lead)
    rest: list[x509.Certificate] = []
    if chain:
        if len(chain) != 1:
            raise ForwardedHeaderError("expected one chain header value", format=FORMAT)
        chain_text, chain_lead = strip_ows(chain[0])
        refuse_folded(chain_text, FORMAT, offset=chain_lead, what="chain")
        if chain_text not in _ABSENT:
            der = decode_base64(chain_text, FORMAT, offset=chain_lead, what="chain")
            # Positions in chain errors are byte offsets in the decoded DER.
            rest = [load_der(piece, FORMAT) for piece in split_der(der, FORMAT)]
    if text in _ABSENT:
        if rest:
            raise ForwardedHeaderError("chain without a client certificate", format=FORMAT)
        return []
    leaf = load_der(decode_base64(text, FORMAT, offset=lead), FORMAT, offset=lead)
    if rest and rest[0] == leaf:
        del rest[0]
    if len(rest) + 1 > MAX_CHAIN_CERTS:
        raise ForwardedHeaderError(f"more than {MAX_CHAIN_CERTS} certificates", format=FORMAT)
    return [leaf, *rest]
