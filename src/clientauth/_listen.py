"""PostgreSQL LISTEN/NOTIFY for in-process caches: one background connection per database and
process, shared by every subscriber, whatever the channel.

    subscription = Listener.shared(engine).subscribe("clientauth_clients", on_change)
    ...
    subscription.close()

``on_change(payload)`` runs on the listener's thread for every notification on the channel
(``payload`` is the NOTIFY payload), and with ``None`` whenever notifications may have been
missed: once the subscription is live (anything cached before may be stale) and after every
reconnection (a restart, a lost connection: what was sent meanwhile is gone for good,
PostgreSQL keeps no backlog for a listener that is not connected). A subscriber must then
drop everything it caches. Callbacks must be quick and must not block: they share one thread.

Writers call :func:`notify` inside their write transaction: PostgreSQL delivers a
notification when (and only when) that transaction commits, so a listener never hears of a
change it could not read yet, nor of one that was rolled back.

The connection is taken from the subscriber's SQLAlchemy engine (so the engine's connect
arguments, SSL settings and ``connect`` events apply) and detached from its pool. It runs in
autocommit mode, says ``LISTEN`` for each subscribed channel, sleeps in ``select()`` on its
socket (and on a wake-up pipe, so subscribing and stopping take effect at once), and sends a
``SELECT 1`` after :data:`HEARTBEAT_INTERVAL` of silence, cut off by the process's database
watchdog (:mod:`clientauth._watchdog`) when the server does not answer. A lost connection is
replaced with bounded, jittered backoff (:data:`RECONNECT_DELAYS`). The thread is a daemon,
ends when its last subscription is closed (explicitly, or when the subscriber is garbage
collected) and is stopped at interpreter exit. A forked child starts over with no listener
(its parent's thread does not exist there): subscribers subscribe again (see :func:`forks`).

Only psycopg 3 connections can listen; with another driver :meth:`Listener.subscribe` raises
:class:`ListenUnsupported` and the caller keeps its time-based expiry alone.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import random
import select
import threading
import weakref
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ._watchdog import WATCHDOG

__all__ = [
    "APPLICATION_NAME",
    "HEARTBEAT_INTERVAL",
    "HEARTBEAT_TIMEOUT",
    "MAX_PAYLOAD_BYTES",
    "RECONNECT_DELAYS",
    "ListenUnsupported",
    "Listener",
    "Subscription",
    "forks",
    "notify",
    "weak_callback",
]

MAX_PAYLOAD_BYTES = 7999
"""Longest NOTIFY payload PostgreSQL accepts (8000 bytes in the server encoding, less than)."""

HEARTBEAT_INTERVAL = 5.0
"""Seconds of silence after which the listener checks its connection with ``SELECT 1``: a
connection lost without a FIN (a dropped network path) is noticed within this plus
:data:`HEARTBEAT_TIMEOUT`, then replaced (and subscribers drop their caches)."""

HEARTBEAT_TIMEOUT = 5.0
"""Seconds the heartbeat waits for the server before the connection is cut off."""

RECONNECT_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0)
"""Pauses between reconnection attempts (then the last one, repeated), each with up to 50 %
jitter: a restarted database is listened to again about a second after it accepts
connections, which bounds how long a change made meanwhile goes unseen."""

APPLICATION_NAME = "clientauth-listener"
"""``application_name`` of listener connections, as shown in ``pg_stat_activity``."""

_STOP_TIMEOUT = 5.0  # seconds close()/exit wait for a thread (one busy connecting may take longer)

logger = logging.getLogger("clientauth.registry")

Callback = Callable[[str | None], None]


class ListenUnsupported(Exception):  # a condition, not a ClientAuthError: never escapes
    """The engine's driver cannot LISTEN (only psycopg 3 can)."""


def notify(conn: Connection, channel: str, payload: str, *, fallback: str) -> None:
    """Send a notification inside ``conn``'s transaction (delivered when it commits); a
    ``payload`` too long for PostgreSQL is replaced by ``fallback`` (which must fit), whose
    meaning for subscribers must cover it (e.g. "everything changed")."""
    if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        payload = fallback
    # pg_notify() with bound parameters: NOTIFY itself takes no parameters.
    conn.execute(sa.select(sa.func.pg_notify(channel, payload)))


_fork_count = 0


def forks() -> int:
    """How many times this process's ancestors forked since the module was loaded: a
    subscription made under another count belongs to a parent process and is dead here."""
    return _fork_count


