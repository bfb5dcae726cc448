"""A throw-away PostgreSQL server for the tests and benchmarks: ``initdb`` into a temporary
directory, listening on 127.0.0.1 (free port) with its unix socket in that directory, run as
a non-root user (PostgreSQL refuses root), stopped with ``pg_ctl stop -m fast``.

    with PostgresServer.start() as server:
        url = server.create_database("t1")    # postgresql+psycopg://clientauth@127.0.0.1:P/t1

``find_bindir()`` returns ``None`` when no PostgreSQL server binaries are installed
(Debian: ``apt-get install postgresql``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

START_TIMEOUT = 30  # seconds pg_ctl waits for the server to accept connections
DB_USER = "clientauth"
RUN_AS = "postgres"  # Debian's postgresql package creates this system user


def find_bindir() -> str | None:
    """Where initdb/pg_ctl/postgres live: $CLIENTAUTH_PG_BINDIR, Debian's versioned
    directories (newest first), or PATH."""
    candidates = []
    if os.environ.get("CLIENTAUTH_PG_BINDIR"):
        candidates.append(os.environ["CLIENTAUTH_PG_BINDIR"])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                         else 0, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for directory in candidates:
        if all(os.access(Path(directory, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def missing_reason() -> str | None:
    """Why a server cannot be started here, or ``None`` when it can."""
    if find_bindir() is None:
        return ("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found "
                "(Debian: apt-get install postgresql)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and there is no {RUN_AS!r} user to run PostgreSQL as"
    try:
        import psycopg  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError:
        return "psycopg and sqlalchemy are needed: pip install 'clientauth[sql]'"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One running server; use :meth:`start` as a context manager, or call :meth:`stop`."""

    def __init__(self, bindir: str, directory: Path, port: int, prefix: list[str]) -> None:
        self.bindir = bindir
        self.directory = directory
        self.port = port
        self._prefix = prefix
        self._running = False

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @classmethod
    def start(cls) -> PostgresServer:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(missing_reason() or "no PostgreSQL")
        # /tmp itself, not pytest's tmp_path: the server user must be able to reach it, and
        # pytest's directories are private to root.
        directory = Path(tempfile.mkdtemp(prefix="clientauth-pg-"))
        prefix: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam(RUN_AS)
            os.chown(directory, user.pw_uid, user.pw_gid)
            prefix = ["runuser", "-u", RUN_AS, "--"]
        os.chmod(directory, 0o700)
        server = cls(bindir, directory, _free_port(), prefix)
        try:
            server._run("initdb", "-D", str(server.data), "-U", DB_USER, "-A", "trust",
                        "-E", "UTF8", "--locale=C", "--no-sync")
            server.resume()
        except BaseException:
            server.stop()
            raise
        return server

    def _run(self, binary: str, *args: str) -> None:
        argv = [*self._prefix, str(Path(self.bindir, binary)), *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=START_TIMEOUT + 30,
                              cwd=self.directory, check=False)
        if proc.returncode != 0:
            log = ""
            with contextlib.suppress(OSError):
                log = (self.directory / "server.log").read_text()[-2000:]
            raise RuntimeError(f"{binary} failed ({proc.returncode}):\n{proc.stdout}\n"
                               f"{proc.stderr}\n{log}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{DB_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=DB_USER,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name chosen by the tests
        return self.url(name)

    def pause(self) -> None:
        """Stop the server but keep its data (see :meth:`resume`)."""
        self._running = False
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start a paused server again, on the same port."""
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                   f"-c unix_socket_directories={self.directory} -F")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"),
                  "-o", options, "-w", "-t", str(START_TIMEOUT), "start")
        self._running = True

    def processes(self) -> list[int]:
        """The postmaster and every process it started (backends, background workers)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children: dict[int, list[int]] = {}
        for stat_file in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                # pid (comm) state ppid ...: comm may hold spaces, so split after ")".
                text = stat_file.read_text()
                ppid = int(text.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(stat_file.parent.name))
        found, todo = [], [postmaster]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def freeze(self) -> None:
        """Make the server stop answering without closing anything (SIGSTOP to all its
        processes): connections stay open, the kernel still accepts new ones. Always pair
        with :meth:`thaw` in a ``finally``."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """Resume a frozen server (SIGCONT)."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory. Idempotent."""
        try:
            if self._running:
                self._running = False
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                    self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
