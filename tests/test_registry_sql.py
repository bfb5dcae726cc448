"""SQLRegistry on SQLite (fast): schema, lookups with MemoryRegistry's semantics, the TTL
cache and its invalidation, optimistic concurrent writes, nothing stored in clear.
The same code against a real PostgreSQL server: tests/integration/test_postgres.py."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import clientauth
from certs import Clock, Pki, self_signed
from clientauth import Client, ClientMetadataError, ConfigurationError, exceptions
from clientauth.registry_sql import SCHEMA_VERSION, SQLRegistry

pytest.importorskip("sqlalchemy")

SECRET = clientauth.generate_secret()
HASH = clientauth.hash_secret(SECRET)


def client(client_id: str, **extra: Any) -> Client:
    return Client.from_metadata({"client_id": client_id, "client_secret_hash": HASH, **extra})




@pytest.fixture
def url(tmp_path: Path) -> str:
    u = f"sqlite:///{tmp_path / 'clients.db'}"
    SQLRegistry(u).create_schema()
    return u


@pytest.fixture
def clock() -> Clock:
    return Clock()


def basic(client_id: str, secret: str) -> clientauth.ClientRequest:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return clientauth.ClientRequest([("authorization", f"Basic {token}")])


class TestSchema:
    def test_create_is_idempotent(self, tmp_path: Path) -> None:
        """create_schema() creates version 1 once; running it again changes nothing."""
        registry = SQLRegistry(f"sqlite:///{tmp_path / 'x.db'}")
        assert registry.schema_version() is None
        assert registry.create_schema() == SCHEMA_VERSION
        assert registry.create_schema() == SCHEMA_VERSION
        assert registry.schema_version() == SCHEMA_VERSION

    def test_missing_schema_is_explained(self, tmp_path: Path) -> None:
        """Using a database without the schema raises ConfigurationError saying what to run."""
        registry = SQLRegistry(f"sqlite:///{tmp_path / 'x.db'}")
        with pytest.raises(ConfigurationError, match="clientauth client migrate"):
            registry.get("a")

    def test_newer_schema_refused(self, url: str) -> None:
        """A database migrated by a newer clientauth is refused, not misread."""
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("UPDATE clientauth_schema SET version = 99")
        with pytest.raises(ConfigurationError, match="newer"):
            SQLRegistry(url).get("a")
        with pytest.raises(ConfigurationError, match="newer"):
            SQLRegistry(url).create_schema()

    def test_in_memory_database_is_shared(self) -> None:
        """sqlite:// (in memory) keeps one database for the registry's lifetime."""
        registry = SQLRegistry("sqlite://")
        registry.create_schema()
        registry.add(client("a"))
        assert registry.get("a") is not None


class TestLookup:
    def test_same_answers_as_memory_registry(self, url: str, pki: Pki) -> None:
        """get() and find_by_certificate() answer like MemoryRegistry for the same clients,
        including clients sharing a name (ambiguity is the authenticator's call)."""
        pinned = self_signed("dev")
        leaf = pki.leaf("svc", org="Acme", san_dns=["svc.example"])
        clients = [
            client("secret"),
            Client.from_metadata({"client_id": "dev",
                                  "token_endpoint_auth_method": "self_signed_tls_client_auth",
                                  "tls_client_certificates": [pinned.pem]}),
            Client.from_metadata({"client_id": "svc", "token_endpoint_auth_method":
                                  "tls_client_auth",
                                  "tls_client_auth_subject_dn": "CN=svc,O=Acme"}),
            Client.from_metadata({"client_id": "svc-dns", "token_endpoint_auth_method":
                                  "tls_client_auth", "tls_client_auth_san_dns": "SVC.example."}),
        ]
        memory = clientauth.MemoryRegistry(clients)
        sql = SQLRegistry(url)
        for c in clients:
            sql.add(c)
        for cert in (pinned.cert, leaf.cert, pki.leaf("none").cert, self_signed("x").cert):
            assert sorted(c.client_id for c in sql.find_by_certificate(cert)) == sorted(
                c.client_id for c in memory.find_by_certificate(cert))
        assert sql.get("secret") is not None and sql.get("nope") is None
        assert sql.get("x" * 5000) is None

    def test_authenticator_end_to_end(self, url: str) -> None:
        """An Authenticator over SQLRegistry accepts the right secret, refuses a wrong one."""
        registry = SQLRegistry(url)
        registry.add(client("svc"))
        auth = clientauth.Authenticator(registry)
        assert auth.authenticate(basic("svc", SECRET)).ok
        assert auth.authenticate(basic("svc", SECRET[::-1])).failure == "bad_secret"
        assert auth.authenticate(basic("nobody", SECRET)).failure == "unknown_client"

    def test_corrupt_row_raises_not_unknown(self, url: str) -> None:
        """A row that no longer validates raises (the registry is broken), rather than
        pretending the client does not exist."""
        SQLRegistry(url).add(client("a"))
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("UPDATE clientauth_clients SET metadata = '{\"client_id\": \"a\"}'")
        with pytest.raises(ClientMetadataError):
            SQLRegistry(url).get("a")


