"""ASGI and WSGI adapters, exercised over HTTP semantics with httpx's in-process transports.

Real-server tests (uvicorn on 127.0.0.1) live in tests/integration/.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

import httpx
import pytest

import clientauth
from certs import Pki
from clientauth import Authenticator
from clientauth.asgi import ClientAuthMiddleware as ASGIMiddleware
from clientauth.wsgi import ClientAuthMiddleware as WSGIMiddleware

SECRET = clientauth.generate_secret()


def basic(cid: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()}


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
    return Authenticator(registry, trust_anchors=[pki.root.cert],
                         intermediates=[pki.intermediate.cert])


async def echo_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Echoes the result it was given and the body it received."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    result = scope.get("clientauth")
    payload = {
        "client_id": result.client_id if result else None,
        "method": result.method if result else None,
        "state": scope.get("state", {}).get("clientauth") is result,
        "body": body.decode("latin-1"),
    }
    data = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": data})


def echo_wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    result = environ.get("clientauth")
    payload = {"client_id": result.client_id if result else None,
               "method": result.method if result else None, "body": body.decode("latin-1")}
    start_response("200 OK", [("content-type", "application/json")])
    return [json.dumps(payload).encode()]


@pytest.fixture(params=["asgi", "wsgi"])
def client(request: pytest.FixtureRequest, auth: Authenticator) -> Iterable[Any]:
    """An httpx client in front of the app, through either adapter."""
    kind = request.param
    if kind == "asgi":
        app = ASGIMiddleware(echo_asgi, authenticator=auth, paths=["/token"], max_body_size=1024)
        transport: Any = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555))
        with_client: Any = httpx.AsyncClient(transport=transport, base_url="http://test")
        yield _SyncWrapper(with_client)
    else:
        app = WSGIMiddleware(echo_wsgi, authenticator=auth, paths=["/token"], max_body_size=1024)
        yield httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://test")


class _SyncWrapper:
    """Runs the async client's calls on a private event loop (keeps tests uniform)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        import asyncio

        self._client = client
        self._loop = asyncio.new_event_loop()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.request(method, url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)


