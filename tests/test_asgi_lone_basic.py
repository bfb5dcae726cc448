"""The lone-Basic shortcut answers what the general path answers (issue 18).

``ClientAuthMiddleware`` finds, in its one pass over the raw headers, a request whose only
header clientauth reads is one ``Authorization`` value, and hands that value to
``Authenticator._lone_basic`` without building a :class:`~clientauth.ClientRequest`;
``authenticate()`` does the same for a ``ClientRequest``. What must hold, on generated requests
and for every kind of configuration (custom credential headers on and off, forwarded policies
with plain names and with a prefix, a threaded middleware):

- the response, the :class:`~clientauth.AuthResult` put in the scope, the audit events and what
  the application sees are those of the same middleware with the shortcut off in both places
  (every request through ``extract_credentials`` and the decision steps);
- the shortcut is really taken for the common request (else this would test nothing), and
  never when query credentials are read or ``authenticate`` is overridden.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clientauth
from certs import NOW, Pki, clock
from clientauth import Authenticator, AuthResult, ForwardedCertificates
from clientauth.asgi import (
    _CONTENT_LENGTH,
    _CONTENT_TYPE,
    SCOPE_KEY,
    ClientAuthMiddleware,
    _HeaderKinds,
)

SECRET = clientauth.generate_secret()
OTHER = clientauth.generate_secret()
PROXY_SECRET = "proxy-shared-secret-value"
PKI = Pki.create()
LEAF = PKI.leaf("mtls-client")


def registry() -> clientauth.MemoryRegistry:
    return clientauth.load_clients([
        {"client_id": "basic", "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "two", "client_secrets": [
            {"hash": clientauth.hash_secret(OTHER)}, {"hash": clientauth.hash_secret(SECRET)}]},
        {"client_id": "post", "token_endpoint_auth_method": "client_secret_post",
         "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "expiring", "client_secrets": [{
            "hash": clientauth.hash_secret(SECRET),
            "expires_at": int((NOW + timedelta(days=3)).timestamp())}]},
        {"client_id": "expired", "client_secrets": [{
            "hash": clientauth.hash_secret(SECRET),
            "expires_at": int((NOW - timedelta(days=3)).timestamp())}]},
        {"client_id": "mtls-client", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": "CN=mtls-client"},
    ])


CONFIGS: dict[str, Callable[[], dict[str, Any]]] = {
    "default": dict,
    "no-custom-headers": lambda: {"id_header": None, "secret_header": None},
    "custom-headers": lambda: {"id_header": "X-Client", "secret_header": "X-Key"},
    "rfc9440": lambda: {"forwarded": ForwardedCertificates(
        "rfc9440", trusted_proxies=["127.0.0.1/32"],
        shared_secret=("X-Proxy-Secret", PROXY_SECRET))},
    "apache": lambda: {"forwarded": ForwardedCertificates(
        "apache", trusted_proxies=["127.0.0.1/32"], chain_header="x-chain-")},
    "no-expiry-warning": lambda: {"expiry_warning": None},
}


def basic(text: str) -> bytes:
    return b"Basic " + base64.b64encode(text.encode())


AUTHORIZATIONS = [
    basic(f"basic:{SECRET}"), basic(f"basic:{OTHER}"), basic(f"two:{SECRET}"),
    basic(f"nobody:{SECRET}"), basic(f"post:{SECRET}"), basic(f"expiring:{SECRET}"),
    basic(f"expired:{SECRET}"), basic(f"mtls-client:{SECRET}"), basic("basic:"),
    basic(f":{SECRET}"), basic(f"basic%41:{SECRET}"), basic(f"ba+sic:{SECRET}"),
    basic(f"basic:{SECRET}").rstrip(b"="), b"basic " + basic(f"basic:{SECRET}")[6:],
    b"Basic  " + basic(f"basic:{SECRET}")[6:], b"Basic " + base64.b64encode(b"b\xffa:x"),
    basic(f"b\x01:{SECRET}"), b"Bearer abc", b"Basic", b"Basic !!!!", b"Basic \xe9\xe9==",
    basic("x" * 2000 + ":" + SECRET), b"Basic " + b"A" * 20000,
]
NAMES = [
    b"authorization", b"Authorization", b"host", b"user-agent", b"client_id", b"client_secret",
    b"x-client", b"X-Key", b"client-cert", b"x-proxy-secret", b"x_proxy_secret",
    b"x-chain-0", b"ssl_client_cert", b"x_other", b"content-type", b"content-length",
]
VALUES: dict[bytes, list[bytes]] = {
    b"content-type": [b"application/json", b"application/x-www-form-urlencoded",
                      b"multipart/form-data; boundary=x", b"text/plain"],
    b"content-length": [b"0", b"29", b"x", b"1,1"],
    b"client_id": [b"basic", b"post"], b"x-client": [b"basic"],
    b"x-proxy-secret": [PROXY_SECRET.encode(), b"wrong"],
    b"client-cert": [b":" + base64.b64encode(LEAF.der) + b":", b":garbage:"],
}


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    headers: list[tuple[bytes, bytes]] = []
    if draw(st.booleans()):
        headers.append((b"authorization", draw(st.sampled_from(AUTHORIZATIONS))))
    for name in draw(st.lists(st.sampled_from(NAMES), max_size=4)):
        if name.lower() == b"authorization":
            value = draw(st.sampled_from(AUTHORIZATIONS))
        else:
            value = draw(st.sampled_from(VALUES.get(name.lower(), [b"x", SECRET.encode()])))
        headers.insert(draw(st.integers(0, len(headers))), (name, value))
    body = draw(st.sampled_from([b"", b"grant_type=client_credentials", b"client_id=post"]))
    scope: dict[str, Any] = {
        "type": "http", "path": "/token", "raw_path": b"/token", "method": "POST",
        "query_string": draw(st.sampled_from([b"", b"client_id=basic"])),
        "headers": headers,
        "client": draw(st.sampled_from([("127.0.0.1", 5000), ("10.1.2.3", 5000), None])),
    }
    if draw(st.booleans()):
        chain = draw(st.sampled_from([[LEAF.pem], []]))
        scope["extensions"] = {"tls": {"client_cert_chain": chain}}
    return {"scope": scope, "body": body}


class Run:
    """One middleware with an audit list, driven to completion."""

    def __init__(self, config: str, *, shortcut: bool, threaded: bool = False) -> None:
        self.events: list[clientauth.AuditEvent] = []
        self.auth = Authenticator(
            registry(), trust_anchors=[PKI.root.cert], intermediates=[PKI.intermediate.cert],
            now=clock(NOW), audit=self.events.append, **CONFIGS[config]())
        self.middleware = ClientAuthMiddleware(_app, authenticator=self.auth, threaded=threaded)
        self.taken = 0
        lone = self.auth._lone_basic

        def counting(value: str, peer: str | None) -> AuthResult | None:
            result = lone(value, peer) if shortcut else None
            self.taken += result is not None
            return result

        # Off: neither the middleware nor authenticate() takes the shortcut, so every
        # request goes through the general path (extract_credentials, _decide).
        self.auth._lone_basic = counting  # type: ignore[method-assign]
        if not shortcut:
            self.middleware._looked_for = _HeaderKinds(None)

    def __call__(self, scope: dict[str, Any], body: bytes) -> tuple[Any, ...]:
        sent: list[dict[str, Any]] = []
        seen: dict[str, Any] = {}
        pending = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {**scope, "headers": list(scope["headers"]), "app_seen": seen}
        before = len(self.events)
        asyncio.run(self.middleware(scope, receive, send))
        return (sent, scope.get(SCOPE_KEY), seen, self.events[before:])


def takes_shortcut(middleware: ClientAuthMiddleware) -> bool:
    """Whether the middleware's header scan looks for a lone Authorization header."""
    return b"authorization" in middleware._looked_for.kinds


