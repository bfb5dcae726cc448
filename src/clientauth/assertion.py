"""Client assertions: ``private_key_jwt`` and ``client_secret_jwt`` (RFC 7523 2.2 and 3).

A client proves itself with a JWT it signed (``private_key_jwt``: its private key, the server
holds only the public half) or MACed (``client_secret_jwt``: the shared ``client_secret``,
which the server must hold in clear text and could therefore use to forge the client's
assertions -- prefer ``private_key_jwt``). The request carries it in the form body (RFC 7521
4.2)::

    client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
    client_assertion=<JWT>

:func:`parse_assertion` decodes it once, within :data:`MAX_ASSERTION_LENGTH`; an
:class:`AssertionVerifier` decides it against the registered client. The rules (RFC 7523 3,
RFC 7521 5.2, OpenID Connect Core 9, draft-ietf-oauth-rfc7523bis):

* ``iss`` and ``sub`` are both the client id; ``aud`` (a string, or an array) holds one of
  the configured audiences (the issuer identifier, and for compatibility the token endpoint);
* ``exp`` is required; ``nbf`` and ``iat`` are honoured; each time check allows ``leeway``;
  ``exp`` minus ``iat`` (or minus now, without ``iat``) is at most ``max_lifetime``;
* ``jti`` is required and used once per client until ``exp`` (+ ``leeway``), in a
  :class:`~clientauth.replay.ReplayStore` that every host shares;
* the algorithm is asymmetric for ``private_key_jwt`` (RS/PS/ES 256/384/512, EdDSA), HMAC
  for ``client_secret_jwt`` (HS256/384/512), never ``none``; only the registered
  ``token_endpoint_auth_signing_alg`` when there is one; the key type matches it;
* the key is the one named by ``kid``; without ``kid``, each of the client's keys that fits
  the algorithm, at most :data:`MAX_KEYS_TRIED`;
* ``typ``, when present, is ``JWT`` or ``client-authentication+jwt`` (rfc7523bis explicit
  typing), so that another kind of JWT (an access token, an ID token) is not taken for an
  assertion; a ``crit`` header is refused (RFC 7515 4.1.11: no extension is understood).

Signatures are computed by PyJWT's algorithm objects (``jwt.algorithms``); the claims rules
are the ones above, decided here.
"""

from __future__ import annotations

import binascii
import json
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from jwt.algorithms import Algorithm, get_default_algorithms

from ._clock import clock_setting
from ._jwk import (
    ASYMMETRIC_ALGORITHMS,
    HMAC_ALGORITHMS,
    AssertionKey,
    key_fits,
    key_from_jwk,
)
from .clients import Client
from .exceptions import ConfigurationError, FetchError, ParseError
from .jwks import JwksFetcher, JwksSettings, key_set
from .replay import MemoryReplayStore, ReplayStore
from .result import AuthMethod, Failure

if TYPE_CHECKING:
    # PEP 692 (typing.Unpack is Python 3.12): for the type checker only, never imported.
    from typing_extensions import Unpack

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "DEFAULT_ASSERTION_LEEWAY",
    "DEFAULT_ASSERTION_LIFETIME",
    "HMAC_ALGORITHMS",
    "JWT_BEARER",
    "MAX_ASSERTION_LEEWAY",
    "MAX_ASSERTION_LENGTH",
    "MAX_ASSERTION_LIFETIME",
    "MAX_AUDIENCES",
    "MAX_JTI_LENGTH",
    "MAX_KEYS_TRIED",
    "AssertionKey",
    "AssertionVerifier",
    "JwksKeys",
    "ParsedAssertion",
    "parse_assertion",
]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
"""The ``client_assertion_type`` of a JWT client assertion (RFC 7523 2.2)."""

MAX_ASSERTION_LENGTH = 16 * 1024
"""Longest ``client_assertion`` read, in characters. An RS512 assertion with a 4096-bit key
is under 1 KiB; the form parameter limit of clientauth is the same 16 KiB."""

MAX_JTI_LENGTH = 512
"""Longest ``jti`` accepted, in characters (a UUID is 36)."""

MAX_AUDIENCES = 16
"""Most values in an ``aud`` array examined."""

