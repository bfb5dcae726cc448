"""Direct mutual TLS: real uvicorn on 127.0.0.1 with clientauth.servers.uvicorn's protocol,
the ASGI middleware behind it, and httpx clients presenting certificates.

The servers run in threads of this process (uvicorn.Server with ``should_exit``), each on a
free port, and are stopped by the fixtures.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import ssl
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import (
    ORG,
    STARTUP_TIMEOUT,
    STOP_TIMEOUT,
    Identity,
    ItPki,
    free_port,
    unavailable,
    uvicorn_thread,
)

import clientauth
from certs import self_signed
from clientauth.asgi import ClientAuthMiddleware
from clientauth.servers import uvicorn as ca_uvicorn

pytestmark = pytest.mark.integration


# -- the app --------------------------------------------------------------------------------


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with the authentication result and the TLS extension it saw."""
    result = scope.get("clientauth")
    tls = (scope.get("extensions") or {}).get("tls") or {}
    await _json(send, 200, {
        "client_id": result.client_id if result else None,
        "source": result.source if result else None,
        "thumbprint": result.thumbprint if result else None,
        "chain_length": len(tls.get("client_cert_chain") or ()),
        "tls_version": tls.get("tls_version"),
        "cipher_suite": tls.get("cipher_suite"),
        "client_cert_name": tls.get("client_cert_name"),
    })


