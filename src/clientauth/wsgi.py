"""WSGI adapter: guard a WSGI application with client authentication.

    app = clientauth.wsgi.ClientAuthMiddleware(app, authenticator=auth)

The :class:`~clientauth.AuthResult` goes into ``environ["clientauth"]``. Under Apache
mod_wsgi with ``SSLOptions +ExportCertData``, the client certificate is read from
``SSL_CLIENT_CERT`` and ``SSL_CLIENT_CERT_CHAIN_0..n``; behind a proxy, configure the
authenticator's ``forwarded`` setting.

WSGI turns header names into ``HTTP_*`` keys, so ``client_id`` and ``client-id`` arrive alike;
the adapter maps them back to the names the authenticator was configured with. Most servers
(gunicorn, nginx) drop header names containing ``_`` by default: prefer dashes for custom
id/secret headers behind them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._http import (
    DEFAULT_MAX_BODY_SIZE,
    ErrorResponse,
    PathMatcher,
    check_adapter_settings,
    check_realm,
    content_length,
    error_response,
    is_form,
    is_multipart,
    parse_query,
    payload_too_large,
    read_form,
    registry_unavailable_response,
    token_error_response,
)
from ._x509 import MAX_CHAIN_LENGTH
from .authenticator import Authenticator
from .exceptions import CredentialsError, RegistryUnavailable
from .forwarded import ForwardedCertificates
from .request import ClientRequest
from .resource import BoundTokenGuard, TokenVerifier
from .result import AuthResult

__all__ = [
    "BoundTokenMiddleware",
    "ClientAuthMiddleware",
    "StartResponse",
    "WSGIApp",
    "WSGIEnviron",
    "request_from_environ",
]

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]
OnError = Callable[[WSGIEnviron, AuthResult], WSGIApp]

ENVIRON_KEY = "clientauth"
TOKEN_ENVIRON_KEY = "clientauth.token"


class ClientAuthMiddleware:
    """Authenticate every guarded request before the WSGI application sees it.

    Same behaviour as :class:`clientauth.asgi.ClientAuthMiddleware`: ``paths`` prefixes,
    bounded form body (413 beyond ``max_body_size``) replayed through ``wsgi.input``,
    RFC 6749 5.2 error responses or ``on_error(environ, result)`` returning a WSGI app, 503
    with ``Retry-After`` when the registry cannot be read.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        authenticator: Authenticator,
        paths: Iterable[str] | None = None,
        realm: str = "clientauth",
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        on_error: OnError | None = None,
    ) -> None:
        check_adapter_settings(
            authenticator, max_body_size, on_error, expected=Authenticator
        )
        self.app = app
        self._auth = authenticator
        self._paths = PathMatcher(paths)
        self._realm = check_realm(realm)
        self._max_body = max_body_size
        self._on_error = on_error

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        if not self._paths.guards_environ(environ):
            return self.app(environ, start_response)
        form = None
        unreadable = None
        content_type = environ.get("CONTENT_TYPE")
        try:
            length = _content_length(environ)
        except ValueError as exc:
            length, unreadable = None, str(exc)
        if unreadable is None and isinstance(content_type, str) and (
            is_form(content_type) or is_multipart(content_type)
        ):
            body = _read_body(environ, length, self._max_body)
            if body is None:
                return _respond(start_response, payload_too_large())
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            form, unreadable = read_form(body, content_type)
        request = request_from_environ(environ, self._auth, form=form, unreadable=unreadable)
        try:
            result = self._auth.authenticate(request)
        except RegistryUnavailable:
            # Neither a refusal nor a pass (see clientauth.asgi.ClientAuthMiddleware).
            return _respond(start_response, registry_unavailable_response())
        environ[ENVIRON_KEY] = result
        if not result.ok:
            if self._on_error is not None:
                return self._on_error(environ, result)(environ, start_response)
            return _respond(start_response, error_response(result, realm=self._realm))
        return self.app(environ, start_response)


