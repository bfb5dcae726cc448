"""Mutual TLS on the proxy-to-app hop (issue 15), with real components end to end:

    client --mTLS (client-1's certificate)--> nginx / HAProxy / Apache httpd / Caddy
           --mTLS (the proxy's own certificate)--> uvicorn (clientauth.servers.uvicorn,
              client certificate required) --> ClientAuthMiddleware

The proxies run from ``examples/proxies/nginx/nginx-mtls-upstream.conf``,
``examples/proxies/haproxy/haproxy-mtls-upstream.cfg``,
``examples/proxies/apache/httpd-mtls-upstream.conf`` and
``examples/proxies/caddy/Caddyfile-mtls-upstream``; the app runs in a thread of this
process and pins the proxies' certificates with ``ForwardedCertificates(proxy_certificates=)``
-- no trusted address, no shared secret.

What must hold: a client through a pinned proxy is authenticated from the forwarded header;
while the proxy certificate rotates both pins work; a proxy certificate from the very same CA
that is not pinned is not believed (it is just a TLS client); the same header sent straight to
the app over TLS with another certificate is ignored (and noticed), the sender authenticated by
its own certificate; the same header over plain HTTP is ignored.
"""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from harness import (
    APACHE_MODULE_DIRS,
    EXAMPLES,
    ORG,
    STARTUP_TIMEOUT,
    Identity,
    ItPki,
    ProxySpec,
    RunningProxy,
    find_binary,
    free_port,
    proxy_command,
    proxy_version,
    render,
    start,
    unavailable,
    uvicorn_thread,
)

import clientauth
from certs import Issued, issue, name
from clientauth.asgi import ClientAuthMiddleware
from clientauth.servers import uvicorn as ca_uvicorn

pytestmark = pytest.mark.integration

# The mTLS-hop variants of the shipped configurations: same formats and headers.
MTLS_PROXIES: dict[str, ProxySpec] = {
    "nginx": ProxySpec("nginx", ("nginx",), "nginx/nginx-mtls-upstream.conf", "nginx",
                       "X-SSL-Client-Cert", refusal="http-400"),
    "haproxy": ProxySpec("haproxy", ("haproxy",), "haproxy/haproxy-mtls-upstream.cfg",
                         "haproxy", "X-SSL-Client-Cert"),
    "apache": ProxySpec("apache", ("apache2", "httpd"), "apache/httpd-mtls-upstream.conf",
                        "apache", "X-Client-Cert"),
    "caddy": ProxySpec("caddy", ("caddy",), "caddy/Caddyfile-mtls-upstream", "caddy",
                       "X-Client-Cert"),
}


# -- PKI: the proxies' own certificates -------------------------------------------------------


class ProxyIdentities:
    """Certificates the proxies present to the app, all from one proxy CA: ``old`` and
    ``new`` (a rotation, both pinned) and ``rogue`` (same CA, same name, never pinned)."""

    def __init__(self, directory: Path) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        valid = {"not_before": now - timedelta(hours=1), "not_after": now + timedelta(days=2)}
        self.ca = issue(name("clientauth-it Proxy CA", O=ORG), ca=True, **valid)
        self.ca_path = directory / "proxy-ca.pem"
        self.ca_path.write_text(self.ca.pem)
        self.identities: dict[str, tuple[Issued, str, str, str]] = {}
        for label in ("old", "new", "rogue"):
            issued = issue(name("edge-proxy", O=ORG), issuer=self.ca, **valid)
            cert_path, key_path = issued.write(directory, f"proxy-{label}")
            bundle = directory / f"proxy-{label}-bundle.pem"
            bundle.write_text(issued.pem + issued.key_pem)
            self.identities[label] = (issued, cert_path, key_path, str(bundle))

    def issued(self, label: str) -> Issued:
        return self.identities[label][0]


@pytest.fixture(scope="module")
def proxy_ids(it_pki: ItPki) -> ProxyIdentities:
    return ProxyIdentities(it_pki.directory)


# -- the app ------------------------------------------------------------------------------------


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with the authentication result."""
    result = scope["clientauth"]
    await _json(send, 200, {"client_id": result.client_id, "source": result.source,
                            "notices": [str(n) for n in result.notices]})


def on_error(scope: Any, result: clientauth.AuthResult) -> Any:
    """401 with the failure and the notices, so tests can tell failures apart."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await _json(send, 401, {"failure": str(result.failure), "source": result.source,
                                "notices": [str(n) for n in result.notices]})

    return app


