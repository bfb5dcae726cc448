"""FastAPI integration: client authentication as a dependency.

    from fastapi import Depends, FastAPI
    from clientauth.integrations.fastapi import ClientAuth

    client_auth = ClientAuth(authenticator)
    app = FastAPI()
    client_auth.init_app(app)          # RFC 6749 5.2 error bodies (see below)

    @app.post("/token")
    async def token(client: AuthResult = Depends(client_auth)) -> dict[str, str]:
        return {"client_id": client.client_id}

The dependency builds a :class:`~clientauth.ClientRequest` from the Starlette request
(headers, peer address, the form body when it is ``application/x-www-form-urlencoded``, and
the TLS client chain when the server exposes it -- see :mod:`clientauth.servers.uvicorn`),
authenticates it, and returns the :class:`~clientauth.AuthResult`. When
:class:`clientauth.asgi.ClientAuthMiddleware` already authenticated the request, its result is
reused instead of authenticating twice.

Failure raises :class:`ClientAuthFailed`, an ``HTTPException`` carrying the RFC 6749 section
5.2 status (400 ``invalid_request``, 401 otherwise) and headers (``WWW-Authenticate: Basic``
on every 401, ``Cache-Control: no-store``). A registry that cannot be read
(:class:`~clientauth.RegistryUnavailable`) raises it with 503, ``Retry-After`` and the fixed
``temporarily_unavailable`` body, also with ``auto_error=False``. FastAPI's default handler
wraps every ``HTTPException`` body in ``{"detail": ...}``; :meth:`ClientAuth.init_app` (or
``FastAPI(exception_handlers=EXCEPTION_HANDLERS)``) installs :func:`client_auth_error_handler`,
which answers with the exact RFC 6749 body ``{"error": ..., "error_description": ...}``.

The form body is read with ``await request.body()``, which Starlette caches: the endpoint can
still read ``request.form()`` or ``request.body()``. Bodies announcing a ``Content-Length``
above ``max_body_size`` are answered 413. A chunked form body (no ``Content-Length``) is read
whole, as FastAPI reads any ``Form(...)`` body: bound it in the server or a proxy, or use the
ASGI middleware, which counts as it reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from .._http import (
    CREDENTIAL_PARAMETERS,
    DEFAULT_MAX_BODY_SIZE,
    MULTIPART_CREDENTIALS,
    check_adapter_settings,
    check_realm,
    content_length,
    error_response,
    is_form,
    is_multipart,
    read_form,
    registry_unavailable_response,
)
from ..asgi import SCOPE_KEY, request_from_scope
from ..authenticator import Authenticator
from ..exceptions import RegistryUnavailable
from ..result import AuthResult

__all__ = ["EXCEPTION_HANDLERS", "ClientAuth", "ClientAuthFailed", "client_auth_error_handler"]


class ClientAuthFailed(HTTPException):
    """Client authentication failed; ``result`` says why, ``body`` is the RFC 6749 5.2 JSON.

    ``detail`` holds the same JSON object, so FastAPI's default handler still sends the right
    status, headers and error code (nested under ``"detail"``).
    """

    def __init__(self, status_code: int, headers: Mapping[str, str], body: bytes,
                 result: AuthResult | None) -> None:
        super().__init__(status_code, detail=json.loads(body), headers=dict(headers))
        self.body = body
        self.result = result


async def client_auth_error_handler(request: Request, exc: Exception) -> Response:
    """Answer a :class:`ClientAuthFailed` with the exact RFC 6749 5.2 body."""
    if not isinstance(exc, ClientAuthFailed):  # registered for ClientAuthFailed only
        raise exc
    return Response(exc.body, status_code=exc.status_code, headers=exc.headers,
                    media_type="application/json")


EXCEPTION_HANDLERS: dict[Any, Any] = {ClientAuthFailed: client_auth_error_handler}
"""For ``FastAPI(exception_handlers=EXCEPTION_HANDLERS)``."""


class ClientAuth:
    """A FastAPI dependency: ``Depends(ClientAuth(authenticator))`` -> :class:`AuthResult`.

    ``realm`` goes into the ``WWW-Authenticate`` challenge; ``max_body_size`` bounds the form
    body by its ``Content-Length`` (413 beyond). ``threaded=True`` runs the authentication in
    Starlette's thread pool -- use it when a revocation checker or jwks fetcher may do network
    I/O. ``auto_error=False`` returns failed results instead of raising (FastAPI's own
    ``HTTPBasic(auto_error=False)`` convention), for endpoints that also serve anonymous
    callers.
    """

    def __init__(
        self,
        authenticator: Authenticator,
        *,
        realm: str = "clientauth",
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        threaded: bool = False,
        auto_error: bool = True,
    ) -> None:
        check_adapter_settings(authenticator, max_body_size, None, expected=Authenticator)
        self._auth = authenticator
        self._realm = check_realm(realm)
        self._max_body = max_body_size
        self._threaded = bool(threaded)
        self._auto_error = bool(auto_error)

    def __repr__(self) -> str:
        return f"ClientAuth({self._auth!r})"

    @staticmethod
    def init_app(app: FastAPI) -> None:
        """Install :func:`client_auth_error_handler` on ``app`` (exact RFC 6749 bodies)."""
        app.add_exception_handler(ClientAuthFailed, client_auth_error_handler)

    async def __call__(self, request: Request) -> AuthResult:
        # The annotation must resolve at runtime: FastAPI reads it to inject the Request.
        result = request.scope.get(SCOPE_KEY)  # set by clientauth.asgi.ClientAuthMiddleware
        if not isinstance(result, AuthResult):
            try:
                result = await self._authenticate(request)
            except RegistryUnavailable:
                # Even with auto_error=False: there is no result to return, and the request
                # must be neither refused as a bad client nor let through.
                status, headers, body = registry_unavailable_response()
                raise ClientAuthFailed(status, dict(headers), body, None) from None
        if not result.ok and self._auto_error:
            status, headers, body = error_response(result, realm=self._realm)
            raise ClientAuthFailed(status, dict(headers), body, result)
        return result

    async def _authenticate(self, request: Request) -> AuthResult:
        form = None
        unreadable = None
        content_types = request.headers.getlist("content-type")
        try:
            length = content_length(request.headers.getlist("content-length"))
        except ValueError as exc:
            length, unreadable = None, str(exc)
        if len(content_types) > 1:
            unreadable = "more than one Content-Type"
        elif unreadable is None and content_types and (
            is_form(content_types[0]) or is_multipart(content_types[0])
        ):
            form, unreadable = await self._read_form(request, length, content_types[0])
        client_request = request_from_scope(request.scope, self._auth, form=form,
                                            unreadable=unreadable)
        if self._threaded:
            return await run_in_threadpool(self._auth.authenticate, client_request)
        return self._auth.authenticate(client_request)

    async def _read_form(
        self, request: Request, length: int | None, content_type: str
    ) -> tuple[Mapping[str, list[str]] | None, str | None]:
        if length is not None and length > self._max_body:
            body = json.dumps({"error": "invalid_request",
                               "error_description": "Request body too large."}).encode()
            raise ClientAuthFailed(413, {"content-type": "application/json",
                                         "connection": "close"}, body, None)
        try:
            # body() caches the bytes on the request, so the endpoint can read them again,
            # and read_form() applies the ASGI/WSGI adapters' exact rules.
            return read_form(await request.body(), content_type)
        except RuntimeError:
            # FastAPI parses Form(...) parameters *before* solving dependencies; it consumed
            # the stream and cached the parsed form -- exactly what the endpoint reads.
            data = await request.form()
            if is_multipart(content_type):
                found = CREDENTIAL_PARAMETERS & set(data)
                return None, MULTIPART_CREDENTIALS if found else None
            return {key: [v for v in data.getlist(key) if isinstance(v, str)]
                    for key in data}, None