class BoundTokenMiddleware:
    """Resource-server mode for WSGI; see :class:`clientauth.asgi.BoundTokenMiddleware`.
    Accepted claims go into ``environ["clientauth.token"]``."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        verify_token: TokenVerifier,
        forwarded: ForwardedCertificates | None = None,
        require_binding: bool = True,
        paths: Iterable[str] | None = None,
        realm: str = "clientauth",
    ) -> None:
        self.app = app
        self._guard = BoundTokenGuard(
            verify_token, forwarded=forwarded, require_binding=require_binding
        )
        self._paths = PathMatcher(paths)
        self._realm = check_realm(realm)

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        if not self._paths.guards_environ(environ):
            return self.app(environ, start_response)
        request = request_from_environ(environ)
        check = self._guard.check(request)
        if not check.ok:
            return _respond(start_response, token_error_response(
                realm=self._realm, status=check.status, error=check.error,
                description=check.description,
            ))
        environ[TOKEN_ENVIRON_KEY] = check
        return self.app(environ, start_response)


def request_from_environ(
    environ: Mapping[str, Any],
    authenticator: Authenticator | None = None,
    *,
    form: Mapping[str, list[str]] | None = None,
    tls_chain: list[str] | None = None,
    unreadable: str | None = None,
) -> ClientRequest:
    """A :class:`~clientauth.ClientRequest` from a WSGI environ (or Django's ``META``).

    ``HTTP_*`` keys become header names again; because WSGI folds ``client_id`` and
    ``client-id`` into one key, the ``authenticator``'s configured id/secret header names win.
    ``REMOTE_ADDR`` is the peer; Apache mod_wsgi's ``SSL_CLIENT_CERT`` (+
    ``SSL_CLIENT_CERT_CHAIN_n``) the TLS chain unless ``tls_chain`` is given. The query string
    is parsed only when the authenticator reads credentials from it; one that cannot be read
    as the application would read it makes the request ``unreadable`` (refused).
    """
    renames = {}
    if authenticator is not None:
        renames = {
            name.lower().replace("_", "-"): name.lower()
            for name in authenticator.credential_header_names
        }
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            name = key[5:].lower().replace("_", "-")
            headers.append((renames.get(name, name), value))
    content_type = environ.get("CONTENT_TYPE")
    if content_type and isinstance(content_type, str):
        headers.append(("content-type", content_type))
    query = None
    query_string = environ.get("QUERY_STRING")
    if authenticator is not None and authenticator.allow_query_credentials and query_string:
        try:
            # PEP 3333: environ strings are the raw bytes as ISO-8859-1.
            query = parse_query(str(query_string))
        except CredentialsError as exc:
            unreadable = unreadable or f"query string: {exc.reason}"
    peer = environ.get("REMOTE_ADDR")
    return ClientRequest(
        headers,
        form=form,
        query=query,
        peer=peer if isinstance(peer, str) and peer else None,
        tls_chain=tls_chain if tls_chain is not None else _mod_wsgi_chain(environ),
        unreadable=unreadable,
    )


def _mod_wsgi_chain(environ: Mapping[str, Any]) -> list[str]:
    """The client chain Apache mod_wsgi exports, leaf first."""
    leaf = environ.get("SSL_CLIENT_CERT")
    if not leaf or not isinstance(leaf, str):
        return []
    chain = [leaf]
    # Up to MAX_CHAIN_LENGTH variables: a leaf plus that many is one over the limit, which
    # ClientRequest turns into a refused request (never a silently shortened chain).
    for i in range(MAX_CHAIN_LENGTH):
        cert = environ.get(f"SSL_CLIENT_CERT_CHAIN_{i}")
        if not cert or not isinstance(cert, str):
            break
        chain.append(cert)
    return chain


def _content_length(environ: Mapping[str, Any]) -> int | None:
    value = environ.get("CONTENT_LENGTH")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("Content-Length is not text")
    return content_length([value])


def _read_body(environ: WSGIEnviron, length: int | None, limit: int) -> bytes | None:
    """At most ``limit`` bytes of body, or ``None`` when it is larger. Never reads past the
    announced length (PEP 3333) and never calls ``read()`` without a bound."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length is None:
        if not environ.get("wsgi.input_terminated"):
            # No Content-Length and a stream the server does not terminate: no body (what
            # Werkzeug and Django read too); reading would wait for bytes that never come.
            return b""
        data = bytes(stream.read(limit + 1))  # chunked: read at most limit + 1
        return None if len(data) > limit else data
    if length > limit:
        return None
    return bytes(stream.read(length))[:length]


def _respond(start_response: StartResponse, response: ErrorResponse) -> list[bytes]:
    status, headers, body = response
    reason = {400: "Bad Request", 401: "Unauthorized", 413: "Content Too Large",
              503: "Service Unavailable"}.get(status, "")
    start_response(f"{status} {reason}", [*headers, ("content-length", str(len(body)))])
    return [body]

