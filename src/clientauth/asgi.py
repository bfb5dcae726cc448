"""ASGI adapter: guard an ASGI application with client authentication.

    app = clientauth.asgi.ClientAuthMiddleware(app, authenticator=auth)

Pure ASGI (no framework import). Non-HTTP scopes (websocket, lifespan) pass through. The
:class:`~clientauth.AuthResult` goes into ``scope["clientauth"]`` and, for Starlette/FastAPI,
``request.state.clientauth`` (``scope["state"]``).

The TLS client certificate comes from the ASGI TLS extension (``scope["extensions"]["tls"]
["client_cert_chain"]``, PEM strings, leaf first) when the server provides it -- see
:mod:`clientauth.servers.uvicorn` -- or from a trusted proxy's header via the authenticator's
``forwarded`` setting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
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
from .authenticator import Authenticator, LoneBasicReads
from .exceptions import ConfigurationError, CredentialsError, RegistryUnavailable
from .forwarded import ForwardedCertificates
from .request import MAX_HEADERS, ClientRequest
from .resource import BoundTokenGuard, TokenVerifier
from .result import AuthResult

__all__ = [
    "ASGIApp",
    "BoundTokenMiddleware",
    "ClientAuthMiddleware",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "request_from_scope",
]

# Our own aliases instead of a framework's types (docs/design.md, "Thin adapters").
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
OnError = Callable[[Scope, AuthResult], ASGIApp]

SCOPE_KEY = "clientauth"
TOKEN_SCOPE_KEY = "clientauth.token"
TOKEN_STATE_KEY = "clientauth_token"


class ClientAuthMiddleware:
    """Authenticate every guarded HTTP request before the application sees it.

    ``paths``: path prefixes to guard (default ``None``: every HTTP request), matched
    fail-closed under any mount prefix and in any spelling (see
    :class:`clientauth._http.PathMatcher`; ``/token`` guards ``/oauth/token`` too). A form body
    (``application/x-www-form-urlencoded``) is read -- at most ``max_body_size`` bytes, else
    413 -- so ``client_secret_post`` works, and replayed to the application unchanged.
    Failures are answered per RFC 6749 5.2 (JSON ``error``/``error_description``; 400 for
    ``invalid_request``, 401 otherwise, always with ``WWW-Authenticate: Basic realm=...``)
    unless ``on_error(scope, result)`` returns the ASGI app to answer instead. A registry
    that cannot be read (:class:`~clientauth.RegistryUnavailable`) is answered 503 with
    ``Retry-After`` and a fixed ``temporarily_unavailable`` body, never 401 or a pass.
    ``threaded=True`` runs the authentication in a worker thread -- use it when a revocation
    checker or jwks fetcher may do network I/O, so it never blocks the event loop.

    The request nearly every confidential client sends -- one ``Authorization: Basic`` header,
    nothing else clientauth reads, no form, no certificate -- is found in the one pass over
    the raw headers and decided without building a :class:`~clientauth.ClientRequest`, with
    the outcome and audit events ``authenticate()`` gives it
    (``tests/test_asgi_lone_basic.py``). An :class:`~clientauth.Authenticator` subclass that
    overrides ``authenticate()`` has every request go through its override.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        paths: Iterable[str] | None = None,
        realm: str = "clientauth",
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        on_error: OnError | None = None,
        threaded: bool = False,
    ) -> None:
        check_adapter_settings(
            authenticator, max_body_size, on_error, expected=Authenticator
        )
        self.app = app
        self._auth = authenticator
        self._paths = PathMatcher(paths)
        self._guard_all = self._paths.guards_all
        self._realm = check_realm(realm)
        self._max_body = max_body_size
        self._on_error = on_error
        self._threaded = bool(threaded)
        # The lone-Basic shortcut (_scan_headers, Authenticator._lone_basic) stands in for
        # authenticate(): a subclass that overrides authenticate() sees every request.
        self._looked_for = _HeaderKinds(
            authenticator._lone_basic_reads
            if type(authenticator).authenticate is Authenticator.authenticate
            else None
        )

    async def _body(
        self, content_types: list[str], lengths: list[str], receive: Receive, send: Send
    ) -> tuple[dict[str, list[str]] | None, str | None, Receive] | None:
        """For a request with a body: ``(form, unreadable, receive)`` -- the form read from
        an urlencoded body (``receive`` then replays it to the application), or why the body
        cannot be read as the application would read it -- or ``None`` once answered 413."""
        unreadable = None
        if lengths:
            try:
                # The body is counted as it is read, whatever Content-Length says; a malformed
                # or repeated one is still refused, as the WSGI adapter refuses it.
                content_length(lengths)
            except ValueError as exc:
                unreadable = str(exc)
        if len(content_types) > 1:
            # Starlette reads the first, Django joins them: the app's reading is unknowable.
            return None, "more than one Content-Type", receive
        if unreadable is None and content_types and (
            is_form(content_types[0]) or is_multipart(content_types[0])
        ):
            body = await _read_body(receive, self._max_body)
            if body is None:
                status, too_large_headers, payload = payload_too_large()
                await _respond(send, (status, [*too_large_headers, ("connection", "close")],
                                      payload))
                return None
            form, unreadable = read_form(body, content_types[0])
            return form, unreadable, _replay(body, receive)
        return None, unreadable, receive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (self._guard_all or self._paths.guards_scope(scope)):
            await self.app(scope, receive, send)
            return
        content_types, lengths, authorization = _scan_headers(
            scope.get("headers") or (), self._looked_for
        )
        form: dict[str, list[str]] | None = None
        unreadable: str | None = None
        if content_types or lengths:
            body = await self._body(content_types, lengths, receive, send)
            if body is None:  # answered (413)
                return
            form, unreadable, receive = body
        try:
            result = None
            if (
                authorization is not None
                and form is None
                and unreadable is None
                and not (scope.get("extensions") and _tls_chain(scope))
            ):
                # The request nearly every confidential client sends: a lone Basic header,
                # nothing else clientauth reads (_scan_headers), no form, no certificate.
                # Authenticator._lone_basic answers what authenticate() would, or None.
                peer = _peer(scope)
                value = authorization.decode("latin-1")
                if self._threaded:
                    result = await asyncio.to_thread(self._auth._lone_basic, value, peer)
                else:
                    result = self._auth._lone_basic(value, peer)
            if result is None:
                request = request_from_scope(scope, self._auth, form=form,
                                             unreadable=unreadable)
                if self._threaded:
                    result = await asyncio.to_thread(self._auth.authenticate, request)
                else:
                    result = self._auth.authenticate(request)
        except RegistryUnavailable:
            # Neither a refusal (the client may be good) nor a pass: 503, retry later. The
            # authenticator has audited it; the next request reads the registry again.
            await _respond(send, registry_unavailable_response())
            return
        scope[SCOPE_KEY] = result
        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state[SCOPE_KEY] = result
        if not result.ok:
            if self._on_error is not None:
                await self._on_error(scope, result)(scope, receive, send)
            else:
                await _respond(send, error_response(result, realm=self._realm))
            return
        await self.app(scope, receive, send)


