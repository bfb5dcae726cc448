"""The framework-neutral request, and extraction of the credentials it carries.

Adapters (ASGI, WSGI, frameworks) build a :class:`ClientRequest`; :func:`extract_credentials`
finds the client id and secret in it. Extraction is pure: it decides nothing about whether
the client exists or the secret is right.
"""

from __future__ import annotations

import binascii
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote_plus

from ._frozen import as_class, layout_of
from ._x509 import MAX_CHAIN_LENGTH, CertificateLike
from .exceptions import ConfigurationError, CredentialsError
from .result import AuthMethod, Failure
from .secret import MAX_SECRET_LENGTH

__all__ = [
    "JWT_BEARER",
    "MAX_CLIENT_ID_LENGTH",
    "MAX_HEADERS",
    "MAX_HEADER_VALUE_LENGTH",
    "ClientRequest",
    "CredentialOptions",
    "Presented",
    "extract_credentials",
    "parse_basic_authorization",
]

MAX_HEADER_VALUE_LENGTH = 16 * 1024
"""Longest Authorization / id / secret header value examined, in characters."""

MAX_HEADERS = 1000
"""Most header fields a :class:`ClientRequest` reads; a request with more is refused
(``unreadable``). Servers bound header sizes too; this bounds the count."""

MAX_CLIENT_ID_LENGTH = 1024
"""Longest client_id accepted, in characters: in a request, and at registration
(:mod:`clientauth.clients` uses this one definition)."""

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
"""The ``client_assertion_type`` of a JWT client assertion (RFC 7523 2.2)."""

FormValue = str | Sequence[str]


