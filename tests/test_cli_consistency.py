"""Issue 16 findings 3 and 7: the CLI as one tool.

Finding 3: `client add` infers the method from the credential options given, refuses
contradictory ones, and never registers an option the method would ignore.
Finding 7: one registry option (``--registry``, alias ``--clients``, default
``$CLIENTAUTH_REGISTRY``) on every command that reads a registry; one spelling of methods
(the RFC names, short aliases kept); one expiry option (``--expires-in``, alias
``--expires-in-days``); the exit statuses docs/cli.md lists and no others; ``thumbprint`` /
``inspect`` take the leaf of a chain file and name the file in errors; one time format in
``--json`` output; ``inspect`` names EKU purposes and shows the version.

Run in-process (``cli.main``) to keep the suite fast.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

import clientauth
from certs import Pki, issue, name, self_signed
from clientauth.cli import main

ROOT = Path(__file__).resolve().parents[1]
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# A string that starts like a date: a time in the output.
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d\d-\d\d")


def call(*args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stderr(err):
            code = main(list(args), stdout=out)
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


def stored(path: Path) -> dict[str, dict[str, object]]:
    document = json.loads(path.read_text())
    return {c["client_id"]: c for c in document["clients"]}


def live_certificate(cn: str) -> str:
    now = datetime.now(UTC)
    return issue(name(cn), not_before=now - timedelta(hours=1),
                 not_after=now + timedelta(days=1)).pem


@pytest.fixture(autouse=True)
def no_registry_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No registry from the environment unless a test sets one."""
    monkeypatch.delenv("CLIENTAUTH_REGISTRY", raising=False)


@pytest.fixture
def reg(tmp_path: Path) -> Path:
    """A registry file holding one secret client, 'svc'."""
    path = tmp_path / "clients.json"
    assert call("client", "add", "svc", "--registry", str(path))[0] == 0
    return path


@pytest.fixture
def pem(tmp_path: Path) -> str:
    path = tmp_path / "device.pem"
    path.write_text(live_certificate("device"))
    return str(path)


# -- finding 3 ----------------------------------------------------------------------------


