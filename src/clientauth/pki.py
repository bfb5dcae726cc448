"""The PKI verifier for RFC 8705 section 2.1 ``tls_client_auth``.

A client certificate authenticates a ``tls_client_auth`` client when (RFC 8705 2.1):

1. the presented chain validates to a configured trust anchor (RFC 5280 section 6) -- the
   global anchors, or *only* the client's own ``tls_client_auth_trust_anchors`` when it
   registered any;
2. the leaf may be used for TLS client authentication (RFC 5280 4.2.1.12, ``id-kp-clientAuth``)
   and is not a CA certificate (RFC 5280 4.2.1.9);
3. no certificate of the path is revoked (optional: a
   :class:`~clientauth.revocation.RevocationChecker`);
4. the leaf carries the one name the client registered (RFC 8705 2.1.2).

Path validation is cryptography's Rust verifier (``x509.verification``); this module adds the
policy around it: the relaxed subjectAltName rule for DN-identified clients, the reasons a
user can act on, per-client anchor sets, an intermediates pool, and a verified-chain cache.

What is *not* verified here: hostnames (a client has none to check), certificate policies
(RFC 5280 6.1 policy processing is not part of the WebPKI profile cryptography implements),
and revocation unless a checker is configured.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    ClientVerifier,
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from ._cache import LRU
from ._clock import clock_setting
from ._x509 import (
    CERTIFICATE_ERRORS,
    MAX_CHAIN_LENGTH,
    CertificateLike,
    check_usable,
    is_ca,
    load_certificate,
    load_certificates,
)
from .exceptions import CertificateParseError, ConfigurationError
from .result import CertificateCheck, Failure, Notice

if TYPE_CHECKING:
    from .clients import Client
    from .revocation import RevocationChecker

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_CACHE_TTL",
    "DEFAULT_MAX_CHAIN_DEPTH",
    "MAX_ANCHOR_SETS",
    "MAX_CACHE_SIZE",
    "MAX_CHAIN_DEPTH",
    "MAX_EXPLAIN_CANDIDATES",
    "MAX_EXPLAIN_SIGNATURES",
    "MAX_INTERMEDIATES",
    "MAX_SHOWN_NAME",
    "MAX_TRUST_ANCHORS",
    "MIN_RSA_BITS",
    "PKIVerifier",
]

DEFAULT_MAX_CHAIN_DEPTH: Final = 8
"""Most intermediate CAs between the leaf and the anchor (cryptography's own default)."""

MAX_CHAIN_DEPTH: Final = MAX_CHAIN_LENGTH
"""Upper bound for ``max_chain_depth``: deeper paths cannot be presented anyway."""

MAX_TRUST_ANCHORS: Final = 10_000
"""Most trust anchors one verifier accepts (a full public root store is ~150)."""

MAX_INTERMEDIATES: Final = 10_000
"""Most certificates in the configured intermediates pool."""

DEFAULT_CACHE_SIZE: Final = 4096
MAX_CACHE_SIZE: Final = 1_000_000
DEFAULT_CACHE_TTL: Final = timedelta(minutes=5)

MAX_ANCHOR_SETS: Final = 1024
"""Most per-client anchor sets whose verifier is kept (LRU); beyond that the least recently
used store is rebuilt on demand, which costs microseconds, not correctness."""

_SHA256 = hashes.SHA256()
_CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
_ANY_EKU = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE
_SAN_RULE = "RFC 5280 4.2.1.6: a certificate with an empty subject needs a critical subjectAltName"
# What cryptography raises for certificates it cannot represent: ValueError (malformed),
# DuplicateExtension (RFC 5280 4.2: each extension at most once), TypeError (e.g. IP name
# constraints that are not networks), UnsupportedGeneralNameType, UnsupportedAlgorithm.
_PARSE_ERRORS = CERTIFICATE_ERRORS
_SIGNATURE_ERRORS: tuple[type[Exception], ...] = (InvalidSignature, *CERTIFICATE_ERRORS)
_EMAIL_ADDRESS = NameOID.EMAIL_ADDRESS
_ENCOUNTERED = re.compile(r"\s*\(encountered processing .*\)\s*$", re.DOTALL)
_SubjectIndex = dict[x509.Name, tuple[x509.Certificate, ...]]

MAX_EXPLAIN_SIGNATURES: Final = 8
"""Most signature checks spent explaining one refusal. The explanation runs only after
cryptography has refused, on certificates the client chose, so its cost is bounded."""

MAX_EXPLAIN_CANDIDATES: Final = 4
"""Most same-named issuer candidates tried per step when explaining a refusal."""

MAX_SHOWN_NAME: Final = 160
"""Longest certificate name quoted in an explanation (names come from the client)."""


# -- the extension policies, built once for the process ----------------------------------------


_CA_POLICY: Final = ExtensionPolicy.webpki_defaults_ca()
# WebPKI requires a SAN on every end entity (CABF BR 7.1.2.7); RFC 8705 clients are often named
# by their subject DN only, so the SAN becomes optional. The part of RFC 5280 4.2.1.6 that
# remains -- an empty subject needs a critical SAN -- is enforced on the leaf by
# _empty_subject_without_critical_san before every validation (a Python callback here would
# cost ~17 us per verify: the verifier hands it a fresh certificate object whose subject must
# be rebuilt).
_EE_POLICY: Final = ExtensionPolicy.webpki_defaults_ee().may_be_present(
    x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
)


# -- anchor sets --------------------------------------------------------------------------------


def _anchor_key(anchors: Sequence[x509.Certificate]) -> bytes:
    """Identity of an anchor set: the certificates themselves (DER digests), never their DNs,
    so a rogue CA reusing an anchor's subject name is a different set and does not chain."""
    digests = sorted(a.fingerprint(_SHA256) for a in anchors)
    return hashlib.sha256(b"".join(digests)).digest()


class _AnchorSet:
    """One trust store and the client verifier built on it.

    cryptography fixes the validation time when a verifier is built, so the verifier is
    rebuilt (about 3 us; the store and both extension policies are reused) when the
    injected clock moves to another second. X.509 times have one-second resolution
    (RFC 5280 4.1.2.5), so truncating ``now`` to the second changes no decision.
    """

    __slots__ = ("_by_subject", "_current", "_depth", "anchors", "key", "store")

    def __init__(self, anchors: Sequence[x509.Certificate], depth: int) -> None:
        self.anchors = tuple(anchors)
        self.key = _anchor_key(self.anchors)
        self.store = Store(list(self.anchors))
        self._depth = depth
        self._current: tuple[int, ClientVerifier] | None = None
        self._by_subject: _SubjectIndex | None = None

    def by_subject(self) -> _SubjectIndex:
        """The anchors by subject name, built on the first refusal to explain (never on the
        accepting path); a single reference assignment, so a race builds it twice at worst."""
        index = self._by_subject
        if index is None:
            index = self._by_subject = _subject_index(self.anchors)
        return index

    def verifier(self, second: int) -> ClientVerifier:
        current = self._current
        if current is not None and current[0] == second:
            return current[1]
        verifier = (
            PolicyBuilder()
            .store(self.store)
            .time(datetime.fromtimestamp(second, UTC))
            .max_chain_depth(self._depth)
            .extension_policies(ca_policy=_CA_POLICY, ee_policy=_EE_POLICY)
            .build_client_verifier()
        )
        # A single reference assignment: concurrent readers see the old or the new pair.
        self._current = (second, verifier)
        return verifier


class _Entry:
    """A cached successful path validation, usable while ``valid_from <= now <= valid_until``
    (POSIX seconds): inside every notBefore/notAfter of the path, before the revocation
    information's nextUpdate and the configured TTL."""

    __slots__ = ("check", "presented", "valid_from", "valid_until")

    def __init__(
        self,
        presented: tuple[x509.Certificate, ...],
        check: CertificateCheck,
        valid_from: int,
        valid_until: int,
    ) -> None:
        self.presented = presented
        self.check = check
        self.valid_from = valid_from
        self.valid_until = valid_until


_CacheKey = tuple[bytes, tuple[bytes, ...]]


# -- the verifier -------------------------------------------------------------------------------


class PKIVerifier:
    """Verify ``tls_client_auth`` client certificates against trust anchors (RFC 8705 2.1).

    Configure once, verify many times; instances are immutable in their settings and safe to
    share across threads. :meth:`verify` never raises for bad client input: it returns a
    :class:`~clientauth.CertificateCheck`.

    ``trust_anchors`` are the global anchors (CA certificates; may be empty when every client
    registers its own). A client with ``trust_anchors`` is checked against *only* those.
    ``intermediates`` is a pool of untrusted CA certificates used to build paths, so a client
    that presents only its leaf still validates. ``now`` is the clock (a callable returning an
    aware datetime). ``revocation`` checks the validated path
    (:class:`~clientauth.revocation.RevocationChecker`). Successful validations are cached
    (``cache_size`` entries, LRU; 0 disables) for at most ``cache_ttl``, and never past the
    path's earliest notAfter or the revocation information's nextUpdate.

    ``require_san=True`` accepts a client only by a name its certificate carries in the
    subjectAltName extension, the names the CAs' name constraints govern (RFC 5280 4.2.1.10):
    a leaf without a SAN is refused, and so is every client registered by
    ``tls_client_auth_subject_dn``. Without it, a subordinate CA constrained to
    ``dNSName partner.example`` can still issue a leaf with *any* subject DN, which RFC 5280
    allows, and so authenticate a client registered by that DN. See docs/security.md.
    """

    __slots__ = (
        "_anchor_sets",
        "_cache",
        "_cache_size",
        "_depth",
        "_global",
        "_intermediates",
        "_intermediates_index",
        "_now",
        "_require_san",
        "_revocation",
        "_ttl_seconds",
    )

    def __init__(
        self,
        trust_anchors: Iterable[CertificateLike] = (),
        *,
        intermediates: Iterable[CertificateLike] = (),
        now: Callable[[], datetime] | None = None,
        max_chain_depth: int | None = None,
        revocation: RevocationChecker | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
        cache_ttl: timedelta = DEFAULT_CACHE_TTL,
        require_san: bool = False,
    ) -> None:
        depth = DEFAULT_MAX_CHAIN_DEPTH if max_chain_depth is None else max_chain_depth
        if isinstance(depth, bool) or not isinstance(depth, int) or not (
            0 <= depth <= MAX_CHAIN_DEPTH
        ):
            raise ConfigurationError(
                f"max_chain_depth must be an int from 0 to {MAX_CHAIN_DEPTH} (intermediate CAs "
                "between the leaf and the anchor)"
            )
        clock = clock_setting(now)
        if revocation is not None and not _is_revocation_checker(revocation):
            raise ConfigurationError("revocation must be a clientauth RevocationChecker")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or not (
            0 <= cache_size <= MAX_CACHE_SIZE
        ):
            raise ConfigurationError(f"cache_size must be an int from 0 to {MAX_CACHE_SIZE}")
        if not isinstance(cache_ttl, timedelta) or cache_ttl <= timedelta(0):
            raise ConfigurationError("cache_ttl must be a positive timedelta")
        if not isinstance(require_san, bool):
            raise ConfigurationError("require_san must be True or False")
        anchors = _load_anchors(trust_anchors, "trust_anchors")
        try:
            pool = load_certificates(_iterable(intermediates, "intermediates"),
                                     limit=MAX_INTERMEDIATES)
        except CertificateParseError as exc:
            raise ConfigurationError(f"intermediates: {exc}") from None

        self._depth = depth
        self._now = clock
        self._now()  # a clock that returns no aware datetime is refused now, not per request
        self._revocation = revocation if revocation is not None and revocation.enabled else None
        self._cache_size = cache_size
        # Whole seconds, as every other bound of a cache entry (X.509 times have one-second
        # resolution, RFC 5280 4.1.2.5); a TTL under a second still allows the same second.
        self._ttl_seconds = int(cache_ttl.total_seconds())
        self._require_san = require_san
        self._intermediates = list(pool)
        self._intermediates_index: _SubjectIndex | None = None
        self._global = _AnchorSet(anchors, depth) if anchors else None
        self._anchor_sets: LRU[tuple[x509.Certificate, ...], _AnchorSet] = LRU(MAX_ANCHOR_SETS)
        self._cache: LRU[_CacheKey, _Entry] = LRU(cache_size)

    def __repr__(self) -> str:
        n = len(self._global.anchors) if self._global else 0
        return (
            f"PKIVerifier({n} trust anchors, {len(self._intermediates)} intermediates, "
            f"max_chain_depth={self._depth}, revocation={self._revocation!r}, "
            f"require_san={self._require_san})"
        )

    # -- public ------------------------------------------------------------------------------

    def verify(self, chain: Sequence[x509.Certificate], client: Client) -> CertificateCheck:
        """Does ``chain`` (leaf first, as presented) authenticate ``client``?

        Checks the path (to the client's own anchors if it registered any, else the global
        ones), then the client's registered name (RFC 8705 2.1.2) on the leaf (in its
        subjectAltName only, with ``require_san``).
        """
        anchors = self._global
        client_anchors = client.trust_anchors
        if client_anchors:
            anchors = self._client_anchor_set(client_anchors)
        check = self._check_path(chain, anchors)
        if not check.ok:
            return check
        leaf = check.chain[0]
        registered = client.registered_name
        if registered is None:
            return CertificateCheck.failed(
                Failure.NAME_MISMATCH,
                f"client {client.client_id!r} registered no certificate name (RFC 8705 2.1.2)",
            )
        if self._require_san:
            refused = _san_required(leaf, registered.field)
            if refused is not None:
                return CertificateCheck.failed(Failure.NAME_MISMATCH, refused)
        if not registered.matches(leaf):
            presented = registered.presented(leaf)
            shown = ", ".join(repr(p) for p in presented) if presented else "none"
            return CertificateCheck.failed(
                Failure.NAME_MISMATCH,
                f"registered {registered.field} is {registered.value!r}; "
                f"the certificate presents {shown}",
            )
        return check

    def verify_chain(
        self,
        chain: Sequence[x509.Certificate],
        *,
        anchors: Iterable[CertificateLike] | None = None,
    ) -> CertificateCheck:
        """Path validation only, no client name: does ``chain`` validate to ``anchors`` (the
        global anchors when ``None``) as a TLS client certificate at ``now``?

        Bad ``anchors`` are configuration and raise :class:`~clientauth.ConfigurationError`;
        a bad ``chain`` is input and yields a failed check.
        """
        if anchors is None:
            return self._check_path(chain, self._global)
        loaded = _load_anchors(anchors, "anchors")
        return self._check_path(chain, self._client_anchor_set(loaded) if loaded else None)

    def clear_cache(self) -> None:
        """Forget every cached validation (e.g. after a CA compromise)."""
        self._cache.clear()

    # -- internals ---------------------------------------------------------------------------

    def _intermediates_by_subject(self) -> _SubjectIndex:
        # Built on the first refusal to explain, like _AnchorSet.by_subject.
        index = self._intermediates_index
        if index is None:
            index = self._intermediates_index = _subject_index(self._intermediates)
        return index

    def _client_anchor_set(self, anchors: Sequence[x509.Certificate]) -> _AnchorSet:
        # Keyed by the certificates (exact content), never by their DNs: a rogue CA that
        # reuses an anchor's subject name is another key and another store.
        key = tuple(anchors)
        found = self._anchor_sets.get(key)
        if found is not None:
            return found
        return self._anchor_sets.setdefault(key, _AnchorSet(anchors, self._depth))

    def _check_path(
        self, chain: Sequence[x509.Certificate], anchors: _AnchorSet | None
    ) -> CertificateCheck:
        presented = _presented(chain)
        if isinstance(presented, CertificateCheck):
            return presented
        now = self._now()
        second = int(now.timestamp())
        at = datetime.fromtimestamp(second, UTC)
        if anchors is None:
            return CertificateCheck.failed(
                Failure.UNTRUSTED_CHAIN, "no trust anchors are configured for this client"
            )

        # Looked up by the certificates' signature values (cheap, ~0.1 us each) and confirmed
        # by exact equality of the presented certificates with the cached ones, so a forged
        # certificate reusing a genuine signature can never hit. Thumbprints would identify
        # the chain as exactly but cost ~9 us per certificate (DER re-encoding + hashing).
        key: _CacheKey | None = None
        if self._cache_size:
            key = (anchors.key, tuple(c.signature for c in presented))
            entry = self._cache.get(key)
            if entry is not None and entry.presented == presented:
                if entry.valid_from <= second <= entry.valid_until:
                    return entry.check
                # Outside its window (clock moved): validate afresh, so the reason
                # (expired, revoked, ...) is the precise one.
                self._cache.pop(key)

        check, window = self._validate(presented, anchors, second, at, now)
        if check.ok and key is not None and window is not None:
            valid_from, valid_until = window
            entry = _Entry(
                presented,
                check,
                valid_from,
                min(valid_until, second + self._ttl_seconds),
            )
            self._cache.put(key, entry)
        return check

    def _validate(
        self,
        presented: tuple[x509.Certificate, ...],
        anchors: _AnchorSet,
        second: int,
        at: datetime,
        now: datetime,
    ) -> tuple[CertificateCheck, tuple[int, int] | None]:
        """The check, and for an accepted path the window (POSIX seconds, inclusive) in
        which it may be reused: inside every certificate's validity period and before the
        revocation information's nextUpdate."""
        for certificate in presented:
            try:
                # cryptography parses lazily; an object from a caller (or a parser that did
                # not check) may raise on its first read. Decided once, here.
                check_usable(certificate)
            except CertificateParseError as exc:
                return CertificateCheck.failed(Failure.MALFORMED_CERTIFICATE, exc.reason), None
        leaf = presented[0]
        if _empty_subject_without_critical_san(leaf):
            # The one leaf rule of _precheck_leaf that cryptography does not enforce here
            # (the relaxed end-entity policy); first in _precheck_leaf's order too.
            return CertificateCheck.failed(Failure.MALFORMED_CERTIFICATE, _SAN_RULE), None
        verifier = anchors.verifier(second)
        try:
            verified = verifier.verify(leaf, [*presented[1:], *self._intermediates])
        except VerificationError as exc:
            refused = _refused_leaf(leaf, at)
            if refused is not None:
                return refused, None
            explained = _explain(
                str(exc), presented, anchors, self._intermediates_by_subject(), at
            )
            return explained, None
        except _PARSE_ERRORS:
            refused = _refused_leaf(leaf, at)
            if refused is not None:
                return refused, None
            # Malformed extensions surface when cryptography parses them.
            return CertificateCheck.failed(
                Failure.MALFORMED_CERTIFICATE, "a certificate in the chain cannot be parsed"
            ), None
        # Accepted by cryptography, so every other rule of _precheck_leaf holds (its client
        # end-entity policy enforces each; tests/test_cold_path.py proves it per rule). The
        # key strength is ours alone: cryptography checks the leaf's key algorithm, not the
        # RSA modulus size nor that the key can be read.
        weak = _weak_key(leaf)
        if weak is not None:
            return CertificateCheck.failed(Failure.WEAK_KEY, weak), None
        path = tuple(verified.chain)
        violation = _subject_email_violation(path)
        if violation is not None:
            return CertificateCheck.failed(Failure.UNTRUSTED_CHAIN, violation), None
        expires_at = path[0].not_valid_after_utc
        valid_from = path[0].not_valid_before_utc
        for certificate in path[1:]:
            expires_at = min(expires_at, certificate.not_valid_after_utc)
            valid_from = max(valid_from, certificate.not_valid_before_utc)
        valid_until = expires_at
        detail = ""
        notices: tuple[Notice, ...] = ()
        if self._revocation is not None:
            status = self._revocation.check(path, now)
            if status.revoked:
                return CertificateCheck.failed(Failure.REVOKED, status.detail), None
            if status.unknown:
                if self._revocation.mode == "hard-fail":
                    return CertificateCheck.failed(Failure.REVOCATION_UNKNOWN, status.detail), None
                detail = f"revocation status unknown, accepted (soft-fail): {status.detail}"
                notices = (Notice.REVOCATION_UNKNOWN,)
            if status.next_update is not None:
                valid_until = min(valid_until, status.next_update)
        check = CertificateCheck.passed(
            path, expires_at=expires_at, detail=detail, notices=notices
        )
        return check, (int(valid_from.timestamp()), int(valid_until.timestamp()))


# -- helpers ------------------------------------------------------------------------------------


def _is_revocation_checker(value: object) -> bool:
    # Imported here so that pyhanko-certvalidator is loaded only by users of revocation.
    from .revocation import RevocationChecker  # noqa: PLC0415

    return isinstance(value, RevocationChecker)


def _iterable(values: object, what: str) -> Iterable[CertificateLike]:
    if isinstance(values, str | bytes | bytearray | memoryview | x509.Certificate):
        return [values]
    if not isinstance(values, Iterable):
        raise ConfigurationError(f"{what} must be an iterable of certificates")
    return values


def _load_anchors(values: Iterable[CertificateLike], what: str) -> tuple[x509.Certificate, ...]:
    try:
        anchors = load_certificates(_iterable(values, what), limit=MAX_TRUST_ANCHORS)
    except CertificateParseError as exc:
        raise ConfigurationError(f"{what}: {exc}") from None
    for anchor in anchors:
        ca = is_ca(anchor)
        if ca is None:
            raise ConfigurationError(
                f"{what}: {anchor.subject.rfc4514_string()!r} has extensions that cannot be "
                "parsed"
            )
        if not ca:
            # RFC 5280 6.1.4 (k): only a CA certificate can issue; an end-entity anchor would
            # make "trust this one client" indistinguishable from "trust this issuer".
            raise ConfigurationError(
                f"{what}: {anchor.subject.rfc4514_string()!r} is not a CA certificate "
                "(basicConstraints cA=TRUE); pin end-entity certificates with "
                "self_signed_tls_client_auth instead"
            )
    return anchors


def _presented(chain: object) -> tuple[x509.Certificate, ...] | CertificateCheck:
    """The presented chain as certificates, or the failed check that explains why not."""
    if isinstance(chain, str | bytes | bytearray | memoryview) or not isinstance(chain, Sequence):
        return CertificateCheck.failed(
            Failure.MALFORMED_CERTIFICATE, "the presented chain is not a sequence of certificates"
        )
    if not chain:
        return CertificateCheck.failed(Failure.MISSING_CERTIFICATE, "no certificate presented")
    if len(chain) > MAX_CHAIN_LENGTH:
        return CertificateCheck.failed(
            Failure.MALFORMED_CERTIFICATE,
            f"the presented chain has {len(chain)} certificates; at most {MAX_CHAIN_LENGTH} "
            "are accepted",
        )
    out: list[x509.Certificate] = []
    for item in chain:
        if isinstance(item, x509.Certificate):
            # Checked for usability in _validate, after the cache lookup: a cache hit means
            # an equal encoding was validated (so read) before.
            out.append(item)
            continue
        try:
            out.append(load_certificate(item))
        except CertificateParseError:
            return CertificateCheck.failed(
                Failure.MALFORMED_CERTIFICATE, "a presented certificate cannot be parsed"
            )
    return tuple(out)


MIN_RSA_BITS = 2048
"""Smallest RSA client key accepted (CA/Browser Forum Baseline Requirements 6.1.5)."""
_STRONG_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})


