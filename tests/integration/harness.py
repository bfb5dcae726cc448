"""The machinery behind the real-proxy tests (imported by conftest.py and the tests):
which proxies exist and how to run them, the PKI layout on disk, process start/stop with
readiness polling and log capture.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from certs import Issued

APP_MARKER = "x-it-app"
"""Response header set by app.py, so tests can tell the app's answers from a proxy's own."""

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
EXAMPLES = ROOT / "examples" / "proxies"
VECTORS = HERE.parent / "vectors" / "forwarded"

STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
SECRET_HEADER = "X-Proxy-Secret"
ORG = "Example Corp"


@dataclasses.dataclass(frozen=True)
class ProxySpec:
    """How to run one proxy, and what it forwards."""

    name: str
    binaries: tuple[str, ...]
    template: str
    fmt: str  # the clientauth.forwarded format name
    header: str  # the leaf-certificate header the config sets
    chain_header: str | None = None
    # How it refuses a client with no or an untrusted certificate: "handshake" (TLS alert,
    # the request is never read) or "http-400" (handshake completes, the proxy answers 400).
    refusal: str = "handshake"


PROXIES: dict[str, ProxySpec] = {
    "nginx": ProxySpec("nginx", ("nginx",), "nginx/nginx.conf", "nginx", "X-SSL-Client-Cert",
                       refusal="http-400"),
    "haproxy": ProxySpec("haproxy", ("haproxy",), "haproxy/haproxy.cfg", "haproxy",
                         "X-SSL-Client-Cert", chain_header="X-SSL-Client-Chain"),
    "apache": ProxySpec("apache", ("apache2", "httpd"), "apache/httpd.conf", "apache",
                        "X-Client-Cert"),
    "caddy": ProxySpec("caddy", ("caddy",), "caddy/Caddyfile", "caddy", "X-Client-Cert"),
}

APACHE_MODULE_DIRS = ("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules",
                      "/usr/lib/httpd/modules", "/usr/libexec/apache2")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(message: str) -> None:
    """Skip -- or, in CI, fail: there a missing proxy is a broken environment."""
    if in_ci():
        pytest.fail(f"{message} (CI is set: integration tests never skip in CI)")
    pytest.skip(message)


def find_binary(spec: ProxySpec) -> str | None:
    # /usr/sbin is not on every user's PATH, and it is where Debian puts nginx/haproxy/apache2.
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin",
                              "/sbin"])
    for binary in spec.binaries:
        found = shutil.which(binary, path=search)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def render(template: Path, values: Mapping[str, str]) -> str:
    text = template.read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        start = text.index("{{")
        raise AssertionError(f"{template}: unfilled placeholder {text[start:start + 40]!r}")
    return text


# -- PKI ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Identity:
    """A client certificate on disk: ``pem`` holds the leaf and its intermediate."""

    issued: Issued
    cert_path: str
    key_path: str

    @property
    def der(self) -> bytes:
        return self.issued.der


@dataclasses.dataclass(frozen=True)
class ItPki:
    directory: Path
    root: Issued
    intermediate: Issued
    server_ca_path: str
    client_ca_path: str
    intermediates_path: str
    client1: Identity
    client2: Identity
    stranger: Identity  # same subject DN as client-1, issued by a CA nobody trusts


def write_identity(directory: Path, stem: str, leaf: Issued, *chain: Issued) -> Identity:
    cert_path, key_path = leaf.write(directory, stem)
    with open(cert_path, "a") as fh:
        for extra in chain:
            fh.write(extra.pem)
    return Identity(leaf, cert_path, key_path)


# -- processes ------------------------------------------------------------------------------


@dataclasses.dataclass
class Process:
    """A started program, its log files, and the port it must open."""

    label: str
    proc: subprocess.Popen[bytes]
    port: int
    logs: list[Path]

    def log_text(self) -> str:
        parts = []
        for path in self.logs:
            with contextlib.suppress(OSError):
                parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.label} exited with status {self.proc.returncode} during startup\n"
                    + self.log_text()
                )
            if port_open(self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise AssertionError(
            f"{self.label} did not open 127.0.0.1:{self.port} within {STARTUP_TIMEOUT}s\n"
            + self.log_text()
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)


def start(label: str, argv: list[str], *, port: int, run_dir: Path,
          env: Mapping[str, str] | None = None, extra_logs: tuple[Path, ...] = ()) -> Process:
    stdout, stderr = run_dir / f"{label}.stdout", run_dir / f"{label}.stderr"
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=run_dir, env=dict(env) if env is not None else None)
    process = Process(label, proc, port, [stdout, stderr, *extra_logs])
    try:
        process.wait_ready()
    except BaseException:
        process.stop()
        raise
    return process


# -- the app ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class App:
    port: int
    secret: str
    process: Process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclasses.dataclass(frozen=True)
class RunningProxy:
    spec: ProxySpec
    port: int
    version: str
    process: Process

    @property
    def url(self) -> str:
        # By name, so that the client sends SNI: Caddy refuses (421) a Host that differs from
        # the SNI once client authentication is on, and an IP address sends no SNI.
        return f"https://localhost:{self.port}"


def proxy_version(binary: str, spec: ProxySpec) -> str:
    flag = {"nginx": ["-v"], "haproxy": ["-v"], "apache": ["-v"], "caddy": ["version"]}
    out = subprocess.run([binary, *flag[spec.name]], capture_output=True, text=True,
                         timeout=10, check=False)
    lines = (out.stdout + out.stderr).strip().splitlines()
    text = lines[0] if lines else "unknown"
    for prefix in ("nginx version: ", "Server version: "):
        text = text.removeprefix(prefix)
    if spec.name == "caddy":
        text = f"Caddy {text}"
    return text.split(" - ")[0]


def proxy_command(spec: ProxySpec, binary: str, conf: Path, run_dir: Path) -> tuple[list[str],
                                                                             dict[str, str]]:
    env = dict(os.environ)
    if spec.name == "nginx":
        return [binary, "-p", str(run_dir), "-c", str(conf), "-e",
                str(run_dir / "error.log")], env
    if spec.name == "haproxy":
        return [binary, "-db", "-f", str(conf)], env
    if spec.name == "apache":
        return [binary, "-f", str(conf), "-DFOREGROUND"], env
    # Caddy keeps state under $HOME / XDG dirs: point them into the run directory.
    env.update(HOME=str(run_dir), XDG_DATA_HOME=str(run_dir / "data"),
               XDG_CONFIG_HOME=str(run_dir / "config"))
    return [binary, "run", "--adapter", "caddyfile", "--config", str(conf)], env




@contextlib.contextmanager
def uvicorn_thread(config: Any, *, timeout: float = 15.0) -> Iterator[None]:
    """Run ``uvicorn.Server(config)`` in a daemon thread of this process until the block ends;
    fails if it does not start within ``timeout`` or does not stop afterwards."""
    import uvicorn

    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{config.port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError(f"uvicorn did not start on {config.host}:{config.port}")
            time.sleep(0.02)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout)
        assert not thread.is_alive(), "uvicorn did not stop"
