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
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from ._http import (
    DEFAULT_MAX_BODY_SIZE,
    ErrorResponse,
    PathMatcher,
    check_adapter_settings,
    check_realm,
    error_response,
    is_form,
    parse_form,
    payload_too_large,
    token_error_response,
)
from .authenticator import Authenticator
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
]

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]
OnError = Callable[[WSGIEnviron, AuthResult], WSGIApp]

ENVIRON_KEY = "clientauth"
TOKEN_ENVIRON_KEY = "clientauth.token"
_MAX_CHAIN_VARIABLES = 10


class ClientAuthMiddleware:
    """Authenticate every guarded request before the WSGI application sees it.

    Same behaviour as :class:`clientauth.asgi.ClientAuthMiddleware`: ``paths`` prefixes,
    bounded form body (413 beyond ``max_body_size``) replayed through ``wsgi.input``,
    RFC 6749 5.2 error responses or ``on_error(environ, result)`` returning a WSGI app.
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
        check_adapter_settings(authenticator, max_body_size, on_error)
        self.app = app
        self._auth = authenticator
        self._paths = PathMatcher(paths)
        self._realm = check_realm(realm)
        self._max_body = max_body_size
        self._on_error = on_error
        # WSGI folds '_' and '-' into one HTTP_ key: map back to the configured names.
        self._renames = {
            name.lower().replace("_", "-"): name.lower()
            for name in authenticator.credential_header_names
        }

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        if not self._paths(environ.get("PATH_INFO", "") or "/"):
            return self.app(environ, start_response)
        form = None
        if is_form(environ.get("CONTENT_TYPE")):
            body = _read_body(environ, self._max_body)
            if body is None:
                return _respond(start_response, payload_too_large())
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            form = parse_form(body)
        query = None
        if self._auth.allow_query_credentials and environ.get("QUERY_STRING"):
            query = parse_qs(environ["QUERY_STRING"], max_num_fields=100)
        request = ClientRequest(
            self._headers(environ),
            form=form,
            query=query,
            peer=environ.get("REMOTE_ADDR") or None,
            tls_chain=_mod_wsgi_chain(environ),
        )
        result = self._auth.authenticate(request)
        environ[ENVIRON_KEY] = result
        if not result.ok:
            if self._on_error is not None:
                return self._on_error(environ, result)(environ, start_response)
            return _respond(start_response, error_response(result, realm=self._realm))
        return self.app(environ, start_response)

    def _headers(self, environ: WSGIEnviron) -> list[tuple[str, str]]:
        return _environ_headers(environ, self._renames)


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
        if not self._paths(environ.get("PATH_INFO", "") or "/"):
            return self.app(environ, start_response)
        request = ClientRequest(
            _environ_headers(environ, {}),
            peer=environ.get("REMOTE_ADDR") or None,
            tls_chain=_mod_wsgi_chain(environ),
        )
        check = self._guard.check(request)
        if not check.ok:
            return _respond(start_response, token_error_response(
                realm=self._realm, status=check.status, error=check.error,
                description=check.description,
            ))
        environ[TOKEN_ENVIRON_KEY] = check
        return self.app(environ, start_response)


def _environ_headers(environ: WSGIEnviron, renames: dict[str, str]) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            name = key[5:].lower().replace("_", "-")
            headers.append((renames.get(name, name), value))
    if environ.get("CONTENT_TYPE"):
        headers.append(("content-type", environ["CONTENT_TYPE"]))
    return headers


def _mod_wsgi_chain(environ: WSGIEnviron) -> list[str]:
    leaf = environ.get("SSL_CLIENT_CERT")
    if not leaf or not isinstance(leaf, str):
        return []
    chain = [leaf]
    for i in range(_MAX_CHAIN_VARIABLES):
        cert = environ.get(f"SSL_CLIENT_CERT_CHAIN_{i}")
        if not cert or not isinstance(cert, str):
            break
        chain.append(cert)
    return chain


def _read_body(environ: WSGIEnviron, limit: int) -> bytes | None:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length_text = environ.get("CONTENT_LENGTH") or ""
    try:
        length = int(length_text) if length_text else None
    except ValueError:
        length = None
    if length is not None:
        if length > limit:
            return None
        return bytes(stream.read(length))
    data = bytes(stream.read(limit + 1))  # chunked / unknown length: read at most limit + 1
    return None if len(data) > limit else data


def _respond(start_response: StartResponse, response: ErrorResponse) -> list[bytes]:
    status, headers, body = response
    reason = {400: "Bad Request", 401: "Unauthorized", 413: "Content Too Large"}.get(status, "")
    start_response(f"{status} {reason}", [*headers, ("content-length", str(len(body)))])
    return [body]