def _weak_key(leaf: x509.Certificate) -> str | None:
    """Why the leaf's key is too weak to prove anything, or ``None``.

    cryptography's verifier checks signatures, not the strength of the leaf's own key, so a
    P-192 or RSA-1024 client certificate from a (misbehaving) trusted CA would pass; keys that
    can be factored or broken with public means prove nothing about who holds them.
    """
    try:
        key = leaf.public_key()
    except _PARSE_ERRORS:
        return "the client certificate's public key cannot be read"
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return f"the client certificate's RSA key has {key.key_size} bits (< {MIN_RSA_BITS})"
        return None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _STRONG_CURVES:
            return f"the client certificate's key is on curve {key.curve.name} (not P-256/384/521)"
        return None
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return None
    return f"the client certificate's key type ({type(key).__name__}) is not accepted"


def _empty_subject_without_critical_san(leaf: x509.Certificate) -> bool:
    """RFC 5280 4.2.1.6: an empty subject puts the identity in the SAN, which must then be
    present and critical. Only for a leaf :func:`~clientauth._x509.check_usable` accepted."""
    if leaf.subject.rdns:
        return False
    for extension in leaf.extensions:
        if isinstance(extension.value, x509.SubjectAlternativeName):
            return not extension.critical
    return True


def _refused_leaf(leaf: x509.Certificate, at: datetime) -> CertificateCheck | None:
    """After cryptography refused a path: the leaf's own reason, as :func:`_precheck_leaf`
    and then :func:`_weak_key` name it, or ``None`` when the leaf itself is acceptable. Also
    the leaf checks of a chain only the proxy verified (``authenticator.py``).

    The accepting path runs neither before cryptography (issue 18: they cost more than
    the rest of the Python side of a cold verify): every :func:`_precheck_leaf` rule but
    the empty-subject one (checked before cryptography) is one its client verifier enforces
    on the leaf too -- basicConstraints cA, the validity period, id-kp-clientAuth in an
    EKU -- so a leaf breaking one never gets past it, and the reason found here is the one
    the pre-checks gave when they ran first (tests/test_cold_path.py).
    """
    precheck = _precheck_leaf(leaf, at)
    if precheck is not None:
        return precheck
    weak = _weak_key(leaf)
    if weak is not None:
        return CertificateCheck.failed(Failure.WEAK_KEY, weak)
    return None


