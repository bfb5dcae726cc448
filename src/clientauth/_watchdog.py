"""A client-side deadline for database round trips: one daemon thread that shuts down the
socket of a connection still busy after its deadline.

A server that stopped answering (frozen by SIGSTOP, a stalled VM, a lost network path with
the peer's kernel still acknowledging) never trips a server-side ``statement_timeout`` and
never closes the connection: the driver waits in ``poll()`` for ever. Shutting the socket
down makes that wait return at once with "server closed the connection", which the driver
and SQLAlchemy treat as a disconnect (the connection is discarded, the pool refilled).

Arming costs a ``dup()`` and a heap push under a lock (a few microseconds); there is one
thread per process, started on first use, whatever the number of registries.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time

__all__ = ["WATCHDOG", "Guard", "Watchdog"]


class Guard:
    """One armed deadline; :meth:`Watchdog.disarm` returns whether it fired."""

    __slots__ = ("deadline", "done", "fd", "fired")

    def __init__(self, fd: int, deadline: float) -> None:
        # A duplicate of the connection's descriptor: should the connection close its own
        # before we disarm, the number may be reused by another socket; ours still names
        # the same socket.
        self.fd = fd
        self.deadline = deadline
        self.done = False
        self.fired = False


class Watchdog:
    """Deadlines for blocking socket I/O, served by one background thread."""

    def __init__(self) -> None:
        self._reset()
        # A forked child (gunicorn, multiprocessing) has no watchdog thread, and the lock
        # may have been held by it at the fork: start over in the child.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Guard]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, fd: int, seconds: float) -> Guard | None:
        """Shut down the socket ``fd`` unless :meth:`disarm` is called within ``seconds``.
        Returns ``None`` (nothing armed) when ``fd`` cannot be duplicated."""
        try:
            own = os.dup(fd)
        except OSError:
            return None
        guard = Guard(own, time.monotonic() + seconds)
        with self._cond:
            heapq.heappush(self._heap, (guard.deadline, next(self._order), guard))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="clientauth-db-watchdog", daemon=True
                )
                self._thread.start()
            if self._heap[0][2] is guard:
                self._cond.notify()
        return guard

    def disarm(self, guard: Guard | None) -> bool:
        """Cancel a deadline; returns whether it had already fired."""
        if guard is None:
            return False
        with self._cond:
            if guard.done:
                return guard.fired
            guard.done = True
        os.close(guard.fd)
        return False

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                guard = heapq.heappop(self._heap)[2]
                guard.done = guard.fired = True
                _shutdown(guard.fd)


def _shutdown(fd: int) -> None:
    try:
        sock = socket.socket(fileno=fd)  # takes ownership of our duplicate: closed below
    except OSError:  # not a socket (a driver on a pipe?): nothing to shut down
        os.close(fd)
        return
    try:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    finally:
        sock.close()


WATCHDOG = Watchdog()
"""The process's watchdog, shared by every registry."""
