"""The pinned verifier: RFC 8705 section 2.2 ``self_signed_tls_client_auth``.

A self-signed client proves itself by presenting *the very certificate it registered*
(``tls_client_certificates``, ``jwks`` ``x5c`` entries, ``tls_client_certificate_thumbprints``,
or the ``x5c`` entries of the key set at its ``jwks_uri``). There is no chain and no trust
anchor: the TLS handshake proved possession of the private key, and the registration is what
makes that key the client's. The comparison is by ``x5t#S256`` (RFC 8705 section 3.1), so a
certificate with the same subject but another key -- or the same key in another certificate --
never passes.

What is *not* verified: the certificate's signature (a self-signed signature proves nothing
the handshake did not), its extensions (key usage, EKU, basic constraints) and its names. The
only checks are "is it registered" and, optionally, "is today within its validity period".
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from cryptography import x509

from ._clock import clock_setting
from ._x509 import certificate_thumbprint, check_usable
from .clients import Client
from .exceptions import CertificateParseError, ConfigurationError, FetchError
from .jwks import JwksFetcher
from .result import CertificateCheck, Failure

__all__ = ["PinnedVerifier"]

_JWKS_UNAVAILABLE = "jwks_uri unavailable"


class PinnedVerifier:
    """Verify that a presented certificate is one the client pinned at registration.

    ``verify(chain, client)`` looks only at the leaf (``chain[0]``); it returns a passed
    :class:`~clientauth.CertificateCheck` whose chain is ``(leaf,)`` and whose ``expires_at`` is
    the leaf's notAfter, or a failed one. It never raises for anything a client can send.

    ``check_validity`` (default on) refuses a pinned certificate outside its notBefore/notAfter
    window, by the clock ``now`` (a callable returning an aware datetime). Some deployments turn
    it off, deliberately: under RFC 8705 section 2.2 the self-signed certificate is only a
    container for the client's public key, and the trust comes from the *registration*, not from
    the dates. Many self-signed client certificates are generated once with a 10- or 100-year
    lifetime or arbitrary dates, and an expired-but-registered certificate is no less the
    client's; the way to retire one is to remove it from the registration. With the check off,
    ``expires_at`` still reports notAfter, for information.

    ``jwks`` is the :class:`~clientauth.JwksFetcher` used for clients that registered a
    ``jwks_uri`` (RFC 7591 section 2); without one, such clients can only match their static
    pins. When the leaf is not among the URI's ``x5c`` thumbprints, the verifier asks the fetcher
    for a refresh once -- the client may have just rotated its key set -- and the fetcher's
    per-interval budget decides whether that means a network request. A fetch failure is a
    failed check (``certificate_not_pinned``, detail ``"jwks_uri unavailable"``), never an
    exception.

    Immutable after construction; safe to share across threads.
    """

    __slots__ = ("_check_validity", "_jwks", "_now")

    _check_validity: bool
    _jwks: JwksFetcher | None
    _now: Callable[[], datetime]

    def __init__(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        check_validity: bool = True,
        jwks: JwksFetcher | None = None,
    ) -> None:
        clock = clock_setting(now)
        if not isinstance(check_validity, bool):
            raise ConfigurationError("check_validity must be True or False")
        if jwks is not None and not isinstance(jwks, JwksFetcher):
            raise ConfigurationError(
                f"jwks must be a clientauth.JwksFetcher, got {type(jwks).__name__}"
            )
        object.__setattr__(self, "_now", clock)
        object.__setattr__(self, "_check_validity", check_validity)
        object.__setattr__(self, "_jwks", jwks)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("PinnedVerifier is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("PinnedVerifier is immutable")

    def __repr__(self) -> str:
        return (
            f"PinnedVerifier(check_validity={self._check_validity}, "
            f"jwks={'configured' if self._jwks is not None else None})"
        )

    @property
    def check_validity(self) -> bool:
        return self._check_validity

    def verify(
        self,
        chain: Sequence[x509.Certificate],
        client: Client,
        *,
        leaf_thumbprint: str | None = None,
    ) -> CertificateCheck:
        """Does ``chain[0]`` equal a certificate ``client`` registered?

        ``leaf_thumbprint`` lets a caller that already computed the ``x5t#S256`` of
        ``chain[0]`` *from that same certificate object* (the authenticator does, for
        :attr:`AuthResult.thumbprint`) skip a second DER encoding -- the dominant cost of a
        verify. Never pass a value taken from the request: it is trusted as is.
        """
        try:
            leaf = chain[0]
        except (IndexError, TypeError, KeyError):
            return CertificateCheck.failed(
                Failure.MALFORMED_CERTIFICATE, "no client certificate in the presented chain"
            )
        if not isinstance(leaf, x509.Certificate):
            return CertificateCheck.failed(
                Failure.MALFORMED_CERTIFICATE, "the presented leaf is not an X.509 certificate"
            )
        try:
            # cryptography parses lazily: a leaf whose dates cannot be read is refused here,
            # not with an exception below (remembered per object, so this is a lookup).
            check_usable(leaf)
        except CertificateParseError as exc:
            return CertificateCheck.failed(Failure.MALFORMED_CERTIFICATE, exc.reason)
        thumb = leaf_thumbprint if leaf_thumbprint is not None else certificate_thumbprint(leaf)

        if not _pinned(thumb, client.pinned_thumbprints):
            failure = self._check_jwks_uri(thumb, client)
            if failure is not None:
                return failure

        not_after = leaf.not_valid_after_utc
        if self._check_validity:
            now = self._now()  # checked: a naive reading is a ConfigurationError
            # RFC 5280 4.1.2.5: the validity period includes both notBefore and notAfter.
            if now > not_after:
                return CertificateCheck.failed(
                    Failure.CERTIFICATE_EXPIRED,
                    f"pinned certificate of client {client.client_id!r} expired at "
                    f"{not_after.isoformat()}",
                )
            not_before = leaf.not_valid_before_utc
            if now < not_before:
                return CertificateCheck.failed(
                    Failure.CERTIFICATE_NOT_YET_VALID,
                    f"pinned certificate of client {client.client_id!r} is not valid before "
                    f"{not_before.isoformat()}",
                )
        return CertificateCheck.passed((leaf,), expires_at=not_after)

    def _check_jwks_uri(self, thumb: str, client: Client) -> CertificateCheck | None:
        """``None`` if ``thumb`` is in the client's jwks_uri key set, else the failed check."""
        uri = client.jwks_uri
        not_pinned = CertificateCheck.failed(
            Failure.CERTIFICATE_NOT_PINNED,
            f"certificate is not one client {client.client_id!r} registered",
        )
        if uri is None:
            return not_pinned
        if self._jwks is None:
            return CertificateCheck.failed(
                Failure.CERTIFICATE_NOT_PINNED,
                f"client {client.client_id!r} registered a jwks_uri but no JwksFetcher is "
                "configured",
            )
        try:
            if _pinned(thumb, self._jwks.thumbprints(uri)):
                return None
            # RFC 8705 2.2 lets the client rotate by publishing a new key set; an unknown
            # certificate may be the new one, so look again (the fetcher rate-limits this, so
            # a stream of unknown certificates cannot turn into a stream of fetches).
            if _pinned(thumb, self._jwks.refresh(uri)):
                return None
        except FetchError:
            return CertificateCheck.failed(Failure.CERTIFICATE_NOT_PINNED, _JWKS_UNAVAILABLE)
        return not_pinned


def _pinned(thumb: str, pins: Iterable[str]) -> bool:
    """Is ``thumb`` among ``pins``? Every pin is compared (constant time each, no early exit),
    so the time taken does not tell which pin, if any, matched."""
    found = False
    for pin in pins:
        try:
            found |= hmac.compare_digest(pin, thumb)
        except TypeError:
            # A non-ASCII or non-str pin (a Client built by hand, bypassing validation) can
            # never equal a base64url thumbprint.
            continue
    return found
