"""The ``jwks_uri`` fetcher: the only place clientauth does network I/O for key sets.

A ``self_signed_tls_client_auth`` client may register a ``jwks_uri`` instead of its
certificates (RFC 8705 section 2.2, RFC 7591 section 2); its pinned certificates are then the
``x5c[0]`` of each key in the JWK Set (RFC 7517 section 5) served there. :class:`JwksFetcher`
retrieves those sets, bounded in every direction, and hands the verifier their ``x5t#S256``
thumbprints (RFC 8705 section 3.1).

Bounds and policies, so that a slow, huge or hostile key-set host cannot hurt the server:

* **https only** (``allow_http=True`` is for tests against 127.0.0.1); redirects are
  refused, because a registered URI that redirects elsewhere is not the registered URI.
* **timeout**: one deadline for the whole fetch -- connect, TLS, headers and body -- however
  slowly the host sends them (DNS resolution is the resolver's).
* **size**: at most ``max_size`` bytes are read; a larger body is refused, not truncated.
* **addresses**: the URI comes from client metadata, so a host that resolves to a loopback,
  link-local (169.254.169.254), private or otherwise non-global address is refused unless
  listed in ``allow_addresses`` (SSRF defence). The ``*_proxy`` environment variables are
  not honoured (a proxy would connect where the policy never looked).
* **cache**: a fetched set is used for ``ttl``; a forced :meth:`JwksFetcher.refresh` (the
  verifier asks for one when it sees an unknown certificate) happens at most once per
  ``refresh_interval`` per URI, and so does a retry after a failure -- a stream of unknown
  certificates, or a dead host, never becomes a stream of fetches.
* **stale on error**: when a fetch fails, the last good set keeps being served for up to
  ``stale_grace`` past its ``ttl``, so a short outage of the client's host does not lock the
  client out. The price: a certificate the client removed from its set stays accepted while
  its host cannot be reached, for at most ``ttl + stale_grace``. Set ``stale_grace=
  timedelta(0)`` to fail closed as soon as ``ttl`` runs out.
* **one fetch per URI at a time, and nobody waits for it**: a caller that finds the URI being
  fetched is served the still-usable previous set, or fails at once (``FetchError``: "being
  fetched") -- so a slow host holds one thread for one ``timeout`` per refresh, never every
  request of its client, and never a thread another client needs.

The transport is :mod:`clientauth._fetch` (shared with revocation checking). A custom
``opener`` replaces it for the connection (it then decides proxies, TLS and addresses); the
deadline and size cap still apply to the body, and redirects are still refused.

Errors are :class:`~clientauth.FetchError` with a message naming the URI and the cause.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import math
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypedDict

from ._clock import clock_setting
from ._fetch import AddressPolicy, fetch
from ._x509 import certificate_thumbprint, load_x5c
from .exceptions import ConfigurationError, FetchError, ParseError

__all__ = [
    "DEFAULT_JWKS_MAX_SIZE",
    "DEFAULT_JWKS_REFRESH_INTERVAL",
    "DEFAULT_JWKS_STALE_GRACE",
    "DEFAULT_JWKS_TIMEOUT",
    "DEFAULT_JWKS_TTL",
    "MAX_JWKS_SIZE_LIMIT",
    "JwksFetcher",
    "JwksSettings",
]

DEFAULT_JWKS_TIMEOUT = 5.0
"""Seconds allowed for one whole fetch (connect, TLS, headers and body)."""

DEFAULT_JWKS_MAX_SIZE = 256 * 1024
"""Largest key set read, in bytes. A JWK with a 4 KiB RSA certificate in ``x5c`` is ~6 KiB,
so this holds dozens of keys."""

MAX_JWKS_SIZE_LIMIT = 16 * 1024 * 1024
"""Upper bound for ``max_size``: the body is held in memory and parsed as one JSON document."""

DEFAULT_JWKS_TTL = timedelta(minutes=10)
DEFAULT_JWKS_REFRESH_INTERVAL = timedelta(minutes=1)
DEFAULT_JWKS_STALE_GRACE = timedelta(hours=1)

_READ_CHUNK = 16 * 1024
_ACCEPT = "application/jwk-set+json, application/json;q=0.9"  # RFC 7517 section 8.5.1
_USER_AGENT = "clientauth-jwks"


@dataclasses.dataclass(frozen=True, slots=True)
class _Entry:
    """What is known about one URI. ``thumbprints``/``fetched_at`` describe the last good
    fetch (``None`` if there never was one); ``attempted_at`` the last attempt of any kind."""

    thumbprints: frozenset[str] | None
    fetched_at: datetime | None
    attempted_at: datetime
    error: str | None = None


class JwksSettings(TypedDict, total=False):
    """The keyword settings of :class:`JwksFetcher`, for the classes that take them as they are
    (:class:`~clientauth.JwksKeys`): see :class:`JwksFetcher` for each one's meaning, default
    and bounds."""

    timeout: float
    max_size: int
    ttl: timedelta
    refresh_interval: timedelta
    stale_grace: timedelta
    now: Callable[[], datetime] | None
    allow_http: bool
    opener: urllib.request.OpenerDirector | None
    allow_addresses: Iterable[str]


class JwksFetcher:
    """Fetch and cache the ``x5t#S256`` thumbprints of the certificates in a ``jwks_uri``.

    :meth:`thumbprints` answers from the cache while it is fresh (``ttl``) and fetches
    otherwise; :meth:`refresh` forces a fetch, at most once per ``refresh_interval`` per URI
    (within the interval it answers from the cache). Both raise
    :class:`~clientauth.FetchError` when no usable set can be had. See the module docstring for
    every bound; ``stale_grace`` is how long past ``ttl`` a set is still served while fetching
    it fails.

    ``now`` (a callable returning an aware datetime) drives the cache; ``allow_addresses``
    lists addresses or networks (``"10.0.0.0/8"``, ``"127.0.0.1"``) a key-set host may resolve
    to although they are not globally routable. ``opener`` is a ``urllib.request.OpenerDirector``
    for custom TLS or proxy settings, used instead of the built-in transport (it then decides
    addresses and the connect timeout; a final URL that differs from the requested one is
    refused whatever the opener).

    Settings are validated eagerly (:class:`~clientauth.ConfigurationError`) and immutable; the
    cache is guarded by locks, so one fetcher is shared by every thread.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_JWKS_TIMEOUT,
        max_size: int = DEFAULT_JWKS_MAX_SIZE,
        ttl: timedelta = DEFAULT_JWKS_TTL,
        refresh_interval: timedelta = DEFAULT_JWKS_REFRESH_INTERVAL,
        stale_grace: timedelta = DEFAULT_JWKS_STALE_GRACE,
        now: Callable[[], datetime] | None = None,
        allow_http: bool = False,
        opener: urllib.request.OpenerDirector | None = None,
        allow_addresses: Iterable[str] = (),
    ) -> None:
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise ConfigurationError("timeout must be a positive number of seconds")
        if (
            isinstance(max_size, bool)
            or not isinstance(max_size, int)
            or not 0 < max_size <= MAX_JWKS_SIZE_LIMIT
        ):
            raise ConfigurationError(
                f"max_size must be an integer between 1 and {MAX_JWKS_SIZE_LIMIT} bytes"
            )
        for field, value in (("ttl", ttl), ("refresh_interval", refresh_interval)):
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise ConfigurationError(f"{field} must be a positive timedelta")
        if refresh_interval > ttl:
            # The refresh budget also spaces retries after a failure; a set that expires
            # before the next allowed fetch would make ttl meaningless.
            raise ConfigurationError("refresh_interval must not exceed ttl")
        if not isinstance(stale_grace, timedelta) or stale_grace < timedelta(0):
            raise ConfigurationError("stale_grace must be a non-negative timedelta")
        clock = clock_setting(now)
        if not isinstance(allow_http, bool):
            raise ConfigurationError("allow_http must be True or False")
        if opener is not None and not callable(getattr(opener, "open", None)):
            raise ConfigurationError("opener must be a urllib.request.OpenerDirector")

        self._timeout = float(timeout)
        self._max_size = max_size
        self._ttl = ttl
        self._refresh_interval = refresh_interval
        self._stale_grace = stale_grace
        self._now = clock
        self._allow_http = allow_http
        self._policy = AddressPolicy.build(allow_addresses)
        self._opener = opener
        self._lock = threading.Lock()  # guards the two dicts below, never held while fetching
        self._entries: dict[str, _Entry] = {}
        self._uri_locks: dict[str, threading.Lock] = {}

    def __repr__(self) -> str:
        return (
            f"JwksFetcher(timeout={self._timeout}, max_size={self._max_size}, ttl={self._ttl}, "
            f"refresh_interval={self._refresh_interval}, stale_grace={self._stale_grace}, "
            f"allow_http={self._allow_http}, "
            f"allow_addresses={[str(n) for n in self._policy.allow]})"
        )

    # -- public ------------------------------------------------------------------------

    def thumbprints(self, uri: str) -> frozenset[str]:
        """The ``x5t#S256`` of every ``x5c[0]`` in the key set at ``uri`` (cached)."""
        entry = self._entries.get(uri)
        now = self._now()
        if entry is not None and self._fresh(entry, now):
            return entry.thumbprints  # type: ignore[return-value] # _fresh implies a set
        lock = self._uri_lock(uri)
        if not lock.acquire(blocking=False):
            return self._busy(uri, entry, now)
        try:
            entry = self._entries.get(uri)
            now = self._now()
            if entry is not None and self._fresh(entry, now):
                return entry.thumbprints  # type: ignore[return-value]
            if entry is not None and now < entry.attempted_at + self._refresh_interval:
                # The last attempt failed moments ago: do not hammer a failing host.
                return self._serve(uri, entry, now)
            return self._fetch_and_store(uri, entry, now)
        finally:
            lock.release()

    def refresh(self, uri: str) -> frozenset[str]:
        """Fetch ``uri`` now, unless it was fetched (or tried) less than ``refresh_interval``
        ago; then answer as :meth:`thumbprints` would from the cache."""
        lock = self._uri_lock(uri)
        if not lock.acquire(blocking=False):
            return self._busy(uri, self._entries.get(uri), self._now())
        try:
            entry = self._entries.get(uri)
            now = self._now()
            if entry is not None and now < entry.attempted_at + self._refresh_interval:
                return self._serve(uri, entry, now)
            return self._fetch_and_store(uri, entry, now)
        finally:
            lock.release()

    def forget(self, uri: str) -> None:
        """Drop what is cached for ``uri`` (e.g. the client was removed from the registry)."""
        with self._lock:
            self._entries.pop(uri, None)

    # -- cache -------------------------------------------------------------------------

    def _uri_lock(self, uri: str) -> threading.Lock:
        with self._lock:
            lock = self._uri_locks.get(uri)
            if lock is None:
                lock = self._uri_locks[uri] = threading.Lock()
            return lock

    def _fresh(self, entry: _Entry, now: datetime) -> bool:
        return entry.fetched_at is not None and now < entry.fetched_at + self._ttl

    def _usable(self, entry: _Entry, now: datetime) -> bool:
        return (
            entry.fetched_at is not None and now < entry.fetched_at + self._ttl + self._stale_grace
        )

    def _busy(self, uri: str, entry: _Entry | None, now: datetime) -> frozenset[str]:
        # Another thread is fetching this URI. Waiting for it would tie this thread to a
        # host that may be slow (and, under a thread pool, starve every other client): a
        # still-usable set is served, otherwise this caller fails now.
        if entry is not None and entry.thumbprints is not None and self._usable(entry, now):
            return entry.thumbprints
        raise FetchError(
            f"jwks_uri {uri!r}: being fetched for another request; no usable key set yet"
        )

    def _serve(self, uri: str, entry: _Entry, now: datetime) -> frozenset[str]:
        if entry.thumbprints is not None and self._usable(entry, now):
            return entry.thumbprints
        raise FetchError(entry.error or f"jwks_uri {uri!r}: no usable key set")

    def _fetch_and_store(self, uri: str, entry: _Entry | None, now: datetime) -> frozenset[str]:
        try:
            thumbs = self._fetch(uri)
        except FetchError as exc:
            failed = _Entry(
                entry.thumbprints if entry is not None else None,
                entry.fetched_at if entry is not None else None,
                now,
                str(exc),
            )
            with self._lock:
                self._entries[uri] = failed
            if failed.thumbprints is not None and self._usable(failed, now):
                return failed.thumbprints
            raise
        with self._lock:
            self._entries[uri] = _Entry(thumbs, now, now)
        return thumbs

    # -- network -----------------------------------------------------------------------

    def _fetch(self, uri: str) -> frozenset[str]:
        if not isinstance(uri, str):
            raise FetchError("jwks_uri must be a string")
        try:
            parts = urllib.parse.urlsplit(uri)
        except ValueError:
            raise FetchError(f"jwks_uri {uri!r} is not a valid URL") from None
        allowed = ("https", "http") if self._allow_http else ("https",)
        if self._opener is None:
            body = fetch(
                uri,
                what="jwks_uri",
                timeout=self._timeout,
                max_size=self._max_size,
                policy=self._policy,
                schemes=allowed,
                headers={"Accept": _ACCEPT, "User-Agent": _USER_AGENT},
            )
            return self._parse_body(uri, body)
        if parts.scheme not in allowed:
            raise FetchError(f"jwks_uri {uri!r}: only https is allowed")
        if not parts.hostname:
            raise FetchError(f"jwks_uri {uri!r} has no host")
        return self._parse_body(uri, self._fetch_with_opener(uri, self._opener))

    def _parse_body(self, uri: str, body: bytes) -> frozenset[str]:
        # What the cache holds of a fetched set; clientauth.assertion.JwksKeys keeps the
        # public keys themselves (private_key_jwt) through the same cache and bounds.
        return _parse_key_set(uri, body)

    def _fetch_with_opener(self, uri: str, opener: urllib.request.OpenerDirector) -> bytes:
        # S310: the caller checked the scheme (https, or http when allowed).
        request = urllib.request.Request(  # noqa: S310
            uri, headers={"Accept": _ACCEPT, "User-Agent": _USER_AGENT}, method="GET"
        )
        deadline = time.monotonic() + self._timeout
        try:
            with opener.open(request, timeout=self._timeout) as response:
                if response.geturl() != request.get_full_url():
                    raise FetchError(f"jwks_uri {uri!r}: redirect refused")
                status = getattr(response, "status", None) or response.getcode()
                if status != 200:
                    raise FetchError(f"jwks_uri {uri!r}: HTTP status {status}")
                # An announced oversize body is refused before reading; the read below
                # enforces the cap whatever the header says.
                length = (response.headers.get("Content-Length") or "").strip()
                if length.isdigit() and int(length) > self._max_size:
                    raise FetchError(
                        f"jwks_uri {uri!r}: key set larger than {self._max_size} bytes"
                    )
                return self._read(uri, response, deadline)
        except urllib.error.HTTPError as exc:
            exc.close()
            if 300 <= exc.code < 400:
                raise FetchError(f"jwks_uri {uri!r}: redirect refused") from None
            raise FetchError(f"jwks_uri {uri!r}: HTTP status {exc.code}") from None
        except urllib.error.URLError as exc:
            raise FetchError(f"jwks_uri {uri!r}: {exc.reason}") from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # OSError covers timeouts, refused connections and TLS failures; HTTPException a
            # server that breaks HTTP; ValueError a URL http.client will not send.
            raise FetchError(f"jwks_uri {uri!r}: {type(exc).__name__}: {exc}") from None

    def _read(self, uri: str, response: Any, deadline: float) -> bytes:
        # read1 returns what one socket read gives, so the deadline is checked between
        # reads and a server dripping a byte at a time cannot hold the fetch open.
        read = getattr(response, "read1", None) or response.read
        chunks: list[bytes] = []
        total = 0
        while True:
            if time.monotonic() > deadline:
                raise FetchError(f"jwks_uri {uri!r}: body not received within the timeout")
            chunk = read(min(_READ_CHUNK, self._max_size + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > self._max_size:
                raise FetchError(f"jwks_uri {uri!r}: key set larger than {self._max_size} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def key_set(uri: str, body: bytes) -> list[Any]:
    """The ``keys`` array of the JWK Set document ``body`` fetched from ``uri`` (RFC 7517
    section 5), or :class:`~clientauth.FetchError` for anything else."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise FetchError(f"jwks_uri {uri!r}: not valid JSON") from None
    keys = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(keys, list):
        raise FetchError(f'jwks_uri {uri!r}: not a JWK Set ({{"keys": [...]}})')
    return keys


def _parse_key_set(uri: str, body: bytes) -> frozenset[str]:
    """The thumbprints of ``x5c[0]`` of every key in a JWK Set document (RFC 7517 section 5).

    Keys without ``x5c`` are skipped (they pin nothing); a malformed ``x5c`` refuses the whole
    document, as registration does for ``jwks``: a half-understood key set is not served."""
    out: set[str] = set()
    for key in key_set(uri, body):
        if not isinstance(key, Mapping):
            raise FetchError(f"jwks_uri {uri!r}: each key must be a JSON object")
        x5c = key.get("x5c")
        if x5c is None:
            continue
        try:
            certificate = load_x5c(x5c)
        except ParseError as exc:
            raise FetchError(f"jwks_uri {uri!r}: {exc.reason}") from None
        # Hash the re-encoded certificate, as the verifier does with the presented one.
        out.add(certificate_thumbprint(certificate))
    return frozenset(out)
