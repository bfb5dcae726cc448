"""The step-by-step recipes of docs/ run as written (see tests/docsteps.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from docsteps import ROOT, Walk, names

MTLS = ROOT / "docs" / "mtls.md"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_recipe_is_accepted(tmp_path: Path) -> None:
    """docs/mtls.md's openssl commands make a root, an issuing CA and a client certificate
    that `openssl verify` and clientauth's chain check both accept (the page's Python step
    authenticates the client with them)."""
    assert "openssl-recipe" in names(MTLS)
    with Walk(tmp_path) as walk:
        outputs = [out for _, out in walk.run_all(MTLS, "openssl-recipe")]
    assert "client.pem: OK" in outputs[0]
    for produced in ("root.pem", "issuing.pem", "client.pem", "client-chain.pem"):
        assert (tmp_path / produced).stat().st_size > 0


def test_every_marked_step_has_a_test() -> None:
    """Each page with marked steps is walked by a test (a new recipe cannot go untested)."""
    walked = {"mtls.md": ["openssl-recipe"], "first-hour.md": ["secrets", "mtls", "binding"]}
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert names(page) == sorted(walked.get(page.name, [])), page.name
