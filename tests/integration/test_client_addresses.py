"""Behind the shipped nginx.conf, a client's own address never decides (issue 16.1).

nginx.conf sets ``X-Forwarded-For``; uvicorn (also as gunicorn's worker) rewrites the ASGI
peer from it by default for 127.0.0.1, so ``trusted_proxies=["127.0.0.1/32"]`` saw the end
client's address and refused every client not itself on 127.0.0.1. What must hold: with each
server started exactly as docs/proxies.md says, clients on 127.0.0.1 *and* 127.0.0.2 are
accepted; and the test itself would catch the mistake (uvicorn's defaults refuse 127.0.0.2).

gunicorn and hypercorn are not test dependencies: they are installed into a virtualenv that
shares this interpreter's packages (``pip install`` from the configured index, cached).
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from harness import (
    APP_MARKER,
    EXAMPLES,
    HERE,
    ORG,
    PROXIES,
    ROOT,
    SECRET_HEADER,
    Identity,
    ItPki,
    find_binary,
    free_port,
    proxy_command,
    render,
    start,
    unavailable,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROXIES_DOC = ROOT / "docs" / "proxies.md"
ADDRESSES = ("127.0.0.1", "127.0.0.2")

# The documented command lines (docs/proxies.md, examples/proxies/README.md), with the app
# factory and address filled in. "uvicorn-defaults" is the mistake the issue reports.
SERVERS: dict[str, list[str]] = {
    "uvicorn": ["-m", "uvicorn", "--factory", "app:create_app", "--host", "127.0.0.1",
                "--port", "{port}", "--no-proxy-headers"],
    "gunicorn-uvicorn-worker": ["-m", "gunicorn", "-k", "uvicorn.workers.UvicornWorker",
                                "-b", "127.0.0.1:{port}", "--forwarded-allow-ips", "",
                                "app:create_app()"],
    "hypercorn": ["-m", "hypercorn", "-b", "127.0.0.1:{port}", "app:create_app()"],
    "uvicorn-defaults": ["-m", "uvicorn", "--factory", "app:create_app", "--host",
                         "127.0.0.1", "--port", "{port}"],
}
DOCUMENTED = {
    "uvicorn": "--no-proxy-headers",
    "gunicorn-uvicorn-worker": '--forwarded-allow-ips ""',
    "hypercorn": "hypercorn.middleware.ProxyFixMiddleware",
}
NEEDS = {"gunicorn-uvicorn-worker": "gunicorn", "hypercorn": "hypercorn"}


@pytest.fixture(scope="module")
def server_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv seeing this interpreter's packages, plus gunicorn and hypercorn."""
    venv = tmp_path_factory.mktemp("servers") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    python = venv / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "gunicorn", "hypercorn"],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        unavailable(f"cannot install gunicorn/hypercorn: {proc.stderr[-500:]}")
    return python


def nginx_binary() -> str:
    binary = find_binary(PROXIES["nginx"])
    if binary is None:
        unavailable("nginx is not installed")
    assert binary is not None
    return binary


@pytest.fixture(params=list(SERVERS))
def behind_nginx(request: pytest.FixtureRequest, it_pki: ItPki, proxy_secret: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(server name, nginx URL): app.py under the server, nginx.conf in front of it."""
    label = request.param
    nginx = nginx_binary()
    run_dir = tmp_path_factory.mktemp(label)
    config = {
        "trust_anchors": [it_pki.client_ca_path],
        "intermediates": [it_pki.intermediates_path],
        "clients": [{"client_id": "client-1", "token_endpoint_auth_method": "tls_client_auth",
                     "tls_client_auth_subject_dn": f"CN=client-1,O={ORG}"}],
        "trusted_proxies": ["127.0.0.1/32"],
        "shared_secret": [SECRET_HEADER, proxy_secret],
        "routes": {"nginx": {"format": "nginx", "header": "X-SSL-Client-Cert",
                             "chain_header": None, "intermediates": True}},
    }
    (run_dir / "config.json").write_text(json.dumps(config))
    env = dict(os.environ, CLIENTAUTH_IT_CONFIG=str(run_dir / "config.json"))
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT / "src"),
                                         *filter(None, [env.get("PYTHONPATH")])])
    # Only gunicorn and hypercorn need the virtualenv (and pip): uvicorn runs without it.
    python = str(request.getfixturevalue("server_venv")) if label in NEEDS else sys.executable
    app_port = free_port()
    argv = [python, *(a.format(port=app_port) for a in SERVERS[label])]
    app = start(label, argv, port=app_port, run_dir=run_dir, env=env)
    try:
        proxy_port = free_port()
        conf = run_dir / "nginx.conf"
        conf.write_text(render(EXAMPLES / "nginx" / "nginx.conf", {
            "LISTEN_PORT": str(proxy_port), "UPSTREAM_PORT": str(app_port),
            "CERT_DIR": str(it_pki.directory), "RUN_DIR": str(run_dir),
            "PROXY_SECRET": proxy_secret}))
        proxy_argv, proxy_env = proxy_command(PROXIES["nginx"], nginx, conf, run_dir)
        proxy = start("nginx", proxy_argv, port=proxy_port, run_dir=run_dir, env=proxy_env,
                      extra_logs=(run_dir / "error.log",))
        try:
            yield label, f"https://localhost:{proxy_port}"
        finally:
            proxy.stop()
    finally:
        app.stop()


def post_from(address: str, url: str, it_pki: ItPki, identity: Identity) -> httpx.Response:
    context = ssl.create_default_context(cafile=it_pki.server_ca_path)
    context.load_cert_chain(identity.cert_path, identity.key_path)
    transport = httpx.HTTPTransport(verify=context, local_address=address)
    with httpx.Client(transport=transport, timeout=10.0) as client:
        response = client.post(f"{url}/auth/nginx")
    assert APP_MARKER in response.headers, response.text
    return response


def test_clients_on_any_address_accepted(behind_nginx: tuple[str, str], it_pki: ItPki) -> None:
    """With the documented flags, client-1 is accepted from 127.0.0.1 and 127.0.0.2; with
    uvicorn's defaults, 127.0.0.2 is refused (the peer became the client's address)."""
    label, url = behind_nginx
    outcomes = {a: post_from(a, url, it_pki, it_pki.client1).json() for a in ADDRESSES}
    if label == "uvicorn-defaults":
        assert outcomes["127.0.0.1"]["ok"], outcomes
        assert not outcomes["127.0.0.2"]["ok"], outcomes
        assert outcomes["127.0.0.2"]["notices"] == ["untrusted_forwarded_header"], outcomes
        return
    for address, outcome in outcomes.items():
        assert outcome["ok"] and outcome["client_id"] == "client-1", (address, outcome)


@pytest.mark.parametrize("server", list(DOCUMENTED))
def test_flags_are_the_documented_ones(server: str) -> None:
    """The flags the test starts each server with are the ones docs/proxies.md gives."""
    text = PROXIES_DOC.read_text()
    assert DOCUMENTED[server] in text
    if server != "hypercorn":
        row = next(line for line in text.splitlines()
                   if line.startswith(f"| {server.split('-', maxsplit=1)[0]}"))
        assert re.search(re.escape(DOCUMENTED[server]), row), row
