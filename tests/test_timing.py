"""Timing, structurally: unknown ids and wrong secrets cost the same work (no wall clock here).

The wall-clock measurement is ``benchmarks/timing_secret.py`` (interleaved samples, ratio of
medians). This file checks the *cause* of equal timing, deterministically: every failing
secret check performs the same number of keyed hashes and constant-time comparisons, and the
comparison is :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import Counter
from typing import Any

import pytest

import clientauth
import clientauth.secret
from clientauth import Authenticator, ClientRequest, Failure

SECRET = clientauth.generate_secret()


def basic(client_id: str, secret: str) -> ClientRequest:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return ClientRequest([("authorization", f"Basic {token}")])


@pytest.fixture(scope="module")
def auth() -> Authenticator:
    registry = clientauth.load_clients([
        {"client_id": "known", "client_secret_hash": clientauth.hash_secret(SECRET)},
        {"client_id": "known-post", "token_endpoint_auth_method": "client_secret_post",
         "client_secret_hash": clientauth.hash_secret(SECRET)},
    ])
    return Authenticator(registry)


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts SHA-256 computations (``hashlib.sha256`` as clientauth.secret calls it) and
    hmac.compare_digest calls."""
    counter: Counter[str] = Counter()
    real_compare = hmac.compare_digest

    class CountingHashlib:
        """hashlib, with every sha256() counted."""

        def __getattr__(self, name: str) -> object:
            return getattr(hashlib, name)

        @staticmethod
        def sha256(data: bytes = b"") -> Any:
            counter["hash"] += 1
            return hashlib.sha256(data)

    def counting_compare(a: object, b: object) -> bool:
        counter["compare_digest"] += 1
        return real_compare(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(clientauth.secret, "hashlib", CountingHashlib())
    monkeypatch.setattr(hmac, "compare_digest", counting_compare)
    return counter


def work(auth: Authenticator, request: ClientRequest, counts: Counter[str]) -> Counter[str]:
    counts.clear()
    auth.authenticate(request)
    return Counter(counts)


class TestEqualWork:
    def test_unknown_wrong_same_and_other_length_do_equal_work(
        self, auth: Authenticator, counts: Counter[str]
    ) -> None:
        """(a) unknown id, (b) wrong secret same length, (c) wrong secret other length: each
        performs exactly one keyed hash and one constant-time comparison."""
        n = len(SECRET)
        cases = {
            "unknown": basic("nobody", "x" * n),
            "wrong-same-length": basic("known", "x" * n),
            "wrong-shorter": basic("known", "x" * (n // 2)),
            "wrong-longer": basic("known", "x" * (3 * n)),
        }
        seen = {label: work(auth, req, counts) for label, req in cases.items()}
        assert all(c == Counter(hash=1, compare_digest=1) for c in seen.values()), seen

    def test_refused_shapes_still_spend_one_verification(
        self, auth: Authenticator, counts: Counter[str]
    ) -> None:
        """An over-long (>1024 chars) or non-encodable secret costs one dummy verification,
        like a wrong one -- for known and unknown ids alike."""
        for request in (basic("known", "x" * 1025), basic("nobody", "x" * 1025)):
            result_counts = work(auth, request, counts)
            assert result_counts in (Counter(), Counter(hash=1, compare_digest=1))
        assert work(auth, basic("known", "x" * 1025), counts) == work(
            auth, basic("nobody", "x" * 1025), counts
        )

    def test_failures_are_the_ones_expected(self, auth: Authenticator) -> None:
        """Sanity: the requests above fail for the intended reasons."""
        assert auth.authenticate(basic("nobody", "x" * 43)).failure is Failure.UNKNOWN_CLIENT
        assert auth.authenticate(basic("known", "x" * 43)).failure is Failure.BAD_SECRET
        assert auth.authenticate(basic("known", SECRET)).ok

    def test_success_does_the_same_work(self, auth: Authenticator, counts: Counter[str]) -> None:
        """The right secret costs what a wrong one costs (no early exit on a match)."""
        assert work(auth, basic("known", SECRET), counts) == work(
            auth, basic("known", "y" * len(SECRET)), counts
        )

    def test_every_stored_secret_is_checked(self, counts: Counter[str]) -> None:
        """With two live secrets (rotation) both are verified whichever matches, so the time
        does not tell which one did."""
        old, new = clientauth.generate_secret(), clientauth.generate_secret()
        registry = clientauth.load_clients([{
            "client_id": "rot", "client_secret_hash": [clientauth.hash_secret(old),
                                                        clientauth.hash_secret(new)],
        }])
        auth = Authenticator(registry)
        assert work(auth, basic("rot", old), counts) == work(auth, basic("rot", new), counts)
        assert work(auth, basic("rot", "z" * 43), counts) == Counter(hash=2, compare_digest=2)

    def test_wrong_method_costs_what_unknown_costs(
        self, auth: Authenticator, counts: Counter[str]
    ) -> None:
        """A known id with the wrong secret method does the same work as an unknown id."""
        post = ClientRequest(form={"client_id": "known", "client_secret": "x" * 43})
        unknown = ClientRequest(form={"client_id": "nobody", "client_secret": "x" * 43})
        assert work(auth, post, counts) == work(auth, unknown, counts)


class TestConstantTimeCompare:
    def test_sha256_scheme_compares_with_compare_digest(self, counts: Counter[str]) -> None:
        """The stored-hash comparison goes through hmac.compare_digest (patched and counted),
        on two fixed-length MACs."""
        stored = clientauth.secret.parse_secret_hash(clientauth.hash_secret(SECRET))
        counts.clear()
        assert stored.verify(SECRET.encode()) is True
        assert stored.verify(b"wrong") is False
        assert counts == Counter(hash=2, compare_digest=2)

    def test_pbkdf2_scheme_compares_with_compare_digest(self, counts: Counter[str]) -> None:
        """The legacy pbkdf2 scheme also ends in hmac.compare_digest."""
        stored = clientauth.secret.parse_secret_hash(
            "pbkdf2_sha256$1000$salt$" + base64.b64encode(b"\x00" * 32).decode()
        )
        counts.clear()
        assert stored.verify(b"anything") is False
        assert counts["compare_digest"] == 1

    def test_dummy_hash_matches_nothing(self) -> None:
        """Unknown ids are checked against a random hash no secret can match."""
        dummy = clientauth.secret.DUMMY_HASH
        assert dummy.verify(SECRET.encode()) is False
        assert dummy.verify(b"-") is False


class TestUnknownLooksLikeWrong:
    def test_same_error_code(self, auth: Authenticator) -> None:
        """Unknown id and wrong secret both answer invalid_client (RFC 6749 5.2)."""
        a = auth.authenticate(basic("nobody", "x" * 43))
        b = auth.authenticate(basic("known", "x" * 43))
        assert a.error == b.error == "invalid_client"
        assert a.method == b.method

    def test_empty_secret_for_unknown_id_keeps_the_claimed_id(self, auth: Authenticator) -> None:
        """The result names the id the request claimed, never the internal dummy."""
        result = auth.authenticate(basic("nobody", ""))
        assert result.client_id == "nobody"


class TestOneSecretCheck:
    """Issue 17 item 2: the secret check the tests exercise is the one production runs."""

    @pytest.mark.parametrize(
        "secret", ["", "a" * (clientauth.secret.MAX_SECRET_LENGTH + 1), "bad\ud800surrogate"],
        ids=["empty", "oversized", "lone-surrogate"],
    )
    def test_refused_shape_costs_one_verification(
        self, secret: str, counts: Counter[str]
    ) -> None:
        """verify_secret spends exactly the one keyed hash and comparison a wrong secret
        spends, also for a secret that cannot match."""
        stored = clientauth.secret.parse_secret_hash(clientauth.hash_secret(SECRET))
        counts.clear()
        assert clientauth.secret.verify_secret(secret, stored) is False
        assert counts == Counter(hash=1, compare_digest=1)
        counts.clear()
        assert clientauth.secret.verify_secret("w" * 43, stored) is False
        assert counts == Counter(hash=1, compare_digest=1)

    def test_authenticator_calls_verify_secret(
        self, auth: Authenticator, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Every stored secret the Authenticator checks goes through secret.verify_secret."""
        import clientauth.authenticator as module

        seen: list[str] = []
        real = clientauth.secret.verify_secret

        def spy(secret: str, stored: clientauth.secret.SecretHash) -> bool:
            seen.append(secret)
            return real(secret, stored)

        assert module._verify is real
        monkeypatch.setattr(module, "_verify", spy)
        assert auth.authenticate(basic("known", SECRET)).ok
        assert seen == [SECRET]
