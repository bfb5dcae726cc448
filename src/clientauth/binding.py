"""Certificate-bound access tokens: RFC 8705 section 3.

An authorization server that authenticated a client with mutual TLS binds the tokens it issues
to the client's certificate: the token carries the certificate's SHA-256 thumbprint as
``cnf`` (confirmation, RFC 7800 section 3.1) member ``x5t#S256`` (RFC 8705 section 3.1). A
resource server then accepts the token only over a TLS connection that presented that same
certificate -- a stolen token is useless without the private key.

* :func:`bind_claims` -- issuer side: a copy of the claims with ``cnf.x5t#S256`` set.
* :func:`check_binding` -- resource side: the claims' ``cnf.x5t#S256`` must equal the presented
  certificate's thumbprint.
* :func:`decode_bound_token` -- a JWT access token: PyJWT verifies signature and registered
  claims, then :func:`check_binding`.
* :func:`check_introspection_binding` -- an RFC 7662 introspection response (RFC 8705 3.2).

Every refusal raises :class:`~clientauth.InvalidToken` (RFC 6750 ``invalid_token``), or its
subclass :class:`~clientauth.BindingMismatch` when the token is fine but not bound to the
presented certificate. Garbage tokens and claims never raise anything else. Misuse that no
token can cause (no ``algorithms``, ``"none"`` among them, ``verify_signature`` off) raises
:class:`~clientauth.ConfigurationError` instead.

The presented ``certificate`` may be an ``x509.Certificate``, its DER ``bytes``, PEM text or
bytes, or an ``x5t#S256`` thumbprint ``str`` already computed from it (e.g.
:attr:`AuthResult.thumbprint`) -- the cheapest form, as computing a thumbprint from an
``x509.Certificate`` means re-encoding it. DER bytes are hashed as given, not parsed.

Not verified here: anything about the certificate itself (chain, dates, names). Binding says
"same certificate as at issuance"; whether that certificate is acceptable is the TLS layer's
and the authorization server's business.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeAlias, cast

import jwt
from cryptography import x509
from jwt.types import Options

from ._clock import clock_setting
from ._x509 import certificate_thumbprint, load_certificate
from .exceptions import (
    BindingMismatch,
    CertificateParseError,
    ConfigurationError,
    InvalidToken,
    ParseError,
)

__all__ = [
    "MAX_TOKEN_SIZE",
    "PresentedCertificate",
    "bind_claims",
    "certificate_thumbprint",
    "check_binding",
    "check_introspection_binding",
    "decode_bound_token",
]

PresentedCertificate: TypeAlias = "x509.Certificate | bytes | bytearray | memoryview | str"
"""A certificate, its DER, PEM text/bytes, or its ``x5t#S256`` thumbprint."""

MAX_TOKEN_SIZE = 64 * 1024
"""Longest JWT :func:`decode_bound_token` parses, in characters. Access tokens are well under
4 KiB (they travel in headers, which servers cap at 8-16 KiB); the cap bounds base64 and JSON
work on hostile input."""

_CNF = "cnf"  # RFC 7800 3.1
_X5T_S256 = "x5t#S256"  # RFC 8705 3.1
_JKT = "jkt"  # RFC 9449 6.1 (DPoP-bound token)
_THUMBPRINT_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of 32 bytes, no padding
_PEM_MARKER = "-----BEGIN"


def _is_thumbprint(value: str) -> bool:
    return _THUMBPRINT_SHAPE.fullmatch(value) is not None


def _thumbprint_of(certificate: object) -> str:
    """The ``x5t#S256`` of a presented certificate in any accepted form.

    Raises :class:`~clientauth.CertificateParseError` for anything unusable."""
    if isinstance(certificate, x509.Certificate):
        return certificate_thumbprint(certificate)
    if isinstance(certificate, str):
        if _is_thumbprint(certificate):
            return certificate
        if _PEM_MARKER in certificate:
            return certificate_thumbprint(load_certificate(certificate))
    elif isinstance(certificate, bytes | bytearray | memoryview):
        if bytes(certificate[:64]).lstrip().startswith(_PEM_MARKER.encode("ascii")):
            return certificate_thumbprint(load_certificate(certificate))
        return certificate_thumbprint(certificate)
    raise CertificateParseError(
        "expected an x509.Certificate, DER or PEM bytes, PEM text or an x5t#S256 thumbprint, "
        f"got {type(certificate).__name__}"
    )


