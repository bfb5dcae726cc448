"""Registry cost per request: lookup + secret verify through the full Authenticator path.

    python benchmarks/bench_registry.py

Compares the in-memory registry with SQLRegistry warm (every lookup a cache hit) -- goal
<= 1.2x -- and reports SQLRegistry cold against PostgreSQL on 127.0.0.1 (cache off: one
primary-key SELECT and one metadata parse per request). PostgreSQL comes from
$CLIENTAUTH_BENCH_PG_URL, or a temporary server is started like the tests do
(tests/integration/pg_server.py). Figures are medians of batches; the machine is noisy,
compare ratios.
"""

from __future__ import annotations

import base64
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "integration"))

from _postgres import postgres_url
from _timing import fmt, per_call

import clientauth
from clientauth.registry_sql import SQLRegistry

CLIENTS = 1000  # registered clients; the benchmark authenticates one of them


def interleaved(
    a: clientauth.Authenticator, b: clientauth.Authenticator, request: clientauth.ClientRequest,
    *, batch: int = 2000, rounds: int = 31,
) -> tuple[float, float, float]:
    """Median per-call time of ``a`` and ``b`` measured in alternating batches, and the
    median of the per-round ratios b/a: drift on a shared machine hits both alike."""
    assert a.authenticate(request).ok
    assert b.authenticate(request).ok
    times_a, times_b, ratios = [], [], []
    for _ in range(rounds):
        pair = []
        for auth in (a, b):
            start = time.perf_counter()
            for _ in range(batch):
                auth.authenticate(request)
            pair.append((time.perf_counter() - start) / batch)
        times_a.append(pair[0])
        times_b.append(pair[1])
        ratios.append(pair[1] / pair[0])
    return (statistics.median(times_a), statistics.median(times_b), statistics.median(ratios))


def main() -> None:
    secret = clientauth.generate_secret()
    clients = [
        clientauth.Client.from_metadata({
            "client_id": f"client-{i}",
            "client_secret_hash": clientauth.hash_secret(
                secret if i == 0 else clientauth.generate_secret()),
        })
        for i in range(CLIENTS)
    ]
    token = base64.b64encode(f"client-0:{secret}".encode()).decode()
    request = clientauth.ClientRequest([("authorization", f"Basic {token}")])

    def cost(registry: clientauth.ClientRegistry, *, batch: int = 2000) -> float:
        auth = clientauth.Authenticator(registry)
        assert auth.authenticate(request).ok
        return per_call(lambda: auth.authenticate(request), batch=batch)

    sqlite = SQLRegistry("sqlite://", cache_ttl=3600)
    sqlite.create_schema()
    for c in clients:
        sqlite.add(c)
    memory, warm_sqlite, ratio = interleaved(
        clientauth.Authenticator(clientauth.MemoryRegistry(clients)),
        clientauth.Authenticator(sqlite), request)

    rows = [("MemoryRegistry", memory, "")]
    rows.append(("SQLRegistry warm (cache hit), SQLite", warm_sqlite,
                 f"{ratio:.2f}x memory (goal <= 1.20x; median of paired rounds)"))
    with postgres_url("bench") as url:
        if url is not None:
            pg = SQLRegistry(url, cache_ttl=3600)
            pg.create_schema()
            for c in clients:
                pg.replace(c)
            _, warm_pg, pg_ratio = interleaved(
                clientauth.Authenticator(clientauth.MemoryRegistry(clients)),
                clientauth.Authenticator(pg), request)
            rows.append(("SQLRegistry warm (cache hit), PostgreSQL", warm_pg,
                         f"{pg_ratio:.2f}x memory"))
            cold = cost(SQLRegistry(url, cache_ttl=0), batch=200)
            rows.append(("SQLRegistry cold (no cache), PostgreSQL 127.0.0.1", cold,
                         f"{cold / memory:.0f}x memory"))
            pg.engine.dispose()
    cold_sqlite = cost(SQLRegistry(sqlite.engine, cache_ttl=0), batch=500)
    rows.append(("SQLRegistry cold (no cache), SQLite in memory", cold_sqlite,
                 f"{cold_sqlite / memory:.0f}x memory"))

    print(f"lookup + verify per request (Basic secret, {CLIENTS} clients registered)\n")
    width = max(len(r[0]) for r in rows)
    for label, seconds, note in rows:
        print(f"  {label:<{width}}  {fmt(seconds)}  {note}")


if __name__ == "__main__":
    main()