@dataclasses.dataclass(frozen=True, slots=True, init=False)
class ClientRequest:
    """What clientauth needs to know about one HTTP request.

    ``headers`` are ``(name, value)`` pairs as ``str`` or ``bytes`` (bytes are read as
    ISO-8859-1, the HTTP wire charset); names are case-insensitive and repeats are kept.
    ``form`` maps a body parameter to a ``str`` or a sequence of ``str`` (a parameter given
    twice is malformed, RFC 6749 3.2); ``query`` likewise for the query string. ``peer`` is the
    address of the immediate peer (the proxy, when there is one). ``tls_chain`` is the chain
    the TLS server saw, leaf first: ``x509.Certificate``, DER ``bytes``, or PEM.

    ``unreadable`` says why part of the request could not be read within clientauth's limits
    (set by an adapter -- a form body or query string it could not decode as the application
    would -- or here: more than :data:`MAX_HEADERS` header fields, a TLS chain longer than
    ``MAX_CHAIN_LENGTH``). Such a request is refused whatever else it carries
    (``invalid_request``), and it keeps no headers, form, query or chain, so that nothing
    reads half of it. What a client sends never raises here; wrong *types* are a
    programmer's error and raise :class:`~clientauth.ConfigurationError`.
    """

    headers: tuple[tuple[str, str], ...]
    form: Mapping[str, FormValue] | None
    query: Mapping[str, FormValue] | None
    peer: str | None
    tls_chain: tuple[CertificateLike, ...]
    unreadable: str | None

    def __init__(
        self,
        headers: Iterable[tuple[str | bytes, str | bytes]] = (),
        *,
        form: Mapping[str, FormValue] | None = None,
        query: Mapping[str, FormValue] | None = None,
        peer: str | None = None,
        tls_chain: Iterable[CertificateLike] = (),
        unreadable: str | None = None,
    ) -> None:
        if unreadable is not None and (not isinstance(unreadable, str) or not unreadable):
            raise ConfigurationError("unreadable must be a non-empty reason or None")
        pairs, unreadable = _read_headers(headers, unreadable)
        if form is not None and not isinstance(form, Mapping):
            raise ConfigurationError("form must be a mapping of name to str")
        if query is not None and not isinstance(query, Mapping):
            raise ConfigurationError("query must be a mapping of name to str")
        if peer is not None and not isinstance(peer, str):
            raise ConfigurationError("peer must be an address string or None")
        chain: tuple[CertificateLike, ...]
        if type(tls_chain) is tuple:  # the default, or an adapter's: already immutable
            chain = tls_chain
        elif isinstance(tls_chain, str | bytes):
            chain = (tls_chain,)
        else:
            try:
                chain = tuple(tls_chain)
            except TypeError:
                raise ConfigurationError("tls_chain must be a sequence of certificates") from None
        unreadable = _chain_limit(chain, unreadable)
        if unreadable is not None:
            pairs, form, query, chain = [], None, None, ()
        assign = object.__setattr__  # frozen: every field is set through object's setattr
        assign(self, "headers", tuple(pairs))
        assign(self, "form", None if form is None else MappingProxyType(dict(form)))
        assign(self, "query", None if query is None else MappingProxyType(dict(query)))
        assign(self, "peer", peer)
        assign(self, "tls_chain", chain)
        assign(self, "unreadable", unreadable)

    @classmethod
    def _from_server(  # noqa: PLR0917 - the fields, in order
        cls,
        headers: Iterable[tuple[bytes, bytes]],
        form: dict[str, list[str]] | None,
        query: dict[str, list[str]] | None,
        peer: str | None,
        tls_chain: tuple[CertificateLike, ...],
        unreadable: str | None,
    ) -> ClientRequest:
        """What the constructor builds, for an adapter whose arguments already have the
        right types (``form``/``query`` fresh dicts nobody else holds, ``tls_chain`` a
        tuple): the same header reading and limits, without the type checks and the frozen
        ``__init__``'s per-field cost (:mod:`clientauth._frozen`; issue 18)."""
        pairs, unreadable = _read_headers(headers, unreadable)
        unreadable = _chain_limit(tls_chain, unreadable)
        request = _RequestLayout()
        if unreadable is not None:
            pairs, form, query, tls_chain = [], None, None, ()
        request.headers = tuple(pairs)
        request.form = None if form is None else MappingProxyType(form)
        request.query = None if query is None else MappingProxyType(query)
        request.peer, request.tls_chain, request.unreadable = peer, tls_chain, unreadable
        return as_class(request, cls)

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in order."""
        lname = name.lower()
        return [v for n, v in self.headers if n == lname]

    def __repr__(self) -> str:
        # Header values, form and query may hold secrets: show names only.
        names = sorted({n for n, _ in self.headers})
        return (
            f"ClientRequest(headers={names}, form={sorted(self.form or ())}, "
            f"query={sorted(self.query or ())}, peer={self.peer!r}, "
            f"tls_chain=<{len(self.tls_chain)} certificates>, unreadable={self.unreadable!r})"
        )


_RequestLayout: Any = layout_of(ClientRequest)


def _read_headers(
    headers: Iterable[tuple[str | bytes, str | bytes]], unreadable: str | None
) -> tuple[list[tuple[str, str]], str | None]:
    """Header pairs as ``(lowercase name, value)`` text, at most :data:`MAX_HEADERS` of them
    (more make the request ``unreadable``); a pair of other types is a programmer's error."""
    pairs: list[tuple[str, str]] = []
    append = pairs.append
    try:
        for name, value in headers:
            if len(pairs) == MAX_HEADERS:
                # A client can send any number of fields; a limit it crosses is a refused
                # request, never a configuration error (and never a 500).
                unreadable = unreadable or f"more than {MAX_HEADERS} header fields"
                break
            # Built once per request by every adapter: the common types are inlined.
            if type(name) is bytes:
                name = name.decode("latin-1")  # noqa: PLW2901
            elif type(name) is not str:
                name = _header_text(name)  # noqa: PLW2901
            if type(value) is bytes:
                value = value.decode("latin-1")  # noqa: PLW2901
            elif type(value) is not str:
                value = _header_text(value)  # noqa: PLW2901
            append((name.lower(), value))
    except (TypeError, ValueError):
        raise ConfigurationError(
            "headers must be (name, value) pairs of str or bytes"
        ) from None
    return pairs, unreadable


