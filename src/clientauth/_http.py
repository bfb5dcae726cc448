"""What the ASGI and WSGI adapters share: which requests to guard, how to read the form,
and the RFC 6749 section 5.2 error response.

No web framework is imported here or anywhere below the adapters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, unquote_plus, unquote_to_bytes

from .exceptions import ConfigurationError, CredentialsError
from .result import AuthResult

__all__ = [
    "CREDENTIAL_PARAMETERS",
    "DEFAULT_MAX_BODY_SIZE",
    "MAX_FORM_FIELDS",
    "MULTIPART_CREDENTIALS",
    "REGISTRY_RETRY_AFTER",
    "UNAVAILABLE_BODY",
    "ErrorResponse",
    "PathMatcher",
    "check_adapter_settings",
    "content_length",
    "error_response",
    "is_form",
    "is_multipart",
    "mentions_credentials",
    "parse_form",
    "parse_query",
    "read_form",
    "registry_unavailable_response",
    "token_error_response",
]

DEFAULT_MAX_BODY_SIZE = 64 * 1024
"""Largest form body the adapters buffer to look for ``client_id`` / ``client_secret``; a
larger form body on a guarded path is answered 413. Token requests are a few hundred bytes."""

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
    """Which requests are guarded: all (``paths=None``) or those under given path prefixes.

    A prefix is written as the route path the wrapped application's router sees. The adapter
    cannot know which leading segments the routers around and inside it strip (a Starlette
    ``Mount``, FastAPI ``APIRouter(prefix=...)``, the server's ``root_path``, WSGI
    ``SCRIPT_NAME``, Werkzeug's ``DispatcherMiddleware``, Django's ``FORCE_SCRIPT_NAME``), nor
    how a router normalises a path, so it fails closed: a request is guarded when *any*
    plausible reading of its path holds the prefix's segments at a segment boundary -- the
    decoded path, the raw path, the root path or script name joined to it, percent-decoded
    again, with ``//``, ``.``, ``..``, ``;params`` and ``\\`` resolved, compared
    case-insensitively. ``/token`` therefore guards ``/token``, ``/token/x``, ``/oauth/token``
    and ``/TOKEN/``, never ``/tokens``. A path that cannot be read at all is guarded.
    """

    __slots__ = ("_all", "_needles", "_prefixes")

    def __init__(self, paths: Iterable[str] | None) -> None:
        self._needles: tuple[str, ...] = ()
        self._all = True
        if paths is None:
            self._prefixes: tuple[tuple[str, ...], ...] | None = None
            return
        if isinstance(paths, str):
            raise ConfigurationError("paths must be a list of path prefixes, not one string")
        self._prefixes = tuple(_prefix_segments(p) for p in paths)
        self._all = () in self._prefixes
        # The fast path's form of each prefix: its segments between slashes, "/a/b/".
        self._needles = tuple("/" + "/".join(prefix) + "/" for prefix in self._prefixes)

    @property
    def guards_all(self) -> bool:
        return self._all

    def __call__(self, *paths: object) -> bool:
        """Whether any of ``paths`` (readings of one request's path) is guarded."""
        return self._check(paths, fast=True)

    def _check(self, paths: Iterable[object], *, fast: bool) -> bool:
        """:meth:`__call__`; ``fast=False`` skips the plain-path fast path (for its tests)."""
        if self._prefixes is None:
            return True
        for path in paths:
            if fast and isinstance(path, str) and _plain(path):
                # A plain path's one reading is its lower-cased segments (_path_readings).
                if self._plain_match(path.lower() + "/"):
                    return True
                continue
            if not isinstance(path, str) or len(path) > _MAX_PATH_LENGTH:
                return True  # cannot be read (whole): fail closed
            readings = _path_readings(path)
            if readings is None or any(self._matches(segments) for segments in readings):
                return True
        return False

    def guards_scope(self, scope: Mapping[str, Any]) -> bool:
        """Whether an ASGI request is guarded: ``path`` and ``raw_path``, each alone and under
        ``root_path`` (servers differ on whether ``path`` already starts with it)."""
        if self._all:
            return True
        fast = self._fast_scope(scope)
        return self._full_scope(scope) if fast is None else fast

    def _fast_scope(self, scope: Mapping[str, Any]) -> bool | None:
        """The decision of :meth:`_full_scope` for the common request -- plain paths (see
        :func:`_plain`), a ``raw_path`` that is the path or plain too, a plain or empty
        ``root_path`` -- at a fraction of its cost; ``None`` for any other request.

        A plain path has a single reading: its lower-cased segments. A prefix's segments
        occur in a row in it exactly when ``"/a/b/"`` is a substring of the path with a
        slash appended; under ``root_path`` the reading is the root's segments followed by
        the path's. tests/test_path_guard_fast.py checks the equivalence on generated
        requests.
        """
        path = scope.get("path")
        if not isinstance(path, str) or not _plain(path):
            return None
        raw = scope.get("raw_path")
        raw_path = path
        if raw is not None:
            if not isinstance(raw, bytes):
                return None
            raw_path = raw.decode("latin-1")
            if "?" in raw_path:
                raw_path = raw_path.partition("?")[0]
            if raw_path != path and not _plain(raw_path):
                return None
        root = scope.get("root_path") or ""
        if root and (not isinstance(root, str) or not _plain(root)):
            return None
        if raw_path == path and not root:
            return self._plain_match(path.lower() + "/")
        readings = [path.lower()]
        if raw_path != path:
            readings.append(raw_path.lower())
        if root:
            base = root.lower().rstrip("/")
            readings += [base + reading for reading in readings]
        # One haystack for every reading, each followed by "/": no needle holds "//", so no
        # match can span two readings.
        return self._plain_match("/".join(readings) + "/")

    def _plain_match(self, text: str) -> bool:
        """Whether ``text`` (lower-cased plain readings, each followed by ``/``) holds a
        prefix's segments in a row."""
        # A plain loop: half the cost of any() over a generator or map, on every request.
        for needle in self._needles:  # noqa: SIM110
            if needle in text:
                return True
        return False

    def _full_scope(self, scope: Mapping[str, Any], *, fast: bool = True) -> bool:
        path = scope.get("path")
        root = scope.get("root_path") or ""
        raw = scope.get("raw_path")
        if not isinstance(path, str) or not isinstance(root, str):
            return True
        readings = {path}
        if raw is not None:
            if not isinstance(raw, bytes):
                return True
            readings.add(raw.decode("latin-1").partition("?")[0])
        if root:
            readings |= {root + "/" + reading for reading in readings}
        return self._check(readings, fast=fast)

    def guards_environ(self, environ: Mapping[str, Any]) -> bool:
        """Whether a WSGI request is guarded: ``SCRIPT_NAME`` + ``PATH_INFO`` (what WSGI routers
        and dispatchers split), and the raw request target servers keep (``REQUEST_URI``,
        ``RAW_URI``)."""
        if self._all:
            return True
        return self._full_environ(environ, fast=True)

    def _full_environ(self, environ: Mapping[str, Any], *, fast: bool) -> bool:
        script = environ.get("SCRIPT_NAME") or ""
        path = environ.get("PATH_INFO") or ""
        if not isinstance(script, str) or not isinstance(path, str):
            return True
        if fast and script and _plain(script) and _plain(path):
            # SCRIPT_NAME + "/" + PATH_INFO has an empty segment the matcher drops; joined
            # without it, the reading stays plain (and cheap) with the same segments.
            path, script = script.rstrip("/") + path, ""
        readings: list[object] = [script + "/" + path if script else path]
        for key in ("REQUEST_URI", "RAW_URI"):
            raw = environ.get(key)
            if raw is not None:
                reading = raw.partition("?")[0] if isinstance(raw, str) else raw
                if reading not in readings:  # the same text decides the same way
                    readings.append(reading)
        return self._check(readings, fast=fast)

    def _matches(self, segments: tuple[str, ...]) -> bool:
        count = len(segments)
        for prefix in self._prefixes or ():
            size = len(prefix)
            if not size:
                return True
            first = prefix[0]
            for i in range(count - size + 1):
                if segments[i] == first and segments[i:i + size] == prefix:
                    return True
        return False


# Characters that would make a configured prefix mean different things to different routers.
_UNSAFE_PREFIX_CHARS = frozenset("%?#;\\")
# Percent-decoding rounds tried on a request path: a router (or an app) may decode again.
_PATH_DECODE_ROUNDS = 3
_MAX_PATH_LENGTH = 16 * 1024
"""A longer path is guarded without being read (servers refuse far shorter request lines)."""
_PLAIN_PATH_EXCEPTIONS = (".", ";", "\\", "%")


def _plain(text: str) -> bool:
    """Whether ``text`` is a path with a single reading: ASCII, starting with ``/``, within
    the length limit, and without anything a router decodes, resolves or strips (``%``,
    ``//``, ``/.``, ``;``, ``\\``). The path guard's fast path takes only these."""
    return (
        text[:1] == "/"
        and len(text) <= _MAX_PATH_LENGTH
        and text.isascii()
        and "%" not in text
        and "//" not in text
        and "/." not in text
        and ";" not in text
        and "\\" not in text
    )


def _prefix_segments(prefix: object) -> tuple[str, ...]:
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        raise ConfigurationError(f"path prefix {prefix!r} must be a str starting with '/'")
    if not prefix.isascii() or not prefix.isprintable() or any(
        c.isspace() or c in _UNSAFE_PREFIX_CHARS for c in prefix
    ):
        raise ConfigurationError(
            f"path prefix {prefix!r}: use plain ASCII route segments, without spaces, "
            "'%', '?', '#', ';' or '\\' (they are matched against the decoded path)"
        )
    segments = prefix.strip("/").split("/") if prefix.strip("/") else []
    if any(seg in ("", ".", "..") for seg in segments):
        raise ConfigurationError(
            f"path prefix {prefix!r}: no empty, '.' or '..' segments (a router may resolve them)"
        )
    # "/token/" and "/token" guard the same requests: a router may redirect one to the other.
    return tuple(seg.casefold() for seg in segments)


def _path_readings(path: str) -> set[tuple[str, ...]] | None:
    """The segment lists a router might see for ``path`` (see :class:`PathMatcher`), or
    ``None`` when it still decodes after the rounds tried (then it is guarded)."""
    texts = {path}
    current = path
    if not current.isascii():
        # WSGI paths are ISO-8859-1 text of the raw bytes; Django and Werkzeug decode UTF-8.
        texts.add(current.encode("latin-1", "replace").decode("utf-8", "replace"))
    for _ in range(_PATH_DECODE_ROUNDS):
        if "%" not in current:
            break
        current = unquote(current, errors="replace")
        texts.add(current)
    if "%" in current and unquote(current, errors="replace") != current:
        return None
    readings: set[tuple[str, ...]] = set()
    for text in texts:
        if text.isascii() and not any(c in text for c in _PLAIN_PATH_EXCEPTIONS):
            # The common case: nothing to resolve, only lower-case and split.
            readings.add(tuple(seg for seg in text.lower().split("/") if seg))
            continue
        kept: list[str] = []
        resolved: list[str] = []
        for raw in text.replace("\\", "/").casefold().split("/"):
            segment = raw.partition(";")[0]  # RFC 3986 3.3 path parameters
            if segment in ("", "."):
                continue
            kept.append(segment)
            if segment == "..":
                if resolved:
                    resolved.pop()
            else:
                resolved.append(segment)
        readings.add(tuple(kept))
        readings.add(tuple(resolved))
    return readings


# Werkzeug also parses "application/x-url-encoded" as a urlencoded form.
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "application/x-url-encoded"})


