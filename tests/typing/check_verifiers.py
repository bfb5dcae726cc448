"""Never executed: mypy --strict checks that custom certificate verifiers written either way
satisfy :class:`clientauth.CertificateVerifier` (issue 17 item 3), and that the moved modules
type under their former names (item 6)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

import clientauth
from clientauth.registry_file import FileRegistry
from clientauth.registry_sql import SQLRegistry


class TwoArguments:
    def verify(self, chain: Sequence[x509.Certificate],
               client: clientauth.Client) -> clientauth.CertificateCheck:
        return clientauth.CertificateCheck.failed(clientauth.Failure.UNTRUSTED_CHAIN, "no")


class WithThumbprint:
    def verify(self, chain: Sequence[x509.Certificate], client: clientauth.Client, *,
               leaf_thumbprint: str | None = None) -> clientauth.CertificateCheck:
        return clientauth.CertificateCheck.failed(clientauth.Failure.UNTRUSTED_CHAIN, "no")


def _usage(registry: FileRegistry | SQLRegistry) -> None:
    pki: clientauth.CertificateVerifier = TwoArguments()
    pinned: clientauth.CertificateVerifier = WithThumbprint()
    clientauth.Authenticator(registry, pki=pki, pinned=pinned)
    clientauth.Authenticator(registry, pki=clientauth.PKIVerifier(),
                             pinned=clientauth.PinnedVerifier())