def _chain_limit(chain: tuple[CertificateLike, ...], unreadable: str | None) -> str | None:
    """``unreadable``, or why a TLS chain longer than ``MAX_CHAIN_LENGTH`` makes the request
    unreadable: the server (or mod_wsgi's SSL_CLIENT_CERT_CHAIN_n) relays what the client
    sent."""
    if unreadable is None and len(chain) > MAX_CHAIN_LENGTH:
        return f"the TLS client chain has more than {MAX_CHAIN_LENGTH} certificates"
    return unreadable


def _header_text(value: str | bytes) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    raise TypeError


@dataclasses.dataclass(frozen=True, slots=True)
class CredentialOptions:
    """Where :func:`extract_credentials` looks. Header names are case-insensitive."""

    id_header: str | None = "client_id"
    secret_header: str | None = "client_secret"
    allow_query: bool = False
    header_names: tuple[str | None, str | None] = dataclasses.field(
        init=False, repr=False, compare=False
    )
    """The id and secret header names, lower-cased (``None`` when disabled)."""

    def __post_init__(self) -> None:
        for label, value in (("id_header", self.id_header), ("secret_header", self.secret_header)):
            if value is not None and (not isinstance(value, str) or not value.strip()
                                      or not value.isascii() or not value.isprintable()):
                raise ConfigurationError(f"{label} must be a header name or None")
        if (self.id_header is None) != (self.secret_header is None):
            raise ConfigurationError("set both id_header and secret_header, or neither")
        if self.id_header is not None and self.secret_header is not None:
            if self.id_header.lower() == self.secret_header.lower():
                raise ConfigurationError("id_header and secret_header must differ")
            if self.id_header.lower() == "authorization" or (
                self.secret_header.lower() == "authorization"
            ):
                raise ConfigurationError("the Authorization header is read as Basic already")

        names: tuple[str | None, str | None] = (None, None)
        if self.id_header is not None and self.secret_header is not None:
            names = (self.id_header.lower(), self.secret_header.lower())
        object.__setattr__(self, "header_names", names)


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class Presented:
    """The credentials a request carries. ``secret`` never appears in the repr.

    ``method`` is the secret method presented (``None`` when no secret was sent);
    ``source`` where the secret -- or, without one, the client id -- was found.
    ``assertion`` is a JWT client assertion (RFC 7521 4.2, form body only), never in the
    repr; its ``client_assertion_type`` was checked here.

    Frozen, compared and hashed by value. Built per request through :meth:`_of`, which
    skips the frozen ``__init__``'s per-field cost (:mod:`clientauth._frozen`; issue 18).
    """

    client_id: str | None = None
    secret: str | None = None
    method: AuthMethod | None = None
    source: str | None = None
    assertion: str | None = None

    @classmethod
    def _of(
        cls,
        client_id: str | None,
        secret: str | None,
        method: AuthMethod | None,
        source: str | None,
        assertion: str | None = None,
    ) -> Presented:
        """``Presented(client_id, secret, method, source, assertion)``, built cheaply."""
        value = _PresentedLayout()
        value.client_id, value.secret, value.method = client_id, secret, method
        value.source, value.assertion = source, assertion
        return as_class(value, cls)

    def __repr__(self) -> str:
        # Neither the secret nor the assertion (a bearer credential): names and places only.
        return (
            f"Presented(client_id={self.client_id!r}, method={self.method!r}, "
            f"source={self.source!r})"
        )


_PresentedLayout: Any = layout_of(Presented)


