"""The PostgreSQL server a benchmark runs against: ``$CLIENTAUTH_BENCH_PG_URL`` when set, else
a throwaway server on 127.0.0.1 (``tests/integration/pg_server.py``), else none (the caller
skips its PostgreSQL figures and says why)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def postgres_url(database: str) -> Iterator[str | None]:
    """A URL of a fresh database named ``database``, or ``None`` when no server can run."""
    url = os.environ.get("CLIENTAUTH_BENCH_PG_URL")
    if url:
        yield url
        return
    from pg_server import PostgresServer, missing_reason  # tests/integration on sys.path

    reason = missing_reason()
    if reason is not None:
        print(f"(PostgreSQL: skipped, {reason})")
        yield None
        return
    with PostgresServer.start() as server:
        yield server.create_database(database)
