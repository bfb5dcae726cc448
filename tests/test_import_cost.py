"""What ``import clientauth`` costs: heavy optional dependencies load only when used.

pyhanko-certvalidator and asn1crypto serve revocation checking, SQLAlchemy and psycopg the SQL
registry and replay store, requests nothing of ours at all; an application that configures none
of these must not pay for importing them (issue 17 item 4). Each check runs in a fresh
interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pyhanko_certvalidator", "asn1crypto", "oscrypto", "requests", "sqlalchemy", "psycopg")


def _loaded_after(code: str) -> set[str]:
    """The top-level packages among HEAVY that a fresh interpreter holds after ``code``."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=120
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_plain_import_loads_no_heavy_dependency() -> None:
    """A plain ``import clientauth`` loads neither pyhanko-certvalidator, asn1crypto, requests
    nor SQLAlchemy/psycopg."""
    assert _loaded_after("import clientauth") == set()


def test_authenticator_without_revocation_loads_no_revocation_stack() -> None:
    """An Authenticator with the default verifiers and no revocation checker, and the
    adapters, do not pull the revocation stack in either."""
    code = (
        "import clientauth, clientauth.asgi, clientauth.wsgi\n"
        "clientauth.Authenticator(clientauth.MemoryRegistry([]))\n"
        "clientauth.RevocationChecker('off')\n"
    )
    assert _loaded_after(code) == set()


def test_revocation_loads_its_stack_when_used() -> None:
    """The lazy imports are real: a revocation check loads pyhanko-certvalidator and still
    answers (a path whose certificates declare no revocation information is good)."""
    code = (
        "from datetime import UTC, datetime\n"
        "from clientauth.revocation import RevocationChecker\n"
        "from clientauth.testing import CertificateAuthority\n"
        "now = datetime(2030, 1, 1, tzinfo=UTC)\n"
        "ca = CertificateAuthority(now=now)\n"
        "path = [*ca.chain_for(ca.issue('alice')), ca.root.cert]\n"
        "status = RevocationChecker('hard-fail', fetch=False).check(path, now)\n"
        "assert status.good, status\n"
    )
    assert "pyhanko_certvalidator" in _loaded_after(code)
