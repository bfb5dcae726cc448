"""Slow and hostile revocation / jwks_uri hosts (issue 13): what one of them costs.

    python benchmarks/bench_slow_hosts.py [--timeout 2] [--seconds 3]

A misbehaving HTTP server on 127.0.0.1 (tests/misbehaving.py) serves the CRL and OCSP URLs of a
``tls_client_auth`` client's certificate, and a ``jwks_uri``. For each misbehaviour -- bytes
dripped every 50 ms into the body or into the status line and headers, a stall after the
request, a redirect, a 256 MiB body without Content-Length -- it prints:

* the longest of eight simultaneous ``authenticate()`` calls for that client (fresh
  Authenticator, soft-fail checker with ``timeout``) and the requests the host received;
* for the huge body, the peak of Python allocations (tracemalloc) during one check;
* the same for ``JwksFetcher.thumbprints()`` (stall, dripped headers);
* the latency of an unrelated ``client_secret_basic`` request through
  ``ClientAuthMiddleware(threaded=True)`` on real uvicorn while eight requests of the slow
  client are kept in flight, against the same with a well-behaved host (goal: within 2x).

Run it with ``PYTHONPATH=<an older checkout>/src`` to measure that code instead.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import sys
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "tests" / "integration"), str(ROOT / "tests")]

MISBEHAVIOURS = ("drip-body", "drip-headers", "stall", "redirect", "huge")


def authenticate(auth: Any, sc: Any) -> None:
    auth.authenticate(sc.slow_request())


def revocation_figures(timeout: float) -> None:
    from slow_hosts import checker, longest_call, scenario

    print(f"revocation (soft-fail, timeout={timeout:g} s), 8 concurrent authenticate():")
    for misbehaviour in MISBEHAVIOURS:
        with scenario() as sc:
            sc.behave(misbehaviour)
            auth = sc.authenticator(timeout)
            longest = longest_call(partial(authenticate, auth, sc))
            requests = sc.server.total
            result = auth.authenticate(sc.slow_request())
            peak = ""
            if misbehaviour == "huge":
                tracemalloc.start()
                checker(timeout * 10).check(sc.chain, datetime.now(UTC))
                peak = f", peak {tracemalloc.get_traced_memory()[1] / 2**20:.0f} MiB"
                tracemalloc.stop()
            print(f"  {misbehaviour:13s} longest {longest:6.2f} s, {requests} requests to the "
                  f"host for 1 certificate{peak}; ok={result.ok} notices="
                  f"{[str(n) for n in result.notices]}")


def jwks_figures(timeout: float) -> None:
    import clientauth
    from misbehaving import MisbehavingServer, drip_headers, stall
    from slow_hosts import longest_call

    kwargs: dict[str, Any] = {"allow_http": True, "timeout": timeout}
    if "allow_addresses" in inspect.signature(clientauth.JwksFetcher).parameters:
        kwargs["allow_addresses"] = ["127.0.0.1"]
    print(f"jwks_uri (timeout={timeout:g} s), 8 concurrent thumbprints():")
    for label, behaviour in (("drip-headers", drip_headers(b'{"keys": []}', 0.05)),
                             ("stall", stall(60))):
        server = MisbehavingServer()
        try:
            server.routes["/jwks.json"] = behaviour
            fetcher = clientauth.JwksFetcher(**kwargs)

            def ask(fetcher: Any = fetcher, url: str = server.url("/jwks.json")) -> None:
                with contextlib.suppress(clientauth.FetchError):
                    fetcher.thumbprints(url)

            longest = longest_call(ask)
            print(f"  {label:13s} longest {longest:6.2f} s, {server.total} requests to the host")
        finally:
            server.close()


def latency_figures(timeout: float, seconds: float) -> None:
    from slow_hosts import fast_latency, scenario, serve

    print(f"client_secret_basic latency via uvicorn + threaded middleware, 8 slow-client "
          f"requests in flight ({seconds:g} s each):")
    results: dict[str, dict[str, float]] = {}
    for misbehaviour in ("good", "drip-body", "stall"):
        with scenario() as sc:
            sc.behave(misbehaviour)
            with serve(sc.authenticator(timeout)) as url:
                results[misbehaviour] = figures = fast_latency(url, sc, seconds=seconds)
        print(f"  host {misbehaviour:10s} p50 {figures['p50']:8.2f} ms  p95 {figures['p95']:8.2f}"
              f" ms  max {figures['max']:9.2f} ms  (n={figures['n']:.0f})")
    base = results["good"]["p50"]
    for misbehaviour in ("drip-body", "stall"):
        ratio = results[misbehaviour]["p50"] / base
        print(f"  {misbehaviour}: p50 {ratio:.2f}x the well-behaved host's "
              f"({'within' if ratio <= 2 else 'OVER'} the 2x goal)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                "all_proxy"):
        os.environ.pop(var, None)
    os.environ["NO_PROXY"] = "127.0.0.1"
    started = time.monotonic()
    revocation_figures(args.timeout)
    jwks_figures(args.timeout / 2)
    latency_figures(args.timeout, args.seconds)
    print(f"({time.monotonic() - started:.0f} s; {threading.active_count()} threads left)")


if __name__ == "__main__":
    main()
