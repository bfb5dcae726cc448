"""Direct mutual TLS with uvicorn: hand the client certificate to the ASGI application.

uvicorn terminates TLS but does not fill the ASGI TLS extension, so an app behind it cannot
see the client certificate. The protocol classes here do, per connection: after the TLS
handshake they read the peer's certificates and add, to every HTTP request scope of that
connection, ``scope["extensions"]["tls"]`` as the ASGI TLS extension specifies::

    {"client_cert_chain": [pem, ...],     # leaf first; [] when the client sent none
     "client_cert_name": "CN=...,O=...",  # RFC 4514 subject of the leaf, or None
     "client_cert_error": None,           # the handshake verified the chain, or failed
     "server_cert": None,                 # not reported
     "tls_version": 0x0304,               # TLS 1.3; 0x0303 for TLS 1.2
     "cipher_suite": 0x1302}              # IANA cipher suite id, or None

:class:`clientauth.asgi.ClientAuthMiddleware` reads ``client_cert_chain``, so
``tls_client_auth`` and ``self_signed_tls_client_auth`` clients authenticate directly::

    from clientauth.servers.uvicorn import run
    run(ClientAuthMiddleware(app, authenticator=auth), host="127.0.0.1", port=8443,
        ssl_certfile="server.pem", ssl_keyfile="server.key",
        ssl_ca_certs="client-cas.pem")   # client roots + pinned self-signed certificates

or with uvicorn's own entry points::

    uvicorn.run(app, http=ClientCertH11Protocol, ssl_cert_reqs=ssl.CERT_REQUIRED,
                ssl_ca_certs="client-cas.pem", ssl_certfile=..., ssl_keyfile=...)
    uvicorn myapp:app --http clientauth.servers.uvicorn:ClientCertH11Protocol \\
        --ssl-cert-reqs 2 --ssl-ca-certs client-cas.pem --ssl-certfile ... --ssl-keyfile ...

**What the TLS layer proves, and what it cannot do.** A client certificate is only worth
something if the handshake made the client prove it holds the private key (the TLS
CertificateVerify message). OpenSSL asks for a client certificate only when the server
context's ``verify_mode`` is ``CERT_OPTIONAL`` or ``CERT_REQUIRED``, and then also verifies
the chain against the server's CA file (``ssl_ca_certs``); with uvicorn's default
``CERT_NONE`` no client certificate is ever requested. Python's :mod:`ssl` has no
verification callback, so the server cannot accept "any certificate, I will check it later":

* ``tls_client_auth`` (PKI): put the client roots in ``ssl_ca_certs``. clientauth then checks
  the chain again with its own policy (EKU, registered name, revocation).
* ``self_signed_tls_client_auth`` (pinned): each pinned self-signed certificate must be in
  ``ssl_ca_certs`` too (OpenSSL accepts a self-signed certificate that is itself in the trust
  store). A client that registers a new certificate needs the file updated and the server
  restarted (the context is loaded once). Behind a proxy that can skip verification (nginx
  ``ssl_verify_client optional_no_ca``) this limitation does not exist -- see
  docs/frameworks.md.
* ``CERT_OPTIONAL`` lets clients without a certificate in (secret clients on the same port);
  a client presenting an *untrusted* certificate still fails the handshake.

**The chain.** Python < 3.13 has no public API for the certificates the client sent beyond the
leaf; 3.13 added ``SSLObject.get_unverified_chain()``. The classes use it when present, on
3.11 and 3.12 the same method of the private ``_sslobj`` (checked to start with the leaf), else
the leaf alone -- configure the issuing CAs as the authenticator's ``intermediates`` so the
chain can be rebuilt.

Websocket scopes are not covered (uvicorn builds the websocket protocol from its config, not
from the HTTP connection). Tested with uvicorn 0.54.0 (h11 and httptools). The classes rely on
two things uvicorn does: it calls ``connection_made`` after the TLS handshake, and it reads
``self.app`` when it starts each request; other versions are untested, and the integration
tests (``tests/integration/test_uvicorn_tls.py``) are the check to run after an upgrade.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, MutableMapping
from functools import cache
from typing import Any

import uvicorn
from cryptography import x509
from uvicorn.protocols.http.h11_impl import H11Protocol

from .._x509 import CERTIFICATE_ERRORS, check_usable
from ..exceptions import ConfigurationError

__all__ = [
    "TESTED_UVICORN_VERSIONS",
    "ClientCertH11Protocol",
    "config",
    "protocol_class",
    "run",
    "tls_extension",
]

TESTED_UVICORN_VERSIONS = ("0.54.0",)
"""uvicorn versions the integration tests ran against."""

_Scope = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
_App = Callable[[_Scope, _Receive, _Send], Awaitable[None]]

# ASGI TLS extension: tls_version is the 16-bit protocol version of the TLS record layer.
_TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
# _ssl.ENCODING_DER: the private Certificate.public_bytes() format flag (1 = PEM, 2 = DER).
_ENCODING_DER = 2
_MAX_CHAIN = 10  # more than any real client sends; bounds what goes into every scope


def tls_extension(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> dict[str, Any] | None:
    """The ASGI TLS extension dict for one established connection (``None`` without TLS)."""
    if ssl_object is None:
        return None
    leaf = ssl_object.getpeercert(binary_form=True)
    chain_der = _peer_chain(ssl_object, leaf) if leaf else []
    name = None
    if chain_der:
        try:
            leaf_cert = check_usable(x509.load_der_x509_certificate(chain_der[0]))
            name = leaf_cert.subject.rfc4514_string()
        except CERTIFICATE_ERRORS:
            # OpenSSL accepted it, cryptography cannot read it (it parses lazily: invalid
            # UTF-8 or a BIT STRING in the subject raise only here); the authenticator
            # reports what is wrong, this connection must not fail.
            name = None
    cipher = ssl_object.cipher()
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der) for der in chain_der],
        "client_cert_name": name,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": _cipher_suite_id(cipher[0]) if cipher else None,
    }


def _peer_chain(ssl_object: ssl.SSLObject | ssl.SSLSocket, leaf: bytes) -> list[bytes]:
    # Python 3.13+: public. 3.11/3.12: the same method on the private _sslobj.
    for owner in (ssl_object, getattr(ssl_object, "_sslobj", None)):
        method = getattr(owner, "get_unverified_chain", None)
        if method is None:
            continue
        try:
            certs = method() or []
            chain = [c if isinstance(c, bytes) else c.public_bytes(_ENCODING_DER)
                     for c in certs]
        except (AttributeError, TypeError, ValueError, ssl.SSLError):
            continue
        if chain and chain[0] == leaf:
            return chain[:_MAX_CHAIN]
    return [leaf]


@cache
def _cipher_table() -> dict[str, int]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # OpenSSL's "id" is 0x0300XXXX; the low 16 bits are the IANA TLS cipher suite value.
    return {c["name"]: c["id"] & 0xFFFF for c in context.get_ciphers()}


def _cipher_suite_id(name: str) -> int | None:
    return _cipher_table().get(name)


class _TLSExtensionApp:
    """Wraps the app for one connection: each request scope gets its own copy of the
    connection's TLS facts, so nothing an app mutates leaks into the next request."""

    __slots__ = ("app", "tls")

    def __init__(self, app: _App, tls: dict[str, Any]) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope.get("type") == "http":
            extensions = dict(scope.get("extensions") or {})
            tls = dict(self.tls)
            tls["client_cert_chain"] = list(self.tls["client_cert_chain"])
            extensions["tls"] = tls
            scope["extensions"] = extensions
        await self.app(scope, receive, send)