MAX_KEYS_TRIED = 4
"""Without ``kid``, the most keys of the client tried against one signature."""

DEFAULT_ASSERTION_LEEWAY = timedelta(seconds=30)
"""Clock skew allowed in each of the ``exp``, ``nbf`` and ``iat`` checks."""

MAX_ASSERTION_LEEWAY = timedelta(minutes=5)

DEFAULT_ASSERTION_LIFETIME = timedelta(minutes=5)
"""Longest ``exp - iat`` accepted. Client libraries make assertions that live 60 s
(node-oidc-provider's client, Spring Security) to 5 min (Keycloak's adapters); Okta accepts
at most one hour. Authlib (1.9) signs assertions for one hour: raise ``max_lifetime`` for
its clients (its ``claims=`` option is no way out: it stores the first ``jti`` in that dict,
so every later assertion repeats it and is refused as a replay). The longer an assertion
lives, the longer a stolen one is usable and its ``jti`` must be remembered."""

MAX_ASSERTION_LIFETIME = timedelta(hours=1)

_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# rfc7523bis 4 (explicit typing); "JWT" is what RFC 7519 5.1 suggests and most clients send.
_ACCEPTED_TYP = frozenset(
    {"jwt", "client-authentication+jwt", "application/client-authentication+jwt"}
)
_ALGORITHMS: Mapping[str, Algorithm] = {
    name: alg
    for name, alg in get_default_algorithms().items()
    if name in ASYMMETRIC_ALGORITHMS | HMAC_ALGORITHMS
}
_METHOD_ALGORITHMS = {
    AuthMethod.PRIVATE_KEY_JWT: ASYMMETRIC_ALGORITHMS,
    AuthMethod.CLIENT_SECRET_JWT: HMAC_ALGORITHMS,
}
_PARSED_KEY_SETS = 256  # key sets (jwks_uri bodies) whose parsed keys JwksKeys keeps


class Unreplayed(NamedTuple):
    """An assertion that passed every rule but single use: record ``jti`` until ``until``."""

    jti: str
    until: datetime


REPLAYED = (Failure.REPLAYED_ASSERTION, "jti: this assertion was already used")


