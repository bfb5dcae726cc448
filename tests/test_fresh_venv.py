"""Each documented extra set, installed into a fresh virtualenv, runs its examples (issue 16.8).

The test environment has every optional package installed, so an example that imports one it
does not declare (Starlette's TestClient and its HTTP client, httpx) passes there and breaks
for a user. Here each extra set of docs/frameworks.md gets its own ``python3 -m venv`` with
``pip install -e '<repo>[extras]'`` and nothing else, then each example runs with the
documented command: the self-check (``python examples/NAME.py``) and, for the servers,
``--serve`` with one real request to the printed endpoint.

Needs pip to reach its package index (a local mirror or PyPI; pip's cache makes reruns fast).
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT = 600
SERVE_TIMEOUT = 30.0

# extra set -> the examples it must run, and for --serve the port it listens on (None: none).
EXTRA_SETS: dict[str, dict[str, int | None]] = {
    "": {"client_secrets.py": None},
    "fastapi,uvicorn": {"fastapi_app.py": 8000},
    "flask": {"flask_app.py": 5000},
    "django": {"django_app.py": 8000},
    "uvicorn": {"direct_mtls_uvicorn.py": 8443},
}


def test_every_example_is_covered() -> None:
    """A new example cannot be left out of the fresh-venv runs."""
    covered = {name for examples in EXTRA_SETS.values() for name in examples}
    assert covered == {p.name for p in (ROOT / "examples").glob("*.py")}


def test_documented_extras_are_the_tested_ones() -> None:
    """docs/frameworks.md shows (quoted) exactly the extra sets tested here."""
    text = (ROOT / "docs" / "frameworks.md").read_text()
    shown = set(re.findall(r"pip install 'clientauth\[([a-z,]+)\]'", text))
    assert shown == {extras for extras in EXTRA_SETS if extras}
    assert "pip install clientauth[" not in text  # unquoted: zsh globs the brackets


@pytest.fixture(scope="module", params=list(EXTRA_SETS), ids=lambda e: e or "core")
def venv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         ) -> tuple[str, Path]:
    extras = request.param
    directory = tmp_path_factory.mktemp(f"venv-{extras or 'core'}".replace(",", "-"))
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True, timeout=120)
    python = directory / "bin" / "python"
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", target],
                          capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return extras, python


def test_examples_run_in_fresh_venv(venv: tuple[str, Path], tmp_path: Path) -> None:
    """Each example of the extra set runs its self-check, and serves with --serve."""
    extras, python = venv
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONUNBUFFERED"] = "1"  # the secret line must reach us before the server runs
    for example, port in EXTRA_SETS[extras].items():
        path = ROOT / "examples" / example
        proc = subprocess.run([str(python), str(path)], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path, env=env)
        assert proc.returncode == 0, f"{example}: {proc.stdout}{proc.stderr}"
        if port is not None:
            serve(python, path, port, env, tmp_path)


def serve(python: Path, path: Path, port: int, env: dict[str, str], cwd: Path) -> None:
    if _port_open(port):
        pytest.fail(f"port {port} (documented for {path.name} --serve) is already in use")
    log = cwd / f"{path.stem}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(python), str(path), "--serve"], stdout=out,
                                stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + SERVE_TIMEOUT
        while not _port_open(port):
            assert proc.poll() is None, f"{path.name} --serve exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"{path.name} --serve:\n{log.read_text()}"
            time.sleep(0.1)
        secret = re.search(r"secret: (\S+)", log.read_text())
        if secret is None:  # direct mTLS: the port answering TLS is the documented outcome
            assert "curl" in log.read_text(), log.read_text()
            return
        basic = base64.b64encode(f"reports:{secret.group(1)}".encode()).decode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/token", data=b"",
                                         headers={"Authorization": f"Basic {basic}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read())["client_id"] == "reports"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0
