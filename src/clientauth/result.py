"""The one result type: :class:`AuthResult`, with :class:`AuthMethod` and :class:`Failure`.

Every way a client can prove itself ends in an :class:`AuthResult`. A result never holds a
secret or a secret hash: there is no field for one, and ``detail`` is written by clientauth
from fixed phrases and public values only (client ids, certificate names).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from cryptography import x509

from ._frozen import as_class, layout_of

__all__ = [
    "AuthMethod",
    "AuthResult",
    "CertificateCheck",
    "Failure",
    "Notice",
    "OAuthError",
]

OAuthError = Literal["invalid_client", "invalid_request", "unauthorized_client"]


class AuthMethod(StrEnum):
    """Client authentication methods, by their registered names.

    RFC 7591 section 2 (``client_secret_basic``, ``client_secret_post``), RFC 8705 section 2.1
    (``tls_client_auth``) and 2.2 (``self_signed_tls_client_auth``). ``client_secret_header``
    is ours: id and secret in two request headers, as API gateways do ("client-ID
    enforcement").
    """

    CLIENT_SECRET_BASIC = "client_secret_basic"
    CLIENT_SECRET_POST = "client_secret_post"
    CLIENT_SECRET_HEADER = "client_secret_header"
    TLS_CLIENT_AUTH = "tls_client_auth"
    SELF_SIGNED_TLS_CLIENT_AUTH = "self_signed_tls_client_auth"
    PRIVATE_KEY_JWT = "private_key_jwt"
    """RFC 7523 2.2 / OpenID Connect Core 9: a JWT signed with the client's private key."""
    CLIENT_SECRET_JWT = "client_secret_jwt"
    """RFC 7523 2.2 / OpenID Connect Core 9: a JWT MACed with the client's ``client_secret``."""

    @property
    def uses_secret(self) -> bool:
        """A stored (hashed) secret presented in the request: basic, post, header."""
        return self in _SECRET_METHODS

    @property
    def uses_assertion(self) -> bool:
        """A JWT client assertion (RFC 7521 4.2): private_key_jwt, client_secret_jwt."""
        return self in _ASSERTION_METHODS

    @property
    def uses_certificate(self) -> bool:
        return not (self.uses_secret or self.uses_assertion)


_SECRET_METHODS = frozenset(
    {
        AuthMethod.CLIENT_SECRET_BASIC,
        AuthMethod.CLIENT_SECRET_POST,
        AuthMethod.CLIENT_SECRET_HEADER,
    }
)
_ASSERTION_METHODS = frozenset({AuthMethod.PRIVATE_KEY_JWT, AuthMethod.CLIENT_SECRET_JWT})


class Failure(StrEnum):
    """Why authentication failed; machine-readable and stable (safe to log and to count)."""

    # -- what the request carried
    NO_CREDENTIALS = "no_credentials"
    """Nothing that identifies a client: no secret, no client_id, no certificate."""
    MALFORMED_CREDENTIALS = "malformed_credentials"
    """A Basic header, id/secret parameter or header that cannot be decoded, or is too large."""
    MULTIPLE_METHODS = "multiple_methods"
    """More than one secret-carrying method in one request (RFC 6749 section 2.3)."""
    CONFLICTING_CLIENT_ID = "conflicting_client_id"
    """The request names two different client ids (e.g. Basic user vs form client_id)."""
    # -- the registry
    UNKNOWN_CLIENT = "unknown_client"
    AMBIGUOUS_CLIENT = "ambiguous_client"
    """No client_id was sent and the certificate matches more than one registered client."""
    METHOD_NOT_ALLOWED = "method_not_allowed"
    """The client proved itself another way than the method it registered."""
    # -- secrets
    MISSING_SECRET = "missing_secret"
    BAD_SECRET = "bad_secret"
    EXPIRED_SECRET = "expired_secret"
    # -- certificates
    MISSING_CERTIFICATE = "missing_certificate"
    MALFORMED_CERTIFICATE = "malformed_certificate"
    UNTRUSTED_CHAIN = "untrusted_chain"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid"
    WRONG_KEY_USAGE = "wrong_key_usage"
    """The leaf's extended key usage does not allow TLS client authentication."""
    CA_CERTIFICATE = "ca_certificate"
    """A CA certificate was presented as the client's own certificate."""
    WEAK_KEY = "weak_key"
    """The client certificate's key is too weak: RSA under 2048 bits, DSA, or an elliptic
    curve other than P-256, P-384 or P-521 (CA/Browser Forum BR 6.1.5 / 6.1.6)."""
    REVOKED = "revoked"
    REVOCATION_UNKNOWN = "revocation_unknown"
    NAME_MISMATCH = "name_mismatch"
    """The chain is trusted but does not carry the client's registered subject DN / SAN."""
    CERTIFICATE_NOT_PINNED = "certificate_not_pinned"
    """Self-signed method: the certificate is not one the client registered."""
    # -- forwarded certificates
    FORWARDED_HEADER_INVALID = "forwarded_header_invalid"
    """A trusted proxy's certificate header is malformed or duplicated."""
    # -- client assertions (RFC 7523)
    MALFORMED_ASSERTION = "malformed_assertion"
    """client_assertion / client_assertion_type malformed, repeated or too large, or a
    client_assertion_type other than jwt-bearer (RFC 7521 4.2)."""
    INVALID_ASSERTION = "invalid_assertion"
    """The assertion failed a check of RFC 7523 3; ``detail`` names it (signature, aud,
    exp, nbf, iat, lifetime, jti, iss/sub, alg, kid)."""
    MISSING_ASSERTION = "missing_assertion"
    """The client registered private_key_jwt or client_secret_jwt and sent no assertion."""
    REPLAYED_ASSERTION = "replayed_assertion"
    """The assertion's ``jti`` was already used by this client (RFC 7523 3, item 7)."""
    ASSERTION_KEYS_UNAVAILABLE = "assertion_keys_unavailable"
    """The client's ``jwks_uri`` could not be fetched, so no key could check the assertion."""

    @property
    def error(self) -> OAuthError:
        """The RFC 6749 section 5.2 error code for this failure."""
        if self in _INVALID_REQUEST:
            return "invalid_request"
        return "invalid_client"


_INVALID_REQUEST = frozenset(
    {
        Failure.MALFORMED_CREDENTIALS,
        Failure.MULTIPLE_METHODS,
        Failure.CONFLICTING_CLIENT_ID,
        Failure.FORWARDED_HEADER_INVALID,
        Failure.MALFORMED_ASSERTION,
    }
)


class Notice(StrEnum):
    """Something worth an operator's attention that did not by itself decide the outcome."""

    UNTRUSTED_FORWARDED_HEADER = "untrusted_forwarded_header"
    """A forwarded-certificate header came from a peer that is not a trusted proxy (spoofing
    attempt, or a missing ``trusted_proxies`` entry); it was ignored."""
    PROXY_VERIFIED_ONLY = "proxy_verified_only"
    """The certificate's chain was accepted on the proxy's verify flag (opt-in), not validated
    locally; the leaf checks and the registered name were still checked here."""
    REVOCATION_UNKNOWN = "revocation_unknown"
    """The certificate was accepted although its revocation status could not be established
    (responder or CRL unreachable, slow or stale) because revocation checking is in soft-fail
    mode; ``detail`` says which source failed and why."""


@dataclasses.dataclass(frozen=True, slots=True)
class CertificateCheck:
    """What a certificate verifier (PKI or pinned) concluded about one presented chain.

    Verifiers return this; the :class:`~clientauth.Authenticator` folds it into an
    :class:`AuthResult`. ``chain`` is the validated path, leaf first (for the PKI verifier it
    ends at the trust anchor); ``expires_at`` is the earliest notAfter that matters.
    """

    ok: bool
    failure: Failure | None = None
    detail: str = ""
    chain: tuple[x509.Certificate, ...] = ()
    expires_at: datetime | None = None
    notices: tuple[Notice, ...] = ()

    @classmethod
    def passed(
        cls,
        chain: Sequence[x509.Certificate],
        *,
        expires_at: datetime | None = None,
        detail: str = "",
        notices: tuple[Notice, ...] = (),
    ) -> CertificateCheck:
        check = _CheckLayout()
        check.ok, check.failure, check.detail = True, None, detail
        check.chain, check.expires_at, check.notices = tuple(chain), expires_at, notices
        return as_class(check, cls)

    @classmethod
    def failed(cls, failure: Failure, detail: str) -> CertificateCheck:
        check = _CheckLayout()
        check.ok, check.failure, check.detail = False, failure, detail
        check.chain, check.expires_at, check.notices = (), None, ()
        return as_class(check, cls)


@dataclasses.dataclass(frozen=True, slots=True)
class AuthResult:
    """The outcome of one authentication attempt.

    ``ok`` is the only field that says whether the caller proved it is ``client_id``. On
    failure, ``client_id`` is the id the request *claimed* (possibly unknown), ``failure`` the
    reason and ``error`` the RFC 6749 section 5.2 code to answer with. ``detail`` is for logs.

    ``source`` tells where the credential came from: ``"authorization"`` (Basic header),
    ``"form"``, ``"query"``, ``"headers"`` (id/secret headers), ``"tls"`` (the server's own
    handshake), or ``"forwarded:<format>"`` (a trusted proxy's header).

    ``certificate``/``chain``/``thumbprint`` describe the client certificate when one was
    presented, whatever the method (a secret client may still present one, e.g. for RFC 8705
    certificate-bound tokens); ``thumbprint`` is its ``x5t#S256``.
    """

    ok: bool
    client_id: str | None = None
    method: AuthMethod | None = None
    failure: Failure | None = None
    error: OAuthError | None = None
    detail: str = ""
    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()
    thumbprint: str | None = None
    expires_at: datetime | None = None
    source: str | None = None
    notices: tuple[Notice, ...] = ()

    def __post_init__(self) -> None:
        # A result that claims success must be internally consistent; these are programming
        # errors inside clientauth, never client input, so they raise.
        if self.ok and (self.failure is not None or self.client_id is None or self.method is None):
            raise ValueError("a successful AuthResult needs client_id and method, no failure")
        if not self.ok and self.failure is None:
            raise ValueError("a failed AuthResult needs a failure reason")

    def __bool__(self) -> bool:
        return self.ok

    @classmethod
    def failed(
        cls,
        failure: Failure,
        detail: str,
        *,
        client_id: str | None = None,
        method: AuthMethod | None = None,
        source: str | None = None,
        certificate: x509.Certificate | None = None,
        chain: tuple[x509.Certificate, ...] = (),
        thumbprint: str | None = None,
        notices: tuple[Notice, ...] = (),
    ) -> AuthResult:
        return cls._build(
            False, client_id, method, failure, failure.error, detail, certificate, chain,
            thumbprint, None, source, notices,
        )

    @classmethod
    def _build(  # noqa: PLR0917 - one argument per field, in field order
        cls,
        ok: bool,
        client_id: str | None,
        method: AuthMethod | None,
        failure: Failure | None,
        error: OAuthError | None,
        detail: str,
        certificate: x509.Certificate | None,
        chain: tuple[x509.Certificate, ...],
        thumbprint: str | None,
        expires_at: datetime | None,
        source: str | None,
        notices: tuple[Notice, ...],
    ) -> AuthResult:
        """The result the constructor would build, for results built inside clientauth
        (whose callers keep the invariants ``__post_init__`` checks), at a third of the
        cost (:mod:`clientauth._frozen`)."""
        result = _ResultLayout()
        result.ok, result.client_id, result.method = ok, client_id, method
        result.failure, result.error, result.detail = failure, error, detail
        result.certificate, result.chain, result.thumbprint = certificate, chain, thumbprint
        result.expires_at, result.source, result.notices = expires_at, source, notices
        return as_class(result, cls)


_ResultLayout: Any = layout_of(AuthResult)
_CheckLayout: Any = layout_of(CertificateCheck)
