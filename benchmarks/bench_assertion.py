"""private_key_jwt cost: Authenticator.authenticate against PyJWT's jwt.decode of the same token.

    python benchmarks/bench_assertion.py

Every call gets a fresh assertion (ES256, a new jti; signing is done beforehand and not
timed), because the replay store refuses a jti it has seen. Measured in alternating batches
in one run:

* ``jwt.decode(token, key, algorithms=["ES256"], audience=...)`` alone -- the floor: one
  ES256 verification plus PyJWT's parsing and claims checks;
* ``authenticate`` of a ClientRequest carrying the same token in its form, keys warm (the
  client's jwks parsed at registration), replay store a no-op -- goal <= 1.10x jwt.decode
  (ratio of the medians of paired rounds);
* the same with the default MemoryReplayStore, and with SQLReplayStore on PostgreSQL on
  127.0.0.1 (from $CLIENTAUTH_BENCH_PG_URL, or a temporary server as the tests start one):
  the replay store's cost per request is the difference.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "integration"))

import jwt
from _postgres import postgres_url
from _timing import fmt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

import clientauth
from clientauth.request import JWT_BEARER

AUDIENCE = "https://as.example.com"
BATCH = 400
ROUNDS = 15


class NoReplay:
    """A replay store that remembers nothing: isolates the verifier's own cost."""

    def use(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        return True


def main() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    jwk = {**json.loads(ECAlgorithm.to_jwk(public)), "kid": "k1"}
    registry = clientauth.load_clients([
        {"client_id": "bench", "token_endpoint_auth_method": "private_key_jwt",
         "jwks": {"keys": [jwk]}},
    ])

    def tokens(n: int) -> list[str]:
        now = int(time.time())
        claims = {"iss": "bench", "sub": "bench", "aud": AUDIENCE, "iat": now, "exp": now + 300}
        return [jwt.encode({**claims, "jti": uuid.uuid4().hex}, key, algorithm="ES256",
                           headers={"kid": "k1"}) for _ in range(n)]

    def decode_batch(batch: list[str]) -> None:
        for token in batch:
            jwt.decode(token, public, algorithms=["ES256"], audience=AUDIENCE)

    def auth_batch(auth: clientauth.Authenticator) -> Callable[[list[str]], None]:
        def run(batch: list[str]) -> None:
            # The request is what an adapter hands over; jwt.decode gets its token ready too.
            requests = [clientauth.ClientRequest(
                form={"client_assertion_type": JWT_BEARER, "client_assertion": token})
                for token in batch]
            start = time.perf_counter()
            for request in requests:
                if not auth.authenticate(request).ok:
                    raise AssertionError("benchmark assertion refused")
            elapsed.append(time.perf_counter() - start)
        return run

    def decode_timed(batch: list[str]) -> None:
        start = time.perf_counter()
        decode_batch(batch)
        elapsed.append(time.perf_counter() - start)

    elapsed: list[float] = []

    variants: list[tuple[str, Callable[[list[str]], None]]] = [
        ("jwt.decode alone (PyJWT, ES256)", decode_timed),
        ("authenticate, replay store a no-op",
         auth_batch(clientauth.Authenticator(registry, audience=AUDIENCE, replay=NoReplay()))),
        ("authenticate, MemoryReplayStore",
         auth_batch(clientauth.Authenticator(registry, audience=AUDIENCE))),
    ]
    with postgres_url("bench_assertion") as url:
        if url is not None:
            from clientauth.replay_sql import SQLReplayStore

            store = SQLReplayStore(url)
            store.create_schema()
            variants.append(("authenticate, SQLReplayStore (PostgreSQL 127.0.0.1)",
                             auth_batch(clientauth.Authenticator(registry, audience=AUDIENCE,
                                                                 replay=store))))
        samples = measure(variants, tokens, elapsed)
    base = samples[0]
    print(f"private_key_jwt (ES256, keys warm): median per request over {ROUNDS} paired "
          f"rounds of {BATCH}\n")
    width = max(len(name) for name, _ in variants)
    for (name, _), times in zip(variants, samples, strict=True):
        median = statistics.median(times)
        ratio = statistics.median(t / b for t, b in zip(times, base, strict=True))
        print(f"  {name:<{width}}  {fmt(median)}  {ratio:5.2f}x jwt.decode")
    noop = statistics.median(samples[1])
    for (name, _), times in list(zip(variants, samples, strict=True))[2:]:
        print(f"  replay store cost, {name.split(', ')[1]:<40} "
              f"{fmt(statistics.median(times) - noop)} per request")
    # The goal is for the default configuration: the in-memory replay store.
    ratio = statistics.median(t / b for t, b in zip(samples[2], base, strict=True))
    print(f"\ngoal: authenticate (MemoryReplayStore) <= 1.10x jwt.decode -> {ratio:.2f}x "
          f"({'met' if ratio <= 1.10 else 'NOT met'})")


def measure(
    variants: list[tuple[str, Callable[[list[str]], None]]],
    tokens: Callable[[int], list[str]],
    elapsed: list[float],
) -> list[list[float]]:
    """Per-call seconds of each variant, batch by batch in alternation (drift on a shared
    machine hits all alike); each run appends the time of its timed loop to ``elapsed``."""
    for _, run in variants:
        run(tokens(50))  # warm up
    samples: list[list[float]] = [[] for _ in variants]
    for _ in range(ROUNDS):
        for i, (_, run) in enumerate(variants):
            run(tokens(BATCH))
            samples[i].append(elapsed[-1] / BATCH)
    return samples


if __name__ == "__main__":
    main()