class TestSuccess:
    def test_basic(self, client: Any) -> None:
        """Basic credentials reach the app with the result attached."""
        r = client.post("/token", headers=basic("basic", SECRET))
        assert r.status_code == 200
        assert r.json()["client_id"] == "basic"
        assert r.json()["method"] == "client_secret_basic"

    def test_post_body_replayed(self, client: Any) -> None:
        """client_secret_post: the form is read for the secret and replayed byte-for-byte."""
        body = f"grant_type=client_credentials&client_id=post&client_secret={SECRET}&x=%C3%A9"
        r = client.post("/token", content=body,
                        headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200, r.text
        assert r.json()["client_id"] == "post"
        assert r.json()["body"] == body

    def test_header_method(self, client: Any) -> None:
        """client_secret_header with underscore header names works in ASGI and WSGI."""
        r = client.get("/token", headers={"client_id": "hdr", "client_secret": SECRET})
        assert r.status_code == 200, r.text
        assert r.json()["client_id"] == "hdr"

    def test_unguarded_path_passes(self, client: Any) -> None:
        """Paths outside the configured prefixes are not authenticated."""
        r = client.get("/health")
        assert r.status_code == 200
        assert r.json()["client_id"] is None

    def test_non_form_body_untouched(self, client: Any) -> None:
        """A JSON body is neither read nor counted against the form limit."""
        body = json.dumps({"data": "x" * 5000})
        r = client.post("/token", content=body,
                        headers={**basic("basic", SECRET), "content-type": "application/json"})
        assert r.status_code == 200
        assert r.json()["body"] == body


class TestFailures:
    def test_wrong_basic_is_401_with_challenge(self, client: Any) -> None:
        """RFC 6749 5.2: Basic tried -> 401 + WWW-Authenticate Basic, JSON error, no-store."""
        r = client.post("/token", headers=basic("basic", "wrong"))
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == 'Basic realm="clientauth"'
        assert r.headers["cache-control"] == "no-store"
        assert r.json()["error"] == "invalid_client"

    def test_unknown_and_wrong_answer_identically(self, client: Any) -> None:
        """The response never tells an unknown client from a wrong secret."""
        a = client.post("/token", headers=basic("nobody", SECRET))
        b = client.post("/token", headers=basic("basic", "wrong"))
        assert (a.status_code, a.json()) == (b.status_code, b.json())
        assert "nobody" not in a.text

    def test_form_failure_401_with_challenge(self, client: Any) -> None:
        """A failed form credential is 401 invalid_client, and (RFC 9110 15.5.2: every 401)
        still carries the Basic challenge (issue 16 finding 5)."""
        r = client.post("/token", data={"client_id": "post", "client_secret": "nope"})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == 'Basic realm="clientauth"'

    def test_malformed_is_400(self, client: Any) -> None:
        """Malformed credentials -> 400 invalid_request."""
        r = client.post("/token", headers={"Authorization": "Basic %%%"})
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_request"

    def test_two_methods_is_400(self, client: Any) -> None:
        """Basic and form secret together -> 400 invalid_request."""
        r = client.post("/token", headers=basic("post", SECRET),
                        data={"client_id": "post", "client_secret": SECRET})
        assert r.status_code == 400

    def test_no_credentials_is_401(self, client: Any) -> None:
        """No credentials at all -> 401 invalid_client."""
        assert client.get("/token").status_code == 401

    def test_large_form_is_413(self, client: Any) -> None:
        """A form body larger than max_body_size -> 413, the app never runs."""
        r = client.post("/token", data={"client_id": "post", "client_secret": "x" * 4000})
        assert r.status_code == 413

    def test_secret_never_in_response(self, client: Any) -> None:
        """The presented secret never appears in an error response."""
        r = client.post("/token", data={"client_id": "basic", "client_secret": SECRET})
        assert r.status_code == 401
        assert SECRET not in r.text

    def test_certificate_client_without_certificate(self, client: Any) -> None:
        """A tls_client_auth client without a certificate -> 401."""
        r = client.post("/token", data={"client_id": "mtls"})
        assert r.status_code == 401


class TestASGISpecifics:
    @pytest.mark.anyio
    async def test_tls_extension_chain(self, auth: Authenticator, pki: Pki) -> None:
        """The ASGI TLS extension's client_cert_chain (PEM, leaf first) is used."""
        leaf = pki.leaf("mtls-client")
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        app = ASGIMiddleware(echo_asgi, authenticator=auth)
        scope = {"type": "http", "method": "POST", "path": "/token", "headers": [],
                 "query_string": b"client_id=mtls", "client": ("127.0.0.1", 1),
                 "extensions": {"tls": {"client_cert_chain": [leaf.pem,
                                                              pki.intermediate.pem]}}}
        await app(scope, receive, send)
        assert sent[0]["status"] == 200, sent
        assert scope["clientauth"].ok
        assert scope["clientauth"].source == "tls"

    @pytest.mark.anyio
    async def test_non_http_scopes_pass_through(self, auth: Authenticator) -> None:
        """websocket and lifespan scopes are not touched."""
        seen = []

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            seen.append(scope["type"])

        mw = ASGIMiddleware(app, authenticator=auth)
        for kind in ("websocket", "lifespan"):
            await mw({"type": kind}, None, None)  # type: ignore[arg-type]
        assert seen == ["websocket", "lifespan"]

    @pytest.mark.anyio
    async def test_on_error(self, auth: Authenticator) -> None:
        """on_error(scope, result) supplies the response app."""
        sent: list[dict[str, Any]] = []

        def on_error(scope: dict[str, Any], result: clientauth.AuthResult) -> Any:
            async def respond(scope: Any, receive: Any, send: Any) -> None:
                await send({"type": "http.response.start", "status": 418,
                            "headers": [(b"x-failure", str(result.failure).encode())]})
                await send({"type": "http.response.body", "body": b""})
            return respond

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        mw = ASGIMiddleware(echo_asgi, authenticator=auth, on_error=on_error)
        await mw({"type": "http", "path": "/", "headers": []}, None, send)  # type: ignore[arg-type]
        assert sent[0]["status"] == 418
        assert sent[0]["headers"] == [(b"x-failure", b"no_credentials")]

    def test_settings_validated(self, auth: Authenticator) -> None:
        """Bad settings are refused at construction."""
        for kwargs in ({"authenticator": object()}, {"authenticator": auth, "paths": "/x"},
                       {"authenticator": auth, "paths": ["x"]},
                       {"authenticator": auth, "max_body_size": 0},
                       {"authenticator": auth, "realm": 'a"b'}):
            with pytest.raises(clientauth.ConfigurationError):
                ASGIMiddleware(echo_asgi, **kwargs)  # type: ignore[arg-type]


class TestWSGISpecifics:
    def test_mod_wsgi_certificate_variables(self, auth: Authenticator, pki: Pki) -> None:
        """mod_wsgi's SSL_CLIENT_CERT / SSL_CLIENT_CERT_CHAIN_0 are read."""
        leaf = pki.leaf("mtls-client")
        app = WSGIMiddleware(echo_wsgi, authenticator=auth)
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "",
                   "HTTP_CLIENT_ID": "mtls", "REMOTE_ADDR": "127.0.0.1",
                   "SSL_CLIENT_CERT": leaf.pem, "SSL_CLIENT_CERT_CHAIN_0": pki.intermediate.pem,
                   "wsgi.input": None}
        statuses: list[str] = []
        app(environ, lambda status, headers, exc_info=None: statuses.append(status))
        assert statuses == ["200 OK"]
        assert environ["clientauth"].client_id == "mtls"


