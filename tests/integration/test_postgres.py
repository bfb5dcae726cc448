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
from collections.abc import Iterator
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


@pytest.fixture
def db(postgres: PostgresServer) -> str:
    """A fresh database with the clientauth schema, created through the CLI."""
    url = postgres.create_database(f"t{next(_names)}")
    proc = cli("migrate", "--registry", url)
    assert proc.returncode == 0, proc.stderr
    return url


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clientauth", "client", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def add_secret_client(url: str, client_id: str) -> str:
    proc = cli("add", client_id, "--registry", url, "--json")
    assert proc.returncode == 0, proc.stderr
    return str(json.loads(proc.stdout)["client_secret"])


def wait_until(check: object, timeout: float) -> float:
    """Seconds until ``check()`` holds; fails after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"not observed within {timeout} s")


class TestTwoProcesses:
    def test_revoked_secret_refused_by_other_process_within_ttl(self, db: str) -> None:
        """A secret revoked through process A is refused by A at once and by B within the
        cache TTL."""
        secret = add_secret_client(db, "svc")
        with Worker(db, ttl=TTL) as a, Worker(db, ttl=TTL) as b:
            second = a.ask(op="rotate", client_id="svc", keep=3600)["secret"]
            assert a.auth("svc", secret) and b.auth("svc", secret)
            assert a.ask(op="revoke", client_id="svc", secret=secret) == {"revoked": 1}
            assert not a.auth("svc", secret)
            elapsed = wait_until(lambda: not b.auth("svc", secret), TTL + SLACK)
            assert elapsed <= TTL + SLACK
            assert a.auth("svc", second) and b.auth("svc", second)

    def test_rotated_secret_both_live_in_both_processes(self, db: str) -> None:
        """After a CLI rotation with --keep-old-for, old and new secrets work everywhere."""
        old = add_secret_client(db, "svc")
        with Worker(db, ttl=TTL) as a, Worker(db, ttl=TTL) as b:
            assert a.auth("svc", old) and b.auth("svc", old)
            proc = cli("rotate-secret", "svc", "--registry", db, "--keep-old-for", "1h",
                       "--json")
            assert proc.returncode == 0, proc.stderr
            new = json.loads(proc.stdout)["client_secret"]
            for worker in (a, b):
                wait_until(lambda w=worker: w.auth("svc", new), TTL + SLACK)
                assert worker.auth("svc", old)

    def test_cli_revocation_observed(self, db: str) -> None:
        """revoke-secret through the CLI (secret on stdin) is observed by a running API."""
        old = add_secret_client(db, "svc")
        proc = cli("rotate-secret", "svc", "--registry", db, "--keep-old-for", "1h", "--json")
        new = json.loads(proc.stdout)["client_secret"]
        with Worker(db, ttl=TTL) as api:
            assert api.auth("svc", old)
            proc = cli("revoke-secret", "svc", "--registry", db, "--secret-stdin",
                       stdin=old + "\n")
            assert proc.returncode == 0, proc.stderr
            wait_until(lambda: not api.auth("svc", old), TTL + SLACK)
            assert api.auth("svc", new)

    def test_pinned_certificate_identified_in_other_process(self, db: str, tmp_path: Path) -> None:
        """A certificate pinned (then re-pinned) through the CLI identifies the client in a
        running API without a client_id, through the database name index."""
        now = datetime.now(UTC)
        valid = {"not_before": now - timedelta(hours=1), "not_after": now + timedelta(days=1)}
        first, second = issue(name("device-1"), **valid), issue(name("device-1b"), **valid)
        (tmp_path / "first.pem").write_text(first.pem)
        (tmp_path / "second.pem").write_text(second.pem)
        proc = cli("add", "device", "--registry", db, "--method",
                   "self_signed_tls_client_auth", "--cert", str(tmp_path / "first.pem"))
        assert proc.returncode == 0, proc.stderr
        with Worker(db, ttl=TTL) as api:
            assert api.ask(op="cert", pem=first.pem)["client_id"] == "device"
            proc = cli("pin-cert", "device", "--registry", db, "--cert",
                       str(tmp_path / "second.pem"), "--replace")
            assert proc.returncode == 0, proc.stderr
            wait_until(lambda: api.ask(op="cert", pem=second.pem)["ok"], TTL + SLACK)
            assert not api.ask(op="cert", pem=first.pem)["ok"]


class TestConcurrentWrites:
    def test_concurrent_registration_and_rotation_lose_nothing(self, db: str) -> None:
        """Parallel CLI processes adding clients and rotating one client: every client and
        every rotated secret is there afterwards (optimistic concurrency, retried)."""
        add_secret_client(db, "shared")
        adds = [subprocess.Popen(
            [sys.executable, "-m", "clientauth", "client", "add", f"c{i}", "--registry", db],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for i in range(6)]
        rotations = [subprocess.Popen(
            [sys.executable, "-m", "clientauth", "client", "rotate-secret", "shared",
             "--registry", db, "--keep-old-for", "1h", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
        secrets = []
        for proc in adds + rotations:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            if out:
                secrets.append(json.loads(out)["client_secret"])
        from clientauth.registry_sql import SQLRegistry

        registry = SQLRegistry(db, cache_ttl=0)
        assert {c.client_id for c in registry} == {"shared", *(f"c{i}" for i in range(6))}
        shared = registry.get("shared")
        assert shared is not None and len(shared.secrets) == 7
        auth = clientauth.Authenticator(registry)
        for secret in secrets:
            token = base64.b64encode(f"shared:{secret}".encode()).decode()
            assert auth.authenticate(
                clientauth.ClientRequest([("authorization", f"Basic {token}")])).ok


class TestSchema:
    def test_migrate_is_idempotent_and_concurrent(self, postgres: PostgresServer) -> None:
        """Several `client migrate` at once on an empty database all succeed, leaving
        one schema version row."""
        url = postgres.create_database(f"t{next(_names)}")
        procs = [subprocess.Popen(
            [sys.executable, "-m", "clientauth", "client", "migrate", "--registry", url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        results = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], results
        from clientauth.registry_sql import SQLRegistry

        assert SQLRegistry(url).schema_version() == 1

    def test_missing_schema_is_a_clear_error(self, postgres: PostgresServer) -> None:
        """Commands against a database without the schema say how to create it."""
        url = postgres.create_database(f"t{next(_names)}")
        proc = cli("list", "--registry", url)
        assert proc.returncode == 2
        assert "clientauth client migrate" in proc.stderr
