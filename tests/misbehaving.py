"""A real HTTP server on 127.0.0.1 that misbehaves on purpose, for the outbound-fetch tests.

Each path is answered by a *behaviour*: a function that writes raw bytes to the socket, so a
test can drip the status line and headers one byte at a time, stall before answering, redirect,
or stream a body far larger than any cap -- things ``http.server`` handlers make awkward.

    server = MisbehavingServer()
    server.routes["/crl"] = drip_body(crl_der, interval=0.2)
    url = server.url("/crl")
    ... server.hits["/crl"], server.close()

Also an OCSP responder behaviour (:func:`ocsp_responder`) that signs real answers with
cryptography, so revocation tests need no openssl process.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from certs import Issued

Behaviour = Callable[["Exchange"], None]
_CHUNK = 64 * 1024


class Exchange:
    """One request as the behaviour sees it: ``method``, ``path``, ``body``; ``send`` writes
    raw bytes; ``stop`` is set when the server closes (behaviours that wait must watch it)."""

    def __init__(
        self, sock: socket.socket, method: str, path: str, body: bytes, stop: threading.Event
    ) -> None:
        self.sock = sock
        self.method = method
        self.path = path
        self.body = body
        self.stop = stop

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


class MisbehavingServer:
    """Threaded raw HTTP/1.1 server on 127.0.0.1; counts requests per path in ``hits``."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Behaviour] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self.stop = threading.Event()
        self._lock = threading.Condition()
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request_line = self.rfile.readline(65536).decode("latin-1").split()
                if len(request_line) < 2:
                    return
                length = 0
                while True:
                    line = self.rfile.readline(65536)
                    if line in (b"\r\n", b"\n", b""):
                        break
                    key, _, value = line.decode("latin-1").partition(":")
                    if key.strip().lower() == "content-length":
                        length = int(value.strip())
                body = self.rfile.read(length) if length else b""
                method, path = request_line[0], request_line[1]
                with server._lock:
                    server.hits[path] += 1
                    server._lock.notify_all()
                behaviour = server.routes.get(path, not_found)
                exchange = Exchange(self.connection, method, path, body, server.stop)
                with contextlib.suppress(OSError):  # the client gave up, as it should
                    behaviour(exchange)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def finish_request(self, request: Any, client_address: Any) -> None:
                if tls is None:
                    super().finish_request(request, client_address)
                    return
                try:  # the handshake runs in the connection's own thread
                    wrapped = tls.wrap_socket(request, server_side=True)
                except (OSError, ssl.SSLError):
                    return
                with wrapped:  # socketserver closes only the socket it accepted
                    super().finish_request(wrapped, client_address)

        self.tls = tls
        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.hits.values())

    def wait_for_total(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` requests have arrived (woken by each arrival, no polling)."""
        with self._lock:
            assert self._lock.wait_for(lambda: sum(self.hits.values()) >= count, timeout)

    def close(self) -> None:
        self.stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# -- behaviours ---------------------------------------------------------------------------------


def _head(status: str, headers: Iterable[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers), "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def not_found(exchange: Exchange) -> None:
    exchange.send(_head("404 Not Found", [("Content-Length", "0")]))


def ok(body: bytes, content_type: str = "application/octet-stream") -> Behaviour:
    def behave(exchange: Exchange) -> None:
        exchange.send(
            _head("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            + body
        )

    return behave


def drip_body(body: bytes, interval: float) -> Behaviour:
    """Headers at once, then the body one byte per ``interval`` seconds."""

    def behave(exchange: Exchange) -> None:
        exchange.send(_head("200 OK", [("Content-Length", str(len(body)))]))
        for i in range(len(body)):
            if exchange.stop.wait(interval):
                return
            exchange.send(body[i : i + 1])

    return behave


def drip_headers(body: bytes, interval: float) -> Behaviour:
    """The status line and headers one byte per ``interval`` seconds (each read succeeds
    well within any per-read timeout), then the body."""

    def behave(exchange: Exchange) -> None:
        head = _head("200 OK", [("Content-Length", str(len(body))), ("X-Padding", "x" * 200)])
        for i in range(len(head)):
            if exchange.stop.wait(interval):
                return
            exchange.send(head[i : i + 1])
        exchange.send(body)

    return behave


def stall(seconds: float) -> Behaviour:
    """Read the request, then say nothing for ``seconds``."""

    def behave(exchange: Exchange) -> None:
        exchange.stop.wait(seconds)

    return behave


def redirect(location: str, status: int = 302) -> Behaviour:
    def behave(exchange: Exchange) -> None:
        exchange.send(
            _head(f"{status} Found", [("Location", location), ("Content-Length", "0")])
        )

    return behave


def huge(size: int, *, announce: bool) -> Behaviour:
    """A ``size``-byte body of zeros, streamed; with or without Content-Length."""

    def behave(exchange: Exchange) -> None:
        headers = [("Content-Length", str(size))] if announce else []
        exchange.send(_head("200 OK", headers))
        block = bytes(_CHUNK)
        sent = 0
        while sent < size and not exchange.stop.is_set():
            exchange.send(block[: min(_CHUNK, size - sent)])
            sent += _CHUNK

    return behave


def ocsp_responder(
    ca: Issued, revoked: Iterable[int] = (), *, now: Callable[[], datetime]
) -> Behaviour:
    """An OCSP responder (RFC 6960) signing with the CA key itself: "revoked" for the
    serials in ``revoked``, "good" for everything else; echoes the request's nonce."""
    revoked_serials = frozenset(revoked)

    def behave(exchange: Exchange) -> None:
        request = ocsp.load_der_ocsp_request(exchange.body)
        at = now().replace(microsecond=0)
        serial = request.serial_number
        status = (
            ocsp.OCSPCertStatus.REVOKED if serial in revoked_serials else ocsp.OCSPCertStatus.GOOD
        )
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=serial,
            algorithm=request.hash_algorithm,
            cert_status=status,
            this_update=at - timedelta(minutes=1),
            next_update=at + timedelta(hours=1),
            revocation_time=at - timedelta(hours=1) if status is ocsp.OCSPCertStatus.REVOKED
            else None,
            revocation_reason=None,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, ca.cert)
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        body = builder.sign(ca.key, hashes.SHA256()).public_bytes(Encoding.DER)
        ok(body, "application/ocsp-response")(exchange)

    return behave
