"""Secrets never leak: not in reprs, not in exception messages, not in logs, not in responses.

"Leak" means any 12-character window of a client secret (registered or presented), of the
Basic token that carries it, or of a stored hash's salt/digest shows up in the text. Checked:
``repr``/``str`` of every public object that can hold one, every exception raised while
parsing secret-bearing input, every log record of the ``clientauth`` logger tree at DEBUG
during a mix of authentications, and the HTTP error responses of the ASGI and WSGI adapters.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Iterable
from typing import Any

import httpx
import pytest

import clientauth
from certs import Pki, clock
from clientauth import (
    Authenticator,
    Client,
    ClientAuthError,
    ClientRequest,
    ForwardedCertificates,
    MemoryRegistry,
)
from clientauth.asgi import ClientAuthMiddleware as ASGIMiddleware
from clientauth.request import extract_credentials, parse_basic_authorization
from clientauth.secret import parse_secret_hash
from clientauth.wsgi import ClientAuthMiddleware as WSGIMiddleware

SECRET = clientauth.generate_secret()
OTHER = clientauth.generate_secret()  # a real secret typed for the wrong client
WRONG = "wrong-" + clientauth.generate_secret()
PROXY_SECRET = "proxy-" + clientauth.generate_secret()
HASH = clientauth.hash_secret(SECRET)
HASH_PARTS = [p for p in HASH.split("$") if len(p) > 12]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def windows(value: str, size: int = 12) -> set[str]:
    return {value[i : i + size] for i in range(max(1, len(value) - size + 1))}


SENSITIVE = [SECRET, OTHER, WRONG, PROXY_SECRET, *HASH_PARTS,
             b64(f"basic:{SECRET}"), b64(f"basic:{WRONG}"), b64(f"nobody:{OTHER}")]
_WINDOWS = {w: s for s in SENSITIVE for w in windows(s)}


def assert_clean(text: str, where: str) -> None:
    found = [w for w in _WINDOWS if w in text]
    assert not found, f"{where} leaks {found[0]!r} (from a secret/hash): {text[:300]!r}"


def basic(cid: str, secret: str) -> list[tuple[str, str]]:
    return [("authorization", "Basic " + b64(f"{cid}:{secret}"))]


@pytest.fixture(scope="module")
def registry() -> MemoryRegistry:
    return clientauth.load_clients([
        {"client_id": "basic", "client_secret_hash": HASH},
        {"client_id": "post", "token_endpoint_auth_method": "client_secret_post",
         "client_secret_hash": HASH},
        {"client_id": "hdr", "token_endpoint_auth_method": "client_secret_header",
         "client_secret_hash": HASH, "client_secret_expires_at": 1},
        {"client_id": "rotating", "client_secrets": [
            {"hash": HASH, "expires_at": 0}, {"hash": clientauth.hash_secret(OTHER)}]},
        {"client_id": "mtls", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": "CN=mtls"},
    ])


@pytest.fixture(scope="module")
def auth(registry: MemoryRegistry, pki: Pki) -> Authenticator:
    forwarded = ForwardedCertificates("rfc9440", trusted_proxies=["10.0.0.0/8"],
                                      shared_secret=("x-proxy-secret", PROXY_SECRET))
    return Authenticator(registry, trust_anchors=[pki.root.cert], forwarded=forwarded,
                         now=clock())


def requests() -> Iterable[ClientRequest]:
    """A mix of successes and every kind of failure, all carrying secrets."""
    yield ClientRequest(basic("basic", SECRET))
    yield ClientRequest(basic("basic", WRONG))
    yield ClientRequest(basic("nobody", OTHER))
    yield ClientRequest(basic("rotating", OTHER))
    yield ClientRequest(basic("post", SECRET))  # wrong method
    yield ClientRequest(form={"client_id": "post", "client_secret": SECRET})
    yield ClientRequest(form={"client_id": "post", "client_secret": [SECRET, WRONG]})
    yield ClientRequest(basic("basic", SECRET), form={"client_id": "basic",
                                                      "client_secret": WRONG})
    yield ClientRequest([("client_id", "hdr"), ("client_secret", SECRET)])  # expired
    yield ClientRequest([("authorization", "Basic " + b64(f"basic:%C3%28{SECRET}"))])
    yield ClientRequest([("authorization", "Basic " + b64(f"basic{SECRET}"))])  # no colon
    yield ClientRequest([("authorization", "Basic " + b64(f"basic:{SECRET}") + "!")])
    yield ClientRequest(basic("basic", SECRET) * 2)
    yield ClientRequest([("client-cert", ":AAAA:"), ("x-proxy-secret", WRONG)], peer="10.0.0.1")
    yield ClientRequest([("client-cert", ":AAAA:"), ("x-proxy-secret", PROXY_SECRET)],
                        peer="10.0.0.1")
    yield ClientRequest([("client-cert", ":AAAA:"), ("x-proxy-secret", PROXY_SECRET)] * 2,
                        peer="10.0.0.1")


class TestReprs:
    def test_registry_objects(self, registry: MemoryRegistry, auth: Authenticator) -> None:
        """Client, StoredSecret, SecretHash, MemoryRegistry, Authenticator: no secret, no
        hash in repr or str."""
        objects: list[Any] = [registry, auth, *registry]
        for client in registry:
            objects += [*client.secrets, *(s.hash for s in client.secrets)]
        objects.append(parse_secret_hash(HASH))
        for obj in objects:
            assert_clean(repr(obj), f"repr({type(obj).__name__})")
            assert_clean(str(obj), f"str({type(obj).__name__})")

    def test_requests_presented_and_results(self, auth: Authenticator) -> None:
        """ClientRequest (secret in headers and form), Presented and AuthResult: clean."""
        for request in requests():
            assert_clean(repr(request), "repr(ClientRequest)")
            try:
                presented = extract_credentials(request)
            except ClientAuthError as exc:
                assert_clean(str(exc), "CredentialsError")
            else:
                assert_clean(repr(presented), "repr(Presented)")
            result = auth.authenticate(request)
            assert_clean(repr(result), "repr(AuthResult)")
            assert_clean(result.detail, "AuthResult.detail")

    def test_forwarded_shared_secret(self) -> None:
        """ForwardedCertificates shows the shared-secret header name, never its value."""
        fwd = ForwardedCertificates("nginx", trusted_proxies=["10.0.0.1"],
                                    shared_secret=("x-proxy-secret", PROXY_SECRET))
        assert_clean(repr(fwd), "repr(ForwardedCertificates)")
        assert "x-proxy-secret" in repr(fwd)


class TestExceptions:
    @pytest.mark.parametrize("value", [
        "Basic " + b64(f"basic:%C3%28{SECRET}"), "Basic " + b64(f"basic{SECRET}"),
        "Basic " + b64(f"basic:{SECRET}")[:-3] + "!!!", f"Basic {SECRET}",
        "Basic " + b64(f"basic:{SECRET}") + "A", "Digest " + SECRET,
    ], ids=["bad-utf8", "no-colon", "bad-b64", "raw", "bad-length", "scheme"])
    def test_basic_parse_errors(self, value: str) -> None:
        """CredentialsError from a secret-bearing Basic value never echoes it."""
        with pytest.raises(ClientAuthError) as info:
            parse_basic_authorization(value)
        assert_clean(str(info.value), "CredentialsError")
        assert_clean(repr(info.value), "repr(CredentialsError)")

    @pytest.mark.parametrize("metadata", [
        {"client_id": "x", "client_secret": SECRET},
        {"client_id": "x", "client_secret_hash": SECRET},
        {"client_id": "x", "client_secret_hash": HASH[:-5]},
        {"client_id": "x", "client_secret_hash": HASH.replace("$sha256$", "$sha257$", 1)},
        {"client_id": "x", "client_secrets": [{"hash": SECRET}]},
        {"client_id": "x", "client_secret_hash": [HASH, SECRET]},
    ], ids=["cleartext", "secret-as-hash", "cut-hash", "unknown-scheme", "rotation-secret",
            "list"])
    def test_metadata_errors(self, metadata: dict[str, Any]) -> None:
        """ClientMetadataError for secret-bearing metadata never contains the secret/hash."""
        with pytest.raises(ClientAuthError) as info:
            Client.from_metadata(metadata)
        assert_clean(str(info.value), "ClientMetadataError")
        assert_clean(repr(vars(info.value)), "ClientMetadataError attributes")

    def test_unknown_scheme_does_not_quote_the_value(self) -> None:
        """Even the 'scheme' of a malformed hash is not echoed (it may be secret text)."""
        with pytest.raises(ClientAuthError) as info:
            Client.from_metadata({"client_id": "x", "client_secret_hash": "$" + SECRET})
        assert_clean(str(info.value), "ClientMetadataError")

    def test_hash_secret_errors(self) -> None:
        """hash_secret refusing a short secret (or a bcrypt-overlong one) does not echo it."""
        for call in (lambda: clientauth.hash_secret(SECRET[:20]),
                     lambda: clientauth.hash_secret(SECRET * 3, scheme="bcrypt")):
            with pytest.raises(ClientAuthError) as info:
                call()
            assert_clean(str(info.value), "ConfigurationError")


class TestLogs:
    def test_debug_logs_of_the_whole_tree(self, auth: Authenticator,
                                          caplog: pytest.LogCaptureFixture) -> None:
        """Every clientauth.* record at DEBUG during the mix: message, args, extras clean."""
        caplog.set_level(logging.DEBUG, logger="clientauth")
        for request in requests():
            auth.authenticate(request)
        assert caplog.records, "the mix should log (audit events at least)"
        for record in caplog.records:
            assert_clean(record.getMessage(), f"log {record.name}")
            assert_clean(repr(record.__dict__), f"log record {record.name}")


class TestHttpResponses:
    def _check(self, response: httpx.Response, where: str) -> None:
        assert response.status_code in (400, 401), response.status_code
        assert_clean(response.text, f"{where} body")
        assert_clean(repr(response.headers.raw), f"{where} headers")
        assert response.json()["error"] in ("invalid_request", "invalid_client")

    def _failing(self) -> list[dict[str, Any]]:
        return [
            {"headers": dict(basic("basic", WRONG))},
            {"headers": dict(basic("nobody", OTHER))},
            {"headers": {"authorization": "Basic " + b64(f"basic{SECRET}")}},
            {"content": f"client_id=post&client_secret={WRONG}",
             "headers": {"content-type": "application/x-www-form-urlencoded"}},
            {"content": f"client_id=post&client_secret={SECRET}&client_secret={WRONG}",
             "headers": {"content-type": "application/x-www-form-urlencoded"}},
            {"headers": {"client_id": "hdr", "client_secret": SECRET}},
        ]

    def test_asgi_error_responses(self, auth: Authenticator) -> None:
        """ASGI middleware 400/401 bodies and headers hold no secret."""

        async def app(scope: Any, receive: Any, send: Any) -> None:  # never reached
            raise AssertionError("a failing request reached the app")

        middleware = ASGIMiddleware(app, authenticator=auth)

        async def run() -> None:
            transport = httpx.ASGITransport(app=middleware, client=("192.0.2.1", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                for kwargs in self._failing():
                    self._check(await http.post("/token", **kwargs), "ASGI")

        asyncio.run(run())

    def test_wsgi_error_responses(self, auth: Authenticator) -> None:
        """WSGI middleware 400/401 bodies and headers hold no secret."""

        def app(environ: Any, start_response: Any) -> list[bytes]:
            raise AssertionError("a failing request reached the app")

        middleware = WSGIMiddleware(app, authenticator=auth)
        with httpx.Client(transport=httpx.WSGITransport(app=middleware),
                          base_url="http://t") as http:
            for kwargs in self._failing():
                self._check(http.post("/token", **kwargs), "WSGI")