class Subscription:
    """One subscriber's interest in one channel; :meth:`close` ends it."""

    __slots__ = ("__weakref__", "_callback", "_listener", "channel", "closed", "live")

    def __init__(self, listener: Listener, channel: str, callback: Callback) -> None:
        self._listener = listener
        self._callback = callback
        self.channel = channel
        self.closed = False
        # Set once the channel is listened to on a connection; cleared while reconnecting.
        self.live = False

    def close(self, *, wait: bool = True) -> None:
        """Stop receiving. The listener's thread ends when its last subscription closes;
        with ``wait`` this call waits for it (briefly). Safe from any thread, idempotent,
        and safe in a finaliser with ``wait=False`` (no lock is taken then)."""
        self.closed = True
        self._listener._wake()
        if wait:
            self._listener._join_if_idle()


class Listener:
    """The LISTEN connection of one database in this process (see the module docstring)."""

    _shared: dict[str, Listener] = {}  # noqa: RUF012 - the process's registry of listeners
    _shared_lock = threading.Lock()

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._listening: set[str] = set()  # channels LISTENed on the current connection
        self._retired = False
        self._stop = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        # Closed with the object, never by the thread: a subscriber may still write to the
        # pipe after the thread ended, and a closed number could name another file by then.
        weakref.finalize(self, _close_fds, self._wake_r, self._wake_w)
        self._thread: threading.Thread | None = None
        self.connects = 0  # successful connections so far (tests, diagnostics)

    @classmethod
    def shared(cls, engine: Engine) -> Listener:
        """The listener for ``engine``'s database in this process (one per URL)."""
        key = engine.url.render_as_string(hide_password=False)  # a dict key, never shown
        with cls._shared_lock:
            listener = cls._shared.get(key)
            if listener is None or listener._retired:
                listener = cls._shared[key] = cls(engine)
            return listener

    def subscribe(self, channel: str, callback: Callback) -> Subscription:
        """Receive ``channel``'s notifications (see the module docstring). Raises
        :class:`ListenUnsupported` when the engine's driver cannot listen."""
        if self._engine.dialect.name != "postgresql" or self._engine.dialect.driver != "psycopg":
            raise ListenUnsupported(
                f"{self._engine.dialect.name}+{self._engine.dialect.driver} cannot LISTEN"
            )
        with Listener._shared_lock:
            target = self
            if self._retired:  # retired meanwhile: a fresh one takes over
                key = self._engine.url.render_as_string(hide_password=False)
                target = Listener._shared.get(key) or self
                if target._retired:
                    target = Listener._shared[key] = Listener(self._engine)
            subscription = Subscription(target, channel, callback)
            with target._lock:
                target._subs.append(subscription)
                if target._thread is None:
                    target._thread = threading.Thread(
                        target=target._run, name="clientauth-listener", daemon=True
                    )
                    target._thread.start()
        target._wake()
        return subscription

    # -- the thread ------------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a full pipe already wakes the thread
            os.write(self._wake_w, b"!")

    def _run(self) -> None:
        failures = 0
        while not self._should_end():
            dbapi: Any = None
            try:
                dbapi = self._connect()
                if failures:
                    logger.info("clientauth listener: listening again")
                failures = 0
                self._serve(dbapi)
            except Exception as exc:  # any failure: reconnect
                if not self._stop:
                    # Once per outage at WARNING; every failed attempt after it at DEBUG.
                    logger.log(
                        logging.WARNING if failures == 0 else logging.DEBUG,
                        "clientauth listener: connection lost (%s: %s); reconnecting",
                        type(exc).__name__,
                        _first_line(exc),
                    )
            finally:
                self._disconnected(dbapi)
            if self._should_end():
                break
            delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
            failures += 1
            self._sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter

    def _should_end(self) -> bool:
        if self._stop:
            return True
        with Listener._shared_lock, self._lock:
            self._subs = [s for s in self._subs if not s.closed]
            if self._subs:
                return False
            # The last subscriber left: retire, so that a new subscriber starts afresh.
            self._retired = True
            for key, listener in list(Listener._shared.items()):
                if listener is self:
                    del Listener._shared[key]
            return True

    def _connect(self) -> Any:
        fairy = self._engine.raw_connection()
        try:
            dbapi = fairy.dbapi_connection
            if dbapi is None or not hasattr(dbapi, "pgconn"):
                raise ListenUnsupported("not a psycopg 3 connection")
            # Ours from now on: the pool forgets it and opens another when it needs one.
            fairy.detach()
        except BaseException:
            fairy.invalidate()
            raise
        try:
            dbapi.rollback()  # a pooled connection may come with a transaction open
            dbapi.autocommit = True
            with self._deadline(dbapi):
                dbapi.execute(f"SET application_name = '{APPLICATION_NAME}'")
        except BaseException:
            dbapi.close()
            raise
        self.connects += 1
        return dbapi

    @contextlib.contextmanager
    def _deadline(self, dbapi: Any) -> Any:
        guard = WATCHDOG.arm(int(dbapi.pgconn.socket), HEARTBEAT_TIMEOUT)
        try:
            yield
        finally:
            WATCHDOG.disarm(guard)

    def _serve(self, dbapi: Any) -> None:
        sock = int(dbapi.pgconn.socket)
        while True:
            if self._should_end():
                return
            self._sync_channels(dbapi)
            ready, _, _ = select.select([sock, self._wake_r], [], [], HEARTBEAT_INTERVAL)
            if self._wake_r in ready:
                with contextlib.suppress(OSError):
                    while os.read(self._wake_r, 512):
                        pass
            if sock in ready:
                # Reads what arrived (raises on a closed connection) and yields every
                # notification, those received during our own statements included.
                for note in dbapi.notifies(timeout=0):
                    self._dispatch(note.channel, note.payload)
            elif not ready:
                with self._deadline(dbapi):
                    dbapi.execute("SELECT 1")
                for note in dbapi.notifies(timeout=0):
                    self._dispatch(note.channel, note.payload)

    def _sync_channels(self, dbapi: Any) -> None:
        with self._lock:
            subs = list(self._subs)
        wanted = {s.channel for s in subs if not s.closed}
        added = wanted - self._listening
        with self._deadline(dbapi):
            for channel in sorted(added):
                dbapi.execute(f"LISTEN {_identifier(channel)}")
                self._listening.add(channel)
            for channel in sorted(self._listening - wanted):
                dbapi.execute(f"UNLISTEN {_identifier(channel)}")
                self._listening.discard(channel)
        # Newly live subscriptions: whatever they cached before may be stale.
        for sub in subs:
            if not sub.live and not sub.closed and sub.channel in self._listening:
                _call(sub, None)
                sub.live = True  # after the callback: "live" means the cache was dropped

    def _dispatch(self, channel: str, payload: str) -> None:
        with self._lock:
            subs = [s for s in self._subs if s.channel == channel and s.live and not s.closed]
        for sub in subs:
            _call(sub, payload)

    def _disconnected(self, dbapi: Any) -> None:
        self._listening.clear()
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.live = False
        if dbapi is not None:
            with contextlib.suppress(Exception):
                dbapi.close()

    def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(OSError, ValueError):
            select.select([self._wake_r], [], [], seconds)
            with contextlib.suppress(OSError):
                os.read(self._wake_r, 512)

    # -- stopping --------------------------------------------------------------------------

    def _join_if_idle(self) -> None:
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return
        with self._lock:
            if any(not s.closed for s in self._subs):
                return
        thread.join(_STOP_TIMEOUT)

    def _shutdown(self) -> None:
        self._stop = True
        self._wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_STOP_TIMEOUT)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else ""


