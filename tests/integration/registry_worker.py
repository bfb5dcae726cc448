"""An API process, as far as the registry tests care: it builds an Authenticator over a
registry (a JSON file or a database URL) and answers JSON-lines requests on stdin.

    python tests/integration/registry_worker.py --registry URL_OR_PATH [--ttl S] [--reload S]
        [--no-listen]     (--ttl / --reload "default": the library's default)

Requests (one JSON object per line; one JSON answer per line):
    {"op": "auth", "client_id": ..., "secret": ...}      -> {"ok", "failure"}  (client_secret_basic)
    {"op": "cert", "pem": ..., "client_id": null}         -> {"ok", "failure", "client_id"}
    {"op": "revoke", "client_id": ..., "secret": ...}     -> {"revoked": n}  (through this process)
    {"op": "rotate", "client_id": ..., "keep": seconds}   -> {"secret": ...}
    {"op": "burst", "prefix": p, "adds": n, "client_id": c, "rotations": m}
        -> {"secrets": [...]}: n clients p0..p(n-1) added, c rotated m times, interleaved
    {"op": "reset"}                                       -> drop pooled connections
    {"op": "watch", "client_id": c, "secret": s, "expect": bool, "timeout": t}
        -> {"seen": monotonic time}: authenticates in a loop (1 ms apart) until the result is
        `expect`; "seen" is null after `timeout` seconds
    {"op": "listening"}                                   -> {"listening": bool}
    {"op": "quit"}
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import clientauth
from clientauth.registry_file import FileRegistry
from clientauth.secret import parse_secret_hash


def open_registry(target: str, ttl: float | None, reload: float | None,
                  listen: bool = True) -> Any:
    if "://" in target:
        from clientauth.registry_sql import SQLRegistry

        options: dict[str, Any] = {} if listen else {"listen": False}
        if ttl is not None:
            options["cache_ttl"] = ttl
        return SQLRegistry(target, **options)
    if reload is None:
        return FileRegistry(target)
    return FileRegistry(target, reload_interval=reload)


def _seconds(value: str) -> float | None:
    return None if value == "default" else float(value)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registry", required=True)
    parser.add_argument("--ttl", type=_seconds, default=1.0)
    parser.add_argument("--reload", type=_seconds, default=0.2)
    parser.add_argument("--no-listen", action="store_true")
    args = parser.parse_args()
    registry = open_registry(args.registry, args.ttl, args.reload, not args.no_listen)
    auth = clientauth.Authenticator(registry)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "quit":
            break
        answer: dict[str, Any]
        if op == "auth":
            token = base64.b64encode(
                f"{request['client_id']}:{request['secret']}".encode()).decode()
            result = auth.authenticate(
                clientauth.ClientRequest([("authorization", f"Basic {token}")]))
            answer = {"ok": result.ok, "failure": result.failure}
        elif op == "cert":
            form = {"client_id": request["client_id"]} if request.get("client_id") else None
            result = auth.authenticate(
                clientauth.ClientRequest(form=form, tls_chain=[request["pem"]]))
            answer = {"ok": result.ok, "failure": result.failure, "client_id": result.client_id}
        elif op == "revoke":
            answer = {"revoked": revoke(registry, request["client_id"], request["secret"])}
        elif op == "rotate":
            answer = {"secret": rotate(registry, request["client_id"], request["keep"])}
        elif op == "reset":  # drop pooled connections (after the test restarted the server)
            if hasattr(registry, "engine"):
                registry.engine.dispose()
            answer = {"reset": True}
        elif op == "watch":
            answer = {"seen": watch(auth, request["client_id"], request["secret"],
                                    request["expect"], request["timeout"])}
        elif op == "listening":
            answer = {"listening": bool(getattr(registry, "listening", False))}
        elif op == "burst":
            answer = burst(registry, request["prefix"], request["adds"], request["client_id"],
                           request["rotations"])
        else:
            answer = {"error": f"unknown op {op!r}"}
        print(json.dumps(answer), flush=True)


def basic(client_id: str, secret: str) -> clientauth.ClientRequest:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return clientauth.ClientRequest([("authorization", f"Basic {token}")])


def watch(auth: clientauth.Authenticator, client_id: str, secret: str, expect: bool,
          timeout: float) -> float | None:
    """The monotonic time (comparable across processes on Linux) at which the first
    authentication with the expected outcome started."""
    request = basic(client_id, secret)
    deadline = time.monotonic() + timeout
    while True:
        started = time.monotonic()
        try:
            if auth.authenticate(request).ok == expect:
                return started
        except clientauth.RegistryUnavailable:
            pass
        if started > deadline:
            return None
        time.sleep(0.001)


def burst(registry: Any, prefix: str, adds: int, client_id: str, rotations: int) -> dict[str, Any]:
    secrets = []
    for i in range(max(adds, rotations)):
        if i < adds:
            registry.add(clientauth.Client.from_metadata({
                "client_id": f"{prefix}{i}",
                "client_secret_hash": clientauth.hash_secret(clientauth.generate_secret()),
            }))
        if i < rotations:
            secrets.append(rotate(registry, client_id, 3600))
    return {"secrets": secrets}


def revoke(registry: Any, client_id: str, secret: str) -> int:
    removed = []

    def change(client: clientauth.Client) -> clientauth.Client:
        metadata = client.to_metadata()
        entries = metadata.pop("client_secrets", [])
        keep = [e for e in entries if not parse_secret_hash(e["hash"]).verify(secret.encode())]
        removed[:] = [len(entries) - len(keep)]
        metadata["client_secrets"] = keep
        return clientauth.Client.from_metadata(metadata)

    registry.update(client_id, change)
    return removed[0]


def rotate(registry: Any, client_id: str, keep: float) -> str:
    secret = clientauth.generate_secret()
    entry = {"hash": clientauth.hash_secret(secret), "expires_at": 0}
    deadline = int((datetime.now(UTC) + timedelta(seconds=keep)).timestamp())

    def change(client: clientauth.Client) -> clientauth.Client:
        metadata = client.to_metadata()
        old = [{**e, "expires_at": deadline} for e in metadata.pop("client_secrets", [])]
        metadata["client_secrets"] = [*old, entry]
        return clientauth.Client.from_metadata(metadata)

    registry.update(client_id, change)
    return secret


if __name__ == "__main__":
    main()


class Worker:
    """The test side: start ``registry_worker.py`` as its own process and talk to it."""

    def __init__(self, registry: str, *, ttl: float | None = 1.0, reload: float | None = 0.2,
                 listen: bool = True) -> None:
        """``ttl`` / ``reload`` ``None``: the library's defaults."""
        import subprocess

        self.process = subprocess.Popen(
            [sys.executable, __file__, "--registry", registry,
             "--ttl", "default" if ttl is None else str(ttl),
             "--reload", "default" if reload is None else str(reload),
             *([] if listen else ["--no-listen"])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        ready = self._read()
        assert ready == {"ready": True}, ready

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker exited with {self.process.wait(5)}")
        return dict(json.loads(line))

    def send(self, **request: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def ask(self, **request: Any) -> dict[str, Any]:
        self.send(**request)
        return self._read()

    def receive(self) -> dict[str, Any]:
        return self._read()

    def auth(self, client_id: str, secret: str) -> bool:
        return bool(self.ask(op="auth", client_id=client_id, secret=secret)["ok"])

    def close(self) -> None:
        import subprocess

        if self.process.poll() is None:
            with contextlib.suppress(OSError, RuntimeError, ValueError):
                self.ask(op="quit")
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
