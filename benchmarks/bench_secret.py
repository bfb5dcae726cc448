"""Secret verification cost: the full Authenticator path vs the bare hash compare.

    python benchmarks/bench_secret.py

Goal (issue 2): <= 5 us per call for the full path (Basic header -> AuthResult) on a 2-core
CI-class machine. argon2id and bcrypt are reported beside it to show why generated secrets
use the fast scheme. Figures are medians of batches; the machine is noisy, compare ratios.
"""

from __future__ import annotations

import base64
import hmac
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import fmt, per_call

import clientauth
from clientauth.secret import parse_secret_hash


def main() -> None:
    secret = clientauth.generate_secret()
    stored = clientauth.hash_secret(secret)
    registry = clientauth.load_clients([{"client_id": "bench", "client_secret_hash": stored}])
    auth = clientauth.Authenticator(registry)
    token = base64.b64encode(f"bench:{secret}".encode()).decode()
    request = clientauth.ClientRequest([("authorization", f"Basic {token}")])
    wrong = clientauth.ClientRequest(
        [("authorization", "Basic " + base64.b64encode(f"bench:{secret[::-1]}".encode()).decode())]
    )
    unknown = clientauth.ClientRequest(
        [("authorization", "Basic " + base64.b64encode(f"nobody:{secret}".encode()).decode())]
    )
    parsed = parse_secret_hash(stored)
    raw = secret.encode()
    digest_a, digest_b = b"a" * 32, b"a" * 32
    assert auth.authenticate(request).ok

    rows = [
        (
            "bare compare_digest (32 bytes)",
            per_call(lambda: hmac.compare_digest(digest_a, digest_b), batch=20000),
        ),
        (
            "hash verify (salted SHA-256 + compare)",
            per_call(lambda: parsed.verify(raw), batch=20000),
        ),
        (
            "Authenticator.authenticate, Basic, right",
            per_call(lambda: auth.authenticate(request), batch=5000),
        ),
        (
            "Authenticator.authenticate, Basic, wrong",
            per_call(lambda: auth.authenticate(wrong), batch=5000),
        ),
        (
            "Authenticator.authenticate, unknown id",
            per_call(lambda: auth.authenticate(unknown), batch=5000),
        ),
        (
            "ClientRequest + authenticate (adapter cost)",
            per_call(
                lambda: auth.authenticate(
                    clientauth.ClientRequest([("authorization", f"Basic {token}")])
                ),
                batch=5000,
            ),
        ),
    ]
    for scheme in ("argon2id", "bcrypt"):
        try:
            slow = parse_secret_hash(clientauth.hash_secret(secret, scheme=scheme))
        except clientauth.ConfigurationError as exc:
            rows.append((f"{scheme} verify (not installed: {exc})", float("nan")))
            continue
        rows.append(
            (
                f"{scheme} verify (default parameters)",
                per_call(lambda s=slow: s.verify(raw), batch=1, rounds=7),
            )
        )  # type: ignore[misc]

    full = rows[2][1]
    print(f"{'measurement':<46}{'median/call':>13}{'x full path':>13}")
    for label, seconds in rows:
        print(f"{label:<46}{fmt(seconds):>13}{seconds / full:>12.2f}x")
    print(f"\nfull path goal <= 5 us: {'met' if full <= 5e-6 else 'NOT met'} ({fmt(full).strip()})")


if __name__ == "__main__":
    main()