class TestBoundToken:
    """Resource-server mode: RFC 8705 3 certificate-bound Bearer tokens, RFC 6750 errors."""

    @pytest.fixture(scope="class")
    def setup(self, pki: Pki) -> dict[str, Any]:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        mine, other = pki.leaf("rs-client"), pki.leaf("someone-else")

        def token(claims: dict[str, Any]) -> str:
            return jwt.encode(claims, key, algorithm="ES256")

        def verify(tok: str) -> dict[str, Any]:
            return jwt.decode(tok, key.public_key(), algorithms=["ES256"], audience="api")

        base = {"sub": "rs-client", "aud": "api"}
        return {
            "verify": verify, "mine": mine, "other": other,
            "bound": token(clientauth.bind_claims(base, mine.cert)),
            "bound_other": token(clientauth.bind_claims(base, other.cert)),
            "unbound": token(base),
            "wrong_aud": token(clientauth.bind_claims({**base, "aud": "x"}, mine.cert)),
        }

    async def call(self, app: Any, headers: list[tuple[bytes, bytes]],
                   chain: list[str] | None) -> tuple[int, dict[bytes, bytes], dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope: dict[str, Any] = {"type": "http", "path": "/api", "headers": headers,
                                 "client": ("127.0.0.1", 1)}
        if chain is not None:
            scope["extensions"] = {"tls": {"client_cert_chain": chain}}
        await app(scope, receive, send)
        return sent[0]["status"], dict(sent[0]["headers"]), scope

    @pytest.mark.anyio
    @pytest.mark.parametrize(
        ("token", "cert", "require", "status", "error"),
        [
            ("bound", "mine", True, 200, None),
            ("bound_other", "mine", True, 401, b"invalid_token"),
            ("unbound", "mine", True, 401, b"invalid_token"),
            ("unbound", "mine", False, 200, None),
            ("bound_other", "mine", False, 401, b"invalid_token"),
            ("bound", None, True, 401, b"invalid_token"),
            ("wrong_aud", "mine", True, 401, b"invalid_token"),
            ("garbage", "mine", True, 401, b"invalid_token"),
            (None, "mine", True, 401, None),
        ],
    )
    async def test_outcomes(self, setup: dict[str, Any], token: str | None, cert: str | None,  # noqa: PLR0917
                            require: bool, status: int, error: bytes | None) -> None:
        """Each token/certificate combination gets the RFC 6750 status and challenge."""
        app = clientauth.asgi.BoundTokenMiddleware(
            echo_asgi, verify_token=setup["verify"], require_binding=require)
        headers = []
        if token is not None:
            value = setup.get(token, "not.a.jwt")
            headers.append((b"authorization", f"Bearer {value}".encode()))
        chain = [setup[cert].pem] if cert else None
        got, response_headers, scope = await self.call(app, headers, chain)
        assert got == status
        if status == 200:
            assert scope["clientauth.token"].claims["sub"] == "rs-client"
            return
        challenge = response_headers[b"www-authenticate"]
        assert challenge.startswith(b'Bearer realm="clientauth"')
        if error is None:
            assert b"error=" not in challenge  # RFC 6750 3.1: no error code without a token
        else:
            assert b'error="invalid_token"' in challenge

    def test_wsgi_bound_token(self, setup: dict[str, Any]) -> None:
        """The WSGI resource-server middleware accepts a bound token over mod_wsgi's cert."""
        app = clientauth.wsgi.BoundTokenMiddleware(echo_wsgi, verify_token=setup["verify"])
        statuses: list[str] = []
        for token in ("bound", "bound_other"):
            environ = {"PATH_INFO": "/", "HTTP_AUTHORIZATION": f"Bearer {setup[token]}",
                       "SSL_CLIENT_CERT": setup["mine"].pem, "REMOTE_ADDR": "127.0.0.1"}
            app(environ, lambda status, headers, exc_info=None: statuses.append(status))
        assert statuses == ["200 OK", "401 Unauthorized"]


# -- issue 11: what a client sends never becomes a 500 or an unbounded read ----------------


class _Recorder:
    """A WSGI input stream that records every read() and refuses unbounded ones."""

    def __init__(self, data: bytes) -> None:
        import io

        self._stream = io.BytesIO(data)
        self.reads: list[int | None] = []

    def read(self, size: int | None = None) -> bytes:
        self.reads.append(size)
        if size is None or size < 0:
            raise AssertionError(f"unbounded read({size!r})")
        return self._stream.read(size)


def call_asgi(app: Any, headers: list[tuple[bytes, bytes]], *, body: bytes = b"",
              query: bytes = b"", tls: list[str] | None = None) -> tuple[int, Any]:
    """One request through an ASGI app, run to completion: (status, JSON body or None)."""
    import asyncio

    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/token",
                             "raw_path": b"/token", "root_path": "", "headers": headers,
                             "query_string": query, "client": ("127.0.0.1", 1)}
    if tls is not None:
        scope["extensions"] = {"tls": {"client_cert_chain": tls}}
    asyncio.run(app(scope, receive, send))
    payload = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], json.loads(payload) if payload else None


