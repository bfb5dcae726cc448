"""Issue 11, finding 1 and its class: a guarded endpoint is never reached unauthenticated,
however the guarded app is mounted and however the URL is spelled.

Each case mounts an app guarded by ``paths=[...]`` the way users do -- Starlette ``Mount``,
FastAPI ``app.mount`` and ``APIRouter(prefix=...)``, a server ``root_path`` (emulated exactly
as uvicorn builds the scope, and on a real uvicorn below), Flask under Werkzeug's
``DispatcherMiddleware``, Django under ``SCRIPT_NAME`` / ``FORCE_SCRIPT_NAME`` over WSGI and
ASGI, and deliberately lenient routers that lower-case, collapse ``//``, resolve dot segments,
drop ``;params`` and decode ``%2F``. Every spelling of every URL is sent without credentials
and with a wrong secret; the endpoint reports whether the request carried an ``ok`` result.
What must hold: every response from the endpoint says ``ok``; the canonical URL with valid
credentials does reach it (the test is not vacuous).
"""

from __future__ import annotations

import asyncio
import base64
import json
import posixpath
import socket
from collections.abc import Callable, Iterator
from typing import Any, ClassVar
from urllib.parse import unquote

import pytest
from fastapi import Request
from harness import free_port, uvicorn_thread

import clientauth
from clientauth.asgi import BoundTokenMiddleware
from clientauth.asgi import ClientAuthMiddleware as ASGIGuard
from clientauth.wsgi import ClientAuthMiddleware as WSGIGuard

pytestmark = pytest.mark.integration

SECRET = clientauth.generate_secret()
AUTH = clientauth.Authenticator(clientauth.load_clients(
    [{"client_id": "basic", "client_secret_hash": clientauth.hash_secret(SECRET)}]))


def _basic(secret: str) -> str:
    return "Basic " + base64.b64encode(f"basic:{secret}".encode()).decode()


GOOD = _basic(SECRET)
CREDENTIALS = {"none": None, "wrong": _basic("not-the-secret")}


def spellings(mount: str, route: str = "token") -> list[str]:
    """Request targets that a router somewhere may take for ``{mount}/{route}``."""
    up = route.upper()
    hexed = "".join(f"%{ord(c):02X}" for c in route)
    base = [
        "{m}/{r}", "{m}/{r}/", "{m}//{r}", "/{m}/{r}", "{m}/./{r}", "{m}/x/../{r}",
        "{m}/%2e/{r}", "{m}/{r}/.", "{m}/{r};x=1", "{m}/{r}?x=1", "{m}/{r}%2F", "{m}%2F{r}",
        "{m}%2f{r}", "{m}/{h}", "{m}/{h0}{rest}", "{m}/{u}", "{m}/{u}/", "{m}%252F{r}",
        "{m}/%252e/{r}", "{m}/{r}%3Bx", "{m}/{r}%20", "{m}\\{r}",
    ]
    targets = [t.format(m=mount, r=route, h=hexed, h0=hexed[:3], rest=route[1:], u=up)
               for t in base]
    if mount:
        targets += [mount.upper() + "/" + route, mount + "/" + up]
    return [t if t.startswith("/") else "/" + t for t in targets]


# -- how servers turn a request target into a scope / environ ---------------------------------


def uvicorn_scope(target: str, headers: list[tuple[bytes, bytes]], *, root_path: str = "",
                  prefixed: bool = True) -> dict[str, Any]:
    """The HTTP scope uvicorn builds (protocols/http/h11_impl.py): ``path`` is the
    percent-decoded target, prefixed with ``root_path``; ``prefixed=False`` is a server that
    leaves ``path`` relative to ``root_path``."""
    raw_path, _, query = target.encode("latin-1").partition(b"?")
    path = unquote(raw_path.decode("latin-1"))
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000),
        "root_path": root_path, "path": (root_path + path) if prefixed else path,
        "raw_path": (root_path.encode() + raw_path) if prefixed else raw_path,
        "query_string": query, "headers": [(b"host", b"testserver"), *headers],
        "state": {},
    }


def wsgiref_environ(target: str, headers: dict[str, str], *,
                    script_name: str = "") -> dict[str, Any] | None:
    """The environ wsgiref builds (PATH_INFO is the decoded path as ISO-8859-1 text); with
    ``script_name``, a server that mounts the app there (None: not routed to the app)."""
    import io

    raw_path, _, query = target.partition("?")
    path = unquote(raw_path, "iso-8859-1")
    if script_name:
        if path != script_name and not path.startswith(script_name + "/"):
            return None
        path = path[len(script_name):]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": script_name, "PATH_INFO": path,
        "QUERY_STRING": query, "SERVER_NAME": "testserver", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO(), "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": False,
        "wsgi.run_once": False, "CONTENT_LENGTH": "0",
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


