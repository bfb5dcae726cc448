"""`clientauth check --assertion FILE` and the demo's assertion rows (issue 14).

What must hold: check explains which RFC 7523 rule an assertion fails for a client (exit 1,
"why: <check>: ..."), accepts a good one (exit 0), reads stdin with '-', needs --audience,
never prints a client_secret; a registry holding assertion clients can still be checked
for secrets; `clientauth demo` has private_key_jwt and client_secret_jwt rows, all as
expected.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from assertion_keys import AUDIENCE, SECRET, T0, claims, hs_client, pk_client, sign
from certs import NOW
from clientauth import generate_secret, hash_secret
from clientauth._demo import run_demo
from clientauth.cli import main

AT = NOW.isoformat()


@pytest.fixture
def registry(tmp_path: Path) -> tuple[Path, str]:
    secret = generate_secret()
    path = tmp_path / "clients.json"
    path.write_text(json.dumps([pk_client(), hs_client(),
                                {"client_id": "basic", "client_secret_hash": hash_secret(secret)}]))
    return path, secret


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdout=out)
    return code, out.getvalue()


def check(path: Path, token: str, *extra: str, tmp: Path) -> tuple[int, str]:
    file = tmp / "assertion.jwt"
    file.write_text(token + "\n")
    return run("check", "--registry", str(path), "--assertion", str(file),
               "--audience", AUDIENCE, "--at", AT, *extra)


def test_good_assertion(registry: tuple[Path, str], tmp_path: Path) -> None:
    """A valid assertion: AUTHENTICATED, exit 0, the claims shown."""
    code, out = check(registry[0], sign(claims()), tmp=tmp_path)
    assert code == 0, out
    assert "AUTHENTICATED as pk-client" in out and "alg 'ES256'" in out


@pytest.mark.parametrize(("changes", "rule"), [
    ({"aud": "https://elsewhere.example"}, "aud"),
    ({"exp": T0 - 100, "iat": T0 - 150}, "exp"),
    ({"iss": "x"}, "iss/sub"),
    ({"jti": None}, "jti"),
])
def test_failed_rule_explained(registry: tuple[Path, str], tmp_path: Path,
                               changes: dict[str, object], rule: str) -> None:
    """A refused assertion: exit 1 and the rule that failed."""
    code, out = check(registry[0], sign(claims(**changes)), tmp=tmp_path)
    assert code == 1, out
    assert f"why:       {rule}" in out


def test_client_secret_jwt_not_shown(registry: tuple[Path, str], tmp_path: Path) -> None:
    """Checking a client_secret_jwt client never prints its secret."""
    token = sign(claims("hs-client"), "HS256")
    code, out = check(registry[0], token, "--client-id", "hs-client", tmp=tmp_path)
    assert code == 0, out
    assert SECRET not in out and "not shown" in out


def test_stdin(registry: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """'-' reads the assertion from standard input."""
    token = sign(claims())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(token.encode())))
    code, out = run("check", "--registry", str(registry[0]), "--assertion", "-",
                    "--audience", AUDIENCE, "--at", AT)
    assert code == 0, out


def test_audience_required(registry: tuple[Path, str], tmp_path: Path) -> None:
    """--assertion without --audience is a usage error (exit 2)."""
    file = tmp_path / "a.jwt"
    file.write_text(sign(claims()))
    code, _ = run("check", "--registry", str(registry[0]), "--assertion", str(file))
    assert code == 2


def test_secret_check_with_assertion_clients(registry: tuple[Path, str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry holding assertion clients can still be checked for a secret."""
    path, secret = registry
    monkeypatch.setenv("CHECK_SECRET", secret)
    code, out = run("check", "--registry", str(path), "--client-id", "basic",
                    "--secret-env", "CHECK_SECRET")
    assert code == 0, out


def test_demo_rows() -> None:
    """The demo shows good, replayed, wrong-audience and expired assertions of both methods,
    each as expected."""
    rows = [r for r in run_demo() if "_jwt" in r.scenario]
    assert len(rows) == 8 and all(r.as_expected for r in rows)
    outcomes = " ".join(r.outcome for r in rows)
    assert "replayed_assertion" in outcomes and "(aud)" in outcomes and "(exp)" in outcomes


def test_client_add_client_secret_jwt(tmp_path: Path) -> None:
    """`clientauth client add --method client_secret_jwt` generates the MAC key, prints it
    once, stores it usable (an assertion MACed with it authenticates), and `client show`
    never prints it again."""
    from assertion_keys import assertion_request
    from clientauth import Authenticator, load_clients

    path = tmp_path / "reg.json"
    path.write_text("[]")
    code, out = run("client", "add", "mac", "--method", "client_secret_jwt",
                    "--registry", str(path))
    assert code == 0, out
    secret = out.strip().splitlines()[-1].strip()
    assert "stored only as a hash" not in out
    auth = Authenticator(load_clients(str(path)), audience=AUDIENCE,
                         now=lambda: NOW)
    token = sign(claims("mac"), "HS256", key=secret.encode())
    assert auth.authenticate(assertion_request(token)).ok
    code, shown = run("client", "show", "mac", "--registry", str(path))
    assert code == 0 and secret not in shown
