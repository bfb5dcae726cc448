"""Header spellings behind real proxies (the Keycloak CVE-2024-10039 class).

A WSGI server builds ``environ`` keys by upper-casing header names and turning ``-`` into
``_`` (PEP 3333, from CGI, RFC 3875 section 4.1.18), so ``X-SSL-Client-Cert``,
``X_SSL_Client_Cert`` and ``x-ssl_client-CERT`` all become ``HTTP_X_SSL_CLIENT_CERT``;
wsgiref keeps underscore names and joins repeats with ``,``. A proxy that deletes only the
spellings it knows lets a client smuggle a certificate header in another one.

What must hold, for nginx, HAProxy, Apache httpd and Caddy started from
``examples/proxies/`` -- as shipped (client certificate required) and with the one documented
line changed to make the certificate optional -- in front of
``clientauth.wsgi.ClientAuthMiddleware`` on wsgiref and ``clientauth.asgi.ClientAuthMiddleware``
on uvicorn (both in this process, on 127.0.0.1): a client without a certificate, or with its
own, that sends the victim's public certificate under any spelling of the certificate header
(every mix of ``-`` and ``_``, three letter cases) is never authenticated as the victim; the
legitimate client still is.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socketserver
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from harness import (
    APACHE_MODULE_DIRS,
    APP_MARKER,
    EXAMPLES,
    ORG,
    PROXIES,
    SECRET_HEADER,
    Identity,
    ItPki,
    Process,
    ProxySpec,
    find_binary,
    free_port,
    proxy_command,
    render,
    start,
    unavailable,
    uvicorn_thread,
)
from test_proxies import forwarded_value

import clientauth
import clientauth.asgi
import clientauth.wsgi

pytestmark = pytest.mark.integration

MakeClient = Callable[[Identity | None], httpx.Client]
Json = dict[str, Any]

OPTIONAL_VERIFY: dict[str, tuple[str, str]] = {
    "nginx": ("ssl_verify_client      on;", "ssl_verify_client      optional;"),
    "haproxy": ("client-ca.pem verify required", "client-ca.pem verify optional"),
    "apache": ("SSLVerifyClient require", "SSLVerifyClient optional"),
    "caddy": ("mode require_and_verify", "mode verify_if_given"),
}
"""The one line examples/proxies/README.md says to change so that clients without a
certificate (secret-based clients on the same endpoint) reach the app: shipped -> optional."""

MODES = ("required", "optional")
SERVERS = ("wsgiref", "uvicorn")
VICTIM_ID = "client-1"


def spellings(header: str) -> list[str]:
    """Every name a WSGI server folds into the same key as ``header``: each ``-`` kept or
    turned into ``_``, each in its own, lower and upper case."""
    parts = header.split("-")
    names: list[str] = []
    for separators in itertools.product("-_", repeat=len(parts) - 1):
        joined = parts[0] + "".join(s + p for s, p in zip(separators, parts[1:], strict=True))
        for variant in (joined, joined.lower(), joined.upper()):
            if variant not in names:
                names.append(variant)
    return names


def configured(spec: ProxySpec, mode: str, values: dict[str, str]) -> str:
    """The example configuration, with verification made optional in ``optional`` mode."""
    lines = render(EXAMPLES / spec.template, values).splitlines(keepends=True)
    if mode == "optional":
        shipped, optional = OPTIONAL_VERIFY[spec.name]
        found = [i for i, line in enumerate(lines)
                 if line.rstrip().endswith(shipped) and not line.lstrip().startswith("#")]
        assert len(found) == 1, f"{spec.template}: expected one line ending {shipped!r}"
        lines[found[0]] = lines[found[0]].replace(shipped, optional)
    return "".join(lines)


# -- the apps: the library's own middleware, nothing else -------------------------------------


def authenticators(pki: ItPki, secret: str) -> dict[str, clientauth.Authenticator]:
    """One Authenticator per proxy format, trusting 127.0.0.1 plus the proxies' secret."""
    anchors = [pki.root.cert]
    registry_metadata = [
        {"client_id": cid, "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": f"CN={cid},O={ORG}"}
        for cid in ("client-1", "client-2")
    ]
    out: dict[str, clientauth.Authenticator] = {}
    for spec in PROXIES.values():
        forwarded = clientauth.ForwardedCertificates(
            spec.fmt, header=spec.header, trusted_proxies=["127.0.0.1/32"],
            shared_secret=(SECRET_HEADER, secret),
        )
        out[spec.fmt] = clientauth.Authenticator(
            clientauth.load_clients(registry_metadata), trust_anchors=anchors,
            intermediates=[pki.intermediate.cert], forwarded=forwarded,
        )
    return out


