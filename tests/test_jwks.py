"""JwksFetcher against a real HTTP server on 127.0.0.1 that counts requests.

Time in the cache is the injected clock; only the timeout tests use real time (short)."""

from __future__ import annotations

import base64
import inspect
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

import clientauth
from certs import NOW, Clock, Issued, new_key, self_signed
from clientauth import ConfigurationError, FetchError
from clientauth.jwks import DEFAULT_JWKS_MAX_SIZE, MAX_JWKS_SIZE_LIMIT, JwksFetcher
from misbehaving import MisbehavingServer, drip_body, drip_headers, ok, stall

# -- helpers -------------------------------------------------------------------------------

# The test server listens on 127.0.0.1, which the address policy refuses unless allowed.
# Looked up rather than passed blindly so that the regression tests here can also be run
# against code that predates the policy (and fail there for the right reason).
ALLOW_LOOPBACK: dict[str, Any] = (
    {"allow_addresses": ["127.0.0.1"]}
    if "allow_addresses" in inspect.signature(JwksFetcher).parameters
    else {}
)


def jwk(issued: Issued, *chain: Issued) -> dict[str, Any]:
    """A JWK for ``issued``'s key with ``x5c`` = [issued, *chain] (RFC 7517 4.7)."""
    public = issued.key.public_key()
    algorithm = ECAlgorithm if isinstance(public, ec.EllipticCurvePublicKey) else RSAAlgorithm
    key: dict[str, Any] = algorithm.to_jwk(public, as_dict=True)  # type: ignore[attr-defined]
    key["x5c"] = [base64.b64encode(c.der).decode("ascii") for c in (issued, *chain)]
    return key


def key_set(*issued: Issued) -> bytes:
    return json.dumps({"keys": [jwk(i) for i in issued]}).encode()


