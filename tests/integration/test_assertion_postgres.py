"""Client assertions across hosts: two API processes share one PostgreSQL replay store.

What must hold (RFC 7523 3 item 7, for a deployment behind a load balancer): an assertion
accepted by process A is refused as ``replayed_assertion`` by process B; of several
processes racing with one assertion exactly one accepts it; the clients come from a
SQLRegistry on the same server, so an Authenticator without ``audience`` fails clearly at
the first assertion client (it cannot check the registry at construction).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import unavailable
from pg_server import PostgresServer, missing_reason

from assertion_keys import AUDIENCE, claims, pk_client, sign

pytestmark = pytest.mark.integration

TESTS = Path(__file__).resolve().parent.parent

# One API process: reads "token" lines on stdin, answers the failure (or "ok") per line.
WORKER = textwrap.dedent("""
    import sys
    import clientauth
    from clientauth.registry_sql import SQLRegistry
    from clientauth.replay_sql import SQLReplayStore
    from clientauth.request import JWT_BEARER
    url, audience = sys.argv[1], sys.argv[2]
    # replay= without an audience would configure nothing, which is refused (issue 17):
    # the no-audience worker passes neither.
    auth = clientauth.Authenticator(SQLRegistry(url), audience=audience or None,
                                    replay=SQLReplayStore(url) if audience else None)
    print("ready", flush=True)
    for line in sys.stdin:
        request = clientauth.ClientRequest(form={"client_assertion_type": JWT_BEARER,
                                                 "client_assertion": line.strip()})
        try:
            result = auth.authenticate(request)
            print("ok" if result.ok else result.failure.value, flush=True)
        except clientauth.ConfigurationError as exc:
            print("configuration: " + str(exc).replace("\\n", " "), flush=True)
""")


@pytest.fixture(scope="module")
def db() -> Iterator[str]:
    reason = missing_reason()
    if reason is not None:
        unavailable(reason)
    server = PostgresServer.start()
    try:
        from clientauth.registry_sql import SQLRegistry
        from clientauth.replay_sql import SQLReplayStore

        url = server.create_database("assertions")
        registry = SQLRegistry(url)
        registry.create_schema()
        registry.add(clientauth_client())
        SQLReplayStore(url).create_schema()
        yield url
    finally:
        server.stop()


def clientauth_client():  # type: ignore[no-untyped-def]
    from clientauth import Client

    return Client.from_metadata(pk_client())


class Worker:
    def __init__(self, url: str, audience: str = AUDIENCE) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, url, audience], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, cwd=TESTS,
            env={"PYTHONPATH": f"{TESTS.parent / 'src'}:{TESTS}", "PATH": "/usr/bin:/bin"},
        )
        assert self.readline() == "ready"

    def readline(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def send(self, token: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(token + "\n")
        self.proc.stdin.flush()

    def ask(self, token: str) -> str:
        self.send(token)
        return self.readline()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def workers(db: str) -> Iterator[list[Worker]]:
    started = [Worker(db) for _ in range(3)]
    yield started
    for w in started:
        w.close()


def fresh() -> str:
    # Signed now (the workers use the system clock): valid for 60 s.
    import time

    t = int(time.time())
    return sign(claims(iat=t, exp=t + 60), "ES256")


def test_used_on_a_refused_on_b(workers: list[Worker]) -> None:
    """A jti used on host A is refused on host B (and on A again)."""
    a, b, _ = workers
    token = fresh()
    assert a.ask(token) == "ok"
    assert b.ask(token) == "replayed_assertion"
    assert a.ask(token) == "replayed_assertion"
    assert b.ask(fresh()) == "ok"


def test_race_has_one_winner(workers: list[Worker]) -> None:
    """The same assertion sent to three processes at once is accepted exactly once."""
    for _ in range(5):
        token = fresh()
        for w in workers:
            w.send(token)
        answers = sorted(w.readline() for w in workers)
        assert answers == ["ok", "replayed_assertion", "replayed_assertion"], answers


def test_lazy_registry_without_audience_fails_clearly(db: str) -> None:
    """A SQL registry is not read at construction: without audience, the first assertion
    client raises a ConfigurationError that says what to configure."""
    worker = Worker(db, audience="")
    try:
        answer = worker.ask(fresh())
    finally:
        worker.close()
    assert answer.startswith("configuration:") and "audience" in answer, answer
    assert json.dumps(answer)  # one line, printable
