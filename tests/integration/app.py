"""The real Python app behind the proxies: a tiny pure-ASGI app served by uvicorn.

Routes:

``/echo``            the peer address and every header exactly as received, as JSON -- to see
                     what a proxy forwards (and that a spoofed header never arrives).
``/auth/<route>``    builds a :class:`clientauth.ClientRequest` from the scope (headers, peer,
                     form body) and answers with what :class:`clientauth.Authenticator` decided;
                     each route names a forwarded format and its header(s).

Configured by a JSON file named in ``CLIENTAUTH_IT_CONFIG``, written by ``conftest.py``::

    {"trust_anchors": [pem paths], "intermediates": [pem paths], "clients": [metadata...],
     "trusted_proxies": ["127.0.0.1/32"], "shared_secret": ["X-Proxy-Secret", "..."],
     "routes": {"nginx": {"format": "nginx", "header": "X-SSL-Client-Cert",
                          "chain_header": null, "intermediates": true}, ...}}

``"intermediates": false`` leaves the configured intermediates out, so the chain must come
from the proxy's chain header.

Run: ``uvicorn app:create_app --factory --app-dir tests/integration --host 127.0.0.1 --port N``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography import x509

import clientauth

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

APP_MARKER = "x-it-app"
"""Response header set by this app, so tests can tell its answers from a proxy's own
(the same value as harness.APP_MARKER; app.py imports nothing from the test harness)."""

MAX_BODY = 64 * 1024


def _load_config() -> dict[str, Any]:
    path = os.environ.get("CLIENTAUTH_IT_CONFIG")
    if not path:
        raise RuntimeError("CLIENTAUTH_IT_CONFIG is not set")
    return dict(json.loads(Path(path).read_text()))


def _load_pems(paths: list[str]) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for path in paths:
        certs.extend(x509.load_pem_x509_certificates(Path(path).read_bytes()))
    return certs


class Authenticators:
    """One Authenticator per route, built on first use.

    Built lazily so that ``/echo`` works even while ``clientauth.Authenticator`` does not
    exist yet (the harness was written before it).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config
        self._built: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, route: str) -> Any:
        with self._lock:
            if route not in self._built:
                self._built[route] = self._build(route)
            return self._built[route]

    def _build(self, route: str) -> Any:
        config = self._config
        if route not in config["routes"]:
            raise KeyError(route)
        options = config["routes"][route]
        forwarded = clientauth.ForwardedCertificates(
            options["format"],
            header=options.get("header"),
            chain_header=options.get("chain_header"),
            trusted_proxies=config["trusted_proxies"],
            shared_secret=tuple(config["shared_secret"]),
        )
        return clientauth.Authenticator(
            clientauth.load_clients(config["clients"]),
            trust_anchors=_load_pems(config["trust_anchors"]),
            intermediates=_load_pems(config["intermediates"] if options["intermediates"] else []),
            forwarded=forwarded,
        )


def _result_json(result: Any) -> dict[str, Any]:
    def text(value: Any) -> Any:
        return None if value is None else str(value)

    return {
        "ok": bool(result.ok),
        "client_id": result.client_id,
        "method": text(result.method),
        "failure": text(result.failure),
        "error": result.error,
        "detail": result.detail,
        "thumbprint": result.thumbprint,
        "source": result.source,
        "notices": [str(n) for n in result.notices],
    }


def create_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    config = _load_config()
    authenticators = Authenticators(config)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        status, payload = _handle(scope, body, authenticators)
        data = json.dumps(payload).encode()
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(data)).encode()),
                        (APP_MARKER.encode(), b"1")],
        })
        await send({"type": "http.response.body", "body": data})

    return app


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return b""
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _handle(scope: Scope, body: bytes, authenticators: Authenticators) -> tuple[int, Any]:
    headers = [(bytes(n).decode("latin-1"), bytes(v).decode("latin-1"))
               for n, v in scope["headers"]]
    peer = scope["client"][0] if scope.get("client") else None
    path: str = scope["path"]
    if path == "/echo":
        return 200, {"peer": peer, "headers": headers}
    if path.startswith("/auth/"):
        route = path.removeprefix("/auth/")
        try:
            authenticator = authenticators.get(route)
        except KeyError:
            return 404, {"error": f"no such route {route!r}"}
        except (AttributeError, ImportError) as exc:
            return 501, {"error": f"clientauth is not ready: {exc}"}
        form = None
        content_type = dict(headers).get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        request = clientauth.ClientRequest(headers, peer=peer, form=form)
        result = authenticator.authenticate(request)
        return (200 if result.ok else 401), _result_json(result)
    return 404, {"error": "not found"}

