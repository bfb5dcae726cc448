"""Client secrets: generate, hash for storage, verify in constant time.

Generated secrets carry 256 bits of entropy, so a fast salted hash is safe for them: nobody
can guess a 256-bit value, however cheap each guess is (docs/design.md, "Decisions and their
measurements": SHA-256 costs ~1 us per check, argon2id 137 ms -- 7 requests/s/core). Slow
hashes are accepted for *imported* legacy secrets, which may be human-chosen, when their
optional hasher is installed:

=====================  ==================================================  ===============
scheme                 stored form                                         needs
=====================  ==================================================  ===============
``sha256`` (default)   ``$sha256$<salt>$<sha256(salt+secret)>`` (b64url)  --
``argon2id``           ``$argon2id$v=19$m=...`` (PHC string)               ``argon2-cffi``
``bcrypt``             ``$2b$12$...`` (also ``$2a$``, ``$2y$``)            ``bcrypt``
``pbkdf2_sha256``      Django ``pbkdf2_sha256$<iter>$<salt>$<b64>`` or     --
                       passlib ``$pbkdf2-sha256$<iter>$<ab64>$<ab64>``
=====================  ==================================================  ===============
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _stdlib_secrets
from typing import Any, Protocol

from .exceptions import ConfigurationError

__all__ = [
    "MAX_SECRET_LENGTH",
    "MIN_GENERATED_SECRET_BYTES",
    "MIN_SECRET_LENGTH_FOR_FAST_HASH",
    "SecretHash",
    "generate_secret",
    "hash_secret",
    "parse_secret_hash",
]

MIN_GENERATED_SECRET_BYTES = 32
"""Entropy of :func:`generate_secret`: 32 random bytes = 256 bits."""

MIN_SECRET_LENGTH_FOR_FAST_HASH = 32
""":func:`hash_secret` refuses shorter secrets for the fast scheme: they may be human-chosen."""

MAX_SECRET_LENGTH = 1024
"""Longest secret accepted, in characters (hashing and requests)."""

_SALT_BYTES = 16
_PBKDF2_MIN_ITERATIONS = 1000


def generate_secret(nbytes: int = MIN_GENERATED_SECRET_BYTES) -> str:
    """A new client secret: ``nbytes`` random bytes (at least 32) as url-safe base64.

    The result uses only ``A-Z a-z 0-9 - _``, so it survives Basic, form and header
    encodings unchanged.
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int):
        raise ConfigurationError("nbytes must be an integer")
    if nbytes < MIN_GENERATED_SECRET_BYTES:
        raise ConfigurationError(
            f"a client secret needs at least {MIN_GENERATED_SECRET_BYTES} random bytes"
        )
    return _stdlib_secrets.token_urlsafe(nbytes)


def hash_secret(secret: str, *, scheme: str = "sha256") -> str:
    """The storable hash of ``secret`` -- what ``client_secret_hash`` holds.

    The default ``sha256`` scheme is for generated, high-entropy secrets and refuses secrets
    shorter than 32 characters. Use ``scheme="argon2id"`` (or ``"bcrypt"``) for
    human-chosen secrets you must keep accepting.
    """
    raw = _secret_bytes(secret)
    if scheme == "sha256":
        if len(secret) < MIN_SECRET_LENGTH_FOR_FAST_HASH:
            raise ConfigurationError(
                f"secrets shorter than {MIN_SECRET_LENGTH_FOR_FAST_HASH} characters may be "
                'guessable: use generate_secret(), or hash_secret(..., scheme="argon2id")'
            )
        salt = _stdlib_secrets.token_bytes(_SALT_BYTES)
        return f"$sha256${_b64e(salt)}${_b64e(_salted_sha256(salt, raw))}"
    if scheme == "argon2id":
        return str(_argon2().PasswordHasher().hash(raw))
    if scheme == "bcrypt":
        bcrypt = _bcrypt()
        if len(raw) > 72:
            raise ConfigurationError("bcrypt only uses the first 72 bytes; use argon2id")
        return str(bcrypt.hashpw(raw, bcrypt.gensalt()).decode("ascii"))
    if scheme == "pbkdf2_sha256":
        salt_text = _stdlib_secrets.token_urlsafe(12)
        iterations = 600_000
        digest = hashlib.pbkdf2_hmac("sha256", raw, salt_text.encode(), iterations)
        return f"pbkdf2_sha256${iterations}${salt_text}${base64.b64encode(digest).decode()}"
    raise ConfigurationError(
        f"unknown scheme {scheme!r}; expected sha256, argon2id, bcrypt or pbkdf2_sha256"
    )


