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
version = :seen``) and retried, so two concurrent rotations never lose one.
``clientauth_client_names`` holds one row per registered certificate name of a
``tls_client_auth`` client and per pinned ``x5t#S256`` of a ``self_signed_tls_client_auth``
client; names are stored as SHA-256 digests of their normalised key, which keeps index
entries small (a DN may be 4 KiB; PostgreSQL b-tree entries are limited to ~2.7 KiB).

Lookups go through a bounded in-process cache with a short TTL: a change made by another
process is seen here within ``cache_ttl`` (that is the revocation latency), a change made
through *this* registry object at once. Unknown ids are cached too, for a shorter time, so a
flood of made-up ids cannot turn into a flood of queries.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from ._clock import duration_setting, system_now
from ._x509 import certificate_thumbprint
from .clients import MAX_CLIENT_ID_LENGTH, Client
from .exceptions import ClientMetadataError, ConfigurationError
from .names import certificate_name_keys
from .result import AuthMethod

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_CACHE_TTL",
    "MAX_CACHE_SIZE",
    "MAX_CACHE_TTL",
    "MAX_WRITE_RETRIES",
    "SCHEMA_VERSION",
    "SQLRegistry",
]

SCHEMA_VERSION = 1
"""The schema this version of clientauth reads and writes."""

DEFAULT_CACHE_TTL = timedelta(seconds=5)
"""How long a looked-up client is served from the cache: the revocation latency across
processes."""

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

_KEY_QUERY_CHUNK = 200  # bind parameters per IN (...) query; certificates may carry many SANs
_PG_LOCK_KEY = 0x636C6175  # "clau": the advisory lock taken while creating the schema
_SQLITE_BUSY_TIMEOUT = 30.0  # seconds a SQLite writer waits for another process's lock

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
    __slots__ = ("client", "expires", "version")

    def __init__(self, expires: float, client: Client | None, version: int) -> None:
        self.expires = expires
        self.client = client
        self.version = version