def _precheck_leaf(leaf: x509.Certificate, at: datetime) -> CertificateCheck | None:
    """The common reasons to refuse a leaf, named precisely (after a refusal by
    cryptography in :class:`PKIVerifier`, and as the leaf checks of a proxy-verified chain).

    Every refusal here but the empty-subject rule is one cryptography makes too (an accept is
    only ever cryptography's); this names the reason that chain building hides behind
    "no path found".
    """
    try:
        extensions = leaf.extensions
        bc = extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    except _PARSE_ERRORS:
        return CertificateCheck.failed(
            Failure.MALFORMED_CERTIFICATE,
            "the client certificate has malformed or duplicate extensions",
        )
    if _empty_subject_without_critical_san(leaf):
        # Unlike the other checks here this one is ours alone: the relaxed end-entity policy
        # no longer asks cryptography to require a SAN.
        return CertificateCheck.failed(Failure.MALFORMED_CERTIFICATE, _SAN_RULE)
    if bc is not None and bc.ca:
        # RFC 5280 4.2.1.9: cA=TRUE certifies a CA; a CA key must not act as a client.
        return CertificateCheck.failed(
            Failure.CA_CERTIFICATE,
            "the presented certificate is a CA certificate (basicConstraints cA=TRUE), "
            "not a client certificate",
        )
    # RFC 5280 4.1.2.5: valid from notBefore through notAfter, inclusive.
    if at > leaf.not_valid_after_utc:
        return CertificateCheck.failed(
            Failure.CERTIFICATE_EXPIRED,
            f"the client certificate expired at {_iso(leaf.not_valid_after_utc)}",
        )
    if at < leaf.not_valid_before_utc:
        return CertificateCheck.failed(
            Failure.CERTIFICATE_NOT_YET_VALID,
            f"the client certificate is not valid before {_iso(leaf.not_valid_before_utc)}",
        )
    try:
        eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        # RFC 5280 4.2.1.12: no EKU means no restriction; cryptography accepts it as well.
        return None
    if _CLIENT_AUTH not in eku:
        # anyExtendedKeyUsage alone is refused too: cryptography's client verifier requires
        # id-kp-clientAuth itself (CABF practice), and it has the last word.
        return CertificateCheck.failed(
            Failure.WRONG_KEY_USAGE,
            "the client certificate's extended key usage does not include clientAuth "
            "(RFC 5280 4.2.1.12)",
        )
    return None


