"""Issue 12 finding 6: a registry that cannot be read is answered 503, never 401 or 200.

The authenticator turns any exception of ``registry.get`` / ``registry.find_by_certificate``
into :class:`clientauth.RegistryUnavailable` (no parameters in its text, nothing chained),
audits a ``registry_unavailable`` event, and the ASGI and WSGI adapters answer 503 with
``Retry-After`` and the fixed ``temporarily_unavailable`` body -- and authenticate normally
again as soon as the registry answers, without a restart. The framework integrations are
covered in tests/integration/test_frameworks.py, a real PostgreSQL outage behind uvicorn in
tests/integration/test_registry_outage_server.py.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import pytest
from cryptography import x509

import clientauth
from certs import NOW, Pki, clock
from clientauth import Authenticator, Client, ClientRequest, MemoryRegistry
from clientauth.asgi import ClientAuthMiddleware as ASGIMiddleware
from clientauth.audit import AuditEvent
from clientauth.wsgi import ClientAuthMiddleware as WSGIMiddleware

SECRET = clientauth.generate_secret()
# What a database driver's message may carry: the statement's parameters (a client id here).
LEAKY = "SELECT ... WHERE client_id = %(id)s [parameters: {'id': 'good'}] connection refused"
EXPECTED_BODY = {
    "error": "temporarily_unavailable",
    "error_description": "The client registry is temporarily unavailable. Retry later.",
}


class DatabaseDown(Exception):
    """Stands for a driver error (psycopg's OperationalError carries ``sqlstate``)."""

    sqlstate = "08006"


class FlakyRegistry:
    """A registry that raises while ``down`` is set, then answers again (no restart)."""

    def __init__(self, clients: Iterable[Client]) -> None:
        self._inner = MemoryRegistry(clients)
        self.down = False
        self.calls = 0

    def get(self, client_id: str) -> Client | None:
        self.calls += 1
        if self.down:
            raise DatabaseDown(LEAKY)
        return self._inner.get(client_id)

    def find_by_certificate(self, certificate: x509.Certificate) -> Sequence[Client]:
        self.calls += 1
        if self.down:
            raise DatabaseDown(LEAKY)
        return self._inner.find_by_certificate(certificate)


def basic(cid: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()}


@pytest.fixture
def registry(pki: Pki) -> FlakyRegistry:
    return FlakyRegistry([
        Client.from_metadata({"client_id": "good",
                              "client_secret_hash": clientauth.hash_secret(SECRET)}),
        Client.from_metadata({"client_id": "mtls", "token_endpoint_auth_method": "tls_client_auth",
                              "tls_client_auth_subject_dn": "CN=mtls-client"}),
    ])


@pytest.fixture
def events() -> list[AuditEvent]:
    return []


@pytest.fixture
def auth(registry: FlakyRegistry, events: list[AuditEvent], pki: Pki) -> Authenticator:
    return Authenticator(registry, audit=events.append, trust_anchors=[pki.root.cert],
                         intermediates=[pki.intermediate.cert], now=clock(NOW))


async def ok_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": scope["clientauth"].client_id.encode()})


def ok_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [environ["clientauth"].client_id.encode()]


def asgi_client(auth: Authenticator, **options: Any) -> httpx.AsyncClient:
    app = ASGIMiddleware(ok_asgi, authenticator=auth, **options)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def wsgi_client(auth: Authenticator) -> httpx.Client:
    app = WSGIMiddleware(ok_wsgi, authenticator=auth)
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://test")


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "5"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-type"] == "application/json"
    assert r.json() == EXPECTED_BODY
    assert "www-authenticate" not in r.headers
    assert "good" not in r.text and "DatabaseDown" not in r.text


class TestAuthenticator:
    def test_lookup_failure_raises_registry_unavailable(
        self, auth: Authenticator, registry: FlakyRegistry
    ) -> None:
        """A failing get() raises RegistryUnavailable (a RegistryError and ClientAuthError),
        never a failed result ("unknown client") and never the driver's exception."""
        registry.down = True
        request = ClientRequest(list(basic("good", SECRET).items()))
        with pytest.raises(clientauth.RegistryUnavailable) as info:
            auth.authenticate(request)
        error = info.value
        assert isinstance(error, clientauth.RegistryError)
        assert isinstance(error, clientauth.ClientAuthError)
        assert error.error_type == "DatabaseDown"
        assert error.sqlstate == "08006"
        assert "get()" in str(error)

    def test_no_parameters_in_text_or_chain(
        self, auth: Authenticator, registry: FlakyRegistry
    ) -> None:
        """Neither the message nor the chain (__cause__ / __context__) holds the driver's
        text: it may carry the statement's parameters (a client id, a name digest)."""
        registry.down = True
        with pytest.raises(clientauth.RegistryUnavailable) as info:
            auth.authenticate(ClientRequest(list(basic("good", SECRET).items())))
        error = info.value
        assert "good" not in str(error) and "parameters" not in str(error)
        assert SECRET not in repr(error)
        assert error.__cause__ is None
        assert error.__context__ is None

    def test_find_by_certificate_failure(
        self, auth: Authenticator, registry: FlakyRegistry, pki: Pki
    ) -> None:
        """Identification by certificate (no client_id) fails the same way."""
        registry.down = True
        request = ClientRequest([], tls_chain=pki.chain_for(pki.leaf("mtls-client")))
        with pytest.raises(clientauth.RegistryUnavailable, match="find_by_certificate"):
            auth.authenticate(request)
        registry.down = False
        assert auth.authenticate(request).client_id == "mtls"

    def test_audit_event(
        self, auth: Authenticator, registry: FlakyRegistry, events: list[AuditEvent],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """One registry_unavailable event (WARNING, through the hook and the logger), with
        the presented client id and no driver text; no authentication event."""
        registry.down = True
        with caplog.at_level(logging.INFO, logger="clientauth.audit"), pytest.raises(
            clientauth.RegistryUnavailable
        ):
            auth.authenticate(ClientRequest(list(basic("good", SECRET).items()), peer="10.0.0.1"))
        assert [e.event for e in events] == ["registry_unavailable"]
        event = events[0]
        assert (event.ok, event.client_id, event.error) == (False, "good",
                                                            "temporarily_unavailable")
        assert event.peer == "10.0.0.1"
        assert event.method == "client_secret_basic"
        [record] = caplog.records
        assert record.levelno == logging.WARNING
        assert "registry unavailable" in record.getMessage()
        assert record.clientauth_event == "registry_unavailable"  # type: ignore[attr-defined]
        assert "parameters" not in record.getMessage()
        json.dumps(event.as_dict())

    def test_recovers_without_restart(
        self, auth: Authenticator, registry: FlakyRegistry
    ) -> None:
        """The next lookup after the registry answers again authenticates normally."""
        request = ClientRequest(list(basic("good", SECRET).items()))
        registry.down = True
        with pytest.raises(clientauth.RegistryUnavailable):
            auth.authenticate(request)
        registry.down = False
        assert auth.authenticate(request).ok


class TestAdapters:
    @pytest.mark.anyio
    async def test_asgi_503_then_200(self, auth: Authenticator, registry: FlakyRegistry) -> None:
        """ASGI: 503 + Retry-After + fixed body while down (a good client and a bad one
        alike), 200 for the good client and 401 for the bad one once it answers."""
        for threaded in (False, True):
            async with asgi_client(auth, threaded=threaded) as client:
                registry.down = True
                assert_unavailable(await client.post("/token", headers=basic("good", SECRET)))
                assert_unavailable(await client.post("/token", headers=basic("good", "bad")))
                registry.down = False
                r = await client.post("/token", headers=basic("good", SECRET))
                assert (r.status_code, r.text) == (200, "good")
                r = await client.post("/token", headers=basic("good", "bad"))
                assert r.status_code == 401

    @pytest.mark.anyio
    async def test_asgi_form_body(self, auth: Authenticator, registry: FlakyRegistry) -> None:
        """A form-post request during the outage is answered 503 too (body already read)."""
        registry.down = True
        async with asgi_client(auth) as client:
            r = await client.post("/token", data={"client_id": "good", "client_secret": SECRET})
        assert_unavailable(r)

    def test_wsgi_503_then_200(self, auth: Authenticator, registry: FlakyRegistry) -> None:
        """WSGI: the same 503 while down; 200 / 401 once the registry answers."""
        with wsgi_client(auth) as client:
            registry.down = True
            r = client.post("/token", headers=basic("good", SECRET))
            assert_unavailable(r)
            assert r.reason_phrase == "Service Unavailable"
            registry.down = False
            r = client.post("/token", headers=basic("good", SECRET))
            assert (r.status_code, r.text) == (200, "good")
            assert client.post("/token", headers=basic("good", "bad")).status_code == 401

    def test_no_credentials_needs_no_registry(
        self, auth: Authenticator, registry: FlakyRegistry
    ) -> None:
        """A request without credentials is refused without a lookup (401, not 503)."""
        registry.down = True
        with wsgi_client(auth) as client:
            assert client.post("/token").status_code == 401
        assert registry.calls == 0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
