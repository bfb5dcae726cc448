"""The registry soak (issue 12): reliability figures for SQLRegistry on a real PostgreSQL.

    python benchmarks/soak_registry.py [--seconds 60] [--workers 3] [--threads 4] [--freeze 8]
    python benchmarks/soak_registry.py --propagation [--rounds 20]

Starts a throw-away PostgreSQL (tests/integration/pg_server.py; needs the server binaries),
registers clients, and runs ``--workers`` API processes with ``--threads`` threads each. Every
thread drives the ASGI ``ClientAuthMiddleware`` in process (its own event loop, an HTTP scope
per request; no server, so the figures are the library's, not uvicorn's) over
``SQLRegistry(url)`` with the library's defaults, authenticating a mix of good clients, wrong
secrets, unknown ids and credentials that change during the run. Meanwhile this process, through
its own ``SQLRegistry``: rotates a secret, revokes the old one, revokes another client's
secret, removes a client and registers it again with a new secret, pins a second certificate
and unpins the first, restarts PostgreSQL (``pg_ctl stop -m fast`` + start), rotates and
revokes again, freezes PostgreSQL (SIGSTOP to all its processes, SIGCONT in a ``finally``)
for ``--freeze`` seconds, and re-pins the first certificate. Printed: requests, responses by
status, wrong accepts / refusals later than 1 s after a change (goal 0), responses with status
500 (goal 0), the longest request during the freeze, the last 503 after the restart,
throughput before the first change and after the last one, and requests per second.

``--propagation`` measures instead how long a revocation written by this process takes to be
refused by one other process (p50 / p90 / max, from the start of the write), with the
library's defaults: PostgreSQL with notifications, PostgreSQL with ``listen=False``
(``cache_ttl`` alone) and a ``FileRegistry``.

The run takes both cores of a small machine: figures from a shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from pg_server import PostgresServer, missing_reason
from soak import measure, quantiles, run


def propagation(rounds: int) -> None:
    import tempfile

    import clientauth
    from clientauth.registry_file import FileRegistry
    from clientauth.registry_sql import SQLRegistry

    def show(label: str, delays: list[float]) -> None:
        figures = quantiles(delays)
        print(f"{label:44} " + "  ".join(f"{k} {v * 1000:7.1f} ms" for k, v in figures.items()),
              flush=True)

    with PostgresServer.start() as server:
        url = server.create_database("propagation")
        SQLRegistry(url).create_schema()
        show("PostgreSQL, defaults (notifications)", measure(url, rounds, ttl=None))
        show("PostgreSQL, listen=False (cache_ttl 5 s)",
             measure(url, rounds, ttl=None, listen=False))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "clients.json")
        FileRegistry(path, create=True).add(clientauth.Client.from_metadata({
            "client_id": "placeholder",
            "client_secret_hash": clientauth.hash_secret(clientauth.generate_secret())}))
        show("FileRegistry, defaults (reload_interval 1 s)", measure(str(path), rounds,
                                                                     reload=None))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--freeze", type=float, default=8.0)
    parser.add_argument("--propagation", action="store_true")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    reason = missing_reason()
    if reason is not None:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    if args.propagation:
        propagation(args.rounds)
        return 0
    report = run(duration=args.seconds, workers=args.workers, threads=args.threads,
                 freeze=args.freeze)
    print("\n".join(report.lines()))
    ok = report.wrong_accepts_late == 0 and report.status_500 == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
