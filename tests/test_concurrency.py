"""One Authenticator, many threads and tasks: every result belongs to its own request.

What must hold while 8 threads (and an asyncio storm of 1000 tasks, and an ASGI app under
300 concurrent requests) share ONE Authenticator and its caches (PKI verified-chain cache,
pinned thumbprints, parsed forwarded headers, secrets):

* each result names exactly the client its own input proves (no mixed results): right
  credentials succeed as that client, wrong ones fail, a certificate of client X never
  authenticates client Y even when X's chain is hot in the cache;
* ``MemoryRegistry.replace`` under concurrent readers swaps whole clients: a reader never sees
  a client whose secret and metadata come from different versions; concurrent ``add`` loses
  no update;
* the PKI cache honours its cap under many distinct chains, from many threads.

Wall-clock free and deterministic in its assertions; the interleavings are random.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

import clientauth
from certs import Issued, Pki, clock, new_key, self_signed
from clientauth import Authenticator, ClientRequest, ForwardedCertificates, PKIVerifier
from clientauth.asgi import ClientAuthMiddleware

THREADS = 8


@dataclass(frozen=True)
class Case:
    """One request and what must come out of it."""

    label: str
    request: ClientRequest
    expect_ok: bool
    expect_id: str | None


def basic(cid: str, secret: str) -> list[tuple[str, str]]:
    return [("authorization",
             "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode())]


def rfc9440(leaf: Issued, pki: Pki) -> list[tuple[str, str]]:
    b64 = base64.b64encode
    return [("client-cert", f":{b64(leaf.der).decode()}:"),
            ("client-cert-chain", f":{b64(pki.intermediate.der).decode()}:")]


class World:
    """Clients of every kind, their credentials, and the shared authenticator."""

    def __init__(self) -> None:
        self.pki = Pki.create("Concurrency Corp")
        self.secrets = {f"secret-{i}": clientauth.generate_secret() for i in range(3)}
        self.leaves = {f"mtls-{i}": self.pki.leaf(f"mtls-client-{i}") for i in range(4)}
        self.pinned = {f"pinned-{i}": self_signed(f"pinned-client-{i}") for i in range(2)}
        metadata: list[dict[str, Any]] = [
            {"client_id": cid, "client_secret_hash": clientauth.hash_secret(s)}
            for cid, s in self.secrets.items()
        ]
        metadata += [
            {"client_id": cid, "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_subject_dn": f"CN=mtls-client-{cid[-1]}"}
            for cid in self.leaves
        ]
        metadata += [
            {"client_id": cid, "token_endpoint_auth_method": "self_signed_tls_client_auth",
             "tls_client_certificates": [cert.pem]}
            for cid, cert in self.pinned.items()
        ]
        self.registry = clientauth.load_clients(metadata)
        self.auth = Authenticator(
            self.registry,
            trust_anchors=[self.pki.root.cert],
            forwarded=ForwardedCertificates("rfc9440", trusted_proxies=["127.0.0.1"]),
            now=clock(),
        )

    def cases(self) -> list[Case]:
        out: list[Case] = []
        ids = sorted(self.secrets)
        for cid, secret in self.secrets.items():
            other = ids[(ids.index(cid) + 1) % len(ids)]
            out.append(Case(f"{cid} ok", ClientRequest(basic(cid, secret)), True, cid))
            out.append(Case(f"{cid} wrong", ClientRequest(basic(cid, self.secrets[other])),
                            False, cid))
        mtls = sorted(self.leaves)
        for cid, leaf in self.leaves.items():
            chain = self.pki.chain_for(leaf)
            other = mtls[(mtls.index(cid) + 1) % len(mtls)]
            out.append(Case(f"{cid} tls", ClientRequest(form={"client_id": cid},
                                                         tls_chain=chain), True, cid))
            out.append(Case(f"{cid} by-cert", ClientRequest(tls_chain=chain), True, cid))
            out.append(Case(f"{cid} forwarded", ClientRequest(
                rfc9440(leaf, self.pki), form={"client_id": cid}, peer="127.0.0.1"), True, cid))
            # X's (cached, valid) chain must never prove Y.
            out.append(Case(f"{cid} as {other}", ClientRequest(
                form={"client_id": other}, tls_chain=chain), False, other))
        for cid, cert in self.pinned.items():
            out.append(Case(f"{cid} pinned", ClientRequest(form={"client_id": cid},
                                                           tls_chain=[cert.cert]), True, cid))
            other = next(c for c in self.pinned if c != cid)
            out.append(Case(f"{cid} as {other}", ClientRequest(
                form={"client_id": other}, tls_chain=[cert.cert]), False, other))
        return out


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def check(world: World, case: Case) -> str | None:
    """None if the result is right for the case, else what went wrong."""
    result = world.auth.authenticate(case.request)
    if result.ok != case.expect_ok or result.client_id != case.expect_id:
        return f"{case.label}: ok={result.ok} client_id={result.client_id!r} {result.failure}"
    return None


class TestSharedAuthenticator:
    def test_eight_threads_get_their_own_results(self, world: World) -> None:
        """8 threads x 400 random cases on one authenticator: every result matches its case."""
        cases = world.cases()

        def worker(seed: int) -> list[str]:
            rng = random.Random(seed)
            return [e for e in (check(world, rng.choice(cases)) for _ in range(400)) if e]

        with ThreadPoolExecutor(THREADS) as pool:
            errors = [e for batch in pool.map(worker, range(THREADS)) for e in batch]
        assert errors == []

    def test_asyncio_storm_of_1000_tasks(self, world: World) -> None:
        """1000 asyncio tasks (asyncio.to_thread) on one authenticator: no mixed results."""
        cases = world.cases()
        rng = random.Random(7)
        picked = [rng.choice(cases) for _ in range(1000)]

        async def storm() -> list[str | None]:
            return await asyncio.gather(
                *(asyncio.to_thread(check, world, case) for case in picked)
            )

        errors = [e for e in asyncio.run(storm()) if e]
        assert errors == []

    def test_asgi_middleware_under_concurrent_requests(self, world: World) -> None:
        """300 concurrent HTTP requests through ClientAuthMiddleware (threaded) with httpx's
        ASGITransport: each response reports the client its own credentials prove."""

        async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
            result = scope["clientauth"]
            body = json.dumps({"client_id": result.client_id}).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})

        app = ClientAuthMiddleware(echo, authenticator=world.auth, threaded=True)
        requests: list[tuple[dict[str, str], str | None]] = []
        for cid, secret in world.secrets.items():
            requests.append((dict(basic(cid, secret)), cid))
            requests.append((dict(basic(cid, "wrong" * 9)), None))
        for cid, leaf in world.leaves.items():
            requests.append((dict(rfc9440(leaf, world.pki)), cid))
        rng = random.Random(11)
        picked = [rng.choice(requests) for _ in range(300)]

        async def storm() -> list[str]:
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4000))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                responses = await asyncio.gather(
                    *(http.post("/token", headers=headers) for headers, _ in picked)
                )
            errors = []
            for (_, expected), response in zip(picked, responses, strict=True):
                got = response.json().get("client_id") if response.status_code == 200 else None
                if got != expected:
                    errors.append(f"expected {expected!r}, got {response.status_code} {got!r}")
            return errors

        assert asyncio.run(storm()) == []


class TestRegistryUpdates:
    def test_replace_is_atomic_for_readers(self) -> None:
        """A writer rotates a client between two versions (secret + metadata); readers
        never see a client whose secret belongs to the other version."""
        secrets = {1: clientauth.generate_secret(), 2: clientauth.generate_secret()}
        versions = {
            v: clientauth.Client.from_metadata({
                "client_id": "rot", "client_secret_hash": clientauth.hash_secret(s),
                "software_version": str(v),
            })
            for v, s in secrets.items()
        }
        registry = clientauth.MemoryRegistry([versions[1]])
        auth = Authenticator(registry)
        stop = threading.Event()
        errors: list[str] = []

        def writer() -> None:
            v = 1
            while not stop.is_set():
                v = 3 - v
                registry.replace(versions[v])

        def reader(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(500):
                client = registry.get("rot")
                if client is None:
                    errors.append("client vanished during replace")
                    continue
                v = int(client.metadata["software_version"])
                hashes = [s.hash for s in client.secrets]
                if not hashes[0].verify(secrets[v].encode()) or hashes[0].verify(
                    secrets[3 - v].encode()
                ):
                    errors.append(f"version {v} carries the other version's secret")
                w = rng.choice((1, 2))
                result = auth.authenticate(ClientRequest(basic("rot", secrets[w])))
                if result.client_id != "rot" or (
                    not result.ok and result.failure is not clientauth.Failure.BAD_SECRET
                ):
                    errors.append(f"unexpected result {result!r}")

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(THREADS - 1)]
        w = threading.Thread(target=writer)
        w.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        w.join()
        assert errors == []

    def test_concurrent_adds_lose_nothing(self) -> None:
        """8 threads each add 50 clients: all 400 are registered afterwards."""
        registry = clientauth.MemoryRegistry()
        stored = clientauth.hash_secret(clientauth.generate_secret())

        def adder(t: int) -> None:
            for i in range(50):
                registry.add(clientauth.Client.from_metadata(
                    {"client_id": f"c-{t}-{i}", "client_secret_hash": stored}
                ))

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(adder, range(THREADS)))
        assert len(registry) == THREADS * 50
        assert all(f"c-{t}-{i}" in registry for t in range(THREADS) for i in range(50))


class TestCacheBounds:
    def test_pki_cache_cap_holds_under_500_distinct_chains(self) -> None:
        """cache_size=64, 500 distinct valid leaves verified from 8 threads: the cache never
        exceeds 64 entries and every leaf still verifies (eviction costs time, not
        correctness)."""
        pki = Pki.create("Cache Corp")
        key = new_key()
        leaves = [pki.leaf(f"leaf-{i}", key=key) for i in range(500)]
        verifier = PKIVerifier([pki.root.cert], intermediates=[pki.intermediate.cert],
                               now=clock(), cache_size=64)
        sizes: list[int] = []
        failures: list[str] = []

        def verify_some(offset: int) -> None:
            for leaf in leaves[offset::THREADS]:
                check = verifier.verify_chain([leaf.cert])
                if not check.ok:
                    failures.append(check.detail)
                sizes.append(len(verifier._cache))

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(verify_some, range(THREADS)))
        assert failures == []
        assert max(sizes) <= 64
        assert len(verifier._cache) == 64

    def test_cached_chain_is_not_another_clients(self, world: World) -> None:
        """The verified-chain cache is keyed by the chain, and the registered name is checked
        after it: a hot cache entry for X's chain never authenticates Y."""
        leaf = world.leaves["mtls-0"]
        chain = world.pki.chain_for(leaf)
        for _ in range(3):
            ok = world.auth.authenticate(ClientRequest(form={"client_id": "mtls-0"},
                                                       tls_chain=chain))
            assert ok.ok
            other = world.auth.authenticate(ClientRequest(form={"client_id": "mtls-1"},
                                                          tls_chain=chain))
            assert not other.ok
            assert other.failure is clientauth.Failure.NAME_MISMATCH