def outcome(result: Any) -> Json:
    return {"ok": bool(result.ok), "client_id": result.client_id,
            "failure": None if result.failure is None else str(result.failure),
            "detail": result.detail}


def _json_body(payload: Json) -> tuple[list[tuple[str, str]], bytes]:
    body = json.dumps(payload).encode()
    return [("content-type", "application/json"), ("content-length", str(len(body))),
            (APP_MARKER, "1")], body


def wsgi_app(auth: dict[str, clientauth.Authenticator]) -> clientauth.wsgi.WSGIApp:
    def answer(status: str, payload: Json) -> clientauth.wsgi.WSGIApp:
        def reply(environ: Any, start_response: Any) -> Iterable[bytes]:
            headers, body = _json_body(payload)
            start_response(status, headers)
            return [body]
        return reply

    def accepted(environ: Any, start_response: Any) -> Iterable[bytes]:
        return answer("200 OK", outcome(environ["clientauth"]))(environ, start_response)

    guarded = {
        fmt: clientauth.wsgi.ClientAuthMiddleware(
            accepted, authenticator=a,
            on_error=lambda environ, result: answer("401 Unauthorized", outcome(result)),
        )
        for fmt, a in auth.items()
    }

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/echo":
            # What the WSGI server made of the headers (folded keys, joined values).
            keys = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
            return answer("200 OK", keys)(environ, start_response)
        route = guarded.get(path.removeprefix("/auth/"))
        if route is None:
            return answer("404 Not Found", {})(environ, start_response)
        return route(environ, start_response)

    return app


def asgi_app(auth: dict[str, clientauth.Authenticator]) -> clientauth.asgi.ASGIApp:
    def answer(status: int, payload: Json) -> clientauth.asgi.ASGIApp:
        async def reply(scope: Any, receive: Any, send: Any) -> None:
            headers, body = _json_body(payload)
            await send({"type": "http.response.start", "status": status,
                        "headers": [(n.encode(), v.encode()) for n, v in headers]})
            await send({"type": "http.response.body", "body": body})
        return reply

    async def accepted(scope: Any, receive: Any, send: Any) -> None:
        await answer(200, outcome(scope["clientauth"]))(scope, receive, send)

    guarded = {
        fmt: clientauth.asgi.ClientAuthMiddleware(
            accepted, authenticator=a, on_error=lambda scope, result: answer(401, outcome(result)),
        )
        for fmt, a in auth.items()
    }

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        route = guarded.get(str(scope["path"]).removeprefix("/auth/"))
        if route is None:
            await answer(404, {})(scope, receive, send)
            return
        await route(scope, receive, send)

    return app


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def wsgiref_thread(app: clientauth.wsgi.WSGIApp) -> Iterator[int]:
    """wsgiref on 127.0.0.1 in a thread of this process; yields its port."""
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="wsgiref", daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        assert not thread.is_alive(), "wsgiref did not stop"


@pytest.fixture(scope="module")
def backends(it_pki: ItPki, proxy_secret: str) -> Iterator[dict[str, int]]:
    """The WSGI and the ASGI app, each on its own port: ``{"wsgiref": port, "uvicorn": port}``."""
    import uvicorn

    auth = authenticators(it_pki, proxy_secret)
    port = free_port()
    config = uvicorn.Config(asgi_app(auth), host="127.0.0.1", port=port, lifespan="off",
                            log_level="warning", access_log=False)
    with wsgiref_thread(wsgi_app(auth)) as wsgi_port, uvicorn_thread(config):
        yield {"wsgiref": wsgi_port, "uvicorn": port}


class Front:
    """A proxy from examples/proxies/ in a given mode, in front of one of the backends."""

    def __init__(self, spec: ProxySpec, mode: str, server: str, port: int,
                 process: Process) -> None:
        self.spec, self.mode, self.server, self.port, self.process = (
            spec, mode, server, port, process)

    @property
    def url(self) -> str:
        # By name: Caddy refuses (421) a Host that differs from the SNI (see harness).
        return f"https://localhost:{self.port}"


