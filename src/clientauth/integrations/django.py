"""Django integration: a middleware configured from ``settings.CLIENTAUTH``.

    # settings.py
    MIDDLEWARE = [..., "clientauth.integrations.django.ClientAuthMiddleware", ...]
    CLIENTAUTH = {
        "AUTHENTICATOR": "myproject.auth.authenticator",  # an Authenticator, or a factory
        "PATHS": ["/oauth/token", "/api/"],                # optional; default: every request
        "REALM": "myproject",                              # optional
        "MAX_BODY_SIZE": 65536,                            # optional, bytes
    }

``AUTHENTICATOR`` is a dotted path to a :class:`~clientauth.Authenticator` instance or to a
callable taking no arguments that returns one (called once, when Django builds the
middleware chain), or the instance itself. Settings are checked at start-up:
a mistake raises ``ImproperlyConfigured``.

For a guarded path the middleware builds a :class:`~clientauth.ClientRequest` from
``request.META`` (``HTTP_*`` headers, ``REMOTE_ADDR``, Apache mod_wsgi's ``SSL_CLIENT_CERT``
chain; under ASGI the TLS extension's ``client_cert_chain``) and from the body when it is
``application/x-www-form-urlencoded``, and sets ``request.clientauth`` to the
:class:`~clientauth.AuthResult` (``None`` on unguarded paths). A failed result is answered
per RFC 6749 section 5.2 with a ``JsonResponse``: 400 ``invalid_request`` or 401, with
``WWW-Authenticate: Basic`` on every 401. A registry that cannot be read is answered 503 with
``Retry-After`` and the fixed ``temporarily_unavailable`` body.

The body is read through ``request.body``, which Django caches: the view can still use
``request.POST`` and ``request.body``. It is read with the same rules as the ASGI/WSGI
adapters: a body Django could read differently (another charset, invalid UTF-8, a multipart
body that may carry credentials) is refused, never treated as "no form".
``Content-Length`` above ``MAX_BODY_SIZE`` is answered 413, a malformed one 400; Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` applies as usual. ``PATHS`` are matched against
``path_info``, ``path`` and the raw environ / scope (see the ASGI middleware).

Place the middleware before any middleware that reads ``request.POST`` (CSRF does not matter
for token endpoints, which are usually ``csrf_exempt``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse, RawPostDataException
from django.utils.module_loading import import_string

from .._http import (
    CREDENTIAL_PARAMETERS,
    DEFAULT_MAX_BODY_SIZE,
    MULTIPART_CREDENTIALS,
    ErrorResponse,
    PathMatcher,
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

__all__ = ["ClientAuthMiddleware"]

_RESULT_KEY = "clientauth"  # where the WSGI / ASGI middleware put their result
_SETTINGS_KEYS = frozenset({"AUTHENTICATOR", "PATHS", "REALM", "MAX_BODY_SIZE"})


class _Settings:
    __slots__ = ("authenticator", "max_body_size", "paths", "realm")

    def __init__(self, authenticator: Authenticator, paths: PathMatcher, realm: str,
                 max_body_size: int) -> None:
        self.authenticator = authenticator
        self.paths = paths
        self.realm = realm
        self.max_body_size = max_body_size


def _load_settings(config: Mapping[str, Any] | None = None) -> _Settings:
    """Validate ``settings.CLIENTAUTH`` (or ``config``); raises ``ImproperlyConfigured``."""
    if config is None:
        config = getattr(settings, "CLIENTAUTH", None)
    if not isinstance(config, Mapping):
        raise ImproperlyConfigured("settings.CLIENTAUTH must be a dict with an AUTHENTICATOR")
    unknown = set(config) - _SETTINGS_KEYS
    if unknown:
        # A typo ("PATH") would otherwise silently guard every request, or none.
        raise ImproperlyConfigured(f"settings.CLIENTAUTH: unknown keys {sorted(unknown)}")
    authenticator = _load_authenticator(config.get("AUTHENTICATOR"))
    max_body = config.get("MAX_BODY_SIZE", DEFAULT_MAX_BODY_SIZE)
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1:
        raise ImproperlyConfigured("settings.CLIENTAUTH['MAX_BODY_SIZE'] must be a positive int")
    try:
        paths = PathMatcher(config.get("PATHS"))
        realm = check_realm(config.get("REALM", "clientauth"))
    except ConfigurationError as exc:
        raise ImproperlyConfigured(f"settings.CLIENTAUTH: {exc}") from exc
    return _Settings(authenticator, paths, realm, max_body)


def _load_authenticator(value: object) -> Authenticator:
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"settings.CLIENTAUTH['AUTHENTICATOR']: cannot import {value!r}: {exc}"
            ) from exc
        if not isinstance(value, Authenticator) and callable(value):
            value = value()
    if not isinstance(value, Authenticator):
        raise ImproperlyConfigured(
            "settings.CLIENTAUTH['AUTHENTICATOR'] must be a clientauth.Authenticator, or the "
            "dotted path of one or of a factory returning one"
        )
    return value


class ClientAuthMiddleware:
    """Django middleware: ``request.clientauth`` on guarded paths, RFC 6749 5.2 on failure."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._settings = _load_settings()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.clientauth = None
        if not self._guarded(request):
            return self.get_response(request)
        try:
            result = self._authenticate(request)
        except RegistryUnavailable:
            # Neither a refusal nor a pass (see clientauth.asgi.ClientAuthMiddleware).
            return _response(registry_unavailable_response())
        if isinstance(result, HttpResponse):
            return result
        request.clientauth = result
        if not result.ok:
            return _response(error_response(result, realm=self._settings.realm))
        return self.get_response(request)

    def _guarded(self, request: HttpRequest) -> bool:
        # Django routes on path_info (after SCRIPT_NAME / FORCE_SCRIPT_NAME); the raw environ
        # or ASGI scope is matched too, so that no reading of the path slips past the guard.
        paths = self._settings.paths
        scope = getattr(request, "scope", None)
        return (
            paths(request.path_info or "/", request.path)
            or paths.guards_environ(request.META)
            or (isinstance(scope, Mapping) and paths.guards_scope(scope))
        )

    def _authenticate(self, request: HttpRequest) -> AuthResult | HttpResponse:
        # Behind clientauth.wsgi / clientauth.asgi middleware: reuse, never authenticate twice.
        scope = getattr(request, "scope", None)
        for holder in (request.META, scope if isinstance(scope, Mapping) else {}):
            existing = holder.get(_RESULT_KEY)
            if isinstance(existing, AuthResult):
                return existing
        auth = self._settings.authenticator
        form = None
        unreadable = None
        content_type = request.META.get("CONTENT_TYPE")
        raw_length = request.META.get("CONTENT_LENGTH")
        try:
            length = content_length([raw_length]) if isinstance(raw_length, str) and (
                raw_length
            ) else None
        except ValueError as exc:
            length, unreadable = None, str(exc)
        if unreadable is None and isinstance(content_type, str) and (
            is_form(content_type) or is_multipart(content_type)
        ):
            if length is not None and length > self._settings.max_body_size:
                return _response(payload_too_large())
            try:
                # request.body caches the bytes: request.POST and the view still work.
                form, unreadable = read_form(request.body, content_type)
            except RequestDataTooBig:
                return _response(payload_too_large())
            except RawPostDataException:
                # An earlier middleware parsed request.POST from the stream: what the view
                # reads is that parsed form.
                if is_multipart(content_type):
                    found = CREDENTIAL_PARAMETERS & set(request.POST)
                    unreadable = MULTIPART_CREDENTIALS if found else None
                else:
                    form = {key: request.POST.getlist(key) for key in request.POST}
        return auth.authenticate(
            request_from_environ(request.META, auth, form=form, tls_chain=_asgi_chain(request),
                                 unreadable=unreadable)
        )


def _asgi_chain(request: HttpRequest) -> list[str] | None:
    """The ASGI TLS extension's chain when Django runs under ASGI (``request.scope``)."""
    scope = getattr(request, "scope", None)
    if not isinstance(scope, Mapping):
        return None
    tls = (scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain")
    return list(chain) if chain else None


def _response(response: ErrorResponse) -> HttpResponse:
    status, headers, body = response
    reply = JsonResponse(json.loads(body), status=status)
    for name, value in headers:
        # PEP 3333: an application must not send hop-by-hop headers (wsgiref asserts it).
        if name not in ("content-type", "connection"):
            reply[name] = value
    return reply