def call_wsgi(app: Any, environ: dict[str, Any]) -> tuple[int, Any]:
    statuses: list[str] = []
    base = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": "/token",
            "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1", "wsgi.input": _Recorder(b"")}
    base.update(environ)
    body = b"".join(app(base, lambda status, headers, exc_info=None: statuses.append(status)))
    return int(statuses[0].split()[0]), json.loads(body) if body else None


FORM = (b"content-type", b"application/x-www-form-urlencoded")


class TestClientLimitsAreRefusals:
    """Issue 11 findings 3, 4, 5: limits a client crosses are 4xx answers, never a
    ConfigurationError or ValueError escaping the middleware (a 500 on a real server)."""

    def test_asgi_too_many_headers_400(self, auth: Authenticator) -> None:
        """1001 header fields with valid Basic credentials: 400, not an exception."""
        app = ASGIMiddleware(echo_asgi, authenticator=auth)
        cred = basic("basic", SECRET)["Authorization"].encode()
        headers = [(b"authorization", cred)] + [(b"x-%d" % i, b"v") for i in range(1000)]
        status, payload = call_asgi(app, headers)
        assert (status, payload["error"]) == (400, "invalid_request")

    def test_wsgi_too_many_headers_400(self, auth: Authenticator) -> None:
        """The WSGI adapter refuses 1001 HTTP_* fields the same way."""
        app = WSGIMiddleware(echo_wsgi, authenticator=auth)
        environ = {f"HTTP_X_{i}": "v" for i in range(1001)}
        environ["HTTP_AUTHORIZATION"] = basic("basic", SECRET)["Authorization"]
        assert call_wsgi(app, environ)[0] == 400

    @pytest.mark.parametrize("fields", [150, 1001])
    def test_query_with_many_fields(self, fields: int) -> None:
        """allow_query_credentials: 150 fields are read (the app reads them all); over
        MAX_FORM_FIELDS the request is refused 400 -- never a ValueError from parse_qs."""
        auth = Authenticator(clientauth.load_clients([
            {"client_id": "q", "token_endpoint_auth_method": "client_secret_post",
             "client_secret_hash": clientauth.hash_secret(SECRET)}]),
            allow_query_credentials=True)
        query = "&".join([f"client_id=q&client_secret={SECRET}"] +
                         [f"f{i}=x" for i in range(fields - 2)])
        expected = 200 if fields <= 1000 else 400
        status, _ = call_asgi(ASGIMiddleware(echo_asgi, authenticator=auth), [],
                              query=query.encode())
        assert status == expected
        status, _ = call_wsgi(WSGIMiddleware(echo_wsgi, authenticator=auth),
                              {"QUERY_STRING": query})
        assert status == expected

    def test_mod_wsgi_leaf_plus_ten_chain_variables(self, auth: Authenticator, pki: Pki) -> None:
        """mod_wsgi: SSL_CLIENT_CERT + SSL_CLIENT_CERT_CHAIN_0..9 is 11 certificates, one over
        the limit: a refused request, not a ConfigurationError."""
        leaf = pki.leaf("mtls-client")
        environ = {"HTTP_CLIENT_ID": "mtls", "SSL_CLIENT_CERT": leaf.pem}
        environ.update({f"SSL_CLIENT_CERT_CHAIN_{i}": pki.intermediate.pem for i in range(10)})
        status, payload = call_wsgi(WSGIMiddleware(echo_wsgi, authenticator=auth), environ)
        assert status == 400 and payload["error"] == "invalid_request"

    def test_asgi_tls_extension_over_limit(self, auth: Authenticator, pki: Pki) -> None:
        """A TLS extension carrying 11 certificates: refused, not an exception."""
        leaf = pki.leaf("mtls-client")
        chain = [leaf.pem] + [pki.intermediate.pem] * 10
        status, _ = call_asgi(ASGIMiddleware(echo_asgi, authenticator=auth),
                              [(b"client_id", b"mtls")], tls=chain)
        assert status == 400

    def test_chain_limit_is_one_constant(self) -> None:
        """The chain limits of ClientRequest, the PKI verifier and the forwarded parsers are
        the same constant."""
        from clientauth import forwarded
        from clientauth import pki as pki_module
        from clientauth._x509 import MAX_CHAIN_LENGTH

        assert forwarded.MAX_CHAIN_CERTS == pki_module.MAX_CHAIN_DEPTH == MAX_CHAIN_LENGTH