def on_error(scope: Any, result: clientauth.AuthResult) -> Any:
    """Answers 401 with the failure reason, so tests can tell failures apart."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await _json(send, 401, {"failure": str(result.failure), "client_id": result.client_id})

    return app


async def _json(send: Any, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


# -- fixtures -------------------------------------------------------------------------------


class Pinned:
    """A self-signed client identity on disk."""

    def __init__(self, directory: Path) -> None:
        self.issued = self_signed("pinned-client")
        self.identity = Identity(self.issued, *self.issued.write(directory, "pinned"))


@pytest.fixture(scope="module")
def pinned(it_pki: ItPki) -> Pinned:
    return Pinned(it_pki.directory)


@pytest.fixture(scope="module")
def client_cas(it_pki: ItPki, pinned: Pinned) -> str:
    """What the TLS layer accepts: the client root, plus the pinned self-signed certificate
    (Python's ssl has no verify callback; see clientauth.servers.uvicorn)."""
    path = it_pki.directory / "direct-client-cas.pem"
    path.write_text(it_pki.root.pem + pinned.issued.pem)
    return str(path)


@pytest.fixture(scope="module")
def authenticator(it_pki: ItPki, pinned: Pinned) -> clientauth.Authenticator:
    registry = clientauth.load_clients([
        *({"client_id": cid, "token_endpoint_auth_method": "tls_client_auth",
           "tls_client_auth_subject_dn": f"CN={cid},O={ORG}"} for cid in ("client-1", "client-2")),
        {"client_id": "pinned", "token_endpoint_auth_method": "self_signed_tls_client_auth",
         "tls_client_certificates": [pinned.issued.pem]},
    ])
    # No intermediates configured: the issuing CA must come from the client's TLS chain.
    return clientauth.Authenticator(registry, trust_anchors=[it_pki.root.cert])


@contextlib.contextmanager
def serve(app: Any, it_pki: ItPki, client_cas: str, *, required: bool,
          http: str) -> Iterator[str]:
    """uvicorn with direct mTLS in a thread; yields its https URL, stops it afterwards."""
    port = free_port()
    config = ca_uvicorn.config(
        app, host="127.0.0.1", port=port,
        ssl_certfile=str(it_pki.directory / "server.pem"),
        ssl_keyfile=str(it_pki.directory / "server.key"),
        ssl_ca_certs=client_cas, client_cert_required=required, http=http,
        log_level="warning", access_log=False, lifespan="off",
    )
    with uvicorn_thread(config, timeout=max(STARTUP_TIMEOUT, STOP_TIMEOUT)):
        yield f"https://127.0.0.1:{port}"


@pytest.fixture(scope="module", params=["h11", "httptools"])
def http_impl(request: pytest.FixtureRequest) -> str:
    """Each of uvicorn's HTTP/1.1 implementations (httptools is optional in uvicorn)."""
    if request.param == "httptools":
        try:
            import httptools  # noqa: F401
        except ImportError:
            unavailable("httptools is not installed (pip install httptools)")
    return str(request.param)


@pytest.fixture(scope="module")
def required_url(it_pki: ItPki, client_cas: str, authenticator: clientauth.Authenticator,
                 http_impl: str) -> Iterator[str]:
    """A server that requires a client certificate (CERT_REQUIRED)."""
    app = ClientAuthMiddleware(echo, authenticator=authenticator, on_error=on_error)
    with serve(app, it_pki, client_cas, required=True, http=http_impl) as url:
        yield url


@pytest.fixture(scope="module")
def optional_url(it_pki: ItPki, client_cas: str, authenticator: clientauth.Authenticator,
                 http_impl: str) -> Iterator[str]:
    """A server where the client certificate is optional (CERT_OPTIONAL)."""
    app = ClientAuthMiddleware(echo, authenticator=authenticator, on_error=on_error)
    with serve(app, it_pki, client_cas, required=False, http=http_impl) as url:
        yield url


def thumbprint(identity: Identity) -> str:
    import base64

    digest = hashlib.sha256(identity.der).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# -- tests ----------------------------------------------------------------------------------


class TestPkiClient:
    def test_valid_certificate_authenticates_over_tls(
        self, required_url: str, it_pki: ItPki, client_for: Any
    ) -> None:
        """A client-1 certificate with client_id=client-1 -> 200, source "tls"."""
        r = client_for(it_pki.client1).post(f"{required_url}/token",
                                            data={"client_id": "client-1"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["client_id"] == "client-1"
        assert body["source"] == "tls"
        assert body["thumbprint"] == thumbprint(it_pki.client1)

    def test_identified_by_certificate_alone(
        self, required_url: str, it_pki: ItPki, client_for: Any
    ) -> None:
        """Without client_id the registered subject DN identifies the client."""
        r = client_for(it_pki.client2).get(f"{required_url}/resource")
        assert r.status_code == 200, r.text
        assert r.json()["client_id"] == "client-2"

    def test_chain_sent_by_client_reaches_the_app(
        self, required_url: str, it_pki: ItPki, client_for: Any
    ) -> None:
        """The intermediate the client sent is in client_cert_chain (the authenticator has
        no intermediates configured, so the 200 above depends on it too)."""
        r = client_for(it_pki.client1).get(f"{required_url}/resource")
        body = r.json()
        assert body["chain_length"] == 2
        assert body["client_cert_name"] == f"CN=client-1,O={ORG}"  # RFC 4514: last RDN first

    def test_tls_version_and_cipher_suite(
        self, required_url: str, it_pki: ItPki, client_for: Any
    ) -> None:
        """tls_version and cipher_suite are the 16-bit IANA values (ASGI TLS extension)."""
        body = client_for(it_pki.client1).get(f"{required_url}/resource").json()
        assert body["tls_version"] == 0x0304
        assert body["cipher_suite"] in {0x1301, 0x1302, 0x1303}

    def test_other_clients_certificate_is_name_mismatch(
        self, required_url: str, it_pki: ItPki, client_for: Any
    ) -> None:
        """client-2's certificate claiming client_id=client-1 -> 401 name_mismatch."""
        r = client_for(it_pki.client2).post(f"{required_url}/token",
                                            data={"client_id": "client-1"})
        assert r.status_code == 401
        assert r.json() == {"failure": "name_mismatch", "client_id": "client-1"}


class TestPinnedClient:
    def test_pinned_self_signed_certificate(
        self, required_url: str, pinned: Pinned, client_for: Any
    ) -> None:
        """A pinned self-signed certificate that is in the server's CA file -> 200."""
        r = client_for(pinned.identity).post(f"{required_url}/token",
                                             data={"client_id": "pinned"})
        assert r.status_code == 200, r.text
        assert r.json()["client_id"] == "pinned"
        assert r.json()["source"] == "tls"

    def test_unknown_self_signed_certificate_fails_handshake(
        self, required_url: str, it_pki: ItPki, client_for: Any
    ) -> None:
        """A self-signed certificate not in the CA file never reaches the app (the
        documented limitation: the TLS layer must know every pinned certificate)."""
        other = self_signed("unknown-client")
        identity = Identity(other, *other.write(it_pki.directory, "unknown-self-signed"))
        with pytest.raises(httpx.TransportError):
            client_for(identity).get(f"{required_url}/resource")


class TestMissingCertificate:
    def test_required_refuses_the_handshake(self, required_url: str, client_for: Any) -> None:
        """CERT_REQUIRED: a client without a certificate fails at the TLS layer."""
        with pytest.raises(httpx.TransportError):
            client_for(None).post(f"{required_url}/token", data={"client_id": "client-1"})

    def test_optional_answers_missing_certificate(
        self, optional_url: str, client_for: Any
    ) -> None:
        """CERT_OPTIONAL: the handshake succeeds, the middleware answers 401
        missing_certificate for a certificate client."""
        r = client_for(None).post(f"{optional_url}/token", data={"client_id": "client-1"})
        assert r.status_code == 401
        assert r.json()["failure"] == "missing_certificate"

    def test_optional_still_refuses_untrusted_certificate(
        self, optional_url: str, it_pki: ItPki, client_for: Any
    ) -> None:
        """CERT_OPTIONAL still verifies a presented chain: an untrusted issuer fails."""
        with pytest.raises(httpx.TransportError):
            client_for(it_pki.stranger).get(f"{optional_url}/resource")

    def test_optional_valid_certificate(
        self, optional_url: str, it_pki: ItPki, client_for: Any
    ) -> None:
        """CERT_OPTIONAL with a valid certificate authenticates as usual."""
        r = client_for(it_pki.client1).get(f"{optional_url}/resource")
        assert r.status_code == 200
        assert r.json()["client_id"] == "client-1"


class TestIsolation:
    def test_concurrent_connections_never_share_results(
        self, required_url: str, it_pki: ItPki, client_for: Any
    ) -> None:
        """50 requests over 8 threads, alternating two certificates on kept-alive
        connections: every answer names the client whose certificate was used."""
        identities = {"client-1": it_pki.client1, "client-2": it_pki.client2}
        clients = {cid: client_for(identity) for cid, identity in identities.items()}

        def call(i: int) -> tuple[str, str, str | None]:
            cid = "client-1" if i % 2 else "client-2"
            r = clients[cid].get(f"{required_url}/resource", params={"i": str(i)})
            return cid, r.json()["client_id"], r.json()["thumbprint"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(call, range(50)))
        assert len(results) == 50
        for expected, got, thumb in results:
            assert got == expected
            assert thumb == thumbprint(identities[expected])


class TestConfiguration:
    def test_ca_file_is_required(self, it_pki: ItPki) -> None:
        """Without ssl_ca_certs no client certificate could ever be requested: refused."""
        with pytest.raises(clientauth.ConfigurationError):
            ca_uvicorn.config(echo, ssl_certfile=str(it_pki.directory / "server.pem"),
                              ssl_ca_certs="")

    def test_cert_reqs_cannot_be_overridden(self, it_pki: ItPki, client_cas: str) -> None:
        """ssl_cert_reqs comes from client_cert_required, never from kwargs."""
        with pytest.raises(clientauth.ConfigurationError):
            ca_uvicorn.config(echo, ssl_certfile=str(it_pki.directory / "server.pem"),
                              ssl_ca_certs=client_cas, ssl_cert_reqs=ssl.CERT_NONE)

    def test_protocol_class_choices(self) -> None:
        """h11 is always available; auto picks httptools when installed, as uvicorn does."""
        assert ca_uvicorn.protocol_class("h11") is ca_uvicorn.ClientCertH11Protocol
        try:
            import httptools  # noqa: F401
        except ImportError:
            expected = "ClientCertH11Protocol"
        else:
            expected = "ClientCertHttpToolsProtocol"
        assert ca_uvicorn.protocol_class("auto").__name__ == expected
        with pytest.raises(clientauth.ConfigurationError):
            ca_uvicorn.protocol_class("h2")

    def test_plain_tcp_has_no_extension(self) -> None:
        """Without TLS there is nothing to report."""
        assert ca_uvicorn.tls_extension(None) is None