class BoundTokenMiddleware:
    """Resource-server mode (RFC 8705 section 3): every guarded request needs a Bearer token
    that ``verify_token`` accepts and that is bound to the request's client certificate.

    The certificate comes from the ASGI TLS extension, or from a trusted proxy's header when
    ``forwarded`` is given. Refusals are 401 with an RFC 6750 ``WWW-Authenticate: Bearer``
    challenge (``invalid_token``), or 400 for a request with two Authorization headers. The
    accepted claims go into ``scope["clientauth.token"]`` and ``request.state.clientauth_token``
    (``scope["state"]``).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        verify_token: TokenVerifier,
        forwarded: ForwardedCertificates | None = None,
        require_binding: bool = True,
        paths: Iterable[str] | None = None,
        realm: str = "clientauth",
        threaded: bool = False,
    ) -> None:
        self.app = app
        self._guard = BoundTokenGuard(
            verify_token, forwarded=forwarded, require_binding=require_binding
        )
        self._paths = PathMatcher(paths)
        self._realm = check_realm(realm)
        self._threaded = bool(threaded)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._paths.guards_scope(scope):
            await self.app(scope, receive, send)
            return
        request = request_from_scope(scope)
        if self._threaded:
            check = await asyncio.to_thread(self._guard.check, request)
        else:
            check = self._guard.check(request)
        if not check.ok:
            await _respond(send, token_error_response(
                realm=self._realm, status=check.status, error=check.error,
                description=check.description,
            ))
            return
        scope[TOKEN_SCOPE_KEY] = check
        state = scope.setdefault("state", {})
        state[TOKEN_SCOPE_KEY] = check
        # An identifier too, so frameworks read it as request.state.clientauth_token.
        state[TOKEN_STATE_KEY] = check
        await self.app(scope, receive, send)


def _tls_chain(scope: Scope) -> Any:
    """The TLS client certificate chain the server passed (the ASGI TLS extension's
    ``client_cert_chain``, PEM, leaf first), or ``()``."""
    tls = (scope.get("extensions") or {}).get("tls")
    return (tls.get("client_cert_chain") if tls else None) or ()


def _peer(scope: Scope) -> str | None:
    """The client address of the connection (``scope["client"][0]``), if the server gave one."""
    client = scope.get("client")
    peer = client[0] if client else None
    return peer if isinstance(peer, str) else None


def request_from_scope(
    scope: Scope,
    authenticator: Authenticator | None = None,
    *,
    form: Mapping[str, list[str]] | None = None,
    unreadable: str | None = None,
) -> ClientRequest:
    """A :class:`~clientauth.ClientRequest` from an ASGI HTTP scope: its headers, the client
    address as the peer, and the TLS extension's ``client_cert_chain`` (PEM, leaf first) when
    the server provides one. The query string is parsed only when the ``authenticator`` reads
    credentials from it; one that cannot be read as the application would read it makes the
    request ``unreadable`` (refused). The counterpart of
    :func:`clientauth.wsgi.request_from_environ`."""
    query = None
    if authenticator is not None and authenticator.allow_query_credentials and (
        scope.get("query_string")
    ):
        try:
            query = parse_query(scope["query_string"])
        except CredentialsError as exc:
            unreadable = unreadable or f"query string: {exc.reason}"
    if form is not None and not isinstance(form, Mapping):
        raise ConfigurationError("form must be a mapping of name to str")
    chain = _tls_chain(scope)
    return ClientRequest._from_server(
        scope.get("headers") or (),
        None if form is None else dict(form),
        query,
        _peer(scope),
        chain if type(chain) is tuple else tuple(chain),
        unreadable,
    )


_CONTENT_TYPE, _CONTENT_LENGTH, _AUTHORIZATION, _READ = range(4)
_OWN_NAMES = frozenset({b"content-type", b"content-length", b"authorization"})
_UNDERSCORE = ord("_")
"""``_`` as the int a bytes holds: ``95 in name`` costs a tenth of ``b"_" in name``."""


class _HeaderKinds:
    """What :func:`_scan_headers` looks for, set up once per middleware: the kind of each
    lower-cased header name that matters (the body's framing; and, for the lone-Basic
    shortcut, ``authorization`` and every other name the authenticator reads), plus the
    names read by shape (a forwarded policy's ``_`` spellings and chain prefix)."""

    __slots__ = ("kinds", "prefix", "underscore")

    def __init__(self, lone_basic: LoneBasicReads | None) -> None:
        kinds = {b"content-type": _CONTENT_TYPE, b"content-length": _CONTENT_LENGTH}
        self.underscore = False
        self.prefix: bytes | None = None
        if lone_basic is not None and not lone_basic[0] & _OWN_NAMES:
            # (A secret or forwarded header configured as Content-Type, Content-Length or
            # Authorization is read two ways: no shortcut then.)
            reads, self.underscore, self.prefix = lone_basic
            kinds.update(dict.fromkeys(reads, _READ))
            kinds[b"authorization"] = _AUTHORIZATION
        self.kinds = kinds


def _scan_headers(
    headers: Iterable[tuple[bytes, bytes]], looked_for: _HeaderKinds
) -> tuple[list[str], list[str], bytes | None]:
    """Every Content-Type and every Content-Length value, in one pass over the headers; and,
    when the lone-Basic shortcut is on (``looked_for`` built from what
    :attr:`Authenticator._lone_basic_reads` says the authenticator reads), the value of the
    request's Authorization header if it is the only header the authenticator reads -- else
    ``None``.

    Names are compared case-insensitively (servers lower-case them, the ASGI spec does not
    promise it). A name that is not ``bytes``, an Authorization value that is not ``bytes``,
    or more than :data:`~clientauth.request.MAX_HEADERS` pairs, leave the request to the
    general path. (A loop with a dictionary lookup per name: set operations over the names
    were measured slower for 2 to 15 headers.)"""
    types: list[str] = []
    lengths: list[str] = []
    kinds, underscore, prefix = looked_for.kinds, looked_for.underscore, looked_for.prefix
    authorization: bytes | None = None
    lone = type(headers) is list and len(headers) <= MAX_HEADERS
    try:
        for key, value in headers:
            name = key.lower()
            kind = kinds.get(name)
            if kind is None:
                # A name read by its shape, or one that may be another spelling of a read
                # name (a str where the server passes bytes): not a lone Basic header.
                if lone and (
                    type(key) is not bytes
                    or (underscore and _UNDERSCORE in name)
                    or (prefix is not None and name.startswith(prefix))
                ):
                    lone = False
            elif kind == _CONTENT_TYPE:
                types.append(value.decode("latin-1"))
            elif kind == _CONTENT_LENGTH:
                lengths.append(value.decode("latin-1"))
            elif kind == _AUTHORIZATION and authorization is None and type(value) is bytes:
                authorization = value
            else:  # a second Authorization header, or another name the authenticator reads
                lone = False
    except (AttributeError, TypeError, ValueError):
        # What a server never passes; request_from_scope words the same refusal.
        raise ConfigurationError("headers must be (name, value) pairs of str or bytes") from None
    return types, lengths, authorization if lone else None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or ``None`` once it exceeds ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect: nothing more will come
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that first gives the application the body we consumed, then defers to the
    server's (which reports the disconnect)."""
    done = False

    async def replay() -> Message:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _respond(send: Send, response: ErrorResponse) -> None:
    status, headers, body = response
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
