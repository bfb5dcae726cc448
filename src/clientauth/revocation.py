"""Revocation checking (RFC 5280 section 6.3 CRLs, RFC 6960 OCSP) for a validated path.

:class:`RevocationChecker` runs *after* cryptography has validated the path: it only asks, for
each certificate below the trust anchor, "is this one revoked?". The CRL and OCSP processing
(signature and issuer checks, delegated OCSP responders, CRL scope, freshness) is
pyhanko-certvalidator's; this module fetches the revocation information itself (through
:mod:`clientauth._fetch`, with its deadline, size cap, redirect refusal and address policy) and
decides what the answers mean for authentication:

* ``"hard-fail"`` -- a certificate that declares revocation information (CRL distribution
  point or OCSP responder, RFC 5280 4.2.1.13 / 4.2.2.1), or whose issuer's CRL was supplied,
  must be shown not revoked; otherwise the status is *unknown* and authentication fails.
* ``"soft-fail"`` -- *revoked* fails; *unknown* (responder down, stale CRL) is accepted, said
  in the detail, and flagged with the ``revocation_unknown`` notice.
* ``"off"`` -- nothing is checked.

A certificate that declares no revocation information and is covered by no supplied CRL has
nothing to check; that is *good* in every mode (pyhanko's "hard-fail" semantics too).

RFC 5280 and RFC 6960 set no precedence between sources, so every available source is
consulted -- the OCSP responder, the CRL at the distribution point, and any supplied CRL or OCSP
response -- and any of them that says *revoked* wins; *good* needs at least one source that says
so. (A still-valid "good" OCSP response replayed over plain HTTP therefore cannot hide a CRL
that lists the certificate.)

Fetching bounds (``fetch=True``):

* **one deadline per check**: all requests made for one :meth:`RevocationChecker.check` share
  ``timeout`` seconds, connect to last body byte; what is not fetched by then counts as
  unavailable.
* **at most two requests per certificate** (:data:`MAX_REQUESTS_PER_CERTIFICATE`): the first
  OCSP responder, then CRL distribution points in order until one CRL arrives.
* **size**: a fetched CRL is capped like a supplied file (:data:`MAX_CRL_SIZE`), an OCSP response
  at :data:`MAX_OCSP_RESPONSE_SIZE`; redirects are refused.
* **address policy**: URLs come from certificates, so loopback, link-local and private
  addresses are refused unless listed in ``allow_addresses``.
* **a failing host is asked once per** :data:`FETCH_RETRY_AFTER` **seconds**, not once per
  request; a URL being fetched by another thread is not waited for (it counts as unavailable
  for this check), so a slow host ties up one thread per retry period, never every request.
* fetched CRLs are reused for :data:`FETCHED_CRL_MAX_AGE` seconds (never past their
  nextUpdate), within :data:`MAX_CACHED_CRL_BYTES` in all.

An *unknown* status carries a ``next_update`` at most :data:`UNKNOWN_RECHECK_AFTER` ahead, so a
cached soft-fail acceptance is re-examined soon (and a revocation published meanwhile is seen).
Supplied CRL files are read once, at construction: build a new checker to reload them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import os
import threading
import time
from collections.abc import Coroutine, Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp as x509_ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from ._cache import LRU
from ._fetch import AddressPolicy, fetch
from .exceptions import ConfigurationError, FetchError

if TYPE_CHECKING:
    from asn1crypto import crl as asn1_crl
    from asn1crypto import ocsp as asn1_ocsp

# asn1crypto and pyhanko-certvalidator (about 50 ms to import) are imported where they are
# used: by a checker that reads CRLs or OCSP responses, or checks a path. `import clientauth`
# and an Authenticator without revocation never load them (tests/test_import_cost.py).

__all__ = [
    "DEFAULT_FETCH_TIMEOUT",
    "FETCHED_CRL_MAX_AGE",
    "FETCH_RETRY_AFTER",
    "MAX_CACHED_CRL_BYTES",
    "MAX_CRL_SIZE",
    "MAX_FETCH_TIMEOUT",
    "MAX_OCSP_RESPONSE_SIZE",
    "MAX_REQUESTS_PER_CERTIFICATE",
    "UNKNOWN_RECHECK_AFTER",
    "RevocationChecker",
    "RevocationMode",
    "RevocationState",
    "RevocationStatus",
]

RevocationMode = Literal["soft-fail", "hard-fail", "off"]
_MODES: Final = ("soft-fail", "hard-fail", "off")

DEFAULT_FETCH_TIMEOUT: Final = 5.0
"""Seconds allowed for all the requests of one check together (connect to last byte)."""

MAX_FETCH_TIMEOUT: Final = 30.0

MAX_CRL_SIZE: Final = 64 * 1024 * 1024
"""Largest CRL read, supplied as a file or fetched, in bytes (large public CAs publish CRLs of
tens of MB)."""

MAX_OCSP_RESPONSE_SIZE: Final = 128 * 1024
"""Largest OCSP response read: one response with its responder certificate is a few KiB."""

MAX_REQUESTS_PER_CERTIFICATE: Final = 2
"""At most this many HTTP requests per certificate and check: one OCSP, then CRLs."""

FETCH_RETRY_AFTER: Final = 30.0
"""Seconds a URL whose fetch failed is not asked again (its failure is reported instead)."""

FETCHED_CRL_MAX_AGE: Final = 300.0
"""Seconds a fetched CRL is reused before it is fetched again (never past its nextUpdate)."""

MAX_CACHED_CRL_BYTES: Final = 64 * 1024 * 1024
"""DER bytes of fetched CRLs kept in all; the least recently used go first."""

UNKNOWN_RECHECK_AFTER: Final = timedelta(seconds=30)
"""How far ahead an *unknown* status's ``next_update`` lies at most: the verified-chain cache
keeps a soft-fail acceptance no longer than this."""

_MAX_REMEMBERED_FAILURES: Final = 1024
_PEM_CRL = b"-----BEGIN X509 CRL-----"
_FETCH_SCHEMES: Final = ("http", "https")
_OCSP_HEADERS: Final = {  # RFC 6960 A.1
    "Content-Type": "application/ocsp-request",
    "Accept": "application/ocsp-response",
    "User-Agent": "clientauth-revocation",
}
_CRL_HEADERS: Final = {"Accept": "application/pkix-crl", "User-Agent": "clientauth-revocation"}
_T = TypeVar("_T")


class RevocationState(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True, slots=True)
class RevocationStatus:
    """The outcome of one check. ``next_update`` is the earliest nextUpdate of the revocation
    information consulted (``None`` when none was): a cached decision must not outlive it."""

    state: RevocationState
    detail: str = ""
    next_update: datetime | None = None

    @property
    def good(self) -> bool:
        return self.state is RevocationState.GOOD

    @property
    def revoked(self) -> bool:
        return self.state is RevocationState.REVOKED

    @property
    def unknown(self) -> bool:
        return self.state is RevocationState.UNKNOWN


CRLLike = str | os.PathLike[str] | bytes | x509.CertificateRevocationList
OCSPLike = bytes | x509_ocsp.OCSPResponse


class _Unavailable(Exception):
    """A source could not be consulted; the message says why (it ends up in ``detail``)."""


@dataclasses.dataclass(slots=True)
class _Gathered:
    """What was fetched for one check: revocation data, and per certificate why a source is
    missing (``notes[index]``)."""

    crls: list[asn1_crl.CertificateList] = dataclasses.field(default_factory=list)
    ocsps: list[asn1_ocsp.OCSPResponse] = dataclasses.field(default_factory=list)
    notes: dict[int, dict[str, str]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class _CachedCRL:
    crl: asn1_crl.CertificateList
    size: int
    fetched_at: float  # time.monotonic()
    next_update: datetime | None


class RevocationChecker:
    """Check a validated path for revoked certificates. Thread-safe; settings are immutable.

    ``crls``: CRLs as file paths (PEM or DER), DER/PEM ``bytes`` or
    ``x509.CertificateRevocationList``; ``ocsps``: DER OCSP responses or
    ``x509.ocsp.OCSPResponse`` (stapled or pre-fetched); ``fetch``: also retrieve CRLs and
    OCSP responses from the URLs the certificates name; ``timeout``: seconds for all the
    requests of one check; ``allow_addresses``: addresses or networks (``"10.0.0.0/8"``) that
    fetches may reach although they are loopback, link-local or private. The bounds are in
    the module docstring.
    """

    __slots__ = (
        "_crl_cache",
        "_crls",
        "_failures",
        "_fetch",
        "_in_flight",
        "_lock",
        "_mode",
        "_ocsps",
        "_policy",
        "_timeout",
    )

    def __init__(
        self,
        mode: RevocationMode = "soft-fail",
        *,
        crls: Iterable[CRLLike] = (),
        ocsps: Iterable[OCSPLike] = (),
        fetch: bool = True,
        timeout: float = DEFAULT_FETCH_TIMEOUT,
        allow_addresses: Iterable[str] = (),
    ) -> None:
        if mode not in _MODES:
            raise ConfigurationError(f"mode must be one of {', '.join(_MODES)}; got {mode!r}")
        if not isinstance(fetch, bool):
            raise ConfigurationError("fetch must be True or False")
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout <= MAX_FETCH_TIMEOUT
        ):
            raise ConfigurationError(
                f"timeout must be a number of seconds in (0, {MAX_FETCH_TIMEOUT}]"
            )
        self._mode: RevocationMode = mode
        self._fetch = fetch
        self._timeout = float(timeout)
        self._policy = AddressPolicy.build(allow_addresses)
        self._crls = tuple(_load_crl(c) for c in _items(crls, "crls"))
        self._ocsps = tuple(_load_ocsp(o) for o in _items(ocsps, "ocsps"))
        # Shared fetch state, guarded by _lock; the lock is never held across a request.
        self._lock = threading.Lock()
        self._crl_cache: LRU[str, _CachedCRL] = LRU(
            MAX_CACHED_CRL_BYTES, weigh=lambda entry: entry.size
        )
        self._failures: LRU[str, tuple[float, str]] = LRU(_MAX_REMEMBERED_FAILURES)
        self._in_flight: set[object] = set()

    @property
    def mode(self) -> RevocationMode:
        return self._mode

    @property
    def enabled(self) -> bool:
        return self._mode != "off"

    def __repr__(self) -> str:
        return (
            f"RevocationChecker({self._mode!r}, crls={len(self._crls)}, "
            f"ocsps={len(self._ocsps)}, fetch={self._fetch}, timeout={self._timeout}, "
            f"allow_addresses={[str(n) for n in self._policy.allow]})"
        )

    def check(self, path: Sequence[x509.Certificate], now: datetime) -> RevocationStatus:
        """Revocation status of a validated ``path`` (leaf first, ending at the trust anchor)
        at ``now``. Never raises for what the network or the revocation data do."""
        if self._mode == "off":
            return RevocationStatus(RevocationState.GOOD, "revocation checking is off")
        if len(path) < 2:
            return RevocationStatus(RevocationState.GOOD, "no certificate below the anchor")
        try:
            gathered = self._gather(tuple(path), now) if self._fetch else _Gathered()
            status = _run(self._check(tuple(path), now, gathered))
        except Exception as exc:  # third-party code processing hostile data
            status = RevocationStatus(
                RevocationState.UNKNOWN, f"revocation check failed: {type(exc).__name__}"
            )
        if status.unknown:
            # A soft-fail acceptance is re-examined soon: the responder may be back and say
            # "revoked" (a cache must not keep "unknown" as long as "good").
            soon = now + UNKNOWN_RECHECK_AFTER
            if status.next_update is None or status.next_update > soon:
                status = dataclasses.replace(status, next_update=soon)
        return status

    # -- fetching ------------------------------------------------------------------------

    def _gather(self, path: tuple[x509.Certificate, ...], now: datetime) -> _Gathered:
        """Fetch what the certificates below the anchor point at, within one deadline and
        MAX_REQUESTS_PER_CERTIFICATE requests per certificate."""
        gathered = _Gathered()
        deadline = time.monotonic() + self._timeout
        for index in range(len(path) - 1):
            cert, issuer = path[index], path[index + 1]
            ocsp_urls, crl_urls = _declared_urls(cert)
            notes: dict[str, str] = {}
            budget = MAX_REQUESTS_PER_CERTIFICATE
            if ocsp_urls:
                # RFC 6960 2: one responder is enough to ask; a second would only repeat it.
                budget -= 1
                try:
                    gathered.ocsps.append(self._ocsp(ocsp_urls[0], cert, issuer, deadline))
                except _Unavailable as exc:
                    notes["OCSP"] = str(exc)
            crl_notes: list[str] = []
            for url in crl_urls:
                if budget <= 0:
                    crl_notes.append(
                        f"further distribution points not tried (at most "
                        f"{MAX_REQUESTS_PER_CERTIFICATE} requests per certificate)"
                    )
                    break
                try:
                    crl, asked = self._crl(url, now, deadline)
                except _Unavailable as exc:
                    crl_notes.append(str(exc))
                    budget -= 1
                    continue
                budget -= asked
                gathered.crls.append(crl)
                crl_notes = []
                break
            if crl_notes:
                notes["CRL"] = "; ".join(crl_notes)
            if notes:
                gathered.notes[index] = notes
        return gathered

    def _begin(self, url: str, key: object) -> None:
        """Claim ``key`` for one fetch of ``url``, or say why it is not fetched now."""
        with self._lock:
            failed = self._failures.get(url)
            if failed is not None:
                age = time.monotonic() - failed[0]
                if age < FETCH_RETRY_AFTER:
                    raise _Unavailable(
                        f"{failed[1]} ({age:.0f} s ago; retried after {FETCH_RETRY_AFTER:g} s)"
                    )
                self._failures.pop(url)
            if key in self._in_flight:
                # Waiting would tie this thread to a host that may be slow; the fetch in
                # progress will serve the requests after it.
                raise _Unavailable(f"{url!r} is being fetched for another request")
            self._in_flight.add(key)

    def _end(self, key: object, url: str, failure: str | None) -> None:
        with self._lock:
            self._in_flight.discard(key)
            if failure is not None:
                self._remember_failure(url, failure)

    def _remember_failure(self, url: str, failure: str) -> None:
        # Called with _lock held (_begin reads the failures and the fetches in flight as one).
        self._failures.put(url, (time.monotonic(), failure))

    def _get(
        self, url: str, key: object, deadline: float, *, what: str, max_size: int,
        body: bytes | None = None,
    ) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Unavailable(f"not fetched: the check's {self._timeout:g} s were spent")
        self._begin(url, key)
        failure: str | None = None
        try:
            return fetch(
                url,
                what=what,
                timeout=remaining,
                max_size=max_size,
                policy=self._policy,
                schemes=_FETCH_SCHEMES,
                method="GET" if body is None else "POST",
                body=body,
                headers=_CRL_HEADERS if body is None else _OCSP_HEADERS,
            )
        except FetchError as exc:
            failure = str(exc)
            raise _Unavailable(failure) from None
        finally:
            self._end(key, url, failure)

    def _crl(
        self, url: str, now: datetime, deadline: float
    ) -> tuple[asn1_crl.CertificateList, int]:
        cached = self._crl_cache.get(url)
        if cached is not None:
            fresh = time.monotonic() - cached.fetched_at < FETCHED_CRL_MAX_AGE and (
                cached.next_update is None or cached.next_update > now
            )
            if fresh:
                return cached.crl, 0
            self._crl_cache.pop(url)
        data = self._get(url, url, deadline, what="CRL", max_size=MAX_CRL_SIZE)
        try:
            der = _crl_der(data, f"the CRL at {url!r}")
            crl = _parse_crl(der)
        except ConfigurationError as exc:
            with self._lock:
                self._remember_failure(url, str(exc))
            raise _Unavailable(str(exc)) from None
        value = crl["tbs_cert_list"]["next_update"].native
        entry = _CachedCRL(
            crl, len(der), time.monotonic(), value if isinstance(value, datetime) else None
        )
        self._crl_cache.put(url, entry)  # the least recently used go past MAX_CACHED_CRL_BYTES
        return crl, 1

    def _ocsp(
        self, url: str, cert: x509.Certificate, issuer: x509.Certificate, deadline: float
    ) -> asn1_ocsp.OCSPResponse:
        nonce = os.urandom(16)
        # RFC 6960 4.1.1 / 5019 2.1.1: CertID hashed with SHA-1, the algorithm responders
        # index by. The nonce (RFC 8954) lets a replayed response that echoes one be caught.
        request = (
            x509_ocsp.OCSPRequestBuilder()
            .add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303 -- CertID, not a signature
            .add_extension(x509.OCSPNonce(nonce), critical=False)
            .build()
        )
        key = ("ocsp", url, cert.serial_number, issuer.subject.public_bytes())
        data = self._get(
            url, key, deadline, what="OCSP", max_size=MAX_OCSP_RESPONSE_SIZE,
            body=request.public_bytes(Encoding.DER),
        )
        try:
            parsed = x509_ocsp.load_der_ocsp_response(data)
        except ValueError:
            raise _Unavailable(f"OCSP {url!r}: the answer is not an OCSP response") from None
        if parsed.response_status is not x509_ocsp.OCSPResponseStatus.SUCCESSFUL:
            status = parsed.response_status.name
            raise _Unavailable(f"OCSP {url!r}: the responder answered {status}")
        try:
            echoed = parsed.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            echoed = None  # many responders serve pre-signed responses without a nonce
        if echoed is not None and echoed != nonce:
            raise _Unavailable(f"OCSP {url!r}: the response answers another request (nonce)")
        from asn1crypto import ocsp as asn1_ocsp  # noqa: PLC0415 -- see the module imports

        return asn1_ocsp.OCSPResponse.load(data)

    # -- deciding ------------------------------------------------------------------------

    async def _check(
        self, path: tuple[x509.Certificate, ...], now: datetime, gathered: _Gathered
    ) -> RevocationStatus:
        from asn1crypto import x509 as asn1_x509  # noqa: PLC0415 -- see the module imports
        from pyhanko_certvalidator import ValidationContext  # noqa: PLC0415
        from pyhanko_certvalidator.authority import CertTrustAnchor  # noqa: PLC0415
        from pyhanko_certvalidator.path import ValidationPath  # noqa: PLC0415

        certs = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in path]
        anchor = CertTrustAnchor(certs[-1])
        context = ValidationContext(
            trust_roots=[certs[-1]],
            other_certs=certs[1:-1],
            moment=now,
            allow_fetching=False,  # fetched above, within our bounds
            crls=[*self._crls, *gathered.crls],
            ocsps=[*self._ocsps, *gathered.ocsps],
            revocation_mode="hard-fail" if self._mode == "hard-fail" else "soft-fail",
        )
        unknown: list[str] = []
        # RFC 5280 6.3: every certificate below the anchor; the anchor itself is trusted
        # directly and has no issuer to revoke it.
        for index in range(len(certs) - 1):
            cert = certs[index]
            # The certificate's own path: anchor, the intermediates above it, then it.
            sub_path = ValidationPath(anchor, interm=certs[index + 1:-1][::-1], leaf=cert)
            state, why = await self._check_one(
                path[index], cert, sub_path, context, gathered.notes.get(index, {})
            )
            label = "the client certificate" if index == 0 else f"CA certificate #{index}"
            if state is RevocationState.REVOKED:
                return RevocationStatus(
                    RevocationState.REVOKED, f"{label} is revoked ({why})",
                    _next_update(context, now),
                )
            if state is RevocationState.UNKNOWN:
                unknown.append(f"{label}: {why}")
        next_update = _next_update(context, now)
        if unknown:
            return RevocationStatus(RevocationState.UNKNOWN, "; ".join(unknown), next_update)
        return RevocationStatus(RevocationState.GOOD, "", next_update)

    async def _check_one(
        self, certificate: x509.Certificate, cert: Any, path: Any, context: Any,
        notes: dict[str, str],
    ) -> tuple[RevocationState, str]:
        from pyhanko_certvalidator.errors import (  # noqa: PLC0415 -- see the module imports
            CRLNoMatchesError,
            OCSPNoMatchesError,
            RevokedError,
        )
        from pyhanko_certvalidator.revinfo.validate_crl import verify_crl  # noqa: PLC0415
        from pyhanko_certvalidator.revinfo.validate_ocsp import (  # noqa: PLC0415
            verify_ocsp_response,
        )

        ocsp_urls, crl_urls = _declared_urls(certificate)
        has_ocsp = bool(ocsp_urls) and self._fetch
        has_crl = bool(crl_urls) and self._fetch
        declared = bool(ocsp_urls or crl_urls)
        good: list[str] = []
        problems: list[str] = []
        # Every source is consulted and "revoked" from any of them wins (see the module
        # docstring): OCSP when a responder is named or a response was supplied ...
        if has_ocsp or self._ocsps:
            try:
                await verify_ocsp_response(cert, path, context)
                good.append("OCSP")
            except RevokedError:
                return RevocationState.REVOKED, "OCSP"
            except OCSPNoMatchesError:
                if has_ocsp:
                    problems.append(f"OCSP: {notes.get('OCSP', 'no response for it')}")
            except Exception as exc:
                problems.append(f"OCSP: {_short(exc)}")
        # ... and the CRLs: fetched from a distribution point, or supplied by the operator
        # (always read, whatever OCSP said).
        if has_crl or self._crls:
            try:
                await verify_crl(cert, path, context)
                good.append("CRL")
            except RevokedError:
                return RevocationState.REVOKED, "CRL"
            except CRLNoMatchesError:
                if has_crl:
                    problems.append(
                        f"CRL: {notes.get('CRL', 'no CRL from its issuer could be obtained')}"
                    )
            except Exception as exc:
                problems.append(f"CRL: {_short(exc)}")
        if good:
            return RevocationState.GOOD, " and ".join(good)
        if problems:
            return RevocationState.UNKNOWN, "; ".join(problems)
        if declared:
            return RevocationState.UNKNOWN, "declares revocation information that was not checked"
        return RevocationState.GOOD, "no revocation information declared"


# -- helpers ------------------------------------------------------------------------------------


def _items(values: object, what: str) -> list[Any]:
    if isinstance(values, str | bytes | os.PathLike) or not isinstance(values, Iterable):
        raise ConfigurationError(f"{what} must be a list")
    return list(values)


def _load_crl(value: object) -> asn1_crl.CertificateList:
    if isinstance(value, x509.CertificateRevocationList):
        der = value.public_bytes(Encoding.DER)
    elif isinstance(value, bytes | bytearray):
        der = _crl_der(bytes(value), "a supplied CRL")
    elif isinstance(value, str | os.PathLike):
        path = os.fspath(value)
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_CRL_SIZE + 1)
        except OSError as exc:
            raise ConfigurationError(f"cannot read CRL {path!r}: {exc.strerror}") from None
        if len(data) > MAX_CRL_SIZE:
            raise ConfigurationError(f"CRL {path!r} exceeds {MAX_CRL_SIZE} bytes")
        der = _crl_der(data, f"CRL {path!r}")
    else:
        raise ConfigurationError(
            f"a CRL is a path, bytes or x509.CertificateRevocationList, not {type(value).__name__}"
        )
    return _parse_crl(der)


def _parse_crl(der: bytes) -> asn1_crl.CertificateList:
    from asn1crypto import crl as asn1_crl  # noqa: PLC0415 -- see the module imports

    parsed = asn1_crl.CertificateList.load(der)
    try:
        parsed.native  # noqa: B018 -- asn1crypto parses lazily; force it so errors surface now
    except ValueError:
        raise ConfigurationError("a supplied CRL is not valid DER") from None
    return parsed


def _crl_der(data: bytes, what: str) -> bytes:
    try:
        if _PEM_CRL in data:
            return x509.load_pem_x509_crl(data).public_bytes(Encoding.DER)
        return x509.load_der_x509_crl(data).public_bytes(Encoding.DER)
    except ValueError:
        raise ConfigurationError(f"{what} is not a valid CRL (PEM or DER)") from None


def _load_ocsp(value: object) -> asn1_ocsp.OCSPResponse:
    if isinstance(value, x509_ocsp.OCSPResponse):
        der = value.public_bytes(Encoding.DER)
    elif isinstance(value, bytes | bytearray):
        try:
            der = x509_ocsp.load_der_ocsp_response(bytes(value)).public_bytes(Encoding.DER)
        except ValueError:
            raise ConfigurationError("a supplied OCSP response is not valid DER") from None
    else:
        raise ConfigurationError(
            f"an OCSP response is DER bytes or x509.ocsp.OCSPResponse, not {type(value).__name__}"
        )
    from asn1crypto import ocsp as asn1_ocsp  # noqa: PLC0415 -- see the module imports

    return asn1_ocsp.OCSPResponse.load(der)


def _declared_urls(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """The http(s) OCSP responder URLs (RFC 5280 4.2.2.1) and CRL distribution point URLs
    (4.2.1.13) a certificate names; other schemes (ldap:) are not fetched."""
    ocsp: list[str] = []
    crl: list[str] = []
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        for description in aia:
            if description.access_method == AuthorityInformationAccessOID.OCSP:
                ocsp.extend(_http_urls([description.access_location]))
    except x509.ExtensionNotFound:
        pass
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        for point in points:
            crl.extend(_http_urls(point.full_name or ()))
    except x509.ExtensionNotFound:
        pass
    return ocsp, crl


def _http_urls(names: Iterable[x509.GeneralName]) -> list[str]:
    return [
        n.value for n in names
        if isinstance(n, x509.UniformResourceIdentifier)
        and n.value.lower().startswith(("http://", "https://"))
    ]


def _next_update(context: Any, now: datetime) -> datetime | None:
    """Earliest future nextUpdate among the CRLs and OCSP responses the context holds."""
    found: list[datetime] = []
    manager = context.revinfo_manager
    for crl in manager.crls:
        value = crl["tbs_cert_list"]["next_update"].native
        if isinstance(value, datetime):
            found.append(value)
    for response in manager.ocsps:
        try:
            basic = response["response_bytes"]["response"].parsed
            for single in basic["tbs_response_data"]["responses"]:
                value = single["next_update"].native
                if isinstance(value, datetime):
                    found.append(value)
        except (KeyError, ValueError, TypeError):
            continue
    future = [f for f in found if f > now]
    return min(future) if future else None


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


_POOL: Final = concurrent.futures.ThreadPoolExecutor(
    max_workers=4, thread_name_prefix="clientauth-revocation"
)


def _run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run pyhanko's coroutine to completion from synchronous code.

    The verifier is synchronous; when it is called from inside a running event loop (an
    ASGI app calling it directly) ``asyncio.run`` is not allowed there, so the check runs on
    a small worker pool with its own loop instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    return _POOL.submit(asyncio.run, coro).result()
