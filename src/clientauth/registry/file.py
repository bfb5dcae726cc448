"""The embedded registry backed by a JSON file, with safe hot reload and atomic writes.

Readers (every process of an API) hold the parsed file in memory and look at the file again
at most every ``reload_interval`` (default 1 s), on a lookup -- polling, not file-system
notifications: a ``stat`` per second costs nothing measurable, works on every file system
(inotify misses changes made on another host of a network file system and needs a thread or
a dependency), and sees a file replaced through a symbolic link or a rename alike. So a
change is served by every process within ``reload_interval`` of the write (measured with two
processes: p50 0.66 s, p90 0.94 s, max 0.98 s; docs/deployment.md). When its identity
(device, inode, size, mtime) changed,
the new content is parsed and validated *before* it replaces the registry in use. A file that
does not parse or validate -- half-written by an editor, truncated, invalid -- never replaces
a good registry: the old one keeps serving, a warning goes to the ``clientauth.registry``
logger and :attr:`FileRegistry.last_error` says why.

Writers (``clientauth client ...``, or :meth:`FileRegistry.update`) take an advisory lock
(``fcntl.flock`` on ``<file>.lock``), read and validate the current file, apply the change,
write a temporary file in the same directory, ``fsync`` it and ``os.replace`` it over the
original: readers see the old file or the new one, never a mix, and two concurrent writers
cannot lose each other's change.

The new file keeps the replaced file's permission bits, owner and group (an operator running
the CLI with ``sudo`` must not leave a file the API can no longer read); when they cannot be
kept (a non-root writer, a file owned by someone else) the write is refused. A symbolic link
is resolved first: the target is locked and replaced, the link stays a link. The new file's
modification time is made later than the replaced file's, so the identity readers compare
(device, inode, size, mtime) never repeats even when the file system reuses the freed inode
within one timestamp tick.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509

from .._clock import clock_setting, duration_setting
from ..clients import (
    Client,
    MemoryRegistry,
    check_client,
    load_clients,
    read_registry_file,
)
from ..exceptions import ClientMetadataError, ConfigurationError

__all__ = [
    "DEFAULT_RELOAD_INTERVAL",
    "MAX_RELOAD_INTERVAL",
    "FileRegistry",
]

DEFAULT_RELOAD_INTERVAL = timedelta(seconds=1)
"""How often, at most, a :class:`FileRegistry` looks at its file for changes: a change
written by another process is served within this (plus the time to parse the file), the
same 1 s goal as a PostgreSQL registry's notifications. A check is one ``stat`` call."""

MAX_RELOAD_INTERVAL = timedelta(hours=1)
"""Longest reload interval accepted: it bounds how long a revoked secret keeps working."""

_NEW_FILE_MODE = 0o600  # the file holds secret hashes: readable by its owner only
_LOCK_SUFFIX = ".lock"

logger = logging.getLogger("clientauth.registry")

_Signature = tuple[int, int, int, int]  # (st_dev, st_ino, st_size, st_mtime_ns)