Reply = tuple[int, Any]
Call = Callable[[str, str | None], Reply | None]  # (target, Authorization) -> reply


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def asgi_caller(app: Any, **scope_options: Any) -> Call:
    def call(target: str, authorization: str | None) -> Reply:
        headers = [(b"authorization", authorization.encode())] if authorization else []
        scope = uvicorn_scope(target, headers, **scope_options)
        sent: list[dict[str, Any]] = []
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.sleep(3600)
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        asyncio.run(app(scope, receive, send))
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return sent[0]["status"], _decode(body)

    return call


def wsgi_caller(app: Any, *, script_name: str = "") -> Call:
    def call(target: str, authorization: str | None) -> Reply | None:
        headers = {"Authorization": authorization} if authorization else {}
        environ = wsgiref_environ(target, headers, script_name=script_name)
        if environ is None:
            return None
        statuses: list[str] = []
        chunks = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return int(statuses[0].split()[0]), _decode(body)

    return call


# -- the guarded endpoint, in each framework ------------------------------------------------


def _ok(result: object) -> bool:
    return isinstance(result, clientauth.AuthResult) and result.ok


REACHED = {"reached": True}


async def asgi_endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = json.dumps({**REACHED, "ok": _ok(scope.get("clientauth"))}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def lenient_asgi_router(route: str) -> Any:
    """A router that forgives everything: decodes again, lower-cases, collapses '//',
    resolves dot segments, drops ';params', and routes on the last segments."""
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if _lenient_match(path, route):
            await asgi_endpoint(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    return app


def _lenient_match(path: str, route: str) -> bool:
    for _ in range(3):
        path = unquote(path)
    path = path.replace("\\", "/").lower()
    path = "/".join(seg.partition(";")[0] for seg in path.split("/"))
    path = posixpath.normpath("/" + path).rstrip("/")
    return path == "/" + route or path.endswith("/" + route)


def lenient_wsgi_router(route: str) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if _lenient_match(environ.get("PATH_INFO", ""), route):
            body = json.dumps({**REACHED, "ok": _ok(environ.get("clientauth"))}).encode()
            start_response("200 OK", [("content-type", "application/json")])
            return [body]
        start_response("404 Not Found", [])
        return []
    return app


def starlette_inner() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def token(request: Any) -> Any:
        return JSONResponse({**REACHED, "ok": _ok(request.scope.get("clientauth"))})

    return Starlette(routes=[Route("/token", token, methods=["GET", "POST"])])


def fastapi_inner(prefix: str = "") -> Any:
    from fastapi import APIRouter, FastAPI

    router = APIRouter(prefix=prefix)

    @router.api_route("/token", methods=["GET", "POST"])
    async def token(request: Request) -> dict[str, bool]:
        return {**REACHED, "ok": _ok(request.scope.get("clientauth"))}

    app = FastAPI()
    app.include_router(router)
    return app


def flask_inner() -> Any:
    from flask import Flask, request

    app = Flask("mounted")

    @app.route("/token", methods=["GET", "POST"])
    def token() -> dict[str, bool]:
        return {**REACHED, "ok": _ok(request.environ.get("clientauth"))}

    return app


# -- the mounts -----------------------------------------------------------------------------


def starlette_mount(paths: list[str], inner: Any = None) -> Call:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    guarded = ASGIGuard(inner or starlette_inner(), authenticator=AUTH, paths=paths)
    return asgi_caller(Starlette(routes=[Mount("/oauth", app=guarded)]))


def fastapi_mount(paths: list[str]) -> Call:
    from fastapi import FastAPI

    app = FastAPI()
    app.mount("/oauth", ASGIGuard(fastapi_inner(), authenticator=AUTH, paths=paths))
    return asgi_caller(app)


def fastapi_router_prefix(paths: list[str]) -> Call:
    return asgi_caller(ASGIGuard(fastapi_inner("/oauth"), authenticator=AUTH, paths=paths))


def flask_dispatcher(paths: list[str], *, outside: bool = False, inner: Any = None) -> Call:
    from werkzeug.exceptions import NotFound
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    app = inner or flask_inner()
    if outside:  # the guard wraps the dispatcher, not the mounted app
        return wsgi_caller(WSGIGuard(DispatcherMiddleware(NotFound(), {"/oauth": app}),
                                     authenticator=AUTH, paths=paths))
    guarded = WSGIGuard(app, authenticator=AUTH, paths=paths)
    return wsgi_caller(DispatcherMiddleware(NotFound(), {"/oauth": guarded}))


MOUNTS: dict[str, tuple[Callable[[], Call], str]] = {
    # name: (build the app, the mount prefix the client sees)
    "starlette-mount-route-path": (lambda: starlette_mount(["/token"]), "/oauth"),
    "starlette-mount-full-path": (lambda: starlette_mount(["/oauth/token"]), "/oauth"),
    "starlette-mount-lenient-router": (
        lambda: starlette_mount(["/token"], lenient_asgi_router("token")), "/oauth"),
    "fastapi-app-mount": (lambda: fastapi_mount(["/token"]), "/oauth"),
    "fastapi-app-mount-trailing-slash-prefix": (lambda: fastapi_mount(["/token/"]), "/oauth"),
    "fastapi-router-prefix-route-path": (lambda: fastapi_router_prefix(["/token"]), "/oauth"),
    "fastapi-router-prefix-full-path": (
        lambda: fastapi_router_prefix(["/oauth/token"]), "/oauth"),
    "uvicorn-root-path": (lambda: asgi_caller(
        ASGIGuard(starlette_inner(), authenticator=AUTH, paths=["/token"]),
        root_path="/api"), ""),
    "root-path-not-in-path": (lambda: asgi_caller(
        ASGIGuard(starlette_inner(), authenticator=AUTH, paths=["/token"]),
        root_path="/api", prefixed=False), ""),
    "root-path-lenient-router": (lambda: asgi_caller(
        ASGIGuard(lenient_asgi_router("token"), authenticator=AUTH, paths=["/token"]),
        root_path="/api"), ""),
    "flask-dispatcher": (lambda: flask_dispatcher(["/token"]), "/oauth"),
    "flask-dispatcher-guard-outside": (
        lambda: flask_dispatcher(["/token"], outside=True), "/oauth"),
    "flask-dispatcher-lenient-router": (
        lambda: flask_dispatcher(["/token"], inner=lenient_wsgi_router("token")), "/oauth"),
}


class TestMounts:
    @pytest.mark.parametrize("mount", sorted(MOUNTS))
    def test_no_spelling_reaches_the_endpoint_unauthenticated(self, mount: str) -> None:
        """Every spelling, without and with wrong credentials: the endpoint, when reached,
        always saw an ok result; valid credentials on the canonical URL do reach it."""
        build, prefix = MOUNTS[mount]
        call = build()
        _check(call, prefix)


def _check(call: Call, prefix: str) -> None:
    canonical = call(f"{prefix}/token", GOOD)
    assert canonical is not None and canonical[0] == 200, canonical
    assert canonical[1] == {**REACHED, "ok": True}
    reached = 0
    for target in spellings(prefix):
        for label, authorization in CREDENTIALS.items():
            reply = call(target, authorization)
            if reply is None:
                continue
            status, payload = reply
            if isinstance(payload, dict) and payload.get("reached"):
                reached += 1
                assert payload["ok"], f"{target!r} ({label} credentials) reached the endpoint"
            else:
                assert status != 200, (target, label, status, payload)
    # Sanity: the canonical spelling without credentials is refused by the guard.
    refused = call(f"{prefix}/token", None)
    assert refused is not None and refused[0] == 401, refused


# -- Django ----------------------------------------------------------------------------------


class DjangoMountUrls:
    """ROOT_URLCONF (a class: Django's resolver cache needs it hashable)."""

    urlpatterns: ClassVar[list[Any]] = []


def _django_setup() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False, ALLOWED_HOSTS=["testserver", "localhost"],
            SECRET_KEY="clientauth-tests-only", ROOT_URLCONF=None,
            MIDDLEWARE=["clientauth.integrations.django.ClientAuthMiddleware"],
            INSTALLED_APPS=[], DATABASES={},
        )
        django.setup()
    from django.http import JsonResponse
    from django.urls import path, re_path

    def token(request: Any) -> Any:
        scope = getattr(request, "scope", None) or {}
        result = (getattr(request, "clientauth", None) or request.META.get("clientauth")
                  or scope.get("clientauth"))
        return JsonResponse({**REACHED, "ok": _ok(result)})

    DjangoMountUrls.urlpatterns = [
        path("token", token), path("token/", token),
        re_path(r"^(?i:token)/?$", token),
    ]


DJANGO_CASES = {
    # name: (WSGI or ASGI, script name the server mounts at, FORCE_SCRIPT_NAME,
    #        Django middleware installed, clientauth.asgi / .wsgi guard around Django)
    "wsgi-script-name-django-middleware": ("wsgi", "/api", None, True, False),
    "wsgi-force-script-name-django-middleware": ("wsgi", "", "/api", True, False),
    "wsgi-script-name-wsgi-guard": ("wsgi", "/api", None, False, True),
    "asgi-root-path-django-middleware": ("asgi", "/api", None, True, False),
    "asgi-force-script-name-django-middleware": ("asgi", "", "/api", True, False),
    "asgi-force-script-name-asgi-guard": ("asgi", "", "/api", False, True),
    "asgi-root-path-asgi-guard": ("asgi", "/api", None, False, True),
}


@pytest.fixture
def django_mounted(request: pytest.FixtureRequest) -> Iterator[tuple[Call, str]]:
    _django_setup()
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    kind, script, force, with_middleware, with_guard = DJANGO_CASES[request.param]
    middleware = ["clientauth.integrations.django.ClientAuthMiddleware"] if with_middleware else []
    config = {"AUTHENTICATOR": AUTH, "PATHS": ["/token"]}
    with override_settings(CLIENTAUTH=config, ROOT_URLCONF=DjangoMountUrls,
                           MIDDLEWARE=middleware, FORCE_SCRIPT_NAME=force):
        if kind == "wsgi":
            app: Any = WSGIHandler()
            if with_guard:
                app = WSGIGuard(app, authenticator=AUTH, paths=["/token"])
            call = wsgi_caller(app, script_name=script)
        else:
            app = ASGIHandler()
            if with_guard:
                app = ASGIGuard(app, authenticator=AUTH, paths=["/token"])
            call = asgi_caller(app, root_path=script)
        # What the client sends: under a WSGI SCRIPT_NAME mount, /api/token (the server
        # splits it); under ASGI FORCE_SCRIPT_NAME, /api/token (Django strips it itself);
        # under root_path or WSGI FORCE_SCRIPT_NAME, /token (a proxy stripped /api).
        prefix = "/api" if (force and kind == "asgi") or (script and kind == "wsgi") else ""
        yield call, prefix


class TestDjangoMounts:
    @pytest.mark.parametrize("django_mounted", sorted(DJANGO_CASES), indirect=True)
    def test_no_spelling_reaches_the_view_unauthenticated(
        self, django_mounted: tuple[Call, str]
    ) -> None:
        """Django under SCRIPT_NAME / FORCE_SCRIPT_NAME / root_path, guarded by the Django
        middleware or by the ASGI/WSGI middleware around it: never reached unauthenticated."""
        call, prefix = django_mounted
        _check(call, prefix)


# -- BoundTokenMiddleware under a mount -----------------------------------------------------


def test_bound_token_middleware_under_mount() -> None:
    """Resource-server mode inside a Starlette Mount: every spelling of the guarded path
    needs a bound token (no token here, so the endpoint must never be reached)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    def verify(token: str) -> dict[str, Any]:
        raise clientauth.InvalidToken("no token is valid here")

    guarded = BoundTokenMiddleware(lenient_asgi_router("token"), verify_token=verify,
                                   paths=["/token"])
    call = asgi_caller(Starlette(routes=[Mount("/oauth", app=guarded)]))
    for target in spellings("/oauth"):
        _, payload = call(target, None)
        assert not (isinstance(payload, dict) and payload.get("reached")), target


# -- a real uvicorn with root_path ----------------------------------------------------------


def _raw_get(port: int, target: str, authorization: str | None) -> tuple[int, Any]:
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if authorization:
        request += f"Authorization: {authorization}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode("latin-1") + b"\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), _decode(body)


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_real_uvicorn_root_path(http: str) -> None:
    """uvicorn's ``root_path`` setting with a Starlette Mount inside (route path = path minus
    root_path, twice over): raw request targets over a socket, h11 and httptools."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    pytest.importorskip(http)
    guarded = ASGIGuard(starlette_inner(), authenticator=AUTH, paths=["/token"])
    app = Starlette(routes=[Mount("/oauth", app=guarded)])
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off", root_path="/api", http=http)
    with uvicorn_thread(config):
        def call(target: str, authorization: str | None) -> Reply:
            return _raw_get(port, target, authorization)

        _check(call, "/oauth")
