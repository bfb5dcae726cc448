"""Issue 12 finding 6 end to end: the ASGI middleware on a real uvicorn server, its
``SQLRegistry`` on a real PostgreSQL that is stopped and started again, then frozen (SIGSTOP)
and thawed -- all without restarting the application.

While the database is away every guarded request is answered 503 with ``Retry-After`` and
the fixed ``temporarily_unavailable`` body (a good secret and a wrong one alike: never 401 for
a good client, never 200 for one that could not be looked up) and one ``registry_unavailable``
audit event each; once it is back, the same server authenticates again. A missing PostgreSQL
skips these tests -- unless CI is set: there they fail.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from harness import free_port, unavailable, uvicorn_thread
from pg_server import PostgresServer, missing_reason

import clientauth
from clientauth.asgi import ClientAuthMiddleware
from clientauth.audit import AuditEvent

pytestmark = pytest.mark.integration

SECRET = clientauth.generate_secret()
STATEMENT_TIMEOUT = 1.0  # seconds; the registry's watchdog cuts a frozen server off after +1 s
RECOVERY_TRIES = 5  # SQLAlchemy drops its stale pool on the first disconnect: one 503, then 200
BODY = {
    "error": "temporarily_unavailable",
    "error_description": "The client registry is temporarily unavailable. Retry later.",
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": scope["clientauth"].client_id.encode()})


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    reason = missing_reason()
    if reason is not None:
        unavailable(reason)
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.thaw()
        server.stop()


@pytest.fixture(scope="module")
def events() -> list[AuditEvent]:
    return []


@pytest.fixture(scope="module")
def http(postgres: PostgresServer, events: list[AuditEvent]) -> Iterator[httpx.Client]:
    import uvicorn

    from clientauth.registry_sql import SQLRegistry

    url = postgres.create_database("outage")
    registry = SQLRegistry(url, cache_ttl=0, connect_timeout=2,
                           statement_timeout=STATEMENT_TIMEOUT)
    registry.create_schema()
    registry.add(clientauth.Client.from_metadata({
        "client_id": "good", "client_secret_hash": clientauth.hash_secret(SECRET)}))
    auth = clientauth.Authenticator(registry, audit=events.append)
    # threaded: a lookup waiting on the database must not hold the event loop.
    guarded = ClientAuthMiddleware(app, authenticator=auth, threaded=True)
    port = free_port()
    config = uvicorn.Config(guarded, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    with uvicorn_thread(config), httpx.Client(base_url=f"http://127.0.0.1:{port}",
                                              timeout=30) as client:
        yield client


def good(http: httpx.Client) -> httpx.Response:
    return http.post("/token", auth=("good", SECRET))


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    assert r.headers["retry-after"] == "5"
    assert r.json() == BODY


def recover(http: httpx.Client) -> list[int]:
    """Statuses until the good client is accepted again (each one 503 or 200)."""
    statuses = []
    for _ in range(RECOVERY_TRIES):
        statuses.append(good(http).status_code)
        if statuses[-1] == 200:
            break
    assert statuses[-1] == 200, statuses
    assert set(statuses) <= {200, 503}, statuses
    return statuses


class TestOutage:
    def test_stopped_database(self, http: httpx.Client, postgres: PostgresServer,
                              events: list[AuditEvent]) -> None:
        """PostgreSQL stopped: 503 + Retry-After + body for a good and a wrong secret, one
        registry_unavailable event each; started again: 200 for the good secret, 401 for
        the wrong one, with the same server process."""
        assert good(http).status_code == 200
        postgres.pause()
        try:
            events.clear()
            assert_unavailable(good(http))
            assert_unavailable(http.post("/token", auth=("good", "wrong")))
            assert [e.event for e in events] == ["registry_unavailable"] * 2
            assert all(e.client_id == "good" and e.peer == "127.0.0.1" for e in events)
        finally:
            postgres.resume()
        recover(http)
        assert http.post("/token", auth=("good", "wrong")).status_code == 401

    def test_frozen_database(self, http: httpx.Client, postgres: PostgresServer) -> None:
        """PostgreSQL frozen (SIGSTOP): 503 within the statement timeout plus the watchdog's
        grace, never a request hanging; thawed: 200 again."""
        assert good(http).status_code == 200
        postgres.freeze()
        try:
            started = time.monotonic()
            r = good(http)
            elapsed = time.monotonic() - started
        finally:
            postgres.thaw()
        assert_unavailable(r)
        assert elapsed < STATEMENT_TIMEOUT + 1 + 3, elapsed  # + slack on a shared machine
        recover(http)
