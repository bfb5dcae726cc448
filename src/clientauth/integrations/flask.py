"""Flask integration: an extension with a ``required`` view decorator.

    from flask import Flask, g
    from clientauth.integrations.flask import ClientAuth

    app = Flask(__name__)
    client_auth = ClientAuth(app, authenticator=authenticator)   # or ClientAuth() + init_app

    @app.post("/token")
    @client_auth.required
    def token():
        return {"client_id": g.clientauth.client_id}

The decorator builds a :class:`~clientauth.ClientRequest` from the WSGI environ (headers,
``REMOTE_ADDR``, Apache mod_wsgi's ``SSL_CLIENT_CERT`` chain) and the form body when it is
``application/x-www-form-urlencoded``, authenticates it with the authenticator given to
:meth:`ClientAuth.init_app` for the current app, and puts the
:class:`~clientauth.AuthResult` on ``flask.g.clientauth``. When
:class:`clientauth.wsgi.ClientAuthMiddleware` already authenticated the request
(``environ["clientauth"]``), that result is reused.

Failures are answered per RFC 6749 section 5.2: JSON ``error`` / ``error_description``, 400
for ``invalid_request`` and 401 otherwise, ``WWW-Authenticate: Basic`` on every 401; 503 with
``Retry-After`` and the fixed ``temporarily_unavailable`` body when the registry cannot be read
(:meth:`ClientAuth.authenticate` raises :class:`~clientauth.RegistryUnavailable` then).
The body is read with ``request.get_data(cache=True)``, so the view can still use
``request.form`` and ``request.get_data()``; a ``Content-Length`` above ``max_body_size`` is
answered 413, and Flask's ``MAX_CONTENT_LENGTH`` applies as usual.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, request

from .._http import (
    CREDENTIAL_PARAMETERS,
    DEFAULT_MAX_BODY_SIZE,
    MULTIPART_CREDENTIALS,
    ErrorResponse,
    check_realm,
    content_length,
    error_response,
    is_form,
    is_multipart,
    payload_too_large,
    read_form,
    registry_unavailable_response,
)
from ..authenticator import Authenticator
from ..exceptions import ConfigurationError, RegistryUnavailable
from ..result import AuthResult
from ..wsgi import request_from_environ

__all__ = ["ClientAuth"]

F = TypeVar("F", bound=Callable[..., Any])

_EXTENSION_KEY = "clientauth"
_ENVIRON_KEY = "clientauth"  # where clientauth.wsgi.ClientAuthMiddleware puts its result


@dataclasses.dataclass(frozen=True, slots=True)
class _Settings:
    authenticator: Authenticator
    realm: str
    max_body_size: int


class ClientAuth:
    """Flask extension: ``ClientAuth(app, authenticator=auth)`` or ``init_app`` later.

    One extension object may serve several apps, each with its own authenticator
    (``init_app(app, authenticator=...)``); settings live in ``app.extensions["clientauth"]``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        authenticator: Authenticator | None = None,
        realm: str = "clientauth",
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        if authenticator is not None and not isinstance(authenticator, Authenticator):
            raise ConfigurationError("authenticator must be a clientauth.Authenticator")
        if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or (
            max_body_size < 1
        ):
            raise ConfigurationError("max_body_size must be a positive integer")
        self._authenticator = authenticator
        self._realm = check_realm(realm)
        self._max_body = max_body_size
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, *, authenticator: Authenticator | None = None) -> None:
        """Register on ``app``, with ``authenticator`` or the one given to the constructor."""
        auth = authenticator or self._authenticator
        if not isinstance(auth, Authenticator):
            raise ConfigurationError(
                "ClientAuth needs a clientauth.Authenticator (constructor or init_app)"
            )
        app.extensions[_EXTENSION_KEY] = _Settings(auth, self._realm, self._max_body)

    def required(self, view: F) -> F:
        """Decorate a view: authenticate first, ``g.clientauth`` = the result, or answer the
        RFC 6749 5.2 error. Works on sync and async views."""
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                failure = self._guard()
                if failure is not None:
                    return failure
                return await view(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            failure = self._guard()
            if failure is not None:
                return failure
            return view(*args, **kwargs)

        return cast(F, wrapper)

    def authenticate(self) -> AuthResult:
        """Authenticate the current request (or reuse the WSGI middleware's result) without
        answering; for views that handle failures themselves. Raises
        :class:`~clientauth.RegistryUnavailable` when the registry cannot be read."""
        result = request.environ.get(_ENVIRON_KEY)
        if isinstance(result, AuthResult):
            return result
        settings = self._settings()
        form = None
        unreadable = None
        try:
            length = _environ_length()
        except ValueError as exc:
            length, unreadable = None, str(exc)
        content_type = request.content_type or ""
        if unreadable is None and (is_form(content_type) or is_multipart(content_type)):
            if length is not None and length > settings.max_body_size:
                # required() answers 413 before this; a view calling authenticate() itself
                # gets a refusal, never a result that skipped the form the view will read.
                unreadable = "form body larger than max_body_size"
            else:
                data = request.get_data(cache=True)
                if data or not request.form:
                    form, unreadable = read_form(data, content_type)
                elif is_multipart(content_type):
                    found = CREDENTIAL_PARAMETERS & set(request.form)
                    unreadable = MULTIPART_CREDENTIALS if found else None
                else:
                    # A before_request hook read request.form first: the bytes are gone,
                    # the parsed form -- what the view reads -- is cached.
                    form = {key: request.form.getlist(key) for key in request.form}
        return settings.authenticator.authenticate(
            request_from_environ(request.environ, settings.authenticator, form=form,
                                 unreadable=unreadable)
        )

    def _guard(self) -> Any:
        settings = self._settings()
        content_type = request.content_type or ""
        if (is_form(content_type) or is_multipart(content_type)) and not isinstance(
            request.environ.get(_ENVIRON_KEY), AuthResult
        ):
            try:
                length = _environ_length()
            except ValueError:
                length = None  # authenticate() refuses it
            if length is not None and length > settings.max_body_size:
                return _response(payload_too_large())
        try:
            result = self.authenticate()
        except RegistryUnavailable:
            # Neither a refusal nor a pass (see clientauth.asgi.ClientAuthMiddleware).
            return _response(registry_unavailable_response())
        g.clientauth = result
        if not result.ok:
            return _response(error_response(result, realm=settings.realm))
        return None

    def _settings(self) -> _Settings:
        settings = current_app.extensions.get(_EXTENSION_KEY)
        if not isinstance(settings, _Settings):
            raise ConfigurationError("ClientAuth.init_app(app) was not called for this app")
        return settings


def _environ_length() -> int | None:
    # The raw CONTENT_LENGTH: Werkzeug reads a malformed one as 0, which would hide it.
    value = request.environ.get("CONTENT_LENGTH")
    return content_length([value]) if isinstance(value, str) and value else None


def _response(response: ErrorResponse) -> Any:
    status, headers, body = response
    # PEP 3333: an application must not send hop-by-hop headers (wsgiref asserts it).
    headers = [(name, value) for name, value in headers if name != "connection"]
    # Flask's own response class, so after_request hooks and the app's settings apply.
    return current_app.response_class(body, status=status, headers=headers)
