"""The registry soak (issue 12): API worker processes authenticate a mix of good, bad,
revoked and unknown clients against one real PostgreSQL while the registry changes under
them and the database is restarted once and frozen once. Used by
benchmarks/soak_registry.py (the full run) and tests/integration/test_soak.py (shortened).

Each worker process builds ``SQLRegistry(url)`` with the library's defaults (cache_ttl 5 s,
listening for notifications, connect/statement timeouts 5 s), an ``Authenticator`` and the
ASGI ``ClientAuthMiddleware`` (in process: each thread drives the middleware with its own
event loop and an HTTP scope; no server), and records every request: start, end (monotonic
clock, shared by the processes of one machine), credential, status.

The controller (this process) writes the changes through its own ``SQLRegistry`` and logs
when each write that makes a credential valid or invalid started and returned (the commit
happens in between). A request that overlaps such a write may rightly see either state and is
not judged. Otherwise a *wrong accept* is a 200 for a credential invalid at the time; it
counts against the 1 s goal when the request started more than ``GRACE`` after the write
returned. A *wrong refusal* is a 401/400 for a credential valid at the time, likewise.

    python tests/integration/soak.py worker CONFIG_JSON OUTPUT_JSON   (started by run())
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

GRACE = 1.0  # seconds: a change must be seen everywhere within this (the issue's goal)
WEIGHTS = {"good": 4, "bad": 1, "unknown": 1, "changing": 4}  # share of requests by kind


@dataclass
class Credential:
    kind: str  # good | bad | unknown | changing
    name: str  # for the report
    client_id: str | None  # None: a certificate presented without client_id
    secret: str | None = None
    pem: str | None = None
    valid: bool = False  # at the start


@dataclass
class Plan:
    """What the controller set up: credentials and the validity timeline."""

    credentials: list[Credential]
    # (write started, write returned, credential index, valid afterwards): the commit, and
    # the notifications, happen somewhere in between.
    events: list[tuple[float, float, int, bool]] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)  # named moments (monotonic)
    writes: list[tuple[str, float, float]] = field(default_factory=list)  # (what, start, end)


@dataclass
class Report:
    duration: float
    workers: int
    threads: int
    requests: int
    statuses: dict[str, int]
    wrong_accepts_late: int
    wrong_accepts_within_grace: int
    wrong_refusals_late: int
    max_staleness: float  # longest delay after a change at which a wrong accept started
    status_500: int
    longest_during_freeze: float
    freeze_seconds: float
    restart_503: int
    recovery_after_restart: float
    throughput_before: float
    throughput_after: float
    late_examples: list[str]
    per_second: list[int]  # requests completed in each second of the run
    threads_after: int  # threads that completed requests in the "after" window
    longest_after_freeze: float  # longest request started after the freeze ended

    def lines(self) -> list[str]:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return [
            f"duration {self.duration:.0f} s, {self.workers} worker processes x "
            f"{self.threads} threads (ASGI ClientAuthMiddleware in process)",
            f"requests {self.requests}  ({statuses})",
            f"wrong accepts > {GRACE:g} s after a change: {self.wrong_accepts_late}  "
            f"(within {GRACE:g} s: {self.wrong_accepts_within_grace}; latest one started "
            f"{self.max_staleness * 1000:.0f} ms after its change)",
            f"wrong refusals > {GRACE:g} s after a change: {self.wrong_refusals_late}",
            f"responses with status 500 (or an exception): {self.status_500}",
            f"longest request during the {self.freeze_seconds:.0f} s freeze: "
            f"{self.longest_during_freeze:.2f} s",
            f"restart: {self.restart_503} responses 503; last 503 "
            f"{self.recovery_after_restart:.2f} s after the server accepted connections again",
            f"throughput before {self.throughput_before:.0f} req/s, after "
            f"{self.throughput_after:.0f} req/s ({self.threads_after} of "
            f"{self.workers * self.threads} threads active after; longest request after the "
            f"freeze {self.longest_after_freeze:.2f} s)",
            "requests per second: " + " ".join(str(n) for n in self.per_second),
            *self.late_examples[:5],
        ]


# -- setup -----------------------------------------------------------------------------------


def _secret_client(client_id: str, *secrets: str) -> Any:
    import clientauth

    return clientauth.Client.from_metadata({"client_id": client_id, "client_secrets": [
        {"hash": clientauth.hash_secret(s), "expires_at": 0} for s in secrets]})


def setup(url: str) -> tuple[Plan, dict[str, Any]]:
    """Registers the clients; returns the plan and what the changes need."""
    import clientauth
    from certs import issue, name
    from clientauth.registry_sql import SQLRegistry

    now = datetime.now(UTC)
    valid = {"not_before": now - timedelta(hours=1), "not_after": now + timedelta(days=1)}
    gen = clientauth.generate_secret
    creds: list[Credential] = []
    registry = SQLRegistry(url, cache_ttl=0)
    registry.create_schema()
    for i in range(4):
        secret = gen()
        registry.add(_secret_client(f"good-{i}", secret))
        creds.append(Credential("good", f"good-{i}", f"good-{i}", secret, valid=True))
        if i < 2:
            creds.append(Credential("bad", f"good-{i}/wrong", f"good-{i}", gen()))
            creds.append(Credential("unknown", f"nobody-{i}", f"nobody-{i}", gen()))
    retired_old, retired_new = gen(), gen()
    registry.add(_secret_client("retired", retired_new))
    creds.append(Credential("bad", "retired/revoked-before", "retired", retired_old))
    rot = [gen() for _ in range(3)]
    registry.add(_secret_client("rot", rot[0]))
    victim = [gen(), gen()]
    registry.add(_secret_client("victim", *victim))
    billing = [gen(), gen()]
    registry.add(_secret_client("billing", billing[0]))
    c1, c2 = issue(name("soak-device-1"), **valid), issue(name("soak-device-2"), **valid)
    registry.add(clientauth.Client.from_metadata({
        "client_id": "device", "token_endpoint_auth_method": "self_signed_tls_client_auth",
        "tls_client_certificates": [c1.pem]}))
    index: dict[str, int] = {}
    for label, cid, secret, pem, ok in [
        ("rot/s0", "rot", rot[0], None, True), ("rot/s1", "rot", rot[1], None, False),
        ("rot/s2", "rot", rot[2], None, False),
        ("victim/v0", "victim", victim[0], None, True),
        ("victim/v1", "victim", victim[1], None, True),
        ("billing/b0", "billing", billing[0], None, True),
        ("billing/b1", "billing", billing[1], None, False),
        ("device/c1", None, None, c1.pem, True), ("device/c2", None, None, c2.pem, False),
    ]:
        index[label] = len(creds)
        creds.append(Credential("changing", label, cid, secret, pem, ok))
    registry.close()
    return Plan(creds), {"rot": rot, "victim": victim, "billing": billing, "c1": c1.cert,
                         "c2": c2.cert, "index": index}


# -- the worker process ----------------------------------------------------------------------


def _scope(cred: dict[str, Any]) -> dict[str, Any]:
    headers: list[tuple[bytes, bytes]] = []
    extensions: dict[str, Any] = {}
    if cred["secret"] is not None:
        token = base64.b64encode(f"{cred['client_id']}:{cred['secret']}".encode())
        headers.append((b"authorization", b"Basic " + token))
    if cred["pem"] is not None:
        extensions["tls"] = {"client_cert_chain": [cred["pem"]]}
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "https", "path": "/token", "raw_path": b"/token",
            "root_path": "", "query_string": b"", "headers": headers,
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 443),
            "extensions": extensions}


def worker(config_path: str, output_path: str) -> None:
    import clientauth
    from clientauth.asgi import ClientAuthMiddleware
    from clientauth.registry_sql import SQLRegistry

    config = json.loads(Path(config_path).read_text())
    registry = SQLRegistry(config["url"])  # the library's defaults
    auth = clientauth.Authenticator(registry)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = ClientAuthMiddleware(app, authenticator=auth)
    creds = config["credentials"]
    weights = [WEIGHTS[c["kind"]] / sum(1 for d in creds if d["kind"] == c["kind"])
               for c in creds]
    scopes = [_scope(c) for c in creds]
    registry.get(creds[0]["client_id"])  # starts the listener
    deadline = time.monotonic() + 10
    while not getattr(registry, "listening", True) and time.monotonic() < deadline:
        time.sleep(0.02)
    print("ready", flush=True)
    start = float(sys.stdin.readline())
    end = start + config["duration"]
    records: list[list[Any]] = []
    lock = threading.Lock()

    def run(seed: int) -> None:
        rng = random.Random(seed)
        loop = asyncio.new_event_loop()
        # Flat arrays, not a list per request: hundreds of thousands of small lists would
        # make every garbage collection slower and the throughput drift down over the run.
        starts, ends, which, codes = array("d"), array("d"), array("i"), array("i")

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        while (t0 := time.monotonic()) < end:
            i = rng.choices(range(len(creds)), weights)[0]
            status: list[int] = []

            async def send(message: dict[str, Any], status: list[int] = status) -> None:
                if message["type"] == "http.response.start":
                    status.append(message["status"])

            try:
                loop.run_until_complete(middleware(dict(scopes[i]), receive, send))
                code = status[0] if status else 0
            except Exception:
                code = -500  # an exception escaping the middleware: a 500 from a server
            starts.append(t0)
            ends.append(time.monotonic())
            which.append(i)
            codes.append(code)
        loop.close()
        with lock:
            records.extend([a, b, c, d, seed] for a, b, c, d in zip(
                starts, ends, which, codes, strict=True))

    threads = [threading.Thread(target=run, args=(os.getpid() * 100 + n,))
               for n in range(config["threads"])]
    time.sleep(max(0.0, start - time.monotonic()))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if hasattr(registry, "close"):
        registry.close()
    Path(output_path).write_text(json.dumps(records))


# -- the controller ----------------------------------------------------------------------------


def _write(plan: Plan, what: str, call: Callable[[], object], changes: list[tuple[str, bool]],
           index: dict[str, int]) -> None:
    """Run a registry write (retried while the database recovers) and log its effect."""
    from sqlalchemy.exc import SQLAlchemyError

    from clientauth.exceptions import RegistryError

    started = time.monotonic()
    for _ in range(200):
        try:
            call()
            break
        except (RegistryError, SQLAlchemyError):
            time.sleep(0.05)
    else:
        raise RuntimeError(f"{what}: the write kept failing")
    done = time.monotonic()
    plan.writes.append((what, started, done))
    for label, ok in changes:
        plan.events.append((started, done, index[label], ok))


def scenario(server: Any, url: str, plan: Plan, extra: dict[str, Any], *, duration: float,
             freeze: float, start: float) -> None:
    """The changes, spread over the run; the restart and the freeze in between."""
    import clientauth
    from clientauth.registry_sql import SQLRegistry

    index = extra["index"]
    rot, victim, billing = extra["rot"], extra["victim"], extra["billing"]
    c1, c2 = extra["c1"], extra["c2"]
    stored = clientauth.StoredSecret.parse
    keep = timedelta(hours=1)
    edge = max(2.0, duration * 0.12)  # the "before" and "after" throughput windows
    restart_cost = 2.0
    gap = max(0.8, (duration - 2 * edge - freeze - restart_cost) / 11)
    writer = SQLRegistry(url, cache_ttl=0)

    def at(offset: float) -> None:
        time.sleep(max(0.0, start + offset - time.monotonic()))

    def step(what: str, call: Callable[[], object], *changes: tuple[str, bool]) -> None:
        _write(plan, what, call, list(changes), index)

    plan.marks["before_end"] = start + edge
    at(edge)
    step("rotate rot (s1 added, s0 kept)", lambda: writer.update(
        "rot", lambda c: c.rotate_secret(stored(clientauth.hash_secret(rot[1])),
                                         keep_old_for=keep)), ("rot/s1", True))
    at(edge + gap)
    step("revoke rot s0", lambda: writer.update(
        "rot", lambda c: c.revoke_secrets(secret=rot[0])), ("rot/s0", False))
    at(edge + 2 * gap)
    step("revoke victim v0", lambda: writer.update(
        "victim", lambda c: c.revoke_secrets(secret=victim[0])), ("victim/v0", False))
    at(edge + 3 * gap)
    step("remove billing", lambda: writer.remove("billing"), ("billing/b0", False))
    at(edge + 4 * gap)
    step("add billing again (b1)", lambda: writer.add(_secret_client("billing", billing[1])),
         ("billing/b1", True))
    at(edge + 5 * gap)
    step("pin c2", lambda: writer.update("device", lambda c: c.pin_certificate(c2)),
         ("device/c2", True))
    at(edge + 6 * gap)
    step("unpin c1", lambda: writer.update("device", lambda c: c.unpin_certificate(c1)),
         ("device/c1", False))
    at(edge + 7 * gap)
    plan.marks["restart_begin"] = time.monotonic()
    server.pause()
    plan.marks["restart_down"] = time.monotonic()
    server.resume()
    plan.marks["restart_up"] = time.monotonic()
    at(edge + 8 * gap + restart_cost)
    step("rotate rot (s2 added) and revoke s1", lambda: writer.update(
        "rot", lambda c: c.rotate_secret(stored(clientauth.hash_secret(rot[2])),
                                         keep_old_for=keep).revoke_secrets(secret=rot[1])),
         ("rot/s2", True), ("rot/s1", False))
    at(edge + 9 * gap + restart_cost)
    plan.marks["freeze_begin"] = time.monotonic()
    server.freeze()
    try:
        time.sleep(freeze)
    finally:
        server.thaw()
    plan.marks["freeze_end"] = time.monotonic()
    at(edge + 10 * gap + restart_cost + freeze)
    step("pin c1 again, replacing c2", lambda: writer.update(
        "device", lambda c: c.pin_certificate(c1, replace=True)),
         ("device/c1", True), ("device/c2", False))
    plan.marks["after_begin"] = max(time.monotonic() + 1.0, start + duration - edge)
    writer.close()


def run(*, duration: float = 60.0, workers: int = 3, threads: int = 4, freeze: float = 8.0,
        log: Callable[[str], None] = print) -> Report:
    """Start a PostgreSQL server, the workers, run the scenario, analyse."""
    from pg_server import PostgresServer

    with PostgresServer.start() as server, tempfile.TemporaryDirectory() as tmp:
        try:
            url = server.create_database("soak")
            plan, extra = setup(url)
            config = {"url": url, "duration": duration, "threads": threads,
                      "credentials": [c.__dict__ for c in plan.credentials]}
            config_path = Path(tmp, "config.json")
            config_path.write_text(json.dumps(config))
            with _workers(workers, config_path, Path(tmp)) as procs:
                start = time.monotonic() + 0.5
                for proc in procs:
                    assert proc.stdin is not None
                    proc.stdin.write(f"{start!r}\n")
                    proc.stdin.flush()
                log(f"running {duration:.0f} s with {workers} x {threads} threads ...")
                scenario(server, url, plan, extra, duration=duration, freeze=freeze,
                         start=start)
                for proc in procs:
                    proc.wait(duration + 120)
                    if proc.returncode != 0:
                        raise RuntimeError(f"worker exited with {proc.returncode}")
            records = [r for n in range(workers)
                       for r in json.loads(Path(tmp, f"out-{n}.json").read_text())]
        finally:
            server.thaw()  # never leave a stopped server behind
    return analyse(plan, records, duration=duration, workers=workers, threads=threads,
                   freeze=freeze, start=start)


@contextlib.contextmanager
def _workers(count: int, config: Path, out: Path) -> Iterator[list[subprocess.Popen[str]]]:
    # The workers import clientauth as this process does (PYTHONPATH is inherited).
    procs = [subprocess.Popen([sys.executable, __file__, "worker", str(config),
                               str(out / f"out-{n}.json")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
             for n in range(count)]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"worker did not start: {line!r}")
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()


def analyse(plan: Plan, records: list[list[Any]], *, duration: float, workers: int,
            threads: int, freeze: float, start: float) -> Report:
    timeline: dict[int, list[tuple[float, float, bool]]] = {}
    for began, done, i, ok in sorted(plan.events):
        timeline.setdefault(i, []).append((began, done, ok))

    def state(i: int, t0: float, t1: float) -> tuple[bool | None, float | None]:
        """(valid for a request from t0 to t1 -- None when a write changing it overlapped
        the request: its lookup may have read either state --, when the latest change
        before the request was done)."""
        valid: bool | None = plan.credentials[i].valid
        since = None
        for began, done, ok in timeline.get(i, ()):
            if t1 < began:
                break
            if t0 < done:
                return None, None
            valid, since = ok, done
        return valid, since

    statuses: Counter[str] = Counter()
    late = within = refused = s500 = 0
    staleness = 0.0
    examples: list[str] = []
    for t0, t1, i, code, _thread in records:
        statuses["exception" if code == -500 else str(code)] += 1
        if code in (500, -500):
            s500 += 1
        valid, since = state(i, t0, t1)
        if valid is None:
            continue  # started while the write was in progress: either answer is right
        settled = since is None or t0 - since > GRACE
        if code == 200 and not valid:
            staleness = max(staleness, t0 - since if since is not None else float("inf"))
            if settled:
                late += 1
                if len(examples) < 5:
                    examples.append(f"  late accept: {plan.credentials[i].name} at "
                                    f"+{t0 - start:.2f} s")
            else:
                within += 1
        elif code in (400, 401) and valid and settled:
            refused += 1
            if len(examples) < 5:
                examples.append(f"  wrong refusal: {plan.credentials[i].name} at "
                                f"+{t0 - start:.2f} s")
    marks = plan.marks
    during_freeze = [t1 - t0 for t0, t1, _, _, _ in records
                     if t1 >= marks["freeze_begin"] and t0 <= marks["freeze_end"]]
    # 503s of the restart: answered between its beginning and the freeze (a request cut off
    # by the freeze belongs to the freeze).
    restart = [r for r in records if marks["restart_begin"] <= r[0]
               and r[1] < marks["freeze_begin"] and r[3] == 503]
    last_503 = max((r[1] for r in restart), default=marks["restart_up"])

    def rate(lo: float, hi: float) -> float:
        return sum(1 for r in records if lo <= r[1] < hi) / max(hi - lo, 1e-9)

    return Report(
        duration=duration, workers=workers, threads=threads, requests=len(records),
        statuses=dict(statuses), wrong_accepts_late=late, wrong_accepts_within_grace=within,
        wrong_refusals_late=refused, max_staleness=staleness, status_500=s500,
        longest_during_freeze=max(during_freeze, default=0.0), freeze_seconds=freeze,
        restart_503=len(restart),
        recovery_after_restart=max(0.0, last_503 - marks["restart_up"]),
        throughput_before=rate(start + 0.5, marks["before_end"]),
        throughput_after=rate(marks["after_begin"], start + duration),
        late_examples=examples,
        threads_after=len({r[4] for r in records if r[1] >= marks["after_begin"]}),
        longest_after_freeze=max((r[1] - r[0] for r in records if r[0] > marks["freeze_end"]),
                                 default=0.0),
        per_second=[sum(1 for r in records if start + n <= r[1] < start + n + 1)
                    for n in range(math.ceil(duration))],
    )


# -- propagation: how long until another process sees a change ------------------------------


def propagation(worker: Any, write: Callable[[str], None], rounds: int,
                secret_of: Callable[[int], str]) -> list[float]:
    """Seconds from the start of each ``write(secret)`` (which revokes ``secret``) until
    ``worker`` (a registry_worker.Worker that had the client ``push`` cached) first refuses
    that secret. Measured from the start of the write: an upper bound."""
    delays = []
    for i in range(rounds):
        secret = secret_of(i)
        if not worker.auth("push", secret):  # cached in the worker now
            raise AssertionError(f"round {i}: the secret does not work before its revocation")
        worker.send(op="watch", client_id="push", secret=secret, expect=False, timeout=15)
        # Any moment relative to the reader's last check (its polling, its cache expiry).
        time.sleep(0.05 + random.uniform(0, 1.0))
        started = time.monotonic()
        write(secret)
        seen = worker.receive()["seen"]
        if seen is None:
            raise AssertionError(f"round {i}: the revocation was never observed")
        delays.append(max(0.0, seen - started))
    return delays


def settle(worker: Any, timeout: float = 10) -> None:
    """Give the worker's listener (started by its first lookup) time to go live; never
    fails, so that the measurement that follows decides."""
    deadline = time.monotonic() + timeout
    while not worker.ask(op="listening")["listening"] and time.monotonic() < deadline:
        time.sleep(0.05)


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": ordered[len(ordered) // 2],
            "p90": ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)],
            "max": ordered[-1]}


def push_client(registry: Any, count: int) -> list[str]:
    """(Re-)register the client ``push`` with ``count`` secrets; returns them."""
    import clientauth

    secrets = [clientauth.generate_secret() for _ in range(count)]
    registry.replace(_secret_client("push", *secrets))
    return secrets


def measure(target: str, rounds: int, **worker_options: Any) -> list[float]:
    """Propagation delays of ``rounds`` revocations written here to ``target`` (a database
    URL or a registry file) and observed by one worker process (``worker_options``: ttl,
    reload, listen -- see registry_worker.Worker; ``None`` = the library's default)."""
    from registry_worker import Worker, revoke

    from clientauth.registry_file import FileRegistry
    from clientauth.registry_sql import SQLRegistry

    writer: Any = (SQLRegistry(target, cache_ttl=0) if "://" in target
                   else FileRegistry(target, reload_interval=0))
    secrets = push_client(writer, rounds + 1)

    def write(secret: str) -> None:
        if revoke(writer, "push", secret) != 1:
            raise AssertionError("nothing revoked")

    with Worker(target, **worker_options) as worker:
        worker.auth("push", secrets[0])
        settle(worker)
        return propagation(worker, write, rounds, secrets.__getitem__)


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "worker":
    worker(sys.argv[2], sys.argv[3])
