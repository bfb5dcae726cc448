"""The framework integrations with the real frameworks, in-process: FastAPI (TestClient),
Flask (test client), Django (settings.configure + django.test.Client).

The shared behaviour (success per secret method, body still readable, RFC 6749 5.2 failures,
unguarded paths) runs against all three through one small adapter per framework; what only
one framework has gets its own class below. FastAPI names are imported at module level:
FastAPI resolves the endpoints' (string) annotations in the module globals.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from fastapi import Depends, FastAPI, Form, Request

import clientauth
from clientauth import Authenticator

pytestmark = pytest.mark.integration

SECRET = clientauth.generate_secret()
FORM = "application/x-www-form-urlencoded"


def make_authenticator() -> Authenticator:
    """Also the Django AUTHENTICATOR factory (by dotted path)."""
    registry = clientauth.load_clients([
        {"client_id": "basic", "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "post", "token_endpoint_auth_method": "client_secret_post",
         "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "hdr", "token_endpoint_auth_method": "client_secret_header",
         "client_secret_hash": clientauth.hash_secret(SECRET)},
    ])
    return Authenticator(registry)


AUTH = make_authenticator()


def basic(cid: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()}


@dataclasses.dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Call = Callable[..., Reply]
"""``call(method, path, headers=None, content=None) -> Reply``."""


# -- FastAPI ----------------------------------------------------------------------------------


def fastapi_app(*, init: bool = True, **options: Any) -> Any:
    from clientauth.integrations.fastapi import ClientAuth

    client_auth = ClientAuth(AUTH, **options)
    app = FastAPI()
    if init:
        client_auth.init_app(app)

    @app.api_route("/token", methods=["GET", "POST"])
    async def token(request: Request,
                    result: clientauth.AuthResult = Depends(client_auth),  # noqa: B008
                    ) -> dict[str, Any]:
        body = await request.body()  # still readable after the dependency read the form
        return {"client_id": result.client_id, "method": result.method, "ok": result.ok,
                "body": body.decode(), "reused": request.scope.get("clientauth") is result}

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"client_id": None, "body": ""}

    return app


def fastapi_call(app: Any) -> Call:
    from fastapi.testclient import TestClient

    client = TestClient(app, client=("10.0.0.7", 5000))

    def call(method: str, path: str, headers: dict[str, str] | None = None,
             content: str | None = None) -> Reply:
        r = client.request(method, path, headers=headers, content=content)
        return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)

    return call


# -- Flask ------------------------------------------------------------------------------------


def flask_app(**options: Any) -> Any:
    from flask import Flask, g, request

    from clientauth.integrations.flask import ClientAuth

    app = Flask("clientauth_flask_test")
    client_auth = ClientAuth(app, authenticator=AUTH, **options)

    @app.route("/token", methods=["GET", "POST"])
    @client_auth.required
    def token() -> Any:
        return {"client_id": g.clientauth.client_id, "method": g.clientauth.method,
                "body": request.get_data().decode(), "form": request.form.to_dict()}

    @app.get("/health")
    def health() -> Any:
        return {"client_id": None, "body": ""}

    return app


def flask_call(app: Any) -> Call:
    client = app.test_client()

    def call(method: str, path: str, headers: dict[str, str] | None = None,
             content: str | None = None) -> Reply:
        r = client.open(path, method=method, headers=headers or {}, data=content,
                        environ_base={"REMOTE_ADDR": "10.0.0.7"})
        return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.data)

    return call


# -- Django -----------------------------------------------------------------------------------


def django_setup() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            ALLOWED_HOSTS=["testserver", "localhost"],
            SECRET_KEY="clientauth-tests-only",
            ROOT_URLCONF=None,
            MIDDLEWARE=["clientauth.integrations.django.ClientAuthMiddleware"],
            INSTALLED_APPS=[],
            DATABASES={},
        )
        django.setup()


class DjangoUrls:
    """ROOT_URLCONF for the tests (a class: Django's resolver cache needs it hashable)."""

    urlpatterns: ClassVar[list[Any]] = []


def django_views() -> list[Any]:
    from django.http import JsonResponse
    from django.urls import path

    def token(request: Any) -> Any:
        result = request.clientauth
        return JsonResponse({"client_id": result.client_id, "method": result.method,
                             "body": request.body.decode(), "post": request.POST.dict()})

    def health(request: Any) -> Any:
        return JsonResponse({"client_id": request.clientauth, "body": ""})

    return [path("token", token), path("health", health)]


@contextlib.contextmanager
def django_settings(**clientauth_settings: Any) -> Iterator[None]:
    django_setup()
    from django.test import override_settings

    DjangoUrls.urlpatterns = django_views()
    config = {"AUTHENTICATOR": AUTH, "PATHS": ["/token"], **clientauth_settings}
    with override_settings(CLIENTAUTH=config, ROOT_URLCONF=DjangoUrls):
        yield


def django_call() -> Call:
    from django.test import Client

    client = Client(REMOTE_ADDR="10.0.0.7")

    def call(method: str, path: str, headers: dict[str, str] | None = None,
             content: str | None = None) -> Reply:
        headers = dict(headers or {})
        content_type = headers.pop("content-type", None) or headers.pop("Content-Type", None)
        kwargs: dict[str, Any] = {"headers": headers}
        if content is not None:
            kwargs.update(data=content, content_type=content_type or "text/plain")
        r = client.generic(method, path, **kwargs)
        return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)

    return call


