"""Interop: assertions made by a real client library (Authlib's PrivateKeyJWT and
ClientSecretJWT client authentication) through the ASGI middleware on uvicorn.

What must hold: Authlib's OAuth2Client fetches a token from a uvicorn server guarded by
ClientAuthMiddleware with private_key_jwt (RS256, ES256) and client_secret_jwt (HS256);
each request carries a fresh assertion; an assertion captured on the wire and sent again is
refused (401 invalid_client, replayed_assertion); Authlib's default one-hour assertions are
refused by the default 5-minute lifetime ("lifetime") and accepted when the server allows
an hour.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from harness import free_port, uvicorn_thread

import clientauth
from assertion_keys import SECRET, hs_client, pk_client, private_key
from clientauth.asgi import ClientAuthMiddleware

pytestmark = pytest.mark.integration

authlib_httpx = pytest.importorskip("authlib.integrations.httpx_client")
rfc7523 = pytest.importorskip("authlib.oauth2.rfc7523")

SEEN: list[str] = []  # assertions the server received, to replay one


async def token_endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A token endpoint that issues a dummy token to whoever the middleware authenticated."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    SEEN.append(body.decode())
    result = scope["clientauth"]
    payload = json.dumps({"access_token": f"token-for-{result.client_id}",
                          "token_type": "Bearer", "expires_in": 60,
                          "method": result.method.value}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})


def serve(max_lifetime: timedelta) -> Any:
    import uvicorn

    port = free_port()
    url = f"http://127.0.0.1:{port}/token"
    registry = clientauth.load_clients([pk_client(), hs_client()])
    auth = clientauth.Authenticator(registry, audience=["https://as.example.com", url],
                                    assertion_max_lifetime=max_lifetime)
    app = ClientAuthMiddleware(token_endpoint, authenticator=auth, paths=["/token"])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    return url, uvicorn_thread(config)


@pytest.fixture(scope="module")
def hour() -> Iterator[str]:
    """A server accepting assertions that live up to one hour (Authlib's default)."""
    url, running = serve(timedelta(hours=1))
    with running:
        yield url


@pytest.fixture(scope="module")
def default() -> Iterator[str]:
    """A server with the default 5-minute maximum lifetime."""
    url, running = serve(clientauth.assertion.DEFAULT_ASSERTION_LIFETIME)
    with running:
        yield url


def pem(kind: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return private_key(kind).private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())


def authlib_client(url: str, method: str, alg: str, **options: Any) -> Any:
    if method == "private_key_jwt":
        auth_method = rfc7523.PrivateKeyJWT(url, alg=alg, headers={"kid": {"RS256": "rsa",
                                                                          "ES256": "p256"}[alg]},
                                            **options)
        # Authlib reads a PEM as RSA; an EC key is passed as a joserfc key object.
        from joserfc.jwk import ECKey, RSAKey

        key = (RSAKey if alg == "RS256" else ECKey).import_key(
            pem("rsa" if alg == "RS256" else "p256"))
        client = authlib_httpx.OAuth2Client("pk-client", key,
                                            token_endpoint_auth_method=auth_method)
    else:
        auth_method = rfc7523.ClientSecretJWT(url, alg=alg, **options)
        client = authlib_httpx.OAuth2Client("hs-client", SECRET,
                                            token_endpoint_auth_method=auth_method)
    return client


@pytest.mark.parametrize(("method", "alg"), [("private_key_jwt", "RS256"),
                                             ("private_key_jwt", "ES256"),
                                             ("client_secret_jwt", "HS256")])
def test_authlib_fetches_tokens(hour: str, method: str, alg: str) -> None:
    """Authlib's client authentication is accepted, twice in a row (fresh jti each time)."""
    with authlib_client(hour, method, alg) as client:
        for _ in range(2):
            token = client.fetch_token(hour, grant_type="client_credentials")
            assert token["method"] == method
            assert token["access_token"].startswith("token-for-")


def test_captured_assertion_replayed(hour: str) -> None:
    """The body Authlib sent, replayed verbatim by an eavesdropper: 401 invalid_client."""
    with authlib_client(hour, "private_key_jwt", "ES256") as client:
        client.fetch_token(hour, grant_type="client_credentials")
    captured = SEEN[-1]
    reply = httpx.post(hour, content=captured,
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert reply.status_code == 401
    assert reply.json()["error"] == "invalid_client"


def test_default_lifetime_refuses_hour_long_assertions(default: str) -> None:
    """Authlib signs for an hour unless told otherwise: the 5-minute default refuses it."""
    from authlib.integrations.base_client.errors import OAuthError

    with authlib_client(default, "private_key_jwt", "RS256") as client, \
            pytest.raises(OAuthError) as info:
        client.fetch_token(default, grant_type="client_credentials")
    assert info.value.error == "invalid_client"


def test_authlib_claims_option_repeats_jti(hour: str) -> None:
    """Authlib 1.9 stores the generated jti in the claims= dict it was given, so its second
    assertion repeats the first one's jti: the replay rule refuses it (a client bug the
    server must catch, and the reason docs/assertions.md does not suggest claims=)."""
    import time

    from authlib.integrations.base_client.errors import OAuthError

    claims = {"exp": int(time.time()) + 120}
    with authlib_client(hour, "client_secret_jwt", "HS256", claims=claims) as client:
        client.fetch_token(hour, grant_type="client_credentials")
        with pytest.raises(OAuthError) as info:
            client.fetch_token(hour, grant_type="client_credentials")
    assert info.value.error == "invalid_client"
    assert "jti" in claims
