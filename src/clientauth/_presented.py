"""The client certificate chain a request presents, read once for every mode.

Both the authorization server (:class:`~clientauth.Authenticator`) and a resource server
(:class:`~clientauth.resource.BoundTokenGuard`) need the same answer from a
:class:`~clientauth.ClientRequest`: which certificate chain did the client present, and where
did it come from -- a trusted proxy's header (:mod:`clientauth.forwarded`) or the server's own
TLS handshake. It lives here, beside the request and below both modes, so that the resource
server does not depend on the authenticator.

Private: :class:`PresentedChain` and :func:`read_certificates` are importable from
:mod:`clientauth.authenticator` too (their earlier home), but neither is part of the public API
(``clientauth.__all__``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from cryptography import x509

from ._frozen import as_class, layout_of
from ._x509 import certificate_thumbprint, load_certificates
from .exceptions import ParseError
from .request import ClientRequest
from .result import AuthResult, Failure, Notice

if TYPE_CHECKING:
    from .forwarded import ForwardedCertificates

__all__ = ["NO_CERTIFICATES", "PresentedChain", "read_certificates"]


@dataclasses.dataclass(frozen=True, slots=True)
class PresentedChain:
    """The client certificate chain a request presented, and where it came from."""

    chain: tuple[x509.Certificate, ...] = ()
    source: str | None = None
    thumbprint: str | None = None
    notices: tuple[Notice, ...] = ()
    proxy_verified: bool = False
    ignored: str = ""
    """Why a forwarded certificate header was ignored (names the header), for ``detail``."""

    @classmethod
    def of(
        cls,
        chain: tuple[x509.Certificate, ...],
        source: str,
        thumbprint: str,
        notices: tuple[Notice, ...],
        proxy_verified: bool = False,
    ) -> PresentedChain:
        """A presented chain, built per request without the frozen ``__init__``'s cost
        (:mod:`clientauth._frozen`)."""
        value = _Layout()
        value.chain, value.source, value.thumbprint = chain, source, thumbprint
        value.notices, value.proxy_verified, value.ignored = notices, proxy_verified, ""
        return as_class(value, cls)


def read_certificates(
    request: ClientRequest, forwarded: ForwardedCertificates | None
) -> PresentedChain | AuthResult:
    """The client certificate chain of a request: from a trusted proxy's header when
    ``forwarded`` is configured and the header is there, else from the server's own TLS
    handshake -- unless the TLS peer is a pinned proxy (``proxy_certificates``), whose
    certificate is never a client's. A failed :class:`AuthResult` when what was presented is
    unusable."""
    notices: tuple[Notice, ...] = ()
    peer_is_proxy = False
    ignored = ""
    if forwarded is not None:
        outcome = forwarded.extract(request)
        notices = outcome.notices
        peer_is_proxy = outcome.peer_is_proxy
        ignored = outcome.detail if Notice.UNTRUSTED_FORWARDED_HEADER in notices else ""
        if outcome.failure is not None:
            return AuthResult.failed(
                outcome.failure, outcome.detail, source=outcome.source, notices=notices
            )
        if outcome.chain:
            return PresentedChain.of(
                outcome.chain,
                outcome.source,
                certificate_thumbprint(outcome.chain[0]),
                notices,
                outcome.proxy_verified,
            )
    if request.tls_chain and not peer_is_proxy:
        try:
            chain = load_certificates(request.tls_chain)
        except ParseError as exc:
            return AuthResult.failed(
                Failure.MALFORMED_CERTIFICATE,
                f"TLS client certificate: {exc.reason}",
                source="tls",
                notices=notices,
            )
        return PresentedChain.of(chain, "tls", certificate_thumbprint(chain[0]), notices)
    if notices:
        return PresentedChain(notices=notices, ignored=ignored)
    return NO_CERTIFICATES


_Layout: Any = layout_of(PresentedChain)

NO_CERTIFICATES = PresentedChain()
"""What a request without any certificate presented (no TLS chain, no forwarded header)."""