def _signature(st: os.stat_result) -> _Signature:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class FileRegistry:
    """A :class:`~clientauth.ClientRegistry` loaded from a JSON file, reloaded on change.

    ``reload_interval`` (a :class:`~datetime.timedelta` or seconds) is how often, at most, a
    lookup checks the file; ``0`` checks on every lookup (one ``stat`` call). Call
    :meth:`reload` to check now. ``now`` is a callable returning an aware datetime (default:
    the system clock). ``create=True`` creates an empty registry file when none exists.

    The file must be valid when the registry is built (:class:`~clientauth.ConfigurationError`
    otherwise); afterwards an invalid file is reported, never served. Thread-safe: lookups
    read an immutable snapshot; one thread at a time reloads while the others keep serving.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        reload_interval: timedelta | float = DEFAULT_RELOAD_INTERVAL,
        now: Callable[[], datetime] | None = None,
        create: bool = False,
    ) -> None:
        if not isinstance(path, str | os.PathLike):
            raise ConfigurationError("path must be a str or os.PathLike")
        if now is not None and not callable(now):
            raise ConfigurationError("now must be a callable returning an aware datetime")
        self._path = Path(os.fspath(path))
        self._interval = _interval(reload_interval)
        self._now: Callable[[], datetime] = clock_setting(now)
        # Elapsed time only: the monotonic clock is cheaper per lookup than building a
        # datetime, and immune to wall-clock jumps. An injected clock wins (tests).
        self._clock: Callable[[], float] = (
            time.monotonic if now is None else (lambda: self._now().timestamp())
        )
        self._interval_s = self._interval.total_seconds()
        self._reload_lock = threading.Lock()
        self._last_error: str | None = None
        self._failed_signature: _Signature | None = None
        if create and not self._path.exists():
            target = self._target()
            with _write_lock(target):
                if not target.exists():
                    _atomic_write(target, _dump({"clients": []}), None)
        registry, signature = self._load()
        self._registry: MemoryRegistry = registry
        self._signature: _Signature = signature
        self._checked_at = self._clock()

    # -- ClientRegistry ------------------------------------------------------------------

    def get(self, client_id: str) -> Client | None:
        self._maybe_reload()
        return self._registry.get(client_id)

    def find_by_certificate(self, certificate: x509.Certificate) -> Sequence[Client]:
        self._maybe_reload()
        return self._registry.find_by_certificate(certificate)

    # -- state ---------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The registry file."""
        return self._path

    @property
    def last_error(self) -> str | None:
        """Why the latest change of the file was not loaded (``None`` once a good file is
        loaded). The registry in use is then the last good one."""
        return self._last_error

    def reload(self) -> bool:
        """Look at the file now; load it if it changed and is valid.

        Returns whether a new registry replaced the one in use. Never raises for a bad file:
        the reason is logged and kept in :attr:`last_error`.
        """
        with self._reload_lock:
            return self._reload_locked()

    def __iter__(self) -> Iterator[Client]:
        self._maybe_reload()
        return iter(self._registry)

    def __len__(self) -> int:
        return len(self._registry)

    def __contains__(self, client_id: object) -> bool:
        return client_id in self._registry

    def __repr__(self) -> str:
        return f"FileRegistry({str(self._path)!r}, {len(self._registry)} clients)"

    # -- writes --------------------------------------------------------------------------

    def add(self, client: Client) -> None:
        """Register a new client; a duplicate id raises :class:`ClientMetadataError`."""
        check_client(client)

        def change(clients: list[Client]) -> list[Client]:
            if any(c.client_id == client.client_id for c in clients):
                raise ClientMetadataError(
                    "duplicate client_id", client_id=client.client_id, field="client_id"
                )
            return [*clients, client]

        self._edit(change)

    def replace(self, client: Client) -> None:
        """Replace (or add) a client."""
        check_client(client)
        self._edit(
            lambda clients: [
                *(c for c in clients if c.client_id != client.client_id),
                client,
            ]
        )

    def update(self, client_id: str, change: Callable[[Client], Client]) -> Client | None:
        """Read-modify-write one client under the file lock: ``change`` receives the current
        client and returns the new one (e.g. ``lambda c: c.rotate_secret(...)``, or any
        :class:`Client`: what is written is its :meth:`Client.to_metadata`). Returns the new
        client, or ``None`` (nothing written) when ``client_id`` is not registered."""
        updated: list[Client] = []

        def edit(clients: list[Client]) -> list[Client]:
            out = []
            for current in clients:
                if current.client_id == client_id:
                    new = change(current)
                    check_client(new)
                    if new.client_id != client_id:
                        raise ClientMetadataError(
                            "an update must not change client_id",
                            client_id=client_id,
                            field="client_id",
                        )
                    updated.append(new)
                    out.append(new)
                else:
                    out.append(current)
            return out

        self._edit(edit, write=lambda: bool(updated))
        return updated[0] if updated else None

    def remove(self, client_id: str) -> bool:
        """Remove a client; returns whether it was registered."""
        found: list[bool] = []

        def edit(clients: list[Client]) -> list[Client]:
            rest = [c for c in clients if c.client_id != client_id]
            found.append(len(rest) != len(clients))
            return rest

        self._edit(edit, write=lambda: found[0])
        return found[0]

    # -- internals -----------------------------------------------------------------------

    def _maybe_reload(self) -> None:
        now = self._clock()
        checked = self._checked_at
        # A clock that went backwards also triggers a check: never trust a stale interval.
        if now - checked < self._interval_s and now >= checked:
            return
        # Readers never wait for a reload in progress: they keep serving the current snapshot.
        if self._reload_lock.acquire(blocking=False):
            try:
                self._reload_locked()
            finally:
                self._reload_lock.release()

    def _reload_locked(self) -> bool:
        self._checked_at = self._clock()
        try:
            signature = _signature(os.stat(self._path))
        except OSError as exc:
            self._fail(f"cannot stat {str(self._path)!r}: {exc.strerror}", None)
            return False
        if signature == self._signature:
            return False
        if signature == self._failed_signature:
            return False  # already reported; wait for the next change
        try:
            registry, loaded = self._load()
        except ConfigurationError as exc:
            self._fail(str(exc), signature)
            return False
        self._registry, self._signature = registry, loaded
        self._failed_signature = None
        if self._last_error is not None:
            logger.info("client registry %s is valid again; reloaded", self._path)
        self._last_error = None
        return True

    def _fail(self, message: str, signature: _Signature | None) -> None:
        self._failed_signature = signature
        if message != self._last_error:
            logger.warning(
                "client registry %s not reloaded, still serving the last good one: %s",
                self._path,
                message,
            )
        self._last_error = message

    def _load(self) -> tuple[MemoryRegistry, _Signature]:
        document, signature = _read(self._path)
        return _validate(document), signature

    def _target(self) -> Path:
        """The file a write replaces: the registry path with every symbolic link resolved,
        so that writing never turns a link into a regular file (readers through the link's
        target would never see the change) and every name of one file shares one lock."""
        try:
            return Path(os.path.realpath(self._path, strict=False))
        except (OSError, RuntimeError) as exc:  # a symlink loop
            raise ConfigurationError(
                f"cannot resolve client registry path {str(self._path)!r}: {exc}"
            ) from None

    def _edit(
        self,
        change: Callable[[list[Client]], list[Client]],
        *,
        write: Callable[[], bool] = lambda: True,
    ) -> None:
        target = self._target()
        with _write_lock(target):
            # Re-read under the lock: the snapshot in memory may be older than the file.
            document, _ = _read(target)
            current = list(_validate(document))
            new = change(current)
            MemoryRegistry(new)  # duplicate ids and non-clients refused before anything is written
            if not write():
                return
            entries = [c.to_metadata() for c in new]
            shaped: object = {"clients": entries} if isinstance(document, Mapping) else entries
            _atomic_write(target, _dump(shaped), os.stat(target))
        self.reload()



