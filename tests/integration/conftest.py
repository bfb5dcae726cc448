"""Fixtures for the real-proxy tests: a PKI on disk, the Python app under uvicorn, and each
proxy (nginx, HAProxy, Apache httpd, Caddy) started from ``examples/proxies/<proxy>/``.

Everything listens on 127.0.0.1 only, on free ports, with pid/log/temp files in pytest's
temporary directories; everything started here is terminated (and waited for) in the fixture
finalisers, also when a test fails.

A missing proxy binary skips that proxy's tests -- unless ``CI`` is set: in CI these tests
never skip, they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import ssl
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID
from harness import (
    APACHE_MODULE_DIRS,
    EXAMPLES,
    HERE,
    ORG,
    PROXIES,
    ROOT,
    SECRET_HEADER,
    App,
    Identity,
    ItPki,
    RunningProxy,
    find_binary,
    free_port,
    proxy_command,
    proxy_version,
    render,
    start,
    unavailable,
    write_identity,
)

from certs import issue, name


@pytest.fixture(scope="session")
def it_pki(tmp_path_factory: pytest.TempPathFactory) -> ItPki:
    """Fresh CAs and certificates, valid around the real clock (the proxies check it too)."""
    directory = tmp_path_factory.mktemp("pki")
    now = datetime.now(UTC).replace(microsecond=0)
    valid = {"not_before": now - timedelta(hours=1), "not_after": now + timedelta(days=2)}

    root = issue(name("clientauth-it Client Root CA", O=ORG), ca=True, **valid)
    inter = issue(name("clientauth-it Issuing CA", O=ORG), issuer=root, ca=True,
                  path_length=0, **valid)
    server_ca = issue(name("clientauth-it Server CA", O=ORG), ca=True, **valid)
    server = issue(name("localhost", O=ORG), issuer=server_ca,
                   eku=(ExtendedKeyUsageOID.SERVER_AUTH,), san_dns=["localhost"],
                   san_ip=["127.0.0.1"], **valid)
    other_root = issue(name("Someone Else Root CA", O="Someone Else"), ca=True, **valid)

    server.write(directory, "server")
    (directory / "server-bundle.pem").write_text(server.pem + server.key_pem)
    (directory / "server-ca.pem").write_text(server_ca.pem)
    (directory / "client-ca.pem").write_text(root.pem)
    (directory / "intermediates.pem").write_text(inter.pem)

    client1 = issue(name("client-1", O=ORG), issuer=inter, **valid)
    client2 = issue(name("client-2", O=ORG), issuer=inter, **valid)
    stranger = issue(name("client-1", O=ORG), issuer=other_root, **valid)
    return ItPki(
        directory=directory,
        root=root,
        intermediate=inter,
        server_ca_path=str(directory / "server-ca.pem"),
        client_ca_path=str(directory / "client-ca.pem"),
        intermediates_path=str(directory / "intermediates.pem"),
        client1=write_identity(directory, "client-1", client1, inter),
        client2=write_identity(directory, "client-2", client2, inter),
        stranger=write_identity(directory, "stranger", stranger),
    )


@pytest.fixture(scope="session")
def proxy_secret() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
def app_server(it_pki: ItPki, proxy_secret: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """tests/integration/app.py under uvicorn on 127.0.0.1 (plain HTTP, behind the proxies)."""
    run_dir = tmp_path_factory.mktemp("app")
    config = {
        "trust_anchors": [it_pki.client_ca_path],
        "intermediates": [it_pki.intermediates_path],
        "clients": [
            {"client_id": cid, "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_subject_dn": f"CN={cid},O={ORG}"}
            for cid in ("client-1", "client-2")
        ],
        # The app port is on 127.0.0.1 like everything else on this host, so the address
        # cannot tell the proxy from a local attacker: the shared secret does (README.md).
        "trusted_proxies": ["127.0.0.1/32"],
        "shared_secret": [SECRET_HEADER, proxy_secret],
        "routes": {
            **{spec.fmt: {"format": spec.fmt, "header": spec.header, "chain_header": None,
                          "intermediates": True} for spec in PROXIES.values()},
            # The issuing CA known only from the proxy's chain header.
            **{f"{spec.fmt}-chain": {"format": spec.fmt, "header": spec.header,
                                     "chain_header": spec.chain_header, "intermediates": False}
               for spec in PROXIES.values() if spec.chain_header},
        },
    }
    config_path = run_dir / "config.json"
    config_path.write_text(json.dumps(config, indent=2))
    port = free_port()
    env = dict(os.environ)
    env["CLIENTAUTH_IT_CONFIG"] = str(config_path)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])]
    )
    # --no-proxy-headers as docs/proxies.md says: uvicorn would otherwise replace the peer
    # (the proxy, checked against trusted_proxies) with nginx's X-Forwarded-For.
    argv = [sys.executable, "-m", "uvicorn", "app:create_app", "--factory",
            "--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log", "--no-proxy-headers"]
    process = start("uvicorn", argv, port=port, run_dir=run_dir, env=env)
    try:
        yield App(port, proxy_secret, process)
    finally:
        process.stop()


@pytest.fixture(scope="session", params=list(PROXIES))
def proxy(request: pytest.FixtureRequest, it_pki: ItPki, app_server: App,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    """One proxy from examples/proxies/, in front of the app (parametrized: all four)."""
    spec = PROXIES[request.param]
    binary = find_binary(spec)
    if binary is None:
        unavailable(f"{spec.name}: none of {', '.join(spec.binaries)} is installed "
                    f"(Debian: apt-get install nginx-light haproxy apache2 caddy)")
    assert binary is not None
    run_dir = tmp_path_factory.mktemp(spec.name)
    port = free_port()
    values = {
        "LISTEN_PORT": str(port),
        "UPSTREAM_PORT": str(app_server.port),
        "CERT_DIR": str(it_pki.directory),
        "RUN_DIR": str(run_dir),
        "PROXY_SECRET": app_server.secret,
    }
    if spec.name == "apache":
        modules = next((d for d in APACHE_MODULE_DIRS if Path(d, "mod_ssl.so").exists()), None)
        if modules is None:
            unavailable(f"apache: mod_ssl.so not found in any of {APACHE_MODULE_DIRS}")
        values["MODULES_DIR"] = str(modules)
    conf = run_dir / Path(spec.template).name
    conf.write_text(render(EXAMPLES / spec.template, values))
    argv, env = proxy_command(spec, binary, conf, run_dir)
    process = start(spec.name, argv, port=port, run_dir=run_dir, env=env,
                    extra_logs=(run_dir / "error.log",))
    try:
        yield RunningProxy(spec, port, proxy_version(binary, spec), process)
    finally:
        process.stop()


# -- clients --------------------------------------------------------------------------------


@contextlib.contextmanager
def _tls_clients(it_pki: ItPki) -> Iterator[Any]:
    """A factory of httpx clients that trust the test server CA and present ``identity`` (or
    no certificate for ``None``); every client it made is closed on exit."""
    clients: list[httpx.Client] = []

    def factory(identity: Identity | None) -> httpx.Client:
        context = ssl.create_default_context(cafile=it_pki.server_ca_path)
        if identity is not None:
            context.load_cert_chain(identity.cert_path, identity.key_path)
        client = httpx.Client(verify=context, timeout=10.0)
        clients.append(client)
        return client

    try:
        yield factory
    finally:
        for client in clients:
            client.close()


@pytest.fixture(scope="session")
def make_client(it_pki: ItPki) -> Iterator[Any]:
    """``make_client(identity)``: clients kept for the session, closed at the end."""
    with _tls_clients(it_pki) as factory:
        yield factory


@pytest.fixture
def client_for(it_pki: ItPki) -> Iterator[Any]:
    """``client_for(identity)``: clients closed after the test, so a server the test started
    can stop (keep-alive connections would hold it)."""
    with _tls_clients(it_pki) as factory:
        yield factory
