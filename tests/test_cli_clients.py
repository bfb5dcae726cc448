"""`clientauth client ...` as an operator runs it: a subprocess changes the registry (a JSON
file or a SQLite database), and an API running in *another* process observes the change.

Error cases run in-process (``cli.main``) to keep the suite fast; they check the exit status
and that the registry is byte-for-byte unchanged after a refused command.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

import clientauth
from certs import issue, name
from clientauth import _cli_common
from clientauth.cli import main

sys.path.insert(0, str(Path(__file__).parent / "integration"))
from registry_worker import Worker

SLACK = 3.0  # seconds: the workers reload every 0.2 s (file) or cache for 1 s (SQLite)


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clientauth", "client", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def call(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with redirect_stderr(err):
            code = main(["client", *args], stdout=out)
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


CLI_NOW = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.fixture
def cli_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The in-process commands read CLI_NOW instead of the wall clock."""
    monkeypatch.setattr(_cli_common, "clock", lambda: CLI_NOW)
    return CLI_NOW


def wait_until(check: Callable[[], object], timeout: float = SLACK) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"not observed within {timeout} s")


def basic(client_id: str, secret: str) -> clientauth.ClientRequest:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return clientauth.ClientRequest([("authorization", f"Basic {token}")])


@pytest.fixture(params=["file", "sqlite"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A registry target as an operator passes it to --registry."""
    if request.param == "file":
        return str(tmp_path / "clients.json")
    url = f"sqlite:///{tmp_path / 'clients.db'}"
    assert call("migrate", "--registry", url)[0] == 0
    return url


@pytest.fixture
def api(registry: str) -> Iterator[Worker]:
    """The API: another process authenticating against the same registry."""
    if not registry.startswith("sqlite"):
        # A file registry must exist before an API can start on it.
        assert call("add", "bootstrap", "--registry", registry)[0] == 0
    with Worker(registry, ttl=1.0, reload=0.2) as worker:
        yield worker


def certificate(cn: str) -> str:
    now = datetime.now(UTC)
    return issue(name(cn), not_before=now - timedelta(hours=1),
                 not_after=now + timedelta(days=1)).pem


class TestSecretLifecycle:
    def test_add_rotate_revoke_observed_from_another_process(
        self, registry: str, api: Worker
    ) -> None:
        """add prints a secret that works in the API; rotate keeps both live; revoking the
        old one is refused by the API shortly after; the new one keeps working."""
        proc = run("add", "svc", "--registry", registry, "--json")
        assert proc.returncode == 0, proc.stderr
        old = json.loads(proc.stdout)["client_secret"]
        wait_until(lambda: api.auth("svc", old))

        proc = run("rotate-secret", "svc", "--registry", registry, "--keep-old-for", "1h")
        assert proc.returncode == 0, proc.stderr
        new = proc.stdout.split("stored only as a hash):\n", 1)[1].split()[0]
        assert proc.stdout.count(new) == 1
        wait_until(lambda: api.auth("svc", new))
        assert api.auth("svc", old)

        proc = run("revoke-secret", "svc", "--registry", registry, "--secret-stdin",
                   stdin=old + "\n")
        assert proc.returncode == 0, proc.stderr
        wait_until(lambda: not api.auth("svc", old))
        assert api.auth("svc", new)

    def test_remove_and_add_again_observed_from_another_process(
        self, registry: str, api: Worker
    ) -> None:
        """Issue 12 finding 1: `client remove` then `client add` of the same id (the
        documented way to re-register) -- the API in another process accepts the new secret
        and refuses the old one shortly after, and keeps doing so (a SQL row restarts at
        version 1; the cached old client must not be reused)."""
        proc = run("add", "billing", "--registry", registry, "--json")
        assert proc.returncode == 0, proc.stderr
        old = json.loads(proc.stdout)["client_secret"]
        wait_until(lambda: api.auth("billing", old))
        assert run("remove", "billing", "--registry", registry).returncode == 0
        proc = run("add", "billing", "--registry", registry, "--json")
        assert proc.returncode == 0, proc.stderr
        new = json.loads(proc.stdout)["client_secret"]
        wait_until(lambda: api.auth("billing", new) and not api.auth("billing", old))
        time.sleep(1.2)  # past the worker's cache TTL once more
        assert api.auth("billing", new) and not api.auth("billing", old)

    def test_rotate_with_zero_keep_revokes_old_at_once(self, registry: str) -> None:
        """--keep-old-for 0 leaves only the new secret."""
        code, out, _ = call("add", "svc", "--registry", registry, "--json")
        old = json.loads(out)["client_secret"]
        code, out, _ = call("rotate-secret", "svc", "--registry", registry,
                            "--keep-old-for", "0", "--json")
        assert code == 0
        new = json.loads(out)["client_secret"]
        store = open_store(registry)
        auth = clientauth.Authenticator(store)
        assert auth.authenticate(basic("svc", new)).ok
        assert auth.authenticate(basic("svc", old)).failure == "bad_secret"

    def test_revoke_by_label_and_all_but_newest(self, registry: str) -> None:
        """Labels listed by `show` select a secret; --all-but-newest keeps the latest."""
        call("add", "svc", "--registry", registry)
        for _ in range(2):
            assert call("rotate-secret", "svc", "--registry", registry,
                        "--keep-old-for", "1d")[0] == 0
        _, out, _ = call("show", "svc", "--registry", registry, "--json")
        labels = [s["label"] for s in json.loads(out)["secrets"]]
        assert len(labels) == 3
        assert call("revoke-secret", "svc", "--registry", registry, "--label", labels[1])[0] == 0
        _, out, _ = call("show", "svc", "--registry", registry, "--json")
        assert [s["label"] for s in json.loads(out)["secrets"]] == [labels[0], labels[2]]
        assert call("revoke-secret", "svc", "--registry", registry, "--all-but-newest")[0] == 0
        _, out, _ = call("show", "svc", "--registry", registry, "--json")
        assert [s["label"] for s in json.loads(out)["secrets"]] == [labels[2]]

    def test_expiring_secret(self, registry: str, cli_clock: datetime) -> None:
        """add --expires-in sets the secret's expiry (RFC 7591 client_secret_expires_at) to
        the commands' clock plus the duration, to the second."""
        code, out, _ = call("add", "svc", "--registry", registry, "--expires-in", "2d",
                            "--json")
        assert code == 0
        expires = json.loads(out)["client_secret_expires_at"]
        assert expires == int(cli_clock.timestamp()) + 2 * 86400


class TestCertificateLifecycle:
    def test_pin_unpin_observed_from_another_process(
        self, registry: str, api: Worker, tmp_path: Path
    ) -> None:
        """A self-signed client added with --cert is identified by the API; after
        pin-cert of a second certificate and unpin-cert of the first, only the second works."""
        first, second = certificate("dev-a"), certificate("dev-b")
        (tmp_path / "a.pem").write_text(first)
        (tmp_path / "b.pem").write_text(second)
        proc = run("add", "device", "--registry", registry, "--method",
                   "self_signed_tls_client_auth", "--cert", str(tmp_path / "a.pem"))
        assert proc.returncode == 0, proc.stderr
        wait_until(lambda: api.ask(op="cert", pem=first)["client_id"] == "device")
        assert not api.ask(op="cert", pem=second, client_id="device")["ok"]

        proc = run("pin-cert", "device", "--registry", registry, "--cert", str(tmp_path / "b.pem"))
        assert proc.returncode == 0, proc.stderr
        wait_until(lambda: api.ask(op="cert", pem=second, client_id="device")["ok"])
        proc = run("unpin-cert", "device", "--registry", registry, "--cert",
                   str(tmp_path / "a.pem"))
        assert proc.returncode == 0, proc.stderr
        wait_until(lambda: not api.ask(op="cert", pem=first, client_id="device")["ok"])
        assert api.ask(op="cert", pem=second)["client_id"] == "device"

    def test_tls_client_auth_by_subject_dn(self, registry: str) -> None:
        """add --subject-dn registers a tls_client_auth client, listed with its name."""
        code, out, _ = call("add", "mtls", "--registry", registry, "--method", "tls_client_auth",
                            "--subject-dn", "CN=mtls,O=Example")
        assert code == 0 and "client secret" not in out
        code, out, _ = call("list", "--registry", registry)
        assert "mtls  tls_client_auth  tls_client_auth_subject_dn = CN=mtls,O=Example" in out

    def test_pin_refused_for_pki_client(self, registry: str, tmp_path: Path) -> None:
        """pin-cert on a tls_client_auth client is a usage error and changes nothing."""
        call("add", "mtls", "--registry", registry, "--method", "tls_client_auth",
             "--san-dns", "mtls.example")
        (tmp_path / "a.pem").write_text(certificate("x"))
        before = snapshot(registry)
        code, _, err = call("pin-cert", "mtls", "--registry", registry, "--cert",
                            str(tmp_path / "a.pem"))
        assert code == 2 and "self_signed_tls_client_auth" in err
        assert snapshot(registry) == before

    def test_unpinning_the_last_certificate_is_refused(self, registry: str, tmp_path: Path) -> None:
        """A self-signed client keeps at least one pin: unpinning the last one is refused."""
        (tmp_path / "a.pem").write_text(certificate("x"))
        call("add", "dev", "--registry", registry, "--method", "self_signed_tls_client_auth",
             "--cert", str(tmp_path / "a.pem"))
        before = snapshot(registry)
        code, _, err = call("unpin-cert", "dev", "--registry", registry, "--cert",
                            str(tmp_path / "a.pem"))
        assert code == 2 and "pin the new one first" in err
        assert snapshot(registry) == before


class TestMetadataDocument:
    def test_add_from_rfc7591_document(self, registry: str, tmp_path: Path) -> None:
        """add --metadata keeps the document's other fields and generates the secret."""
        doc = {"client_id": "doc", "client_name": "Billing", "token_endpoint_auth_method":
               "client_secret_post", "redirect_uris": ["https://billing.example/cb"]}
        (tmp_path / "doc.json").write_text(json.dumps(doc))
        code, out, _ = call("add", "--registry", registry, "--metadata",
                            str(tmp_path / "doc.json"), "--json")
        assert code == 0
        secret = json.loads(out)["client_secret"]
        client = open_store(registry).get("doc")
        assert client is not None
        assert client.to_metadata()["client_name"] == "Billing"
        result = clientauth.Authenticator(open_store(registry)).authenticate(
            clientauth.ClientRequest(form={"client_id": "doc", "client_secret": secret}))
        assert result.ok

    def test_document_from_stdin_and_generated_client_id(self, registry: str) -> None:
        """--metadata - reads stdin; without a client_id one is issued (RFC 7591 3.2.1)."""
        code, out, _ = call("add", "--registry", registry, "--metadata", "-", "--json",
                            stdin=json.dumps({"client_name": "x"}))
        assert code == 0
        client_id = json.loads(out)["client_id"]
        assert len(client_id) >= 16 and open_store(registry).get(client_id) is not None


class TestNeverShowsSecrets:
    def test_show_and_list_print_no_secret_or_hash(self, registry: str) -> None:
        """show (text and JSON) and list print neither a secret nor any hash."""
        code, out, _ = call("add", "svc", "--registry", registry, "--json")
        secret = json.loads(out)["client_secret"]
        call("rotate-secret", "svc", "--registry", registry, "--keep-old-for", "1h")
        hashes = [e["hash"] for e in open_store(registry).get("svc").to_metadata()  # type: ignore[union-attr]
                  ["client_secrets"]]
        printed = ""
        for args in (("show", "svc"), ("show", "svc", "--json"), ("list",), ("list", "--json")):
            code, out, err = call(*args, "--registry", registry)
            assert code == 0
            printed += out + err
        assert secret not in printed
        for h in hashes:
            assert h not in printed
            assert h.split("$")[-1] not in printed
        assert "$sha256$" not in printed
        assert "2 live" in printed or '"status": "live"' in printed


class TestErrors:
    def test_unknown_client_exits_3(self, registry: str) -> None:
        """show/rotate/revoke/pin/remove of an unknown client exit 3 and name it."""
        call("add", "svc", "--registry", registry)
        for args in (("show", "nope"), ("rotate-secret", "nope", "--keep-old-for", "1h"),
                     ("revoke-secret", "nope", "--expired"), ("remove", "nope"),
                     ("unpin-cert", "nope", "--thumbprint", "A" * 43)):
            code, _, err = call(*args, "--registry", registry)
            assert code == 3, args
            assert "'nope'" in err

    @pytest.mark.parametrize("args", [
        ("add", "svc"),  # duplicate
        ("add", "x", "--method", "tls_client_auth"),  # no registered name
        ("add", "x", "--expires-in", "soon"),
        ("add", "x", "--method", "tls_client_auth", "--subject-dn", "CN=a", "--expires-in", "1d"),
        ("rotate-secret", "svc", "--keep-old-for", "forever"),
        ("revoke-secret", "svc", "--all-but-newest"),  # it has one secret
        ("add", "y", "--thumbprint", "not-a-thumbprint", "--method",
         "self_signed_tls_client_auth"),
    ])
    def test_bad_input_exits_2_and_changes_nothing(self, registry: str,
                                                   args: tuple[str, ...]) -> None:
        """Refused commands exit 2 with a message and leave the registry as it was."""
        call("add", "svc", "--registry", registry)
        before = snapshot(registry)
        code, _, err = call(*args, "--registry", registry)
        assert code in (2, 3) and err, args
        assert code == 2 or args[0] == "revoke-secret"  # 3: no matching secret
        assert snapshot(registry) == before

    def test_clear_text_secret_in_document_refused(self, registry: str, tmp_path: Path) -> None:
        """A metadata document holding client_secret is refused before anything is written."""
        call("add", "svc", "--registry", registry)
        before = snapshot(registry)
        (tmp_path / "doc.json").write_text(json.dumps({"client_id": "x", "client_secret": "s"}))
        code, _, err = call("add", "--registry", registry, "--metadata",
                            str(tmp_path / "doc.json"))
        assert code == 2 and "clear-text" in err
        assert snapshot(registry) == before

    def test_invalid_registry_file_is_not_overwritten(self, tmp_path: Path) -> None:
        """A registry file that does not validate is never rewritten by a command."""
        path = tmp_path / "clients.json"
        path.write_text('[{"client_id": "x"')
        code, _, err = call("add", "y", "--registry", str(path))
        assert code == 2 and "not valid JSON" in err
        assert path.read_text() == '[{"client_id": "x"'

    def test_missing_registry_option(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without --registry or $CLIENTAUTH_REGISTRY the command is a usage error."""
        monkeypatch.delenv("CLIENTAUTH_REGISTRY", raising=False)
        code, _, err = call("list")
        assert code == 2 and "--registry" in err

    def test_registry_from_environment(self, registry: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
        """$CLIENTAUTH_REGISTRY names the registry (keeps a database password out of argv)."""
        monkeypatch.setenv("CLIENTAUTH_REGISTRY", registry)
        assert call("add", "svc")[0] == 0
        code, out, _ = call("list")
        assert code == 0 and "svc" in out


def write_registry(path: Path, *entries: dict[str, object]) -> None:
    """A registry file as an operator or another tool may have written it."""
    path.write_text(json.dumps({"clients": list(entries)}))
    clientauth.load_clients(path)  # the library accepts it


def secret_entry(**extra: object) -> dict[str, object]:
    return {"hash": clientauth.hash_secret(clientauth.generate_secret()), **extra}


class TestRobustness:
    def test_show_with_date_string_created_at(self, tmp_path: Path) -> None:
        """Issue 12 finding 7: `created_at` written as an ISO date string (or anything
        else the library accepts) is shown, not a traceback."""
        path = tmp_path / "clients.json"
        write_registry(path, {"client_id": "svc", "client_secrets": [
            secret_entry(created_at="2026-01-01", label="a"),
            secret_entry(created_at="2026-02-01T10:00:00Z", label="b"),
            secret_entry(created_at="last tuesday", label="c"),
            secret_entry(created_at=[1], label="d")]})
        for extra in ((), ("--json",)):
            code, out, err = call("show", "svc", "--registry", str(path), *extra)
            assert code == 0, err
            assert "2026-01-01T00:00:00Z" in out and "2026-02-01T10:00:00Z" in out
            assert "last tuesday" in out

    def test_revoke_all_but_newest_with_date_strings(self, tmp_path: Path) -> None:
        """--all-but-newest orders ISO 8601 strings and epoch numbers alike (the newest is
        not the last entry here); a created_at that is no time is refused with exit 2,
        nothing written."""
        path = tmp_path / "clients.json"
        write_registry(path, {"client_id": "svc", "client_secrets": [
            secret_entry(created_at="2026-03-01T00:00:00+00:00", label="newest"),
            secret_entry(created_at=1767225600, label="jan"),
            secret_entry(created_at="2026-02-01", label="feb")]})
        code, _, err = call("revoke-secret", "svc", "--registry", str(path),
                            "--all-but-newest")
        assert code == 0, err
        kept = json.loads(path.read_text())["clients"][0]["client_secrets"]
        assert [e["label"] for e in kept] == ["newest"]
        write_registry(path, {"client_id": "svc", "client_secrets": [
            secret_entry(created_at="2026-03-01", label="x"),
            secret_entry(created_at="soon", label="y")]})
        before = path.read_bytes()
        code, _, err = call("revoke-secret", "svc", "--registry", str(path), "--all-but-newest")
        assert code == 2 and "created_at" in err and "Traceback" not in err
        assert path.read_bytes() == before

    @pytest.mark.parametrize("url", [
        "postgresql+psycopg://admin:hunter2@db-host:notaport/app",
        "postgresql+psycopg://admin:hunter2@[::1/app",
    ])
    def test_bad_registry_url_exits_2(self, url: str) -> None:
        """A registry URL with a bad port (or host) exits 2 with a clear message, never a
        traceback, and never echoes the password."""
        for args in (("list",), ("show", "svc"), ("add", "svc"), ("migrate",),
                     ("remove", "svc")):
            code, out, err = call(*args, "--registry", url)
            assert code == 2, args
            assert "not a valid database URL" in err
            assert "hunter2" not in out + err


HOSTILE = "Evil\x1b]0;owned\x07\x1b[2J\rCorp\x9b31m\u202egnp.exe\x7f"


class TestTerminalEscapes:
    def test_free_text_fields_escaped_on_every_output(
        self, registry: str, tmp_path: Path
    ) -> None:
        """Issue 12 finding 8: an RFC 7591 document whose free-text fields carry ESC, BEL,
        CR, C1 CSI, DEL and a bidi override is registered as given; `show` (text and JSON),
        `list` and the other commands print none of those characters raw. JSON output stays
        valid JSON and round-trips the stored value."""
        doc = tmp_path / "doc.json"
        doc.write_text(json.dumps({
            "client_id": "svc", "client_name": HOSTILE, "client_uri": "https://x/" + HOSTILE,
            "contacts": [HOSTILE], "software_id": {"nested": HOSTILE}}))
        printed = ""
        code, out, err = call("add", "--registry", registry, "--metadata", str(doc))
        assert code == 0, err
        printed += out + err
        for args in (("show", "svc"), ("show", "svc", "--json"), ("list",),
                     ("list", "--json")):
            code, out, err = call(*args, "--registry", registry)
            assert code == 0, err
            printed += out + err
            if args == ("show", "svc", "--json"):
                shown = json.loads(out)
                assert shown["client_name"] == HOSTILE
                assert shown["software_id"] == {"nested": HOSTILE}
        for char in "\x1b\x07\r\x9b\u202e\x7f":
            assert char not in printed, repr(char)
        assert "\\u001b]0;owned\\u0007" in printed

    def test_escaping_function(self) -> None:
        """The one escaping function: printable text (accents, CJK) unchanged; controls,
        bidi overrides and non-printable code points beyond the BMP become JSON \\u
        escapes (a surrogate pair beyond the BMP)."""
        from clientauth._terminal import terminal_lines, terminal_safe

        assert terminal_safe("Société 東京 x") == "Société 東京 x"
        assert terminal_safe("a\x1bb\u202e") == "a\\u001bb\\u202e"
        assert terminal_safe("\U000f0000") == "\\udb80\\udc00"
        assert json.loads(f'"{terminal_safe(HOSTILE)}"') == HOSTILE
        assert terminal_lines("a\n\rb") == "a\n\\u000db"

    def test_labels_and_errors_escaped(self, tmp_path: Path) -> None:
        """A secret label carrying control characters is escaped in `revoke-secret` and
        `show` output."""
        path = tmp_path / "clients.json"
        write_registry(path, {"client_id": "svc", "client_secrets": [
            secret_entry(label=HOSTILE), secret_entry(label="keep")]})
        code, out, err = call("show", "svc", "--registry", str(path))
        assert code == 0 and "\x1b" not in out + err
        code, out, err = call("revoke-secret", "svc", "--registry", str(path),
                              "--label", HOSTILE)
        assert code == 0, err
        assert "revoked 1 secret" in out and "\x1b" not in out + err


class TestFileOwnershipAndLinks:
    @pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
    def test_sudo_write_keeps_owner_and_group(self, tmp_path: Path) -> None:
        """Issue 12 finding 2: root (sudo) rotating a secret in an app-owned 0600 file
        leaves it owned by the app, mode 0600."""
        path = tmp_path / "clients.json"
        assert call("add", "svc", "--registry", str(path))[0] == 0
        os.chown(path, 65534, 65534)
        os.chmod(path, 0o600)
        code, _, err = call("rotate-secret", "svc", "--registry", str(path),
                            "--keep-old-for", "1h")
        assert code == 0, err
        st = os.stat(path)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (65534, 65534, 0o600)

    def test_symlinked_registry_stays_a_link(self, tmp_path: Path) -> None:
        """Issue 12 finding 3: a command through a symbolic link changes the target file;
        the link stays a link."""
        real = tmp_path / "real.json"
        assert call("add", "svc", "--registry", str(real))[0] == 0
        link = tmp_path / "clients.json"
        link.symlink_to(real)
        assert call("add", "other", "--registry", str(link))[0] == 0
        assert link.is_symlink()
        assert {c["client_id"] for c in json.loads(real.read_text())["clients"]} == {
            "svc", "other"}


class TestConcurrentWriters:
    def test_parallel_cli_writers_lose_nothing(self, registry: str) -> None:
        """Parallel `client add` and `rotate-secret` processes: every client and every
        rotated secret is in the registry afterwards."""
        call("add", "shared", "--registry", registry)
        procs = [subprocess.Popen(
            [sys.executable, "-m", "clientauth", "client", *args, "--registry", registry],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for args in [("add", "c1"), ("add", "c2"), ("add", "c3"),
                         *[("rotate-secret", "shared", "--keep-old-for", "1h", "--json")] * 3]]
        secrets = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            if out.startswith("{"):
                secrets.append(json.loads(out)["client_secret"])
        store = open_store(registry)
        assert {c.client_id for c in store} >= {"shared", "c1", "c2", "c3"}
        auth = clientauth.Authenticator(store)
        assert len(secrets) == 3
        for secret in secrets:
            assert auth.authenticate(basic("shared", secret)).ok


def open_store(registry: str) -> clientauth.ClientRegistry:
    from clientauth.registry_file import FileRegistry
    from clientauth.registry_sql import SQLRegistry

    if registry.startswith("sqlite"):
        return SQLRegistry(registry, cache_ttl=0)
    return FileRegistry(registry)


def snapshot(registry: str) -> object:
    """The registry's full stored state, to compare before/after a refused command."""
    if registry.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(registry.removeprefix("sqlite:///")) as conn:
            return (conn.execute("SELECT * FROM clientauth_clients ORDER BY client_id").fetchall(),
                    conn.execute("SELECT * FROM clientauth_client_names ORDER BY 1, 2").fetchall())
    return Path(registry).read_bytes()


def stored(registry: str, client_id: str) -> clientauth.Client:
    """The client as the registry holds it, read with the library."""
    if registry.startswith("sqlite"):
        from clientauth.registry_sql import SQLRegistry

        found = SQLRegistry(registry, cache_ttl=0).get(client_id)
    else:
        from clientauth.registry_file import FileRegistry

        found = FileRegistry(registry, reload_interval=0).get(client_id)
    assert found is not None
    return found


def as_cert(text: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(text.encode())


class TestLibraryParity:
    """Issue 12 finding 9: the CLI is a shell over the library's lifecycle operations; the
    same operation through either gives the same client (Client compares by content)."""

    def test_pin_unpin_revoke_same_as_library(self, registry: str, tmp_path: Path) -> None:
        """pin-cert (with and without --replace), unpin-cert and revoke-secret leave
        exactly the client the Client methods compute."""
        first, second, third = certificate("p-a"), certificate("p-b"), certificate("p-c")
        for n, pem in (("a", first), ("b", second), ("c", third)):
            (tmp_path / f"{n}.pem").write_text(pem)
        call("add", "dev", "--registry", registry, "--method", "self_signed_tls_client_auth",
             "--cert", str(tmp_path / "a.pem"))
        Change = Callable[[clientauth.Client], clientauth.Client]
        steps: list[tuple[list[str], Change]] = [
            (["pin-cert", "--cert", str(tmp_path / "b.pem")],
             lambda c: c.pin_certificate(as_cert(second))),
            (["unpin-cert", "--cert", str(tmp_path / "a.pem")],
             lambda c: c.unpin_certificate(as_cert(first))),
            (["pin-cert", "--replace", "--cert", str(tmp_path / "c.pem")],
             lambda c: c.pin_certificate(as_cert(third), replace=True)),
        ]
        for argv, operation in steps:
            expected = operation(stored(registry, "dev"))
            code, _, err = call(argv[0], "dev", "--registry", registry, *argv[1:])
            assert code == 0, err
            assert stored(registry, "dev") == expected

        assert call("add", "svc", "--registry", registry)[0] == 0
        code, _, _ = call("rotate-secret", "svc", "--registry", registry, "--keep-old-for", "1h")
        assert code == 0
        before = stored(registry, "svc")
        label = before.secret_labels()[0]
        expected = before.revoke_secrets(label=label)
        assert call("revoke-secret", "svc", "--registry", registry, "--label", label)[0] == 0
        assert stored(registry, "svc") == expected

    def test_rotate_same_rules_as_library(self, registry: str, cli_clock: datetime) -> None:
        """rotate-secret keeps the old secret until now + --keep-old-for, appends the new
        one last, and stores exactly what Client.rotate_secret gives for that secret."""
        call("add", "svc", "--registry", registry)
        before = stored(registry, "svc")
        code, out, _ = call("rotate-secret", "svc", "--registry", registry,
                            "--keep-old-for", "2h", "--json")
        assert code == 0
        after = stored(registry, "svc")
        new = after.secrets[-1]
        assert new.label == json.loads(out)["label"]
        issued = datetime.fromtimestamp(int(new.created_at), UTC)  # type: ignore[call-overload]
        assert issued == cli_clock
        assert after == before.rotate_secret(new, keep_old_for=timedelta(hours=2), now=issued)