def bind_claims(claims: Mapping[str, Any], certificate: PresentedCertificate) -> dict[str, Any]:
    """A copy of ``claims`` bound to ``certificate``: ``cnf`` gets ``x5t#S256`` (RFC 8705 3.1).

    Other ``cnf`` members are kept (a token may also be DPoP-bound, RFC 9449 6.1); an existing
    ``x5t#S256`` is replaced. ``claims`` is not modified.

    Raises :class:`~clientauth.CertificateParseError` if ``certificate`` is unusable and
    :class:`~clientauth.InvalidToken` if ``claims`` or an existing ``cnf`` is not an object.
    """
    if not isinstance(claims, Mapping):
        raise InvalidToken("claims must be a mapping (a JSON object)")
    thumb = _thumbprint_of(certificate)
    cnf = claims.get(_CNF)
    if cnf is None:
        cnf = {}
    elif not isinstance(cnf, Mapping):
        raise InvalidToken("the existing cnf claim is not a JSON object (RFC 7800 3.1)")
    out = dict(claims)
    out[_CNF] = {**cnf, _X5T_S256: thumb}
    return out


def check_binding(claims: Mapping[str, Any], certificate: PresentedCertificate | None) -> None:
    """Raise :class:`~clientauth.BindingMismatch` unless ``claims`` are bound to
    ``certificate`` (``cnf.x5t#S256`` equals its thumbprint; RFC 8705 3.1).

    ``certificate`` is what the caller presented on *this* connection; ``None`` (no client
    certificate) always fails. Claims that are not an object raise
    :class:`~clientauth.InvalidToken`.
    """
    if not isinstance(claims, Mapping):
        raise InvalidToken("token claims are not a JSON object")
    bound = _bound_thumbprint(claims)
    if certificate is None:
        raise BindingMismatch("token is certificate-bound but no client certificate presented")
    try:
        presented = _thumbprint_of(certificate)
    except ParseError as exc:
        raise BindingMismatch(f"the presented client certificate is unusable: {exc}") from None
    # Constant time, for form: a thumbprint is not secret, but comparing secrets-shaped
    # values in constant time everywhere leaves nothing to audit. Non-ASCII can never match.
    if not (
        bound.isascii() and hmac.compare_digest(bound.encode("ascii"), presented.encode("ascii"))
    ):
        raise BindingMismatch("token is bound to another certificate (cnf.x5t#S256 differs)")


def _bound_thumbprint(claims: Mapping[str, Any]) -> str:
    cnf = claims.get(_CNF)
    if cnf is None:
        raise BindingMismatch(
            "token is not certificate-bound: no cnf claim (RFC 8705 3.1, RFC 7800 3.1)"
        )
    if not isinstance(cnf, Mapping):
        raise BindingMismatch("the cnf claim is not a JSON object (RFC 7800 3.1)")
    value = cnf.get(_X5T_S256)
    if value is None:
        if _JKT in cnf:
            raise BindingMismatch(
                "token is bound to a DPoP key (cnf.jkt, RFC 9449), not to a client certificate "
                "(cnf.x5t#S256, RFC 8705)"
            )
        raise BindingMismatch("token is not certificate-bound: cnf has no x5t#S256 member")
    if not isinstance(value, str):
        raise BindingMismatch("cnf.x5t#S256 is not a string (RFC 8705 3.1)")
    return value


