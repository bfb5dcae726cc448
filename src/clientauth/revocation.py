"""Revocation checking (RFC 5280 section 6.3 CRLs, RFC 6960 OCSP) for a validated path.

:class:`RevocationChecker` runs *after* cryptography has validated the path: it only asks, for
each certificate below the trust anchor, "is this one revoked?". The CRL and OCSP processing
(signature and issuer checks, delegated OCSP responders, CRL scope, freshness) is
pyhanko-certvalidator's; this module decides what an answer means for authentication:

* ``"hard-fail"`` -- a certificate that declares revocation information (CRL distribution
  point or OCSP responder, RFC 5280 4.2.1.13 / 4.2.2.1), or whose issuer's CRL was supplied,
  must be shown not revoked; otherwise the status is *unknown* and authentication fails.
* ``"soft-fail"`` -- *revoked* fails; *unknown* (responder down, stale CRL) is accepted and
  reported in the check's detail.
* ``"off"`` -- nothing is checked.

A certificate that declares no revocation information and is covered by no supplied CRL has
nothing to check; that is *good* in every mode (pyhanko's "hard-fail" semantics too).

Fetching (``fetch=True``) uses HTTP GET for CRLs and POST for OCSP, each request bounded by
``timeout`` seconds; at most two requests per certificate. Supplied CRL files are read once,
at construction: build a new checker to reload them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import os
from collections.abc import Coroutine, Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal, TypeVar

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp as x509_ocsp
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.authority import CertTrustAnchor
from pyhanko_certvalidator.errors import (
    CRLNoMatchesError,
    OCSPNoMatchesError,
    RevokedError,
)
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.revinfo.validate_crl import verify_crl
from pyhanko_certvalidator.revinfo.validate_ocsp import verify_ocsp_response
from pyhanko_certvalidator.util import get_declared_revinfo

from .exceptions import ConfigurationError

__all__ = [
    "DEFAULT_FETCH_TIMEOUT",
    "MAX_CRL_SIZE",
    "MAX_FETCH_TIMEOUT",
    "RevocationChecker",
    "RevocationMode",
    "RevocationState",
    "RevocationStatus",
]

RevocationMode = Literal["soft-fail", "hard-fail", "off"]
_MODES: Final = ("soft-fail", "hard-fail", "off")

DEFAULT_FETCH_TIMEOUT: Final = 5.0
"""Seconds allowed for one CRL or OCSP request (connect and each read)."""

MAX_FETCH_TIMEOUT: Final = 30.0

MAX_CRL_SIZE: Final = 64 * 1024 * 1024
"""Largest supplied CRL file read, in bytes (large public CAs publish CRLs of tens of MB)."""

_PEM_CRL = b"-----BEGIN X509 CRL-----"
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


class RevocationChecker:
    """Check a validated path for revoked certificates. Immutable and thread-safe.

    ``crls``: CRLs as file paths (PEM or DER), DER/PEM ``bytes`` or
    ``x509.CertificateRevocationList``; ``ocsps``: DER OCSP responses or
    ``x509.ocsp.OCSPResponse`` (stapled or pre-fetched); ``fetch``: also retrieve CRLs and
    OCSP responses from the URLs the certificates name; ``timeout``: seconds per request.
    """

    __slots__ = ("_crls", "_fetch", "_mode", "_ocsps", "_timeout")

    def __init__(
        self,
        mode: RevocationMode = "soft-fail",
        *,
        crls: Iterable[CRLLike] = (),
        ocsps: Iterable[OCSPLike] = (),
        fetch: bool = True,
        timeout: float = DEFAULT_FETCH_TIMEOUT,
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
        self._crls = tuple(_load_crl(c) for c in _items(crls, "crls"))
        self._ocsps = tuple(_load_ocsp(o) for o in _items(ocsps, "ocsps"))

    @property
    def mode(self) -> RevocationMode:
        return self._mode

    @property
    def enabled(self) -> bool:
        return self._mode != "off"

    def __repr__(self) -> str:
        return (
            f"RevocationChecker({self._mode!r}, crls={len(self._crls)}, "
            f"ocsps={len(self._ocsps)}, fetch={self._fetch}, timeout={self._timeout})"
        )

    def check(self, path: Sequence[x509.Certificate], now: datetime) -> RevocationStatus:
        """Revocation status of a validated ``path`` (leaf first, ending at the trust anchor)
        at ``now``. Never raises for what the network or the revocation data do."""
        if self._mode == "off":
            return RevocationStatus(RevocationState.GOOD, "revocation checking is off")
        if len(path) < 2:
            return RevocationStatus(RevocationState.GOOD, "no certificate below the anchor")
        try:
            return _run(self._check(tuple(path), now))
        except Exception as exc:  # third-party code processing hostile data
            return RevocationStatus(
                RevocationState.UNKNOWN, f"revocation check failed: {type(exc).__name__}"
            )

    async def _check(self, path: tuple[x509.Certificate, ...], now: datetime) -> RevocationStatus:
        certs = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in path]
        anchor = CertTrustAnchor(certs[-1])
        backend = RequestsFetcherBackend(per_request_timeout=self._timeout) if self._fetch else None
        context = ValidationContext(
            trust_roots=[certs[-1]],
            other_certs=certs[1:-1],
            moment=now,
            allow_fetching=self._fetch,
            crls=list(self._crls),
            ocsps=list(self._ocsps),
            revocation_mode="hard-fail" if self._mode == "hard-fail" else "soft-fail",
            fetcher_backend=backend,
        )
        unknown: list[str] = []
        # RFC 5280 6.3: every certificate below the anchor; the anchor itself is trusted
        # directly and has no issuer to revoke it.
        for index in range(len(certs) - 1):
            cert = certs[index]
            # The certificate's own path: anchor, the intermediates above it, then it.
            sub_path = ValidationPath(anchor, interm=certs[index + 1:-1][::-1], leaf=cert)
            state, why = await self._check_one(cert, sub_path, context)
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
        self, cert: Any, path: Any, context: Any
    ) -> tuple[RevocationState, str]:
        has_crl, has_ocsp = get_declared_revinfo(cert)
        problems: list[str] = []
        # OCSP first: fresher and smaller (RFC 6960 2); only when the certificate names a
        # responder (RFC 5280 4.2.2.1) or a response was supplied.
        if (has_ocsp and self._fetch) or self._ocsps:
            try:
                await verify_ocsp_response(cert, path, context)
                return RevocationState.GOOD, "OCSP"
            except RevokedError:
                return RevocationState.REVOKED, "OCSP"
            except OCSPNoMatchesError:
                pass
            except Exception as exc:
                problems.append(f"OCSP: {_short(exc)}")
        if (has_crl and self._fetch) or self._crls:
            try:
                await verify_crl(cert, path, context)
                return RevocationState.GOOD, "CRL"
            except RevokedError:
                return RevocationState.REVOKED, "CRL"
            except CRLNoMatchesError:
                if has_crl:
                    problems.append("CRL: no CRL from its issuer could be obtained")
            except Exception as exc:
                problems.append(f"CRL: {_short(exc)}")
        if problems:
            return RevocationState.UNKNOWN, "; ".join(problems)
        if has_crl or has_ocsp:
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
    return asn1_ocsp.OCSPResponse.load(der)


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