class TestContentLength:
    """Issue 11 finding 6: Content-Length is 1*DIGIT (RFC 9110 8.6); anything else is a 400,
    and the body is never read past max_body_size."""

    @pytest.mark.parametrize("value", ["-1", "abc", "5, 5", "5,5", "+5", " ", "1e3", "\uff10"])
    def test_wsgi_malformed_length_is_400_and_unread(self, auth: Authenticator,
                                                     value: str) -> None:
        """A negative, non-numeric or listed CONTENT_LENGTH: 400 and no read at all."""
        stream = _Recorder(b"client_id=post&client_secret=" + SECRET.encode() + b"x" * 5000)
        app = WSGIMiddleware(echo_wsgi, authenticator=auth, max_body_size=1024)
        status, payload = call_wsgi(app, {"CONTENT_TYPE": "application/x-www-form-urlencoded",
                                          "CONTENT_LENGTH": value, "wsgi.input": stream})
        assert status == 400 and payload["error"] == "invalid_request"
        assert stream.reads == []

    def test_wsgi_reads_are_bounded(self, auth: Authenticator) -> None:
        """Without CONTENT_LENGTH the body is not read unless the server terminates the
        stream (chunked), and then at most max_body_size + 1 bytes."""
        app = WSGIMiddleware(echo_wsgi, authenticator=auth, max_body_size=1024)
        stream = _Recorder(b"x" * 4096)
        call_wsgi(app, {"CONTENT_TYPE": "application/x-www-form-urlencoded",
                        "wsgi.input": stream})
        assert stream.reads == []
        stream = _Recorder(b"x" * 4096)
        status, _ = call_wsgi(app, {"CONTENT_TYPE": "application/x-www-form-urlencoded",
                                    "wsgi.input": stream, "wsgi.input_terminated": True})
        assert status == 413 and stream.reads == [1025]

    @pytest.mark.parametrize("values", [[b"-1"], [b"5", b"5"], [b"1,1"], [b"x"]])
    def test_asgi_malformed_length_is_400(self, auth: Authenticator,
                                          values: list[bytes]) -> None:
        """The ASGI adapter counts bytes as it reads, and refuses the same malformed
        Content-Length values as the WSGI one."""
        headers = [FORM] + [(b"content-length", v) for v in values]
        headers.append((b"authorization", basic("basic", SECRET)["Authorization"].encode()))
        status, _ = call_asgi(ASGIMiddleware(echo_asgi, authenticator=auth), headers,
                              body=b"a=b")
        assert status == 400


