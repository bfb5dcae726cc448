"""The registry soak (issue 12): reliability figures for SQLRegistry on a real PostgreSQL.

    python benchmarks/soak_registry.py [--seconds 60] [--workers 3] [--threads 4] [--freeze 8]

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

The run takes both cores of a small machine: figures from a shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from pg_server import missing_reason
from soak import run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--freeze", type=float, default=8.0)
    args = parser.parse_args()
    reason = missing_reason()
    if reason is not None:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    report = run(duration=args.seconds, workers=args.workers, threads=args.threads,
                 freeze=args.freeze)
    print("\n".join(report.lines()))
    ok = report.wrong_accepts_late == 0 and report.status_500 == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
