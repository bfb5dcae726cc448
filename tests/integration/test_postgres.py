"""SQLRegistry against a real PostgreSQL server started by the tests on 127.0.0.1.

Two API processes (tests/integration/registry_worker.py, each with its own Authenticator
and cache) share one database; changes go through one process or through the CLI and are
observed from the other. A missing PostgreSQL skips these tests -- unless CI is set: there
they fail.
"""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness import unavailable
from pg_server import PostgresServer, missing_reason
from registry_worker import Worker

import clientauth
from certs import issue, name

pytestmark = pytest.mark.integration

TTL = 1.0  # the workers' cache TTL: the revocation latency under test
SLACK = 2.0  # process scheduling on a shared 2-core machine
_names = itertools.count()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """One server for the module, stopped (fast) in the finaliser even when a test fails."""
    reason = missing_reason()
    if reason is not None:
        unavailable(reason)
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def db(postgres: PostgresServer) -> str:
    """One database with the clientauth schema, shared by the module (tests use their own
    client ids)."""
    from clientauth.registry_sql import SQLRegistry

    url = postgres.create_database("shared")
    SQLRegistry(url).create_schema()
    return url


@pytest.fixture(scope="module")
def apis(db: str) -> Iterator[tuple[Worker, Worker]]:
    """Two API processes on the database, each with its own Authenticator and cache."""
    with Worker(db, ttl=TTL) as a, Worker(db, ttl=TTL) as b:
        yield a, b


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clientauth", "client", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def add_secret_client(url: str, client_id: str) -> str:
    from clientauth.registry_sql import SQLRegistry

    secret = clientauth.generate_secret()
    SQLRegistry(url).add(clientauth.Client.from_metadata({
        "client_id": client_id,
        "client_secrets": [{"hash": clientauth.hash_secret(secret), "expires_at": 0}],
    }))
    return secret