class TestFormAsTheAppReadsIt:
    """Issue 11 finding 7: a form body the framework can read and clientauth cannot is a
    refused request, never "no form" (which skipped the conflicting client_id check)."""

    @pytest.mark.parametrize("body", [
        b"client_id=other&x=%FF",
        b"client_id=other&x=\xe9",
        b"client_id=other&" + b"&".join(b"f%d=x" % i for i in range(150)),
        b"&".join(b"f%d=x" % i for i in range(1001)) + b"&client_id=other",
        b"x=1&z=;client_id=other",
        b"\xef\xbb\xbfclient_id=other",
    ], ids=["pct-ff", "raw-e9", "150-fields", "1001-fields", "semicolon", "bom"])
    @pytest.mark.parametrize("kind", ["asgi", "wsgi"])
    def test_form_never_skipped(self, auth: Authenticator, body: bytes, kind: str) -> None:
        """Basic credentials of client `basic` plus a form naming client_id=other (in a shape
        Starlette, Werkzeug or Django still read): 400, never 200 as `basic`."""
        cred = basic("basic", SECRET)["Authorization"]
        if kind == "asgi":
            app: Any = ASGIMiddleware(echo_asgi, authenticator=auth, max_body_size=65536)
            status, payload = call_asgi(app, [FORM, (b"authorization", cred.encode())],
                                        body=body)
        else:
            app = WSGIMiddleware(echo_wsgi, authenticator=auth, max_body_size=65536)
            status, payload = call_wsgi(app, {
                "CONTENT_TYPE": "application/x-www-form-urlencoded",
                "CONTENT_LENGTH": str(len(body)), "wsgi.input": _Recorder(body),
                "HTTP_AUTHORIZATION": cred})
        assert status == 400, payload
        assert payload["error"] == "invalid_request"

    @pytest.mark.parametrize("content_type", [
        "application/x-www-form-urlencoded; charset=utf-16",
        "application/x-www-form-urlencoded; charset=utf-8; charset=latin-1",
    ])
    def test_charsets_the_app_may_decode_differently(self, auth: Authenticator,
                                                     content_type: str) -> None:
        """Django decodes a form with the Content-Type charset: a charset under which the
        body may read differently is refused."""
        body = b"client_id=post&client_secret=" + SECRET.encode()
        app = WSGIMiddleware(echo_wsgi, authenticator=auth)
        status, _ = call_wsgi(app, {"CONTENT_TYPE": content_type,
                                    "CONTENT_LENGTH": str(len(body)),
                                    "wsgi.input": _Recorder(body)})
        assert status == 400

    def test_ascii_body_with_latin1_charset_is_read(self, auth: Authenticator) -> None:
        """An ASCII body reads the same under any ASCII-compatible charset: accepted."""
        body = b"client_id=post&client_secret=" + SECRET.encode()
        app = WSGIMiddleware(echo_wsgi, authenticator=auth)
        status, payload = call_wsgi(app, {
            "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=ISO-8859-1",
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": _Recorder(body)})
        assert (status, payload["client_id"]) == (200, "post")

    def test_two_content_types_refused(self, auth: Authenticator) -> None:
        """Two Content-Type fields (Starlette reads the first, Django joins them): 400."""
        cred = basic("basic", SECRET)["Authorization"].encode()
        status, _ = call_asgi(ASGIMiddleware(echo_asgi, authenticator=auth),
                              [(b"content-type", b"text/plain"), FORM,
                               (b"authorization", cred)], body=b"client_id=other")
        assert status == 400


def _multipart(*parts: tuple[str, bytes]) -> bytes:
    return b"".join(b"--B\r\nContent-Disposition: form-data; " + h.encode() + b"\r\n\r\n"
                    + v + b"\r\n" for h, v in parts) + b"--B--\r\n"


class TestMultipart:
    """Frameworks parse multipart/form-data into the same form the view reads; clientauth
    reads only urlencoded forms (RFC 6749 2.3.1), so a multipart body that may carry a
    credential parameter is refused, and one that cannot is replayed untouched."""

    @pytest.mark.parametrize("kind", ["asgi", "wsgi"])
    @pytest.mark.parametrize(("body", "expected"), [
        (_multipart(('name="client_id"', b"other")), 400),
        (_multipart(('name*0="client"; name*1="_id"', b"other")), 400),
        (_multipart(('name="grant_type"', b"client_credentials"),
                    ('name="file"; filename="a.bin"', b"\x00\x01=?")), 200),
    ], ids=["client_id", "rfc2231-continuation", "no-credentials"])
    def test_multipart(self, auth: Authenticator, kind: str, body: bytes,
                       expected: int) -> None:
        """Basic credentials of `basic` plus a multipart body: 400 when some framework may
        find a credential parameter in it, else 200 with the body replayed whole."""
        cred = basic("basic", SECRET)["Authorization"]
        content_type = "multipart/form-data; boundary=B"
        if kind == "asgi":
            app: Any = ASGIMiddleware(echo_asgi, authenticator=auth)
            status, payload = call_asgi(app, [(b"content-type", content_type.encode()),
                                              (b"authorization", cred.encode())], body=body)
        else:
            app = WSGIMiddleware(echo_wsgi, authenticator=auth)
            status, payload = call_wsgi(app, {
                "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": _Recorder(body), "HTTP_AUTHORIZATION": cred})
        assert status == expected, payload
        if expected == 200:
            assert payload["body"] == body.decode("latin-1")