def parse_basic_authorization(value: str) -> tuple[str, str]:
    """Decode an ``Authorization: Basic`` value into ``(client_id, secret)``.

    RFC 6749 2.3.1: id and secret are each form-urlencoded (Appendix B) *before* they are
    joined with ``:`` and base64-encoded, so a ``:`` or ``%`` inside either survives. Raises
    :class:`~clientauth.CredentialsError` for anything malformed; never echoes the input.
    """
    if not isinstance(value, str):
        raise CredentialsError("an Authorization value must be a str")
    if len(value) > MAX_HEADER_VALUE_LENGTH:
        raise CredentialsError("Authorization header too large")
    scheme, sep, token = value.strip(" \t").partition(" ")
    if scheme.lower() != "basic":
        raise CredentialsError("not a Basic authorization")
    token = token.strip(" \t")
    if not sep or not token:
        raise CredentialsError("Basic authorization without credentials", position=len(scheme))
    try:
        # Some clients drop the '=' padding; restore it. strict_mode accepts only the base64
        # alphabet with correct padding (what b64decode(validate=True) checks, minus a regex).
        if len(token) % 4 == 1:
            raise binascii.Error
        decoded = binascii.a2b_base64(token + "=" * (-len(token) % 4), strict_mode=True)
    except (binascii.Error, ValueError):
        raise CredentialsError("Basic credentials are not valid base64", position=6) from None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialsError("Basic credentials are not UTF-8", position=6) from None
    raw_id, colon, raw_secret = text.partition(":")
    if not colon:
        raise CredentialsError("Basic credentials lack the ':' separator", position=6)
    # application/x-www-form-urlencoded (RFC 6749 Appendix B); generated ids and secrets
    # contain neither '%' nor '+', so the common case skips the decoder.
    if "%" not in text and "+" not in text:
        return raw_id, raw_secret
    try:
        return unquote_plus(raw_id, errors="strict"), unquote_plus(raw_secret, errors="strict")
    except UnicodeDecodeError:
        raise CredentialsError("Basic credentials: percent-encoding is not UTF-8") from None


def extract_credentials(
    request: ClientRequest, options: CredentialOptions = CredentialOptions()
) -> Presented:
    """Find the client id and secret in ``request``.

    Raises :class:`~clientauth.CredentialsError` with ``kind`` set when the request is
    malformed, carries more than one secret method (RFC 6749 2.3: "MUST NOT use more than one
    authentication method in each request"), or names two different client ids.
    """
    if not isinstance(request, ClientRequest):
        raise ConfigurationError("extract_credentials() takes a ClientRequest")
    presented = basic_only(request, options)
    if presented is not None:
        return presented
    if request.unreadable is not None:
        # What the application will read, clientauth has read: a request it could not read
        # whole is refused, never authenticated on the part it could.
        raise _malformed(f"request not readable: {request.unreadable}")
    # One pass over the headers. Authorization: Basic is RFC 6749 2.3.1; other schemes
    # (Bearer, DPoP) are not client authentication and are left to the application.
    id_name, secret_name = options.header_names
    authorization: str | None = None
    hid: str | None = None
    hsecret: str | None = None
    for name, value in request.headers:
        if name == "authorization":
            if authorization is not None:
                raise _malformed("more than one Authorization header")
            authorization = value
        elif name == id_name:
            hid = _single_header(hid, value, name)
        elif name == secret_name:
            hsecret = _single_header(hsecret, value, name)
    basic: tuple[str, str] | None = None
    if authorization is not None and _auth_scheme(authorization) == "basic":
        basic = parse_basic_authorization(authorization)
    state = _Found()
    if basic is not None:
        state.secret(AuthMethod.CLIENT_SECRET_BASIC, "authorization", *basic)
    if request.form is not None:
        _collect(request.form, "form", state, assertions=True)
    if options.allow_query and request.query is not None:
        # RFC 6749 2.3.1 forbids secrets in the URI; only an explicit opt-in reads them.
        # Assertions are read from the body only (RFC 7521 4.2).
        _collect(request.query, "query", state)
    if hsecret is not None:
        state.secret(AuthMethod.CLIENT_SECRET_HEADER, "headers", hid, hsecret)
    elif hid is not None:
        state.claim(hid, "headers")
    return state.presented()


def basic_only(request: ClientRequest, options: CredentialOptions) -> Presented | None:
    """The credentials of the request nearly every confidential client sends: one
    ``Authorization: Basic`` header of plain base64, nothing else that can carry a client id
    or a secret (no form, no query read, no id/secret header) -- or ``None`` for any other
    request, which :func:`extract_credentials` then reads in full (issue 18).

    A shortcut, not a second reading: where it answers, the general path answers the same
    (``tests/test_request_presented.py`` checks both on generated headers); anything unusual
    (padding left out, percent-encoding, blanks, an empty or oversized part, a second
    Authorization header) is left to the general path, which also words the refusal.
    """
    authorization = lone_authorization(request, options)
    credentials = None if authorization is None else basic_value(authorization)
    if credentials is None:
        return None
    client_id, secret = credentials
    return Presented._of(client_id, secret, AuthMethod.CLIENT_SECRET_BASIC, "authorization")