_SUBJECT_DN_FIELD = "tls_client_auth_subject_dn"


def _san_required(leaf: x509.Certificate, field: str) -> str | None:
    """Why ``require_san`` refuses this leaf for a name of ``field``, or ``None``."""
    if field == _SUBJECT_DN_FIELD:
        # A DN is outside every name constraint the path check applies: cryptography refuses
        # directoryName constraints outright, so no accepted path ever constrained a DN.
        return (
            "require_san is set: a subject DN is not governed by the CAs' name constraints; "
            "the client must register a subjectAltName (tls_client_auth_san_*)"
        )
    try:
        leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return "require_san is set: the client certificate has no subjectAltName extension"
    except _PARSE_ERRORS:
        return "require_san is set: the client certificate's extensions cannot be read"
    return None


def _subject_email_violation(path: Sequence[x509.Certificate]) -> str | None:
    """RFC 5280 4.2.1.10: rfc822Name constraints apply to the ``emailAddress`` attributes of
    the leaf's subject. cryptography checks constraints against the SAN only, which WebPKI
    makes mandatory; the relaxed end-entity policy here accepts SAN-less leaves, so this
    check restores the rule for them. It is applied whether or not a SAN is present (the RFC
    requires it only without one; OpenSSL always applies it): an address in the subject is
    as much a claim as one in the SAN. The constraints of every CA on the path count, the
    trust anchor's included, as cryptography counts them for the SAN.

    Returns the reason the path is refused, or ``None``.
    """
    try:
        # Name.get_attributes_for_oid, without its generator (this runs on every accept).
        emails = [
            a.value for rdn in path[0].subject.rdns for a in rdn if a.oid == _EMAIL_ADDRESS
        ]
    except _PARSE_ERRORS:
        return "the client certificate's subject cannot be read"
    if not emails:
        return None
    for ca in path[1:]:
        try:
            constraints = ca.extensions.get_extension_for_class(x509.NameConstraints).value
        except x509.ExtensionNotFound:
            continue
        except _PARSE_ERRORS:
            return "a CA certificate's name constraints cannot be read"
        permitted = [
            g.value for g in constraints.permitted_subtrees or () if isinstance(g, x509.RFC822Name)
        ]
        excluded = [
            g.value for g in constraints.excluded_subtrees or () if isinstance(g, x509.RFC822Name)
        ]
        if not permitted and not excluded:
            continue
        for email in emails:
            # A value that is not a mailbox cannot be shown to be inside (or outside) a
            # subtree: fail closed, as for any name the constraints cannot be checked on.
            inside_permitted = not permitted or any(
                _email_within(email, c) is True for c in permitted
            )
            inside_excluded = any(_email_within(email, c) is not False for c in excluded)
            if not inside_permitted or inside_excluded:
                return (
                    "RFC 5280 4.2.1.10: the subject emailAddress is outside the rfc822Name "
                    "name constraints of a CA on the path"
                )
    return None