# -- the shared behaviour -----------------------------------------------------------------------


@pytest.fixture(params=["fastapi", "flask", "django"])
def call(request: pytest.FixtureRequest) -> Iterator[Call]:
    """One framework with the integration installed; ``/token`` guarded, ``/health`` not."""
    if request.param == "fastapi":
        yield fastapi_call(fastapi_app())
    elif request.param == "flask":
        yield flask_call(flask_app())
    else:
        with django_settings():
            yield django_call()


class TestSuccess:
    def test_basic(self, call: Call) -> None:
        """client_secret_basic reaches the view with the result attached."""
        r = call("POST", "/token", headers=basic("basic", SECRET))
        assert r.status == 200, r.body
        assert r.json()["client_id"] == "basic"
        assert r.json()["method"] == "client_secret_basic"

    def test_form_post_body_still_readable(self, call: Call) -> None:
        """client_secret_post: the view still reads the exact body after authentication."""
        body = f"grant_type=client_credentials&client_id=post&client_secret={SECRET}&x=%C3%A9"
        r = call("POST", "/token", headers={"content-type": FORM}, content=body)
        assert r.status == 200, r.body
        assert r.json()["client_id"] == "post"
        assert r.json()["body"] == body

    def test_header_method(self, call: Call) -> None:
        """client_secret_header with the default underscore header names."""
        r = call("GET", "/token", headers={"client_id": "hdr", "client_secret": SECRET})
        assert r.status == 200, r.body
        assert r.json()["client_id"] == "hdr"


class TestFailures:
    def test_wrong_basic_is_401_with_challenge(self, call: Call) -> None:
        """RFC 6749 5.2: Basic tried -> 401, WWW-Authenticate Basic, JSON error, no-store."""
        r = call("POST", "/token", headers=basic("basic", "wrong"))
        assert r.status == 401
        assert r.headers["www-authenticate"] == 'Basic realm="clientauth"'
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["error"] == "invalid_client"
        assert set(r.json()) == {"error", "error_description"}

    def test_wrong_form_secret_is_401_with_challenge(self, call: Call) -> None:
        """A failed form secret is 401 invalid_client, with the Basic challenge every 401
        carries (RFC 9110 15.5.2; issue 16 finding 5)."""
        r = call("POST", "/token", headers={"content-type": FORM},
                 content="client_id=post&client_secret=wrong")
        assert r.status == 401
        assert r.headers["www-authenticate"] == 'Basic realm="clientauth"'
        assert r.json()["error"] == "invalid_client"

    def test_two_methods_is_400(self, call: Call) -> None:
        """RFC 6749 2.3: Basic and a form secret together -> 400 invalid_request."""
        r = call("POST", "/token", headers={**basic("post", SECRET), "content-type": FORM},
                 content=f"client_id=post&client_secret={SECRET}")
        assert r.status == 400
        assert r.json()["error"] == "invalid_request"

    def test_no_credentials_is_401(self, call: Call) -> None:
        """Nothing presented on a guarded path -> 401 invalid_client."""
        r = call("GET", "/token")
        assert r.status == 401
        assert r.json()["error"] == "invalid_client"

    def test_description_never_names_the_client(self, call: Call) -> None:
        """The error description is a fixed phrase (no client-id enumeration)."""
        r = call("POST", "/token", headers=basic("no-such-client", "x"))
        assert "no-such-client" not in r.body.decode()

    def test_oversized_form_is_413(self, call: Call) -> None:
        """A form body announcing more than the limit is refused before it is parsed."""
        body = "client_id=post&client_secret=" + "x" * 70_000
        r = call("POST", "/token", headers={"content-type": FORM}, content=body)
        assert r.status == 413