def fronts(*, modes: tuple[str, ...] = MODES, servers: tuple[str, ...] = SERVERS) -> list[Any]:
    """``front`` parameters: every proxy, in the given modes, before the given servers."""
    return [pytest.param((name, mode, server), id=f"{name}-{mode}-{server}")
            for name in PROXIES for mode in modes for server in servers]


@pytest.fixture(scope="module", params=fronts())
def front(request: pytest.FixtureRequest, it_pki: ItPki, proxy_secret: str,
          backends: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    name, mode, server = request.param
    spec = PROXIES[name]
    binary = find_binary(spec)
    if binary is None:
        unavailable(f"{name}: none of {', '.join(spec.binaries)} is installed")
    assert binary is not None
    run_dir = tmp_path_factory.mktemp(f"{name}-{mode}-{server}")
    port = free_port()
    values = {"LISTEN_PORT": str(port), "UPSTREAM_PORT": str(backends[server]),
              "CERT_DIR": str(it_pki.directory), "RUN_DIR": str(run_dir),
              "PROXY_SECRET": proxy_secret}
    if name == "apache":
        found = [d for d in APACHE_MODULE_DIRS if Path(d, "mod_ssl.so").exists()]
        if not found:
            unavailable(f"apache: mod_ssl.so not found in any of {APACHE_MODULE_DIRS}")
        values["MODULES_DIR"] = found[0]
    conf = run_dir / Path(spec.template).name
    conf.write_text(configured(spec, mode, values))
    argv, env = proxy_command(spec, binary, conf, run_dir)
    process = start(f"{name}-{mode}", argv, port=port, run_dir=run_dir, env=env,
                    extra_logs=(run_dir / "error.log",))
    try:
        yield Front(spec, mode, server, port, process)
    finally:
        process.stop()


# -- requests ---------------------------------------------------------------------------------


def post(client: httpx.Client, front: Front, *, headers: list[tuple[str, str]] | None = None,
         client_id: str | None = None) -> tuple[int, Json]:
    """POST /auth/<format>; returns the status and the app's JSON (fails on a proxy's own)."""
    data = {"client_id": client_id} if client_id else None
    response = client.post(f"{front.url}/auth/{front.spec.fmt}", headers=headers, data=data)
    assert APP_MARKER in response.headers, (
        f"{front.spec.name} answered itself: {response.status_code} {response.text[:200]}\n"
        + front.process.log_text())
    payload: Json = response.json()
    assert (response.status_code == 200) == payload["ok"], payload
    return response.status_code, payload


def victim_accepted(client: httpx.Client, front: Front, victim: Identity) -> list[str]:
    """Each spelling (with and without ``client_id``) that got the attacker in as the victim."""
    value = forwarded_value(front.spec.fmt, victim)
    bypasses: list[str] = []
    for spelling, client_id in itertools.product(spellings(front.spec.header),
                                                 (None, VICTIM_ID)):
        _, payload = post(client, front, headers=[(spelling, value)], client_id=client_id)
        if payload["ok"] and payload["client_id"] == VICTIM_ID:
            bypasses.append(f"{spelling} (client_id={client_id})")
    return bypasses


def environ_keys(client: httpx.Client, front: Front,
                 headers: list[tuple[str, str]] | None = None) -> Json:
    """The ``HTTP_*`` keys the WSGI app saw for one request through ``front``."""
    response = client.get(f"{front.url}/echo", headers=headers)
    assert response.status_code == 200, response.text
    assert APP_MARKER in response.headers, "the answer did not come from the app"
    payload: Json = response.json()
    return payload


def watched(spec: ProxySpec) -> list[str]:
    """The headers a client must never be able to set: certificate, chain, shared secret."""
    return [h for h in (spec.header, spec.chain_header, SECRET_HEADER) if h]


def environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


# -- tests ------------------------------------------------------------------------------------


class TestSpellings:
    """No spelling of the certificate header authenticates anyone but the presenter."""

    def test_spellings_cover_the_class(self) -> None:
        """The generator yields every -/_ mix in three cases (8 mixes for three dashes)."""
        names = spellings("X-SSL-Client-Cert")
        assert len(names) == 24
        assert {"X-SSL-Client-Cert", "X_SSL_Client_Cert", "X-SSL_Client-Cert",
                "x_ssl-client_cert", "X-SSL-CLIENT_CERT"} <= set(names)
        assert len({n.lower().replace("_", "-") for n in names}) == 1

    def test_readme_names_the_optional_line(self) -> None:
        """examples/proxies/README.md documents exactly the line this test changes."""
        readme = (EXAMPLES / "README.md").read_text()
        for shipped, optional in OPTIONAL_VERIFY.values():
            assert shipped in readme, shipped
            assert optional in readme, optional

    def test_legitimate_client_authenticates(
        self, front: Front, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """client-1 presenting its own certificate is authenticated as client-1."""
        status, payload = post(make_client(it_pki.client1), front, client_id=VICTIM_ID)
        assert status == 200, payload
        assert payload["client_id"] == VICTIM_ID

    def test_other_client_with_own_certificate(
        self, front: Front, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """client-2, presenting its own certificate, sends client-1's in every spelling:
        never client-1."""
        assert victim_accepted(make_client(it_pki.client2), front, it_pki.client1) == []

    # As shipped, the proxies refuse a client without a certificate before the app
    # (test_proxies.py::TestRefusedByProxy).
    @pytest.mark.parametrize("front", fronts(modes=("optional",)), indirect=True)
    def test_client_without_certificate(
        self, front: Front, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """Optional mode: a client without a certificate reaches the app (control), and
        sending client-1's certificate in any spelling does not make it client-1."""
        client = make_client(None)
        status, payload = post(client, front, client_id=VICTIM_ID)
        assert status == 401, payload
        # The proxy's "no certificate" value is read as such, not as a broken header.
        assert payload["failure"] == "missing_certificate", payload
        assert victim_accepted(client, front, it_pki.client1) == []


    # The environ is a WSGI notion; the ASGI app is checked end to end above.
    @pytest.mark.parametrize("front", fronts(servers=("wsgiref",)), indirect=True)
    def test_smuggled_spelling_never_forwarded(
        self, front: Front, it_pki: ItPki, make_client: MakeClient
    ) -> None:
        """The proxy alone stops every spelling: whatever a client sends under any spelling of
        the certificate, chain or secret header, the WSGI environ holds exactly what the proxy
        sets (the same as without the smuggled headers) -- with and without a certificate."""
        identities: list[Identity | None] = [it_pki.client1]
        if front.mode == "optional":
            identities.append(None)
        forged = forwarded_value(front.spec.fmt, it_pki.client2)
        for identity in identities:
            client = make_client(identity)
            baseline = environ_keys(client, front)
            expected = {environ_key(h): baseline.get(environ_key(h)) for h in watched(front.spec)}
            assert expected[environ_key(SECRET_HEADER)], baseline
            leaks: list[str] = []
            for header in watched(front.spec):
                for spelling in spellings(header):
                    seen = environ_keys(client, front, [(spelling, forged)])
                    got = {key: seen.get(key) for key in expected}
                    if got != expected:
                        leaks.append(f"{spelling}: {got}")
            assert leaks == [], f"{front.spec.name} forwarded a client-sent spelling: {leaks}"

    @pytest.mark.parametrize("front", fronts(modes=("optional",), servers=("wsgiref",)),
                             indirect=True)
    def test_header_always_set(self, front: Front, make_client: MakeClient) -> None:
        """Without a certificate the proxy still sets the certificate header, to its "no
        certificate" value (nginx cannot send an empty header and relies on dropping every
        underscore name instead); HAProxy's verify header says NONE, not ssl_c_verify's 0."""
        seen = environ_keys(make_client(None), front)
        value = seen.get(environ_key(front.spec.header))
        expected = {"nginx": None, "apache": "(null)", "haproxy": "",
                    # Caddy 2.6 leaves a placeholder it cannot fill as literal text.
                    "caddy": "{http.request.tls.client.certificate_der_base64}"}[front.spec.name]
        assert value == expected, seen
        if front.spec.name == "haproxy":
            assert seen.get("HTTP_X_SSL_CLIENT_VERIFY") == "NONE", seen
            assert seen.get(environ_key("X-SSL-Client-Chain")) == "", seen