class TestAddInfersTheMethod:
    @pytest.mark.parametrize(("option", "value", "method"), [
        ("--subject-dn", "CN=mtls,O=Example", "tls_client_auth"),
        ("--san-dns", "mtls.example", "tls_client_auth"),
        ("--san-uri", "spiffe://example/mtls", "tls_client_auth"),
        ("--thumbprint", "A" * 43, "self_signed_tls_client_auth"),
        ("--jwks-uri", "https://device.example/jwks.json", "self_signed_tls_client_auth"),
    ])
    def test_name_or_pin_without_method(self, reg: Path, option: str, value: str,
                                        method: str) -> None:
        """Issue 16 finding 3: `client add ID --subject-dn DN` (or another name option)
        without --method registers tls_client_auth; a pin option registers
        self_signed_tls_client_auth; no secret is generated or printed."""
        code, out, err = call("client", "add", "x", "--registry", str(reg), option, value)
        assert code == 0, err
        entry = stored(reg)["x"]
        assert entry["token_endpoint_auth_method"] == method
        assert "client_secrets" not in entry and "client secret" not in out
        assert f"({method}, inferred from {option})" in out

    def test_cert_without_method(self, reg: Path, pem: str) -> None:
        """--cert FILE alone registers a self-signed client pinning that certificate."""
        code, out, err = call("client", "add", "dev", "--registry", str(reg), "--cert", pem,
                              "--json")
        assert code == 0, err
        assert json.loads(out)["token_endpoint_auth_method"] == "self_signed_tls_client_auth"
        assert "client_secret" not in json.loads(out)

    def test_metadata_document_fields_infer_too(self, reg: Path, tmp_path: Path) -> None:
        """A metadata document with a registered name and no method is tls_client_auth
        (the same rule as the options), not a secret client with an unused name."""
        doc = tmp_path / "doc.json"
        doc.write_text(json.dumps({"client_id": "m", "tls_client_auth_san_dns": "m.example"}))
        code, out, err = call("client", "add", "--registry", str(reg), "--metadata", str(doc))
        assert code == 0, err
        assert stored(reg)["m"]["token_endpoint_auth_method"] == "tls_client_auth"
        assert "client secret" not in out

    def test_no_credential_option_is_a_secret_client(self, reg: Path) -> None:
        """Without any credential option the RFC 7591 default holds: client_secret_basic
        with a new secret printed once."""
        code, out, _ = call("client", "add", "plain", "--registry", str(reg), "--json")
        assert code == 0
        assert json.loads(out)["token_endpoint_auth_method"] == "client_secret_basic"
        assert json.loads(out)["client_secret"]

    def test_stated_method_that_uses_the_options_still_works(self, reg: Path) -> None:
        """--method private_key_jwt --jwks-uri and --method tls_client_auth --subject-dn
        register as stated."""
        assert call("client", "add", "jwt", "--registry", str(reg), "--method",
                    "private_key_jwt", "--jwks-uri", "https://jwt.example/jwks")[0] == 0
        assert call("client", "add", "t", "--registry", str(reg), "--method",
                    "tls_client_auth", "--subject-dn", "CN=t")[0] == 0
        methods = {k: v["token_endpoint_auth_method"] for k, v in stored(reg).items()}
        assert methods["jwt"] == "private_key_jwt" and methods["t"] == "tls_client_auth"

    @pytest.mark.parametrize(("args", "words"), [
        (("--method", "client_secret_basic", "--subject-dn", "CN=x"),
         ("--subject-dn", "client_secret_basic")),
        (("--method", "client_secret_post", "--jwks-uri", "https://x.example/jwks"),
         ("--jwks-uri",)),
        (("--method", "tls_client_auth", "--subject-dn", "CN=x", "--cert", "{pem}"),
         ("--cert", "tls_client_auth")),
        (("--method", "self_signed_tls_client_auth", "--thumbprint", "A" * 43,
          "--san-dns", "x.example"), ("--san-dns",)),
        (("--subject-dn", "CN=x", "--cert", "{pem}"),
         ("--subject-dn", "--cert", "tls_client_auth", "self_signed_tls_client_auth")),
        (("--trust-anchor", "{pem}", "--method", "client_secret_basic"), ("--trust-anchor",)),
        (("--subject-dn", "CN=x", "--expires-in", "1d"), ("--expires-in",)),
        (("--cert", "{pem}", "--expires-in-days", "3"), ("--expires-in-days",)),
    ])
    def test_contradictions_refused(self, reg: Path, pem: str, args: tuple[str, ...],
                                    words: tuple[str, ...]) -> None:
        """Issue 16 finding 3: an option the method would ignore, or options implying two
        methods, exit 2 with a message naming them; nothing is written."""
        before = reg.read_bytes()
        argv = [a.replace("{pem}", pem) for a in args]
        code, out, err = call("client", "add", "x", "--registry", str(reg), *argv)
        assert code == 2, out + err
        for word in words:
            assert word in err, (word, err)
        assert reg.read_bytes() == before

    def test_expiry_with_a_given_secret_hash_refused(self, reg: Path, tmp_path: Path) -> None:
        """--expires-in with a document that already holds client_secret_hash would be
        ignored (no secret is generated): refused."""
        doc = tmp_path / "doc.json"
        doc.write_text(json.dumps({"client_id": "h", "client_secret_hash":
                                   clientauth.hash_secret(clientauth.generate_secret())}))
        before = reg.read_bytes()
        code, _, err = call("client", "add", "--registry", str(reg), "--metadata", str(doc),
                            "--expires-in", "1d")
        assert code == 2 and "--expires-in" in err
        assert reg.read_bytes() == before


# -- finding 7: one registry option -------------------------------------------------------


@pytest.fixture
def secret_registry(tmp_path: Path) -> tuple[Path, str]:
    secret = clientauth.generate_secret()
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps([{"client_id": "svc", "token_endpoint_auth_method":
                                 "client_secret_post",
                                 "client_secret_hash": clientauth.hash_secret(secret)}]))
    return path, secret


