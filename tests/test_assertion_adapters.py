"""Client assertions through the adapters and framework integrations (form body, RFC 7521 4.2).

What must hold: the ASGI and WSGI middleware, the FastAPI dependency, the Flask extension
and the Django middleware read ``client_assertion_type`` / ``client_assertion`` from a
urlencoded body as they read ``client_secret`` (no change needed in them: they pass the
whole form); a replay is answered
401 ``invalid_client``; an assertion beside a Basic header is 400 ``invalid_request``; the
body stays readable by the application.
"""

from __future__ import annotations

import asyncio
import base64
import urllib.parse
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

import clientauth
from assertion_keys import AUDIENCE, assertion_request, claims, hs_client, pk_client, sign
from certs import NOW, clock
from clientauth.asgi import ClientAuthMiddleware as ASGIMiddleware
from clientauth.request import JWT_BEARER
from clientauth.wsgi import ClientAuthMiddleware as WSGIMiddleware

AUTH = clientauth.Authenticator(clientauth.load_clients([pk_client(), hs_client()]),
                                audience=AUDIENCE, now=clock(NOW))
FORM = {"content-type": "application/x-www-form-urlencoded"}


def body(token: str, **extra: str) -> str:
    return urllib.parse.urlencode({"grant_type": "client_credentials",
                                   "client_assertion_type": JWT_BEARER,
                                   "client_assertion": token, **extra})


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    message = await receive()
    result = scope["clientauth"]
    text = f"{result.client_id}|{result.method}|{len(message.get('body', b''))}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": text})


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length)
    result = environ["clientauth"]
    start_response("200 OK", [])
    return [f"{result.client_id}|{result.method}|{len(data)}".encode()]


class _Sync:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client, self._loop = client, asyncio.new_event_loop()

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.post(url, **kwargs))


def fastapi_client() -> Any:
    from clientauth.integrations.fastapi import ClientAuth

    client_auth = ClientAuth(AUTH)
    app = FastAPI()
    client_auth.init_app(app)

    @app.post("/token")
    async def token(request: Request,
                    result: clientauth.AuthResult = Depends(client_auth),  # noqa: B008
                    ) -> Any:
        data = await request.body()
        return PlainTextResponse(f"{result.client_id}|{result.method}|{len(data)}")

    return TestClient(app)


def flask_client() -> Any:
    from flask import Flask, g, request

    from clientauth.integrations.flask import ClientAuth

    app = Flask("clientauth_assertion_test")
    client_auth = ClientAuth(app, authenticator=AUTH)

    @app.post("/token")
    @client_auth.required
    def token() -> Any:
        return f"{g.clientauth.client_id}|{g.clientauth.method}|{len(request.get_data())}"

    return app.test_client()


class _DjangoUrls:
    """ROOT_URLCONF for the Django case (a class: the resolver cache needs it hashable)."""

    urlpatterns: ClassVar[list[Any]] = []


def django_client() -> Iterator[Any]:
    import django
    from django.conf import settings
    from django.http import HttpResponse
    from django.test import Client, override_settings
    from django.urls import path

    if not settings.configured:
        # The same settings as tests/integration/test_frameworks.py: whichever runs first in
        # a process configures Django for both.
        settings.configure(
            DEBUG=False, ALLOWED_HOSTS=["testserver", "localhost"],
            SECRET_KEY="clientauth-tests-only", ROOT_URLCONF=None,
            MIDDLEWARE=["clientauth.integrations.django.ClientAuthMiddleware"],
            INSTALLED_APPS=[], DATABASES={},
        )
        django.setup()

    def token(request: Any) -> Any:
        result = request.clientauth
        return HttpResponse(f"{result.client_id}|{result.method}|{len(request.body)}")

    _DjangoUrls.urlpatterns = [path("token", token)]
    with override_settings(ROOT_URLCONF=_DjangoUrls,
                           CLIENTAUTH={"AUTHENTICATOR": AUTH, "PATHS": ["/token"]}):
        yield _DjangoWrap(Client())


class _DjangoWrap:
    def __init__(self, client: Any) -> None:
        self._client = client

    def post(self, url: str, *, content: str, headers: dict[str, str]) -> Any:
        extra = {k: v for k, v in headers.items() if k != "content-type"}
        reply = self._client.post(url, data=content, content_type=headers["content-type"],
                                  headers=extra)
        reply.text = reply.content.decode()
        return reply


@pytest.fixture(params=["asgi", "wsgi", "fastapi", "flask", "django"])
def client(request: pytest.FixtureRequest) -> Iterator[Any]:
    kind = request.param
    if kind == "django":
        yield from django_client()
    elif kind == "asgi":
        app = ASGIMiddleware(asgi_app, authenticator=AUTH)
        yield _Sync(httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                      base_url="http://test"))
    elif kind == "wsgi":
        wsgi = WSGIMiddleware(wsgi_app, authenticator=AUTH)
        yield httpx.Client(transport=httpx.WSGITransport(app=wsgi), base_url="http://test")
    elif kind == "fastapi":
        yield fastapi_client()
    else:
        pytest.importorskip("flask")
        yield _FlaskWrap(flask_client())


class _FlaskWrap:
    def __init__(self, client: Any) -> None:
        self._client = client

    def post(self, url: str, *, content: str, headers: dict[str, str]) -> Any:
        reply = self._client.post(url, data=content, headers=headers)
        reply.text = reply.get_data(as_text=True)
        return reply


def status(reply: Any) -> int:
    return int(getattr(reply, "status_code", 0))


def test_assertion_authenticates_and_body_stays_readable(client: Any) -> None:
    """private_key_jwt and client_secret_jwt from the form; the app still reads the body."""
    for cid, alg in (("pk-client", "ES256"), ("hs-client", "HS256")):
        form = body(sign(claims(cid), alg))
        reply = client.post("/token", content=form, headers=FORM)
        assert status(reply) == 200, reply.text
        got_id, method, length = reply.text.split("|")
        assert got_id == cid and method.endswith("_jwt") and int(length) == len(form)


def test_replay_is_401(client: Any) -> None:
    """The second use of one assertion is refused: 401 invalid_client."""
    form = body(sign(claims()))
    assert status(client.post("/token", content=form, headers=FORM)) == 200
    reply = client.post("/token", content=form, headers=FORM)
    assert status(reply) == 401 and "invalid_client" in reply.text


def test_assertion_and_basic_is_400(client: Any) -> None:
    """An assertion with a Basic header is two methods: 400 invalid_request."""
    basic = "Basic " + base64.b64encode(b"pk-client:whatever").decode()
    reply = client.post("/token", content=body(sign(claims())),
                        headers={**FORM, "authorization": basic})
    assert status(reply) == 400 and "invalid_request" in reply.text


def test_request_object_equivalence() -> None:
    """The adapters build the same ClientRequest form as assertion_request() does."""
    token = sign(claims())
    assert AUTH.authenticate(assertion_request(token)).ok
