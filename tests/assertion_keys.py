"""Keys, client metadata and signed client assertions for the RFC 7523 tests.

Keys are generated at test time; assertions are signed with PyJWT (an independent signer:
clientauth only verifies). Times are relative to the tests' fixed clock ``NOW``.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from certs import NOW
from clientauth import ClientRequest
from clientauth.request import JWT_BEARER

AUDIENCE = "https://as.example.com"
TOKEN_ENDPOINT = "https://as.example.com/token"
SECRET = "k" * 64  # a client_secret long enough for HS512 (RFC 7518 3.2)
T0 = int(NOW.timestamp())

ALG_KEYS = {
    "ES256": "p256", "ES384": "p384", "ES512": "p521",
    "RS256": "rsa", "RS384": "rsa", "RS512": "rsa",
    "PS256": "rsa", "PS384": "rsa", "PS512": "rsa",
    "EdDSA": "ed25519",
}


@functools.cache
def private_key(kind: str) -> Any:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "rsa1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    curve = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}[kind]
    return ec.generate_private_key(curve)


def public_jwk(kind: str, kid: str | None = None, **extra: Any) -> dict[str, Any]:
    public = private_key(kind).public_key()
    if kind.startswith("rsa"):
        text = RSAAlgorithm.to_jwk(public)
    elif kind == "ed25519":
        text = OKPAlgorithm.to_jwk(public)
    else:
        text = ECAlgorithm.to_jwk(public)
    jwk: dict[str, Any] = json.loads(text)
    if kid is not None:
        jwk["kid"] = kid
    jwk.update(extra)
    return jwk


def pk_client(
    client_id: str = "pk-client", kinds: tuple[str, ...] = tuple(sorted(set(ALG_KEYS.values()))),
    **extra: Any,
) -> dict[str, Any]:
    """A private_key_jwt client registering one public key per kind, kid = the kind."""
    return {
        "client_id": client_id,
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [public_jwk(k, kid=k) for k in kinds]},
        **extra,
    }


def hs_client(client_id: str = "hs-client", **extra: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "token_endpoint_auth_method": "client_secret_jwt",
        "client_secret": SECRET,
        **extra,
    }


def claims(client_id: str = "pk-client", **changes: Any) -> dict[str, Any]:
    """Valid claims at NOW; a change set to ``None`` removes the claim."""
    out: dict[str, Any] = {
        "iss": client_id, "sub": client_id, "aud": AUDIENCE,
        "iat": T0, "exp": T0 + 60, "jti": str(uuid.uuid4()),
    }
    for name, value in changes.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def sign(
    payload: dict[str, Any], alg: str = "ES256", *, kid: str | None = "default",
    key: Any = None, headers: dict[str, Any] | None = None,
) -> str:
    """Sign ``payload`` with the test key for ``alg`` (kid defaults to the key's kind)."""
    if key is None:
        key = SECRET.encode() if alg.startswith("HS") else private_key(ALG_KEYS[alg])
    head = dict(headers or {})
    if kid == "default":
        kid = None if alg.startswith("HS") else ALG_KEYS[alg]
    if kid is not None:
        head["kid"] = kid
    return jwt.encode(payload, key, algorithm=alg, headers=head or None)


def assertion_request(token: str, **form: Any) -> ClientRequest:
    return ClientRequest(
        form={"client_assertion_type": JWT_BEARER, "client_assertion": token, **form}
    )
