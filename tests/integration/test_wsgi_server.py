"""The WSGI middleware on a real WSGI server (the standard library's wsgiref) on 127.0.0.1.

Issue 11 finding 6: a request announcing ``Content-Length: -1`` (or a non-numeric or repeated
length) with a 4 MB body is answered 400 without reading the body; ``max_body_size`` is never
bypassed.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from harness import free_port

import clientauth
from clientauth.wsgi import ClientAuthMiddleware

pytestmark = pytest.mark.integration

SECRET = clientauth.generate_secret()
BODY = b"client_id=post&client_secret=" + SECRET.encode() + b"&pad=" + b"x" * (4 * 1024 * 1024)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, list[int]]]:
    """wsgiref serving the guarded app; the list collects the body sizes the app received."""
    seen: list[int] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        seen.append(len(environ["wsgi.input"].read(length)))
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"ok"]

    auth = clientauth.Authenticator(clientauth.load_clients([
        {"client_id": "post", "token_endpoint_auth_method": "client_secret_post",
         "client_secret_hash": clientauth.hash_secret(SECRET)}]))
    port = free_port()
    httpd = make_server("127.0.0.1", port, ClientAuthMiddleware(app, authenticator=auth),
                        handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield port, seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def _post(port: int, length_header: str, body: bytes) -> int:
    """Send the request while reading the answer: a server that answers without reading the
    body closes the connection under the sender, which must not lose the status line."""
    head = ("POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n" + length_header)
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head.encode() + b"\r\n")

        def send_body() -> None:
            with contextlib.suppress(OSError):
                sock.sendall(body)

        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        data = b""
        with contextlib.suppress(ConnectionResetError):
            while b"\r\n" not in data and (chunk := sock.recv(65536)):
                data += chunk
        sender.join(20)
    return int(data.split()[1])


@pytest.mark.parametrize("header", ["Content-Length: -1\r\n", "Content-Length: abc\r\n",
                                    "Content-Length: 4, 4\r\n"])
def test_malformed_content_length_is_400_unread(server: tuple[int, list[int]],
                                                 header: str) -> None:
    """A malformed Content-Length with a 4 MB form body carrying valid credentials: 400,
    and the application never runs."""
    port, seen = server
    before = len(seen)
    assert _post(port, header, BODY) == 400
    assert len(seen) == before


def test_valid_small_form_still_authenticates(server: tuple[int, list[int]]) -> None:
    """The same credentials in a well-formed small body authenticate (sanity)."""
    port, seen = server
    body = b"client_id=post&client_secret=" + SECRET.encode()
    assert _post(port, f"Content-Length: {len(body)}\r\n", body) == 200
    assert seen[-1] == len(body)
