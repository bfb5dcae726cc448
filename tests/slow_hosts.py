"""Issue 13's measurement scenario, shared by tests/integration/test_slow_hosts.py (short, with
assertions) and benchmarks/bench_slow_hosts.py (longer, prints the figures).

A ``tls_client_auth`` client ("slow") whose certificate names a CRL and an OCSP responder on a
:class:`~misbehaving.MisbehavingServer`, and an unrelated ``client_secret_basic`` client
("fast"), behind ``clientauth.asgi.ClientAuthMiddleware(threaded=True)`` on real uvicorn. The
slow client's certificate arrives in an nginx-format header from a trusted peer (127.0.0.1).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import inspect
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import clientauth
from certs import Issued, issue, name
from clientauth.revocation import RevocationChecker
from misbehaving import (
    Behaviour,
    MisbehavingServer,
    drip_body,
    drip_headers,
    huge,
    not_found,
    ocsp_responder,
    ok,
    redirect,
    stall,
)

MIB = 1024 * 1024
PATH = "/token"


def checker(timeout: float) -> RevocationChecker:
    """A soft-fail checker allowed to fetch from 127.0.0.1 (looked up, so that the same
    scenario runs against code that predates the address policy)."""
    allow: dict[str, Any] = {}
    if "allow_addresses" in inspect.signature(RevocationChecker).parameters:
        allow["allow_addresses"] = ["127.0.0.1"]
    return RevocationChecker("soft-fail", timeout=timeout, **allow)


@dataclasses.dataclass
class Scenario:
    server: MisbehavingServer
    ca: Issued
    leaf: Issued
    crl: bytes
    secret: str

    @property
    def chain(self) -> list[Any]:
        return [self.leaf.cert, self.ca.cert]

    def behave(self, misbehaviour: str, interval: float = 0.05) -> None:
        """Make the CRL and OCSP endpoints misbehave (``"good"`` makes them answer well)."""
        routes: dict[str, tuple[Behaviour, Behaviour]] = {
            "good": (ok(self.crl), ocsp_responder(self.ca, now=lambda: datetime.now(UTC))),
            "drip-body": (drip_body(self.crl, interval), drip_body(b"0" * 400, interval)),
            "drip-headers": (drip_headers(self.crl, interval), drip_headers(b"0", interval)),
            "stall": (stall(60), stall(60)),
            "redirect": (redirect(self.server.url("/elsewhere")),
                         redirect(self.server.url("/elsewhere"))),
            "huge": (huge(256 * MIB, announce=False), not_found),
        }
        crl, ocsp = routes[misbehaviour]
        self.server.routes.update({"/crl": crl, "/ocsp": ocsp, "/elsewhere": ok(self.crl)})

    def authenticator(self, timeout: float, **kwargs: Any) -> clientauth.Authenticator:
        clients = [
            {"client_id": "fast", "client_secret_hash": clientauth.hash_secret(self.secret)},
            {"client_id": "slow", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_subject_dn": "CN=slow"},
        ]
        return clientauth.Authenticator(
            clientauth.load_clients(clients), trust_anchors=[self.ca.cert],
            revocation=checker(timeout),
            forwarded=clientauth.ForwardedCertificates("nginx", trusted_proxies=["127.0.0.1/32"]),
            **kwargs,
        )

    def slow_request(self) -> clientauth.ClientRequest:
        return clientauth.ClientRequest(
            [("x-ssl-client-cert", quote(self.leaf.pem, safe=""))],
            form={"client_id": "slow"}, peer="127.0.0.1",
        )

    @property
    def fast_headers(self) -> dict[str, str]:
        token = base64.b64encode(f"fast:{self.secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    @property
    def slow_headers(self) -> dict[str, str]:
        return {"X-SSL-Client-Cert": quote(self.leaf.pem, safe="")}


@contextlib.contextmanager
def scenario() -> Iterator[Scenario]:
    server = MisbehavingServer()
    now = datetime.now(UTC)
    valid = {"not_before": now - timedelta(days=1), "not_after": now + timedelta(days=30)}
    ca = issue(name("Slow Host CA"), ca=True, **valid)
    leaf = issue(name("slow"), issuer=ca, crl_url=server.url("/crl"),
                 ocsp_url=server.url("/ocsp"), **valid)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import Encoding

    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now - timedelta(hours=1))
        .next_update(now + timedelta(days=1))
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                       critical=False)
        .sign(ca.key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )
    try:
        yield Scenario(server, ca, leaf, crl, clientauth.generate_secret())
    finally:
        server.close()


@contextlib.contextmanager
def serve(auth: clientauth.Authenticator) -> Iterator[str]:
    """The fast and slow clients' app on real uvicorn (threaded middleware), in a thread."""
    import uvicorn
    from harness import free_port, uvicorn_thread

    from clientauth.asgi import ClientAuthMiddleware

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        result = scope.get("clientauth")
        body = (result.client_id or "-").encode() if result else b"-"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    port = free_port()
    config = uvicorn.Config(
        ClientAuthMiddleware(app, authenticator=auth, threaded=True), host="127.0.0.1",
        port=port, log_level="warning", lifespan="off", proxy_headers=False, access_log=False,
    )
    with uvicorn_thread(config):
        yield f"http://127.0.0.1:{port}"


def longest_call(fn: Callable[[], object], *, concurrent: int = 8) -> float:
    """Seconds of the longest of ``concurrent`` simultaneous calls of ``fn``."""
    times: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(concurrent)

    def one() -> None:
        barrier.wait()
        start = time.monotonic()
        fn()
        with lock:
            times.append(time.monotonic() - start)

    threads = [threading.Thread(target=one) for _ in range(concurrent)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return max(times)


def fast_latency(base_url: str, sc: Scenario, *, seconds: float, in_flight: int = 8,
                 pause: float = 0.02) -> dict[str, float]:
    """Latency (ms) of the fast client's requests, one after another for ``seconds``, while
    ``in_flight`` workers keep a slow-client request each in flight (pausing ``pause`` s
    between theirs, so the comparison measures blocking rather than CPU load)."""
    import httpx

    stop = threading.Event()

    def worker() -> None:
        with httpx.Client(base_url=base_url, timeout=120) as http:
            while not stop.is_set():
                with contextlib.suppress(httpx.HTTPError):
                    http.get(PATH, params={"client_id": "slow"}, headers=sc.slow_headers)
                stop.wait(pause)

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(in_flight)]
    for w in workers:
        w.start()
    samples: list[float] = []
    with httpx.Client(base_url=base_url, timeout=120) as http:
        time.sleep(0.3)  # let the slow requests get in flight first
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            start = time.monotonic()
            response = http.get(PATH, headers=sc.fast_headers)
            samples.append((time.monotonic() - start) * 1000)
            assert response.status_code == 200 and response.text == "fast", response.text
    stop.set()
    for w in workers:
        w.join(130)
    samples.sort()
    return {
        "n": len(samples),
        "p50": statistics.median(samples),
        "p95": samples[int(len(samples) * 0.95) - 1] if len(samples) >= 20 else samples[-1],
        "max": samples[-1],
    }