class SecretHash(Protocol):
    """A parsed stored hash. ``verify`` is constant-time in the presented secret's content."""

    @property
    def scheme(self) -> str: ...

    def verify(self, secret: bytes) -> bool: ...


def parse_secret_hash(stored: str) -> SecretHash:
    """Parse a stored hash once (at registry load) so each verify does no parsing.

    Raises :class:`~clientauth.ConfigurationError` for an unknown or malformed hash, or one
    whose optional hasher is not installed. The message never contains the hash.
    """
    if not isinstance(stored, str) or not stored.isascii() or len(stored) > 1024:
        raise ConfigurationError("not a recognised secret hash")
    if stored.startswith("$sha256$"):
        return _Sha256Hash.parse(stored)
    if stored.startswith(("$argon2id$", "$argon2i$")):
        return _Argon2Hash(stored, _argon2())
    if stored.startswith(("$2a$", "$2b$", "$2y$")):
        return _BcryptHash(stored, _bcrypt())
    if stored.startswith(("pbkdf2_sha256$", "$pbkdf2-sha256$")):
        return _Pbkdf2Hash.parse(stored)
    if stored.startswith("$"):
        # Never quote any of it: a secret pasted here by mistake must not reach the logs.
        raise ConfigurationError(
            "unsupported secret hash scheme (expected $sha256$, $argon2id$, $2b$ or pbkdf2)"
        )
    raise ConfigurationError(
        "not a recognised secret hash (a clear-text secret? store hash_secret(secret))"
    )


def verify_secret(secret: str, stored: SecretHash) -> bool:
    """Whether ``secret`` matches ``stored`` -- the check :class:`~clientauth.Authenticator`
    makes for every presented secret.

    Always exactly one hash verification: a secret that cannot match (not a str, empty,
    longer than :data:`MAX_SECRET_LENGTH`, or not encodable -- lone surrogates from a lenient
    form parser) is verified against :data:`DUMMY_HASH` instead and is False, so that a refused
    shape costs what a wrong secret costs (``tests/test_timing.py`` counts the work)."""
    try:
        raw = secret.encode("utf-8") if isinstance(secret, str) else b""
    except UnicodeEncodeError:
        raw = b""
    if not raw or len(secret) > MAX_SECRET_LENGTH:
        DUMMY_HASH.verify(b"-")
        return False
    return stored.verify(raw)


# -- schemes ------------------------------------------------------------------------------


class _Sha256Hash:
    __slots__ = ("_digest", "_salt")
    scheme = "sha256"

    def __init__(self, salt: bytes, digest: bytes) -> None:
        self._salt = salt
        self._digest = digest

    @classmethod
    def parse(cls, stored: str) -> _Sha256Hash:
        parts = stored.split("$")
        if len(parts) != 4:
            raise ConfigurationError("malformed sha256 secret hash")
        try:
            salt, digest = _b64d(parts[2]), _b64d(parts[3])
        except (binascii.Error, ValueError):
            raise ConfigurationError("malformed sha256 secret hash") from None
        if len(salt) < 8 or len(digest) != 32:
            raise ConfigurationError("malformed sha256 secret hash")
        return cls(salt, digest)

    def verify(self, secret: bytes) -> bool:
        # compare_digest of two fixed-length digests: time does not depend on the secret.
        # The salted SHA-256 of _salted_sha256, inlined: this runs for every presented secret
        # (issue 18); tests/test_timing.py counts the hashlib.sha256 calls.
        return hmac.compare_digest(hashlib.sha256(self._salt + secret).digest(), self._digest)

    def __repr__(self) -> str:
        return "<secret hash sha256>"


