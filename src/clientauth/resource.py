"""Resource-server mode: the Bearer token must be bound to this request's client certificate.

RFC 8705 section 3: an access token issued to a mutual-TLS client carries the thumbprint of
the client's certificate (``cnf.x5t#S256``); a resource server accepts it only over a
connection that presented that same certificate, so a stolen token is useless without the
private key. The ASGI/WSGI adapters (``clientauth.asgi.BoundTokenMiddleware``,
``clientauth.wsgi.BoundTokenMiddleware``) wrap :class:`BoundTokenGuard`.

``verify_token(token) -> claims`` is yours: a PyJWT decode with your key and audience, or a
token-introspection call. It must raise :class:`~clientauth.InvalidToken` (or PyJWT's
``InvalidTokenError``) for a token it does not accept; anything else it raises propagates (an
outage must not look like a bad token).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from ._presented import PresentedChain, read_certificates
from .binding import check_binding
from .exceptions import ConfigurationError, InvalidToken
from .forwarded import ForwardedCertificates
from .request import MAX_HEADER_VALUE_LENGTH, ClientRequest
from .result import AuthResult

__all__ = ["BoundTokenGuard", "TokenCheck", "TokenVerifier"]

TokenVerifier = Callable[[str], Mapping[str, Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class TokenCheck:
    """The outcome for one request. ``status`` 0 means accepted.

    On refusal: ``status`` 400 (``invalid_request``) or 401 (``invalid_token``, or no token:
    ``error`` ``None`` and a bare Bearer challenge, RFC 6750 3.1).
    """

    ok: bool
    claims: Mapping[str, Any] | None = None
    thumbprint: str | None = None
    status: int = 0
    error: str | None = None
    description: str = ""
    source: str | None = None


class BoundTokenGuard:
    """Check that a request's Bearer token is valid and bound to its client certificate.

    ``require_binding=False`` also accepts tokens without ``cnf`` (a migration period), but a
    token that *is* bound must still match the certificate.
    """

    def __init__(
        self,
        verify_token: TokenVerifier,
        *,
        forwarded: ForwardedCertificates | None = None,
        require_binding: bool = True,
    ) -> None:
        if not callable(verify_token):
            raise ConfigurationError("verify_token must be a callable taking the token string")
        if forwarded is not None and not isinstance(forwarded, ForwardedCertificates):
            raise ConfigurationError("forwarded must be a ForwardedCertificates")
        self._verify = verify_token
        self._forwarded = forwarded
        self._require = bool(require_binding)

    def check(self, request: ClientRequest) -> TokenCheck:
        if not isinstance(request, ClientRequest):
            raise ConfigurationError("check() takes a clientauth.ClientRequest")
        if request.unreadable is not None:
            # A request clientauth could not read whole is refused, never checked on a part.
            return TokenCheck(False, status=400, error="invalid_request",
                              description="the request could not be read")
        values = request.header_values("authorization")
        if len(values) > 1:
            return TokenCheck(False, status=400, error="invalid_request",
                              description="more than one Authorization header")
        scheme, _, token = values[0].strip().partition(" ") if values else ("", "", "")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return TokenCheck(False, status=401, description="a Bearer access token is required")
        if len(token) > MAX_HEADER_VALUE_LENGTH:
            return _invalid("access token too large")
        presented = read_certificates(request, self._forwarded)
        if isinstance(presented, AuthResult):
            return _invalid("the client certificate is unusable", source=presented.source)
        try:
            claims = self._verify(token)
        except InvalidToken as exc:
            return _invalid(f"access token refused: {exc}", presented)
        except jwt.InvalidTokenError as exc:
            return _invalid(f"access token refused: {exc}", presented)
        if not isinstance(claims, Mapping):
            raise ConfigurationError("verify_token must return the token's claims as a mapping")
        if self._require or "cnf" in claims:
            try:
                check_binding(claims, presented.thumbprint)
            except InvalidToken as exc:
                return _invalid(str(exc), presented)
        return TokenCheck(True, claims=claims, thumbprint=presented.thumbprint,
                          source=presented.source)


def _invalid(
    description: str, presented: PresentedChain | None = None, *, source: str | None = None
) -> TokenCheck:
    return TokenCheck(
        False,
        thumbprint=presented.thumbprint if presented else None,
        status=401,
        error="invalid_token",
        description=description,
        source=presented.source if presented else source,
    )
