"""The outbound-fetch layer (clientauth._fetch) against a real misbehaving server on 127.0.0.1.

Every bound is checked with real sockets and real time (short): one deadline for connect +
headers + body, the size cap, refused redirects, and the address policy.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
import tracemalloc
from collections.abc import Iterator

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from certs import issue, name
from clientauth._fetch import AddressPolicy, fetch
from clientauth.exceptions import ConfigurationError, FetchError
from misbehaving import (
    MisbehavingServer,
    drip_body,
    drip_headers,
    huge,
    ok,
    redirect,
    stall,
)

LOOPBACK = AddressPolicy.build(["127.0.0.1"])
MiB = 1024 * 1024


@pytest.fixture
def server() -> Iterator[MisbehavingServer]:
    srv = MisbehavingServer()
    yield srv
    srv.close()


def get(url: str, *, timeout: float = 1.0, max_size: int = MiB,
        policy: AddressPolicy = LOOPBACK) -> bytes:
    return fetch(url, what="test", timeout=timeout, max_size=max_size, policy=policy)


class TestDeadline:
    """One deadline covers the whole exchange, however the host spreads it out."""

    @pytest.mark.parametrize(
        "behaviour",
        [drip_body(b"x" * 100, 0.05), drip_headers(b"x", 0.05), stall(10)],
        ids=["drip-body", "drip-headers", "stall"],
    )
    def test_slow_host_cut_off_at_deadline(self, server: MisbehavingServer, behaviour) -> None:
        """Each byte arrives well within the timeout, but the fetch as a whole ends at the
        deadline (1 s) with a FetchError that says so."""
        server.routes["/slow"] = behaviour
        start = time.monotonic()
        with pytest.raises(FetchError, match="within the 1 s timeout"):
            get(server.url("/slow"), timeout=1.0)
        assert time.monotonic() - start < 1.5

    def test_fast_answer(self, server: MisbehavingServer) -> None:
        """A well-behaved host's body is returned as sent."""
        server.routes["/ok"] = ok(b"hello")
        assert get(server.url("/ok")) == b"hello"

    def test_post_body_is_sent(self, server: MisbehavingServer) -> None:
        """POST carries the body (OCSP requests, RFC 6960 A.1)."""
        seen: list[bytes] = []

        def echo(exchange) -> None:  # type: ignore[no-untyped-def]
            seen.append(exchange.body)
            ok(b"done")(exchange)

        server.routes["/post"] = echo
        body = fetch(server.url("/post"), what="test", timeout=1.0, max_size=MiB,
                     policy=LOOPBACK, method="POST", body=b"\x30\x00",
                     headers={"Content-Type": "application/ocsp-request"})
        assert body == b"done"
        assert seen == [b"\x30\x00"]


class TestSize:
    """A body over the cap is refused, not truncated, and never held in memory in full."""

    def test_announced_oversize_refused_before_reading(self, server: MisbehavingServer) -> None:
        """Content-Length above the cap: refused at once."""
        server.routes["/big"] = huge(256 * MiB, announce=True)
        start = time.monotonic()
        with pytest.raises(FetchError, match="larger than 1048576"):
            get(server.url("/big"))
        assert time.monotonic() - start < 0.5

    def test_unannounced_oversize_refused_at_cap(self, server: MisbehavingServer) -> None:
        """No Content-Length: reading stops at cap + 1 byte; peak memory stays near the cap."""
        server.routes["/big"] = huge(64 * MiB, announce=False)
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match="larger than"):
                get(server.url("/big"), timeout=5.0, max_size=4 * MiB)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 8 * MiB

    def test_body_at_cap_accepted(self, server: MisbehavingServer) -> None:
        """Exactly max_size bytes is fine."""
        server.routes["/edge"] = ok(b"y" * 1000)
        assert len(get(server.url("/edge"), max_size=1000)) == 1000


class TestRedirects:
    @pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
    def test_redirect_refused(self, server: MisbehavingServer, status: int) -> None:
        """A 3xx is a failure and its target is never requested."""
        server.routes["/from"] = redirect(server.url("/to"), status)
        server.routes["/to"] = ok(b"elsewhere")
        with pytest.raises(FetchError, match="redirect refused"):
            get(server.url("/from"))
        assert server.hits["/to"] == 0