def is_form(content_type: str | None) -> bool:
    """Whether the body is ``application/x-www-form-urlencoded`` (RFC 6749 2.3.1 post), or a
    type a framework parses as one."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in _FORM_TYPES


def is_multipart(content_type: str | None) -> bool:
    """Whether the body is ``multipart/*``, which frameworks parse into the same form."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower().startswith("multipart/")


_CREDENTIAL_NAMES = (b"client_id", b"client_secret", b"client_assertion")
# RFC 2231 extended / continued parameters (name*=, name*0=) and RFC 2047 encoded words can
# spell a part's name in pieces no byte scan sees whole.
_ENCODED_PARAMETER = re.compile(rb"\*\s*=|\*\d+\*?\s*=|=\?")


def mentions_credentials(body: bytes) -> bool:
    """Whether a multipart body could carry a credential parameter under some framework's
    reading. clientauth does not parse multipart (RFC 6749 2.3.1 token requests are
    form-urlencoded), so a body that might is refused rather than half-read: any spelling of a
    credential name anywhere (case, backslash escapes, percent or ``=XX`` encoding), or an
    encoded parameter in a ``Content-Disposition`` line."""
    text = body.lower().replace(b"\\", b"")
    readings = (text, unquote_to_bytes(text), unquote_to_bytes(text.replace(b"=", b"%")))
    if any(name in reading for reading in readings for name in _CREDENTIAL_NAMES):
        return True
    lines = text.split(b"\n")
    for i, line in enumerate(lines):
        if b"content-disposition" in line:
            # obs-fold: a continuation line starts with white space
            following = lines[i + 1] if i + 1 < len(lines) else b""
            header = line + (following if following[:1] in (b" ", b"\t") else b"")
            if _ENCODED_PARAMETER.search(header):
                return True
    return False


CREDENTIAL_PARAMETERS = frozenset(
    {"client_id", "client_secret", "client_assertion", "client_assertion_type"}
)
"""Form / query parameters that identify or authenticate a client (RFC 6749 2.3.1, RFC 7521
4.2): every reading of a body any framework makes must agree on them."""

MAX_FORM_FIELDS = 1000
"""Most fields a form body or query string may have; more is refused (``invalid_request``).
Starlette's and Django's own defaults are 1000: beyond, they refuse too."""

# Charsets under which an ASCII-only body reads the same as under UTF-8. Django decodes a
# form with the Content-Type charset; Starlette and Werkzeug ignore it.
_ASCII_COMPATIBLE = frozenset(
    {"ascii", "us-ascii", "iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1",
     "iso-8859-15", "windows-1252", "cp1252"}
)
_UTF8 = frozenset({"utf-8", "utf8"})
_BOM = b"\xef\xbb\xbf"


def parse_form(body: bytes, content_type: str | None = None) -> dict[str, list[str]]:
    """The fields of an ``application/x-www-form-urlencoded`` body, read the way every framework
    the adapters sit under reads it, or :class:`~clientauth.CredentialsError` when some
    framework could read it differently (the request is then refused, never treated as
    having no form).

    RFC 6749 Appendix B: UTF-8, ``+`` is a space, fields split on ``&``. Refused: invalid UTF-8
    (raw or percent-encoded: frameworks replace or fall back to ISO-8859-1, each its own way),
    unescaped non-ASCII in a credential parameter (Starlette reads it as ISO-8859-1, the
    others as UTF-8), a leading BOM, more than :data:`MAX_FORM_FIELDS` fields, a ``;`` near a
    credential parameter (older python-multipart releases, under Starlette, split on ``;``
    too), and a charset other than UTF-8 unless the body is ASCII under an ASCII-compatible
    one (Django decodes with it).
    """
    charset = _form_charset(content_type)
    if body.startswith(_BOM):
        raise _unreadable("form body starts with a byte order mark")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _unreadable("form body is not UTF-8") from None
    fields = [f for f in text.split("&") if f]
    if len(fields) > MAX_FORM_FIELDS:
        raise _unreadable(f"form body has more than {MAX_FORM_FIELDS} fields")
    result: dict[str, list[str]] = {}
    for field in fields:
        raw_name, _, raw_value = field.partition("=")
        try:
            name = unquote_plus(raw_name, errors="strict")
            value = unquote_plus(raw_value, errors="strict")
        except UnicodeDecodeError:
            raise _unreadable("form field is not UTF-8") from None
        if name in CREDENTIAL_PARAMETERS and not raw_value.isascii():
            # Raw (unescaped) non-ASCII bytes: Starlette reads them as ISO-8859-1, Werkzeug
            # and Django as UTF-8 -- the application's value depends on the framework.
            raise _unreadable(f"unescaped non-ASCII bytes in {name}")
        if ";" in field and (name in CREDENTIAL_PARAMETERS or any(
            unquote_plus(piece.partition("=")[0]) in CREDENTIAL_PARAMETERS
            for piece in field.split(";")
        )):
            raise _unreadable("';' inside or before a credential parameter")
        if charset not in _UTF8 and not (name.isascii() and value.isascii()):
            raise _unreadable(f"non-ASCII form body with charset {charset!r}")
        result.setdefault(name, []).append(value)
    return result


def read_form(
    body: bytes, content_type: str
) -> tuple[dict[str, list[str]] | None, str | None]:
    """What the adapters take from a body they buffered: ``(form, None)`` for a readable
    urlencoded form, ``(None, reason)`` for a body the application could read differently
    (the request is then refused), ``(None, None)`` for a multipart body without credentials."""
    if is_multipart(content_type):
        return None, MULTIPART_CREDENTIALS if mentions_credentials(body) else None
    try:
        return parse_form(body, content_type), None
    except CredentialsError as exc:
        return None, exc.reason


def parse_query(query: str | bytes) -> dict[str, list[str]]:
    """A query string's parameters, with the rules of :func:`parse_form` (only read when an
    authenticator opts in to credentials in the query)."""
    raw = query if isinstance(query, bytes) else query.encode("latin-1", "replace")
    return parse_form(raw)


def _form_charset(content_type: str | None) -> str:
    charset = "utf-8"
    if not content_type:
        return charset
    seen = False
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() != "charset":
            continue
        if seen:
            raise _unreadable("form Content-Type names two charsets")
        seen = True
        charset = value.strip().strip('"').strip().lower()
        if charset not in _UTF8 and charset not in _ASCII_COMPATIBLE:
            raise _unreadable("form Content-Type names a charset other than UTF-8")
    return charset


MULTIPART_CREDENTIALS = "credential parameters in a multipart body (only form-urlencoded is read)"


def _unreadable(message: str) -> CredentialsError:
    return CredentialsError(message)


def content_length(values: Sequence[str]) -> int | None:
    """The body length a request announces: ``None`` without a ``Content-Length``; ValueError
    for a negative, non-numeric, or repeated one (RFC 9110 8.6: ``1*DIGIT``; a list of values
    is how a smuggled second length arrives). Whoever reads the body must still stop at its
    own cap."""
    if not values:
        return None
    if len(values) > 1 or "," in values[0]:
        raise ValueError("more than one Content-Length")
    text = values[0].strip(" \t")
    if not text or not text.isascii() or not text.isdigit():
        raise ValueError("Content-Length is not a non-negative integer")
    return int(text)


def error_response(result: AuthResult, *, realm: str) -> ErrorResponse:
    """Status, headers and JSON body for a failed result (RFC 6749 5.2)."""
    error = result.error or "invalid_client"
    status = 400 if error == "invalid_request" else 401
    headers = [
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        ("pragma", "no-cache"),
    ]
    if status == 401:
        # RFC 9110 15.5.2: a 401 MUST carry a challenge. RFC 6749 5.2 asks for the scheme
        # the client tried when it used the Authorization header; otherwise the challenge
        # names Basic, the one HTTP scheme a token endpoint must support (RFC 6749 2.3.1).
        # Certificate methods (RFC 8705) and form secrets have no HTTP scheme of their own;
        # they get the same challenge and the 401 that RFC 6749 5.2 allows for
        # invalid_client (docs/frameworks.md, "Error responses").
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


REGISTRY_RETRY_AFTER = 5
"""Seconds a client is asked to wait (``Retry-After``) when the registry cannot be read: a
database restart or fail-over takes seconds, and clients retrying at once would only add load."""

UNAVAILABLE_BODY: Mapping[str, str] = MappingProxyType({
    "error": "temporarily_unavailable",
    "error_description": "The client registry is temporarily unavailable. Retry later.",
})
"""The fixed body of the 503 answered for :class:`~clientauth.RegistryUnavailable`. The code is
RFC 6749 4.1.2.1's ``temporarily_unavailable`` (defined for the authorization endpoint; the
token endpoint's 5.2 list has no code for a server fault). It never names the client, the
registry or the database error."""


def registry_unavailable_response() -> ErrorResponse:
    """503 for a request whose client could not be looked up (RFC 9110 15.6.4: the server is
    temporarily unable to handle it; ``Retry-After`` per 10.2.3)."""
    headers = [
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        ("pragma", "no-cache"),
        ("retry-after", str(REGISTRY_RETRY_AFTER)),
    ]
    return 503, headers, json.dumps(dict(UNAVAILABLE_BODY)).encode()


def payload_too_large() -> ErrorResponse:
    body = json.dumps(
        {"error": "invalid_request", "error_description": "Request body too large."}
    ).encode()
    # No "Connection: close" here: it is hop-by-hop, which WSGI forbids applications to set;
    # the ASGI adapter adds it (the unread rest of the body makes the connection unusable).
    return 413, [("content-type", "application/json")], body


def check_adapter_settings(
    authenticator: object, max_body_size: object, on_error: object, *, expected: type
) -> None:
    """The settings both adapters share, validated eagerly (docs/design.md, "Settings
    validated eagerly"). ``expected`` is :class:`~clientauth.Authenticator`, passed in by the
    adapters above it: this module sits below the authenticator and does not import it."""
    if not isinstance(authenticator, expected):
        raise ConfigurationError("authenticator must be a clientauth.Authenticator")
    if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 1:
        raise ConfigurationError("max_body_size must be a positive integer")
    if on_error is not None and not callable(on_error):
        raise ConfigurationError("on_error must be callable")


def check_realm(realm: str) -> str:
    if not isinstance(realm, str) or '"' in realm or "\\" in realm or not realm.isprintable():
        raise ConfigurationError("realm must be printable text without quotes or backslashes")
    return realm