def _email_within(email: object, constraint: str) -> bool | None:
    """Is mailbox ``email`` inside the rfc822Name subtree ``constraint`` (RFC 5280 4.2.1.10:
    ``user@host`` one mailbox, ``host`` every mailbox at that host, ``.domain`` every mailbox
    at a host *under* that domain)? ``None`` when ``email`` is not a mailbox that can be
    compared. Local parts compare exactly, domains case-insensitively (RFC 5280 7.5)."""
    if not isinstance(email, str) or not email.isascii() or not email.isprintable():
        return None
    at = email.rfind("@")
    if at <= 0 or at == len(email) - 1:
        return None
    local, domain = email[:at], email[at + 1 :].lower()
    constraint_at = constraint.rfind("@")
    if constraint_at != -1:
        return (
            local == constraint[:constraint_at]
            and domain == constraint[constraint_at + 1 :].lower()
        )
    if constraint.startswith("."):
        return domain.endswith(constraint.lower())
    return domain == constraint.lower()


def _explain(
    message: str,
    presented: Sequence[x509.Certificate],
    anchors: _AnchorSet,
    pool: _SubjectIndex,
    at: datetime,
) -> CertificateCheck:
    """Why cryptography refused the chain: which certificate, which rule.

    cryptography's error names the rule but often not the certificate, and after a failed
    path search only "candidates exhausted". :func:`_diagnose` walks the path the way a path
    builder does and names the first certificate that breaks a rule; when it finds nothing,
    cryptography's own text is quoted. Either way this only explains a refusal: it never
    turns one into an accept. Unknown texts are UNTRUSTED_CHAIN: a refusal is a refusal,
    only the label would be less precise.
    """
    reason = _ENCOUNTERED.sub("", message.removeprefix("validation failed: "))
    diagnosed = _diagnose(presented, anchors, pool, at)
    if diagnosed is not None:
        failure, detail = diagnosed
        return CertificateCheck.failed(failure, detail)
    if "not valid at validation time" in reason:
        return CertificateCheck.failed(
            Failure.UNTRUSTED_CHAIN, "a CA certificate on the path is outside its validity period"
        )
    if "required EKU not found" in reason:
        return CertificateCheck.failed(
            Failure.WRONG_KEY_USAGE,
            "extended key usage on the path does not allow clientAuth (RFC 5280 4.2.1.12)",
        )
    if "cA must not be asserted in an EE" in reason:
        return CertificateCheck.failed(
            Failure.CA_CERTIFICATE, "the presented certificate is a CA certificate"
        )
    if _SAN_RULE in reason:
        return CertificateCheck.failed(Failure.MALFORMED_CERTIFICATE, _SAN_RULE)
    reason = reason.removeprefix("candidates exhausted: ")
    return CertificateCheck.failed(
        Failure.UNTRUSTED_CHAIN,
        "no path from the client certificate to a configured trust anchor "
        f"(cryptography: {_printable(reason, 200)})",
    )