def decode_bound_token(
    token: str | bytes,
    key: Any,
    *,
    algorithms: Sequence[str],
    certificate: PresentedCertificate | None,
    audience: str | Sequence[str] | None = None,
    issuer: str | Sequence[str] | None = None,
    subject: str | None = None,
    options: Mapping[str, Any] | None = None,
    leeway: float | timedelta = 0,
    now: Callable[[], datetime] | None = None,
) -> dict[str, Any]:
    """Verify a certificate-bound JWT access token and return its claims.

    PyJWT (:func:`jwt.decode`) checks the signature with ``key`` (a public key, PEM, HMAC
    secret or ``jwt.PyJWK``), the algorithm against ``algorithms`` (required: there is no
    default, and ``"none"`` is refused -- RFC 8725 3.1, 3.2), ``exp``/``nbf``/``iat``
    (with ``leeway``), and ``aud``/``iss``/``sub`` when given; then :func:`check_binding` checks
    ``cnf.x5t#S256`` against ``certificate``. ``options`` are PyJWT's, except that
    ``verify_signature`` cannot be turned off: a binding read from an unverified token proves
    nothing. ``now`` is the clock (a callable returning an aware datetime; default: the system
    clock) that ``exp``/``nbf``/``iat`` are checked against.

    Raises :class:`~clientauth.InvalidToken` (carrying PyJWT's message) for every token
    problem, :class:`~clientauth.BindingMismatch` for a token bound elsewhere or not at all.
    """
    jwt_options = _options(options)
    allowed = _allowed_algorithms(algorithms)
    clock = clock_setting(now)
    # PyJWT reads the wall clock itself and takes no clock: its three time checks are turned
    # off there and made here, by the same rules, against ``now``.
    time_checks = tuple(c for c in _TIME_CLAIMS if (jwt_options or {}).get(f"verify_{c}", True))
    jwt_options = cast("Options", {
        **(jwt_options or {}), **{f"verify_{c}": False for c in _TIME_CLAIMS}
    })
    if not isinstance(token, str | bytes):
        raise InvalidToken(f"token must be str or bytes, got {type(token).__name__}")
    if len(token) > MAX_TOKEN_SIZE:
        raise InvalidToken(f"token longer than {MAX_TOKEN_SIZE} characters")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=allowed,
            options=jwt_options,
            audience=audience,
            issuer=issuer,
            subject=subject,
            leeway=leeway,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc) or type(exc).__name__) from exc
    except Exception as exc:
        # PyJWT documents only PyJWTError, but the contract here is "InvalidToken, nothing
        # else" for any token; fail closed on whatever else a hostile token might provoke.
        raise InvalidToken(f"token could not be decoded ({type(exc).__name__})") from exc
    refused = _time_refusal(claims, time_checks, clock().timestamp(), leeway)
    if refused is not None:
        raise InvalidToken(str(refused)) from refused
    check_binding(claims, certificate)
    return claims


_TIME_CLAIMS = ("iat", "nbf", "exp")


def _time_refusal(
    claims: Mapping[str, Any], checks: Sequence[str], now: float, leeway: float | timedelta
) -> jwt.PyJWTError | None:
    """PyJWT's verdict on ``iat``, ``nbf`` and ``exp`` (RFC 7519 4.1.4-4.1.6; the same
    rules, order and messages as :func:`jwt.decode`), at ``now`` (POSIX seconds)."""
    skew = leeway.total_seconds() if isinstance(leeway, timedelta) else float(leeway)
    for claim in checks:
        if claim not in claims:
            continue
        try:
            value = int(claims[claim])
        except (ValueError, TypeError, OverflowError):
            if claim == "iat":
                return jwt.InvalidIssuedAtError("Issued At claim (iat) must be an integer.")
            name = "Not Before" if claim == "nbf" else "Expiration Time"
            return jwt.DecodeError(f"{name} claim ({claim}) must be an integer.")
        if claim == "exp":
            if value <= now - skew:
                return jwt.ExpiredSignatureError("Signature has expired")
        elif value > now + skew:
            return jwt.ImmatureSignatureError(f"The token is not yet valid ({claim})")
    return None


def _allowed_algorithms(algorithms: object) -> list[str]:
    if isinstance(algorithms, str | bytes) or not isinstance(algorithms, Sequence):
        raise ConfigurationError(
            'algorithms is required: a non-empty list of JWS algorithm names, e.g. ["ES256"]'
        )
    allowed = list(algorithms)
    if not allowed:
        raise ConfigurationError("algorithms must not be empty")
    for name in allowed:
        if not isinstance(name, str):
            raise ConfigurationError("algorithms must be JWS algorithm names (strings)")
        if name.lower() == "none":
            # RFC 8725 3.2: an unsecured JWT proves nothing, least of all a binding.
            raise ConfigurationError('the "none" algorithm is refused')
    return allowed


def _options(options: Mapping[str, Any] | None) -> Options | None:
    if options is None:
        return None
    if not isinstance(options, Mapping):
        raise ConfigurationError("options must be a mapping of PyJWT decode options")
    if options.get("verify_signature", True) is not True:
        raise ConfigurationError("decode_bound_token always verifies the signature")
    return cast("Options", dict(options))


def check_introspection_binding(
    response: Mapping[str, Any], certificate: PresentedCertificate | None
) -> None:
    """Check an RFC 7662 introspection response for a certificate-bound token (RFC 8705 3.2).

    The token must be active (``"active": true``, RFC 7662 2.2 -- exactly the JSON boolean
    ``true``) and its ``cnf.x5t#S256`` must match ``certificate``; raises
    :class:`~clientauth.InvalidToken` / :class:`~clientauth.BindingMismatch` otherwise.
    """
    if not isinstance(response, Mapping):
        raise InvalidToken("introspection response is not a JSON object")
    if response.get("active") is not True:
        raise InvalidToken("token is not active (RFC 7662 2.2)")
    check_binding(response, certificate)