def lone_authorization(request: ClientRequest, options: CredentialOptions) -> str | None:
    """The value of the request's ``Authorization`` header when it is the only place the
    request carries credentials (:func:`basic_only`): one such header, no id or secret
    header, no form, no query read, nothing unreadable -- else ``None``."""
    if (
        request.unreadable is not None
        or request.form is not None
        or (options.allow_query and request.query is not None)
    ):
        return None
    id_name, secret_name = options.header_names
    authorization: str | None = None
    for name, value in request.headers:
        if name == "authorization":
            if authorization is not None:
                return None
            authorization = value
        elif name in (id_name, secret_name):
            return None
    return authorization


_LONGEST_BASIC = len("Basic ") + 4 * (min(MAX_CLIENT_ID_LENGTH, MAX_SECRET_LENGTH) // 3)
"""The longest ``Authorization`` value :func:`basic_value` reads: its base64 decodes to at most
``min(MAX_CLIENT_ID_LENGTH, MAX_SECRET_LENGTH)`` bytes, so neither the id nor the secret can
be longer than allowed (each character takes at least a byte). Longer values, legal or not,
are the general path's."""


def basic_value(authorization: str) -> tuple[str, str] | None:
    """What :func:`basic_only` reads from the lone ``Authorization`` value: the client id and
    secret of a plain ``Basic`` value (padded base64 of ``id:secret``, neither part empty,
    oversized or form-encoded) -- or ``None`` for any other value, left to the general path.

    For an adapter that has found the lone Authorization header itself, in a request nothing
    else of which carries a credential (``Authenticator._lone_basic``). Declining is always
    safe, so the checks are the cheap ones: the scheme spelled ``Basic`` (other spellings are
    legal, and rare), and a value short enough (:data:`_LONGEST_BASIC`) that neither part can
    exceed its limit."""
    if len(authorization) > _LONGEST_BASIC or not authorization.startswith("Basic "):
        return None
    try:
        # strict_mode: the base64 alphabet with its padding (left out, it raises), nothing
        # else (no blanks).
        text = binascii.a2b_base64(authorization[6:], strict_mode=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    client_id, _, secret = text.partition(":")
    if (
        not secret  # also: no ':' at all
        or not client_id
        or "%" in text  # form-urlencoded parts (RFC 6749 Appendix B): the general path
        or "+" in text
        or not client_id.isprintable()
    ):
        return None
    return client_id, secret


class _Found:
    """What extraction has found so far; refuses a second method or a second client id."""

    __slots__ = ("assertion_", "client_id", "id_source", "method", "secret_", "source")

    def __init__(self) -> None:
        self.client_id: str | None = None
        self.id_source: str | None = None
        self.method: AuthMethod | None = None
        self.source: str | None = None
        self.secret_: str | None = None
        self.assertion_: str | None = None

    def assertion(self, kind: str | None, assertion: str | None, source: str) -> None:
        # RFC 7521 4.2: both parameters, the type being the JWT bearer URN (RFC 7523 2.2).
        if kind is None or assertion is None:
            missing = "client_assertion" if assertion is None else "client_assertion_type"
            raise _malformed(f"{source}: {missing} missing", kind=Failure.MALFORMED_ASSERTION)
        if kind != JWT_BEARER:
            raise _malformed(
                f"{source}: client_assertion_type is not {JWT_BEARER}",
                kind=Failure.MALFORMED_ASSERTION,
            )
        if not assertion:
            raise _malformed(f"{source}: empty client_assertion", kind=Failure.MALFORMED_ASSERTION)
        if self.method is not None:
            raise _malformed(
                f"more than one client authentication method: {self.source}, "
                f"client_assertion in the {source}",
                kind=Failure.MULTIPLE_METHODS,
            )
        self.assertion_ = assertion
        self.source = source

    def secret(self, method: AuthMethod, source: str, client_id: str | None, secret: str) -> None:
        if self.assertion_ is not None:
            raise _malformed(
                f"more than one client authentication method: client_assertion, {source}",
                kind=Failure.MULTIPLE_METHODS,
            )
        if self.method is not None:
            # RFC 6749 2.3: "MUST NOT use more than one authentication method in each request".
            raise _malformed(
                f"more than one client authentication method: {self.source}, {source}",
                kind=Failure.MULTIPLE_METHODS,
            )
        _check_secret(secret)
        self.method, self.source, self.secret_ = method, source, secret
        if client_id is None:
            raise _malformed(f"a client_secret in the {source} without a client_id")
        self.claim(client_id, source)

    def claim(self, client_id: str, source: str) -> None:
        _check_client_id(client_id, source)
        if self.client_id is None:
            self.client_id, self.id_source = client_id, source
        elif client_id != self.client_id:
            raise _malformed(
                f"the request names more than one client_id: {self.id_source}, {source}",
                kind=Failure.CONFLICTING_CLIENT_ID,
            )

    def presented(self) -> Presented:
        if self.method is not None:
            return Presented._of(self.client_id, self.secret_ or None, self.method, self.source)
        if self.assertion_ is not None:
            return Presented._of(self.client_id, None, None, self.source, self.assertion_)
        return Presented._of(self.client_id, None, None, self.id_source)


def _auth_scheme(value: str) -> str:
    return value.strip(" \t").partition(" ")[0].partition("\t")[0].lower()


def _collect(
    params: Mapping[str, FormValue], source: str, state: _Found, *, assertions: bool = False
) -> None:
    cid = _single_param(params, "client_id", source)
    secret = _single_param(params, "client_secret", source)
    if assertions and ("client_assertion_type" in params or "client_assertion" in params):
        kind = _single_param(params, "client_assertion_type", source)
        assertion = _single_param(params, "client_assertion", source)
        if kind is not None or assertion is not None:
            state.assertion(kind, assertion, source)
    if secret is not None:
        state.secret(AuthMethod.CLIENT_SECRET_POST, source, cid, secret)
    elif cid is not None:
        state.claim(cid, source)


def _single_param(params: Mapping[str, FormValue], name: str, source: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        if isinstance(value, bytes) or not isinstance(value, Sequence):
            raise _malformed(f"{source} parameter {name} is not text")
        if len(value) != 1:
            # RFC 6749 3.2: "Request and response parameters MUST NOT be included more than once"
            raise _malformed(f"{source} parameter {name} given {len(value)} times")
        value = value[0]
        if not isinstance(value, str):
            raise _malformed(f"{source} parameter {name} is not text")
    if len(value) > MAX_HEADER_VALUE_LENGTH:
        raise _malformed(f"{source} parameter {name} too large")
    return value


def _single_header(previous: str | None, value: str, name: str) -> str:
    if previous is not None:
        raise _malformed(f"header {name} given more than once")
    if len(value) > MAX_HEADER_VALUE_LENGTH:
        raise _malformed(f"header {name} too large")
    # Header bytes were read as ISO-8859-1; the id and secret themselves are UTF-8 text.
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise _malformed(f"header {name} is not UTF-8") from None


def _check_secret(secret: str) -> None:
    if len(secret) > MAX_SECRET_LENGTH:
        raise _malformed("client secret too long")


def _check_client_id(client_id: str, source: str) -> None:
    if not client_id:
        raise _malformed(f"empty client_id in the {source}")
    if len(client_id) > MAX_CLIENT_ID_LENGTH:
        raise _malformed(f"client_id in the {source} too long")
    if not client_id.isprintable():
        raise _malformed(f"client_id in the {source} has control characters")


def _malformed(
    message: str, *, kind: Failure = Failure.MALFORMED_CREDENTIALS
) -> CredentialsError:
    return CredentialsError(message, kind=kind)
