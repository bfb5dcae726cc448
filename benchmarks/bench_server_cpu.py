"""Server CPU per request under real uvicorn: ClientAuthMiddleware vs Starlette's
AuthenticationMiddleware (issue 18).

    python3 benchmarks/bench_server_cpu.py [--requests 40000] [--rounds 3]

Servers, each a fresh single-worker uvicorn (httptools parser, asyncio loop, no access log)
pinned to CPU 0 with ``taskset``:

  bare        the application alone (200 "ok")
  clientauth  the application behind ``clientauth.asgi.ClientAuthMiddleware``,
              client_secret_basic client with a ``$sha256$`` secret hash
  starlette   the application behind ``starlette.middleware.authentication.
              AuthenticationMiddleware`` with a Basic backend whose client check does the same
              work (salted SHA-256 + ``hmac.compare_digest``)
  forwarded   (for reference) ClientAuthMiddleware, tls_client_auth with the certificate in
              an RFC 9440 ``Client-Cert`` header from a trusted peer with the shared secret

The load generator (this process, pinned to CPU 1) sends ``--requests`` keep-alive requests
one after another on one connection and reads every answer. What is measured is the server's
own CPU time over those requests, so the generator's cost and the other processes on the
machine do not enter the figure (a wall-clock requests/s figure on a shared 2-core machine
measures the generator too). Each server reports its process CPU clock
(``time.process_time_ns``) when asked on a pipe, by a thread that sleeps otherwise -- in
nanoseconds, where ``/proc/<pid>/stat`` counts 10 ms ticks. The servers take turns
``CHUNK`` requests at a time, each chunk measured on its own; a round's figure for a server is
the median of its chunks (a chunk hit by a burst elsewhere on the machine does not move it),
and the ratio of the per-request CPU above the bare app is taken within each round. The table
gives the medians over rounds. A server's CPU "above bare" in a round is the median, over the
turns, of its chunk minus the bare app's chunk of the same turn (neighbours in time share the
machine's state). Goal: clientauth's CPU above the bare app <= 1.0x Starlette's.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests")]

PATH = "/token"
SHARED_SECRET_HEADER = "X-Proxy-Secret"
SERVER_CPU, LOAD_CPU = 0, 1
STARTUP_TIMEOUT = 15.0
CHUNK = 1000
"""Requests a server answers before the next one takes its turn: one measurement."""
MODES = ("bare", "clientauth", "starlette", "forwarded")


# -- the server side (a child process) ----------------------------------------------------------


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def starlette_app(salt: bytes, digest: bytes, inner: Any = bare_app) -> Any:
    from starlette.authentication import (
        AuthCredentials,
        AuthenticationBackend,
        AuthenticationError,
        SimpleUser,
    )
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.requests import HTTPConnection

    clients = {"bench": (salt, digest)}

    class BasicBackend(AuthenticationBackend):
        """A Starlette user's Basic backend, secrets stored as salt + SHA-256(salt+secret)."""

        async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser]:
            header = conn.headers.get("authorization")
            if header is None:
                raise AuthenticationError("no credentials")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "basic":
                raise AuthenticationError("not Basic")
            try:
                decoded = base64.b64decode(token, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise AuthenticationError("malformed Basic credentials") from None
            client_id, _, secret = decoded.partition(":")
            stored = clients.get(client_id)
            if stored is None:
                raise AuthenticationError("unknown client")
            candidate = hashlib.sha256(stored[0] + secret.encode()).digest()
            if not hmac.compare_digest(candidate, stored[1]):
                raise AuthenticationError("wrong secret")
            return AuthCredentials(["client"]), SimpleUser(client_id)

    return AuthenticationMiddleware(inner, backend=BasicBackend())


def report_cpu() -> None:
    """Answer every line on stdin with this process's CPU time in nanoseconds (all threads);
    blocked on the read, it costs nothing in between."""
    for _ in sys.stdin.buffer:
        sys.stdout.write(f"{time.process_time_ns()}\n")
        sys.stdout.flush()


def serve(config_path: str) -> None:
    import threading

    import uvicorn

    threading.Thread(target=report_cpu, daemon=True).start()

    config = json.loads(Path(config_path).read_text())
    mode = config["mode"]
    app: Any = bare_app
    if mode in {"clientauth", "forwarded"}:
        import clientauth
        from clientauth.asgi import ClientAuthMiddleware

        forwarded = None
        if mode == "forwarded":
            forwarded = clientauth.ForwardedCertificates(
                "rfc9440", trusted_proxies=["127.0.0.1/32"],
                shared_secret=(SHARED_SECRET_HEADER, config["shared_secret"]))
        auth = clientauth.Authenticator(
            clientauth.load_clients(config["clients"]), trust_anchors=[config["root"]],
            intermediates=[config["intermediate"]], forwarded=forwarded)
        app = ClientAuthMiddleware(bare_app, authenticator=auth)
    elif mode == "starlette":
        app = starlette_app(bytes.fromhex(config["salt"]), bytes.fromhex(config["digest"]))
    uvicorn.run(app, host="127.0.0.1", port=config["port"], workers=1, http="httptools",
                loop="asyncio", lifespan="off", log_level="warning", access_log=False,
                proxy_headers=False, server_header=False, date_header=False)


# -- the generator side -------------------------------------------------------------------------


def setup() -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    from datetime import UTC, datetime, timedelta

    import clientauth
    from certs import issue, name

    now = datetime.now(UTC)
    valid = {"not_before": now - timedelta(hours=1), "not_after": now + timedelta(days=1)}
    root = issue(name("Bench Root CA", O="Bench"), ca=True, **valid)
    inter = issue(name("Bench Issuing CA", O="Bench"), issuer=root, ca=True, path_length=0,
                  **valid)
    leaf = issue(name("bench-mtls", O="Bench"), issuer=inter, **valid)
    secret = clientauth.generate_secret()
    salt = secrets.token_bytes(16)
    shared = secrets.token_urlsafe(32)
    token = base64.b64encode(f"bench:{secret}".encode()).decode()
    basic = {"Authorization": f"Basic {token}"}
    headers = {
        "bare": basic, "clientauth": basic, "starlette": basic,
        "forwarded": {"Client-Cert": f":{base64.b64encode(leaf.der).decode()}:",
                      SHARED_SECRET_HEADER: shared, "client_id": "bench-mtls"},
    }
    server = {
        "clients": [
            {"client_id": "bench", "client_secret_hash": clientauth.hash_secret(secret)},
            {"client_id": "bench-mtls", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_subject_dn": "CN=bench-mtls,O=Bench"},
        ],
        "root": root.pem, "intermediate": inter.pem, "shared_secret": shared,
        "salt": salt.hex(), "digest": hashlib.sha256(salt + secret.encode()).hexdigest(),
    }
    return headers, server


class Server:
    def __init__(self, mode: str, server: dict[str, Any], run_dir: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        config = run_dir / f"{mode}.json"
        config.write_text(json.dumps({**server, "mode": mode, "port": self.port}))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                          env.get("PYTHONPATH")]))
        self.log = open(run_dir / f"{mode}.log", "wb")  # noqa: SIM115 - closed in stop()
        # taskset execs the interpreter: the child's pid is the server's.
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(SERVER_CPU), sys.executable, str(Path(__file__).resolve()),
             "--serve", str(config)],
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.PIPE, env=env)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"{mode} server did not start; see {self.log.name}") \
                        from None
                time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """The server's CPU time so far (report_cpu, in the server process)."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(b"\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline()) / 1e9

    def stop(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def drive(port: int, headers: dict[str, str], count: int) -> None:
    """``count`` keep-alive requests on one connection, each answer read in full."""
    lines = [f"GET {PATH} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        for _ in range(count):
            sock.sendall(request)
            while True:
                head_end = buffer.find(b"\r\n\r\n")
                if head_end != -1:
                    head = buffer[:head_end].lower()
                    at = head.find(b"content-length:")
                    length = int(head[at + 15 : head.find(b"\r\n", at) if
                                      head.find(b"\r\n", at) != -1 else None]) if at != -1 else 0
                    total = head_end + 4 + length
                    if len(buffer) >= total:
                        if not buffer.startswith(b"HTTP/1.1 200"):
                            raise SystemExit(f"not a 200: {buffer[:300]!r}")
                        buffer = buffer[total:]
                        break
                chunk = sock.recv(65536)
                if not chunk:
                    raise SystemExit("the server closed the connection")
                buffer += chunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40000, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    import starlette
    import uvicorn

    modes = args.modes.split(",")
    os.sched_setaffinity(0, {LOAD_CPU})
    print(f"uvicorn {uvicorn.__version__} (httptools, asyncio loop) on CPU {SERVER_CPU}, "
          f"starlette {starlette.__version__}, generator on CPU {LOAD_CPU}; "
          f"{args.requests} keep-alive requests per run, {args.rounds} rounds; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at start")
    headers, server = setup()
    per_request: dict[str, list[float]] = {m: [] for m in modes}
    # Per round and mode: the median over chunk turns of (this chunk - the bare app's chunk of
    # the same turn): neighbours in time share the machine's state, rounds do not.
    above_bare: dict[str, list[float]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        servers: dict[str, Server] = {}
        try:
            for mode in modes:
                servers[mode] = Server(mode, server, Path(tmp))
                drive(servers[mode].port, headers[mode], 2000)  # warm-up, caches filled
            chunks = max(1, args.requests // CHUNK)
            size = args.requests // chunks
            for round_ in range(args.rounds):
                # The servers take turns, one chunk each, so that a busy spell on the
                # machine hits all of them alike; each chunk is measured on its own.
                samples: dict[str, list[float]] = {mode: [] for mode in modes}
                for chunk in range(chunks):
                    order = modes if (round_ + chunk) % 2 == 0 else modes[::-1]
                    for mode in order:
                        before = servers[mode].cpu_seconds()
                        drive(servers[mode].port, headers[mode], size)
                        used = servers[mode].cpu_seconds() - before
                        samples[mode].append(used / size * 1e6)
                for mode in modes:
                    per_request[mode].append(statistics.median(samples[mode]))
                    if "bare" in samples:
                        above_bare[mode].append(statistics.median(
                            m - b for m, b in zip(samples[mode], samples["bare"], strict=True)))
        finally:
            for running in servers.values():
                running.stop()
    print(f"\n{'server':<12}{'CPU us/request (median)':>25}{'above bare':>12}   runs")
    for mode in modes:
        above = ""
        if mode != "bare" and "bare" in per_request:
            above = f"{statistics.median(above_bare[mode]):12.1f}"
        runs = " ".join(f"{x:.1f}" for x in per_request[mode])
        print(f"{mode:<12}{statistics.median(per_request[mode]):25.1f}{above:>12}   {runs}")
    if {"bare", "clientauth", "starlette"} <= set(modes):
        ratios = [c / t for c, t in zip(above_bare["clientauth"], above_bare["starlette"],
                                         strict=True)]
        value = statistics.median(ratios)
        print(f"\nclientauth / starlette, CPU above the bare app: {value:.2f}x (rounds: "
              f"{' '.join(f'{r:.2f}' for r in ratios)}); goal <= 1.0x "
              f"{'met' if value <= 1.0 else 'NOT met'}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at end")


if __name__ == "__main__":
    main()