def _subject_index(certificates: Iterable[x509.Certificate]) -> _SubjectIndex:
    index: dict[x509.Name, list[x509.Certificate]] = {}
    for certificate in certificates:
        try:
            index.setdefault(certificate.subject, []).append(certificate)
        except _PARSE_ERRORS:
            continue
    return {subject: tuple(found) for subject, found in index.items()}


def _diagnose(
    presented: Sequence[x509.Certificate],
    anchors: _AnchorSet,
    pool: _SubjectIndex,
    at: datetime,
) -> tuple[Failure, str] | None:
    """Walk up from the leaf, issuer by issuer (presented certificates, then the configured
    intermediates, with the anchors tried first), and return the failure and the sentence
    naming the first certificate and RFC 5280 rule that stop the path; ``None`` when the
    walk reaches an anchor without finding one (the caller then quotes cryptography).

    The leaf's own window, EKU and basicConstraints were checked by _precheck_leaf.
    """
    try:
        return _walk(presented, anchors, pool, at)
    except _PARSE_ERRORS:
        # A certificate cryptography could read enough to refuse but not enough to explain.
        return None


def _walk(
    presented: Sequence[x509.Certificate],
    anchors: _AnchorSet,
    pool: _SubjectIndex,
    at: datetime,
) -> tuple[Failure, str] | None:
    leaf = presented[0]
    if leaf.version is not x509.Version.v3:
        # CABF BR 7.1.1 (the profile cryptography verifies): certificates are version 3.
        # `openssl x509 -req` without -extfile/-extensions issues version 1.
        return Failure.UNTRUSTED_CHAIN, (
            f"the client certificate {_shown(leaf.subject)} is an X.509 version 1 "
            "certificate; only version 3 certificates are accepted (issue it with extensions, "
            "e.g. openssl x509 -req ... -extfile client.cnf)"
        )
    anchor_index = anchors.by_subject()
    budget = MAX_EXPLAIN_SIGNATURES
    child = leaf
    below = 0  # non-self-issued intermediates between `child` and the leaf (RFC 5280 4.2.1.9)
    seen = {leaf}
    for _ in range(MAX_CHAIN_LENGTH + 1):
        issuer_name = child.issuer
        candidates: list[x509.Certificate] = []
        for found in (
            anchor_index.get(issuer_name, ()),
            [c for c in presented[1:] if c.subject == issuer_name],
            pool.get(issuer_name, ()),
        ):
            candidates.extend(c for c in found if c not in candidates)
        if child.subject == issuer_name and child not in candidates:
            candidates.append(child)
        if not candidates:
            hint = (
                "; present the intermediate CA certificates after the client certificate, or "
                "configure them as intermediates="
                if child is leaf
                else ""
            )
            return Failure.UNTRUSTED_CHAIN, (
                f"{_role(child, leaf, anchor_index)} {_shown(child.subject)} is issued by "
                f"{_shown(issuer_name)}, and no trust anchor, presented certificate or "
                f"configured intermediate has that name{hint}"
            )
        signer: x509.Certificate | None = None
        for candidate in candidates[:MAX_EXPLAIN_CANDIDATES]:
            if budget == 0:
                return None
            budget -= 1
            if _signed_by(child, candidate):
                signer = candidate
                break
        if signer is None:
            return Failure.UNTRUSTED_CHAIN, (
                f"{_role(child, leaf, anchor_index)} {_shown(child.subject)} names "
                f"{_shown(issuer_name)} as its issuer, but its signature does not verify with "
                "the key of any certificate of that name (a different CA with the same name?)"
            )
        is_anchor = signer in anchor_index.get(signer.subject, ())
        if signer is child and not is_anchor:
            return Failure.UNTRUSTED_CHAIN, (
                f"the path ends at the self-signed {_shown(child.subject)}, which is not a "
                "configured trust anchor"
                + (
                    " (a self-signed client certificate is registered with "
                    "self_signed_tls_client_auth)"
                    if child is leaf
                    else ""
                )
            )
        problem = _ca_problem(signer, at, below)
        if problem is not None:
            failure, rule = problem
            return failure, f"{_role(signer, leaf, anchor_index)} {_shown(signer.subject)} {rule}"
        if is_anchor or signer in seen:
            return None
        seen.add(signer)
        if signer.subject != signer.issuer:
            below += 1
        child = signer
    return None


