"""The clientauth command line, run as a user runs it (a subprocess) and in-process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import clientauth
from certs import Pki, self_signed
from clientauth.cli import main


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clientauth", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def call(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), stdout=out), out.getvalue()


class TestSecretGenerate:
    def test_prints_secret_once_and_working_entry(self, tmp_path: Path) -> None:
        """`secret generate` prints a secret and a metadata entry whose hash verifies it."""
        proc = run("secret", "generate", "--client-id", "svc", "--method", "client_secret_post")
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        secret = lines[1].strip()
        entry = json.loads(proc.stdout[proc.stdout.index("{"):])
        assert entry["client_id"] == "svc"
        assert proc.stdout.count(secret) == 1
        path = tmp_path / "clients.json"
        path.write_text(json.dumps([entry]))
        registry = clientauth.load_clients(path)
        result = clientauth.Authenticator(registry).authenticate(
            clientauth.ClientRequest(form={"client_id": "svc", "client_secret": secret}))
        assert result.ok

    def test_expiry(self) -> None:
        """--expires-in-days sets client_secret_expires_at."""
        code, out = call("secret", "generate", "--expires-in-days", "30")
        assert code == 0
        assert json.loads(out[out.index("{"):])["client_secret_expires_at"] > 0


class TestCheck:
    @pytest.fixture
    def clients(self, tmp_path: Path) -> tuple[Path, str]:
        secret = clientauth.generate_secret()
        path = tmp_path / "clients.json"
        path.write_text(json.dumps([
            {"client_id": "svc", "client_secret_hash": clientauth.hash_secret(secret)},
            {"client_id": "mtls", "token_endpoint_auth_method": "tls_client_auth",
             "tls_client_auth_subject_dn": "CN=mtls-client"},
        ]))
        return path, secret

    def test_right_secret_from_stdin(self, clients: tuple[Path, str]) -> None:
        """check with the right secret on stdin says AUTHENTICATED and exits 0."""
        path, secret = clients
        proc = run("check", "--clients", str(path), "--client-id", "svc", "--secret-stdin",
                   stdin=secret + "\n")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "AUTHENTICATED as svc" in proc.stdout
        assert secret not in proc.stdout + proc.stderr

    def test_wrong_secret_explained(self, clients: tuple[Path, str]) -> None:
        """check with a wrong secret explains the reason and exits 1, never echoing it."""
        path, _ = clients
        proc = run("check", "--clients", str(path), "--client-id", "svc", "--secret-stdin",
                   stdin="not-the-secret\n")
        assert proc.returncode == 1
        assert "bad_secret" in proc.stdout and "not-the-secret" not in proc.stdout

    def test_secret_from_env_and_other_method(
        self, clients: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--secret-env reads the secret; presenting it another way shows method_not_allowed."""
        path, secret = clients
        monkeypatch.setenv("SVC_SECRET", secret)
        code, out = call("check", "--clients", str(path), "--client-id", "svc",
                         "--secret-env", "SVC_SECRET", "--method", "post")
        assert code == 1 and "method_not_allowed" in out

    def test_unknown_client(self, clients: tuple[Path, str]) -> None:
        """check names an unregistered client and exits 3 (no such client), not 1."""
        code, out = call("check", "--clients", str(clients[0]), "--client-id", "nope",
                         "--secret-env", "X")
        assert code == 3 and "not registered" in out

    def test_certificate_name_mismatch_side_by_side(
        self, clients: tuple[Path, str], pki: Pki, tmp_path: Path
    ) -> None:
        """check --cert shows the registered and presented names when they differ."""
        leaf = pki.leaf("someone-else")
        cert = tmp_path / "leaf.pem"
        cert.write_text(leaf.pem)
        anchor = tmp_path / "root.pem"
        anchor.write_text(pki.root.pem)
        inter = tmp_path / "inter.pem"
        inter.write_text(pki.intermediate.pem)
        code, out = call("check", "--clients", str(clients[0]), "--client-id", "mtls",
                         "--cert", str(cert), "--chain", str(inter), "--trust-anchor", str(anchor),
                         "--at", "2026-06-01T12:00:00+00:00")
        assert code == 1, out
        assert "name_mismatch" in out
        assert "CN=mtls-client" in out and "someone-else" in out

    def test_bad_registry_is_usage_error(self, tmp_path: Path) -> None:
        """An invalid registry file exits 2 with the validation message."""
        path = tmp_path / "c.json"
        path.write_text('[{"client_id": "x", "token_endpoint_auth_method": "magic"}]')
        proc = run("check", "--clients", str(path), "--client-id", "x", "--secret-env", "X")
        assert proc.returncode == 2 and "magic" in proc.stderr


class TestCertificateCommands:
    def test_thumbprint_pem_and_der(self, tmp_path: Path) -> None:
        """thumbprint prints x5t#S256 for PEM and DER files alike."""
        cert = self_signed("t")
        (tmp_path / "c.pem").write_text(cert.pem)
        (tmp_path / "c.der").write_bytes(cert.der)
        expected = clientauth.certificate_thumbprint(cert.cert)
        for name in ("c.pem", "c.der"):
            code, out = call("thumbprint", str(tmp_path / name))
            assert (code, out.strip()) == (0, expected)

    def test_inspect(self, tmp_path: Path, pki: Pki) -> None:
        """inspect shows subject, issuer, SANs, validity, thumbprint and self-signed-ness."""
        leaf = pki.leaf("svc", san_dns=["svc.example"], san_email=["ops@example.com"])
        (tmp_path / "c.pem").write_text(leaf.pem)
        code, out = call("inspect", str(tmp_path / "c.pem"))
        assert code == 0
        assert "CN=svc" in out and "svc.example" in out and "ops@example.com" in out
        assert clientauth.certificate_thumbprint(leaf.cert) in out
        code, out = call("inspect", "--json", str(tmp_path / "c.pem"))
        info = json.loads(out)
        assert info["self_signed"] is False and info["san"]["dns"] == ["svc.example"]
        (tmp_path / "s.pem").write_text(self_signed("me").pem)
        assert json.loads(call("inspect", "--json", str(tmp_path / "s.pem"))[1])["self_signed"]

    def test_garbage_file(self, tmp_path: Path) -> None:
        """A file that is not a certificate exits 2 with a clear message."""
        (tmp_path / "g").write_bytes(b"\x00garbage")
        proc = run("thumbprint", str(tmp_path / "g"))
        assert proc.returncode == 2 and "certificate" in proc.stderr


class TestDemo:
    def test_demo_runs_every_scenario_as_expected(self) -> None:
        """`python -m clientauth demo` prints the table and every row is as expected."""
        proc = run("demo")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "UNEXPECTED" not in proc.stdout
        for word in ("Basic", "mTLS PKI", "self-signed", "nginx", "bound token",
                     "End to end", "413", "forwarded:nginx", 'Bearer realm="clientauth"'):
            assert word in proc.stdout
        assert " 0 unexpected" in proc.stdout

    def test_in_process_only(self) -> None:
        """--in-process-only skips the local HTTP server."""
        code, out = call("demo", "--in-process-only")
        assert code == 0
        assert "End to end" not in out

    def test_no_command_prints_help(self) -> None:
        """Without a command the CLI prints help and exits 2."""
        code, out = call()
        assert code == 2 and "demo" in out