async def _json(send: Any, status: int, payload: dict[str, Any]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


def make_app(it_pki: ItPki, proxy_ids: ProxyIdentities, fmt: str) -> ClientAuthMiddleware:
    registry = clientauth.load_clients([
        {"client_id": cid, "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": f"CN={cid},O={ORG}"} for cid in ("client-1", "client-2")
    ])
    forwarded = clientauth.ForwardedCertificates(
        fmt,
        header=MTLS_PROXIES[fmt].header,
        # The old pin as PEM, the new one as its x5t#S256: both forms are pins.
        proxy_certificates=[proxy_ids.issued("old").pem,
                            clientauth.certificate_thumbprint(proxy_ids.issued("new").cert)],
    )
    auth = clientauth.Authenticator(registry, trust_anchors=[it_pki.root.cert],
                                    intermediates=[it_pki.intermediate.cert],
                                    forwarded=forwarded)
    return ClientAuthMiddleware(echo, authenticator=auth, on_error=on_error)


@contextlib.contextmanager
def serve_tls(app: Any, it_pki: ItPki, ca_file: Path) -> Iterator[int]:
    port = free_port()
    config = ca_uvicorn.config(
        app, host="127.0.0.1", port=port,
        ssl_certfile=str(it_pki.directory / "server.pem"),
        ssl_keyfile=str(it_pki.directory / "server.key"),
        ssl_ca_certs=str(ca_file), client_cert_required=True, http="h11",
        log_level="warning", access_log=False, lifespan="off",
    )
    with uvicorn_thread(config, timeout=STARTUP_TIMEOUT):
        yield port


@pytest.fixture(scope="module", params=list(MTLS_PROXIES))
def spec(request: pytest.FixtureRequest) -> ProxySpec:
    spec = MTLS_PROXIES[request.param]
    if find_binary(spec) is None:
        unavailable(f"{spec.name}: none of {', '.join(spec.binaries)} is installed")
    return spec


@pytest.fixture(scope="module")
def app_port(spec: ProxySpec, it_pki: ItPki, proxy_ids: ProxyIdentities) -> Iterator[int]:
    """The app over TLS, requiring a client certificate: the handshake accepts the proxy CA
    (the proxies) and the client root (direct mTLS clients)."""
    ca_file = it_pki.directory / "app-client-cas.pem"
    ca_file.write_text(it_pki.root.pem + proxy_ids.ca.pem)
    with serve_tls(make_app(it_pki, proxy_ids, spec.fmt), it_pki, ca_file) as port:
        yield port


@pytest.fixture(scope="module")
def plain_port(spec: ProxySpec, it_pki: ItPki, proxy_ids: ProxyIdentities) -> Iterator[int]:
    """The same app and authenticator over plain HTTP (a port left open by mistake)."""
    port = free_port()
    config = uvicorn.Config(make_app(it_pki, proxy_ids, spec.fmt), host="127.0.0.1",
                            port=port, log_level="warning", access_log=False, lifespan="off",
                            proxy_headers=False)
    with uvicorn_thread(config, timeout=STARTUP_TIMEOUT):
        yield port


@pytest.fixture(scope="module")
def proxy_with(spec: ProxySpec, it_pki: ItPki, proxy_ids: ProxyIdentities, app_port: int,
               tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Callable[[str], RunningProxy]]:
    """``proxy_with("old" | "new" | "rogue")``: the proxy presenting that certificate to the
    app, started once per label and stopped at the end of the module."""
    binary = find_binary(spec)
    assert binary is not None
    running: dict[str, RunningProxy] = {}

    def factory(label: str) -> RunningProxy:
        if label in running:
            return running[label]
        _, cert_path, key_path, bundle = proxy_ids.identities[label]
        run_dir = tmp_path_factory.mktemp(f"{spec.name}-mtls-{label}")
        port = free_port()
        values = {"LISTEN_PORT": str(port), "UPSTREAM_PORT": str(app_port),
                  "CERT_DIR": str(it_pki.directory), "RUN_DIR": str(run_dir),
                  "PROXY_CERT": cert_path, "PROXY_KEY": key_path, "PROXY_BUNDLE": bundle}
        if spec.name == "apache":
            modules = next((d for d in APACHE_MODULE_DIRS if Path(d, "mod_ssl.so").exists()),
                           None)
            if modules is None:
                unavailable(f"apache: mod_ssl.so not found in any of {APACHE_MODULE_DIRS}")
            values["MODULES_DIR"] = str(modules)
        conf = run_dir / Path(spec.template).name
        conf.write_text(render(EXAMPLES / spec.template, values))
        argv, env = proxy_command(spec, binary, conf, run_dir)
        process = start(f"{spec.name}-{label}", argv, port=port, run_dir=run_dir, env=env,
                        extra_logs=(run_dir / "error.log",))
        running[label] = RunningProxy(spec, port, proxy_version(binary, spec), process)
        return running[label]

    try:
        yield factory
    finally:
        for proxy in running.values():
            proxy.process.stop()


def header_for(fmt: str, identity: Identity) -> str:
    """``identity``'s leaf as proxy format ``fmt`` forwards it (what a spoofer sends)."""
    if fmt == "nginx":
        return urllib.parse.quote(identity.issued.pem, safe="")
    if fmt == "apache":
        return identity.issued.pem.replace("\n", " ").strip()
    return base64.b64encode(identity.der).decode("ascii")


def answer(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 401), response.text
    payload: dict[str, Any] = response.json()
    return payload


# -- tests ----------------------------------------------------------------------------------


class TestThroughThePinnedProxy:
    def test_good_client(self, proxy_with: Callable[[str], RunningProxy], it_pki: ItPki,
                         client_for: Any) -> None:
        """client-1 through the proxy presenting the pinned (new) certificate -> client-1,
        read from the forwarded header."""
        proxy = proxy_with("new")
        r = client_for(it_pki.client1).post(f"{proxy.url}/token",
                                            data={"client_id": "client-1"})
        assert r.status_code == 200, r.text
        assert answer(r) == {"client_id": "client-1", "source": f"forwarded:{proxy.spec.fmt}",
                             "notices": []}

    def test_client_sent_header_is_replaced(
        self, proxy_with: Callable[[str], RunningProxy], it_pki: ItPki, client_for: Any
    ) -> None:
        """client-1 sends client-2's certificate in the header itself: the proxy overwrites
        it, the app sees client-1."""
        proxy = proxy_with("new")
        r = client_for(it_pki.client1).get(
            f"{proxy.url}/resource",
            headers={proxy.spec.header: header_for(proxy.spec.fmt, it_pki.client2)})
        assert answer(r)["client_id"] == "client-1"

    def test_rotation_old_certificate_still_pinned(
        self, proxy_with: Callable[[str], RunningProxy], it_pki: ItPki, client_for: Any
    ) -> None:
        """The proxy still presenting the old certificate (pinned beside the new one during
        the rotation) is believed too."""
        proxy = proxy_with("old")
        r = client_for(it_pki.client2).get(f"{proxy.url}/resource")
        assert r.status_code == 200, r.text
        assert answer(r)["client_id"] == "client-2"

    def test_unpinned_proxy_certificate_from_the_same_ca(
        self, proxy_with: Callable[[str], RunningProxy], it_pki: ItPki, client_for: Any
    ) -> None:
        """A proxy presenting a certificate the handshake accepts (same CA, same name) but
        that is not pinned: its header is ignored and noticed, and its own certificate is
        only a TLS client's, which no registered client matches."""
        proxy = proxy_with("rogue")
        r = client_for(it_pki.client1).post(f"{proxy.url}/token",
                                            data={"client_id": "client-1"})
        assert r.status_code == 401, r.text
        body = answer(r)
        assert body["source"] == "tls"
        assert "untrusted_forwarded_header" in body["notices"]


class TestStraightToTheApp:
    def test_header_over_tls_with_another_certificate(
        self, spec: ProxySpec, app_port: int, it_pki: ItPki, client_for: Any
    ) -> None:
        """client-1 connects to the app itself, over TLS with its own certificate, and sends
        client-2's certificate in the header: the header is ignored and noticed; client-1 is
        what its TLS certificate says, an ordinary direct-mTLS client."""
        r = client_for(it_pki.client1).get(
            f"https://localhost:{app_port}/resource",
            headers={spec.header: header_for(spec.fmt, it_pki.client2)})
        assert r.status_code == 200, r.text
        assert answer(r) == {"client_id": "client-1", "source": "tls",
                             "notices": ["untrusted_forwarded_header"]}

    def test_claiming_another_client_fails(
        self, spec: ProxySpec, app_port: int, it_pki: ItPki, client_for: Any
    ) -> None:
        """client-1 over TLS with client-2's certificate in the header and client_id=client-2:
        refused (the header does not count, client-1's certificate does not name client-2)."""
        r = client_for(it_pki.client1).post(
            f"https://localhost:{app_port}/token", data={"client_id": "client-2"},
            headers={spec.header: header_for(spec.fmt, it_pki.client2)})
        assert r.status_code == 401
        body = answer(r)
        assert body["failure"] == "name_mismatch"
        assert "untrusted_forwarded_header" in body["notices"]

    def test_header_without_tls(
        self, spec: ProxySpec, plain_port: int, it_pki: ItPki
    ) -> None:
        """The same header over plain HTTP: ignored and noticed, no credentials."""
        with httpx.Client(timeout=10.0) as client:
            r = client.post(f"http://127.0.0.1:{plain_port}/token",
                            data={"client_id": "client-1"},
                            headers={spec.header: header_for(spec.fmt, it_pki.client1)})
        assert r.status_code == 401
        body = answer(r)
        assert body["failure"] == "missing_certificate"
        assert body["notices"] == ["untrusted_forwarded_header"]

    def test_no_certificate_no_handshake(
        self, app_port: int, client_for: Any
    ) -> None:
        """The app requires a client certificate: without one the handshake fails."""
        with pytest.raises(httpx.TransportError):
            client_for(None).get(f"https://localhost:{app_port}/resource")