class TestCache:
    def test_change_elsewhere_seen_after_ttl(self, url: str, clock: Clock) -> None:
        """A revocation written by another process is served stale for at most cache_ttl."""
        reader = SQLRegistry(url, cache_ttl=5, now=clock)
        writer = SQLRegistry(url)
        writer.add(client("a"))
        assert reader.get("a") is not None
        writer.remove("a")
        clock.advance(4.9)
        assert reader.get("a") is not None  # cached
        clock.advance(0.2)
        assert reader.get("a") is None

    def test_own_writes_seen_at_once(self, url: str, clock: Clock) -> None:
        """Writes through the same object invalidate its cache."""
        registry = SQLRegistry(url, cache_ttl=60, now=clock)
        assert registry.get("a") is None
        registry.add(client("a"))
        assert registry.get("a") is not None
        registry.remove("a")
        assert registry.get("a") is None

    def test_negative_results_cached_shorter(self, url: str, clock: Clock) -> None:
        """Unknown ids are cached for negative_ttl (default 1 s), not the full TTL."""
        reader = SQLRegistry(url, cache_ttl=30, now=clock)
        assert reader.get("late") is None
        SQLRegistry(url).add(client("late"))
        assert reader.get("late") is None
        clock.advance(1.01)
        assert reader.get("late") is not None

    def test_invalidate(self, url: str, clock: Clock) -> None:
        """invalidate(client_id) and invalidate() drop cached entries at once."""
        reader = SQLRegistry(url, cache_ttl=60, now=clock)
        writer = SQLRegistry(url)
        writer.add(client("a"))
        writer.add(client("b"))
        assert reader.get("a") and reader.get("b")
        writer.remove("a")
        writer.remove("b")
        reader.invalidate("a")
        assert reader.get("a") is None and reader.get("b") is not None
        reader.invalidate()
        assert reader.get("b") is None

    def test_certificate_lookups_cached_and_invalidated(self, url: str, clock: Clock) -> None:
        """find_by_certificate is cached for the TTL; invalidate() drops it."""
        dev = self_signed("dev")
        reader = SQLRegistry(url, cache_ttl=60, now=clock)
        assert reader.find_by_certificate(dev.cert) == ()
        SQLRegistry(url).add(Client.from_metadata({
            "client_id": "dev", "token_endpoint_auth_method": "self_signed_tls_client_auth",
            "tls_client_certificate_thumbprints": [clientauth.certificate_thumbprint(dev.cert)]}))
        assert reader.find_by_certificate(dev.cert) == ()
        reader.invalidate("dev")
        assert [c.client_id for c in reader.find_by_certificate(dev.cert)] == ["dev"]

    def test_unchanged_row_not_parsed_again(self, url: str, clock: Clock) -> None:
        """After the TTL an unchanged row (same version) reuses the parsed client."""
        registry = SQLRegistry(url, cache_ttl=1, now=clock)
        SQLRegistry(url).add(client("a"))
        first = registry.get("a")
        clock.advance(2)
        assert registry.get("a") is first

    def test_removed_and_registered_again_not_served_from_cache(
        self, url: str, clock: Clock
    ) -> None:
        """Issue 12 finding 1: a client removed and registered again elsewhere (its row
        restarts at version 1) is re-read once the TTL runs out -- the revoked secret is
        refused and the new one accepted, also long after."""
        reader = SQLRegistry(url, cache_ttl=1, now=clock)
        writer = SQLRegistry(url)
        new_secret = clientauth.generate_secret()
        writer.add(client("billing"))
        auth = clientauth.Authenticator(reader)
        assert auth.authenticate(basic("billing", SECRET)).ok
        assert writer.remove("billing")
        writer.add(client("billing", client_secret_hash=clientauth.hash_secret(new_secret)))
        for _ in range(3):
            clock.advance(1.5)
            assert not auth.authenticate(basic("billing", SECRET)).ok
            assert auth.authenticate(basic("billing", new_secret)).ok

    def test_same_document_registered_again_reuses_parsed_client(
        self, url: str, clock: Clock
    ) -> None:
        """The cache key is the stored document itself: an identical document (even under
        a new row) may reuse the parsed client; any difference is parsed again."""
        reader = SQLRegistry(url, cache_ttl=1, now=clock)
        writer = SQLRegistry(url)
        writer.add(client("a"))
        first = reader.get("a")
        writer.remove("a")
        writer.add(client("a"))
        clock.advance(2)
        assert reader.get("a") is first
        writer.replace(client("a", client_name="renamed"))
        clock.advance(2)
        second = reader.get("a")
        assert second is not first and second is not None
        assert second.to_metadata()["client_name"] == "renamed"

    @pytest.mark.parametrize("lookup", ["get", "find_by_certificate"])
    def test_invalidation_during_a_lookup_is_not_undone(
        self, url: str, clock: Clock, lookup: str
    ) -> None:
        """Issue 12, push invalidation: a change announced (invalidate(), as a notification
        does) while a lookup's query is running must win -- the row read before the change
        is returned to that one caller but never cached, so the next lookup reads again."""
        import sqlalchemy as sa

        dev = self_signed("dev")
        registry = SQLRegistry(url, cache_ttl=60, now=clock)
        SQLRegistry(url).add(Client.from_metadata({
            "client_id": "dev", "token_endpoint_auth_method": "self_signed_tls_client_auth",
            "tls_client_certificate_thumbprints": [clientauth.certificate_thumbprint(dev.cert)]}))
        queries: list[str] = []
        racing = [True]

        def during_query(*args: Any) -> None:
            queries.append(args[2])
            if racing[0]:
                racing[0] = False
                registry.invalidate("dev")  # the notification arrives mid-query

        sa.event.listen(registry.engine, "before_cursor_execute", during_query)
        lookups = {"get": lambda: registry.get("dev"),
                   "find_by_certificate": lambda: registry.find_by_certificate(dev.cert)}
        assert lookups[lookup]()
        queries.clear()
        assert lookups[lookup]()
        assert queries, "served from a cache entry stored after the invalidation"
        queries.clear()
        assert lookups[lookup]()
        assert not queries  # without a race, cached as usual

    def test_sqlite_keeps_ttl_semantics_without_a_thread(self, url: str) -> None:
        """SQLite has no notifications: no listener thread is started, `listening` is
        False, and close() / the context manager release the engine; lookups still work
        after close()."""
        before = {t.ident for t in threading.enumerate()}
        with SQLRegistry(url) as registry:
            registry.add(client("a"))
            assert registry.get("a") is not None
            assert not registry.listening
            assert "listen=False" in repr(registry)
        assert {t.ident for t in threading.enumerate() if t.name == "clientauth-listener"} \
            <= before
        assert registry.get("a") is not None

    def test_cache_is_bounded(self, url: str, clock: Clock) -> None:
        """No more than cache_size entries are kept."""
        registry = SQLRegistry(url, cache_size=3, now=clock)
        for i in range(10):
            registry.get(f"id{i}")
        assert len(registry._by_id) == 3

    def test_zero_ttl_disables_cache(self, url: str) -> None:
        """cache_ttl=0 reads the database on every lookup."""
        reader = SQLRegistry(url, cache_ttl=0)
        writer = SQLRegistry(url)
        writer.add(client("a"))
        assert reader.get("a") is not None
        writer.remove("a")
        assert reader.get("a") is None