class TestRegistryOption:
    def test_check_takes_registry(self, secret_registry: tuple[Path, str]) -> None:
        """Issue 16 finding 7: `check --registry FILE` works (as on the client commands)."""
        path, secret = secret_registry
        code, out, err = call("check", "--registry", str(path), "--client-id", "svc",
                              "--secret-stdin", stdin=secret + "\n")
        assert code == 0, out + err
        assert "AUTHENTICATED as svc" in out

    def test_check_reads_environment(self, secret_registry: tuple[Path, str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
        """`check` honours $CLIENTAUTH_REGISTRY like every client command."""
        path, secret = secret_registry
        monkeypatch.setenv("CLIENTAUTH_REGISTRY", str(path))
        code, out, _ = call("check", "--client-id", "svc", "--secret-stdin",
                            stdin=secret + "\n")
        assert code == 0, out

    def test_check_against_a_database(self, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
        """`check --registry sqlite:///...` checks against the database the client commands
        manage."""
        pytest.importorskip("sqlalchemy")
        url = f"sqlite:///{tmp_path / 'c.db'}"
        assert call("client", "migrate", "--registry", url)[0] == 0
        code, out, _ = call("client", "add", "svc", "--registry", url, "--json")
        monkeypatch.setenv("SVC_SECRET", json.loads(out)["client_secret"])
        code, out, err = call("check", "--registry", url, "--client-id", "svc",
                              "--secret-env", "SVC_SECRET")
        assert code == 0, out + err

    def test_old_clients_option_everywhere(self, secret_registry: tuple[Path, str]) -> None:
        """--clients (check's old name) still works on check, and on client commands."""
        path, secret = secret_registry
        assert call("check", "--clients", str(path), "--client-id", "svc", "--secret-stdin",
                    stdin=secret + "\n")[0] == 0
        code, out, _ = call("client", "list", "--clients", str(path))
        assert code == 0 and "svc" in out

    def test_no_registry_is_a_usage_error(self) -> None:
        """Without --registry or $CLIENTAUTH_REGISTRY, check and client commands exit 2
        with the same message."""
        for args in (("check", "--client-id", "svc", "--secret-env", "X"),
                     ("client", "list")):
            code, _, err = call(*args)
            assert code == 2 and "--registry" in err and "CLIENTAUTH_REGISTRY" in err


# -- finding 7: one spelling of methods, one expiry option --------------------------------


class TestMethodNames:
    @pytest.mark.parametrize("spelling", ["client_secret_post", "post"])
    def test_check_accepts_rfc_names_and_alias(self, secret_registry: tuple[Path, str],
                                               spelling: str) -> None:
        """Issue 16 finding 7: `check --method client_secret_post` (the name `client add`
        and the registry use) works; the old short name stays an alias."""
        path, secret = secret_registry
        code, out, err = call("check", "--registry", str(path), "--client-id", "svc",
                              "--secret-stdin", "--method", spelling, stdin=secret + "\n")
        assert code == 0, out + err
        assert "via client_secret_post" in out

    def test_presenting_another_method_names_it(self,
                                                secret_registry: tuple[Path, str]) -> None:
        """--method client_secret_basic against a post client is method_not_allowed (1)."""
        path, secret = secret_registry
        code, out, _ = call("check", "--registry", str(path), "--client-id", "svc",
                            "--secret-stdin", "--method", "client_secret_basic",
                            stdin=secret + "\n")
        assert code == 1 and "method_not_allowed" in out

    def test_unknown_method_lists_the_names(self) -> None:
        """A method no command knows is a usage error (2) listing the RFC names."""
        for args in (("check", "--method", "magic"),
                     ("secret", "generate", "--method", "magic"),
                     ("client", "add", "x", "--method", "magic")):
            with redirect_stderr(io.StringIO()) as err, pytest.raises(SystemExit) as exc:
                main(list(args), stdout=io.StringIO())
            assert exc.value.code == 2
            assert "client_secret_basic" in err.getvalue()

    def test_alias_on_every_method_option(self, tmp_path: Path) -> None:
        """The short names are accepted wherever a method is (one vocabulary)."""
        path = tmp_path / "c.json"
        code, out, _ = call("client", "add", "p", "--registry", str(path), "--method", "post",
                            "--json")
        assert code == 0 and json.loads(out)["token_endpoint_auth_method"] == (
            "client_secret_post")
        code, out, _ = call("secret", "generate", "--method", "header")
        assert code == 0 and '"client_secret_header"' in out


class TestExpiryOption:
    def test_secret_generate_takes_expires_in(self) -> None:
        """Issue 16 finding 7: `secret generate --expires-in 30d`, the form the client
        commands take; --expires-in-days stays an alias."""
        for args in (("--expires-in", "30d"), ("--expires-in-days", "30")):
            code, out, _ = call("secret", "generate", *args)
            assert code == 0, args
            expires = json.loads(out[out.index("{"):])["client_secret_expires_at"]
            assert abs(expires - (datetime.now(UTC) + timedelta(days=30)).timestamp()) < 60

    def test_client_commands_take_the_alias(self, reg: Path) -> None:
        """`client add` and `rotate-secret` take --expires-in-days N too."""
        code, out, _ = call("client", "add", "e", "--registry", str(reg),
                            "--expires-in-days", "2", "--json")
        assert code == 0
        expires = json.loads(out)["client_secret_expires_at"]
        assert abs(expires - (datetime.now(UTC) + timedelta(days=2)).timestamp()) < 60
        code, out, _ = call("client", "rotate-secret", "e", "--registry", str(reg),
                            "--keep-old-for", "0", "--expires-in-days", "1", "--json")
        assert code == 0 and json.loads(out)["client_secret_expires_at"] > 0

    @pytest.mark.parametrize("args", [
        ("--expires-in", "1d", "--expires-in-days", "1"),
        ("--expires-in-days", "-3"),
        ("--expires-in-days", "9999"),
        ("--expires-in", "soon"),
    ])
    def test_bad_expiry_is_a_usage_error(self, args: tuple[str, ...]) -> None:
        """Both options at once, a negative, too long or unreadable expiry: exit 2."""
        try:
            code, _, err = call("secret", "generate", *args)
        except SystemExit as exc:  # argparse: mutually exclusive options
            code, err = int(str(exc.code)), "argparse"
        assert code == 2 and err


# -- finding 7: exit statuses -------------------------------------------------------------


def documented_statuses() -> dict[int, str]:
    """The exit-status table of docs/cli.md."""
    text = (ROOT / "docs" / "cli.md").read_text()
    rows = re.findall(r"^\| `(\d)` \| (.+?) \|$", text, re.M)
    return {int(code): meaning for code, meaning in rows}


# (status, argv, stdin): each documented status from each command that can give it.
STATUS_CASES: tuple[tuple[int, tuple[str, ...], str], ...] = (
    # 0: done / authenticated
    (0, ("check", "--registry", "{reg}", "--client-id", "svc", "--secret-stdin"),
     "{secret}"),
    (0, ("thumbprint", "{leaf}"), ""),
    (0, ("inspect", "{leaf}"), ""),
    (0, ("client", "show", "svc", "--registry", "{reg}"), ""),
    (0, ("client", "list", "--registry", "{reg}"), ""),
    (0, ("secret", "hash"), "{secret}"),
    (2, ("secret", "hash"), "short"),
    # 1: authentication refused
    (1, ("check", "--registry", "{reg}", "--client-id", "svc", "--secret-stdin"),
     "wrong"),
    (1, ("check", "--registry", "{reg}", "--cert", "{leaf}"), ""),
    # 2: usage or configuration error
    (2, ("check", "--registry", "{missing}", "--client-id", "svc", "--secret-env", "X"),
     ""),
    (2, ("check", "--registry", "{reg}", "--client-id", "svc", "--secret-env", "UNSET_X"),
     ""),
    (2, ("thumbprint", "{garbage}"), ""),
    (2, ("inspect", "{missing}"), ""),
    (2, ("client", "add", "svc", "--registry", "{reg}"), ""),  # duplicate
    (2, ("client", "add", "x", "--registry", "{reg}", "--method", "client_secret_basic",
         "--subject-dn", "CN=x"), ""),
    (2, ("client", "revoke-secret", "svc", "--registry", "{reg}", "--secret-stdin"),
     "{secret}"),  # the library never revokes the last secret
    # 3: no such client, secret or pinned certificate
    (3, ("check", "--registry", "{reg}", "--client-id", "nobody", "--secret-stdin"), "x"),
    (3, ("client", "show", "nobody", "--registry", "{reg}"), ""),
    (3, ("client", "remove", "nobody", "--registry", "{reg}"), ""),
    (3, ("client", "rotate-secret", "nobody", "--registry", "{reg}", "--keep-old-for",
         "1h"), ""),
    (3, ("client", "revoke-secret", "svc", "--registry", "{reg}", "--label", "s-none"),
     ""),
    (3, ("client", "unpin-cert", "nobody", "--registry", "{reg}", "--thumbprint",
         "A" * 43), ""),
)


class TestExitStatuses:
    def test_docs_table_matches_the_code(self) -> None:
        """docs/cli.md lists exactly the statuses the CLI defines, with their meaning."""
        from clientauth import _cli_common

        table = documented_statuses()
        assert table.keys() == {_cli_common.EXIT_OK, _cli_common.EXIT_REFUSED,
                                _cli_common.EXIT_USAGE, _cli_common.EXIT_NOT_FOUND,
                                _cli_common.EXIT_INTERNAL}
        assert "refused" in table[1] and "usage" in table[2] and "no such" in table[3]
        assert "bug" in table[4]

    @pytest.fixture
    def world(self, tmp_path: Path, pki: Pki) -> dict[str, str]:
        secret = clientauth.generate_secret()
        path = tmp_path / "clients.json"
        path.write_text(json.dumps({"clients": [
            {"client_id": "svc", "client_secret_hash": clientauth.hash_secret(secret)}]}))
        leaf = tmp_path / "leaf.pem"
        leaf.write_text(pki.leaf("svc").pem)
        (tmp_path / "garbage.pem").write_bytes(b"\x00 not a certificate")
        return {"reg": str(path), "secret": secret, "leaf": str(leaf),
                "garbage": str(tmp_path / "garbage.pem"), "missing": str(tmp_path / "nope.pem")}

    @pytest.mark.parametrize(("status", "args", "stdin"), STATUS_CASES,
                             ids=[f"{c[0]}-{' '.join(c[1][:2])}" for c in STATUS_CASES])
    def test_every_documented_status(self, world: dict[str, str], status: int,
                                     args: tuple[str, ...], stdin: str) -> None:
        """Issue 16 finding 7: each documented status, from each command that can give it;
        `client show nobody` is 3 (no such client), not 1 (authentication refused)."""
        argv = [a.format(**world) for a in args]
        code, out, err = call(*argv, stdin=stdin.format(**world) + "\n")
        assert code == status, (argv, out, err)
        assert status in documented_statuses()
        if status >= 2:
            assert err or "not registered" in out

    def test_database_down_is_a_configuration_error(self, tmp_path: Path) -> None:
        """A registry database that cannot be opened is exit 2 with the driver's reason, for
        check as for the client commands -- never a traceback exiting 1 ("refused")."""
        pytest.importorskip("sqlalchemy")
        url = f"sqlite:///{tmp_path / 'no-such-dir' / 'c.db'}"
        for args in (("check", "--client-id", "a", "--secret-env", "X"),
                     ("client", "list"), ("client", "show", "a")):
            code, _, err = call(*args, "--registry", url)
            assert code == 2, (args, err)
            assert "database error" in err and "Traceback" not in err

    def test_a_crash_is_not_a_refusal(self, monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Path) -> None:
        """An exception no command expected exits 4 (internal error, traceback printed),
        never 1, which reads as "authentication refused"."""
        import clientauth.cli

        def broken(cert: object) -> dict[str, object]:
            raise RuntimeError("a bug")

        monkeypatch.setattr(clientauth.cli, "describe_certificate", broken)
        path = tmp_path / "c.pem"
        path.write_text(self_signed("x").pem)
        code, _, err = call("inspect", str(path))
        assert code == 4 and "internal error" in err and "RuntimeError" in err

    def test_demo_with_an_unexpected_outcome_exits_1(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`demo` exits 1 when a scenario does not turn out as expected (documented)."""
        from types import SimpleNamespace

        from clientauth import _demo

        row = SimpleNamespace(scenario="s", client_id="c", method="m", outcome="o",
                              as_expected=False)
        monkeypatch.setattr(_demo, "_world",
                            lambda: SimpleNamespace(leaf=SimpleNamespace(cert=self_signed().cert)))
        monkeypatch.setattr(_demo, "run_demo", lambda world: [row])
        code, out, _ = call("demo", "--in-process-only")
        assert code == 1 and "UNEXPECTED" in out

    def test_argparse_errors_are_usage_errors(self) -> None:
        """An unknown option or command exits 2, as documented."""
        for args in (["check", "--nonsense"], ["client", "frobnicate"], ["nonsense"]):
            with redirect_stderr(io.StringIO()), pytest.raises(SystemExit) as exc:
                main(args, stdout=io.StringIO())
            assert exc.value.code == 2


# -- finding 7: certificate files ---------------------------------------------------------


class TestCertificateFiles:
    def test_chain_file_gives_the_leaf(self, tmp_path: Path, pki: Pki) -> None:
        """Issue 16 finding 7: thumbprint and inspect on a chain file (leaf first, as
        check --cert takes it) describe the leaf instead of failing."""
        leaf = pki.leaf("chained")
        chain = tmp_path / "chain.pem"
        chain.write_text(leaf.pem + pki.intermediate.pem)
        code, out, err = call("thumbprint", str(chain))
        assert code == 0, err
        assert out.strip() == clientauth.certificate_thumbprint(leaf.cert)
        code, out, err = call("inspect", "--json", str(chain))
        assert code == 0, err
        assert json.loads(out)["subject"] == "CN=chained"

    @pytest.mark.parametrize("command", ["thumbprint", "inspect"])
    @pytest.mark.parametrize("content", [b"\x00garbage", b"-----BEGIN CERTIFICATE-----\nAA==\n"
                                         b"-----END CERTIFICATE-----\n" * 2, None])
    def test_errors_name_the_file(self, tmp_path: Path, command: str,
                                  content: bytes | None) -> None:
        """Every error of thumbprint / inspect names the file: garbage, a broken bundle, a
        missing file."""
        path = tmp_path / "named-file.pem"
        if content is not None:
            path.write_bytes(content)
        code, _, err = call(command, str(path))
        assert code == 2
        assert str(path) in err, err

    def test_check_errors_name_the_file(self, secret_registry: tuple[Path, str],
                                        tmp_path: Path) -> None:
        """check --cert / --trust-anchor name the file that does not parse."""
        path, _ = secret_registry
        bad = tmp_path / "bad-anchor.pem"
        bad.write_bytes(b"\x00garbage")
        code, _, err = call("check", "--registry", str(path), "--cert", str(bad))
        assert code == 2 and str(bad) in err


class TestInspect:
    def test_eku_names_and_version(self, tmp_path: Path) -> None:
        """Issue 16 finding 7: inspect names EKU purposes (clientAuth, serverAuth; the
        dotted OID for one it does not know) and shows the certificate version."""
        unknown = x509.ObjectIdentifier("1.3.6.1.4.1.99999.1")
        cert = self_signed("eku", eku=[ExtendedKeyUsageOID.CLIENT_AUTH,
                                       ExtendedKeyUsageOID.SERVER_AUTH, unknown])
        path = tmp_path / "eku.pem"
        path.write_text(cert.pem)
        code, out, _ = call("inspect", "--json", str(path))
        info = json.loads(out)
        assert info["extended_key_usage"] == ["clientAuth", "serverAuth", "1.3.6.1.4.1.99999.1"]
        assert info["version"] == 3
        code, out, _ = call("inspect", str(path))
        assert code == 0
        assert re.search(r"^extended_key_usage\s+clientAuth, serverAuth, 1\.3\.6\.1\.4\.1\.99999"
                         r"\.1$", out, re.M)
        assert re.search(r"^version\s+3$", out, re.M)


# -- finding 7: one time format in --json output ------------------------------------------


def times_in(value: object) -> Iterator[str]:
    """Every string in a JSON document that starts like a date."""
    if isinstance(value, dict):
        for item in value.values():
            yield from times_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from times_in(item)
    elif isinstance(value, str) and LOOKS_LIKE_TIME.match(value):
        yield value


class TestJsonTimes:
    def test_every_json_time_is_iso_utc_z(self, tmp_path: Path, pem: str) -> None:
        """Issue 16 finding 7: inspect --json, client show --json (secrets, pinned
        certificates) and rotate-secret --json print every time as ISO 8601 UTC with Z;
        the RFC 7591 registration-response members stay seconds since the epoch."""
        reg = tmp_path / "c.json"
        code, out, _ = call("client", "add", "svc", "--registry", str(reg), "--expires-in",
                            "2d", "--json")
        assert isinstance(json.loads(out)["client_secret_expires_at"], int)  # RFC 7591 3.2.1
        assert isinstance(json.loads(out)["client_id_issued_at"], int)
        code, rotated, _ = call("client", "rotate-secret", "svc", "--registry", str(reg),
                                "--keep-old-for", "1h", "--json")
        assert call("client", "add", "dev", "--registry", str(reg), "--cert", pem)[0] == 0
        outputs = [json.loads(rotated)]
        for args in (("client", "show", "svc"), ("client", "show", "dev"),
                     ("client", "list")):
            code, out, err = call(*args, "--registry", str(reg), "--json")
            assert code == 0, err
            outputs.append(json.loads(out))
        code, out, _ = call("inspect", "--json", pem)
        outputs.append(json.loads(out))
        found = [t for document in outputs for t in times_in(document)]
        assert len(found) >= 7, found  # 2 rotated: old deadline; secrets; not_after; inspect
        for moment in found:
            assert ISO_Z.match(moment), moment
        assert ISO_Z.match(json.loads(rotated)["old_secrets_expire_at"])