def _wrap_connection_app(protocol: Any, transport: asyncio.BaseTransport) -> None:
    tls = tls_extension(transport.get_extra_info("ssl_object"))
    if tls is not None:
        # The protocol object lives exactly as long as the connection, and uvicorn reads
        # self.app when it starts each request: a per-connection wrapper cannot leak a
        # certificate into another connection's requests.
        protocol.app = _TLSExtensionApp(protocol.app, tls)


class ClientCertH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus the ASGI TLS extension (``http=ClientCertH11Protocol``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _wrap_connection_app(self, transport)


@cache
def _httptools_protocol() -> type[asyncio.Protocol]:
    # httptools is optional in uvicorn; importing it here keeps this module importable without.
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # noqa: PLC0415

    class ClientCertHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, plus the ASGI TLS extension."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            _wrap_connection_app(self, transport)

    return ClientCertHttpToolsProtocol


def protocol_class(http: str = "auto") -> type[asyncio.Protocol]:
    """The protocol class for uvicorn's ``http=`` setting: ``"h11"``, ``"httptools"``, or
    ``"auto"`` (httptools when installed, as uvicorn chooses)."""
    if http == "h11":
        return ClientCertH11Protocol
    if http == "httptools":
        return _httptools_protocol()
    if http == "auto":
        try:
            return _httptools_protocol()
        except ImportError:
            return ClientCertH11Protocol
    raise ConfigurationError('http must be "auto", "h11" or "httptools"')


def config(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8443,
    ssl_certfile: str,
    ssl_keyfile: str | None = None,
    ssl_ca_certs: str,
    client_cert_required: bool = True,
    http: str = "auto",
    **kwargs: Any,
) -> uvicorn.Config:
    """A ``uvicorn.Config`` serving ``app`` over TLS that asks every client for a certificate.

    ``ssl_ca_certs`` (required) is the PEM file of the client roots and pinned self-signed
    certificates the handshake accepts. ``client_cert_required=False`` uses ``CERT_OPTIONAL``:
    clients without a certificate get through the handshake (for secret clients; the
    middleware answers ``missing_certificate`` to certificate clients).
    ``proxy_headers`` defaults to ``False``: uvicorn otherwise replaces the peer address with
    ``X-Forwarded-For`` for local peers, and direct TLS has no proxy. Other keyword arguments
    go to ``uvicorn.Config``.
    """
    if not ssl_certfile:
        raise ConfigurationError("ssl_certfile is required: direct mTLS is TLS")
    if not ssl_ca_certs:
        raise ConfigurationError(
            "ssl_ca_certs is required: without it the handshake cannot request client "
            "certificates (see clientauth.servers.uvicorn)"
        )
    for key in ("ssl_cert_reqs", "http"):
        if key in kwargs:
            raise ConfigurationError(f"{key} is set by clientauth.servers.uvicorn.config()")
    kwargs.setdefault("proxy_headers", False)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        ssl_ca_certs=ssl_ca_certs,
        ssl_cert_reqs=ssl.CERT_REQUIRED if client_cert_required else ssl.CERT_OPTIONAL,
        http=protocol_class(http),
        **kwargs,
    )


def run(app: Any, **kwargs: Any) -> None:
    """Serve ``app`` with direct mutual TLS until interrupted; arguments as :func:`config`."""
    uvicorn.Server(config(app, **kwargs)).run()
