"""A replay store for client assertions in a SQL database (SQLAlchemy 2 Core): PostgreSQL
for several hosts, SQLite for several processes on one host. See :mod:`clientauth.replay`.

Schema (created by :meth:`SQLReplayStore.create_schema`, idempotent)::

    clientauth_assertion_jti  (jti_key PK, expires_at)

``jti_key`` is :func:`clientauth.replay.replay_key` (SHA-256 hex of the client id and the
``jti``), ``expires_at`` seconds since the epoch. One statement decides each assertion:
``INSERT ... ON CONFLICT (jti_key) DO UPDATE SET expires_at = ... WHERE expires_at <= now
RETURNING jti_key`` -- a row comes back for a new ``jti`` or an expired one taken over, none
for a replay, and two hosts racing with the same ``jti`` cannot both get one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from ._clock import clock_setting, duration_setting
from .exceptions import ConfigurationError
from .registry.sql import DEFAULT_CONNECT_TIMEOUT, DEFAULT_STATEMENT_TIMEOUT, MAX_DB_TIMEOUT
from .registry.sql import _engine as build_engine
from .replay import replay_key

__all__ = ["DEFAULT_PURGE_INTERVAL", "SQLReplayStore", "jti_table"]

DEFAULT_PURGE_INTERVAL = timedelta(seconds=60)
"""How often a :class:`SQLReplayStore` deletes expired rows (per process)."""

_MAX_PURGE_INTERVAL = timedelta(days=1)

_meta = sa.MetaData()
jti_table = sa.Table(
    "clientauth_assertion_jti",
    _meta,
    sa.Column("jti_key", sa.String(64), primary_key=True),  # replay_key(): SHA-256 hex
    sa.Column("expires_at", sa.Float, nullable=False),  # seconds since the epoch
)
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class SQLReplayStore:
    """A :class:`ReplayStore` in a SQL database shared by every process and host.

    ``url_or_engine`` is a SQLAlchemy URL (``postgresql+psycopg://user@host/db``,
    ``sqlite:///jti.db``) or an :class:`~sqlalchemy.engine.Engine` -- the one of a
    :class:`~clientauth.registry_sql.SQLRegistry` (``registry.engine``) is fine. Engines are
    built as :class:`~clientauth.registry_sql.SQLRegistry` builds them (bound parameters
    hidden, PostgreSQL ``connect_timeout`` / ``statement_timeout``). Call
    :meth:`create_schema` once per database. Thread-safe.
    """

    def __init__(
        self,
        url_or_engine: str | sa.URL | Engine,
        *,
        purge_interval: timedelta | float = DEFAULT_PURGE_INTERVAL,
        now: Callable[[], datetime] | None = None,
        connect_timeout: timedelta | float = DEFAULT_CONNECT_TIMEOUT,
        statement_timeout: timedelta | float = DEFAULT_STATEMENT_TIMEOUT,
    ) -> None:
        connect = duration_setting(connect_timeout, "connect_timeout", MAX_DB_TIMEOUT)
        statement = duration_setting(statement_timeout, "statement_timeout", MAX_DB_TIMEOUT)
        self._purge_every = duration_setting(
            purge_interval, "purge_interval", _MAX_PURGE_INTERVAL
        ).total_seconds()
        self._engine = build_engine(url_or_engine, connect, statement)
        # Each dialect's insert() has its own ON CONFLICT builder (no common type).
        insert: Any = _INSERTS.get(self._engine.dialect.name)
        if insert is None:
            raise ConfigurationError(
                f"SQLReplayStore supports PostgreSQL and SQLite, not {self._engine.dialect.name}"
            )
        statement_ = insert(jti_table).values(
            jti_key=sa.bindparam("key"), expires_at=sa.bindparam("until")
        )
        # One atomic statement: a new row, or an expired row taken over; an unexpired row
        # makes the WHERE false and nothing is returned -- a replay.
        self._use = statement_.on_conflict_do_update(
            index_elements=[jti_table.c.jti_key],
            set_={"expires_at": statement_.excluded.expires_at},
            where=jti_table.c.expires_at <= sa.bindparam("now"),
        ).returning(jti_table.c.jti_key)
        self._purge = sa.delete(jti_table).where(jti_table.c.expires_at <= sa.bindparam("now"))
        self._now = clock_setting(now)
        self._next_purge = 0.0
        self._purge_lock = threading.Lock()

    def __repr__(self) -> str:
        url = self._engine.url.render_as_string(hide_password=True)
        return f"SQLReplayStore({url!r})"

    def create_schema(self) -> None:
        """Create the table if it is missing. Idempotent; safe from several processes."""
        try:
            _meta.create_all(self._engine, checkfirst=True)
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
            # Another process created it between the check and the CREATE (PostgreSQL's
            # catalog answers that as a unique violation); it exists now.
            if not sa.inspect(self._engine).has_table(jti_table.name):
                raise

    def use(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        now = self._now().timestamp()
        params = {"key": replay_key(client_id, jti), "until": expires_at.timestamp(), "now": now}
        with self._engine.begin() as conn:
            first = conn.execute(self._use, params).first() is not None
            if self._purge_due():
                conn.execute(self._purge, {"now": now})
        return first

    def _purge_due(self) -> bool:
        moment = time.monotonic()
        with self._purge_lock:
            if moment < self._next_purge:
                return False
            self._next_purge = moment + self._purge_every
            return True