class _Pbkdf2Hash:
    __slots__ = ("_digest", "_iterations", "_salt")
    scheme = "pbkdf2_sha256"

    def __init__(self, iterations: int, salt: bytes, digest: bytes) -> None:
        self._iterations = iterations
        self._salt = salt
        self._digest = digest

    @classmethod
    def parse(cls, stored: str) -> _Pbkdf2Hash:
        try:
            if stored.startswith("pbkdf2_sha256$"):  # Django
                _, it, salt_text, b64 = stored.split("$")
                salt, digest = salt_text.encode(), base64.b64decode(b64, validate=True)
            else:  # passlib: adapted base64 ('.' for '+', no padding)
                _, _, it, salt_ab64, hash_ab64 = stored.split("$")
                salt, digest = _ab64d(salt_ab64), _ab64d(hash_ab64)
            iterations = int(it)
        except (ValueError, binascii.Error):
            raise ConfigurationError("malformed pbkdf2_sha256 secret hash") from None
        if iterations < _PBKDF2_MIN_ITERATIONS or iterations > 10_000_000 or len(digest) < 16:
            raise ConfigurationError("malformed pbkdf2_sha256 secret hash")
        return cls(iterations, salt, digest)

    def verify(self, secret: bytes) -> bool:
        candidate = hashlib.pbkdf2_hmac(
            "sha256", secret, self._salt, self._iterations, dklen=len(self._digest)
        )
        return hmac.compare_digest(candidate, self._digest)

    def __repr__(self) -> str:
        return "<secret hash pbkdf2_sha256>"


class _Argon2Hash:
    __slots__ = ("_hasher", "_module", "_stored")
    scheme = "argon2id"

    def __init__(self, stored: str, module: Any) -> None:
        try:
            module.extract_parameters(stored)
        except Exception:  # argon2-cffi raises its own InvalidHashError / ValueError
            raise ConfigurationError("malformed argon2 secret hash") from None
        self._stored = stored
        self._module = module
        self._hasher = module.PasswordHasher()

    def verify(self, secret: bytes) -> bool:
        try:
            return bool(self._hasher.verify(self._stored, secret))
        except self._module.exceptions.VerificationError:
            return False
        except self._module.exceptions.InvalidHashError:
            return False

    def __repr__(self) -> str:
        return "<secret hash argon2id>"


class _BcryptHash:
    __slots__ = ("_module", "_stored")
    scheme = "bcrypt"

    def __init__(self, stored: str, module: Any) -> None:
        if len(stored) != 60:
            raise ConfigurationError("malformed bcrypt secret hash")
        self._stored = stored.encode("ascii")
        self._module = module

    def verify(self, secret: bytes) -> bool:
        if len(secret) > 72:  # bcrypt >= 5 raises beyond 72 bytes; such a secret never matched
            return False
        try:
            return bool(self._module.checkpw(secret, self._stored))
        except ValueError:
            return False

    def __repr__(self) -> str:
        return "<secret hash bcrypt>"


# A stored hash no secret matches: unknown client ids are verified against it so that they
# cost the same as a wrong secret for a real client (no client-id enumeration by timing).
DUMMY_HASH: SecretHash = _Sha256Hash(
    _stdlib_secrets.token_bytes(_SALT_BYTES), _stdlib_secrets.token_bytes(32)
)


# -- helpers ------------------------------------------------------------------------------


def _secret_bytes(secret: str) -> bytes:
    if not isinstance(secret, str):
        raise ConfigurationError("a secret must be a str")
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        raise ConfigurationError(f"a secret must have 1 to {MAX_SECRET_LENGTH} characters")
    try:
        return secret.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigurationError("a secret must be valid Unicode text") from None


def _salted_sha256(salt: bytes, secret: bytes) -> bytes:
    # A generated secret has 256 bits of entropy: a salted SHA-256 is a sound storage hash for
    # it (nothing to brute-force; verification recomputes the whole digest, so length extension
    # gives nothing). It costs ~0.6 us here; HMAC-SHA-256 through OpenSSL 3 costs ~2.4 us.
    return hashlib.sha256(salt + secret).digest()


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _ab64d(text: str) -> bytes:
    std = text.replace(".", "+")
    return base64.b64decode(std + "=" * (-len(std) % 4), validate=True)


def _argon2() -> Any:
    try:
        import argon2  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise ConfigurationError(
            "argon2 hashes need the optional hasher: pip install 'clientauth[argon2]'"
        ) from None
    return argon2


def _bcrypt() -> Any:
    try:
        import bcrypt  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise ConfigurationError(
            "bcrypt hashes need the optional hasher: pip install 'clientauth[bcrypt]'"
        ) from None
    return bcrypt
