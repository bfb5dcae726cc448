"""Fuzz certificate loading and everything that reads a parsed certificate.

The input is tried as DER and as PEM (``load_certificate``); whatever parses goes through
``certificate_thumbprint``, the registered-name matchers, ``certificate_name_keys``, the PKI
verifier and the pinned verifier. Invariants: only ClientAuthError escapes; a verifier
accepts a certificate only if it is byte-for-byte the genuine leaf it was seeded with (a
mutation that still verifies would be a signature-check bypass).

    python fuzz/fuzz_certificate.py -max_total_time=60
    python fuzz/fuzz_certificate.py --hypothesis -max_total_time=60
"""

from __future__ import annotations

import base64
import sys

from _fuzzlib import PKI, ContractViolation, clock, guarded, main, self_signed
from cryptography import x509

from clientauth import Client, PinnedVerifier, PKIVerifier, certificate_thumbprint
from clientauth._x509 import load_certificate
from clientauth.names import NAME_FIELDS, RegisteredName, certificate_name_keys

LEAF = PKI.leaf("fuzz-client", san_dns=["client.example"], san_email=["a@example.com"])
PINNED = self_signed("fuzz-pinned")
_PKI_CLIENT = Client.from_metadata({
    "client_id": "pki", "token_endpoint_auth_method": "tls_client_auth",
    "tls_client_auth_subject_dn": "CN=fuzz-client",
})
_PINNED_CLIENT = Client.from_metadata({
    "client_id": "pinned", "token_endpoint_auth_method": "self_signed_tls_client_auth",
    "tls_client_certificates": [PINNED.pem],
})
_NAMES = [
    RegisteredName.parse(field, value)
    for field, value in zip(
        NAME_FIELDS,
        ["CN=fuzz-client", "client.example", "spiffe://x/y", "192.0.2.1", "a@example.com"],
        strict=True,
    )
]
_PKI = PKIVerifier([PKI.root.cert], intermediates=[PKI.intermediate.cert], now=clock(),
                   cache_size=0)
_PINNED = PinnedVerifier(now=clock())


def _exercise(cert: x509.Certificate) -> None:
    certificate_thumbprint(cert)
    guarded(lambda: certificate_name_keys(cert))
    for registered in _NAMES:
        guarded(lambda registered=registered: registered.matches(cert))
        guarded(lambda registered=registered: registered.presented(cert))
    check = _PKI.verify([cert, PKI.intermediate.cert], _PKI_CLIENT)
    if check.ok and cert != LEAF.cert:
        raise ContractViolation("PKI verifier accepted a certificate that is not the seed leaf")
    check = _PINNED.verify([cert], _PINNED_CLIENT)
    if check.ok and cert != PINNED.cert:
        raise ContractViolation("pinned verifier accepted a certificate that is not pinned")


def target(data: bytes) -> None:
    for candidate in (data, data.decode("latin-1")):
        cert = guarded(lambda candidate=candidate: load_certificate(candidate))
        if cert is not None:
            assert isinstance(cert, x509.Certificate)
            _exercise(cert)
    guarded(lambda: certificate_thumbprint(data))


def _pem_of(der: bytes) -> bytes:
    body = base64.encodebytes(der)
    return b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"


SEEDS = [
    LEAF.der,
    PINNED.der,
    PKI.intermediate.der,
    _pem_of(LEAF.der),
    LEAF.der[: len(LEAF.der) // 2],
    b"0\x82\xff\xff",
]

if __name__ == "__main__":
    main(target, SEEDS, "fuzz_certificate")
    sys.exit(0)