def _call(sub: Subscription, payload: str | None) -> None:
    try:
        sub._callback(payload)
    except Exception:
        logger.exception("clientauth listener: a subscriber's callback failed")


def _close_fds(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _identifier(channel: str) -> str:
    # LISTEN takes an identifier, not a parameter: only names we chose reach here.
    if not channel.replace("_", "").isalnum() or not channel.isascii() or len(channel) > 63:
        raise ValueError(f"not a plain channel name: {channel!r}")
    return channel


def weak_callback(owner: object, method: Callable[[Any, str | None], None]) -> Callback:
    """A callback that calls ``method(owner, payload)`` while ``owner`` is alive, holding
    no strong reference to it (a subscription must not keep its subscriber alive)."""
    ref = weakref.ref(owner)

    def callback(payload: str | None) -> None:
        target = ref()
        if target is not None:
            method(target, payload)

    return callback


def _after_fork() -> None:
    global _fork_count  # noqa: PLW0603 - one counter per process
    _fork_count += 1
    # The parent's threads do not exist here; its listeners must not be reused.
    Listener._shared = {}
    Listener._shared_lock = threading.Lock()


@atexit.register
def _stop_all() -> None:
    # Stop the threads before the interpreter tears down the modules they use.
    with Listener._shared_lock:
        listeners = list(Listener._shared.values())
    for listener in listeners:
        listener._shutdown()


os.register_at_fork(after_in_child=_after_fork)
