"""Secrets: generation, storable hashes, verification (fast and legacy schemes)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

import clientauth
from clientauth.secret import (
    DUMMY_HASH,
    MAX_SECRET_LENGTH,
    parse_secret_hash,
    verify_secret,
)


class TestGenerate:
    def test_at_least_256_bits_url_safe(self) -> None:
        """A generated secret carries >= 256 bits and only url-safe characters."""
        secret = clientauth.generate_secret()
        assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) >= 32
        assert re.fullmatch(r"[A-Za-z0-9_-]+", secret)

    def test_unique(self) -> None:
        """Two generated secrets differ."""
        assert len({clientauth.generate_secret() for _ in range(100)}) == 100

    @pytest.mark.parametrize("nbytes", [0, 16, 31, -1])
    def test_refuses_weak(self, nbytes: int) -> None:
        """Fewer than 32 random bytes is refused with our ValueError subclass."""
        with pytest.raises(clientauth.ConfigurationError):
            clientauth.generate_secret(nbytes)


class TestFastHash:
    def test_roundtrip(self) -> None:
        """The hash of a secret verifies that secret and nothing else."""
        secret = clientauth.generate_secret()
        stored = parse_secret_hash(clientauth.hash_secret(secret))
        assert verify_secret(secret, stored)
        assert not verify_secret(secret + "x", stored)
        assert not verify_secret(secret[:-1], stored)

    def test_salted(self) -> None:
        """Hashing the same secret twice gives different stored values."""
        secret = clientauth.generate_secret()
        assert clientauth.hash_secret(secret) != clientauth.hash_secret(secret)

    def test_hash_does_not_contain_secret(self) -> None:
        """The stored form never contains the secret or its plain SHA-256."""
        secret = clientauth.generate_secret()
        stored = clientauth.hash_secret(secret)
        assert secret not in stored
        assert hashlib.sha256(secret.encode()).hexdigest() not in stored

    def test_refuses_short_secret_for_fast_scheme(self) -> None:
        """A short (possibly human-chosen) secret is refused for the fast scheme."""
        with pytest.raises(clientauth.ConfigurationError, match="argon2id"):
            clientauth.hash_secret("hunter2")

    def test_repr_hides_hash(self) -> None:
        """repr of a parsed hash shows only its scheme."""
        stored = clientauth.hash_secret(clientauth.generate_secret())
        parsed = parse_secret_hash(stored)
        assert repr(parsed) == "<secret hash sha256>"
        assert stored.split("$")[-1] not in repr(parsed)

    def test_dummy_matches_nothing(self) -> None:
        """The dummy hash used for unknown clients never verifies."""
        assert not verify_secret(clientauth.generate_secret(), DUMMY_HASH)

    def test_oversized_and_empty_never_match(self) -> None:
        """Empty and oversized secrets are simply not a match."""
        stored = parse_secret_hash(clientauth.hash_secret(clientauth.generate_secret()))
        assert not verify_secret("", stored)
        assert not verify_secret("a" * (MAX_SECRET_LENGTH + 1), stored)


class TestLegacySchemes:
    @pytest.mark.parametrize("scheme", ["argon2id", "bcrypt", "pbkdf2_sha256"])
    def test_roundtrip(self, scheme: str) -> None:
        """Imported human-chosen secrets verify under each slow scheme."""
        stored = parse_secret_hash(clientauth.hash_secret("correct horse", scheme=scheme))
        assert stored.scheme == scheme
        assert verify_secret("correct horse", stored)
        assert not verify_secret("correct horsf", stored)

    def test_passlib_pbkdf2(self) -> None:
        """passlib's $pbkdf2-sha256$ (adapted base64) form verifies."""
        salt = b"0123456789abcdef"
        digest = hashlib.pbkdf2_hmac("sha256", b"s3cret-value", salt, 29000)

        def ab64(b: bytes) -> str:
            return base64.b64encode(b).decode().rstrip("=").replace("+", ".")

        stored = parse_secret_hash(f"$pbkdf2-sha256$29000${ab64(salt)}${ab64(digest)}")
        assert verify_secret("s3cret-value", stored)
        assert not verify_secret("s3cret-valuf", stored)

    def test_bcrypt_long_secret_is_no_match(self) -> None:
        """bcrypt ignores bytes past 72; a longer secret is refused rather than truncated."""
        stored = parse_secret_hash(clientauth.hash_secret("x" * 60, scheme="bcrypt"))
        assert not verify_secret("x" * 100, stored)

    @pytest.mark.parametrize(
        "stored",
        [
            "plaintext-secret",
            "$md5$abc$def",
            "$sha256$",
            "$sha256$!!$!!",
            "$sha256$YWJj$YWJj",
            "$2b$12$short",
            "$argon2id$garbage",
            "pbkdf2_sha256$1$salt$AAAA",
            "pbkdf2_sha256$notanumber$salt$AAAA",
            "",
            "é" * 10,
        ],
    )
    def test_malformed_hash_refused(self, stored: str) -> None:
        """Malformed or unknown stored hashes raise ConfigurationError without echoing them."""
        with pytest.raises(clientauth.ConfigurationError) as info:
            parse_secret_hash(stored)
        if len(stored) > 8:
            assert stored not in str(info.value)
