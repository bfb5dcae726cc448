"""Issue 16 finding 5: every 401 carries a ``WWW-Authenticate`` challenge (RFC 9110 15.5.2).

Each way a request can be refused with 401 -- no credentials, a wrong or unknown secret in
any of the three secret places, a secret sent the wrong way, a certificate client without a
certificate or with a certificate that does not verify, an unknown certificate, a forwarded
header from an untrusted peer -- is sent through both the ASGI and the WSGI adapter; the
answer carries ``Basic realm="<realm>"`` (docs/frameworks.md, "Error responses", says why Basic
for every method). 400 (``invalid_request``) needs no challenge and keeps its status. The
framework integrations are covered in tests/integration/test_frameworks.py.
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import clientauth
from certs import NOW, Pki, clock
from clientauth import Authenticator
from clientauth._http import error_response
from clientauth.asgi import ClientAuthMiddleware as ASGIMiddleware
from clientauth.wsgi import ClientAuthMiddleware as WSGIMiddleware

SECRET = clientauth.generate_secret()
REALM = "tokens"
CHALLENGE = f'Basic realm="{REALM}"'
FORM = "application/x-www-form-urlencoded"


def basic(cid: str, secret: str) -> tuple[str, str]:
    return ("authorization", "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode())


class Sent:
    """One request: headers, form body, TLS chain (PEM, leaf first), peer address."""

    def __init__(self, headers: list[tuple[str, str]] | None = None, body: str = "",
                 tls: list[str] | None = None, peer: str = "10.9.8.7") -> None:
        self.headers = list(headers or [])
        if body:
            self.headers.append(("content-type", FORM))
        self.body = body.encode()
        self.tls = tls or []
        self.peer = peer


def call_asgi(app: Any, sent: Sent) -> tuple[int, dict[str, str]]:
    messages: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": sent.body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {"type": "http", "method": "POST", "path": "/token", "raw_path": b"/token",
             "root_path": "", "query_string": b"", "client": (sent.peer, 1),
             "headers": [(k.encode(), v.encode()) for k, v in sent.headers],
             "extensions": {"tls": {"client_cert_chain": sent.tls}}}
    asyncio.run(app(scope, receive, send))
    start = messages[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


def call_wsgi(app: Any, sent: Sent) -> tuple[int, dict[str, str]]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": "/token", "QUERY_STRING": "",
        "REMOTE_ADDR": sent.peer, "wsgi.input": io.BytesIO(sent.body),
        "CONTENT_LENGTH": str(len(sent.body)),
    }
    for name, value in sent.headers:
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    if sent.tls:
        environ["SSL_CLIENT_CERT"] = sent.tls[0]
        for i, pem in enumerate(sent.tls[1:]):
            environ[f"SSL_CLIENT_CERT_CHAIN_{i}"] = pem
    got: list[tuple[str, list[tuple[str, str]]]] = []
    b"".join(app(environ, lambda status, headers, exc_info=None: got.append((status, headers))))
    status, headers = got[0]
    return int(status.split()[0]), {k.lower(): v for k, v in headers}


async def ok_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def ok_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b""]


def pem(cert: Any) -> str:
    return str(cert.public_bytes(Encoding.PEM).decode())


@pytest.fixture(scope="module")
def auth(pki: Pki) -> Authenticator:
    registry = clientauth.load_clients([
        {"client_id": "basic", "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "post", "token_endpoint_auth_method": "client_secret_post",
         "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "hdr", "token_endpoint_auth_method": "client_secret_header",
         "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "mtls", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": "CN=mtls-client"},
    ])
    forwarded = clientauth.ForwardedCertificates("nginx", trusted_proxies=["127.0.0.1/32"])
    return Authenticator(registry, trust_anchors=[pki.root.cert],
                         intermediates=[pki.intermediate.cert], forwarded=forwarded,
                         now=clock(NOW))


def refusals(pki: Pki) -> dict[str, Sent]:
    """Every kind of 401 refusal the authenticator makes, by name."""
    good_chain = [pem(c) for c in pki.chain_for(pki.leaf("mtls-client"))]
    other = Pki.create("Elsewhere")
    foreign_chain = [pem(c) for c in other.chain_for(other.leaf("mtls-client"))]
    unknown_chain = [pem(c) for c in pki.chain_for(pki.leaf("nobody-registered"))]
    return {
        "no credentials": Sent(),
        "basic wrong secret": Sent([basic("basic", "wrong")]),
        "basic unknown client": Sent([basic("nobody", SECRET)]),
        "form wrong secret": Sent(body="client_id=post&client_secret=wrong"),
        "form unknown client": Sent(body=f"client_id=nobody&client_secret={SECRET}"),
        "form for a basic client": Sent(body=f"client_id=basic&client_secret={SECRET}"),
        "form client_id without secret": Sent(body="client_id=post"),
        "header wrong secret": Sent([("client-id", "hdr"), ("client-secret", "wrong")]),
        "certificate client without certificate": Sent(body="client_id=mtls"),
        "certificate from another CA": Sent(body="client_id=mtls", tls=foreign_chain),
        "unknown certificate": Sent(tls=unknown_chain),
        "secret client with a certificate": Sent(body="client_id=basic", tls=good_chain),
        "forwarded header from an untrusted peer": Sent(
            [("x-ssl-client-cert", "spoofed")], body="client_id=mtls"),
    }


ADAPTERS: dict[str, tuple[Callable[..., Any], Callable[[Any, Sent], tuple[int, Any]]]] = {
    "asgi": (lambda auth: ASGIMiddleware(ok_asgi, authenticator=auth, realm=REALM), call_asgi),
    "wsgi": (lambda auth: WSGIMiddleware(ok_wsgi, authenticator=auth, realm=REALM), call_wsgi),
}


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_every_401_carries_a_challenge(adapter: str, auth: Authenticator, pki: Pki) -> None:
    """Each 401 refusal, through either adapter, carries WWW-Authenticate: Basic realm=..."""
    build, call = ADAPTERS[adapter]
    app = build(auth)
    missing = []
    for name, sent in refusals(pki).items():
        status, headers = call(app, sent)
        assert status == 401, (name, status)
        if headers.get("www-authenticate") != CHALLENGE:
            missing.append(name)
    assert not missing, f"401 without the challenge: {missing}"


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_success_and_400_unchanged(adapter: str, auth: Authenticator, pki: Pki) -> None:
    """A success carries no challenge; malformed credentials stay 400 (RFC 6749 5.2)."""
    build, call = ADAPTERS[adapter]
    app = build(auth)
    assert call(app, Sent([basic("basic", SECRET)])) == (200, {})
    status, headers = call(app, Sent([("authorization", "Basic !!!")]))
    assert status == 400
    assert "www-authenticate" not in headers


def test_error_response_challenges_every_401() -> None:
    """error_response(): every failure that maps to 401 (any Failure, any source) has the
    challenge; every 400 has none."""
    sources = [None, "authorization", "form", "headers", "query", "tls", "forwarded:nginx"]
    for failure in clientauth.Failure:
        for source in sources:
            result = clientauth.AuthResult.failed(failure, "x", source=source)
            status, headers, _ = error_response(result, realm=REALM)
            names = dict(headers)
            if status == 401:
                assert names.get("www-authenticate") == CHALLENGE, (failure, source)
            else:
                assert status == 400
                assert "www-authenticate" not in names
