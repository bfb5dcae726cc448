"""Issue 13 on a real server: a slow revocation host does not stall unrelated clients.

Real uvicorn, ``ClientAuthMiddleware(threaded=True)`` (asyncio's default executor: 6 threads on
a 2-core machine), eight requests of a ``tls_client_auth`` client whose CRL and OCSP host drips
bytes kept in flight, and a ``client_secret_basic`` client measured meanwhile. Shortened from
benchmarks/bench_slow_hosts.py, which prints the full figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))

from slow_hosts import fast_latency, longest_call, scenario, serve

pytestmark = pytest.mark.integration

TIMEOUT = 2.0


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx and the fetchers must reach 127.0.0.1 directly."""
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


def test_unrelated_client_unaffected_by_dripping_host() -> None:
    """The secret client's median latency with eight slow-client requests in flight against
    a dripping CRL/OCSP host stays within 2x (plus 5 ms of scheduling noise) of its median
    with a well-behaved host, and no request of it waits anywhere near a fetch deadline."""
    with scenario() as sc:
        sc.behave("good")
        with serve(sc.authenticator(TIMEOUT)) as url:
            baseline = fast_latency(url, sc, seconds=1.5)
        sc.behave("drip-body", interval=0.05)
        with serve(sc.authenticator(TIMEOUT)) as url:
            loaded = fast_latency(url, sc, seconds=1.5)
    assert loaded["p50"] <= 2 * baseline["p50"] + 5, (baseline, loaded)
    assert loaded["max"] < TIMEOUT * 1000 / 2, (baseline, loaded)


@pytest.mark.parametrize("misbehaviour", ["drip-body", "drip-headers", "stall", "redirect"])
def test_longest_authenticate_is_one_deadline(misbehaviour: str) -> None:
    """Eight simultaneous authenticate() calls for the slow client: the longest takes at most
    one deadline (plus scheduling slack), and the host sees at most two requests (one CRL,
    one OCSP) for the one certificate."""
    with scenario() as sc:
        sc.behave(misbehaviour)
        auth = sc.authenticator(TIMEOUT)
        longest = longest_call(lambda: auth.authenticate(sc.slow_request()))
        assert longest < TIMEOUT + 0.5
        assert sc.server.total <= 2
        result = auth.authenticate(sc.slow_request())
        assert result.ok
        assert "revocation_unknown" in [str(n) for n in result.notices]
