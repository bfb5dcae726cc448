"""Request-level fuzz through real servers, for longer runs than the test suite's.

    python benchmarks/fuzz_requests.py [--seed N] [--count 20000] [--seconds 120]
                                       [--variant asgi-h11 ...]

Sends generated raw HTTP/1.1 requests (tests/integration/request_fuzz.py: header counts up
to 2000, duplicated and odd-spelled headers, Authorization garbage, several credential methods
at once, Content-Length and chunking, form and query encodings, odd paths) to the ASGI
middleware on uvicorn (h11, httptools) and the WSGI middleware on wsgiref, all on 127.0.0.1,
one request per connection, each request bounded by a timeout and each variant by
``--seconds``. Prints, per variant, the requests sent, the outcomes by status, the accepted
clients, the server's own log lines, and every distinct failure with the first request that
showed it (rebuild it with the seed and its case index). Exit status 1 when a failure other
than a server's own exception was seen.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "integration"), str(ROOT / "tests")]

from request_fuzz import VARIANTS, Material, run_variant  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--count", type=int, default=20_000, help="requests per variant")
    parser.add_argument("--seconds", type=float, default=120.0, help="time cap per variant")
    parser.add_argument("--start", type=int, default=0, help="first case index")
    parser.add_argument("--variant", action="append", choices=list(VARIANTS))
    args = parser.parse_args()
    print(f"seed {args.seed}", flush=True)
    material = Material.create(args.seed)
    failed = False
    total = 0
    for variant in args.variant or list(VARIANTS):
        report = run_variant(variant, material, count=args.count, seconds=args.seconds,
                             start=args.start)
        total += report.sent
        print(report.summary(), flush=True)
        failed |= any(f.kind != "server-exception" for f in report.failures.values())
    print(f"total requests: {total}; {'FAILURES' if failed else 'no failures'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