class ParsedAssertion(NamedTuple):
    """A client assertion decoded once: header and claims as JSON objects, and the bytes the
    signature covers. Nothing in it has been verified."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def subject(self) -> str | None:
        """The ``sub`` claim when it is a string: the client the assertion claims to be."""
        sub = self.claims.get("sub")
        return sub if isinstance(sub, str) else None

    def __repr__(self) -> str:
        # An assertion is a bearer credential until it expires: never shown.
        return f"ParsedAssertion(alg={self.header.get('alg')!r}, sub={self.subject!r})"


def parse_assertion(text: str) -> ParsedAssertion:
    """Decode a compact JWS (RFC 7515 7.1) into its parts, or raise
    :class:`~clientauth.ParseError` saying which part is malformed (never quoting it).

    Strict: base64url without padding, JSON objects without duplicate members and without
    ``NaN``/``Infinity``, at most :data:`MAX_ASSERTION_LENGTH` characters."""
    if not isinstance(text, str):
        raise ParseError("an assertion must be a str")
    if len(text) > MAX_ASSERTION_LENGTH:
        raise ParseError(f"assertion longer than {MAX_ASSERTION_LENGTH} characters")
    if not _TOKEN.fullmatch(text):
        raise ParseError("format: not a compact JWS (three base64url parts)")
    head, body, sig = text.split(".")
    header = _json_part(head, "header")
    claims = _json_part(body, "claims")
    return ParsedAssertion(
        header, claims, f"{head}.{body}".encode("ascii"), _b64(sig, "signature")
    )


def _b64(part: str, what: str) -> bytes:
    # The caller matched the base64url alphabet (_TOKEN); what is left is the length.
    if len(part) % 4 == 1:
        raise ParseError(f"format: {what} is not base64url")
    try:
        return binascii.a2b_base64(
            part.encode("ascii").translate(_URLSAFE) + b"=" * (-len(part) % 4)
        )
    except (binascii.Error, ValueError):
        raise ParseError(f"format: {what} is not base64url") from None


_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _json_part(part: str, what: str) -> dict[str, Any]:
    try:
        value = _DECODER.decode(_b64(part, what).decode("utf-8"))
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise ParseError(f"format: {what} is not a JSON object") from None
    if not isinstance(value, dict):
        raise ParseError(f"format: {what} is not a JSON object")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        # RFC 7515 5.2 / RFC 7519 4: duplicate members are refused, never "last one wins".
        raise ValueError("duplicate member")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN, Infinity: not JSON (RFC 8259 6)


# Built once: json.loads(**options) would build a decoder per call.
_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


class JwksKeys:
    """The public keys a ``private_key_jwt`` client serves at its ``jwks_uri``.

    Fetched and cached by a :class:`~clientauth.JwksFetcher` built with the same settings
    (``timeout``, ``max_size``, ``ttl``, ``refresh_interval``, ``stale_grace``, ``now``,
    ``allow_http``, ``opener``, ``allow_addresses``; see its documentation for every bound),
    so a slow or hostile host is as harmless here as for pinned certificates. Keys that
    cannot verify a signature (encryption keys, private material, unknown types) are left
    out. Thread-safe."""

    def __init__(self, **settings: Unpack[JwksSettings]) -> None:
        self._fetcher = _KeyFetcher(**settings)
        self._lock = threading.Lock()
        self._parsed: dict[frozenset[str], tuple[AssertionKey, ...]] = {}

    def __repr__(self) -> str:
        return f"JwksKeys({self._fetcher!r})"

    def keys(self, uri: str) -> tuple[AssertionKey, ...]:
        """The usable keys at ``uri`` (cached); raises :class:`~clientauth.FetchError`."""
        return self._keys(self._fetcher.thumbprints(uri))

    def refresh(self, uri: str) -> tuple[AssertionKey, ...]:
        """Fetch ``uri`` again unless it was fetched within ``refresh_interval``."""
        return self._keys(self._fetcher.refresh(uri))

    def _keys(self, texts: frozenset[str]) -> tuple[AssertionKey, ...]:
        keys = self._parsed.get(texts)
        if keys is None:
            parsed = (key_from_jwk(json.loads(t)) for t in sorted(texts))
            keys = tuple(k for k in parsed if k is not None)
            with self._lock:
                if len(self._parsed) >= _PARSED_KEY_SETS:
                    self._parsed.clear()
                self._parsed[texts] = keys
        return keys


class _KeyFetcher(JwksFetcher):
    """A :class:`JwksFetcher` whose cached "thumbprints" are the canonical JSON of each usable
    signing key of the set (the cache, bounds and policies are the fetcher's)."""

    def _parse_body(self, uri: str, body: bytes) -> frozenset[str]:
        return frozenset(
            json.dumps(k, sort_keys=True)
            for k in key_set(uri, body)
            if isinstance(k, Mapping) and key_from_jwk(k) is not None
        )


class AssertionVerifier:
    """Decide a parsed client assertion against the registered client.

    ``audience``: the accepted ``aud`` values (a string or a sequence of strings; required).
    ``replay``: where used ``jti`` values are kept (default: a
    :class:`~clientauth.replay.MemoryReplayStore`, right for one process only). ``leeway``:
    clock skew allowed per time check; ``max_lifetime``: longest ``exp - iat``. ``keys``:
    the :class:`JwksKeys` for clients with a ``jwks_uri`` (default: one with the fetcher's
    defaults). ``now``: a callable returning an aware datetime.

    Configured once, immutable, safe to share across threads."""

    __slots__ = ("_audience", "_keys", "_leeway", "_lifetime", "_now", "_replay")

    def __init__(
        self,
        *,
        audience: str | Sequence[str],
        replay: ReplayStore | None = None,
        leeway: timedelta = DEFAULT_ASSERTION_LEEWAY,
        max_lifetime: timedelta = DEFAULT_ASSERTION_LIFETIME,
        keys: JwksKeys | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._audience = audiences(audience)
        if replay is not None and not isinstance(replay, ReplayStore):
            raise ConfigurationError("replay must implement use(client_id, jti, expires_at)")
        if not isinstance(leeway, timedelta) or not timedelta(0) <= leeway <= MAX_ASSERTION_LEEWAY:
            raise ConfigurationError(
                f"leeway must be a timedelta between 0 and {MAX_ASSERTION_LEEWAY}"
            )
        if not isinstance(max_lifetime, timedelta) or not (
            timedelta(0) < max_lifetime <= MAX_ASSERTION_LIFETIME
        ):
            raise ConfigurationError(
                f"max_lifetime must be a positive timedelta of at most {MAX_ASSERTION_LIFETIME}"
            )
        if keys is not None and not isinstance(keys, JwksKeys):
            raise ConfigurationError("keys must be a clientauth.JwksKeys")
        self._now: Callable[[], datetime] = clock_setting(now)
        self._replay: ReplayStore = (
            replay if replay is not None else MemoryReplayStore(now=self._now)
        )
        self._leeway = leeway.total_seconds()
        self._lifetime = max_lifetime.total_seconds()
        self._keys = keys

    def __repr__(self) -> str:
        return (
            f"AssertionVerifier(audience={sorted(self._audience)!r}, replay={self._replay!r}, "
            f"leeway={self._leeway:g}s, max_lifetime={self._lifetime:g}s)"
        )

    @property
    def replay(self) -> ReplayStore:
        return self._replay

    def verify(self, assertion: ParsedAssertion, client: Client) -> tuple[Failure, str] | None:
        """``None`` when ``assertion`` proves ``client``; else the failure and a detail that
        starts with the name of the check that failed. Raises only what the replay store
        raises for an outage (never for the assertion's content)."""
        outcome = self.check(assertion, client)
        if not isinstance(outcome, Unreplayed):
            return outcome
        if not self._replay.use(client.client_id, outcome.jti, outcome.until):
            return REPLAYED
        return None

    def check(self, assertion: ParsedAssertion, client: Client) -> tuple[Failure, str] | Unreplayed:
        """Every rule but single use: the failure and its detail, or the ``jti`` to record
        in the replay store and until when. Never raises: the replay store, the one piece of
        shared state that can be unavailable, is the caller's next step."""
        header, claims = assertion.header, assertion.claims
        method = client.method
        refused = _check_header(header, method, client.signing_alg)
        if refused is not None:
            return Failure.INVALID_ASSERTION, refused
        alg: str = header["alg"]
        refused = self._check_claims(claims, client.client_id)
        if refused is not None:
            return Failure.INVALID_ASSERTION, refused
        outcome = self._check_signature(assertion, client, alg, header.get("kid"))
        if outcome is not None:
            return outcome
        # Recorded only for an assertion that passed every other check, so a forged jti can
        # neither fill the store nor burn a real one.
        exp = float(claims["exp"])
        jti: str = claims["jti"]
        return Unreplayed(jti, datetime.fromtimestamp(exp + self._leeway, UTC))

    def _check_claims(self, claims: Mapping[str, Any], client_id: str) -> str | None:
        # RFC 7523 3 items 1-2: iss and sub are both the client_id (OIDC Core 9).
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            return "iss/sub: both must be the client_id"
        # Item 3: aud identifies this server.
        aud = claims.get("aud")
        values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else None
        if not values or len(values) > MAX_AUDIENCES or not any(
            isinstance(v, str) and v in self._audience for v in values
        ):
            return "aud: not an audience of this server"
        now = self._now().timestamp()
        leeway = self._leeway
        exp = _number(claims.get("exp"))
        # Item 4: exp is required, and the JWT is refused once it has passed.
        if exp is None:
            return "exp: missing or not a number"
        if exp <= now - leeway:
            return "exp: the assertion has expired"
        # Item 5: nbf, when present, has passed; iat, when present, is not in the future.
        start = now
        for claim, in_future in (
            ("nbf", "the assertion is not valid yet"),
            ("iat", "issued in the future"),
        ):
            if claim in claims:
                value = _number(claims[claim])
                if value is None:
                    return f"{claim}: not a number"
                if value > now + leeway:
                    return f"{claim}: {in_future}"
                if claim == "iat":
                    start = value
        # Item 6 lets the server refuse a JWT issued too long ago; a bounded lifetime also
        # bounds how long a jti must be remembered (RFC 7523 3 item 7).
        if exp - start > self._lifetime:
            return f"lifetime: exp is more than {self._lifetime:g} s after iat"
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            return f"jti: missing, empty or longer than {MAX_JTI_LENGTH} characters"
        return None

    def _check_signature(
        self, assertion: ParsedAssertion, client: Client, alg: str, kid: object
    ) -> tuple[Failure, str] | None:
        keys: Sequence[AssertionKey] = client.assertion_keys
        fetched = client.jwks_uri is not None and client.method is AuthMethod.PRIVATE_KEY_JWT
        if fetched:
            try:
                keys = self._key_source().keys(client.jwks_uri)  # type: ignore[arg-type]
            except FetchError as exc:
                return Failure.ASSERTION_KEYS_UNAVAILABLE, f"kid: {exc}"
        outcome = _verify_with(keys, assertion, alg, kid)
        if outcome is not None and fetched:
            # An unknown kid, or no key that verifies: the client may have rotated its keys.
            # The fetcher refreshes at most once per refresh_interval per URI.
            try:
                keys = self._key_source().refresh(client.jwks_uri)  # type: ignore[arg-type]
            except FetchError:
                return Failure.INVALID_ASSERTION, outcome
            outcome = _verify_with(keys, assertion, alg, kid)
        if outcome is None:
            return None
        return Failure.INVALID_ASSERTION, outcome

    def _key_source(self) -> JwksKeys:
        keys = self._keys
        if keys is None:
            # Built on first need (an idempotent race: both threads build equal fetchers).
            keys = JwksKeys(now=self._now)
            self._keys = keys
        return keys


def audiences(audience: object) -> frozenset[str]:
    """The accepted ``aud`` values, validated (a string or a non-empty sequence of them)."""
    values: Iterable[object]
    if isinstance(audience, str):
        values = (audience,)
    elif isinstance(audience, Sequence | frozenset | set) and not isinstance(audience, bytes):
        values = tuple(audience)
    else:
        raise ConfigurationError("audience must be a string or a sequence of strings")
    out = frozenset(values)
    if not out or not all(isinstance(v, str) and v and v.isprintable() for v in out):
        raise ConfigurationError(
            "audience must name this server: the issuer identifier and/or the token endpoint "
            "URL (non-empty strings)"
        )
    return out  # type: ignore[return-value] # checked above: every value is a str


def _check_header(
    header: Mapping[str, Any], method: AuthMethod, registered: str | None
) -> str | None:
    alg = header.get("alg")
    allowed = _METHOD_ALGORITHMS.get(method, frozenset())
    if not isinstance(alg, str) or alg not in allowed:
        # RFC 8725 3.1: the algorithm comes from the registration, never from the token alone.
        return f"alg: {method.value} accepts {', '.join(sorted(allowed))}"
    if registered is not None and alg != registered:
        return f"alg: the client registered {registered}"
    if "crit" in header:
        return "crit: no critical header extension is understood (RFC 7515 4.1.11)"
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYP):
        return "typ: not a client assertion (JWT or client-authentication+jwt)"
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        return "kid: not a string"
    return None


def _verify_with(
    keys: Sequence[AssertionKey], assertion: ParsedAssertion, alg: str, kid: object
) -> str | None:
    if kid is not None:
        candidates = [k for k in keys if k.kid == kid]
        if not candidates:
            return "kid: no registered key has this kid"
        why = key_fits(candidates[0], alg)
        if why is not None:
            return f"alg: {why}"
        candidates = candidates[:1]
    else:
        candidates = [k for k in keys if key_fits(k, alg) is None][:MAX_KEYS_TRIED]
        if not candidates:
            return f"kid: no key of the client fits {alg}"
    algorithm = _ALGORITHMS[alg]
    for key in candidates:
        try:
            if algorithm.verify(assertion.signing_input, key.key, assertion.signature):
                return None
        except (ValueError, TypeError, OverflowError):  # a signature of the wrong shape
            continue
    return "signature: does not verify with the client's key"


def _number(value: object) -> float | None:
    # RFC 7519 2 NumericDate: a JSON number; booleans are not numbers.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