class TestFormAsTheViewReadsIt:
    @pytest.mark.parametrize("body", [
        "client_id=other&x=%FF",
        "client_id=other&" + "&".join(f"f{i}=x" for i in range(150)),
    ], ids=["pct-ff", "150-fields"])
    def test_conflicting_form_client_id_is_never_skipped(self, call: Call, body: str) -> None:
        """Issue 11 finding 7: Basic credentials of `basic` plus a form the view can read
        naming client_id=other: 400 invalid_request, never 200 as `basic`."""
        r = call("POST", "/token", headers={**basic("basic", SECRET), "content-type": FORM},
                 content=body)
        assert r.status == 400, r.body
        assert r.json()["error"] == "invalid_request"

    def test_multipart_client_id_is_never_skipped(self, call: Call) -> None:
        """A multipart body naming client_id=other (which request.form / request.POST
        parse) next to Basic credentials of `basic`: 400, never 200 as `basic`."""
        body = ('--B\r\nContent-Disposition: form-data; name="client_id"\r\n\r\nother\r\n'
                "--B--\r\n")
        r = call("POST", "/token", content=body, headers={
            **basic("basic", SECRET), "content-type": "multipart/form-data; boundary=B"})
        assert r.status == 400, r.body


class TestMalformedContentLength:
    """Issue 11 finding 6 in the integrations: a negative, non-numeric or listed
    Content-Length on a form request is refused 400 (invalid_request), never read."""

    BODY = f"client_id=post&client_secret={SECRET}".encode()

    @pytest.mark.parametrize("value", ["-1", "abc", "5, 5"])
    def test_fastapi(self, value: str) -> None:
        """The FastAPI dependency refuses it (ASGI scope built by hand: HTTP clients fix the
        header themselves)."""
        import asyncio

        sent: list[dict[str, Any]] = []
        chunks = [{"type": "http.request", "body": self.BODY, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return chunks.pop() if chunks else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/token", "raw_path": b"/token",
                 "root_path": "", "query_string": b"", "client": ("10.0.0.7", 1),
                 "server": ("test", 80), "scheme": "http", "http_version": "1.1",
                 "headers": [(b"host", b"test"), (b"content-type", FORM.encode()),
                             (b"content-length", value.encode())]}
        asyncio.run(fastapi_app()(scope, receive, send))
        assert sent[0]["status"] == 400

    @pytest.mark.parametrize("value", ["-1", "abc", "5, 5"])
    def test_flask(self, value: str) -> None:
        """The Flask decorator reads the raw CONTENT_LENGTH (Werkzeug turns a bad one into 0)."""
        client = flask_app().test_client()
        r = client.post("/token", data=self.BODY, content_type=FORM,
                        environ_overrides={"CONTENT_LENGTH": value})
        assert r.status_code == 400

    @pytest.mark.parametrize("value", ["-1", "abc", "5, 5"])
    def test_django(self, value: str) -> None:
        """The Django middleware refuses it before touching request.body."""
        with django_settings():
            from django.test import RequestFactory

            from clientauth.integrations.django import ClientAuthMiddleware

            request = RequestFactory().generic("POST", "/token", data=self.BODY,
                                               content_type=FORM, CONTENT_LENGTH=value)
            response = ClientAuthMiddleware(lambda r: None)(request)
            assert response is not None and response.status_code == 400


class TestUnguarded:
    def test_unprotected_path_passes(self, call: Call) -> None:
        """A route without the dependency/decorator, or outside PATHS, is not authenticated."""
        r = call("GET", "/health")
        assert r.status == 200
        assert r.json()["client_id"] is None


class TestChallenges:
    """Issue 16 finding 5: every 401 carries a challenge (RFC 9110 15.5.2), in every
    framework integration."""

    @pytest.mark.parametrize(("headers", "content"), [
        ({}, None),
        ({"content-type": FORM}, "client_id=post&client_secret=wrong"),
        ({"content-type": FORM}, "client_id=nobody&client_secret=wrong"),
        ({"content-type": FORM}, f"client_id=basic&client_secret={SECRET}"),
        ({"content-type": FORM}, "client_id=post"),
        ({"client_id": "hdr", "client_secret": "wrong"}, None),
        (basic("nobody", SECRET), None),
    ], ids=["none", "form-wrong", "form-unknown", "form-for-basic", "form-no-secret",
            "header-wrong", "basic-unknown"])
    def test_401_has_challenge(self, call: Call, headers: dict[str, str],
                               content: str | None) -> None:
        """Each 401 answer has WWW-Authenticate: Basic realm="clientauth"."""
        r = call("POST", "/token", headers=headers, content=content)
        assert r.status == 401
        assert r.headers["www-authenticate"] == 'Basic realm="clientauth"'


class FlakyRegistry:
    """A registry whose reads raise while ``down`` is set (a database that blinked)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.down = False

    def get(self, client_id: str) -> Any:
        if self.down:
            raise ConnectionError(f"lookup of {client_id!r} failed")
        return self.inner.get(client_id)

    def find_by_certificate(self, certificate: Any) -> Any:
        if self.down:
            raise ConnectionError("lookup failed")
        return self.inner.find_by_certificate(certificate)


class TestRegistryOutage:
    """Issue 12 finding 6: a registry that cannot be read is answered 503 with Retry-After
    and the fixed body by every integration, and the next request after it recovers is
    authenticated normally (no restart)."""

    @pytest.mark.parametrize("framework", ["fastapi", "flask", "django"])
    def test_503_then_200(self, framework: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """503 + Retry-After + temporarily_unavailable while down (good and bad secret
        alike), then 200 for the good secret and 401 for a bad one."""
        registry = FlakyRegistry(clientauth.load_clients([
            {"client_id": "basic", "client_secret_hash": clientauth.hash_secret(SECRET)}]))
        monkeypatch.setitem(globals(), "AUTH", Authenticator(registry))
        with contextlib.ExitStack() as stack:
            if framework == "fastapi":
                call = fastapi_call(fastapi_app())
            elif framework == "flask":
                call = flask_call(flask_app())
            else:
                stack.enter_context(django_settings())
                call = django_call()
            registry.down = True
            for secret in (SECRET, "wrong"):
                r = call("POST", "/token", headers=basic("basic", secret))
                assert r.status == 503, r.body
                assert r.headers["retry-after"] == "5"
                assert r.headers["cache-control"] == "no-store"
                assert r.json() == {
                    "error": "temporarily_unavailable",
                    "error_description":
                        "The client registry is temporarily unavailable. Retry later.",
                }
                assert "www-authenticate" not in r.headers
            registry.down = False
            r = call("POST", "/token", headers=basic("basic", SECRET))
            assert r.status == 200, r.body
            assert r.json()["client_id"] == "basic"
            assert call("POST", "/token", headers=basic("basic", "wrong")).status == 401

    def test_fastapi_auto_error_false_still_503(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With auto_error=False there is no result to hand the endpoint: still 503."""
        registry = FlakyRegistry(clientauth.load_clients([]))
        registry.down = True
        monkeypatch.setitem(globals(), "AUTH", Authenticator(registry))
        r = fastapi_call(fastapi_app(auto_error=False))("POST", "/token",
                                                          headers=basic("x", "y"))
        assert r.status == 503


# -- FastAPI only -------------------------------------------------------------------------------


class TestFastAPI:
    def test_without_init_app_body_is_nested(self) -> None:
        """Without init_app FastAPI's default handler nests the body under "detail", but the
        status, error code and challenge are the same."""
        call = fastapi_call(fastapi_app(init=False))
        r = call("POST", "/token", headers=basic("basic", "wrong"))
        assert r.status == 401
        assert r.headers["www-authenticate"] == 'Basic realm="clientauth"'
        assert r.json()["detail"]["error"] == "invalid_client"

    def test_exception_handlers_mapping(self) -> None:
        """FastAPI(exception_handlers=EXCEPTION_HANDLERS) gives the exact RFC 6749 body."""
        from clientauth.integrations.fastapi import EXCEPTION_HANDLERS, ClientAuth

        app = FastAPI(exception_handlers=EXCEPTION_HANDLERS)
        app.get("/x", dependencies=[Depends(ClientAuth(AUTH))])(lambda: {"ok": True})
        r = fastapi_call(app)("GET", "/x")
        assert r.status == 401
        assert set(r.json()) == {"error", "error_description"}

    def test_form_parameters_still_work(self) -> None:
        """An endpoint with Form(...) parameters: FastAPI parses the form first, the
        dependency reads the parsed form, both see the values."""
        pytest.importorskip("python_multipart")
        from clientauth.integrations.fastapi import ClientAuth

        app = FastAPI()
        ClientAuth.init_app(app)

        @app.post("/token")
        async def token(grant_type: str = Form(),
                        result: clientauth.AuthResult = Depends(ClientAuth(AUTH)),  # noqa: B008
                        ) -> Any:
            return {"grant_type": grant_type, "client_id": result.client_id}

        r = fastapi_call(app)("POST", "/token", headers={"content-type": FORM},
                              content=f"grant_type=client_credentials&client_id=post"
                                      f"&client_secret={SECRET}")
        assert r.status == 200, r.body
        assert r.json() == {"grant_type": "client_credentials", "client_id": "post"}

    def test_reuses_the_asgi_middleware_result(self) -> None:
        """Behind clientauth.asgi.ClientAuthMiddleware the dependency returns its result."""
        from clientauth.asgi import ClientAuthMiddleware

        app = ClientAuthMiddleware(fastapi_app(), authenticator=AUTH, paths=["/token"])
        r = fastapi_call(app)("POST", "/token", headers=basic("basic", SECRET))
        assert r.status == 200
        assert r.json()["reused"] is True

    def test_auto_error_false_returns_the_failure(self) -> None:
        """auto_error=False hands the failed result to the endpoint."""
        call = fastapi_call(fastapi_app(auto_error=False))
        r = call("POST", "/token", headers=basic("basic", "wrong"))
        assert r.status == 200
        assert r.json()["ok"] is False
        assert r.json()["client_id"] == "basic"

    def test_threaded(self) -> None:
        """threaded=True authenticates in the thread pool with the same outcome."""
        r = fastapi_call(fastapi_app(threaded=True))("POST", "/token",
                                                     headers=basic("basic", SECRET))
        assert r.status == 200
        assert r.json()["client_id"] == "basic"

    def test_rejects_a_non_authenticator(self) -> None:
        """Settings are checked when the dependency is built."""
        from clientauth.integrations.fastapi import ClientAuth

        with pytest.raises(clientauth.ConfigurationError):
            ClientAuth(object())  # type: ignore[arg-type]


# -- Flask only ---------------------------------------------------------------------------------


class TestFlask:
    def test_form_is_parsed_for_the_view(self) -> None:
        """request.form still works in the view after the decorator read the body."""
        call = flask_call(flask_app())
        r = call("POST", "/token", headers={"content-type": FORM},
                 content=f"client_id=post&client_secret={SECRET}&scope=a")
        assert r.json()["form"]["scope"] == "a"

    def test_init_app_later_and_per_app_authenticator(self) -> None:
        """One extension object, registered later with init_app(app, authenticator=...)."""
        from flask import Flask, g

        from clientauth.integrations.flask import ClientAuth

        client_auth = ClientAuth()
        app = Flask("late")
        client_auth.init_app(app, authenticator=AUTH)

        @app.get("/x")
        @client_auth.required
        def view() -> Any:
            return {"client_id": g.clientauth.client_id}

        r = flask_call(app)("GET", "/x", headers=basic("basic", SECRET))
        assert r.json() == {"client_id": "basic"}

    def test_async_view(self) -> None:
        """The decorator keeps async views async."""
        pytest.importorskip("asgiref")
        from flask import Flask, g

        from clientauth.integrations.flask import ClientAuth

        app = Flask("async")
        client_auth = ClientAuth(app, authenticator=AUTH)

        @app.get("/x")
        @client_auth.required
        async def view() -> Any:
            return {"client_id": g.clientauth.client_id}

        r = flask_call(app)("GET", "/x", headers=basic("basic", SECRET))
        assert r.json() == {"client_id": "basic"}

    def test_reuses_the_wsgi_middleware_result(self) -> None:
        """Behind clientauth.wsgi.ClientAuthMiddleware the decorator uses its result."""
        from clientauth.wsgi import ClientAuthMiddleware

        app = flask_app()
        app.wsgi_app = ClientAuthMiddleware(app.wsgi_app, authenticator=AUTH)
        r = flask_call(app)("POST", "/token", headers=basic("basic", SECRET))
        assert r.json()["client_id"] == "basic"

    def test_without_init_app_is_a_configuration_error(self) -> None:
        """A view decorated by an extension never registered on the app fails loudly."""
        from flask import Flask

        from clientauth.integrations.flask import ClientAuth

        app = Flask("unregistered")
        app.testing = True
        client_auth = ClientAuth(authenticator=AUTH)
        app.get("/x")(client_auth.required(lambda: "never"))
        with pytest.raises(clientauth.ConfigurationError):
            app.test_client().get("/x")


# -- Django only --------------------------------------------------------------------------------


class TestDjango:
    def test_request_post_still_works(self) -> None:
        """request.POST is still parsed for the view after the middleware read the body."""
        with django_settings():
            r = django_call()("POST", "/token", headers={"content-type": FORM},
                              content=f"client_id=post&client_secret={SECRET}&scope=a")
        assert r.status == 200, r.body
        assert r.json()["post"]["scope"] == "a"

    def test_authenticator_by_dotted_path_to_factory(self) -> None:
        """AUTHENTICATOR may be the dotted path of a factory returning an Authenticator."""
        with django_settings(AUTHENTICATOR="test_frameworks.make_authenticator"):
            r = django_call()("GET", "/token", headers=basic("basic", SECRET))
        assert r.status == 200
        assert r.json()["client_id"] == "basic"

    def test_realm_setting(self) -> None:
        """REALM goes into the Basic challenge."""
        with django_settings(REALM="api"):
            r = django_call()("GET", "/token", headers=basic("basic", "wrong"))
        assert r.headers["www-authenticate"] == 'Basic realm="api"'

    @pytest.mark.parametrize("config", [
        {"AUTHENTICATOR": "no.such.module.auth"},
        {"AUTHENTICATOR": 42},
        {"AUTHENTICATOR": AUTH, "PATH": ["/token"]},
        {"AUTHENTICATOR": AUTH, "PATHS": "/token"},
        {"AUTHENTICATOR": AUTH, "MAX_BODY_SIZE": 0},
    ])
    def test_bad_settings_are_improperly_configured(self, config: dict[str, Any]) -> None:
        """Mistakes in settings.CLIENTAUTH fail at start-up, naming the setting."""
        django_setup()
        from django.core.exceptions import ImproperlyConfigured
        from django.test import override_settings

        from clientauth.integrations.django import ClientAuthMiddleware

        with override_settings(CLIENTAUTH=config), pytest.raises(ImproperlyConfigured):
            ClientAuthMiddleware(lambda request: None)

    def test_reuses_the_wsgi_middleware_result(self) -> None:
        """Behind clientauth.wsgi.ClientAuthMiddleware (environ -> META) the result is reused:
        the request carries no credentials of its own, yet passes."""
        django_setup()
        from django.test import RequestFactory, override_settings

        from clientauth.integrations.django import ClientAuthMiddleware

        earlier = AUTH.authenticate(clientauth.ClientRequest(basic("basic", SECRET).items()))
        request = RequestFactory().get("/token")
        request.META["clientauth"] = earlier
        with override_settings(CLIENTAUTH={"AUTHENTICATOR": AUTH}):
            middleware = ClientAuthMiddleware(lambda r: r.clientauth)
            assert middleware(request) is earlier

    def test_mod_wsgi_certificate_variables(self, pki: Any) -> None:
        """Under Apache mod_wsgi the client chain comes from SSL_CLIENT_CERT(_CHAIN_n)."""
        django_setup()
        from django.test import RequestFactory, override_settings

        from certs import clock
        from clientauth.integrations.django import ClientAuthMiddleware

        leaf = pki.leaf("mod-wsgi-client")
        registry = clientauth.load_clients([
            {"client_id": "mtls", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_subject_dn": "CN=mod-wsgi-client"}])
        auth = Authenticator(registry, trust_anchors=[pki.root.cert], now=clock())
        request = RequestFactory().get("/token", SSL_CLIENT_CERT=leaf.pem,
                                       SSL_CLIENT_CERT_CHAIN_0=_pem(pki.intermediate.cert))
        seen: list[Any] = []
        with override_settings(CLIENTAUTH={"AUTHENTICATOR": auth}):
            middleware = ClientAuthMiddleware(lambda r: seen.append(r.clientauth) or "ok")
            assert middleware(request) == "ok"
        assert seen[0].ok
        assert seen[0].client_id == "mtls"
        assert seen[0].source == "tls"


def _pem(cert: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM).decode()