async def _app(scope: Any, receive: Any, send: Any) -> None:
    """Records what it was given (the result, and the body it reads) and answers 200."""
    message = await receive()
    scope["app_seen"].update(result=scope[SCOPE_KEY], state=scope["state"][SCOPE_KEY],
                             body=message.get("body"))
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("config", list(CONFIGS))
class TestSameAsGeneralPath:
    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(request=requests())
    def test_generated_requests(self, config: str, request: dict[str, Any]) -> None:
        """Response, result, what the app saw and audit events equal the general path's."""
        fast, slow = Run(config, shortcut=True), Run(config, shortcut=False)
        assert takes_shortcut(fast.middleware) and not takes_shortcut(slow.middleware)
        assert fast(**request) == slow(**request)
        assert slow.taken == 0

    def test_common_request_takes_the_shortcut(self, config: str) -> None:
        """A lone Basic header with a right secret, a wrong one, an unknown id: all taken,
        with the very outcome of the general path."""
        fast, slow = Run(config, shortcut=True), Run(config, shortcut=False)
        for text in (f"basic:{SECRET}", f"basic:{OTHER}", f"nobody:{SECRET}",
                     f"post:{SECRET}", f"expiring:{SECRET}"):
            scope = {"type": "http", "path": "/token", "headers": [
                (b"host", b"a"), (b"authorization", basic(text)),
                (b"content-type", b"application/json"), (b"content-length", b"2")],
                "client": ("127.0.0.1", 1), "query_string": b""}
            assert fast(scope, b"{}") == slow(scope, b"{}")
        assert fast.taken == 5


