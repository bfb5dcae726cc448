"""A client registry in a SQL database (SQLAlchemy 2 Core): PostgreSQL for several hosts,
SQLite for one host.

Schema (version :data:`SCHEMA_VERSION`, created and migrated by :meth:`SQLRegistry.create_schema`
or ``clientauth client migrate --registry URL``)::

    clientauth_schema        (version)                      one row: the schema version
    clientauth_clients       (client_id PK, metadata, version, updated_at)
    clientauth_client_names  (name_key, client_id)          index for find_by_certificate

``metadata`` is the client's metadata document as JSON text -- exactly what
:meth:`Client.to_metadata` returns, so secrets are stored as hashes only (a clear-text
``client_secret`` is refused by :meth:`Client.from_metadata` before anything is written).
``version`` grows by one on every write: updates are optimistic (``UPDATE ... WHERE
version = :seen AND metadata = :seen``) and retried, so two concurrent rotations never lose
one. ``version`` restarts at 1 when a client is removed and registered again, so nothing
trusts it alone: the cache and the optimistic check also compare the stored document.
``clientauth_client_names`` holds one row per registered certificate name of a
``tls_client_auth`` client and per pinned ``x5t#S256`` of a ``self_signed_tls_client_auth``
client; names are stored as SHA-256 digests of their normalised key, which keeps index
entries small (a DN may be 4 KiB; PostgreSQL b-tree entries are limited to ~2.7 KiB).

Lookups go through a bounded in-process cache. A change made through *this* registry object
is seen here at once. On PostgreSQL every write also sends a notification
(``NOTIFY clientauth_clients`` in the write's own transaction, so it is delivered when the
change commits and never for one rolled back), and every registry that caches listens for
them on one background connection per database and process (:mod:`clientauth._listen`): a
change made by another process or host is evicted here within milliseconds. The TTL
(``cache_ttl``) stays as the bound when a notification cannot arrive -- a listener
reconnecting after a database restart (it then drops the whole cache, having possibly missed
some), a write made with plain SQL, SQLite (no notifications: the TTL is the revocation
latency there). Unknown ids are cached too, for a shorter time, so a flood of made-up ids
cannot turn into a flood of queries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from cryptography import x509
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from .._cache import LRU
from .._clock import clock_setting, duration_setting
from .._listen import Listener, ListenUnsupported, Subscription, forks, notify, weak_callback
from .._watchdog import WATCHDOG, Guard
from .._x509 import certificate_thumbprint
from ..clients import (
    MAX_CLIENT_ID_LENGTH,
    THUMBPRINT_INDEX,
    Client,
    IndexKey,
    certificate_index_keys,
    check_client,
)
from ..exceptions import ClientMetadataError, ConfigurationError, RegistryError

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_CACHE_TTL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_STATEMENT_TIMEOUT",
    "MAX_CACHE_SIZE",
    "MAX_CACHE_TTL",
    "MAX_DB_TIMEOUT",
    "MAX_WRITE_RETRIES",
    "NOTIFY_CHANNEL",
    "SCHEMA_VERSION",
    "SQLRegistry",
]

SCHEMA_VERSION = 1
"""The schema this version of clientauth reads and writes."""

DEFAULT_CACHE_TTL = timedelta(seconds=5)
"""How long a looked-up client is served from the cache: the revocation latency across
processes when no notification arrives (SQLite; PostgreSQL while its listener reconnects)."""

NOTIFY_CHANNEL = "clientauth_clients"
"""The PostgreSQL channel every write notifies and every caching registry listens to. The
payload is JSON: ``{"client_id": ...}`` for one client, anything else (``{"all": true}``)
means "drop every cached lookup"."""

MAX_CACHE_TTL = timedelta(hours=1)
"""Longest cache TTL accepted: beyond it a revoked secret would work for too long."""

DEFAULT_CACHE_SIZE = 10_000
"""Entries held by the cache (clients by id, certificate lookups, unknown ids)."""

MAX_CACHE_SIZE = 1_000_000
"""Largest cache accepted: each entry holds a parsed client (a few KiB with certificates)."""

DEFAULT_NEGATIVE_TTL = timedelta(seconds=1)
"""How long "no such client" is cached (capped at ``cache_ttl``): short, so a client
registered elsewhere is usable almost at once, yet a flood of unknown ids costs one query per
id per second."""

MAX_WRITE_RETRIES = 50
"""Attempts of one read-modify-write before giving up under contention."""

DEFAULT_CONNECT_TIMEOUT = timedelta(seconds=5)
"""PostgreSQL: longest wait for a new connection (libpq ``connect_timeout``, at least 2 s),
and for a free connection from a full pool (``pool_timeout``)."""

DEFAULT_STATEMENT_TIMEOUT = timedelta(seconds=5)
"""PostgreSQL: longest statement (server-side ``statement_timeout``); a server that stops
answering altogether is cut off one second later by a client-side watchdog."""

MAX_DB_TIMEOUT = timedelta(minutes=10)
"""Longest connect or statement timeout accepted."""

_WATCHDOG_GRACE = 1.0  # seconds after statement_timeout: let the server's own error win
_MIN_CONNECT_TIMEOUT = 2  # seconds: libpq (and psycopg) raise anything shorter to 2

_KEY_QUERY_CHUNK = 200  # bind parameters per IN (...) query; certificates may carry many SANs
_PG_LOCK_KEY = 0x636C6175  # "clau": the advisory lock taken while creating the schema
_SQLITE_BUSY_TIMEOUT = 30.0  # seconds a SQLite writer waits for another process's lock

_ALL_CHANGED = '{"all": true}'  # the payload of a change not limited to one client

logger = logging.getLogger("clientauth.registry")

_MAX_REASON = 300  # characters of a database error message kept in a RegistryError
# Secret hashes as clientauth stores them (secret.py): redacted from any database message.
_HASH_PATTERN = re.compile(
    r"\$(?:sha256|argon2id|argon2i|2[aby]|pbkdf2-sha256)\$\S+|pbkdf2_sha256\$\S+"
)

T = TypeVar("T")

_meta = sa.MetaData()
schema_table = sa.Table(
    "clientauth_schema",
    _meta,
    sa.Column("version", sa.Integer, nullable=False),
)
clients_table = sa.Table(
    "clientauth_clients",
    _meta,
    sa.Column("client_id", sa.String(MAX_CLIENT_ID_LENGTH), primary_key=True),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
names_table = sa.Table(
    "clientauth_client_names",
    _meta,
    # "x5t:<thumbprint>" or "name:<sha256 hex of the normalised registered name>"
    sa.Column("name_key", sa.String(80), primary_key=True),
    sa.Column("client_id", sa.String(MAX_CLIENT_ID_LENGTH), primary_key=True),
)

# Statements built once: building a select() costs more than running it (~160 us vs ~50 us
# for a primary-key lookup on SQLite in memory), and lookups are the hot path.
_SELECT_CLIENT = sa.select(clients_table.c.metadata, clients_table.c.version).where(
    clients_table.c.client_id == sa.bindparam("client_id")
)
_SELECT_BY_NAMES = (
    sa.select(clients_table.c.client_id, clients_table.c.metadata, clients_table.c.version)
    .join(names_table, names_table.c.client_id == clients_table.c.client_id)
    .where(names_table.c.name_key.in_(sa.bindparam("keys", expanding=True)))
)

# Migrations from version N to N+1, run in order inside one transaction by create_schema().
_MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


class _Entry:
    __slots__ = ("client", "digest", "expires")

    def __init__(self, expires: float, client: Client | None, digest: bytes) -> None:
        self.expires = expires
        self.client = client
        # SHA-256 of the stored metadata text the client was parsed from: the cache reuses a
        # parsed client only for byte-identical content. Never the row's ``version``: it
        # restarts at 1 when a client is removed and registered again, so a version can name
        # two different registrations (issue 12, finding 1).
        self.digest = digest


class SQLRegistry:
    """A :class:`~clientauth.ClientRegistry` in a SQL database, shared by every process.

    ``url_or_engine`` is a SQLAlchemy URL (``postgresql+psycopg://user@host/db``,
    ``sqlite:///clients.db``) or an :class:`~sqlalchemy.engine.Engine`. Bound parameters
    (they hold secret hashes) are hidden from error messages and logs on every engine, one
    passed in included (the registry runs on a view of it); a failed write raises
    :class:`~clientauth.exceptions.RegistryError`, which carries no parameter, no row and
    no chained driver exception.

    ``cache_ttl`` bounds how long a change made by another process goes unseen when no
    notification reaches this process (``0`` disables the cache); on PostgreSQL, with
    ``listen`` (the default), writes made anywhere through clientauth are pushed to the cache
    at once (see the module docstring); ``listen=False`` relies on ``cache_ttl`` alone.
    ``negative_ttl`` is the same for unknown ids (default 1 s, at most
    ``cache_ttl``); ``cache_size`` bounds the entries kept (least recently refreshed go first).
    ``now`` is a callable returning an aware datetime (default: the system clock).

    On PostgreSQL no database call waits without bound: ``connect_timeout`` (default 5 s)
    bounds opening a connection and waiting for a free one, ``statement_timeout`` (default
    5 s) bounds each statement on the server, and a client-side watchdog cuts off a server
    that stopped answering ``statement_timeout`` + 1 s into a call (the call raises
    SQLAlchemy's ``OperationalError``; writes raise :class:`~clientauth.exceptions.RegistryError`).
    ``0`` disables a timeout. The connect and server-side settings apply to engines built
    here from a URL (values given in the URL win); the watchdog applies to every PostgreSQL
    engine, including one passed in.

    Call :meth:`create_schema` once per database (it also migrates). Thread-safe. The
    listener thread starts with the first lookup that reaches the database; :meth:`close` (or
    ``with SQLRegistry(...) as registry:``) stops it and releases the pooled connections, and
    a registry garbage-collected without ``close()`` stops listening too.
    """

    def __init__(
        self,
        url_or_engine: str | sa.URL | Engine,
        *,
        cache_ttl: timedelta | float = DEFAULT_CACHE_TTL,
        cache_size: int = DEFAULT_CACHE_SIZE,
        negative_ttl: timedelta | float | None = None,
        now: Callable[[], datetime] | None = None,
        connect_timeout: timedelta | float = DEFAULT_CONNECT_TIMEOUT,
        statement_timeout: timedelta | float = DEFAULT_STATEMENT_TIMEOUT,
        listen: bool = True,
    ) -> None:
        ttl = _duration(cache_ttl, "cache_ttl")
        connect = duration_setting(connect_timeout, "connect_timeout", MAX_DB_TIMEOUT)
        statement = duration_setting(statement_timeout, "statement_timeout", MAX_DB_TIMEOUT)
        negative = (
            min(DEFAULT_NEGATIVE_TTL, ttl)
            if negative_ttl is None
            else _duration(negative_ttl, "negative_ttl")
        )
        if negative > ttl:
            raise ConfigurationError("negative_ttl must not exceed cache_ttl")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int):
            raise ConfigurationError("cache_size must be an integer")
        if not 0 <= cache_size <= MAX_CACHE_SIZE:
            raise ConfigurationError(f"cache_size must be between 0 and {MAX_CACHE_SIZE}")
        if now is not None and not callable(now):
            raise ConfigurationError("now must be a callable returning an aware datetime")
        self._given = url_or_engine if isinstance(url_or_engine, Engine) else None
        self._engine = _engine(url_or_engine, connect, statement)
        self._deadline: float | None = (
            statement.total_seconds() + _WATCHDOG_GRACE
            if statement and self._engine.dialect.name == "postgresql"
            else None
        )
        self._ttl = ttl.total_seconds()
        self._negative_ttl = negative.total_seconds()
        self._size = cache_size if ttl > timedelta(0) else 0
        self._now: Callable[[], datetime] = clock_setting(now)
        # Cache expiry needs elapsed time only: the monotonic clock is cheaper than building
        # a datetime on every hit and immune to wall-clock jumps. An injected clock wins.
        self._clock: Callable[[], float] = (
            time.monotonic if now is None else (lambda: self._now().timestamp())
        )
        self._lock = threading.Lock()
        # Entries are stored under self._lock too, so that the epoch check (was the cache
        # invalidated while the row was read?) and the store are one step.
        self._by_id: LRU[str, _Entry] = LRU(max(self._size, 1))
        self._by_cert: LRU[str, tuple[float, tuple[Client, ...]]] = LRU(max(self._size, 1))
        self._schema_checked = False
        # Bumped by every invalidation: a lookup caches what it read only when no
        # invalidation happened since it started, or a notification that arrived while the
        # query ran would be undone by storing the row read before the change.
        self._epoch = 0
        self._listen = (
            bool(listen) and self._size > 0 and self._engine.dialect.name == "postgresql"
        )
        self._listen_lock = threading.Lock()
        self._subscription: Subscription | None = None
        self._subscribed_in = -1  # _listen.forks() when subscribed: a fork starts over

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine in use (the one passed in, if any: the registry itself
        runs its statements on a view of it that hides bound parameters)."""
        return self._given if self._given is not None else self._engine

    def __repr__(self) -> str:
        url = self._engine.url.render_as_string(hide_password=True)
        return f"SQLRegistry({url!r}, cache_ttl={self._ttl:g}s, listen={self._listen})"

    @property
    def listening(self) -> bool:
        """Whether changes made elsewhere are being pushed to this registry's cache right
        now (a live LISTEN connection); ``False`` before the first lookup, while
        reconnecting, on SQLite, and with ``listen=False`` or no cache."""
        subscription = self._subscription
        return subscription is not None and subscription.live

    def close(self) -> None:
        """Stop listening and release the pooled connections (of an engine built here; one
        passed in is left to its owner). Lookups still work afterwards, on ``cache_ttl``
        alone."""
        with self._listen_lock:
            self._listen = False
            subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.close()
        if self._given is None:
            self._engine.dispose()

    def __enter__(self) -> SQLRegistry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ensure_listening(self) -> None:
        if not self._listen or (
            self._subscription is not None and self._subscribed_in == forks()
        ):
            return
        with self._listen_lock:
            if not self._listen or (
                self._subscription is not None and self._subscribed_in == forks()
            ):
                return
            # A subscription inherited through fork() belongs to the parent's thread, which
            # does not exist here: dropped without closing (closing would wake the parent).
            try:
                subscription = Listener.shared(self._engine).subscribe(
                    NOTIFY_CHANNEL, weak_callback(self, SQLRegistry._on_notify)
                )
            except ListenUnsupported as exc:
                logger.info("not listening for registry changes (%s): cache_ttl applies", exc)
                self._listen = False
                return
            self._subscription, self._subscribed_in = subscription, forks()
            weakref.finalize(self, subscription.close, wait=False)

    def _on_notify(self, payload: str | None) -> None:
        """A notification (``None``: some may have been missed): evict what it names."""
        client_id = None
        if payload is not None:
            try:
                message = json.loads(payload)
            except ValueError:
                message = None
            if isinstance(message, dict) and isinstance(message.get("client_id"), str):
                client_id = message["client_id"]
        self.invalidate(client_id)

    @contextlib.contextmanager
    def _connect(self, *, begin: bool = False) -> Iterator[Connection]:
        """A pooled connection (in a transaction with ``begin``), watched until it is back
        in the pool: returning it runs a ROLLBACK, which can hang too."""
        conn = self._engine.connect()
        guard = self._arm(conn)
        try:
            with conn:
                if begin:
                    with conn.begin():
                        yield conn
                else:
                    yield conn
        finally:
            WATCHDOG.disarm(guard)

    def _arm(self, conn: Connection) -> Guard | None:
        if self._deadline is None:
            return None
        try:
            dbapi = conn.connection.dbapi_connection
            pgconn = getattr(dbapi, "pgconn", None)  # psycopg 3; psycopg2 has fileno()
            fd = pgconn.socket if pgconn is not None else dbapi.fileno()  # type: ignore[union-attr]
        except Exception:  # another driver, or a closed connection: left unwatched
            return None
        return WATCHDOG.arm(int(fd), self._deadline)

    # -- ClientRegistry ------------------------------------------------------------------

    def get(self, client_id: str) -> Client | None:
        if not isinstance(client_id, str) or len(client_id) > MAX_CLIENT_ID_LENGTH:
            return None  # cannot be registered: no query
        # The hit path takes no lock (LRU.get does not), and entries are immutable once stored.
        entry = self._by_id.get(client_id) if self._size else None
        if entry is not None and entry.expires > self._clock():
            return entry.client
        stale = entry
        epoch = self._epoch
        self._ensure_listening()
        self._check_schema()
        with self._connect() as conn:
            row = conn.execute(_SELECT_CLIENT, {"client_id": client_id}).first()
        if row is None:
            self._remember(client_id, None, b"", self._negative_ttl, epoch)
            return None
        digest = _digest(row.metadata)
        # Same stored document as the expired entry: the client is the same, skip parsing.
        if stale is not None and stale.client is not None and stale.digest == digest:
            client = stale.client
        else:
            client = _parse_row(client_id, row.metadata)
        self._remember(client_id, client, digest, self._ttl, epoch)
        return client

    def find_by_certificate(self, certificate: x509.Certificate) -> Sequence[Client]:
        # The x5t#S256 is memoised per certificate object (_x509): a cheap cache key.
        thumbprint = certificate_thumbprint(certificate)
        cached = self._by_cert.get(thumbprint) if self._size else None
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        index_keys = certificate_index_keys(certificate)
        lookup_keys = sorted({_stored_key(key) for key in index_keys})
        epoch = self._epoch
        self._ensure_listening()
        self._check_schema()
        rows: dict[str, tuple[str, int]] = {}
        with self._connect() as conn:
            for start in range(0, len(lookup_keys), _KEY_QUERY_CHUNK):
                chunk = lookup_keys[start : start + _KEY_QUERY_CHUNK]
                for row in conn.execute(_SELECT_BY_NAMES, {"keys": chunk}):
                    rows[row.client_id] = (row.metadata, row.version)
        found: list[Client] = []
        for client_id in sorted(rows):
            client = _parse_row(client_id, rows[client_id][0])
            # The index only narrows the search (its keys are digests); the decision uses the
            # parsed client's own keys, the definition MemoryRegistry uses too.
            if not client.index_keys.isdisjoint(index_keys):
                found.append(client)
        result = tuple(found)
        if self._size:
            with self._lock:
                if epoch != self._epoch:
                    return result  # invalidated while we read: do not keep what we read
                self._by_cert.put(thumbprint, (self._clock() + self._ttl, result))
        return result

    # -- cache ---------------------------------------------------------------------------

    def invalidate(self, client_id: str | None = None) -> None:
        """Forget cached lookups: of one client (and every certificate lookup, which may
        name it), or everything. Writes through this object invalidate by themselves; call
        this when you learn of a change made elsewhere that no notification announces
        (SQLite, a write made with plain SQL) before ``cache_ttl`` runs out."""
        with self._lock:
            self._epoch += 1
            if client_id is None:
                self._by_id.clear()
            else:
                self._by_id.pop(client_id)
            self._by_cert.clear()

    def _remember(
        self, client_id: str, client: Client | None, digest: bytes, ttl: float, epoch: int
    ) -> None:
        if not self._size or ttl <= 0:
            return
        with self._lock:
            if epoch != self._epoch:
                return  # invalidated while we read: what we read may be the old row
            self._by_id.put(client_id, _Entry(self._clock() + ttl, client, digest))

    # -- schema --------------------------------------------------------------------------

    def schema_version(self) -> int | None:
        """The schema version of the database, or ``None`` when there is no schema."""
        with self._connect() as conn:
            return _read_version(conn)

    def create_schema(self) -> int:
        """Create the tables, or migrate them to :data:`SCHEMA_VERSION`. Idempotent; safe
        to run from several processes at once. Returns the schema version."""
        self._create_tables()
        for _ in range(MAX_WRITE_RETRIES):
            with self._connect(begin=True) as conn:
                version = _read_version(conn)
                if version is None:
                    conn.execute(sa.insert(schema_table).values(version=SCHEMA_VERSION))
                    version = SCHEMA_VERSION
                elif version > SCHEMA_VERSION:
                    raise ConfigurationError(_newer(version))
                while version < SCHEMA_VERSION:
                    _MIGRATIONS[version](conn)
                    updated = conn.execute(
                        sa.update(schema_table)
                        .where(schema_table.c.version == version)
                        .values(version=version + 1)
                    )
                    if updated.rowcount != 1:
                        break  # another process migrated meanwhile; start again
                    version += 1
            if version == SCHEMA_VERSION:
                # Two processes creating a fresh schema at once may both insert a row.
                with self._connect(begin=True) as conn:
                    rows = conn.execute(sa.select(sa.func.count()).select_from(schema_table))
                    if rows.scalar_one() > 1:
                        conn.execute(sa.delete(schema_table))
                        conn.execute(sa.insert(schema_table).values(version=SCHEMA_VERSION))
                self._schema_checked = True
                return version
        raise ConfigurationError("could not migrate the schema: too much contention")

    def _create_tables(self) -> None:
        for attempt in range(MAX_WRITE_RETRIES):
            try:
                with self._connect(begin=True) as conn:
                    if conn.dialect.name == "postgresql":
                        # Concurrent CREATE TABLEs collide in PostgreSQL's catalog: serialise
                        # them (the lock ends with the transaction).
                        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
                    _meta.create_all(conn, checkfirst=True)
                return
            except (sa.exc.ProgrammingError, sa.exc.IntegrityError, sa.exc.OperationalError):
                # Another process created a table between our check and our CREATE.
                if attempt == MAX_WRITE_RETRIES - 1:
                    raise
                time.sleep(random.uniform(0, 0.01))  # noqa: S311 - jitter, not a secret

    def rebuild_index(self) -> int:
        """Recompute ``clientauth_client_names`` from the stored metadata (after a
        migration that changes how names are normalised). Returns the number of clients."""
        self._check_schema()
        clients = list(self.clients())

        def write() -> None:
            with self._connect(begin=True) as conn:
                conn.execute(sa.delete(names_table))
                for client in clients:
                    _insert_names(conn, client)
                _announce(conn, None)

        _storing(write)
        self.invalidate()
        return len(clients)

    def _check_schema(self) -> None:
        if self._schema_checked:
            return
        version = self.schema_version()
        if version is None:
            url = self._engine.url.render_as_string(hide_password=True)
            raise ConfigurationError(
                f"no clientauth schema in {url}: create it with SQLRegistry.create_schema() "
                "or `clientauth client migrate --registry URL`"
            )
        if version > SCHEMA_VERSION:
            raise ConfigurationError(_newer(version))
        if version < SCHEMA_VERSION:
            raise ConfigurationError(
                f"the database schema is version {version}, this clientauth needs "
                f"{SCHEMA_VERSION}: run `clientauth client migrate --registry URL`"
            )
        self._schema_checked = True

    # -- writes --------------------------------------------------------------------------

    def clients(self) -> Iterator[Client]:
        """Every registered client, by id, read from the database (not the cache)."""
        self._check_schema()
        with self._connect() as conn:
            rows = conn.execute(
                sa.select(clients_table.c.client_id, clients_table.c.metadata).order_by(
                    clients_table.c.client_id
                )
            ).all()
        for row in rows:
            yield _parse_row(row.client_id, row.metadata)

    def __iter__(self) -> Iterator[Client]:
        return self.clients()

    def add(self, client: Client) -> None:
        """Register a new client; a duplicate id raises :class:`ClientMetadataError`."""
        check_client(client)
        self._check_schema()

        def write() -> bool:
            try:
                with self._connect(begin=True) as conn:
                    conn.execute(sa.insert(clients_table).values(**self._row(client, 1)))
                    _insert_names(conn, client)
                    _announce(conn, client.client_id)
            except sa.exc.IntegrityError:
                if not self._exists(client.client_id):
                    raise  # not a duplicate: a constraint of the database refused the row
                return False
            return True

        if not _storing(write, [client]):
            # Raised here, outside the handler: the IntegrityError (its parameters hold the
            # secret hashes) must not ride along as __context__.
            raise ClientMetadataError(
                "duplicate client_id", client_id=client.client_id, field="client_id"
            )
        self.invalidate(client.client_id)

    def replace(self, client: Client) -> None:
        """Replace (or add) a client, whatever its current version."""
        check_client(client)
        self._update(client.client_id, lambda _: client, create=True)

    def update(self, client_id: str, change: Callable[[Client], Client]) -> Client | None:
        """Read-modify-write one client with optimistic concurrency: ``change`` receives the
        stored client and returns the new one; when another writer got there first, the
        change is applied again to the newer client (``change`` must be repeatable).

        Returns the new client, or ``None`` (nothing written) when ``client_id`` is not
        registered.
        """

        def apply(current: Client | None) -> Client:
            assert current is not None  # noqa: S101 - _update() calls it only with a client
            return change(current)

        return self._update(client_id, apply, create=False)

    def _update(
        self, client_id: str, change: Callable[[Client | None], Client], *, create: bool
    ) -> Client | None:
        self._check_schema()
        seen: list[Client] = []  # every version handled: their hashes are redacted from errors
        return _storing(lambda: self._update_once(client_id, change, create, seen), seen)

    def _update_once(
        self,
        client_id: str,
        change: Callable[[Client | None], Client],
        create: bool,
        seen: list[Client],
    ) -> Client | None:
        for attempt in range(MAX_WRITE_RETRIES):
            # Read and write in separate transactions: the write holds a lock only as long
            # as the UPDATE, and SQLite never has to upgrade a read lock (which deadlocks).
            with self._connect() as conn:
                row = conn.execute(_SELECT_CLIENT, {"client_id": client_id}).first()
            if row is None and not create:
                return None
            current = None if row is None else _parse_row(client_id, row.metadata)
            if current is not None:
                seen.append(current)
            new = change(current)
            check_client(new)
            seen.append(new)
            if new.client_id != client_id:
                raise ClientMetadataError(
                    "an update must not change client_id", client_id=client_id, field="client_id"
                )
            try:
                with self._connect(begin=True) as conn:
                    if row is None:
                        conn.execute(sa.insert(clients_table).values(**self._row(new, 1)))
                    else:
                        # The stored text too, not the version alone: a client removed
                        # and registered again restarts at version 1, and a change computed
                        # from the old registration must not overwrite the new one.
                        done = conn.execute(
                            sa.update(clients_table)
                            .where(
                                clients_table.c.client_id == client_id,
                                clients_table.c.version == row.version,
                                clients_table.c.metadata == row.metadata,
                            )
                            .values(**self._row(new, row.version + 1))
                        )
                        if done.rowcount != 1:
                            raise _Conflict
                    conn.execute(sa.delete(names_table).where(names_table.c.client_id == client_id))
                    _insert_names(conn, new)
                    _announce(conn, client_id)
            except _Conflict:
                pass  # another writer changed the row since we read it
            except sa.exc.IntegrityError:
                # Another writer created the row since we read "no row" -- or a constraint
                # of the database refused the row, which no retry can change.
                if row is not None or not self._exists(client_id):
                    raise
            else:
                self.invalidate(client_id)
                return new
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 - jitter
        raise ConfigurationError(
            f"client {client_id!r} changed {MAX_WRITE_RETRIES} times while being updated; "
            "try again"
        )

    def _exists(self, client_id: str) -> bool:
        with self._connect() as conn:
            return conn.execute(_SELECT_CLIENT, {"client_id": client_id}).first() is not None

    def remove(self, client_id: str) -> bool:
        """Remove a client; returns whether it was registered."""
        self._check_schema()

        def write() -> bool:
            with self._connect(begin=True) as conn:
                conn.execute(sa.delete(names_table).where(names_table.c.client_id == client_id))
                done = conn.execute(
                    sa.delete(clients_table).where(clients_table.c.client_id == client_id)
                )
                if done.rowcount:
                    _announce(conn, client_id)
            return bool(done.rowcount)

        removed = _storing(write)
        self.invalidate(client_id)
        return removed

    def _row(self, client: Client, version: int) -> dict[str, Any]:
        return {
            "client_id": client.client_id,
            "metadata": json.dumps(client.to_metadata(), sort_keys=True, ensure_ascii=False),
            "version": version,
            "updated_at": self._now(),
        }


class _Conflict(Exception):
    """The row changed between our read and our write."""


def _storing(write: Callable[[], T], clients: Sequence[Client] = ()) -> T:
    """Run a write; a database error becomes a :class:`RegistryError` that carries neither
    the statement's parameters nor the driver's detail (PostgreSQL's "Failing row contains
    (...)" quotes the whole row, secret hashes included) and chains no exception.

    ``clients`` are the clients being written: their secret hashes are redacted from the
    message in any case. Works the same on an Engine passed in by the user, whatever its
    ``hide_parameters``.
    """
    try:
        return write()
    except sa.exc.StatementError as exc:
        error = _registry_error(exc, clients)
    # Raised outside the handler so that nothing (not even __context__) links it to the
    # driver's exception, whose attributes hold the parameters.
    raise error


def _registry_error(exc: sa.exc.StatementError, clients: Sequence[Client]) -> RegistryError:
    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)  # psycopg: the primary message without DETAIL
    primary = getattr(diag, "message_primary", None)
    text = primary if isinstance(primary, str) and primary else str(orig or type(exc).__name__)
    lines = text.strip().splitlines()
    reason = lines[0] if lines else type(exc).__name__
    hidden = {h for client in clients for h in _secret_hashes(client)}
    for value in sorted(hidden, key=len, reverse=True):
        reason = reason.replace(value, "[hidden]")
    reason = _HASH_PATTERN.sub("[hidden]", reason)[:_MAX_REASON]
    sqlstate = getattr(orig, "sqlstate", None) or getattr(diag, "sqlstate", None)
    return RegistryError(
        f"database error: {reason}",
        sqlstate=sqlstate if isinstance(sqlstate, str) else None,
    )


def _secret_hashes(client: Client) -> set[str]:
    return {s.text for s in client.secrets if s.text}


def _announce(conn: Connection, client_id: str | None) -> None:
    """Tell every listening registry (PostgreSQL) that ``client_id`` (``None``: anything)
    changed; delivered when ``conn``'s transaction commits."""
    if conn.dialect.name != "postgresql":
        return
    payload = (
        _ALL_CHANGED
        if client_id is None
        else json.dumps({"client_id": client_id}, ensure_ascii=False)
    )
    notify(conn, NOTIFY_CHANNEL, payload, fallback=_ALL_CHANGED)


def _insert_names(conn: Connection, client: Client) -> None:
    keys = {_stored_key(key) for key in client.index_keys}
    if keys:
        conn.execute(
            sa.insert(names_table),
            [{"name_key": k, "client_id": client.client_id} for k in sorted(keys)],
        )


def _stored_key(key: IndexKey) -> str:
    """How an index key (Client.index_keys, certificate_index_keys) is stored in
    ``clientauth_client_names``."""
    field, value = key
    if field == THUMBPRINT_INDEX and isinstance(value, str):
        return f"x5t:{value}"
    # Name keys are str, bytes or nested tuples of str (names.py): their repr is stable.
    digest = hashlib.sha256(repr((field, value)).encode("utf-8", "backslashreplace")).hexdigest()
    return f"name:{digest}"


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _parse_row(client_id: str, text: str) -> Client:
    try:
        metadata = json.loads(text)
    except ValueError:
        raise ClientMetadataError(
            "stored metadata is not valid JSON", client_id=client_id
        ) from None
    client = Client.from_metadata(metadata)
    if client.client_id != client_id:
        raise ClientMetadataError("stored metadata names another client_id", client_id=client_id)
    return client


def _read_version(conn: Connection) -> int | None:
    if not sa.inspect(conn).has_table(schema_table.name):
        return None
    version = conn.execute(sa.select(sa.func.max(schema_table.c.version))).scalar()
    return None if version is None else int(version)


def _newer(version: int) -> str:
    return (
        f"the database schema is version {version}, newer than this clientauth "
        f"({SCHEMA_VERSION}): upgrade clientauth"
    )



def _engine(value: object, connect_timeout: timedelta, statement_timeout: timedelta) -> Engine:
    if isinstance(value, Engine):
        if value.hide_parameters:
            return value
        # A view sharing the user's pool and dialect, with parameters (secret hashes)
        # hidden from error messages and from the SQL echo log; the user's engine is left
        # as it is.
        view = value.execution_options()
        view.hide_parameters = True
        return view
    if not isinstance(value, str | sa.URL):
        raise ConfigurationError("url_or_engine must be a database URL or a SQLAlchemy Engine")
    try:
        url = sa.make_url(value)
        url.port  # noqa: B018 - parsed lazily by some SQLAlchemy versions: fail here
    except (sa.exc.ArgumentError, ValueError):
        # Never echo the URL: it may hold a password.
        raise ConfigurationError(
            "not a valid database URL: check the scheme, host and port (expected e.g. "
            "sqlite:///clients.db or postgresql+psycopg://user@host:5432/db)"
        ) from None
    options: dict[str, Any] = {"hide_parameters": True}
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            # One shared connection, or every connection would see its own empty database.
            options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            options["connect_args"] = {"timeout": _SQLITE_BUSY_TIMEOUT}
    elif url.get_backend_name() == "postgresql":
        options.update(_postgres_timeouts(url, connect_timeout, statement_timeout))
    # No pool_pre_ping: it would add a round trip to every cache miss. After a database
    # restart SQLAlchemy invalidates the whole pool on the first disconnect error, so one
    # lookup per process fails (and raises) instead. Pass your own Engine to choose otherwise.
    try:
        return sa.create_engine(url, **options)
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise ConfigurationError(
            f"cannot use {url.drivername!r}: {exc} (PostgreSQL: pip install 'psycopg[binary]' "
            "and a postgresql+psycopg:// URL)"
        ) from None


def _postgres_timeouts(
    url: sa.URL, connect_timeout: timedelta, statement_timeout: timedelta
) -> dict[str, Any]:
    """Engine options bounding every wait; a value the URL already sets is kept."""
    options: dict[str, Any] = {}
    connect_args: dict[str, Any] = {}
    if connect_timeout:
        seconds = max(_MIN_CONNECT_TIMEOUT, math.ceil(connect_timeout.total_seconds()))
        if "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = seconds
        options["pool_timeout"] = seconds
    given = url.query.get("options", "")
    given = given if isinstance(given, str) else " ".join(given)
    if statement_timeout and "statement_timeout" not in given:
        milliseconds = max(1, round(statement_timeout.total_seconds() * 1000))
        # libpq's "options" connection parameter: settings for the server session.
        connect_args["options"] = f"{given} -c statement_timeout={milliseconds}".strip()
    if connect_args:
        options["connect_args"] = connect_args
    return options


def _duration(value: object, name: str) -> timedelta:
    return duration_setting(value, name, MAX_CACHE_TTL)

