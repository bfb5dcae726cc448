"""The ASGI middleware on a real uvicorn server on 127.0.0.1, driven over HTTP by httpx.

Every secret method, each failure status, the form body replayed to the app, large bodies,
and concurrent clients that must never see each other's result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from harness import free_port, uvicorn_thread

import clientauth
from clientauth.asgi import ClientAuthMiddleware

pytestmark = pytest.mark.integration

SECRETS = {f"client-{i}": clientauth.generate_secret() for i in range(4)}


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with the authenticated client and the exact body the app received."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    result = scope.get("clientauth")
    payload = json.dumps({
        "client_id": result.client_id if result else None,
        "method": result.method if result else None,
        "body_length": len(body),
        "body": body.decode("latin-1") if len(body) < 4096 else None,
    }).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    import uvicorn

    def hashed(cid: str) -> str:
        return clientauth.hash_secret(SECRETS[cid])

    clients = [
        {"client_id": "client-0", "client_secret_hash": hashed("client-0")},
        {"client_id": "client-1", "token_endpoint_auth_method": "client_secret_post",
         "client_secret_hash": hashed("client-1")},
        {"client_id": "client-2", "token_endpoint_auth_method": "client_secret_header",
         "client_secret_hash": hashed("client-2")},
        {"client_id": "client-3", "client_secret_hash": hashed("client-3")},
    ]
    auth = clientauth.Authenticator(clientauth.load_clients(clients),
                                    id_header="x-client-id", secret_header="x-client-secret")
    app = ClientAuthMiddleware(echo, authenticator=auth, paths=["/token"], max_body_size=8192)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off", proxy_headers=False)
    with uvicorn_thread(config):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


class TestMethods:
    def test_basic(self, http: httpx.Client) -> None:
        """client_secret_basic over real HTTP."""
        r = http.post("/token", auth=("client-0", SECRETS["client-0"]))
        assert r.status_code == 200
        assert r.json()["client_id"] == "client-0"

    def test_post_body_replayed(self, http: httpx.Client) -> None:
        """client_secret_post: the app receives the form body byte for byte."""
        secret = SECRETS["client-1"]
        body = f"grant_type=client_credentials&client_id=client-1&client_secret={secret}"
        r = http.post("/token", content=body,
                      headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200, r.text
        assert r.json()["client_id"] == "client-1"
        assert r.json()["body"] == body

    def test_headers(self, http: httpx.Client) -> None:
        """client_secret_header with custom header names."""
        r = http.post("/token", headers={"x-client-id": "client-2",
                                         "x-client-secret": SECRETS["client-2"]})
        assert r.status_code == 200
        assert r.json()["method"] == "client_secret_header"


class TestFailureStatuses:
    def test_wrong_basic_401_with_challenge(self, http: httpx.Client) -> None:
        """Wrong Basic secret: 401 invalid_client and a Basic challenge (RFC 6749 5.2)."""
        r = http.post("/token", auth=("client-0", "nope"))
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Basic realm=")
        assert r.json() == {"error": "invalid_client",
                            "error_description": "Client authentication failed."}

    def test_malformed_400(self, http: httpx.Client) -> None:
        """Garbage Basic credentials: 400 invalid_request."""
        r = http.post("/token", headers={"authorization": "Basic !!!"})
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_request"

    def test_two_methods_400(self, http: httpx.Client) -> None:
        """Basic and a form secret together: 400 invalid_request."""
        r = http.post("/token", auth=("client-1", SECRETS["client-1"]),
                      data={"client_id": "client-1", "client_secret": SECRETS["client-1"]})
        assert r.status_code == 400

    def test_method_not_registered_401(self, http: httpx.Client) -> None:
        """A Basic client posting its secret in the form: 401 with the Basic challenge every
        401 carries (RFC 9110 15.5.2; issue 16 finding 5)."""
        r = http.post("/token", data={"client_id": "client-0",
                                      "client_secret": SECRETS["client-0"]})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == 'Basic realm="clientauth"'

    def test_no_credentials_401(self, http: httpx.Client) -> None:
        """No credentials at all: 401 with a Basic challenge (RFC 9110 15.5.2)."""
        r = http.get("/token")
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == 'Basic realm="clientauth"'

    def test_unguarded_path(self, http: httpx.Client) -> None:
        """Paths outside `paths` reach the app without authentication."""
        r = http.get("/health")
        assert r.status_code == 200
        assert r.json()["client_id"] is None


class TestLargeBodies:
    def test_large_form_413(self, http: httpx.Client) -> None:
        """A form body over max_body_size: 413, the app never runs."""
        r = http.post("/token", data={"client_id": "client-1", "pad": "x" * 20_000})
        assert r.status_code == 413

    def test_large_non_form_body_streams_through(self, http: httpx.Client) -> None:
        """A 1 MiB JSON body is not buffered by the middleware and reaches the app whole."""
        body = b"[" + b"1," * (512 * 1024 - 1) + b"1]"
        r = http.post("/token", content=body, auth=("client-0", SECRETS["client-0"]),
                      headers={"content-type": "application/json"})
        assert r.status_code == 200
        assert r.json()["body_length"] == len(body)


class TestConcurrency:
    def test_results_never_leak_between_requests(self, base_url: str) -> None:
        """400 requests from 8 threads, four clients interleaved (some with wrong secrets):
        every response names exactly the client of its own request, or refuses it."""
        def one(i: int) -> tuple[int, str, int, str | None]:
            cid = f"client-{i % 4}"
            good = i % 5 != 0
            secret = SECRETS[cid] if good else "wrong-" + str(i)
            with httpx.Client(base_url=base_url, timeout=10) as client:
                if cid == "client-1":
                    r = client.post("/token", data={"client_id": cid, "client_secret": secret})
                elif cid == "client-2":
                    r = client.post("/token", headers={"x-client-id": cid,
                                                       "x-client-secret": secret})
                else:
                    r = client.post("/token", auth=(cid, secret))
            return i, cid, r.status_code, r.json().get("client_id")

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(one, range(400)))
        for i, cid, status, seen in outcomes:
            if i % 5 != 0:
                assert (status, seen) == (200, cid), (i, cid, status, seen)
            else:
                assert status == 401, (i, cid, status)


class TestClientLimits:
    """Issue 11 finding 3 on a real server: more than MAX_HEADERS header fields (about 12 KB,
    under uvicorn's own limits) is a 400 from the middleware, never a 500."""

    @pytest.mark.parametrize("http_impl", ["h11", "httptools"])
    def test_many_header_fields(self, http_impl: str) -> None:
        """1001 header fields plus valid Basic credentials: 400 invalid_request, h11 and
        httptools alike; 999 fields still authenticate."""
        import base64
        import socket

        import uvicorn

        pytest.importorskip(http_impl)
        auth = clientauth.Authenticator(clientauth.load_clients(
            [{"client_id": "client-0",
              "client_secret_hash": clientauth.hash_secret(SECRETS["client-0"])}]))
        port = free_port()
        config = uvicorn.Config(ClientAuthMiddleware(echo, authenticator=auth), host="127.0.0.1",
                                port=port, log_level="critical", lifespan="off", http=http_impl)
        credentials = base64.b64encode(f"client-0:{SECRETS['client-0']}".encode()).decode()

        def status_with(fields: int) -> int:
            lines = [f"X-{i}: v" for i in range(fields - 2)]
            head = "\r\n".join(["GET /token HTTP/1.1", "Host: 127.0.0.1",
                                f"Authorization: Basic {credentials}", *lines,
                                "Connection: close"])
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(head.encode() + b"\r\n\r\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            return int(data.split()[1])

        with uvicorn_thread(config):
            assert status_with(1002) == 400
            assert status_with(999) == 200
