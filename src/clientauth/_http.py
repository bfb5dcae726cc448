"""What the ASGI and WSGI adapters share: which requests to guard, how to read the form,
and the RFC 6749 section 5.2 error response.

No web framework is imported here or anywhere below the adapters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import parse_qs

from .exceptions import ConfigurationError
from .result import AuthResult

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "ErrorResponse",
    "PathMatcher",
    "check_adapter_settings",
    "error_response",
    "is_form",
    "parse_form",
    "token_error_response",
]

DEFAULT_MAX_BODY_SIZE = 64 * 1024
"""Largest form body the adapters buffer to look for ``client_id`` / ``client_secret``; a
larger form body on a guarded path is answered 413. Token requests are a few hundred bytes."""

_MAX_FORM_FIELDS = 100

# RFC 6749 5.2 error_description is shown to the caller: fixed phrases only. The result's
# `detail` (which may name a client id or a certificate) is for logs, never for the response:
# "no client 'x'" vs "wrong secret for 'x'" would let anyone enumerate client ids.
_DESCRIPTIONS = {
    "invalid_request": "The request carries malformed or more than one set of client credentials.",
    "invalid_client": "Client authentication failed.",
    "unauthorized_client": "The client is not authorized for this request.",
}

ErrorResponse = tuple[int, list[tuple[str, str]], bytes]


class PathMatcher:
    """Which request paths are guarded: all (``paths=None``) or those under given prefixes."""

    __slots__ = ("_prefixes",)

    def __init__(self, paths: Iterable[str] | None) -> None:
        if paths is None:
            self._prefixes: tuple[str, ...] | None = None
            return
        if isinstance(paths, str):
            raise ConfigurationError("paths must be a list of path prefixes, not one string")
        prefixes = tuple(paths)
        for p in prefixes:
            if not isinstance(p, str) or not p.startswith("/"):
                raise ConfigurationError(f"path prefix {p!r} must start with '/'")
        self._prefixes = prefixes

    def __call__(self, path: str) -> bool:
        if self._prefixes is None:
            return True
        for prefix in self._prefixes:
            # "/token" guards "/token" and "/token/x", not "/tokens".
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return True
        return False


def is_form(content_type: str | None) -> bool:
    """Whether the body is ``application/x-www-form-urlencoded`` (RFC 6749 2.3.1 post)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


def parse_form(body: bytes) -> dict[str, list[str]] | None:
    """Form fields of a body, or ``None`` when it is not valid UTF-8 form encoding (the
    authenticator then sees no form credentials; a secret never gets half-parsed)."""
    try:
        text = body.decode("utf-8")
        return parse_qs(
            text, keep_blank_values=True, strict_parsing=False, errors="strict",
            max_num_fields=_MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        return None


def error_response(result: AuthResult, *, realm: str) -> ErrorResponse:
    """Status, headers and JSON body for a failed result (RFC 6749 5.2)."""
    error = result.error or "invalid_client"
    status = 400 if error == "invalid_request" else 401
    headers = [
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        ("pragma", "no-cache"),
    ]
    # RFC 6749 5.2: a client that tried the Authorization header gets 401 with a
    # WWW-Authenticate challenge for the scheme it used.
    if status == 401 and result.source == "authorization":
        headers.append(("www-authenticate", f'Basic realm="{realm}"'))
    body = json.dumps({"error": error, "error_description": _DESCRIPTIONS[error]}).encode()
    return status, headers, body


def token_error_response(
    *, realm: str, status: int, error: str | None, description: str
) -> ErrorResponse:
    """RFC 6750 section 3: a Bearer challenge; without ``error`` when no token was sent."""
    # The description goes inside a quoted-string: keep it to printable ASCII, no quotes.
    desc = "".join(c for c in description if c.isascii() and c.isprintable() and c not in '"\\')
    desc = desc[:200]
    challenge = f'Bearer realm="{realm}"'
    if error:
        challenge += f', error="{error}", error_description="{desc}"'
    headers = [
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        ("www-authenticate", challenge),
    ]
    payload = {"error": error, "error_description": desc} if error else {}
    return status, headers, json.dumps(payload).encode()


def payload_too_large() -> ErrorResponse:
    body = json.dumps(
        {"error": "invalid_request", "error_description": "Request body too large."}
    ).encode()
    # No "Connection: close" here: it is hop-by-hop, which WSGI forbids applications to set;
    # the ASGI adapter adds it (the unread rest of the body makes the connection unusable).
    return 413, [("content-type", "application/json")], body


def check_adapter_settings(authenticator: object, max_body_size: object, on_error: object) -> None:
    """The settings both adapters share, validated eagerly (STYLE.md 2)."""
    from .authenticator import Authenticator  # noqa: PLC0415 - _http sits below it

    if not isinstance(authenticator, Authenticator):
        raise ConfigurationError("authenticator must be a clientauth.Authenticator")
    if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 1:
        raise ConfigurationError("max_body_size must be a positive integer")
    if on_error is not None and not callable(on_error):
        raise ConfigurationError("on_error must be callable")


def check_realm(realm: str) -> str:
    if not isinstance(realm, str) or '"' in realm or "\\" in realm or not realm.isprintable():
        raise ConfigurationError("realm must be printable text without quotes or backslashes")
    return realm
