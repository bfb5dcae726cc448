"""private_key_jwt with a ``jwks_uri``: keys fetched through JwksFetcher's cache and bounds.

What must hold: keys served at the URI verify assertions; the set is fetched once and cached;
an unknown kid (the client rotated its key) triggers one refresh, rate-limited by the
fetcher; an unreachable key set refuses (``assertion_keys_unavailable``) without raising;
encryption keys and private material in a served set are never used.
"""

from __future__ import annotations

import email.message
import io
import json
import urllib.request
import urllib.response
from typing import Any

from assertion_keys import AUDIENCE, T0, assertion_request, claims, public_jwk, sign
from certs import NOW, Clock
from clientauth import Authenticator, Failure, JwksKeys, load_clients

URI = "https://client.example/jwks.json"


class Served(urllib.request.BaseHandler):
    """An opener handler answering every https GET with ``body`` (no network)."""

    def __init__(self) -> None:
        self.body: bytes = b'{"keys": []}'
        self.fetches = 0
        self.fail = False

    def https_open(self, request: urllib.request.Request) -> Any:
        self.fetches += 1
        if self.fail:
            raise urllib.error.URLError("connection refused")
        headers = email.message.Message()
        headers["Content-Type"] = "application/jwk-set+json"
        return urllib.response.addinfourl(io.BytesIO(self.body), headers,
                                          request.get_full_url(), 200)


def setup(*keys: dict[str, Any]) -> tuple[Authenticator, Served, Clock]:
    served = Served()
    served.body = json.dumps({"keys": list(keys)}).encode()
    clock = Clock(NOW)
    opener = urllib.request.OpenerDirector()
    opener.add_handler(served)
    registry = load_clients([{"client_id": "pk-client",
                              "token_endpoint_auth_method": "private_key_jwt",
                              "jwks_uri": URI}])
    auth = Authenticator(registry, audience=AUDIENCE, now=clock,
                         jwks_keys=JwksKeys(opener=opener, now=clock))
    return auth, served, clock


def test_fetched_keys_verify_and_are_cached() -> None:
    """Keys at the jwks_uri verify; the set is fetched once for many requests."""
    auth, served, _ = setup(public_jwk("p256", kid="p256"), public_jwk("rsa", kid="rsa"))
    for alg in ("ES256", "RS256", "ES256"):
        assert auth.authenticate(assertion_request(sign(claims(), alg))).ok
    assert served.fetches == 1


def test_unknown_kid_refreshes_once() -> None:
    """A new kid makes the verifier refresh the set (key rotation); the refresh budget of the
    fetcher keeps a stream of unknown kids from becoming a stream of fetches."""
    auth, served, clock = setup(public_jwk("p256", kid="p256"))
    assert auth.authenticate(assertion_request(sign(claims(), "ES256"))).ok
    clock.advance(minutes=2)
    served.body = json.dumps({"keys": [public_jwk("p384", kid="p384")]}).encode()
    later = {"iat": T0 + 120, "exp": T0 + 180}
    assert auth.authenticate(assertion_request(sign(claims(**later), "ES384"))).ok
    assert served.fetches == 2
    for _ in range(5):
        result = auth.authenticate(assertion_request(sign(claims(**later), "ES256", kid="nope")))
        assert result.failure is Failure.INVALID_ASSERTION and result.detail.startswith("kid")
    # The set was fetched less than refresh_interval ago: the cache answers, no fetch.
    assert served.fetches == 2
    clock.advance(minutes=1)
    later = {"iat": T0 + 180, "exp": T0 + 240}
    for _ in range(5):
        auth.authenticate(assertion_request(sign(claims(**later), "ES256", kid="nope")))
    assert served.fetches == 3  # one refresh per refresh_interval, whatever the traffic


def test_unreachable_key_set() -> None:
    """No set can be fetched: refused as assertion_keys_unavailable (invalid_client)."""
    auth, served, _ = setup(public_jwk("p256", kid="p256"))
    served.fail = True
    result = auth.authenticate(assertion_request(sign(claims(), "ES256")))
    assert result.failure is Failure.ASSERTION_KEYS_UNAVAILABLE
    assert result.error == "invalid_client"


def test_unusable_served_keys_ignored() -> None:
    """A served key with use=enc, or with private material, is never used."""
    enc = public_jwk("p256", kid="p256", use="enc")
    private = {**public_jwk("rsa", kid="rsa"), "d": "AAAA"}
    auth, _, clock = setup(enc, private)
    for step, alg in enumerate(("ES256", "RS256"), start=1):
        clock.advance(minutes=2)
        at = T0 + 120 * step
        result = auth.authenticate(assertion_request(sign(claims(iat=at, exp=at + 60), alg)))
        assert result.failure is Failure.INVALID_ASSERTION and result.detail.startswith("kid")


def test_refresh_failure_after_unknown_kid() -> None:
    """An unknown kid whose refresh cannot be fetched is refused (kid), never raised."""
    auth, served, clock = setup(public_jwk("p256", kid="p256"))
    assert auth.authenticate(assertion_request(sign(claims(), "ES256"))).ok
    clock.advance(minutes=2)
    served.fail = True
    at = T0 + 120
    result = auth.authenticate(assertion_request(sign(claims(iat=at, exp=at + 60), "ES256",
                                                      kid="rotated")))
    assert result.failure is Failure.INVALID_ASSERTION and result.detail.startswith("kid")
