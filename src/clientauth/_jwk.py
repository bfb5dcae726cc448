"""Verification keys for client assertions (RFC 7523): JWKs parsed once, algorithms and keys
matched by one table.

Shared by :mod:`clientauth.clients` (keys of an inline ``jwks``, the ``client_secret`` of a
``client_secret_jwt`` client, both parsed when the client is built) and
:mod:`clientauth.assertion` (keys served at a ``jwks_uri``). The signature arithmetic is
PyJWT's (``jwt.algorithms``); what is decided here is which key may check which algorithm.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError, PyJWTError

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "HMAC_ALGORITHMS",
    "MIN_RSA_BITS",
    "AssertionKey",
    "hmac_key",
    "key_fits",
    "key_from_jwk",
]

ASYMMETRIC_ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
})
"""What a ``private_key_jwt`` assertion may be signed with (RFC 7518 3.3-3.5, RFC 8037 3.1)."""

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
"""What a ``client_secret_jwt`` assertion may be MACed with (RFC 7518 3.2)."""

MIN_RSA_BITS = 2048
"""RFC 7518 3.3: "A key of size 2048 bits or larger MUST be used with these algorithms"."""

# RFC 7518 3.4: each ECDSA algorithm is bound to one curve (ES512 is P-521, not P-512).
_EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
# RFC 7518 3.2: "A key of the same size as the hash output ... or larger MUST be used".
_HMAC_MIN_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_MAX_JWK_TEXT = 64 * 1024  # one JWK's JSON; an RSA-16384 JWK is ~5 KiB


@dataclasses.dataclass(frozen=True, slots=True)
class AssertionKey:
    """One key that can check a client assertion. ``kty`` is the JWK key type (``RSA``,
    ``EC``, ``OKP``, or ``oct`` for a ``client_secret_jwt`` secret); ``alg`` the JWK's own
    ``alg`` member, which restricts the key to that algorithm (RFC 7517 4.4). The key itself
    never appears in the repr."""

    kty: str
    key: Any = dataclasses.field(repr=False)
    kid: str | None = None
    alg: str | None = None


def key_from_jwk(jwk: Mapping[str, Any]) -> AssertionKey | None:
    """The public signing key of one JWK, or ``None`` when the JWK cannot check a signature:
    an encryption key (``use`` other than ``sig``, RFC 7517 4.2), ``key_ops`` without
    ``verify`` (4.3), private or symmetric material (a client's key set holds public keys
    only, RFC 7591 2), an unknown ``kty``, or values that do not make a key."""
    if not isinstance(jwk, Mapping):
        return None
    kty = jwk.get("kty")
    use = jwk.get("use")
    ops = jwk.get("key_ops")
    kid = jwk.get("kid")
    alg = jwk.get("alg")
    if use is not None and use != "sig":
        return None
    if ops is not None and (not isinstance(ops, list | tuple) or "verify" not in ops):
        return None
    if any(m in jwk for m in _PRIVATE_MEMBERS):
        return None
    if kid is not None and not isinstance(kid, str):
        return None
    if alg is not None and alg not in ASYMMETRIC_ALGORITHMS:
        return None
    parser: Any = {"RSA": RSAAlgorithm, "EC": ECAlgorithm, "OKP": OKPAlgorithm}.get(
        kty if isinstance(kty, str) else ""
    )
    if parser is None:
        return None
    try:
        text = json.dumps(dict(jwk))
        if len(text) > _MAX_JWK_TEXT:
            return None
        key = parser.from_jwk(text)
    except (PyJWTError, InvalidKeyError, ValueError, TypeError, KeyError, OverflowError):
        return None
    if not isinstance(
        key,
        rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
        | ed448.Ed448PublicKey,
    ):
        return None
    return AssertionKey(str(kty), key, kid, alg)


def hmac_key(secret: str) -> AssertionKey:
    """The MAC key of a ``client_secret_jwt`` client: its ``client_secret`` as UTF-8 octets
    (OpenID Connect Core 9: "the octets of the UTF-8 representation of the client_secret")."""
    return AssertionKey("oct", secret.encode("utf-8"))


def key_fits(key: AssertionKey, alg: str) -> str | None:
    """``None`` when ``key`` may check ``alg``; otherwise why not (public words only).

    The key type must match the algorithm (no HS256 keyed with a public key, RFC 8725 3.1),
    an ECDSA algorithm its curve, and the key be strong enough for it."""
    if key.alg is not None and key.alg != alg:
        return f"the key is for {key.alg}"
    if alg in HMAC_ALGORITHMS:
        if key.kty != "oct":
            return "an HMAC algorithm needs the client_secret"
        if len(key.key) < _HMAC_MIN_BYTES[alg]:
            return f"the client_secret is shorter than {alg} requires (RFC 7518 3.2)"
        return None
    if alg.startswith(("RS", "PS")):
        if not isinstance(key.key, rsa.RSAPublicKey):
            return "not an RSA key"
        if key.key.key_size < MIN_RSA_BITS:
            return f"RSA key under {MIN_RSA_BITS} bits"
        return None
    if alg in _EC_CURVES:
        if not isinstance(key.key, ec.EllipticCurvePublicKey):
            return "not an EC key"
        if key.key.curve.name != _EC_CURVES[alg]:
            return f"{alg} needs curve {_EC_CURVES[alg]}"
        return None
    if alg == "EdDSA":
        if not isinstance(key.key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            return "not an EdDSA (OKP) key"
        return None
    return "algorithm not accepted"