def wait_until(check: Callable[[], object], timeout: float) -> float:
    """Seconds until ``check()`` holds; fails after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"not observed within {timeout} s")


class TestTwoProcesses:
    def test_revoked_secret_refused_by_other_process_within_ttl(
        self, db: str, apis: tuple[Worker, Worker]
    ) -> None:
        """A secret revoked through process A is refused by A at once and by B within the
        cache TTL."""
        a, b = apis
        secret = add_secret_client(db, "revoke-me")
        second = a.ask(op="rotate", client_id="revoke-me", keep=3600)["secret"]
        assert a.auth("revoke-me", secret) and b.auth("revoke-me", secret)
        assert a.ask(op="revoke", client_id="revoke-me", secret=secret) == {"revoked": 1}
        assert not a.auth("revoke-me", secret)
        elapsed = wait_until(lambda: not b.auth("revoke-me", secret), TTL + SLACK)
        assert elapsed <= TTL + SLACK
        assert a.auth("revoke-me", second) and b.auth("revoke-me", second)

    def test_cli_rotation_and_revocation_observed(
        self, db: str, apis: tuple[Worker, Worker]
    ) -> None:
        """An operator rotates through the CLI: old and new secrets both work in both
        processes; revoking the old one (secret on stdin) is observed by both."""
        a, b = apis
        old = add_secret_client(db, "rotate-me")
        assert a.auth("rotate-me", old) and b.auth("rotate-me", old)
        proc = cli("rotate-secret", "rotate-me", "--registry", db, "--keep-old-for", "1h",
                   "--json")
        assert proc.returncode == 0, proc.stderr
        new = json.loads(proc.stdout)["client_secret"]
        for api in (a, b):
            wait_until(lambda api=api: api.auth("rotate-me", new), TTL + SLACK)
            assert api.auth("rotate-me", old)
        proc = cli("revoke-secret", "rotate-me", "--registry", db, "--secret-stdin",
                   stdin=old + "\n")
        assert proc.returncode == 0, proc.stderr
        for api in (a, b):
            wait_until(lambda api=api: not api.auth("rotate-me", old), TTL + SLACK)
            assert api.auth("rotate-me", new)

    def test_pinned_certificate_identified_in_other_process(
        self, db: str, apis: tuple[Worker, Worker], tmp_path: Path
    ) -> None:
        """A certificate re-pinned through the CLI identifies the client in a running API
        without a client_id (through the database name index); the old one stops working."""
        a, _ = apis
        now = datetime.now(UTC)
        valid = {"not_before": now - timedelta(hours=1), "not_after": now + timedelta(days=1)}
        first, second = issue(name("device-1"), **valid), issue(name("device-1b"), **valid)
        from clientauth.registry_sql import SQLRegistry

        SQLRegistry(db).add(clientauth.Client.from_metadata({
            "client_id": "device", "token_endpoint_auth_method": "self_signed_tls_client_auth",
            "tls_client_certificates": [first.pem]}))
        assert a.ask(op="cert", pem=first.pem)["client_id"] == "device"
        (tmp_path / "second.pem").write_text(second.pem)
        proc = cli("pin-cert", "device", "--registry", db, "--cert",
                   str(tmp_path / "second.pem"), "--replace")
        assert proc.returncode == 0, proc.stderr
        wait_until(lambda: a.ask(op="cert", pem=second.pem)["ok"], TTL + SLACK)
        assert a.ask(op="cert", pem=second.pem)["client_id"] == "device"
        # The old certificate's lookup may still be cached: refused within the TTL.
        wait_until(lambda: not a.ask(op="cert", pem=first.pem)["ok"], TTL + SLACK)


class TestConcurrentWrites:
    def test_concurrent_registration_and_rotation_lose_nothing(
        self, db: str, apis: tuple[Worker, Worker]
    ) -> None:
        """Two processes and this one add clients and rotate one shared client at the same
        time: every client and every rotated secret is there afterwards (optimistic
        concurrency, retried)."""
        from clientauth.registry_sql import SQLRegistry

        add_secret_client(db, "shared")
        for i, api in enumerate(apis):
            api.send(op="burst", prefix=f"p{i}-", adds=8, client_id="shared", rotations=8)
        local = burst_here(db)
        secrets = [*local, *(s for api in apis for s in api.receive()["secrets"])]
        registry = SQLRegistry(db, cache_ttl=0)
        ids = {c.client_id for c in registry}
        assert {f"p{i}-{n}" for i in (0, 1) for n in range(8)} <= ids
        shared = registry.get("shared")
        assert shared is not None and len(shared.secrets) == 1 + 24
        auth = clientauth.Authenticator(registry)
        for secret in secrets:
            token = base64.b64encode(f"shared:{secret}".encode()).decode()
            assert auth.authenticate(
                clientauth.ClientRequest([("authorization", f"Basic {token}")])).ok


def burst_here(db: str) -> list[str]:
    from registry_worker import rotate

    from clientauth.registry_sql import SQLRegistry

    registry = SQLRegistry(db)
    return [rotate(registry, "shared", 3600) for _ in range(8)]


class TestOutage:
    def test_database_down_is_an_error_not_unknown_client(
        self, postgres: PostgresServer, apis: tuple[Worker, Worker]
    ) -> None:
        """While the database is down a lookup raises (the authenticator must not answer
        "unknown client"); once it is back, lookups work again without a restart."""
        from sqlalchemy.exc import OperationalError

        from clientauth.registry_sql import SQLRegistry

        url = postgres.create_database(f"t{next(_names)}")
        registry = SQLRegistry(url, cache_ttl=0)
        registry.create_schema()
        secret = add_secret_client(url, "svc")
        auth = clientauth.Authenticator(registry)
        token = base64.b64encode(f"svc:{secret}".encode()).decode()
        request = clientauth.ClientRequest([("authorization", f"Basic {token}")])
        assert auth.authenticate(request).ok
        postgres.pause()
        try:
            with pytest.raises(OperationalError):
                auth.authenticate(request)
        finally:
            postgres.resume()
            for api in apis:  # their pooled connections died with the server
                api.ask(op="reset")
        # The pool was invalidated by the disconnect: the next lookup reconnects.
        assert auth.authenticate(request).ok


class TestSchema:
    def test_migrate_is_idempotent_and_concurrent(self, postgres: PostgresServer) -> None:
        """Several create_schema() at once (own engines: own connections) on an empty
        database all succeed, leaving schema version 1; running it again changes nothing."""
        from concurrent.futures import ThreadPoolExecutor

        from clientauth.registry_sql import SQLRegistry

        url = postgres.create_database(f"t{next(_names)}")
        with ThreadPoolExecutor(4) as pool:
            versions = list(pool.map(lambda _: SQLRegistry(url).create_schema(), range(4)))
        assert versions == [1, 1, 1, 1]
        registry = SQLRegistry(url)
        assert registry.create_schema() == 1
        with registry.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT count(*) FROM clientauth_schema").scalar()
        assert rows == 1

    def test_missing_schema_is_a_clear_error(self, postgres: PostgresServer) -> None:
        """CLI commands against a database without the schema say how to create it."""
        url = postgres.create_database(f"t{next(_names)}")
        proc = cli("list", "--registry", url)
        assert proc.returncode == 2
        assert "clientauth client migrate" in proc.stderr