class TestWrites:
    def test_add_duplicate_refused(self, url: str) -> None:
        """A second add of the same id raises ClientMetadataError."""
        registry = SQLRegistry(url)
        registry.add(client("a"))
        with pytest.raises(ClientMetadataError, match="duplicate"):
            registry.add(client("a"))

    def test_update_replace_remove(self, url: str) -> None:
        """update() returns the new client (None when unknown), replace() upserts,
        remove() says whether something was removed; the name index follows."""
        registry = SQLRegistry(url, cache_ttl=0)
        dev = self_signed("dev")
        registry.replace(Client.from_metadata({
            "client_id": "dev", "token_endpoint_auth_method": "self_signed_tls_client_auth",
            "tls_client_certificates": [dev.pem]}))
        assert [c.client_id for c in registry.find_by_certificate(dev.cert)] == ["dev"]
        other = self_signed("other")
        new = registry.update("dev", lambda c: Client.from_metadata(
            {**c.to_metadata(), "tls_client_certificates": [other.pem]}))
        assert new is not None
        assert registry.find_by_certificate(dev.cert) == ()
        assert [c.client_id for c in registry.find_by_certificate(other.cert)] == ["dev"]
        assert registry.update("nope", lambda c: c) is None
        assert registry.remove("dev") is True and registry.remove("dev") is False
        assert registry.find_by_certificate(other.cert) == ()

    def test_update_retries_on_concurrent_change(self, url: str) -> None:
        """When another writer commits between our read and our write, the change is
        applied again on top of theirs: neither is lost."""
        registry, other = SQLRegistry(url), SQLRegistry(url)
        registry.add(client("a"))
        calls = []

        def change(c: Client) -> Client:
            calls.append(1)
            if len(calls) == 1:  # someone else writes in between, once
                other.update("a", lambda c: Client.from_metadata(
                    {**c.to_metadata(), "client_name": "theirs"}))
            return Client.from_metadata({**c.to_metadata(), "client_uri": "https://ours"})

        registry.update("a", change)
        stored = SQLRegistry(url, cache_ttl=0).get("a")
        assert stored is not None and len(calls) == 2
        assert stored.to_metadata()["client_name"] == "theirs"
        assert stored.to_metadata()["client_uri"] == "https://ours"

    def test_update_never_overwrites_a_new_registration(self, url: str) -> None:
        """Issue 12 finding 1 (write side): when the client is removed and registered again
        between an update's read and its write (same id, version 1 again), the change is
        applied to the new registration -- the removed secret is not brought back."""
        registry, other = SQLRegistry(url), SQLRegistry(url)
        registry.add(client("a"))
        new_hash = clientauth.hash_secret(clientauth.generate_secret())
        calls = []

        def change(c: Client) -> Client:
            calls.append(1)
            if len(calls) == 1:
                other.remove("a")
                other.add(client("a", client_secret_hash=new_hash))
            return Client.from_metadata({**c.to_metadata(), "client_name": "renamed"})

        registry.update("a", change)
        stored = SQLRegistry(url, cache_ttl=0).get("a")
        assert stored is not None and len(calls) == 2
        assert stored.to_metadata()["client_secret_hash"] == new_hash
        assert stored.to_metadata()["client_name"] == "renamed"

    def test_threads_rotating_lose_nothing(self, url: str) -> None:
        """Threads with their own registries append secrets to one client concurrently:
        every appended hash is stored."""
        SQLRegistry(url).add(client("a"))
        hashes = [clientauth.hash_secret(clientauth.generate_secret()) for _ in range(12)]
        errors: list[BaseException] = []

        def worker(mine: list[str]) -> None:
            registry = SQLRegistry(url)
            try:
                for h in mine:
                    registry.update("a", lambda c, h=h: Client.from_metadata({
                        **c.to_metadata(),
                        "client_secrets": [*c.to_metadata().get("client_secrets", []),
                                           {"hash": h}]}))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(hashes[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        stored = SQLRegistry(url, cache_ttl=0).get("a")
        assert stored is not None
        assert {e["hash"] for e in stored.to_metadata()["client_secrets"]} == set(hashes)

    def test_nothing_stored_in_clear(self, url: str) -> None:
        """The database holds hashes only; a clear-text client_secret never gets there."""
        SQLRegistry(url).add(client("a"))
        with pytest.raises(ClientMetadataError, match="clear-text"):
            Client.from_metadata({"client_id": "b", "client_secret": SECRET})
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            dump = "\n".join(conn.iterdump())
        assert SECRET not in dump and HASH in dump
        assert "client_secret\"" not in json.dumps(dump)

    def test_errors_hide_parameters(self, url: str) -> None:
        """A failed write raises RegistryError naming the database's reason, without the
        statement's parameters (secret hashes)."""
        registry = SQLRegistry(url)
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("DROP TABLE clientauth_clients")
        with pytest.raises(exceptions.RegistryError) as info:
            registry.add(client("a"))
        assert "clientauth_clients" in str(info.value)
        assert HASH not in leaked_text(info.value)

    def test_failed_update_on_user_engine_shows_no_hash(
        self, url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Issue 12 finding 4: with the user's own Engine (hide_parameters off, SQL echo
        on), a failed UPDATE raises an error whose str, repr and whole __cause__ /
        __context__ chain hold no secret hash, and nothing is logged with one; the user's
        engine is left as it was."""
        import sqlalchemy as sa

        SQLRegistry(url).add(client("a"))
        path = url.removeprefix("sqlite:///")
        engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", echo=True)
        registry = SQLRegistry(engine)
        new_hash = clientauth.hash_secret(clientauth.generate_secret())
        caplog.set_level(logging.DEBUG, logger="sqlalchemy")
        with pytest.raises(exceptions.RegistryError, match="readonly") as info:
            registry.update("a", lambda c: Client.from_metadata(
                {**c.to_metadata(), "client_secret_hash": new_hash}))
        text = leaked_text(info.value) + caplog.text
        assert HASH not in text and new_hash not in text
        assert "UPDATE" in caplog.text  # the echo log ran, without the parameters
        assert engine.hide_parameters is False and registry.engine is engine

    def test_refused_insert_is_not_a_duplicate_and_shows_no_hash(self, url: str) -> None:
        """A row refused by a database constraint (here a trigger) on add() is reported as a
        database error without hashes -- not as "duplicate client_id"."""
        import sqlalchemy as sa

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON clientauth_clients "
                         "BEGIN SELECT RAISE(ABORT, 'refused by policy'); END")
        registry = SQLRegistry(sa.create_engine(url))
        with pytest.raises(exceptions.RegistryError, match="refused by policy") as info:
            registry.add(client("a"))
        assert HASH not in leaked_text(info.value)


def leaked_text(exc: BaseException) -> str:
    """Everything an exception exposes: str, repr, args, SQLAlchemy's statement and
    parameters, for it and every exception in its __cause__ / __context__ chain."""
    parts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        parts += [str(e), repr(e), repr(e.args), repr(getattr(e, "params", None)),
                  repr(getattr(e, "orig", None)), str(getattr(e, "orig", None))]
        todo += [e.__cause__, e.__context__]
    return "\n".join(parts)


class TestWatchdog:
    def test_hung_read_is_cut_off_and_disarm_reports_it(self) -> None:
        """The client-side deadline behind statement_timeout: a read that gets no answer
        returns (EOF) once the deadline passes; disarm() says the deadline fired. A call
        disarmed in time is left alone."""
        import socket
        import time

        from clientauth._watchdog import WATCHDOG

        ours, server = socket.socketpair()
        with ours, server:
            calm = WATCHDOG.arm(ours.fileno(), 5)
            assert WATCHDOG.disarm(calm) is False
            guard = WATCHDOG.arm(ours.fileno(), 0.2)
            start = time.monotonic()
            assert ours.recv(1) == b""  # would block for ever without the watchdog
            assert 0.15 <= time.monotonic() - start < 3
            assert WATCHDOG.disarm(guard) is True

    def test_timeouts_reach_the_postgres_engine(self) -> None:
        """Default timeouts are on for a PostgreSQL URL (connect, pool wait, server-side
        statement_timeout); values in the URL win; 0 turns them off; libpq's 2 s minimum
        connect timeout is applied; bad values are refused."""
        import sqlalchemy as sa

        from clientauth.registry_sql import _postgres_timeouts

        pytest.importorskip("psycopg")
        url = "postgresql+psycopg://u@127.0.0.1:1/db"
        assert SQLRegistry(url).engine.pool.timeout() == 5  # type: ignore[attr-defined]
        five = timedelta(seconds=5)
        assert _postgres_timeouts(sa.make_url(url), five, five) == {
            "pool_timeout": 5,
            "connect_args": {"connect_timeout": 5, "options": "-c statement_timeout=5000"}}
        assert _postgres_timeouts(sa.make_url(url), timedelta(0), timedelta(0)) == {}
        assert _postgres_timeouts(sa.make_url(url), timedelta(seconds=0.5), timedelta(0)) == {
            "pool_timeout": 2, "connect_args": {"connect_timeout": 2}}
        given = sa.make_url(f"{url}?connect_timeout=9&options=-c%20search_path%3Dx")
        assert _postgres_timeouts(given, five, five)["connect_args"] == {
            "options": "-c search_path=x -c statement_timeout=5000"}
        theirs = sa.make_url(f"{url}?options=-c%20statement_timeout%3D7")
        assert "connect_args" not in _postgres_timeouts(theirs, timedelta(0), five)
        with pytest.raises(ConfigurationError, match="statement_timeout"):
            SQLRegistry(url, statement_timeout=-1)
        with pytest.raises(ConfigurationError, match="connect_timeout"):
            SQLRegistry(url, connect_timeout=timedelta(hours=1))


class TestSettings:
    @pytest.mark.parametrize(("kwargs", "match"), [
        ({"cache_ttl": -1}, "cache_ttl"),
        ({"cache_ttl": timedelta(days=1)}, "cache_ttl"),
        ({"cache_ttl": "5"}, "cache_ttl"),
        ({"cache_size": -1}, "cache_size"),
        ({"cache_size": 10**9}, "cache_size"),
        ({"cache_size": 1.5}, "cache_size"),
        ({"negative_ttl": 10, "cache_ttl": 5}, "negative_ttl"),
        ({"now": "yesterday"}, "now"),
    ])
    def test_bad_settings(self, kwargs: dict[str, Any], match: str) -> None:
        """Settings are validated at construction with a ConfigurationError."""
        with pytest.raises(ConfigurationError, match=match):
            SQLRegistry("sqlite://", **kwargs)

    def test_bad_url(self) -> None:
        """Something that is not a URL or an Engine is refused up front."""
        with pytest.raises(ConfigurationError):
            SQLRegistry("not a url")
        with pytest.raises(ConfigurationError):
            SQLRegistry(42)  # type: ignore[arg-type]

    def test_repr_hides_password(self) -> None:
        """repr never shows the database password."""
        registry = SQLRegistry("sqlite://")
        assert "sqlite://" in repr(registry)
        engine_url = "postgresql+psycopg://u:hunter2@127.0.0.1/db"
        pytest.importorskip("psycopg")
        assert "hunter2" not in repr(SQLRegistry(engine_url))


class TestClientValue:
    def test_update_with_replaced_secrets_stores_them(self, url: str) -> None:
        """Issue 12 finding 9: update(cid, lambda c: dataclasses.replace(c, secrets=...))
        stores the new secrets (it used to write the old ones back, silently): another
        process accepts the new secret and refuses the old one."""
        new_secret = clientauth.generate_secret()
        fresh = Client.from_metadata({"client_id": "svc",
                                      "client_secret_hash": clientauth.hash_secret(new_secret)})
        SQLRegistry(url).add(client("svc", client_name="billing"))
        written = SQLRegistry(url).update(
            "svc", lambda c: dataclasses.replace(c, secrets=fresh.secrets)
        )
        assert written is not None
        elsewhere = SQLRegistry(url, cache_ttl=0)
        auth = clientauth.Authenticator(elsewhere)
        assert auth.authenticate(basic("svc", new_secret)).ok
        assert auth.authenticate(basic("svc", SECRET)).failure == "bad_secret"
        stored = elsewhere.get("svc")
        assert stored == written and stored is not None
        assert stored.to_metadata()["client_name"] == "billing"

    def test_lifecycle_operations_through_update(self, url: str, clock: Clock) -> None:
        """The library's lifecycle operations (rotate, revoke, pin) are what update()
        applies; the index follows a pin."""
        registry = SQLRegistry(url, cache_ttl=0)
        registry.add(client("svc"))
        secret, entry = clientauth.StoredSecret.issue(now=clock())
        rotated = registry.update("svc", lambda c: c.rotate_secret(
            entry, keep_old_for=timedelta(0), now=clock()))
        assert rotated is not None and rotated.secrets == (entry,)
        assert clientauth.Authenticator(registry).authenticate(basic("svc", secret)).ok
        dev, other = self_signed("dev"), self_signed("other")
        registry.add(Client.from_metadata({
            "client_id": "dev", "token_endpoint_auth_method": "self_signed_tls_client_auth",
            "tls_client_certificates": [dev.pem]}))
        registry.update("dev", lambda c: c.pin_certificate(other.cert, replace=True))
        assert registry.find_by_certificate(dev.cert) == ()
        assert [c.client_id for c in registry.find_by_certificate(other.cert)] == ["dev"]
