"""The issue-18 benchmarks still run, end to end, on a tiny budget (their figures come from the
full runs: benchmarks/bench_peers.py, benchmarks/bench_server_cpu.py).

What must hold: each script exits 0 and prints every comparison it promises -- so a change to
the library or to a peer (Authlib, Starlette, uvicorn, cryptography) that breaks a comparison
is seen here, not on the day someone measures. No figure is asserted: timings on a shared
machine are noise at this budget.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run(script: str, *args: str, timeout: float = 240) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def test_bench_peers_prints_every_comparison() -> None:
    out = run("bench_peers.py", "--rounds", "1", "--scale", "0.05")
    for line in (
        "=> right secret",  # client_secret_basic vs Authlib
        "tls_client_auth, leaf never seen before",  # cold vs ClientVerifier.verify
        "the reads alone put the floor at",  # ... and vs what any accept must read
        "self_signed_tls_client_auth, DER",
        "parse_forwarded vs bare decode + load",
        "ClientAuthMiddleware / Starlette",  # in-process middleware
    ):
        assert line in out, out


def test_bench_server_cpu_measures_each_server() -> None:
    """Real uvicorn servers pinned with taskset, each reporting its own CPU clock."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("bench_server_cpu.py pins the server and the generator to CPUs 0 and 1")
    out = run("bench_server_cpu.py", "--requests", "2000", "--rounds", "1")
    for mode in ("bare", "clientauth", "starlette", "forwarded"):
        assert f"\n{mode}" in out, out
    assert "clientauth / starlette, CPU above the bare app:" in out, out
