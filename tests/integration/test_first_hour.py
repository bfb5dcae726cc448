"""docs/first-hour.md, followed step by step against real uvicorn and nginx (issue 16).

Each marked step of the page runs exactly as written (tests/docsteps.py), in a scratch
directory, with the page's ports (8000 for the app, 8443 for nginx) replaced by free ones.
What must hold: every step exits 0, and the outputs the page shows in comments appear.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from harness import PROXIES, ROOT, find_binary, free_port, unavailable

from docsteps import Walk

pytestmark = pytest.mark.integration

PAGE = ROOT / "docs" / "first-hour.md"


def environment() -> dict[str, str]:
    nginx = find_binary(PROXIES["nginx"])
    if nginx is None:
        unavailable("nginx is not installed")
    assert nginx is not None
    path = [str(Path(sys.executable).parent), str(Path(nginx).parent),
            os.environ.get("PATH", "")]
    return {
        "PATH": os.pathsep.join(path),
        "EXAMPLES": str(ROOT / "examples"),
        # A PYTHONPATH the caller set comes first (to run the page against another tree).
        "PYTHONPATH": os.pathsep.join([*filter(None, [os.environ.get("PYTHONPATH")]),
                                       str(ROOT / "src")]),
    }


def test_secrets_with_fastapi(tmp_path: Path) -> None:
    """Path 1: register a client, serve app.py, the right secret gets in, a wrong one 401."""
    with Walk(tmp_path, ports={8000: free_port()}, env=environment()) as walk:
        outputs = [out for _, out in walk.run_all(PAGE, "secrets")]
    right, wrong = outputs[-1].splitlines()
    assert right == '{"client_id":"reports","method":"client_secret_basic"}'
    assert '"error": "invalid_client"' in wrong and wrong.endswith(" 401")


def test_mtls_behind_nginx_and_bound_token(tmp_path: Path) -> None:
    """Paths 2 and 3: openssl certificates, nginx.conf from examples/, uvicorn with the
    documented flags; clients on 127.0.0.1 and 127.0.0.2 get a bound token, a forged header
    straight to the app is refused, the token works only with its own certificate."""
    ports = {8000: free_port(), 8443: free_port()}
    with Walk(tmp_path, ports=ports, env=environment()) as walk:
        mtls = [out for _, out in walk.run_all(PAGE, "mtls")]
        binding = [out for _, out in walk.run_all(PAGE, "binding")]
    assert mtls[-1].split() == ['"token_type":"Bearer"', '"token_type":"Bearer"', "401"], mtls
    assert binding[-1].splitlines() == ['{"sub":"payments","balance":"42.00"}', "401"], binding