class TestAddressPolicy:
    """URLs from certificates and client metadata may not reach internal addresses."""

    def test_loopback_refused_by_default(self, server: MisbehavingServer) -> None:
        """Without an allow-list, 127.0.0.1 is refused and nothing is sent."""
        server.routes["/x"] = ok(b"secret")
        with pytest.raises(FetchError, match="loopback address, refused by the address policy"):
            get(server.url("/x"), policy=AddressPolicy())
        assert server.total == 0

    def test_localhost_name_refused(self, server: MisbehavingServer) -> None:
        """A host name is judged by what it resolves to."""
        with pytest.raises(FetchError, match="loopback"):
            get(f"http://localhost:{server.port}/x", policy=AddressPolicy())
        assert server.total == 0

    @pytest.mark.parametrize(
        ("host", "category"),
        [("169.254.169.254", "link-local"), ("10.1.2.3", "private"),
         ("192.168.0.1", "private"), ("[::1]", "loopback"), ("[fe80::1]", "link-local"),
         ("[::ffff:127.0.0.1]", "loopback"), ("[64:ff9b::a9fe:a9fe]", "link-local"),
         ("[2002:a00:1::]", "private"), ("0.0.0.0", "unspecified"),
         ("100.64.0.1", "not globally routable"), ("[fd00::1]", "private")],
    )
    def test_internal_addresses_refused_without_connecting(self, host: str,
                                                           category: str) -> None:
        """The cloud metadata address and private ranges are refused before any connect."""
        start = time.monotonic()
        with pytest.raises(FetchError, match=category):
            get(f"http://{host}/latest/meta-data/", policy=AddressPolicy())
        assert time.monotonic() - start < 0.2

    def test_allow_network(self, server: MisbehavingServer) -> None:
        """An operator's allow-list entry (a network) admits the addresses in it."""
        server.routes["/x"] = ok(b"fine")
        assert get(server.url("/x"), policy=AddressPolicy.build(["127.0.0.0/8"])) == b"fine"

    def test_global_address_allowed(self) -> None:
        """A public address passes the default policy."""
        assert AddressPolicy().refusal(ipaddress.ip_address("192.0.32.10")) is None

    @pytest.mark.parametrize("bad", ["127.0.0.1", [1], ["not-an-ip"], ["10.0.0.1/8"]])
    def test_bad_allow_list(self, bad: object) -> None:
        """A malformed allow-list is a configuration error."""
        with pytest.raises(ConfigurationError):
            AddressPolicy.build(bad)  # type: ignore[arg-type]


class TestUrls:
    @pytest.mark.parametrize(
        "url",
        ["ftp://127.0.0.1/x", "file:///etc/passwd", "http://", "http://u:p@127.0.0.1/x",
         "http://127.0.0.1:99999/x", "not a url"],
    )
    def test_refused_urls(self, url: str) -> None:
        """Other schemes, hostless URLs, credentials and bad ports: FetchError, no I/O."""
        with pytest.raises(FetchError):
            get(url)

    def test_connection_refused(self) -> None:
        """Nothing listening: FetchError naming the cause."""
        srv = MisbehavingServer()
        url = srv.url("/x")
        srv.close()
        with pytest.raises(FetchError, match="ConnectionRefusedError"):
            get(url)


class TestTls:
    """https: the deadline covers the handshake, and the certificate is checked against the
    host name the URL gives (the connection goes to the vetted address)."""

    @pytest.fixture(scope="class")
    def tls_server(self, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[MisbehavingServer, ssl.SSLContext]]:
        ca = issue(name("Fetch Test CA"), ca=True)
        host = issue(name("127.0.0.1"), issuer=ca, san_ip=["127.0.0.1"],
                     eku=[ExtendedKeyUsageOID.SERVER_AUTH])
        directory = tmp_path_factory.mktemp("tls")
        cert_path, key_path = host.write(directory, "host")
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(cert_path, key_path)
        client_context = ssl.create_default_context(cadata=ca.pem)
        srv = MisbehavingServer(tls=server_context)
        srv.routes["/keys"] = ok(b"over tls")
        yield srv, client_context
        srv.close()

    def test_https_fetch(self, tls_server: tuple[MisbehavingServer, ssl.SSLContext]) -> None:
        """A host with a certificate the context trusts answers over TLS."""
        srv, context = tls_server
        body = fetch(srv.url("/keys"), what="test", timeout=2.0, max_size=MiB,
                     policy=LOOPBACK, tls=context)
        assert body == b"over tls"

    def test_untrusted_certificate(self, tls_server: tuple[MisbehavingServer, ssl.SSLContext]
                                   ) -> None:
        """The system trust store does not know the test CA: FetchError naming TLS."""
        srv, _ = tls_server
        with pytest.raises(FetchError, match="SSL"):
            fetch(srv.url("/keys"), what="test", timeout=2.0, max_size=MiB, policy=LOOPBACK)

    def test_silent_tls_host_cut_off(self) -> None:
        """A host that accepts the connection but never answers the ClientHello is cut off
        at the deadline."""
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)  # never accepted: the kernel completes the TCP handshake only
            port = listener.getsockname()[1]
            start = time.monotonic()
            with pytest.raises(FetchError, match="timeout"):
                fetch(f"https://127.0.0.1:{port}/", what="test", timeout=1.0, max_size=MiB,
                      policy=LOOPBACK)
            assert time.monotonic() - start < 1.5