class JwksServer:
    """A stdlib HTTP server in a thread. Tests set ``body``/``status``/``delay``/... and read
    ``requests`` (how many GETs arrived) and ``paths``."""

    def __init__(self) -> None:
        self.body = b'{"keys": []}'
        self.status = 200
        self.headers: dict[str, str] = {"Content-Type": "application/jwk-set+json"}
        self.content_length = True
        self.delay = 0.0
        self.drip: float | None = None  # seconds between single bytes of the body
        self.requests = 0
        self.paths: list[str] = []
        self.redirects: dict[str, str] = {}  # path -> Location, answered with 302
        self.release = threading.Event()
        self._count_lock = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._count_lock:
                    server.requests += 1
                    server.paths.append(self.path)
                    server._count_lock.notify_all()
                if server.delay:
                    server.release.wait(server.delay)
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(server.status)
                for name, value in server.headers.items():
                    self.send_header(name, value)
                if server.content_length:
                    self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                try:
                    if server.drip is None:
                        self.wfile.write(server.body)
                        return
                    for i in range(len(server.body)):
                        if server.release.wait(server.drip):
                            return
                        self.wfile.write(server.body[i : i + 1])
                        self.wfile.flush()
                except OSError:
                    pass  # the client gave up, as it should

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    def url(self, path: str = "/jwks.json") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` requests have arrived (woken by each arrival, no polling)."""
        with self._count_lock:
            assert self._count_lock.wait_for(lambda: self.requests >= count, timeout)

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[JwksServer]:
    srv = JwksServer()
    yield srv
    srv.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_fetcher(clock: Clock) -> Callable[..., JwksFetcher]:
    def make(**kwargs: Any) -> JwksFetcher:
        kwargs.setdefault("now", clock)
        kwargs.setdefault("allow_http", True)
        kwargs.setdefault("timeout", 2.0)
        kwargs.update(ALLOW_LOOPBACK)
        return JwksFetcher(**kwargs)

    return make


@pytest.fixture(scope="module")
def certs() -> tuple[Issued, Issued, Issued]:
    return self_signed("one"), self_signed("two"), self_signed("three")


def thumb(issued: Issued) -> str:
    return clientauth.certificate_thumbprint(issued.cert)


# -- tests ---------------------------------------------------------------------------------


class TestFetch:
    def test_thumbprints_of_x5c_entries(self, server, make_fetcher, certs) -> None:
        """The result is the x5t#S256 of each key's x5c certificate."""
        one, two, _ = certs
        server.body = key_set(one, two)
        assert make_fetcher().thumbprints(server.url()) == {thumb(one), thumb(two)}
        assert server.requests == 1
        assert server.paths == ["/jwks.json"]

    def test_rsa_certificate(self, server, make_fetcher) -> None:
        """An RSA key's x5c certificate is hashed like any other."""
        rsa_cert = self_signed("rsa", key=new_key("rsa"))
        server.body = key_set(rsa_cert)
        assert make_fetcher().thumbprints(server.url()) == {thumb(rsa_cert)}

    def test_only_first_x5c_entry_pins(self, server, make_fetcher, certs) -> None:
        """RFC 7517 4.7: x5c[0] holds the key; later entries are its chain, not pins."""
        one, two, _ = certs
        server.body = json.dumps({"keys": [jwk(one, two)]}).encode()
        assert make_fetcher().thumbprints(server.url()) == {thumb(one)}

    def test_keys_without_x5c_are_skipped(self, server, make_fetcher, certs) -> None:
        """A JWK without x5c pins nothing but does not spoil the set."""
        one = certs[0]
        bare = {k: v for k, v in jwk(one).items() if k != "x5c"}
        server.body = json.dumps({"keys": [bare, jwk(certs[1])]}).encode()
        assert make_fetcher().thumbprints(server.url()) == {thumb(certs[1])}

    def test_empty_key_set(self, server, make_fetcher) -> None:
        """An empty set is a valid answer: nothing is pinned."""
        server.body = b'{"keys": []}'
        assert make_fetcher().thumbprints(server.url()) == frozenset()

    def test_body_without_content_length(self, server, make_fetcher, certs) -> None:
        """A body delimited by connection close (no Content-Length) is read whole."""
        server.content_length = False
        server.body = key_set(certs[0])
        assert make_fetcher().thumbprints(server.url()) == {thumb(certs[0])}


class TestCache:
    def test_cached_within_ttl(self, server, make_fetcher, clock, certs) -> None:
        """Within ttl, answers come from the cache: one request in all."""
        server.body = key_set(certs[0])
        fetcher = make_fetcher(ttl=timedelta(minutes=10))
        for _ in range(5):
            assert fetcher.thumbprints(server.url()) == {thumb(certs[0])}
            clock.advance(minutes=1)
        assert server.requests == 1

    def test_refetched_after_ttl(self, server, make_fetcher, clock, certs) -> None:
        """Once ttl has passed, the next call fetches again and sees the new set."""
        server.body = key_set(certs[0])
        fetcher = make_fetcher(ttl=timedelta(minutes=10))
        fetcher.thumbprints(server.url())
        server.body = key_set(certs[1])
        clock.advance(minutes=9, seconds=59)
        assert fetcher.thumbprints(server.url()) == {thumb(certs[0])}
        clock.advance(seconds=1)
        assert fetcher.thumbprints(server.url()) == {thumb(certs[1])}
        assert server.requests == 2

    def test_uris_are_cached_separately(self, server, make_fetcher, certs) -> None:
        """Each URI has its own entry."""
        fetcher = make_fetcher()
        fetcher.thumbprints(server.url("/a"))
        fetcher.thumbprints(server.url("/b"))
        fetcher.thumbprints(server.url("/a"))
        assert server.paths == ["/a", "/b"]

    def test_forget(self, server, make_fetcher) -> None:
        """forget() drops a URI's entry; the next call fetches."""
        fetcher = make_fetcher()
        fetcher.thumbprints(server.url())
        fetcher.forget(server.url())
        fetcher.thumbprints(server.url())
        assert server.requests == 2

    def test_concurrent_callers_share_one_fetch(self, server, make_fetcher, certs) -> None:
        """No thundering herd, and nobody queues behind a fetch: of many threads asking at
        once with a cold cache, one fetches (one request) and the others fail at once with a
        reason instead of waiting for it."""
        server.body = key_set(certs[0])
        server.delay = 30.0  # the one fetch is held until server.release is set
        fetcher = make_fetcher()
        results: list[frozenset[str]] = []
        errors: list[str] = []
        refused = threading.Semaphore(0)
        barrier = threading.Barrier(8)

        def ask() -> None:
            barrier.wait()
            try:
                results.append(fetcher.thumbprints(server.url()))
            except FetchError as exc:
                errors.append(str(exc))
                refused.release()

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads:
            t.start()
        # Seven callers are refused while the one fetch is still held: none of them waited
        # for it (ordering, not timing).
        for _ in range(7):
            assert refused.acquire(timeout=10)
        assert results == []
        server.release.set()
        for t in threads:
            t.join(10)
        assert results == [frozenset({thumb(certs[0])})]
        assert len(errors) == 7
        assert all("being fetched for another request" in e for e in errors)
        assert server.requests == 1
        # The fetch completed: everyone is served from the cache now.
        assert fetcher.thumbprints(server.url()) == {thumb(certs[0])}
        assert server.requests == 1

    def test_callers_served_stale_set_during_refetch(
        self, server, make_fetcher, clock, certs
    ) -> None:
        """While a slow refetch is in progress, other callers get the still-usable set at
        once."""
        server.body = key_set(certs[0])
        fetcher = make_fetcher()
        assert fetcher.thumbprints(server.url()) == {thumb(certs[0])}
        clock.advance(minutes=11)  # past ttl, within stale_grace
        server.delay = 30.0  # the refetch is held until server.release is set
        slow = threading.Thread(target=lambda: fetcher.thumbprints(server.url()))
        slow.start()
        server.wait_for_requests(2)
        # Served while the refetch is still held: it did not wait for it.
        assert fetcher.thumbprints(server.url()) == {thumb(certs[0])}
        assert slow.is_alive()
        server.release.set()
        slow.join(5)


class TestRefresh:
    def test_refresh_fetches_new_set(self, server, make_fetcher, clock, certs) -> None:
        """refresh() after the interval fetches even though the cache is fresh."""
        server.body = key_set(certs[0])
        fetcher = make_fetcher(refresh_interval=timedelta(minutes=1))
        fetcher.thumbprints(server.url())
        server.body = key_set(certs[0], certs[1])
        clock.advance(minutes=1)
        assert fetcher.refresh(server.url()) == {thumb(certs[0]), thumb(certs[1])}
        assert server.requests == 2
        assert fetcher.thumbprints(server.url()) == {thumb(certs[0]), thumb(certs[1])}
        assert server.requests == 2

    def test_refresh_limited_per_interval(self, server, make_fetcher, clock, certs) -> None:
        """Within refresh_interval of the last fetch, refresh() answers from the cache."""
        server.body = key_set(certs[0])
        fetcher = make_fetcher(refresh_interval=timedelta(minutes=1))
        fetcher.thumbprints(server.url())
        server.body = key_set(certs[1])
        for _ in range(10):
            assert fetcher.refresh(server.url()) == {thumb(certs[0])}
            clock.advance(seconds=5)
        assert server.requests == 1
        clock.advance(seconds=10)  # 60 s since the fetch
        assert fetcher.refresh(server.url()) == {thumb(certs[1])}
        assert server.requests == 2

    def test_refresh_budget_is_per_uri(self, server, make_fetcher) -> None:
        """Refreshing one URI does not spend another's budget."""
        fetcher = make_fetcher()
        fetcher.refresh(server.url("/a"))
        fetcher.refresh(server.url("/b"))
        fetcher.refresh(server.url("/a"))
        assert server.paths == ["/a", "/b"]

    def test_refresh_of_unknown_uri_fetches(self, server, make_fetcher, certs) -> None:
        """refresh() on a URI never seen fetches it."""
        server.body = key_set(certs[2])
        assert make_fetcher().refresh(server.url()) == {thumb(certs[2])}
        assert server.requests == 1


class TestBounds:
    def test_body_over_max_size_refused(self, server, make_fetcher) -> None:
        """A body of max_size + 1 bytes is refused, not truncated."""
        server.body = b'{"keys": []}'.ljust(1025)
        with pytest.raises(FetchError, match="larger than 1024"):
            make_fetcher(max_size=1024).thumbprints(server.url())

    def test_body_at_max_size_accepted(self, server, make_fetcher) -> None:
        """Exactly max_size bytes is fine."""
        server.body = b'{"keys": []}'.ljust(1024)
        assert make_fetcher(max_size=1024).thumbprints(server.url()) == frozenset()

    def test_oversize_without_content_length_refused(self, server, make_fetcher) -> None:
        """The cap holds when the server does not announce a length."""
        server.content_length = False
        server.body = b'{"keys": []}'.ljust(5000)
        with pytest.raises(FetchError, match="larger than"):
            make_fetcher(max_size=1024).thumbprints(server.url())

    def test_slow_server_times_out(self, server, make_fetcher) -> None:
        """A server that does not answer within timeout gives FetchError, promptly."""
        server.delay = 5.0
        start = time.monotonic()
        with pytest.raises(FetchError, match="jwks_uri"):
            make_fetcher(timeout=0.3).thumbprints(server.url())
        assert time.monotonic() - start < 2.0

    def test_dripping_body_times_out(self, server, make_fetcher, certs) -> None:
        """A body trickling in one byte at a time cannot hold a fetch past the deadline."""
        server.body = key_set(certs[0])
        server.drip = 0.05
        start = time.monotonic()
        with pytest.raises(FetchError, match="timeout"):
            make_fetcher(timeout=0.4).thumbprints(server.url())
        assert time.monotonic() - start < 2.0

    def test_default_max_size(self) -> None:
        """The documented default cap is 256 KiB."""
        assert DEFAULT_JWKS_MAX_SIZE == 256 * 1024


class TestErrors:
    @pytest.mark.parametrize(
        "body",
        [
            b"not json",
            b"\xff\xfe\x00",
            b"[]",
            b'"keys"',
            b'{"keys": {}}',
            b'{"no_keys": []}',
            b'{"keys": [1]}',
            b'{"keys": [{"x5c": []}]}',
            b'{"keys": [{"x5c": "MII"}]}',
            b'{"keys": [{"x5c": [1]}]}',
            b'{"keys": [{"x5c": ["not base64!"]}]}',
            b'{"keys": [{"x5c": ["AAAA"]}]}',
            b"[" * 100_000,
        ],
        ids=lambda body: repr(body[:24]),
    )
    def test_bad_documents(self, server, make_fetcher, body: bytes) -> None:
        """Anything that is not a JWK Set with valid x5c certificates is a FetchError."""
        server.body = body
        with pytest.raises(FetchError):
            make_fetcher(max_size=200_000).thumbprints(server.url())

    @pytest.mark.parametrize("status", [201, 204, 400, 404, 500, 503])
    def test_non_200(self, server, make_fetcher, status: int) -> None:
        """Only 200 OK carries a key set."""
        server.status = status
        with pytest.raises(FetchError, match=f"HTTP status {status}"):
            make_fetcher().thumbprints(server.url())

    @pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
    def test_redirect_refused(self, server, make_fetcher, status: int) -> None:
        """A redirect is refused; its target is never requested."""
        server.status = status
        server.headers["Location"] = "/elsewhere"
        with pytest.raises(FetchError, match="redirect refused"):
            make_fetcher().thumbprints(server.url())
        assert server.paths == ["/jwks.json"]

    def test_http_refused_by_default(self, server, clock) -> None:
        """Without allow_http, a plain-http URI is refused before any request."""
        with pytest.raises(FetchError, match="only https"):
            JwksFetcher(now=clock).thumbprints(server.url())
        assert server.requests == 0

    @pytest.mark.parametrize(
        "uri", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:,{}", "https://", "jwks.json", ""]
    )
    def test_other_schemes_refused(self, make_fetcher, uri: str) -> None:
        """Only http(s) URLs with a host are fetched."""
        with pytest.raises(FetchError):
            make_fetcher().thumbprints(uri)

    def test_connection_refused(self, make_fetcher) -> None:
        """Nothing listening: FetchError, not OSError."""
        srv = JwksServer()
        url = srv.url()
        srv.close()
        with pytest.raises(FetchError, match="jwks_uri"):
            make_fetcher().thumbprints(url)

    def test_https_to_plain_http_server(self, server, clock) -> None:
        """https to a server that speaks plain HTTP fails the TLS handshake: FetchError."""
        url = server.url().replace("http://", "https://")
        with pytest.raises(FetchError):
            JwksFetcher(now=clock, timeout=2.0, **ALLOW_LOOPBACK).thumbprints(url)


class TestStaleOnError:
    def test_stale_served_within_grace(self, server, make_fetcher, clock, certs) -> None:
        """After ttl, a failing host does not lock the client out: the last set is served
        for up to stale_grace more."""
        server.body = key_set(certs[0])
        fetcher = make_fetcher(ttl=timedelta(minutes=10), stale_grace=timedelta(minutes=30))
        fetcher.thumbprints(server.url())
        server.status = 500
        clock.advance(minutes=11)
        assert fetcher.thumbprints(server.url()) == {thumb(certs[0])}
        assert server.requests == 2

    def test_error_after_grace(self, server, make_fetcher, clock, certs) -> None:
        """Past ttl + stale_grace, the failure surfaces as FetchError."""
        server.body = key_set(certs[0])
        fetcher = make_fetcher(ttl=timedelta(minutes=10), stale_grace=timedelta(minutes=30))
        fetcher.thumbprints(server.url())
        server.status = 500
        clock.advance(minutes=40)
        with pytest.raises(FetchError, match="HTTP status 500"):
            fetcher.thumbprints(server.url())

    def test_zero_grace_fails_closed(self, server, make_fetcher, clock, certs) -> None:
        """stale_grace=0: nothing is served once ttl has run out and the host fails."""
        server.body = key_set(certs[0])
        fetcher = make_fetcher(stale_grace=timedelta(0))
        fetcher.thumbprints(server.url())
        server.status = 503
        clock.advance(minutes=10)
        with pytest.raises(FetchError):
            fetcher.thumbprints(server.url())

    def test_failure_not_retried_within_interval(self, server, make_fetcher, clock) -> None:
        """A dead host is asked again only after refresh_interval, not on every call."""
        server.status = 500
        fetcher = make_fetcher(refresh_interval=timedelta(minutes=1))
        for _ in range(5):
            with pytest.raises(FetchError):
                fetcher.thumbprints(server.url())
            with pytest.raises(FetchError):
                fetcher.refresh(server.url())
        assert server.requests == 1
        clock.advance(minutes=1)
        server.status = 200
        assert fetcher.thumbprints(server.url()) == frozenset()
        assert server.requests == 2

    def test_failed_refresh_keeps_fresh_set(self, server, make_fetcher, clock, certs) -> None:
        """A refresh that fails leaves the still-fresh set in place."""
        server.body = key_set(certs[0])
        fetcher = make_fetcher()
        fetcher.thumbprints(server.url())
        server.status = 500
        clock.advance(minutes=2)
        assert fetcher.refresh(server.url()) == {thumb(certs[0])}
        assert fetcher.thumbprints(server.url()) == {thumb(certs[0])}


class TestSettings:
    @pytest.mark.parametrize(
        "kwargs",
        [
            {"timeout": 0},
            {"timeout": -1},
            {"timeout": float("inf")},
            {"timeout": float("nan")},
            {"timeout": True},
            {"timeout": "5"},
            {"max_size": 0},
            {"max_size": MAX_JWKS_SIZE_LIMIT + 1},
            {"max_size": 1.5},
            {"max_size": True},
            {"ttl": timedelta(0)},
            {"ttl": 600},
            {"refresh_interval": timedelta(0)},
            {"refresh_interval": timedelta(hours=1), "ttl": timedelta(minutes=10)},
            {"stale_grace": timedelta(seconds=-1)},
            {"stale_grace": 0},
            {"now": "now"},
            {"allow_http": 1},
            {"opener": object()},
        ],
    )
    def test_invalid_settings(self, kwargs: dict[str, Any]) -> None:
        """Bad settings raise ConfigurationError at construction."""
        with pytest.raises(ConfigurationError):
            JwksFetcher(**kwargs)

    def test_defaults(self) -> None:
        """The defaults construct, and the repr shows the bounds."""
        text = repr(JwksFetcher())
        assert "timeout=5.0" in text
        assert "max_size=262144" in text

    def test_naive_clock_is_a_configuration_error(self, server) -> None:
        """A clock returning a naive datetime is reported as misconfiguration."""
        fetcher = JwksFetcher(now=lambda: NOW.replace(tzinfo=None), allow_http=True)
        with pytest.raises(ConfigurationError):
            fetcher.thumbprints(server.url())

    def test_following_opener_still_refuses_redirects(self, server, clock) -> None:
        """Even an opener that follows redirects cannot make the fetcher accept a set served
        from another URL than the registered one."""
        import urllib.request

        server.redirects["/jwks.json"] = "/elsewhere"
        fetcher = JwksFetcher(
            now=clock, allow_http=True, opener=urllib.request.build_opener(), timeout=2.0
        )
        with pytest.raises(FetchError, match="redirect refused"):
            fetcher.thumbprints(server.url())
        assert server.paths == ["/jwks.json", "/elsewhere"]

    def test_custom_opener_is_used(self, server, clock, certs) -> None:
        """An injected OpenerDirector does the fetching."""
        import urllib.request

        calls: list[str] = []

        class Recording(urllib.request.BaseHandler):
            def http_request(self, req: urllib.request.Request) -> urllib.request.Request:
                calls.append(req.full_url)
                return req

        server.body = key_set(certs[0])
        opener = urllib.request.build_opener(Recording())
        fetcher = JwksFetcher(now=clock, allow_http=True, opener=opener)
        assert fetcher.thumbprints(server.url()) == {thumb(certs[0])}
        assert calls == [server.url()]


class TestMisbehavingHosts:
    """Issue 13: a slow or internal key-set host cannot stall the server (findings 2, 9)."""

    @pytest.fixture
    def bad(self) -> Iterator[MisbehavingServer]:
        srv = MisbehavingServer()
        yield srv
        srv.close()

    @pytest.mark.parametrize("where", ["headers", "body"])
    def test_slow_host_costs_one_deadline(
        self, bad: MisbehavingServer, make_fetcher, certs, where: str
    ) -> None:
        """A host dripping its status line and headers (or its body) one byte every 50 ms is
        cut off at the one overall deadline (1 s), not after the whole answer (~15 s)."""
        body = key_set(certs[0])
        bad.routes["/jwks.json"] = (
            drip_headers(body, 0.05) if where == "headers" else drip_body(body, 0.05)
        )
        start = time.monotonic()
        with pytest.raises(FetchError, match="jwks_uri"):
            make_fetcher(timeout=1.0).thumbprints(bad.url("/jwks.json"))
        assert time.monotonic() - start < 1.6

    def test_slow_host_does_not_hold_other_callers(
        self, bad: MisbehavingServer, make_fetcher, certs
    ) -> None:
        """While one thread waits on a stalled host, every other caller for that URI is
        answered at once (no lock held across the fetch that others wait on)."""
        bad.routes["/jwks.json"] = stall(3.0)
        fetcher = make_fetcher(timeout=2.0)
        failures: list[FetchError] = []

        def first_caller() -> None:
            try:
                fetcher.thumbprints(bad.url("/jwks.json"))
            except FetchError as exc:
                failures.append(exc)

        first = threading.Thread(target=first_caller)
        first.start()
        bad.wait_for_total(1)
        for _ in range(8):
            with pytest.raises(FetchError):
                fetcher.refresh(bad.url("/jwks.json"))
            with pytest.raises(FetchError):
                fetcher.thumbprints(bad.url("/jwks.json"))
        # Every other caller was answered while the first one still waits on the host
        # (until its 2 s deadline): ordering, not a wall-clock bound.
        assert first.is_alive()
        first.join(5)
        assert len(failures) == 1 and "timeout" in str(failures[0])
        assert bad.total == 1

    def test_loopback_refused_by_default(self, bad: MisbehavingServer, clock, certs) -> None:
        """A jwks_uri resolving to 127.0.0.1 is not fetched unless the operator allows it."""
        bad.routes["/jwks.json"] = ok(key_set(certs[0]))
        with pytest.raises(FetchError, match="address policy"):
            JwksFetcher(now=clock, allow_http=True).thumbprints(bad.url("/jwks.json"))
        assert bad.total == 0

    def test_metadata_address_refused(self, clock, monkeypatch: pytest.MonkeyPatch) -> None:
        """The cloud metadata service (169.254.169.254) is never contacted: refused before
        any connection is attempted (a connect would fail this test)."""
        def no_connect(*args: Any, **kwargs: Any) -> Any:
            pytest.fail("a connection was attempted")

        monkeypatch.setattr(socket, "create_connection", no_connect)
        monkeypatch.setattr(socket.socket, "connect", no_connect)
        with pytest.raises(FetchError, match="link-local"):
            JwksFetcher(now=clock, allow_http=True, timeout=2.0).thumbprints(
                "http://169.254.169.254/latest/meta-data/iam"
            )

    def test_allow_addresses_setting(self) -> None:
        """allow_addresses is validated at construction and shown in the repr."""
        with pytest.raises(ConfigurationError):
            JwksFetcher(allow_addresses=["nope"])
        assert "127.0.0.1/32" in repr(JwksFetcher(allow_addresses=["127.0.0.1"]))
