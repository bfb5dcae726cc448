"""Replay stores (RFC 7523 3 item 7): a jti is used once per client until it expires.

What must hold, for the memory store and the SQL store alike: the first use wins, a second
use before ``expires_at`` is refused, the pair is per client, an expired entry may be used
again; the memory store never evicts an unexpired entry; the SQL store is shared by separate
processes (SQLite file here, PostgreSQL in tests/integration/test_assertion_postgres.py) and
of several processes racing with one jti exactly one wins.
"""

from __future__ import annotations

import multiprocessing
from datetime import timedelta
from pathlib import Path

import pytest

from certs import NOW, Clock
from clientauth import MemoryReplayStore, RegistryError, ReplayStore
from clientauth.exceptions import ConfigurationError
from clientauth.replay import replay_key
from clientauth.replay_sql import SQLReplayStore

LATER = NOW + timedelta(minutes=5)


def stores(tmp_path: Path, clock: Clock) -> list[ReplayStore]:
    sql = SQLReplayStore(f"sqlite:///{tmp_path / 'jti.db'}", now=clock)
    sql.create_schema()
    sql.create_schema()  # idempotent
    return [MemoryReplayStore(now=clock), sql]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


class TestSemantics:
    def test_first_use_wins(self, tmp_path: Path, clock: Clock) -> None:
        """use() is True once, then False until expires_at."""
        for store in stores(tmp_path, clock):
            assert isinstance(store, ReplayStore)
            assert store.use("c1", "j1", LATER) is True
            assert store.use("c1", "j1", LATER) is False
            assert store.use("c2", "j1", LATER) is True  # per client
            clock.advance(minutes=4)
            assert store.use("c1", "j1", LATER) is False
            clock.advance(minutes=1)
            assert store.use("c1", "j1", LATER + timedelta(minutes=5)) is True
            clock.at = NOW

    def test_key_separates_pairs(self) -> None:
        """("ab", "c") and ("a", "bc") are different pairs."""
        assert replay_key("ab", "c") != replay_key("a", "bc")
        assert len(replay_key("x" * 1000, "y" * 1000)) == 64

    def test_memory_store_bounded(self, clock: Clock) -> None:
        """A full memory store refuses (raises) rather than forget an unexpired jti; expired
        entries make room."""
        store = MemoryReplayStore(max_entries=2, now=clock)
        assert store.use("c", "1", LATER) and store.use("c", "2", LATER)
        with pytest.raises(RegistryError, match="full"):
            store.use("c", "3", LATER)
        assert store.use("c", "1", LATER) is False
        clock.advance(minutes=5)
        assert store.use("c", "3", LATER + timedelta(minutes=5)) is True
        assert len(store) == 1

    @pytest.mark.parametrize("bad", [0, -1, True, 1.5, 10**9])
    def test_memory_settings(self, bad: object) -> None:
        """max_entries is a bounded positive integer."""
        with pytest.raises(ConfigurationError):
            MemoryReplayStore(max_entries=bad)  # type: ignore[arg-type]

    def test_sql_purges_expired_rows(self, tmp_path: Path, clock: Clock) -> None:
        """Expired rows are deleted (at most once per purge_interval)."""
        import sqlalchemy as sa

        from clientauth.replay_sql import jti_table
        store = SQLReplayStore(f"sqlite:///{tmp_path / 'p.db'}", now=clock, purge_interval=0)
        store.create_schema()
        for i in range(5):
            store.use("c", str(i), LATER)
        clock.advance(minutes=6)
        store.use("c", "new", LATER + timedelta(minutes=6))
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'p.db'}")
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(jti_table)).scalar() == 1


def _race(
    url: str, barrier: multiprocessing.synchronize.Barrier, queue: multiprocessing.Queue[bool]
) -> None:
    store = SQLReplayStore(url)
    barrier.wait()
    queue.put(store.use("client", "the-jti", LATER + timedelta(days=36500)))


class TestSharedAcrossProcesses:
    def test_sqlite_processes_share_and_race(self, tmp_path: Path) -> None:
        """A jti used by one process is refused in another; of 4 processes racing with one
        jti exactly one wins (one atomic INSERT ... ON CONFLICT)."""
        url = f"sqlite:///{tmp_path / 'shared.db'}"
        SQLReplayStore(url).create_schema()
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(4)
        queue: multiprocessing.Queue[bool] = ctx.Queue()
        procs = [ctx.Process(target=_race, args=(url, barrier, queue)) for _ in range(4)]
        for p in procs:
            p.start()
        results = [queue.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert sorted(results) == [False, False, False, True]
        assert SQLReplayStore(url).use("client", "the-jti", LATER + timedelta(days=36500)) is False

    def test_secret_free_rows(self, tmp_path: Path) -> None:
        """Rows hold a digest, never the client id or jti as sent."""
        url = f"sqlite:///{tmp_path / 'r.db'}"
        store = SQLReplayStore(url)
        store.create_schema()
        store.use("visible-client", "visible-jti", LATER)
        data = (tmp_path / "r.db").read_bytes()
        assert b"visible" not in data