def _read(path: Path) -> tuple[object, _Signature]:
    """The parsed JSON document and the identity of the very file that was read."""
    document, stat_result = read_registry_file(path)
    return document, _signature(stat_result)


def _dump(document: object) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@contextlib.contextmanager
def _write_lock(target: Path) -> Iterator[None]:
    lock_path = target.with_name(target.name + _LOCK_SUFFIX)
    # The lock file is never deleted: unlinking it would let two writers lock two different
    # inodes of the same name. O_NOFOLLOW: whoever can write the directory must not be able
    # to point the lock (and the chown below) at another file.
    fd = os.open(
        lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, _NEW_FILE_MODE
    )
    try:
        # A lock file created by root (sudo) must stay usable by the registry's owner.
        with contextlib.suppress(OSError):
            owner, mine = os.stat(target), os.fstat(fd)
            if (
                stat.S_ISREG(mine.st_mode)
                and mine.st_nlink == 1
                and (mine.st_uid, mine.st_gid) != (owner.st_uid, owner.st_gid)
            ):
                os.fchown(fd, owner.st_uid, owner.st_gid)
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _atomic_write(path: Path, data: bytes, previous: os.stat_result | None) -> None:
    """Replace ``path`` by ``data`` so that no reader ever sees a partial file; the new
    file keeps ``previous``'s mode, owner and group (or the write is refused)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if previous is not None:
                _keep_owner(fh.fileno(), path, previous)
            mode = _NEW_FILE_MODE if previous is None else stat.S_IMODE(previous.st_mode)
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            if previous is not None:
                # Readers compare (device, inode, size, mtime); the inode freed by the last
                # replace is often reused at once, so the mtime must move forward even when
                # two writes fall in one coarse timestamp tick (or the clock went back).
                stamp = max(time.time_ns(), previous.st_mtime_ns + 1)
                os.utime(fh.fileno(), ns=(stamp, stamp))
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # The rename itself is durable only once the directory entry is on disk.
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _keep_owner(fd: int, path: Path, previous: os.stat_result) -> None:
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) == (previous.st_uid, previous.st_gid):
        return
    try:
        os.fchown(fd, previous.st_uid, previous.st_gid)
    except PermissionError:
        # Writing anyway would hand the file to this user: the API, running as the owner,
        # could no longer read a 0600 file and would keep serving the revoked registry.
        raise ConfigurationError(
            f"cannot keep the owner and group ({previous.st_uid}:{previous.st_gid}) of "
            f"client registry {str(path)!r}: run the command as that user (or as root)"
        ) from None


def _interval(value: object) -> timedelta:
    return duration_setting(value, "reload_interval", MAX_RELOAD_INTERVAL)


def _validate(document: object) -> MemoryRegistry:
    # A JSON string would be taken by load_clients() as the path of *another* file.
    if not isinstance(document, list | dict):
        raise ClientMetadataError('a registry document is a list of clients or {"clients": [...]}')
    return load_clients(document)