class TestWhenNotTaken:
    def scope(self) -> dict[str, Any]:
        return {"type": "http", "path": "/", "headers": [(b"authorization", basic(
            f"basic:{SECRET}"))], "client": ("127.0.0.1", 1), "query_string": b""}

    def test_threaded_takes_it_in_a_thread(self) -> None:
        fast = Run("default", shortcut=True, threaded=True)
        sent, result, _, events = fast(self.scope(), b"")
        assert result.ok and fast.taken == 1 and sent[0]["status"] == 200
        assert [e.event for e in events] == ["authentication"]

    def test_query_credentials_turn_it_off(self) -> None:
        auth = Authenticator(registry(), allow_query_credentials=True)
        assert auth._lone_basic_reads is None
        assert not takes_shortcut(ClientAuthMiddleware(_app, authenticator=auth))

    @pytest.mark.parametrize("name", ["Content-Type", "content-length"])
    def test_credential_header_named_as_a_framing_header_turns_it_off(self, name: str) -> None:
        """A configuration that reads a credential from Content-Type or Content-Length (odd,
        but accepted): the scan keeps checking the body's framing, and takes no shortcut."""
        auth = Authenticator(registry(), id_header=name, secret_header="x-secret")
        middleware = ClientAuthMiddleware(_app, authenticator=auth)
        assert not takes_shortcut(middleware)
        kind = middleware._looked_for.kinds[name.lower().encode()]
        assert kind == (_CONTENT_TYPE if name.lower() == "content-type" else _CONTENT_LENGTH)

    def test_forwarded_header_named_authorization_turns_it_off(self) -> None:
        """A forwarded policy reading its certificate from ``Authorization`` (odd, but
        accepted): that header is not a lone Basic header, and the general path decides."""
        forwarded = ForwardedCertificates("rfc9440", trusted_proxies=["127.0.0.1/32"],
                                          header="Authorization")
        auth = Authenticator(registry(), forwarded=forwarded)
        assert not takes_shortcut(ClientAuthMiddleware(_app, authenticator=auth))
        fast, slow = Run("default", shortcut=True), Run("default", shortcut=False)
        for run in (fast, slow):
            run.auth = Authenticator(registry(), forwarded=forwarded, now=clock(NOW),
                                     audit=run.events.append)
            run.middleware = ClientAuthMiddleware(_app, authenticator=run.auth)
        slow.middleware._looked_for = _HeaderKinds(None)
        slow.auth._lone_basic = lambda value, peer: None  # type: ignore[method-assign]
        scope = {"type": "http", "path": "/", "client": ("127.0.0.1", 1), "query_string": b"",
                 "headers": [(b"authorization", basic(f"basic:{SECRET}"))]}
        answer = fast(scope, b"")
        assert answer == slow(scope, b"")
        assert not answer[1].ok  # the policy's header holds no certificate: refused

    def test_forwarded_policy_without_a_quick_check_turns_it_off(self) -> None:
        """A forwarded header name with a ``_``: only the full check can tell a dashed
        spelling of it, so no request takes the shortcut."""
        forwarded = ForwardedCertificates("rfc9440", trusted_proxies=["127.0.0.1/32"],
                                          header="client_cert")
        assert Authenticator(registry(), forwarded=forwarded)._lone_basic_reads is None

    def test_overridden_authenticate_sees_every_request(self) -> None:
        calls: list[clientauth.ClientRequest] = []

        class Counting(Authenticator):
            def authenticate(self, request: clientauth.ClientRequest) -> AuthResult:
                calls.append(request)
                return super().authenticate(request)

        middleware = ClientAuthMiddleware(_app, authenticator=Counting(registry()))
        assert not takes_shortcut(middleware)
        scope = {**self.scope(), "app_seen": {}}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            return None

        asyncio.run(middleware(scope, receive, send))
        assert len(calls) == 1 and scope[SCOPE_KEY].ok