class SQLRegistry:
    """A :class:`~clientauth.ClientRegistry` in a SQL database, shared by every process.

    ``url_or_engine`` is a SQLAlchemy URL (``postgresql+psycopg://user@host/db``,
    ``sqlite:///clients.db``) or an :class:`~sqlalchemy.engine.Engine`. Engines built here
    hide bound parameters from error messages (they hold secret hashes).

    ``cache_ttl`` bounds how long a change made by another process goes unseen (``0``
    disables the cache); ``negative_ttl`` is the same for unknown ids (default 1 s, at most
    ``cache_ttl``); ``cache_size`` bounds the entries kept (least recently refreshed go first).
    ``now`` is a callable returning an aware datetime (default: the system clock).

    Call :meth:`create_schema` once per database (it also migrates). Thread-safe.
    """

    def __init__(
        self,
        url_or_engine: str | sa.URL | Engine,
        *,
        cache_ttl: timedelta | float = DEFAULT_CACHE_TTL,
        cache_size: int = DEFAULT_CACHE_SIZE,
        negative_ttl: timedelta | float | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        ttl = _duration(cache_ttl, "cache_ttl")
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
        self._engine = _engine(url_or_engine)
        self._ttl = ttl.total_seconds()
        self._negative_ttl = negative.total_seconds()
        self._size = cache_size if ttl > timedelta(0) else 0
        self._now: Callable[[], datetime] = now or system_now
        # Cache expiry needs elapsed time only: the monotonic clock is cheaper than building
        # a datetime on every hit and immune to wall-clock jumps. An injected clock wins.
        self._clock: Callable[[], float] = (
            time.monotonic if now is None else (lambda: self._now().timestamp())
        )
        self._lock = threading.Lock()
        self._by_id: OrderedDict[str, _Entry] = OrderedDict()
        self._by_cert: OrderedDict[str, tuple[float, tuple[Client, ...]]] = OrderedDict()
        self._schema_checked = False

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine in use."""
        return self._engine

    def __repr__(self) -> str:
        url = self._engine.url.render_as_string(hide_password=True)
        return f"SQLRegistry({url!r}, cache_ttl={self._ttl:g}s)"

    # -- ClientRegistry ------------------------------------------------------------------

    def get(self, client_id: str) -> Client | None:
        if not isinstance(client_id, str) or len(client_id) > MAX_CLIENT_ID_LENGTH:
            return None  # cannot be registered: no query
        # The hit path takes no lock: a dict read is atomic, and entries are immutable once
        # stored. Recency is refreshed when an entry is re-read after its TTL (_remember), so
        # eviction is "least recently refreshed" -- close to LRU at a fraction of the cost.
        entry = self._by_id.get(client_id) if self._size else None
        if entry is not None and entry.expires > self._clock():
            return entry.client
        stale = entry
        self._check_schema()
        with self._engine.connect() as conn:
            row = conn.execute(_SELECT_CLIENT, {"client_id": client_id}).first()
        if row is None:
            self._remember(client_id, None, 0, self._negative_ttl)
            return None
        # Same version as the expired entry: the row did not change, skip the parsing.
        if stale is not None and stale.client is not None and stale.version == row.version:
            client = stale.client
        else:
            client = _parse_row(client_id, row.metadata)
        self._remember(client_id, client, row.version, self._ttl)
        return client

    def find_by_certificate(self, certificate: x509.Certificate) -> Sequence[Client]:
        # The x5t#S256 is memoised per certificate object (_x509): a cheap cache key.
        thumbprint = certificate_thumbprint(certificate)
        cached = self._by_cert.get(thumbprint) if self._size else None
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        name_keys = certificate_name_keys(certificate)
        lookup = {_name_key(field, key): (field, key) for field, key in name_keys}
        lookup_keys = [_thumbprint_key(thumbprint), *lookup]
        self._check_schema()
        rows: dict[str, tuple[str, int]] = {}
        with self._engine.connect() as conn:
            for start in range(0, len(lookup_keys), _KEY_QUERY_CHUNK):
                chunk = lookup_keys[start : start + _KEY_QUERY_CHUNK]
                for row in conn.execute(_SELECT_BY_NAMES, {"keys": chunk}):
                    rows[row.client_id] = (row.metadata, row.version)
        found: list[Client] = []
        for client_id in sorted(rows):
            client = _parse_row(client_id, rows[client_id][0])
            # The index only narrows the search; the decision uses the parsed client, with
            # the same rules as MemoryRegistry.
            if (
                client.method is AuthMethod.TLS_CLIENT_AUTH
                and client.registered_name is not None
                and (client.registered_name.field, client.registered_name.key) in name_keys
            ) or (
                client.method is AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH
                and thumbprint in client.pinned_thumbprints
            ):
                found.append(client)
        result = tuple(found)
        if self._size:
            with self._lock:
                self._by_cert[thumbprint] = (self._clock() + self._ttl, result)
                self._by_cert.move_to_end(thumbprint)
                while len(self._by_cert) > self._size:
                    self._by_cert.popitem(last=False)
        return result

    # -- cache ---------------------------------------------------------------------------

    def invalidate(self, client_id: str | None = None) -> None:
        """Forget cached lookups: of one client (and every certificate lookup, which may
        name it), or everything. Writes through this object invalidate by themselves; call
        this when you learn of a change made elsewhere before ``cache_ttl`` runs out."""
        with self._lock:
            if client_id is None:
                self._by_id.clear()
            else:
                self._by_id.pop(client_id, None)
            self._by_cert.clear()

    def _remember(self, client_id: str, client: Client | None, version: int, ttl: float) -> None:
        if not self._size or ttl <= 0:
            return
        with self._lock:
            self._by_id[client_id] = _Entry(self._clock() + ttl, client, version)
            self._by_id.move_to_end(client_id)
            while len(self._by_id) > self._size:
                self._by_id.popitem(last=False)

    # -- schema --------------------------------------------------------------------------

    def schema_version(self) -> int | None:
        """The schema version of the database, or ``None`` when there is no schema."""
        with self._engine.connect() as conn:
            return _read_version(conn)

    def create_schema(self) -> int:
        """Create the tables, or migrate them to :data:`SCHEMA_VERSION`. Idempotent; safe
        to run from several processes at once. Returns the schema version."""
        self._create_tables()
        for _ in range(MAX_WRITE_RETRIES):
            with self._engine.begin() as conn:
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
                with self._engine.begin() as conn:
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
                with self._engine.begin() as conn:
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
        with self._engine.begin() as conn:
            conn.execute(sa.delete(names_table))
            for client in clients:
                _insert_names(conn, client)
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
        with self._engine.connect() as conn:
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
        _check_client(client)
        self._check_schema()
        try:
            with self._engine.begin() as conn:
                conn.execute(sa.insert(clients_table).values(**self._row(client, 1)))
                _insert_names(conn, client)
        except sa.exc.IntegrityError:
            raise ClientMetadataError(
                "duplicate client_id", client_id=client.client_id, field="client_id"
            ) from None
        self.invalidate(client.client_id)

    def replace(self, client: Client) -> None:
        """Replace (or add) a client, whatever its current version."""
        _check_client(client)
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
        for attempt in range(MAX_WRITE_RETRIES):
            # Read and write in separate transactions: the write holds a lock only as long
            # as the UPDATE, and SQLite never has to upgrade a read lock (which deadlocks).
            with self._engine.connect() as conn:
                row = conn.execute(_SELECT_CLIENT, {"client_id": client_id}).first()
            if row is None and not create:
                return None
            current = None if row is None else _parse_row(client_id, row.metadata)
            new = change(current)
            _check_client(new)
            if new.client_id != client_id:
                raise ClientMetadataError(
                    "an update must not change client_id", client_id=client_id, field="client_id"
                )
            try:
                with self._engine.begin() as conn:
                    if row is None:
                        conn.execute(sa.insert(clients_table).values(**self._row(new, 1)))
                    else:
                        done = conn.execute(
                            sa.update(clients_table)
                            .where(
                                clients_table.c.client_id == client_id,
                                clients_table.c.version == row.version,
                            )
                            .values(**self._row(new, row.version + 1))
                        )
                        if done.rowcount != 1:
                            raise _Conflict
                    conn.execute(sa.delete(names_table).where(names_table.c.client_id == client_id))
                    _insert_names(conn, new)
            except (_Conflict, sa.exc.IntegrityError):
                # Another writer changed (or created) the row since we read it: read again.
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 - jitter
                continue
            self.invalidate(client_id)
            return new
        raise ConfigurationError(
            f"client {client_id!r} changed {MAX_WRITE_RETRIES} times while being updated; "
            "try again"
        )

    def remove(self, client_id: str) -> bool:
        """Remove a client; returns whether it was registered."""
        self._check_schema()
        with self._engine.begin() as conn:
            conn.execute(sa.delete(names_table).where(names_table.c.client_id == client_id))
            done = conn.execute(
                sa.delete(clients_table).where(clients_table.c.client_id == client_id)
            )
        self.invalidate(client_id)
        return bool(done.rowcount)

    def _row(self, client: Client, version: int) -> dict[str, Any]:
        return {
            "client_id": client.client_id,
            "metadata": json.dumps(client.to_metadata(), sort_keys=True, ensure_ascii=False),
            "version": version,
            "updated_at": self._now(),
        }


class _Conflict(Exception):
    """The row changed between our read and our write."""


def _insert_names(conn: Connection, client: Client) -> None:
    keys: set[str] = set()
    if client.method is AuthMethod.TLS_CLIENT_AUTH and client.registered_name is not None:
        keys.add(_name_key(client.registered_name.field, client.registered_name.key))
    if client.method is AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH:
        keys.update(_thumbprint_key(t) for t in client.pinned_thumbprints)
    if keys:
        conn.execute(
            sa.insert(names_table),
            [{"name_key": k, "client_id": client.client_id} for k in sorted(keys)],
        )


def _name_key(field: str, key: Hashable) -> str:
    # Keys are str, bytes or nested tuples of str (names.py): their repr is stable.
    digest = hashlib.sha256(repr((field, key)).encode("utf-8", "backslashreplace")).hexdigest()
    return f"name:{digest}"


def _thumbprint_key(thumbprint: str) -> str:
    return f"x5t:{thumbprint}"


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


def _check_client(client: object) -> None:
    if not isinstance(client, Client):
        raise ConfigurationError(f"expected a Client, got {type(client).__name__}")


def _engine(value: object) -> Engine:
    if isinstance(value, Engine):
        return value
    if not isinstance(value, str | sa.URL):
        raise ConfigurationError("url_or_engine must be a database URL or a SQLAlchemy Engine")
    try:
        url = sa.make_url(value)
    except sa.exc.ArgumentError:
        raise ConfigurationError(
            "not a database URL (expected e.g. sqlite:///clients.db)"
        ) from None
    options: dict[str, Any] = {"hide_parameters": True}
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            # One shared connection, or every connection would see its own empty database.
            options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            options["connect_args"] = {"timeout": _SQLITE_BUSY_TIMEOUT}
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


def _duration(value: object, name: str) -> timedelta:
    return duration_setting(value, name, MAX_CACHE_TTL)