def _signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except _SIGNATURE_ERRORS:
        return False
    return True


def _ca_problem(ca: x509.Certificate, at: datetime, below: int) -> tuple[Failure, str] | None:
    """The first rule ``ca`` breaks as the issuer of a client certificate path, or ``None``.

    Each is a rule cryptography's CA policy enforces too; the order puts the rules a
    certificate made with openssl's defaults breaks first.
    """
    if ca.version is not x509.Version.v3:
        return Failure.UNTRUSTED_CHAIN, (
            "is an X.509 version 1 certificate, which cannot carry basicConstraints and so "
            "cannot act as a CA (RFC 5280 4.2.1.9, 6.1.4 (k)); openssl x509 -req issues "
            "version 1 unless given extensions (-extfile)"
        )
    extensions = ca.extensions
    try:
        bc: x509.BasicConstraints | None = extensions.get_extension_for_class(
            x509.BasicConstraints
        ).value
    except x509.ExtensionNotFound:
        bc = None
    if bc is None or not bc.ca:
        return Failure.UNTRUSTED_CHAIN, (
            ("has no basicConstraints extension" if bc is None else "has basicConstraints cA=FALSE")
            + "; a CA certificate needs basicConstraints cA=TRUE (RFC 5280 4.2.1.9)"
        )
    try:
        key_usage: x509.KeyUsage | None = extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        key_usage = None
    if key_usage is None:
        return Failure.UNTRUSTED_CHAIN, (
            "has no keyUsage extension; a CA certificate must assert keyCertSign "
            "(RFC 5280 4.2.1.3). openssl req -x509 adds no keyUsage unless asked: "
            '-addext "keyUsage=critical,keyCertSign,cRLSign"'
        )
    if not key_usage.key_cert_sign:
        return Failure.UNTRUSTED_CHAIN, (
            "has a keyUsage without keyCertSign, so it may not sign certificates "
            "(RFC 5280 4.2.1.3)"
        )
    # RFC 5280 4.1.2.5: valid from notBefore through notAfter, inclusive.
    if at > ca.not_valid_after_utc:
        return Failure.CERTIFICATE_EXPIRED, f"expired at {_iso(ca.not_valid_after_utc)}"
    if at < ca.not_valid_before_utc:
        return Failure.CERTIFICATE_NOT_YET_VALID, (
            f"is not valid before {_iso(ca.not_valid_before_utc)}"
        )
    if bc.path_length is not None and below > bc.path_length:
        return Failure.UNTRUSTED_CHAIN, (
            f"has pathLenConstraint {bc.path_length}, but {below} intermediate CA "
            f"certificate{'s' if below > 1 else ''} follow{'' if below > 1 else 's'} it on "
            "the path (RFC 5280 4.2.1.9)"
        )
    try:
        eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if _CLIENT_AUTH not in eku and _ANY_EKU not in eku:
        # A CA's EKU limits what the certificates below it may be used for (the WebPKI
        # profile cryptography verifies; RFC 5280 4.2.1.12 leaves CA EKUs to policy).
        return Failure.UNTRUSTED_CHAIN, (
            "has an extendedKeyUsage without clientAuth, which rules out client "
            "certificates issued below it"
        )
    return None


def _role(
    certificate: x509.Certificate, leaf: x509.Certificate, anchor_index: _SubjectIndex
) -> str:
    if certificate is leaf:
        return "the client certificate"
    if certificate in anchor_index.get(certificate.subject, ()):
        return "the trust anchor"
    return "the issuing CA certificate"


def _shown(name: x509.Name) -> str:
    """A certificate name for an explanation: RFC 4514 text, quoted and bounded."""
    try:
        text = name.rfc4514_string()
    except _PARSE_ERRORS:
        return "(a name that cannot be displayed)"
    return repr(_printable(text, MAX_SHOWN_NAME))


def _printable(text: str, limit: int) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
