"""ASGI middleware overhead on a real server: requests/s with and without
clientauth.asgi.ClientAuthMiddleware, under real uvicorn on 127.0.0.1.

    python benchmarks/bench_middleware.py [--duration 5] [--connections 16]

Cases, each against a fresh single-worker uvicorn (h11, asyncio loop, no access log):

  secret     Authorization: Basic for a client_secret_basic client (SHA-256 secret hash)
  forwarded  an nginx-format X-SSL-Client-Cert header (percent-encoded PEM, leaf only) from a
             trusted peer (127.0.0.1/32) with the shared-secret header; tls_client_auth
             client, chain verified against a root + configured intermediate (the verifier's
             verified-chain cache is on, as by default)

Each case runs twice with the same request: the bare app, then the app behind the middleware.
Goal: the guarded app keeps >= 90% of the bare app's throughput.

Load generator: wrk (``apt-get install wrk``) with one thread, N keep-alive connections and
a Lua script that sets the headers; without wrk, a bounded multi-process raw-socket loader
(keep-alive, one connection per process). The generator runs on the same machine and
competes with the server for the CPUs: on a 2-core machine the absolute figures are a floor,
compare the ratios. Everything binds 127.0.0.1; every server is stopped after its run.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The integration harness's process and port helpers, and the tests' certificate factory.
sys.path[:0] = [str(ROOT / "tests" / "integration"), str(ROOT / "tests")]

SHARED_SECRET_HEADER = "X-Proxy-Secret"
PATH = "/token"


# -- the server side (runs in the child process) ------------------------------------------------


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def serve(config_path: str) -> None:
    import uvicorn

    import clientauth
    from clientauth.asgi import ClientAuthMiddleware

    config = json.loads(Path(config_path).read_text())
    app: Any = bare_app
    if config["guarded"]:
        forwarded = None
        if config["case"] == "forwarded":
            forwarded = clientauth.ForwardedCertificates(
                "nginx", trusted_proxies=["127.0.0.1/32"],
                shared_secret=(SHARED_SECRET_HEADER, config["shared_secret"]))
        auth = clientauth.Authenticator(
            clientauth.load_clients(config["clients"]),
            trust_anchors=[config["root"]], intermediates=[config["intermediate"]],
            forwarded=forwarded,
        )
        app = ClientAuthMiddleware(bare_app, authenticator=auth)
    uvicorn.run(app, host="127.0.0.1", port=config["port"], workers=1, http="h11",
                loop="asyncio", lifespan="off", log_level="warning", access_log=False,
                proxy_headers=False)


# -- the client side ------------------------------------------------------------------------------


def build_cases(shared_secret: str) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    """Request headers per case, and what the server needs to authenticate them."""
    import clientauth
    from certs import issue, name

    now = datetime.now(UTC)
    valid = {"not_before": now - timedelta(hours=1), "not_after": now + timedelta(days=1)}
    root = issue(name("Bench Root CA", O="Bench"), ca=True, **valid)
    inter = issue(name("Bench Issuing CA", O="Bench"), issuer=root, ca=True, path_length=0,
                  **valid)
    leaf = issue(name("bench-mtls", O="Bench"), issuer=inter, **valid)
    secret = clientauth.generate_secret()
    clients = [
        {"client_id": "bench", "client_secret_hash": clientauth.hash_secret(secret)},
        {"client_id": "bench-mtls", "token_endpoint_auth_method": "tls_client_auth",
         "tls_client_auth_subject_dn": "CN=bench-mtls,O=Bench"},
    ]
    token = base64.b64encode(f"bench:{secret}".encode()).decode()
    headers = {
        "secret": {"Authorization": f"Basic {token}"},
        # nginx $ssl_client_escaped_cert: the PEM, percent-encoded
        "forwarded": {"X-SSL-Client-Cert": quote(leaf.pem, safe=""),
                      SHARED_SECRET_HEADER: shared_secret, "client_id": "bench-mtls"},
    }
    server = {"clients": clients, "root": root.pem, "intermediate": inter.pem,
              "shared_secret": shared_secret}
    return headers, server


def start_server(case: str, guarded: bool, server: dict[str, Any], run_dir: Path) -> Any:
    from harness import free_port, start

    port = free_port()
    config_path = run_dir / f"{case}-{'guarded' if guarded else 'bare'}.json"
    config_path.write_text(json.dumps({**server, "case": case, "guarded": guarded,
                                       "port": port}))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve", str(config_path)]
    return start(f"uvicorn-{case}-{guarded}", argv, port=port, run_dir=run_dir, env=env)


def check(port: int, headers: dict[str, str]) -> None:
    """One request first: a benchmark of 401s would measure nothing useful."""
    import httpx

    r = httpx.get(f"http://127.0.0.1:{port}{PATH}", headers=headers, timeout=10)
    if r.status_code != 200:
        raise SystemExit(f"sanity request failed: {r.status_code} {r.text}")


def run_wrk(port: int, headers: dict[str, str], duration: float, connections: int,
            run_dir: Path) -> float:
    script = run_dir / "headers.lua"
    lines = [f'wrk.headers["{k}"] = [==[{v}]==]' for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "-s", str(script),
            f"http://127.0.0.1:{port}{PATH}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30,
                         check=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw non-2xx answers:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise SystemExit(f"cannot read wrk output:\n{out}")
    return float(match.group(1))


def _socket_worker(port: int, request: bytes, deadline: float, counter: Any) -> None:
    done = 0
    with socket.create_connection(("127.0.0.1", port)) as sock:
        while time.monotonic() < deadline:
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data or not data.endswith(b"ok"):
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                data += chunk
            if not data.startswith(b"HTTP/1.1 200"):
                raise ConnectionError(data[:200].decode("latin-1"))
            done += 1
    with counter.get_lock():
        counter.value += done


def run_sockets(port: int, headers: dict[str, str], duration: float, connections: int) -> float:
    lines = [f"GET {PATH} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    counter = multiprocessing.Value("q", 0)
    start = time.monotonic()
    deadline = start + duration
    workers = [multiprocessing.Process(target=_socket_worker,
                                       args=(port, request, deadline, counter))
               for _ in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(duration + 30)
    return counter.value / (time.monotonic() - start)


def in_process_cost(headers: dict[str, str], server: dict[str, Any], case: str) -> float:
    """Seconds per request the middleware adds, called directly (no server, no network):
    a figure the machine's noise disturbs far less than requests/s."""
    import asyncio

    import clientauth
    from clientauth.asgi import ClientAuthMiddleware

    forwarded = None
    if case == "forwarded":
        forwarded = clientauth.ForwardedCertificates(
            "nginx", trusted_proxies=["127.0.0.1/32"],
            shared_secret=(SHARED_SECRET_HEADER, server["shared_secret"]))
    auth = clientauth.Authenticator(
        clientauth.load_clients(server["clients"]), trust_anchors=[server["root"]],
        intermediates=[server["intermediate"]], forwarded=forwarded)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    guarded = ClientAuthMiddleware(app, authenticator=auth)
    raw = [(b"host", b"127.0.0.1"), *((k.lower().encode(), v.encode())
                                      for k, v in headers.items())]

    async def loop(target: Any, n: int) -> float:
        begin = time.perf_counter()
        for _ in range(n):
            await target({"type": "http", "path": PATH, "headers": raw, "query_string": b"",
                          "client": ("127.0.0.1", 50000)}, receive, send)
        return time.perf_counter() - begin

    async def measure() -> float:
        await loop(guarded, 200)  # warm-up (fills the verified-chain cache)
        samples = []
        for _ in range(5):
            samples.append(await loop(guarded, 2000) - await loop(app, 2000))
        return sorted(samples)[2] / 2000

    return asyncio.run(measure())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs per configuration, interleaved; the median is reported")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    import secrets
    import statistics

    import uvicorn

    wrk = shutil.which("wrk")
    connections = args.connections if wrk else min(args.connections, 4)
    generator = (f"wrk 1 thread, {connections} keep-alive connections, {args.duration:g} s "
                 "per run, Lua script for the headers" if wrk else
                 f"raw-socket loader, {connections} processes, keep-alive, "
                 f"{args.duration:g} s per run")
    print(f"uvicorn {uvicorn.__version__} (1 worker, h11, asyncio loop), Python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at start")
    print(f"generator: {generator}; {args.rounds} interleaved rounds, median reported; the "
          "generator shares the CPUs with the server, so absolute figures are a floor")
    headers, server = build_cases(secrets.token_urlsafe(32))
    configs = [(case, guarded) for case in ("secret", "forwarded") for guarded in (False, True)]
    rates: dict[tuple[str, bool], list[float]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        processes: dict[tuple[str, bool], Any] = {}
        try:
            for case, guarded in configs:
                processes[(case, guarded)] = start_server(case, guarded, server, run_dir)
                check(processes[(case, guarded)].port, headers[case])
            for round_ in range(args.rounds):
                # Alternate the order per round, so a slow spell does not hit one side only.
                order = configs if round_ % 2 == 0 else configs[::-1]
                for config in order:
                    port = processes[config].port
                    if wrk:
                        if round_ == 0:
                            run_wrk(port, headers[config[0]], 1, connections, run_dir)
                        rate = run_wrk(port, headers[config[0]], args.duration, connections,
                                       run_dir)
                    else:
                        rate = run_sockets(port, headers[config[0]], args.duration,
                                           connections)
                    rates[config].append(rate)
        finally:
            for process in processes.values():
                process.stop()
    print()
    print(f"{'case':<10} {'bare req/s':>11} {'guarded req/s':>14} {'ratio':>7}  runs "
          "(bare | guarded)  in-process cost")
    for case in ("secret", "forwarded"):
        bare = statistics.median(rates[(case, False)])
        guarded = statistics.median(rates[(case, True)])
        ratio = guarded / bare
        runs = (" ".join(f"{r:.0f}" for r in rates[(case, False)]) + " | "
                + " ".join(f"{r:.0f}" for r in rates[(case, True)]))
        cost = in_process_cost(headers[case], server, case)
        verdict = "" if ratio >= 0.9 else "  (below the 90% goal)"
        print(f"{case:<10} {bare:>11.0f} {guarded:>14.0f} {ratio:>7.1%}  {runs}  "
              f"{cost * 1e6:.0f} us/request{verdict}")


if __name__ == "__main__":
    main()
